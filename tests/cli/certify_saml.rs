//! `certify --protocol oiosaml`: the reference SAML service provider certified, every flaw caught
//! by its own requirement (the self-check), `certify init --protocol oiosaml` writing its folder
//! and refusing bad metadata and files it did not write; and an outside service provider on
//! pysaml2 (`tests/outside_saml_sp/`, not the lab's code) certified as an integrator would.
//!
//! The pysaml2 service needs the pinned packages of `tests/outside_saml_sp/requirements.txt` and
//! the `xmlsec1` program (`.ci/run` installs both). Missing outside CI, that test says so and
//! skips; in CI (`MITID_LAB_REQUIRE_DOCKER=1`, which `.ci/run` sets) a missing package fails it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::certify_outside_rp::{ServiceProcess, read_report, unmet_requirements};
use super::harness::{Run, run_in, scratch_dir};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_or_else(
            |err| panic!("no free port on 127.0.0.1: {err}"),
            |addr| addr.port(),
        )
}

fn only_report(reports: &Path, run: &Run) -> Value {
    let path = std::fs::read_dir(reports)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.join("report.json").is_file())
        .unwrap_or_else(|| panic!("no report under {}\n{}", reports.display(), run.describe()));
    for name in ["report.json", "junit.xml", "report.html"] {
        assert!(
            path.join(name).is_file(),
            "{name} missing in {}\n{}",
            path.display(),
            run.describe()
        );
    }
    let text = std::fs::read_to_string(path.join("report.json")).expect("report.json");
    serde_json::from_str(&text).expect("report.json is JSON")
}

fn verdicts(report: &Value, verdict: &str) -> Vec<String> {
    report["requirements"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["verdict"] == verdict)
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_reference_saml_sp_is_certified_and_a_flaw_fails_its_own_requirement() {
    let dir = scratch_dir("certify_saml_reference");
    let run = run_in(
        Some(&dir),
        &["certify", "--protocol", "oiosaml", "--reports", "reports"],
    );
    run.expect_code(0);
    let report = only_report(&dir.join("reports"), &run);
    assert_eq!(
        verdicts(&report, "FAILED"),
        Vec::<String>::new(),
        "{}",
        run.describe()
    );
    assert_eq!(
        verdicts(&report, "PASSED").len(),
        23,
        "every SAML requirement passes\n{}",
        run.describe()
    );
    let flawed = run_in(
        Some(&dir),
        &[
            "certify",
            "--protocol",
            "oiosaml",
            "--flaw",
            "accept-wrapped-assertion",
            "--reports",
            "flawed",
        ],
    );
    flawed.expect_code(1);
    let report = only_report(&dir.join("flawed"), &flawed);
    assert_eq!(
        verdicts(&report, "FAILED"),
        vec!["SAML-SIG-02".to_owned()],
        "{}",
        flawed.describe()
    );
    run_in(
        Some(&dir),
        &[
            "certify",
            "--protocol",
            "oiosaml",
            "--flaw",
            "trust-everyone",
        ],
    )
    .expect_code(2)
    .expect_stderr("no such flaw");
    // Containers run the lab's own components; an integrator's service was configured with
    // NemLog-in on nemlogin.listen, so a URL target in containers is refused before anything runs.
    run_in(
        Some(&dir),
        &[
            "certify",
            "--protocol",
            "oiosaml",
            "--target",
            "http://127.0.0.1:9",
            "--runtime",
            "containers",
        ],
    )
    .expect_code(2)
    .expect_stderr("--runtime containers runs the lab's own components");
}

#[test]
fn the_saml_selfcheck_catches_every_flaw_by_its_own_requirement() {
    let dir = scratch_dir("certify_saml_selfcheck");
    let run = run_in(
        Some(&dir),
        &[
            "certify",
            "selfcheck",
            "--protocol",
            "oiosaml",
            "--reports",
            "reports",
        ],
    );
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("| reference (no flaw) | passes every MUST |"),
        "{}",
        run.describe()
    );
    for (flaw, requirement) in [
        ("accept-unsigned-assertion", "SAML-SIG-01"),
        ("require-cpr", "SAML-CPR-01"),
        ("logout-keeps-local-session", "SAML-LOGOUT-01"),
        ("accept-replayed-response", "SAML-REPLAY-01"),
        ("accept-any-identity-type", "SAML-BUSINESS-01"),
        ("business-accounts-keyed-on-cvr", "SAML-BUSINESS-02"),
        ("business-accounts-keyed-on-name", "SAML-BUSINESS-03"),
        ("ignore-privilege-scope", "SAML-PRIV-01"),
        ("accept-nemid-after-cutoff", "SAML-NEMID-01"),
    ] {
        assert!(
            run.stdout
                .contains(&format!("| --flaw {flaw} | caught by {requirement} |")),
            "{flaw} must be caught by {requirement}\n{}",
            run.describe()
        );
    }
    let rows = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("| --flaw"))
        .count();
    assert_eq!(rows, 21, "one row per SAML flaw\n{}", run.describe());
}

fn init(dir: &Path, lab: &str, base_url: &str, nemlogin: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "certify",
        "init",
        "--protocol",
        "oiosaml",
        "--dir",
        lab,
        "--base-url",
        base_url,
        "--nemlogin-listen",
        nemlogin,
        "--logout",
    ];
    args.extend_from_slice(extra);
    run_in(Some(dir), &args)
}

/// Metadata of a service provider made by the lab's own writer, one element a line.
fn written_metadata(base_url: &str) -> String {
    use mitid_components::nemlogin::test_keys as k;
    use mitid_components::saml::xml_security::KeyPair;
    let signing = KeyPair::from_pem(k::SP_SIGNING_KEY, k::SP_SIGNING_CERT).expect("key");
    let encryption = KeyPair::from_pem(k::SP_ENCRYPTION_KEY, k::SP_ENCRYPTION_CERT).expect("key");
    mitid_components::saml::metadata::sp_metadata(
        &format!("{base_url}/saml/metadata"),
        &signing.certificate(),
        &encryption.certificate(),
        &format!("{base_url}/saml/acs"),
        &format!("{base_url}/saml/slo"),
    )
    .replace("><", ">\n<")
}

#[test]
fn saml_init_writes_its_folder_validates_metadata_and_keeps_foreign_files() {
    let dir = scratch_dir("certify_saml_init");
    let base = "http://127.0.0.1:8090";
    std::fs::write(dir.join("sp.xml"), written_metadata(base)).expect("write");
    init(
        &dir,
        "lab",
        base,
        "127.0.0.1:7450",
        &["--sp-metadata", "sp.xml"],
    )
    .expect_code(0);
    for name in [
        "target.yaml",
        "idp-metadata.xml",
        "sp-metadata.xml",
        "idp-signing.cert.pem",
        "sp-signing.key.pem",
        "sp-encryption.cert.pem",
    ] {
        assert!(dir.join("lab").join(name).is_file(), "{name} not written");
    }
    let idp = std::fs::read_to_string(dir.join("lab/idp-metadata.xml")).expect("idp metadata");
    assert!(
        idp.contains(r#"entityID="http://127.0.0.1:7450""#)
            && idp.contains("http://127.0.0.1:7450/saml/sso"),
        "{idp}"
    );
    // Running init again replaces only what it wrote.
    init(
        &dir,
        "lab",
        base,
        "127.0.0.1:7450",
        &["--sp-metadata", "sp.xml"],
    )
    .expect_code(0);
    // Metadata without an encryption certificate: file, line and field; nothing written.
    let text = written_metadata(base).replace(r#"use="encryption""#, r#"use="signing""#);
    std::fs::write(dir.join("bad.xml"), &text).expect("write");
    let line = text
        .lines()
        .position(|l| l.contains("<md:SPSSODescriptor"))
        .expect("descriptor")
        + 1;
    init(
        &dir,
        "other",
        base,
        "127.0.0.1:7450",
        &["--sp-metadata", "bad.xml"],
    )
    .expect_code(2)
    .expect_stderr(&format!(
        "bad.xml:{line}: field `md:SPSSODescriptor/md:KeyDescriptor[@use='encryption']`"
    ));
    assert!(!dir.join("other").exists(), "a refused init wrote files");
    // A file of the same name that init did not write is kept.
    std::fs::create_dir_all(dir.join("mine")).expect("dir");
    std::fs::write(dir.join("mine/target.yaml"), "my own notes\n").expect("write");
    init(&dir, "mine", base, "127.0.0.1:7450", &[])
        .expect_code(2)
        .expect_stderr("target.yaml");
    assert_eq!(
        std::fs::read_to_string(dir.join("mine/target.yaml")).expect("kept"),
        "my own notes\n"
    );
    assert!(!dir.join("mine/idp-metadata.xml").exists(), "half-written");
    // A target whose metadata file is missing is refused by file, line and field.
    init(&dir, "nometa", base, "127.0.0.1:7450", &[]).expect_code(0);
    let target = dir.join("nometa/target.yaml");
    let target_text = std::fs::read_to_string(&target).expect("target");
    let metadata_line = target_text
        .lines()
        .position(|l| l.trim_start().starts_with("metadata:"))
        .expect("metadata field")
        + 1;
    run_in(
        Some(&dir),
        &[
            "certify",
            "--protocol",
            "oiosaml",
            "--target",
            base,
            "--config",
            "nometa/target.yaml",
        ],
    )
    .expect_code(2)
    .expect_stderr(&format!(
        "target.yaml:{metadata_line}: field `service_provider.metadata`"
    ));
}

fn outside_sp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/outside_saml_sp")
}

/// Whether python3, pysaml2 and xmlsec1 are there; `false` (with a message) means skip.
fn pysaml2_ready() -> bool {
    let probe = Command::new("python3")
        .args([
            "-c",
            "import saml2, defusedxml; from saml2.sigver import get_xmlsec_binary; get_xmlsec_binary(['/usr/bin', '/usr/local/bin'])",
        ])
        .output();
    let missing = match probe {
        Ok(output) if output.status.success() => return true,
        Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        Err(err) => format!("python3: {err}"),
    };
    let install = format!(
        "apt-get install xmlsec1 && python3 -m pip install -r {}",
        outside_sp_dir().join("requirements.txt").display()
    );
    assert!(
        std::env::var("MITID_LAB_REQUIRE_DOCKER").as_deref() != Ok("1"),
        "the outside pysaml2 service provider cannot run ({missing}); CI installs it with `{install}`"
    );
    eprintln!(
        "SKIPPED certify_saml: the outside pysaml2 service provider cannot run ({missing}); install it with `{install}`"
    );
    false
}

#[test]
fn a_pysaml2_service_provider_is_certified() {
    if !pysaml2_ready() {
        return;
    }
    let dir = scratch_dir("certify_saml_pysaml2");
    let nemlogin = format!("127.0.0.1:{}", free_port());
    let service: std::net::SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let base_url = format!("http://{service}");
    // The README's order: init (keys and the IdP's metadata), the service's metadata made with
    // those keys, init again with it, then the service and the certification.
    init(&dir, "lab", &base_url, &nemlogin, &["--business-logins"]).expect_code(0);
    let script = outside_sp_dir().join("pysaml2_sp.py");
    let made = Command::new("python3")
        .current_dir(&dir)
        .arg(&script)
        .args([
            "--dir",
            "lab",
            "--base-url",
            &base_url,
            "--write-metadata",
            "sp.xml",
        ])
        .output()
        .expect("python3");
    assert!(
        made.status.success(),
        "pysaml2 wrote no metadata: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    init(
        &dir,
        "lab",
        &base_url,
        &nemlogin,
        &["--sp-metadata", "sp.xml", "--business-logins"],
    )
    .expect_code(0);
    let mut command = Command::new("python3");
    command
        .arg(&script)
        .args(["--dir", "lab", "--base-url", &base_url, "--listen"])
        .arg(service.to_string());
    let mut process = ServiceProcess::spawn(&dir, command);
    process.wait_ready(service);
    let run = run_in(
        Some(&dir),
        &[
            "certify",
            "--protocol",
            "oiosaml",
            "--target",
            &base_url,
            "--config",
            "lab/target.yaml",
            "--reports",
            "reports",
        ],
    );
    let report = read_report(&dir.join("reports"), &run, &process);
    let failed = verdicts(&report, "FAILED");
    assert!(
        run.code == Some(0) && failed.is_empty(),
        "the pysaml2 service provider is not certified: MUSTs failed {failed:?}\n{}\n{}{}",
        unmet_requirements(&report),
        run.describe(),
        process.output()
    );
    // Business logins included: nothing is skipped.
    assert_eq!(verdicts(&report, "SKIPPED"), Vec::<String>::new());
}
