//! Bad scenarios and bad overrides: exit code 2, a message naming file, line and field, and
//! no report folder (not even a half-written one).

use std::path::Path;

use crate::harness::{Run, run, scratch_dir};

const GOOD: &str = "\
kind: policy
name: cli-errors
seed: 3
population:
  size: 1000
  start: 2023-01-01
  end: 2023-02-28
calendar:
  nemid_shutdown: 2023-10-31
";

/// Writes `text` as `file_name` in a fresh folder, runs `simulate` on it with `extra` flags and
/// an `--out` inside the folder, and checks that the run failed without leaving files.
fn simulate_bad(test_name: &str, file_name: &str, text: &str, extra: &[&str]) -> Run {
    let dir = scratch_dir(test_name);
    let scenario = dir.join(file_name);
    std::fs::write(&scenario, text).unwrap();
    let out = dir.join("out");
    let scenario_arg = scenario.display().to_string();
    let out_arg = out.display().to_string();
    let mut args = vec!["simulate", scenario_arg.as_str(), "--out", out_arg.as_str()];
    args.extend_from_slice(extra);
    let result = run(&args);
    result.expect_code(2);
    assert_no_output(&dir, &result);
    result
}

#[track_caller]
fn assert_no_output(dir: &Path, result: &Run) {
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| Path::new(name).extension().is_none_or(|ext| ext != "yaml"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "a failed run left {leftovers:?}\n{}",
        result.describe()
    );
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let text = "kind: policy\nname: broken\npopulation:\n  size: [1000, 2\n  start: 2023-01-01\n";
    let result = simulate_bad("malformed_yaml", "broken.yaml", text, &[]);
    result
        .expect_stderr("broken.yaml:")
        .expect_stderr("YAML syntax error");
    // The parser reports the line where the unclosed list is found to be broken.
    assert!(
        ["broken.yaml:4", "broken.yaml:5", "broken.yaml:6"]
            .iter()
            .any(|at| result.stderr.contains(at)),
        "no line number near the broken list\n{}",
        result.describe()
    );
}

#[test]
fn unknown_field_names_file_line_and_field() {
    let text = GOOD.replace("  size: 1000\n", "  size: 1000\n  sise: 10\n");
    let result = simulate_bad("unknown_field", "unknown.yaml", &text, &[]);
    result
        .expect_stderr("unknown.yaml:6: population.sise")
        .expect_stderr("unknown field");
}

#[test]
fn wrong_type_names_file_line_and_field() {
    let text = GOOD.replace("  size: 1000\n", "  size: lots\n");
    let result = simulate_bad("wrong_type", "wrong-type.yaml", &text, &[]);
    result.expect_stderr("wrong-type.yaml:5: population.size");
}

#[test]
fn bad_date_names_file_line_and_field() {
    let text = GOOD.replace("nemid_shutdown: 2023-10-31", "nemid_shutdown: 2023-13-31");
    let result = simulate_bad("bad_date", "bad-date.yaml", &text, &[]);
    result.expect_stderr("bad-date.yaml:9: calendar.nemid_shutdown");
}

#[test]
fn failed_validation_names_file_line_and_field() {
    let text = GOOD.replace("  end: 2023-02-28\n", "  end: 2022-02-28\n");
    let result = simulate_bad("failed_validation", "invalid.yaml", &text, &[]);
    result
        .expect_stderr("invalid.yaml:7: population.end")
        .expect_stderr("invalid");
}

#[test]
fn set_of_an_unknown_field_names_it_and_the_flag() {
    let result = simulate_bad(
        "set_unknown_field",
        "good.yaml",
        GOOD,
        &["--set", "calendar.nemid_shutdwn=2023-12-31"],
    );
    result
        .expect_stderr("good.yaml:8: calendar.nemid_shutdwn")
        .expect_stderr("--set calendar.nemid_shutdwn=2023-12-31")
        .expect_stderr("unknown field");
}

#[test]
fn set_of_a_bad_value_names_the_line_it_replaces() {
    let result = simulate_bad(
        "set_bad_value",
        "good.yaml",
        GOOD,
        &["--set", "calendar.nemid_shutdown=soon"],
    );
    result
        .expect_stderr("good.yaml:9: calendar.nemid_shutdown")
        .expect_stderr("--set calendar.nemid_shutdown=soon");
}

#[test]
fn set_without_a_value_is_rejected() {
    let result = simulate_bad("set_without_value", "good.yaml", GOOD, &["--set", "seed"]);
    result
        .expect_stderr("good.yaml")
        .expect_stderr("--set seed")
        .expect_stderr("field.path=value");
}

#[test]
fn population_zero_fails_validation_naming_the_flag() {
    let result = simulate_bad("population_zero", "good.yaml", GOOD, &["--population", "0"]);
    result
        .expect_stderr("good.yaml:5: population.size")
        .expect_stderr("--population 0");
}

#[test]
fn missing_scenario_file_is_bad_input() {
    let dir = scratch_dir("missing_file");
    let missing = dir.join("nowhere.yaml").display().to_string();
    let out = dir.join("out").display().to_string();
    let result = run(&["simulate", &missing, "--out", &out]);
    result.expect_code(2).expect_stderr("nowhere.yaml");
    assert_no_output(&dir, &result);
}
