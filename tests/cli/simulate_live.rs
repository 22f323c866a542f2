//! `simulate --live`: a sample of the simulated citizens acts for real against the embedded
//! components, the components' answers feed back into the model, and `live.json` counts it.

use std::path::Path;

use serde_json::Value;

use crate::harness::{Run, project_file, run, scratch_dir};

const DEMO: &str = "scenarios/live-demo.yaml";

fn simulate(out: &Path, extra: &[&str]) -> Run {
    let scenario = project_file(DEMO);
    let out = out.display().to_string();
    let mut args = vec!["simulate", scenario.as_str(), "--out", out.as_str()];
    args.extend_from_slice(extra);
    run(&args)
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn count(live: &Value, pointer: &str) -> u64 {
    live.pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("live.json has no count at {pointer}: {live:#}"))
}

#[test]
fn a_live_run_performs_real_flows_and_the_broker_judges_them_on_the_simulated_day() {
    let dir = scratch_dir("live_real_flows");
    let live_out = dir.join("live");
    // 100 of 2 000: enough that some of them go to Citizen Service and call support.
    let result = simulate(&live_out, &["--live", "--live-citizens", "100"]);
    result.expect_code(0);
    assert!(
        result.stdout.contains("live (embedded runtime):"),
        "no live line in the summary\n{}",
        result.describe()
    );
    let live = json(&live_out.join("live.json"));
    assert_eq!(live["runtime"], "embedded", "{live:#}");
    assert_eq!(count(&live, "/sample_size"), 100);
    assert_eq!(live["sampled_citizens"].as_array().map(Vec::len), Some(100));
    // The broker logged the sampled citizens in: MitID logins went through.
    let mitid = count(&live, "/by_journey/routine_login_mitid/performed");
    let mitid_failed = count(&live, "/by_journey/routine_login_mitid/failed");
    assert!(mitid > 0 && mitid_failed < mitid, "{live:#}");
    assert!(
        count(&live, "/by_journey/nemid_migration_login/performed") > 0,
        "{live:#}"
    );
    assert!(
        count(&live, "/by_journey/recovery/performed") > 0,
        "{live:#}"
    );
    for component in ["idp", "citizen-service", "support"] {
        assert!(
            count(&live, &format!("/by_component/{component}/performed")) > 0,
            "no flow at {component}: {live:#}"
        );
    }
    assert!(count(&live, "/by_journey/citizen_service_appointment/performed") > 0);
    assert!(count(&live, "/by_journey/support_call/performed") > 0);
    // One clock: the broker refused NemID at a bank because the lab clock stood after the
    // banks' cut-off (2022-11-01), not after the shutdown the wall clock is past (2023-10-31),
    // and let NemID logins through before it.
    let nemid = count(&live, "/by_journey/routine_login_nemid/performed");
    let nemid_failed = count(&live, "/by_journey/routine_login_nemid/failed");
    assert!(nemid_failed > 0 && nemid_failed < nemid, "{live:#}");
    assert!(
        live["refusals"]["routine_login_nemid"]
            .as_object()
            .is_some_and(|reasons| reasons.keys().all(|r| r.ends_with("nemid_cutoff_passed"))),
        "{live:#}"
    );
    // Accounting: every flow is in exactly one journey and one component.
    let journeys: u64 = live["by_journey"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["performed"].as_u64().unwrap())
        .sum();
    let components: u64 = live["by_component"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["performed"].as_u64().unwrap())
        .sum();
    assert_eq!(journeys, count(&live, "/flows/performed"));
    assert_eq!(components, journeys);
    // Every action the model put to the port has exactly one outcome: from the components for
    // the sample, from the model's rules for everyone else.
    let routine = count(&live, "/by_journey/routine_login_mitid/performed")
        + count(&live, "/by_journey/routine_login_nemid/performed");
    assert_eq!(count(&live, "/model/performed_live"), journeys - routine);
    assert_eq!(
        count(&live, "/model/performed_live")
            + count(&live, "/model/resolved_by_model_outside_sample"),
        count(&live, "/model/actions_resolved"),
        "{live:#}"
    );

    // Where every component agreed with the model's rules, the model's figures are the pure
    // run's, byte for byte; a pure run writes no live.json.
    assert_eq!(
        count(&live, "/model/diverged_from_model_rules"),
        0,
        "{live:#}"
    );
    let pure_out = dir.join("pure");
    simulate(&pure_out, &[]).expect_code(0);
    assert!(!pure_out.join("live.json").exists());
    // The live run's summary is the pure run's plus its live section.
    let mut live_summary = json(&live_out.join("summary.json"));
    let section = live_summary
        .as_object_mut()
        .and_then(|summary| summary.remove("live"))
        .expect("the live run's summary has a live section");
    assert_eq!(section["flows"], live["flows"]);
    assert_eq!(section["by_component"], live["by_component"]);
    assert_eq!(
        live_summary,
        json(&pure_out.join("summary.json")),
        "the live run's summary differs from the pure run's though nothing diverged"
    );
    let html = std::fs::read_to_string(live_out.join("report.html")).unwrap();
    assert!(html.contains("Live run: real flows against the components"));
    assert!(html.contains("citizen-service"));
}

#[test]
fn a_broker_that_refuses_for_real_changes_the_models_figures() {
    // The model is told NemID still gets you MitID until the end of 2023; the broker keeps the
    // real calendar (fixtures/nemid-calendar.yaml) and refuses from 2023-06-05 on.
    let dir = scratch_dir("live_refusals_feed_back");
    let sets = [
        "--set",
        "calendar.migration_via_nemid_ends=2023-12-31",
        "--set",
        "calendar.nemid_support_closes=2023-12-31",
        "--set",
        "calendar.nemid_shutdown=2023-12-31",
        "--set",
        "population.start=2023-06-05",
    ];
    let live_out = dir.join("live");
    let mut args = sets.to_vec();
    args.extend(["--live", "--live-citizens", "20"]);
    simulate(&live_out, &args).expect_code(0);
    let pure_out = dir.join("pure");
    simulate(&pure_out, &sets).expect_code(0);

    let live = json(&live_out.join("live.json"));
    let refused = count(&live, "/by_journey/nemid_migration_login/failed");
    assert!(refused > 0, "{live:#}");
    assert_eq!(
        count(
            &live,
            "/refusals/nemid_migration_login/nemid_migration_ended"
        ),
        refused,
        "{live:#}"
    );
    assert!(count(&live, "/failures_by_cause/refused") >= refused);
    assert!(count(&live, "/model/diverged_from_model_rules") >= refused);
    assert_eq!(
        count(
            &live,
            "/model/diverged_by_journey/nemid_migration_login/expected succeeded, got refused"
        ),
        refused,
        "{live:#}"
    );
    // The model saw the refusals: more failed logins than its own rules gave.
    let failed_logins =
        |out: &Path| count(&json(&out.join("summary.json")), "/totals/failed_logins");
    assert!(
        failed_logins(&live_out) > failed_logins(&pure_out),
        "live {} vs pure {}",
        failed_logins(&live_out),
        failed_logins(&pure_out)
    );
}

#[test]
fn bad_live_flags_are_refused_before_anything_starts() {
    let dir = scratch_dir("live_bad_flags");
    let out = dir.join("out");
    let cases: [(&[&str], &str); 6] = [
        (&["--live", "--live-citizens", "0"], "--live-citizens"),
        (&["--live", "--live-citizens", "2001"], "--live-citizens"),
        (&["--live", "--live-sample", "1.5"], "--live-sample"),
        (&["--live", "--speed", "0"], "--speed"),
        (&["--live-citizens", "3"], "--live"),
        (
            &["--live", "--live-sample", "0.1", "--live-citizens", "3"],
            "--live-citizens",
        ),
    ];
    for (flags, named) in cases {
        let result = simulate(&out, flags);
        result.expect_code(2).expect_stderr(named);
        assert!(!out.exists(), "a report was written\n{}", result.describe());
    }
    let queue = project_file("scenarios/queue-erlang-c.yaml");
    let out_arg = out.display().to_string();
    run(&["simulate", &queue, "--out", &out_arg, "--live"])
        .expect_code(2)
        .expect_stderr("--live");
}

#[test]
fn a_live_sample_fraction_is_a_share_of_the_population_drawn_from_the_seed() {
    let dir = scratch_dir("live_sample_fraction");
    let sampled = |out: &Path, seed: &str| {
        simulate(out, &["--live", "--live-sample", "0.005", "--seed", seed]).expect_code(0);
        let live = json(&out.join("live.json"));
        assert_eq!(count(&live, "/sample_size"), 10, "0.5 % of 2 000: {live:#}");
        live["sampled_citizens"].clone()
    };
    let first = sampled(&dir.join("a"), "7");
    assert_eq!(
        first,
        sampled(&dir.join("b"), "7"),
        "same seed, same sample"
    );
    assert_ne!(
        first,
        sampled(&dir.join("c"), "8"),
        "another seed, another sample"
    );
}

#[test]
fn ctrl_c_stops_a_paced_live_run_with_a_partial_live_json_marked_incomplete() {
    let dir = scratch_dir("live_ctrl_c");
    let out = dir.join("out");
    let scenario = project_file(DEMO);
    // Paced at 10 simulated days a second, the demo's eleven months take half a minute: the
    // signal comes while it runs.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mitid-lab"))
        .args(["simulate", scenario.as_str(), "--out"])
        .arg(&out)
        .args(["--live", "--live-citizens", "10", "--speed", "864000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawning mitid-lab simulate --live");
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(
        child.try_wait().expect("the child's state").is_none(),
        "the paced run ended before the signal"
    );
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("running kill");
    assert!(kill.success());
    let output = child.wait_with_output().expect("the run's output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    let live = json(&out.join("live.json"));
    assert_eq!(live["complete"], false, "{live:#}");
    let stopped_at = live["stopped_at"].as_str().expect("stopped_at");
    assert!(
        stopped_at > "2022-09-01" && stopped_at < "2023-07-31",
        "{live:#}"
    );
    // Only what the run really has: no model figures of a run cut short.
    assert!(!out.join("summary.json").exists());
    assert!(!out.join("report.html").exists());
}

#[test]
fn bench_tui_plays_the_dashboard_live_and_counts_the_real_flows() {
    let scenario = project_file(DEMO);
    let result = run(&[
        "bench",
        "tui",
        "--scenario",
        scenario.as_str(),
        "--seconds",
        "1",
        "--live-citizens",
        "10",
    ]);
    result.expect_code(0);
    assert!(
        result
            .stdout
            .contains("10 citizens act for real (embedded components)"),
        "{}",
        result.describe()
    );
    let flows: Vec<u64> = result
        .stdout
        .lines()
        .filter_map(|line| line.trim().split_once(" real flows over those days"))
        .map(|(count, _)| count.parse().expect("a count of flows"))
        .collect();
    // One line per terminal size, each a fresh live run over the same 30 days.
    assert_eq!(flows.len(), 2, "{}", result.describe());
    assert!(flows[0] > 0, "{}", result.describe());
    assert_eq!(flows[0], flows[1], "{}", result.describe());
}
