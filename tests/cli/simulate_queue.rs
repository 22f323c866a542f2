//! A `kind: queue` validation scenario, shortened with `--set`, writes its summary.

use crate::harness::{project_file, run, scratch_dir};

#[test]
fn queue_scenario_writes_the_summary_fields() {
    let dir = scratch_dir("queue_summary");
    let out = dir.join("erlang-c");
    let scenario = project_file("scenarios/queue-erlang-c.yaml");
    let out_arg = out.display().to_string();
    let result = run(&[
        "simulate",
        &scenario,
        "--set",
        "horizon_hours=3000",
        "--set",
        "warmup_hours=100",
        "--seed",
        "4",
        "--out",
        &out_arg,
    ]);
    result.expect_code(0);
    let text = std::fs::read_to_string(out.join("summary.json"))
        .unwrap_or_else(|err| panic!("no summary.json: {err}\n{}", result.describe()));
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    let context = format!("{summary:#}\n{}", result.describe());
    assert_eq!(summary["kind"], "queue", "{context}");
    assert_eq!(summary["seed"], 4, "{context}");
    assert_eq!(
        summary["horizon_hours"], 3000.0,
        "the --set did not reach the run\n{context}"
    );
    for field in [
        "mean_wait_minutes",
        "p_wait",
        "utilization",
        "abandoned_fraction",
        "served",
    ] {
        assert!(
            summary[field].is_number(),
            "summary.json lacks {field}\n{context}"
        );
    }
    let ci = &summary["mean_wait_ci95"];
    assert!(
        ci["low"].as_f64() <= ci["high"].as_f64(),
        "no confidence interval\n{context}"
    );
    for file in ["timing.json", "report.md", "report.html"] {
        assert!(
            out.join(file).is_file(),
            "{file} missing\n{}",
            result.describe()
        );
    }
}

#[test]
fn queue_scenario_refuses_population() {
    let dir = scratch_dir("queue_population");
    let out = dir.join("out").display().to_string();
    let scenario = project_file("scenarios/queue-erlang-c.yaml");
    let result = run(&["simulate", &scenario, "--population", "10", "--out", &out]);
    result
        .expect_code(2)
        .expect_stderr("queue-erlang-c.yaml")
        .expect_stderr("--population 10");
    assert!(!dir.join("out").exists(), "{}", result.describe());
}

#[test]
fn queue_validation_error_names_the_line_of_the_field() {
    let dir = scratch_dir("queue_invalid");
    let out = dir.join("out").display().to_string();
    let scenario = project_file("scenarios/queue-erlang-c.yaml");
    let result = run(&[
        "simulate",
        &scenario,
        "--set",
        "queue.servers=0",
        "--out",
        &out,
    ]);
    let text = std::fs::read_to_string(&scenario).unwrap();
    let line = text
        .lines()
        .position(|l| l.trim_start().starts_with("servers:"))
        .unwrap()
        + 1;
    result
        .expect_code(2)
        .expect_stderr(&format!("queue-erlang-c.yaml:{line}: queue.servers"))
        .expect_stderr("--set queue.servers=0");
    assert!(!dir.join("out").exists(), "{}", result.describe());
}
