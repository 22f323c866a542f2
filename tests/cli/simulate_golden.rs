//! A golden `summary.json`: a small policy scenario's summary, byte for byte. Any change of the
//! model's behaviour (or of the summary's layout) shows up here as a diff to review, and is
//! accepted with `cargo insta review` (or `INSTA_UPDATE=always`) when it is meant.

use crate::harness::{run, scratch_dir};

/// Two municipalities, a year around the shutdown, every default of the model.
const SCENARIO: &str = "\
kind: policy
name: golden-small
seed: 7
population:
  size: 3000
  start: 2023-01-01
  end: 2023-12-31
  municipalities: [Aalborg, Læsø]
";

#[test]
fn small_policy_summary_is_golden() {
    let dir = scratch_dir("simulate_golden");
    let scenario = dir.join("golden.yaml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let out = dir.join("run");
    let scenario_arg = scenario.display().to_string();
    let out_arg = out.display().to_string();
    let result = run(&["simulate", &scenario_arg, "--out", &out_arg]);
    result.expect_code(0);
    let summary = std::fs::read_to_string(out.join("summary.json"))
        .unwrap_or_else(|err| panic!("summary.json: {err}\n{}", result.describe()));
    // The scenario's path is the test's scratch folder, which differs between machines; the lab's
    // version changes with every release. Both are checked in simulate_policy.rs.
    let summary = summary
        .replace(&scenario_arg, "<scratch>/golden.yaml")
        .replace(
            &format!("\"lab_version\": \"{}\"", env!("CARGO_PKG_VERSION")),
            "\"lab_version\": \"<version>\"",
        );
    insta::assert_snapshot!("golden_small_summary", summary);
}
