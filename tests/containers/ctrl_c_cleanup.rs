//! Ctrl-C with the components in containers: `components up` removes its containers and
//! network; `certify` also stops the suite, writes no report and gives no verdict (exit 130).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mitid_components::runtime::containers::{PID_LABEL, RUN_LABEL};

use crate::{docker_or_skip, labelled_leftovers};

#[test]
fn ctrl_c_on_components_up_removes_every_container_and_network() {
    if !docker_or_skip("ctrl_c_on_components_up_removes_every_container_and_network") {
        return;
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_mitid-lab"))
        .args(["components", "up", "--runtime", "containers"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning mitid-lab components up");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut seen = Vec::new();
    let mut run_id = None;
    loop {
        let Ok(line) = lines_rx.recv_timeout(Duration::from_secs(300)) else {
            let _ = child.kill();
            panic!("components up printed no ready line within 300 s; output so far: {seen:#?}");
        };
        if let Some(rest) = line.split_once("run ").map(|(_, rest)| rest)
            && run_id.is_none()
            && line.starts_with("mitid-lab components")
        {
            run_id = Some(rest.trim_end_matches(':').trim_end_matches(')').to_owned());
        }
        let ready = line.contains("press Ctrl-C");
        seen.push(line);
        if ready {
            break;
        }
    }
    let run_id = run_id.unwrap_or_else(|| panic!("no run id in the output: {seen:#?}"));
    let (running, _) = labelled_leftovers(RUN_LABEL, &run_id);
    assert!(
        !running.is_empty(),
        "no container of run {run_id} while up; output: {seen:#?}"
    );

    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("running kill");
    assert!(kill.success(), "kill -INT {} failed", child.id());
    let status = wait_with_timeout(&mut child, Duration::from_secs(120));
    let (containers_left, networks_left) = labelled_leftovers(RUN_LABEL, &run_id);
    assert!(
        containers_left.is_empty() && networks_left.is_empty(),
        "after Ctrl-C (exit {status:?}) run {run_id} left containers {containers_left:?} and networks {networks_left:?}"
    );
}

#[test]
fn ctrl_c_during_certify_in_containers_stops_the_suite_without_a_verdict() {
    if !docker_or_skip("ctrl_c_during_certify_in_containers_stops_the_suite_without_a_verdict") {
        return;
    }
    let reports = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("containers")
        .join("ctrl_c_certify");
    if reports.exists() {
        std::fs::remove_dir_all(&reports).expect("clearing the reports folder");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_mitid-lab"))
        .args([
            "certify",
            "--target",
            "reference",
            "--runtime",
            "containers",
            "--reports",
        ])
        .arg(&reports)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning mitid-lab certify --runtime containers");
    let pid = child.id().to_string();

    // The suite runs once cucumber's own files exist in the report being written.
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while !suite_running(&reports) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("certify ended ({status}) before the suite started");
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the suite did not start within 300 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (running, _) = labelled_leftovers(PID_LABEL, &pid);
    assert!(
        !running.is_empty(),
        "no container of process {pid} while the suite runs"
    );

    let kill = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("running kill");
    assert!(kill.success(), "kill -INT {pid} failed");
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let read_all = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let (stdout, stderr) = (read_all(Box::new(stdout)), read_all(Box::new(stderr)));
    let status = wait_with_timeout(&mut child, Duration::from_secs(120));
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let (containers_left, networks_left) = labelled_leftovers(PID_LABEL, &pid);
    assert!(
        containers_left.is_empty() && networks_left.is_empty(),
        "after Ctrl-C process {pid} left containers {containers_left:?} and networks {networks_left:?}"
    );
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(130),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        !stdout.contains("CERTIFIED") && !stdout.contains("FAILED"),
        "an interrupted run gave a verdict:\n{stdout}"
    );
    assert!(stderr.contains("interrupted"), "stderr:\n{stderr}");
    let left: Vec<_> = std::fs::read_dir(&reports)
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "an interrupted run left {left:?} in the reports folder"
    );
}

#[test]
fn ctrl_c_while_containers_start_abandons_the_start_and_leaves_nothing() {
    if !docker_or_skip("ctrl_c_while_containers_start_abandons_the_start_and_leaves_nothing") {
        return;
    }
    let reports = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("containers")
        .join("ctrl_c_start");
    if reports.exists() {
        std::fs::remove_dir_all(&reports).expect("clearing the reports folder");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_mitid-lab"))
        .args([
            "certify",
            "--target",
            "reference",
            "--runtime",
            "containers",
            "--reports",
        ])
        .arg(&reports)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning mitid-lab certify --runtime containers");
    let pid = child.id().to_string();
    // Interrupted as soon as the first container exists: the others are still to come.
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while labelled_leftovers(PID_LABEL, &pid).0.is_empty() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("certify ended ({status}) before a container started");
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("no container started within 300 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("running kill");
    assert!(kill.success(), "kill -INT {pid} failed");
    let status = wait_with_timeout(&mut child, Duration::from_secs(120));
    assert_eq!(status.and_then(|s| s.code()), Some(130));
    let (containers_left, networks_left) = labelled_leftovers(PID_LABEL, &pid);
    assert!(
        containers_left.is_empty() && networks_left.is_empty(),
        "an interrupted start left containers {containers_left:?} and networks {networks_left:?}"
    );
    let left: Vec<_> = std::fs::read_dir(&reports)
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "an interrupted run left {left:?}");
}

/// Whether a run folder being written under `reports` holds cucumber's temporary files.
fn suite_running(reports: &std::path::Path) -> bool {
    std::fs::read_dir(reports)
        .into_iter()
        .flatten()
        .flatten()
        .any(|run| {
            std::fs::read_dir(run.path())
                .into_iter()
                .flatten()
                .flatten()
                .any(|file| file.file_name().to_string_lossy().starts_with(".cucumber"))
        })
}

fn wait_with_timeout(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    None
}
