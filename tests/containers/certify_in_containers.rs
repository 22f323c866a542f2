//! `mitid-lab certify --target reference --runtime containers`, `certify --protocol oiosaml
//! --runtime containers` and `mitid-lab run --runtime containers`: the conformance suite (and for `run` the citizen journeys and the policy run)
//! against the components each in its own container (each on its own wall clock, reached by the
//! lab through the mapped ports) passes, and the run leaves no container or network behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mitid_components::runtime::containers::PID_LABEL;

use crate::{docker_or_skip, labelled_leftovers};

/// Runs `mitid-lab ARGS --reports <fresh dir>` and checks that it exited 0 and that nothing
/// labelled with its pid is left. Answers the reports folder.
fn run_lab_in_containers(test: &str, args: &[&str]) -> PathBuf {
    let reports = Path::new(env!("CARGO_TARGET_TMPDIR")).join(test);
    if reports.exists() {
        std::fs::remove_dir_all(&reports)
            .unwrap_or_else(|err| panic!("cannot clear {}: {err}", reports.display()));
    }
    let reports_arg = reports.display().to_string();
    let mut all_args = args.to_vec();
    all_args.extend(["--runtime", "containers", "--reports", &reports_arg]);
    let child = Command::new(env!("CARGO_BIN_EXE_mitid-lab"))
        .args(&all_args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning mitid-lab");
    // Every container and network of the run carries the pid of the process that started it.
    let pid = child.id().to_string();
    let output = child.wait_with_output().expect("waiting for mitid-lab");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let (containers_left, networks_left) = labelled_leftovers(PID_LABEL, &pid);
    assert_eq!(
        output.status.code(),
        Some(0),
        "mitid-lab {} failed\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        all_args.join(" ")
    );
    assert!(
        stdout.contains("CERTIFIED: every MUST requirement ran and passed."),
        "{stdout}"
    );
    assert!(
        containers_left.is_empty() && networks_left.is_empty(),
        "mitid-lab {} (pid {pid}) left containers {containers_left:?} and networks {networks_left:?}",
        all_args.join(" ")
    );
    reports
}

/// The `report.json` of the one run folder in `reports`.
fn report_json(reports: &Path) -> serde_json::Value {
    let run_dir = std::fs::read_dir(reports)
        .expect("the reports folder")
        .map(|entry| entry.expect("an entry").path())
        .find(|path| path.join("report.json").is_file())
        .expect("a run folder with report.json");
    let text = std::fs::read_to_string(run_dir.join("report.json")).expect("report.json");
    serde_json::from_str(&text).expect("report.json is JSON")
}

#[test]
fn certify_reference_in_containers_passes_and_leaves_nothing_behind() {
    if !docker_or_skip("certify_reference_in_containers_passes_and_leaves_nothing_behind") {
        return;
    }
    run_lab_in_containers("containers-certify", &["certify", "--target", "reference"]);
}

/// Every scenario passes, those that move the lab's one clock too: the containers read it from
/// the run's clock file, which the broker's control API writes.
#[test]
fn nightly_run_in_containers_passes_and_leaves_nothing_behind() {
    if !docker_or_skip("nightly_run_in_containers_passes_and_leaves_nothing_behind") {
        return;
    }
    let reports = run_lab_in_containers("containers-run", &["run", "--population", "2000"]);
    let report = report_json(&reports);
    let mut clock_moving = 0;
    for scenario in report["scenarios"].as_array().expect("scenarios") {
        if scenario["tags"]
            .as_array()
            .is_some_and(|tags| tags.iter().any(|t| t == "needs:shared-clock"))
        {
            clock_moving += 1;
        }
        assert_eq!(
            scenario["verdict"], "PASSED",
            "{} ({})",
            scenario["name"], scenario["location"]
        );
    }
    assert!(
        clock_moving > 0,
        "the journeys that move the lab clock ran in containers"
    );
}

/// NemLog-in (and the broker and CPR register it needs) in containers of the project's image:
/// every SAML requirement passes, so NemLog-in signed (libxmlsec1) and encrypted (OpenSSL) each
/// assertion inside its container, whose image carries the shared libraries `ldd` names.
#[test]
fn certify_oiosaml_in_containers_passes_and_leaves_nothing_behind() {
    if !docker_or_skip("certify_oiosaml_in_containers_passes_and_leaves_nothing_behind") {
        return;
    }
    let reports = run_lab_in_containers(
        "containers-certify-saml",
        &["certify", "--protocol", "oiosaml"],
    );
    let report = report_json(&reports);
    let requirements = report["requirements"].as_array().expect("requirements");
    assert!(
        requirements.iter().any(|r| r["id"] == "SAML-LOGIN-01"),
        "the OIOSAML catalogue ran: {report}"
    );
    for requirement in requirements {
        assert_eq!(requirement["verdict"], "PASSED", "{requirement}");
    }
}
