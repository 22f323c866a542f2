//! Sweeps beyond one disk: shard outputs in S3-compatible object storage, and the plan as a
//! Kubernetes Indexed Job whose manifests pass the API's own schemas and whose pod commands,
//! run as the pods would run them, merge to the bytes of `sweep run`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::harness::{run, run_with_env, scratch_dir};
use crate::sweep::{MERGED, sweep_file};

/// What the bucket holds and every request it was sent.
#[derive(Default)]
struct Bucket {
    objects: HashMap<String, Vec<u8>>,
    requests: Vec<(Method, String, bool)>,
}

/// A minimal S3 endpoint (path-style PUT and GET of whole objects, nothing else): enough to
/// show the shards speak the S3 protocol with signed requests, not a file path in disguise.
fn start_s3() -> (String, Arc<Mutex<Bucket>>) {
    let bucket = Arc::new(Mutex::new(Bucket::default()));
    let state = Arc::clone(&bucket);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            sender.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().fallback(
                move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                    let state = Arc::clone(&state);
                    async move { s3(&state, &method, &uri, &headers, &body) }
                },
            );
            axum::serve(listener, app).await.unwrap();
        });
    });
    let address = receiver.recv().unwrap();
    (format!("http://{address}"), bucket)
}

fn s3(
    state: &Mutex<Bucket>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let mut bucket = state.lock().unwrap();
    let key = uri.path().to_owned();
    let signed = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("AWS4-HMAC-SHA256 Credential=lab-key/"));
    bucket.requests.push((method.clone(), key.clone(), signed));
    let etag = |bytes: &[u8]| {
        format!(
            "\"{}-{}\"",
            bytes.len(),
            bytes.iter().map(|b| u32::from(*b)).sum::<u32>()
        )
    };
    match *method {
        Method::PUT => {
            let tag = etag(body);
            bucket.objects.insert(key, body.to_vec());
            (StatusCode::OK, [(header::ETAG, tag)]).into_response()
        }
        Method::GET | Method::HEAD => match bucket.objects.get(&key) {
            Some(bytes) => (
                StatusCode::OK,
                [
                    (header::ETAG, etag(bytes)),
                    (header::LAST_MODIFIED, "Sat, 05 Dec 2026 21:00:00 GMT".to_owned()),
                    (header::CONTENT_TYPE, "application/json".to_owned()),
                ],
                bytes.clone(),
            )
                .into_response(),
            None => (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "application/xml")],
                "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>",
            )
                .into_response(),
        },
        _ => StatusCode::NOT_IMPLEMENTED.into_response(),
    }
}

/// The variables an S3 client reads, pointing at the test's endpoint.
fn store_env(endpoint: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("AWS_ENDPOINT", endpoint),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "lab-key"),
        ("AWS_SECRET_ACCESS_KEY", "lab-secret"),
        ("AWS_REGION", "eu-north-1"),
    ]
}

/// `sweep plan --store URL` into `dir/remote`; returns the sweep folder.
fn plan_with_store(dir: &Path, sweep: &str, store: &str) -> String {
    let remote = dir.join("remote").display().to_string();
    run(&["sweep", "plan", sweep, "--out", &remote, "--store", store]).expect_code(0);
    remote
}

#[test]
fn shards_in_object_storage_merge_to_the_bytes_of_a_local_sweep() {
    let dir = scratch_dir("sweep_s3_store");
    let sweep = sweep_file(&dir);
    let local = dir.join("local").display().to_string();
    run(&["sweep", "run", &sweep, "--out", &local, "--jobs", "2"]).expect_code(0);

    let (endpoint, bucket) = start_s3();
    let env = store_env(&endpoint);
    let remote = plan_with_store(&dir, &sweep, "s3://lab-sweeps/nightly/cli-sweep");
    // Each shard as a separate task, as on a cluster; shard 3 twice, as a scheduler may.
    for index in ["0", "1", "2", "3", "3", "4", "5"] {
        let shard = run_with_env(
            None,
            &["sweep", "shard", &remote],
            &[env.as_slice(), &[("MITID_SHARD_INDEX", index)]].concat(),
        );
        shard.expect_code(0);
        assert!(
            shard
                .stdout
                .contains("s3://lab-sweeps/nightly/cli-sweep/shard-00000"),
            "{}",
            shard.describe()
        );
    }
    run_with_env(None, &["sweep", "merge", &remote], &env).expect_code(0);

    assert!(
        !Path::new(&remote).join("shards").exists(),
        "with an object store nothing is written to the sweep folder's shards/"
    );
    let bucket = bucket.lock().unwrap();
    assert_eq!(bucket.objects.len(), 6, "one object per shard");
    assert!(
        bucket
            .objects
            .contains_key("/lab-sweeps/nightly/cli-sweep/shard-000005.json"),
        "{:?}",
        bucket.objects.keys().collect::<Vec<_>>()
    );
    assert!(
        bucket.requests.iter().all(|(_, _, signed)| *signed),
        "every request is signed with the configured key: {:?}",
        bucket.requests
    );
    let read = |dir: &str, file: &str| std::fs::read(Path::new(dir).join(file)).unwrap();
    let json = |dir: &str| -> serde_json::Value {
        serde_json::from_slice(&read(dir, "sweep.json")).unwrap()
    };
    assert_eq!(json(&local)["points"], json(&remote)["points"]);
    for file in ["bands.csv", "figure-0.svg"] {
        assert!(read(&local, file) == read(&remote, file), "{file} differs");
    }
}

#[test]
fn a_missing_object_store_shard_is_named_for_resubmission() {
    let dir = scratch_dir("sweep_s3_missing");
    let sweep = sweep_file(&dir);
    let (endpoint, _bucket) = start_s3();
    let env = store_env(&endpoint);
    let remote = plan_with_store(&dir, &sweep, "s3://lab-sweeps/x");
    run_with_env(None, &["sweep", "shard", &remote, "--index", "1"], &env).expect_code(0);
    run_with_env(None, &["sweep", "merge", &remote], &env)
        .expect_code(2)
        .expect_stderr("5 of 6 shards have no output yet in s3://lab-sweeps/x/")
        .expect_stderr("sbatch --array=0,2-5");
    run(&[
        "sweep",
        "plan",
        &sweep,
        "--out",
        &dir.join("bad").display().to_string(),
        "--store",
        "gs://b/x",
    ])
    .expect_code(2)
    .expect_stderr("the scheme \"gs\" is not supported");
}

/// `kubernetes-validate` (from `PyPI`) checks manifests against the API's own schemas offline.
fn validator_present() -> bool {
    // Run as a module of the python3 that pip installed it for, so a scripts folder missing from
    // PATH does not matter.
    let present = validator_command()
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    assert!(
        present || std::env::var_os("MITID_LAB_REQUIRE_KUBERNETES_VALIDATE").is_none(),
        "MITID_LAB_REQUIRE_KUBERNETES_VALIDATE is set but `python3 -m kubernetes_validate` does \
         not run (pip install kubernetes-validate)"
    );
    present
}

fn validator_command() -> std::process::Command {
    let mut command = std::process::Command::new("python3");
    command.args(["-m", "kubernetes_validate"]);
    command
}

fn validate(file: &Path) -> std::process::Output {
    validator_command()
        .args(["--strict", "--kubernetes-version", "1.33.0"])
        .arg(file)
        .output()
        .unwrap()
}

/// Each manifest passes the Kubernetes 1.33 schemas, and a misspelt field does not: the check
/// can fail.
fn assert_valid_manifests(dir: &Path, manifests: &[&Path]) {
    if !validator_present() {
        return;
    }
    for file in manifests {
        let output = validate(file);
        assert!(
            output.status.success(),
            "{} fails the 1.33 schemas:\n{}{}",
            file.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let broken = dir.join("broken-job.yaml");
    std::fs::write(
        &broken,
        std::fs::read_to_string(manifests[0])
            .unwrap()
            .replace("backoffLimitPerIndex", "backoffLimitPerIdx"),
    )
    .unwrap();
    assert!(
        !validate(&broken).status.success(),
        "a misspelt field passes the validator"
    );
}

#[test]
fn the_kubernetes_jobs_pass_the_api_schemas_and_their_pods_merge_to_sweep_run() {
    let dir = scratch_dir("sweep_kubernetes");
    let sweep = sweep_file(&dir);
    let plan = dir.join("plan").display().to_string();
    run(&[
        "sweep",
        "plan",
        &sweep,
        "--out",
        &plan,
        "--runs-per-shard",
        "2",
    ])
    .expect_code(0);
    let emitted = run(&[
        "sweep",
        "emit",
        &plan,
        "--kubernetes",
        "--image",
        "registry.example/mitid-lab:0.1.0",
        "--max-parallel",
        "2",
        "--env-secret",
        "sweep-s3",
        "--namespace",
        "planning",
    ]);
    emitted.expect_code(0);
    assert!(
        emitted
            .stdout
            .contains("kubectl wait --for=condition=complete"),
        "{}",
        emitted.describe()
    );
    let shards_yaml = Path::new(&plan).join("kubernetes/shards-job.yaml");
    let merge_yaml = Path::new(&plan).join("kubernetes/merge-job.yaml");

    let job: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&shards_yaml).unwrap()).unwrap();
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["apiVersion"], "batch/v1");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(spec["completions"], 3, "six runs, two per shard");
    assert_eq!(spec["parallelism"], 2);
    assert_eq!(spec["backoffLimitPerIndex"], 2);
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
    let container = &spec["template"]["spec"]["containers"][0];
    assert_eq!(container["envFrom"][0]["secretRef"]["name"], "sweep-s3");

    assert_valid_manifests(&dir, &[&shards_yaml, &merge_yaml]);

    // Run the pods' commands as Kubernetes would: the folder mounted at /sweep, the index in
    // JOB_COMPLETION_INDEX; then the merge Job's command.
    let args = |value: &serde_json::Value| -> Vec<String> {
        value["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|arg| arg.as_str().unwrap().replace("/sweep", &plan))
            .collect()
    };
    let shard_args = args(&job);
    let shard_args: Vec<&str> = shard_args.iter().map(String::as_str).collect();
    for index in ["2", "0", "1"] {
        run_with_env(None, &shard_args, &[("JOB_COMPLETION_INDEX", index)]).expect_code(0);
    }
    let merge_job: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&merge_yaml).unwrap()).unwrap();
    let merge_args = args(&merge_job);
    let merge_args: Vec<&str> = merge_args.iter().map(String::as_str).collect();
    run(&merge_args).expect_code(0);

    let here = dir.join("here").display().to_string();
    run(&[
        "sweep",
        "run",
        &sweep,
        "--out",
        &here,
        "--runs-per-shard",
        "2",
    ])
    .expect_code(0);
    for file in MERGED {
        let a = std::fs::read(Path::new(&plan).join(file)).unwrap();
        let b = std::fs::read(Path::new(&here).join(file)).unwrap();
        assert!(
            a == b,
            "{file} differs between the Kubernetes pods and `sweep run`"
        );
    }

    run(&[
        "sweep",
        "emit",
        &plan,
        "--kubernetes",
        "--image",
        "x",
        "--memory",
        "2GB",
    ])
    .expect_code(2)
    .expect_stderr("--memory \"2GB\" is not a memory quantity");
}
