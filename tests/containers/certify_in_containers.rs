//! `mitid-lab certify --target reference --runtime containers`: the whole conformance suite
//! against the reference service provider with every component in its own container (each on
//! its own wall clock, reached by the lab through the mapped ports) certifies it, and the run
//! leaves no container or network behind.

use std::path::Path;
use std::process::Command;

use mitid_components::runtime::containers::PID_LABEL;

use crate::{docker_or_skip, labelled_leftovers};

#[test]
fn certify_reference_in_containers_passes_and_leaves_nothing_behind() {
    if !docker_or_skip("certify_reference_in_containers_passes_and_leaves_nothing_behind") {
        return;
    }
    let reports = Path::new(env!("CARGO_TARGET_TMPDIR")).join("containers-certify");
    if reports.exists() {
        std::fs::remove_dir_all(&reports)
            .unwrap_or_else(|err| panic!("cannot clear {}: {err}", reports.display()));
    }
    let reports_arg = reports.display().to_string();
    let args = [
        "certify",
        "--target",
        "reference",
        "--runtime",
        "containers",
        "--reports",
        &reports_arg,
    ];
    let child = Command::new(env!("CARGO_BIN_EXE_mitid-lab"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawning mitid-lab certify");
    // Every container and network of the run carries the pid of the process that started it.
    let pid = child.id().to_string();
    let output = child
        .wait_with_output()
        .expect("waiting for mitid-lab certify");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let (containers_left, networks_left) = labelled_leftovers(PID_LABEL, &pid);
    assert_eq!(
        output.status.code(),
        Some(0),
        "mitid-lab {} failed\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        args.join(" ")
    );
    assert!(
        stdout.contains("CERTIFIED: every MUST requirement passed."),
        "{stdout}"
    );
    assert!(
        containers_left.is_empty() && networks_left.is_empty(),
        "certify (pid {pid}) left containers {containers_left:?} and networks {networks_left:?}"
    );
}
