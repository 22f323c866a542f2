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

/// Polls the running containers of process `pid` until `until` answers something (at most
/// 300 s); fails when the process ends first, naming `what` it was waited for.
fn poll_containers<T>(
    child: &mut std::process::Child,
    pid: &str,
    what: &str,
    mut until: impl FnMut(&[String]) -> Option<T>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some(found) = until(&running_containers(pid)) {
            return found;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("simulate ended ({status}) before {what}");
        }
        assert!(Instant::now() < deadline, "not within 300 s: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
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
    let mut child = spawn_live(
        std::path::Path::new("scenarios/live-demo.yaml"),
        &out,
        &["--live-citizens", "100"],
    );
    let pid = child.id().to_string();

    // Once every container runs, the flows start; the support line is stopped a few seconds in.
    let support = poll_containers(&mut child, &pid, "its containers ran", |running| {
        if running.len() == 6 {
            running
                .iter()
                .find(|name| name.ends_with("-support"))
                .cloned()
        } else {
            None
        }
    });
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

/// A small live scenario whose `incidents:` section stops the broker's container for a week
/// (2022-09-12 to 2022-09-19) and starts it again: before the banks' NemID cut-off, so every
/// refusal outside the window would be a fault of the restart, not the calendar.
const BROKER_OUTAGE: &str = "\
kind: policy
name: live-broker-outage
seed: 7
population:
  size: 400
  start: 2022-09-01
  end: 2022-10-10
  municipalities: []
incidents:
  - name: broker-down
    source: \"test: the broker's container stopped for a week and started again\"
    kind: outage
    component: idp
    mode: down
    from: 2022-09-12
    until: 2022-09-19
    restart: true
";

/// The sum of `row[from..until]` of a per-day list of `over_time`.
fn days_sum(live: &serde_json::Value, pointer: &str, from: usize, until: usize) -> u64 {
    live.pointer(pointer)
        .and_then(serde_json::Value::as_array)
        .unwrap_or_else(|| panic!("live.json has no list at {pointer}: {live:#}"))
        .iter()
        .skip(from)
        .take(until.saturating_sub(from))
        .filter_map(serde_json::Value::as_u64)
        .sum()
}

/// `simulate --live --runtime containers` of [`BROKER_OUTAGE`] (with `extra` flags) in a fresh
/// folder `name` of the tests' scratch space; the child and its report folder.
fn spawn_outage_run(name: &str, extra: &[&str]) -> (std::process::Child, std::path::PathBuf) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("containers")
        .join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clearing the test folder");
    }
    std::fs::create_dir_all(&dir).expect("creating the test folder");
    let scenario = dir.join("broker-outage.yaml");
    std::fs::write(&scenario, BROKER_OUTAGE).expect("writing the scenario");
    let out = dir.join("report");
    (spawn_live(&scenario, &out, extra), out)
}

/// `simulate SCENARIO --live --runtime containers EXTRA --out OUT` from the project folder,
/// its output piped.
fn spawn_live(
    scenario: &std::path::Path,
    out: &std::path::Path,
    extra: &[&str],
) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_mitid-lab"))
        .arg("simulate")
        .arg(scenario)
        .args(["--live", "--runtime", "containers"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning mitid-lab simulate --live --runtime containers")
}

/// Waits for the run of process `pid` (see [`wait_or_kill`]) and checks it left no container
/// or network.
fn ended_leaving_nothing(
    child: &mut std::process::Child,
    pid: &str,
    limit: Duration,
) -> std::process::Output {
    let output = wait_or_kill(child, limit);
    let (containers_left, networks_left) = labelled_leftovers(PID_LABEL, pid);
    assert!(
        containers_left.is_empty() && networks_left.is_empty(),
        "process {pid} left containers {containers_left:?} and networks {networks_left:?}"
    );
    output
}

fn live_json(out: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("live.json")).expect("live.json");
    serde_json::from_str(&text).expect("live.json is JSON")
}

/// Waits for `child` at most `limit`; kills it (and fails the test) when it hangs.
fn wait_or_kill(child: &mut std::process::Child, limit: Duration) -> std::process::Output {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let hung = matches!(child.try_wait(), Ok(None));
    if hung {
        let _ = child.kill();
    }
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = std::io::Read::read_to_string(&mut out, &mut stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
    }
    let status = child.wait().expect("the run's exit status");
    assert!(!hung, "the live run hung for {limit:?}\n{stdout}\n{stderr}");
    std::process::Output {
        status,
        stdout: stdout.into_bytes(),
        stderr: stderr.into_bytes(),
    }
}

#[test]
fn a_scenario_incident_stops_the_broker_container_mid_run_and_the_run_recovers() {
    if !docker_or_skip(
        "a_scenario_incident_stops_the_broker_container_mid_run_and_the_run_recovers",
    ) {
        return;
    }
    let (mut child, out) = spawn_outage_run("live-incident", &["--live-citizens", "200"]);
    let pid = child.id().to_string();
    let output = ended_leaving_nothing(&mut child, &pid, Duration::from_secs(300));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");

    let live = live_json(&out);
    assert_eq!(live["runtime"], "containers");
    assert_eq!(live["complete"], true, "the run did not go on to its end");

    // The incident was injected for real: the container stopped, then started again.
    let incident = &live["incidents"][0];
    let injected: Vec<&str> = incident["injected"]
        .as_array()
        .map(|steps| steps.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        injected
            .first()
            .is_some_and(|s| s.starts_with("docker stop "))
            && injected
                .last()
                .is_some_and(|s| s.starts_with("docker start ")),
        "{injected:?}"
    );
    assert!(count(&live, "/incidents/0/flows_failed") > 0, "{live:#}");
    let (from, until) = (
        usize::try_from(count(&live, "/incidents/0/from_day")).expect("a day"),
        usize::try_from(count(&live, "/incidents/0/until_day")).expect("a day"),
    );
    let days = usize::try_from(count(&live, "/over_time/days")).expect("days");
    let performed = |a, b| days_sum(&live, "/over_time/performed/idp", a, b);
    let failed = |a, b| days_sum(&live, "/over_time/failed/idp", a, b);
    // In the window every flow to the stopped broker failed...
    assert!(performed(from, until) > 0, "{live:#}");
    assert_eq!(failed(from, until), performed(from, until), "{live:#}");
    // ...before it and after it (the citizens and clients registered again with the restarted
    // broker) the broker answered: a refusal there would be the restart's fault.
    assert!(
        performed(0, from) > 0 && performed(until, days) > 0,
        "{live:#}"
    );
    assert_eq!(failed(0, from), 0, "{live:#}");
    assert_eq!(
        failed(until, days),
        0,
        "the broker did not recover: {live:#}"
    );

    // Accounting: every flow in one journey; every action the model put has one outcome.
    let journeys: u64 = live["by_journey"]
        .as_object()
        .expect("by_journey")
        .values()
        .filter_map(|c| c["performed"].as_u64())
        .sum();
    assert_eq!(journeys, count(&live, "/flows/performed"), "{live:#}");
    assert_eq!(
        count(&live, "/model/performed_live")
            + count(&live, "/model/resolved_by_model_outside_sample"),
        count(&live, "/model/actions_resolved"),
        "{live:#}"
    );
}

#[test]
fn ctrl_c_while_an_incident_holds_the_broker_stopped_leaves_nothing_and_a_partial_live_json() {
    if !docker_or_skip(
        "ctrl_c_while_an_incident_holds_the_broker_stopped_leaves_nothing_and_a_partial_live_json",
    ) {
        return;
    }
    // A simulated day a second: the broker's week down lasts seven seconds of wall time.
    let (mut child, out) = spawn_outage_run(
        "live-incident-ctrl-c",
        &["--live-citizens", "50", "--speed", "86400"],
    );
    let pid = child.id().to_string();
    // Wait for the six containers, then for the incident to stop the broker's.
    let mut all_ran = false;
    poll_containers(
        &mut child,
        &pid,
        "the incident stopped the broker",
        |running| {
            all_ran |= running.len() == 6;
            (all_ran && !running.iter().any(|name| name.ends_with("-idp"))).then_some(())
        },
    );
    let kill = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("running kill");
    assert!(kill.success(), "kill -INT {pid} failed");
    let output = ended_leaving_nothing(&mut child, &pid, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    let live = live_json(&out);
    assert_eq!(live["complete"], false, "{live:#}");
    assert!(
        !out.join("summary.json").exists(),
        "an interrupted run wrote the model's figures"
    );
}
