//! `mitid-lab run`, the nightly job, end to end: every feature against the embedded components
//! and the policy scenario at a small population. Its reports exist and agree with each other,
//! with the requirement catalogue and with the feature files on disk (so features added later are
//! covered without editing this test); the policy run is a test case of the run's reports.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::{Run, project_file, run, scratch_dir};

/// Citizens in the policy run: small, so the test takes seconds.
const POPULATION: &str = "2000";

/// The single `nightly-*` folder a run made in `reports`.
fn run_dir(reports: &Path, result: &Run) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(reports)
        .unwrap_or_else(|err| {
            panic!(
                "cannot list {}: {err}\n{}",
                reports.display(),
                result.describe()
            )
        })
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.is_dir()
                && path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with("nightly-"))
        })
        .collect();
    assert_eq!(
        dirs.len(),
        1,
        "expected one nightly-* folder in {}, found {dirs:?}\n{}",
        reports.display(),
        result.describe()
    );
    dirs.into_iter().next().expect("one folder")
}

fn read(path: &Path, result: &Run) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| {
        panic!(
            "cannot read {}: {err}\n{}",
            path.display(),
            result.describe()
        )
    })
}

/// Requirement ids of both catalogues (OIDC and OIOSAML) and how many of them are MUST.
fn catalogue() -> (BTreeSet<String>, usize) {
    let mut ids = BTreeSet::new();
    let mut musts = 0;
    for file in [
        "fixtures/requirements/sp.yaml",
        "fixtures/requirements/saml.yaml",
    ] {
        let text = std::fs::read_to_string(project_file(file)).expect("a requirement catalogue");
        let document: serde_yaml::Value =
            serde_yaml::from_str(&text).expect("the catalogue is YAML");
        let requirements = document["requirements"]
            .as_sequence()
            .expect("a requirements list");
        ids.extend(
            requirements
                .iter()
                .map(|r| r["id"].as_str().expect("an id").to_owned()),
        );
        musts += requirements
            .iter()
            .filter(|r| r["level"].as_str() == Some("MUST"))
            .count();
    }
    (ids, musts)
}

/// Every `.feature` file the nightly run certifies, relative to the project root: all of
/// `features/`, the OIOSAML suite (`features/conformance/saml/`) included.
fn feature_files() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("features/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "feature") {
                let relative = path.strip_prefix(root).expect("under the project");
                out.push(relative.display().to_string());
            }
        }
    }
    let root = PathBuf::from(project_file(""));
    let mut files = Vec::new();
    walk(&root.join("features"), &root, &mut files);
    files.sort();
    files
}

fn attribute(tag: &str, name: &str) -> Option<usize> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = start + tag[start..].find('"')?;
    tag[start..end].parse().ok()
}

#[test]
fn nightly_run_passes_and_its_reports_agree() {
    let reports = scratch_dir("nightly_run");
    let reports_arg = reports.display().to_string();
    let result = run(&["run", "--reports", &reports_arg, "--population", POPULATION]);
    result.expect_code(0);
    let dir = run_dir(&reports, &result);
    for file in [
        "junit.xml",
        "report.json",
        "report.md",
        "report.html",
        "policy/summary.json",
        "policy/report.md",
        "policy/report.html",
    ] {
        assert!(
            dir.join(file).is_file(),
            "{file} is missing in {}\n{}",
            dir.display(),
            result.describe()
        );
    }
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            Path::new(name)
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("tmp"))
                || name.contains(".partial-")
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "half-written files left: {leftovers:?}"
    );

    let json: Value = serde_json::from_str(&read(&dir.join("report.json"), &result))
        .expect("report.json is JSON");
    json_agrees_with_catalogue_and_features(&json);
    let policy_name = policy_case(&json, &dir, &result);
    junit_agrees(&json, &read(&dir.join("junit.xml"), &result));
    markdown_and_html_agree(
        &json,
        &policy_name,
        &read(&dir.join("report.md"), &result),
        &read(&dir.join("report.html"), &result),
    );
}

/// The JSON weighs exactly the catalogue, every requirement and scenario passed (the run exited
/// 0), and every feature file on disk ran (features added later included).
fn json_agrees_with_catalogue_and_features(json: &Value) {
    let requirements = json["requirements"].as_array().expect("requirements");
    let scenarios = json["scenarios"].as_array().expect("scenarios");
    let (catalogue_ids, catalogue_musts) = catalogue();
    let json_ids: BTreeSet<String> = requirements
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(json_ids, catalogue_ids, "report.json's requirements");
    let json_musts = requirements.iter().filter(|r| r["level"] == "MUST").count();
    assert_eq!(
        json_musts, catalogue_musts,
        "MUST requirements in report.json"
    );
    for requirement in requirements {
        assert_eq!(
            requirement["verdict"], "PASSED",
            "exit 0, yet {requirement}"
        );
    }
    assert_eq!(json["scenario_counts"]["failed"], 0);
    assert_eq!(
        json["scenario_counts"]["passed"].as_u64(),
        Some(scenarios.len() as u64),
        "every scenario passed"
    );
    for feature in feature_files() {
        assert!(
            scenarios.iter().any(|s| s["location"]
                .as_str()
                .is_some_and(|l| l.starts_with(&format!("{feature}:")))),
            "no scenario of {feature} in report.json"
        );
    }
}

/// The policy run is one passed test case of the run, and its own report folder is the run's
/// `policy/`. Answers the test case's name.
fn policy_case(json: &Value, dir: &Path, result: &Run) -> String {
    let policy: Vec<&Value> = json["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .filter(|s| s["feature"] == "Policy scenario")
        .collect();
    assert_eq!(policy.len(), 1, "one policy test case in report.json");
    let policy = policy[0];
    assert_eq!(policy["verdict"], "PASSED");
    assert_eq!(policy["location"], "scenarios/nemid-phaseout-2023.yaml");
    let name = policy["name"].as_str().unwrap().to_owned();
    assert!(name.contains(&format!("population {POPULATION}")), "{name}");
    let summary: Value = serde_json::from_str(&read(&dir.join("policy/summary.json"), result))
        .expect("policy/summary.json is JSON");
    assert_eq!(summary["population"].as_u64(), POPULATION.parse().ok());
    assert_eq!(summary["scenario"], "nemid-phaseout-2023");
    name
}

/// JUnit: one test case per JSON scenario, the same failure count, the policy case included.
fn junit_agrees(json: &Value, junit: &str) {
    let scenarios = json["scenarios"].as_array().expect("scenarios").len();
    let testsuites = junit
        .lines()
        .find(|l| l.trim_start().starts_with("<testsuites "))
        .expect("a <testsuites> element");
    assert_eq!(attribute(testsuites, "tests"), Some(scenarios));
    assert_eq!(attribute(testsuites, "failures"), Some(0));
    assert_eq!(junit.matches("<testcase ").count(), scenarios);
    assert!(
        junit.contains(
            "<testcase classname=\"Policy scenario\" name=\"nemid-phaseout-2023 at population"
        ),
        "junit.xml has no policy test case:\n{junit}"
    );
}

/// Markdown: every requirement's row with the JSON's verdict, and the policy row. HTML: one
/// section per scenario, the policy case among them.
fn markdown_and_html_agree(json: &Value, policy_name: &str, markdown: &str, html: &str) {
    for requirement in json["requirements"].as_array().expect("requirements") {
        let row = format!(
            "| {} | {} | {} |",
            requirement["id"].as_str().unwrap(),
            requirement["level"].as_str().unwrap(),
            requirement["verdict"].as_str().unwrap()
        );
        assert!(markdown.contains(&row), "report.md lacks {row:?}");
    }
    assert!(
        markdown.contains(&format!("| PASSED | Policy scenario | {policy_name} |")),
        "report.md has no policy row:\n{markdown}"
    );
    assert!(markdown.contains("CERTIFIED: every MUST requirement ran and passed."));
    assert!(
        html.contains("PASSED — nemid-phaseout-2023 at population"),
        "report.html has no policy section"
    );
    assert_eq!(
        html.matches("<section").count(),
        json["scenarios"].as_array().expect("scenarios").len()
    );
}

#[test]
fn a_malformed_policy_scenario_is_bad_input_and_nothing_runs() {
    let reports = scratch_dir("nightly_bad_scenario");
    let scenario = reports.join("broken.yaml");
    std::fs::write(
        &scenario,
        "kind: policy\nname: broken\npopulation:\n  size: lots\n",
    )
    .unwrap();
    let reports_arg = reports.join("out").display().to_string();
    let scenario_arg = scenario.display().to_string();
    let result = run(&[
        "run",
        "--reports",
        &reports_arg,
        "--scenario",
        &scenario_arg,
    ]);
    result.expect_code(2).expect_stderr("broken.yaml:4");
    assert!(
        !reports.join("out").exists(),
        "a run with bad input wrote reports\n{}",
        result.describe()
    );
}
