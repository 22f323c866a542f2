//! The `incidents:` section: the shipped replays load and run, an incident's window shows in the
//! figures, a bad incident is named by file, line and field, and in a live run the incident is
//! really injected while every action keeps exactly one outcome.

use std::path::Path;

use serde_json::Value;

use crate::harness::{project_file, run, scratch_dir};

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn number(value: &Value, pointer: &str) -> u64 {
    value
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no count at {pointer}: {value:#}"))
}

/// `timeseries.csv`'s column `name`, one value per day.
fn column(out: &Path, name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(out.join("timeseries.csv")).expect("timeseries.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let at = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    lines
        .map(|line| {
            line.split(',')
                .nth(at)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        })
        .collect()
}

#[test]
fn the_incident_replays_load_run_and_show_their_window_in_the_figures() {
    let dir = scratch_dir("incident_replays");
    for (file, first_day, last_day) in [
        // Windows in day indices of each scenario (from its start date).
        ("scenarios/incident-nemid-outage-2022.yaml", 19, 24),
        ("scenarios/incident-cpr-lockout-2022.yaml", 25, 39),
        ("scenarios/incident-ddos-abroad.yaml", 36, 43),
    ] {
        let out = dir.join(Path::new(file).file_stem().unwrap());
        let scenario = project_file(file);
        let out_arg = out.display().to_string();
        let result = run(&["simulate", scenario.as_str(), "--out", out_arg.as_str()]);
        result.expect_code(0);
        let summary = json(&out.join("summary.json"));
        let incident = &summary["incidents"][0];
        assert!(
            number(incident, "/actions_failed") > 0 && number(incident, "/citizens_affected") > 0,
            "{file}: the incident failed nothing: {incident:#}"
        );
        assert!(
            number(incident, "/citizens_affected") <= number(incident, "/actions_failed"),
            "{incident:#}"
        );
        // Every action these incidents fail is a login, counted in the day's failed logins:
        // the window's failed logins hold at least the incident's.
        let failed = column(&out, "failed_logins");
        let inside: f64 = failed[first_day..last_day].iter().sum();
        let by_incident = number(incident, "/actions_failed") as f64;
        assert!(
            inside >= by_incident,
            "{file}: {inside} failed logins in the window, fewer than the incident's {by_incident}"
        );
        let report = std::fs::read_to_string(out.join("report.md")).unwrap();
        assert!(report.contains("Incidents (the model's actions they made fail)"));
    }
}

#[test]
fn a_bad_incident_names_file_line_and_field_and_writes_nothing() {
    let dir = scratch_dir("incident_bad");
    let scenario = dir.join("bad.yaml");
    std::fs::write(
        &scenario,
        "kind: policy\nname: bad-incident\npopulation:\n  size: 500\n  start: 2023-01-01\n  \
         end: 2023-02-28\nincidents:\n  - name: slow\n    kind: latency\n    component: support\n    \
         from: 2023-02-01\n    until: 2023-01-20\n    latency_ms: 300\n",
    )
    .unwrap();
    let out = dir.join("out");
    let result = run(&[
        "simulate",
        &scenario.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    result.expect_code(2);
    result
        .expect_stderr("bad.yaml:12")
        .expect_stderr("incidents[0].until");
    assert!(!out.exists(), "a refused scenario wrote {}", out.display());
}

/// The live demo with the support line down for two months around the new year.
const SUPPORT_DOWN: &str = "
incidents:
  - name: support-down
    kind: outage
    component: support
    from: 2022-11-15
    until: 2023-01-15
";

#[test]
fn a_component_down_mid_run_fails_its_flows_in_the_window_only_and_every_action_keeps_one_outcome()
{
    let dir = scratch_dir("incident_live_outage");
    let demo = std::fs::read_to_string(project_file("scenarios/live-demo.yaml")).unwrap();
    let scenario = dir.join("support-down.yaml");
    std::fs::write(&scenario, format!("{demo}\n{SUPPORT_DOWN}")).unwrap();
    let out = dir.join("out");
    let result = run(&[
        "simulate",
        &scenario.display().to_string(),
        "--out",
        &out.display().to_string(),
        "--live",
        "--live-citizens",
        "150",
    ]);
    result.expect_code(0);
    let live = json(&out.join("live.json"));
    let incident = &live["incidents"][0];
    assert!(
        incident["injected"]
            .as_array()
            .is_some_and(|steps| !steps.is_empty()),
        "{incident:#}"
    );
    let (from, until) = (
        number(incident, "/from_day") as usize,
        number(incident, "/until_day") as usize,
    );
    let failed: Vec<u64> = live["over_time"]["failed"]["support"]
        .as_array()
        .expect("support flows over time")
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let performed: Vec<u64> = live["over_time"]["performed"]["support"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let inside: u64 = failed[from..until].iter().sum();
    assert!(inside > 0, "no support flow failed in the window: {live:#}");
    assert_eq!(
        inside,
        performed[from..until].iter().sum::<u64>(),
        "a support flow got through while the line was down"
    );
    let outside: u64 = failed[..from].iter().chain(&failed[until..]).sum();
    assert_eq!(outside, 0, "support flows failed outside the window");
    assert_eq!(number(incident, "/flows_failed"), inside, "{incident:#}");

    // Accounting: every flow is counted once by journey, by component and by day; every
    // failure has one cause; every action the model put has one outcome.
    let sum = |pointer: &str, field: Option<&str>| -> u64 {
        live.pointer(pointer)
            .and_then(Value::as_object)
            .unwrap()
            .values()
            .map(|v| match field {
                Some(f) => v[f].as_u64().unwrap(),
                None => match v {
                    Value::Array(days) => days.iter().map(|d| d.as_u64().unwrap()).sum(),
                    other => other.as_u64().unwrap(),
                },
            })
            .sum()
    };
    let flows = number(&live, "/flows/performed");
    let flows_failed = number(&live, "/flows/failed");
    assert_eq!(sum("/by_journey", Some("performed")), flows);
    assert_eq!(sum("/by_component", Some("performed")), flows);
    assert_eq!(sum("/over_time/performed", None), flows);
    assert_eq!(sum("/over_time/failed", None), flows_failed);
    assert_eq!(sum("/failures_by_cause", None), flows_failed);
    let routine = number(&live, "/by_journey/routine_login_mitid/performed")
        + live
            .pointer("/by_journey/routine_login_nemid/performed")
            .and_then(Value::as_u64)
            .unwrap_or(0);
    assert_eq!(number(&live, "/model/performed_live"), flows - routine);
    assert_eq!(
        number(&live, "/model/performed_live")
            + number(&live, "/model/resolved_by_model_outside_sample"),
        number(&live, "/model/actions_resolved"),
    );
    // The model resolved the same outage for the citizens outside the sample.
    let summary = json(&out.join("summary.json"));
    assert!(
        number(&summary, "/incidents/0/actions_failed") > 0,
        "{summary:#}"
    );
    assert!(
        out.join("live-failures.svg").exists() || out.join("charts/live-failures.svg").exists()
    );
}
