//! `simulate --live --runtime containers`: the sampled citizens' flows go to the components in
//! containers, on the one lab clock, and a component stopped mid-run fails its flows while the
//! run goes on to the end and leaves nothing behind.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mitid_components::runtime::containers::PID_LABEL;

use crate::{docker_or_skip, labelled_leftovers};

fn count(live: &serde_json::Value, pointer: &str) -> u64 {
    live.pointer(pointer)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or_else(|| panic!("live.json has no count at {pointer}: {live:#}"))
}

/// The names of the running containers of process `pid` (Docker CLI, not the code under test).
fn running_containers(pid: &str) -> Vec<String> {
    let output = Command::new("docker")
        .args([
            "ps",
            "--filter",
            &format!("label={PID_LABEL}={pid}"),
            "--format",
            "{{.Names}}",
        ])
        .output()
        .expect("running docker ps");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_live_run_in_containers_survives_a_stopped_support_line_and_leaves_nothing_behind() {
    if !docker_or_skip(
        "a_live_run_in_containers_survives_a_stopped_support_line_and_leaves_nothing_behind",
    ) {
        return;
    }
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("containers")
        .join("live");
    if out.exists() {
        std::fs::remove_dir_all(&out).expect("clearing the report folder");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_mitid-lab"))
        .args([
            "simulate",
            "scenarios/live-demo.yaml",
            "--live",
            "--runtime",
            "containers",
            "--live-citizens",
            "100",
            "--out",
        ])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning mitid-lab simulate --live --runtime containers");
    let pid = child.id().to_string();

    // Once every container runs, the flows start; the support line is stopped a few seconds in.
    let deadline = Instant::now() + Duration::from_secs(300);
    let support = loop {
        let running = running_containers(&pid);
        if running.len() == 6
            && let Some(support) = running.iter().find(|name| name.ends_with("-support"))
        {
            break support.clone();
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("simulate ended ({status}) before its containers ran");
        }
        assert!(
            Instant::now() < deadline,
            "the containers did not start within 300 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    std::thread::sleep(Duration::from_secs(4));
    let stop = Command::new("docker")
        .args(["stop", "--time", "1", &support])
        .output()
        .expect("running docker stop");
    assert!(stop.status.success(), "docker stop {support}: {stop:?}");

    let output = child.wait_with_output().expect("the run's output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("live (containers runtime):"), "{stdout}");
    let (containers_left, networks_left) = labelled_leftovers(PID_LABEL, &pid);
    assert!(
        containers_left.is_empty() && networks_left.is_empty(),
        "process {pid} left containers {containers_left:?} and networks {networks_left:?}"
    );
    let volumes = Command::new("docker")
        .args([
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("label={PID_LABEL}={pid}"),
        ])
        .output()
        .expect("running docker volume ls");
    assert!(
        String::from_utf8_lossy(&volumes.stdout).trim().is_empty(),
        "process {pid} left its clock volume"
    );

    let text = std::fs::read_to_string(out.join("live.json")).expect("live.json");
    let live: serde_json::Value = serde_json::from_str(&text).expect("live.json is JSON");
    assert_eq!(live["runtime"], "containers");
    assert_eq!(live["complete"], true);
    // The stopped support line failed its calls as unavailable; the broker went on answering.
    assert!(count(&live, "/by_component/support/failed") > 0, "{live:#}");
    assert!(
        count(&live, "/failures_by_cause/unavailable") > 0,
        "{live:#}"
    );
    let idp = count(&live, "/by_component/idp/performed");
    assert!(idp > count(&live, "/by_component/idp/failed"), "{live:#}");
    // One clock in containers too: NemID at a bank refused from the banks' cut-off on, by the
    // simulated day, and accepted before it.
    let nemid = count(&live, "/by_journey/routine_login_nemid/performed");
    let nemid_failed = count(&live, "/by_journey/routine_login_nemid/failed");
    assert!(nemid_failed > 0 && nemid_failed < nemid, "{live:#}");
    // Accounting: every action the model put has one outcome, also across the stop.
    assert_eq!(
        count(&live, "/model/performed_live")
            + count(&live, "/model/resolved_by_model_outside_sample"),
        count(&live, "/model/actions_resolved"),
        "{live:#}"
    );
}
