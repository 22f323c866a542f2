//! A verdict says exactly what was checked: nothing selected is bad input, a subset is a partial
//! run (never CERTIFIED), optional parts are declared in the target file (undeclared: SKIPPED (not
//! implemented); declared but missing: FAILED), the pre-flight stops a misconfigured service
//! with one message, and authorization codes never reach a report.
//!
//! The tests against an integrator's service use the example service provider
//! (`examples/mitid_sp_openidconnect/`, see `certify_outside_rp`), which serves exactly the
//! endpoints its own copy of the target file names.

use std::path::Path;

use serde_json::Value;

use super::certify_outside_rp::ServiceProcess;
use super::harness::{InitTarget, Run, init_full_target, run_in, scratch_dir};

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The run's `report.json` (the only report folder under `reports`).
fn report_json(reports: &Path, run: &Run) -> Value {
    let path = files_under(reports)
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == "report.json"))
        .unwrap_or_else(|| {
            panic!(
                "no report.json under {}\n{}",
                reports.display(),
                run.describe()
            )
        });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The line of stdout naming requirement `id` (only non-PASSED requirements are listed).
fn requirement_line<'a>(run: &'a Run, id: &str) -> &'a str {
    run.stdout
        .lines()
        .find(|line| line.split_whitespace().any(|word| word == id))
        .unwrap_or_else(|| panic!("stdout names no {id}\n{}", run.describe()))
}

#[test]
fn a_selection_without_scenarios_is_bad_input_with_a_suggestion() {
    let dir = scratch_dir("nothing_selected");
    let reports = dir.join("reports").display().to_string();
    let typo = run_in(
        Some(&dir),
        &[
            "certify",
            "--target",
            "reference",
            "--tags",
            "@req:sp-token-sig-01",
            "--reports",
            &reports,
        ],
    );
    typo.expect_code(2)
        .expect_stderr("nothing selected")
        .expect_stderr("did you mean @req:sp-token-sig-01 → @req:SP-TOKEN-SIG-01?");
    assert!(!typo.stdout.contains("CERTIFIED"), "{}", typo.describe());
    let nightly = run_in(
        Some(&dir),
        &[
            "run",
            "--no-policy",
            "--tags",
            "@nothing",
            "--reports",
            &reports,
        ],
    );
    nightly.expect_code(2).expect_stderr("nothing selected");
    let empty = dir.join("no-features");
    std::fs::create_dir_all(&empty).unwrap_or_else(|e| panic!("{e}"));
    let folder = run_in(
        Some(&dir),
        &[
            "certify",
            "--target",
            "reference",
            "--features",
            &empty.display().to_string(),
            "--reports",
            &reports,
        ],
    );
    folder
        .expect_code(2)
        .expect_stderr("nothing selected: no scenario in");
    assert!(
        !dir.join("reports").exists(),
        "a run that selected nothing wrote reports"
    );
}

#[test]
fn a_subset_that_passed_is_a_partial_run_not_a_certification() {
    let dir = scratch_dir("partial_run");
    let reports = dir.join("reports");
    let run = run_in(
        Some(&dir),
        &[
            "certify",
            "--target",
            "reference",
            "--tags",
            "@req:SP-TOKEN-SIG-01",
            "--reports",
            &reports.display().to_string(),
        ],
    );
    run.expect_code(0);
    let report = report_json(&reports, &run);
    let total = report["requirements"].as_array().map_or(0, Vec::len);
    let headline =
        format!("PARTIAL RUN: 1 of {total} requirements checked, all passed: not a certification");
    assert!(run.stdout.contains(&headline), "{}", run.describe());
    assert!(
        !run.stdout.lines().any(|l| l.starts_with("CERTIFIED")),
        "{}",
        run.describe()
    );
    assert_eq!(
        report["decision"]["kind"], "partial",
        "{}",
        report["decision"]
    );
    for name in ["report.md", "report.html", "junit.xml"] {
        let path = files_under(&reports)
            .into_iter()
            .find(|p| p.file_name().is_some_and(|n| n == name))
            .unwrap_or_else(|| panic!("no {name}"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.contains(&headline), "{name} lacks {headline:?}");
    }
}

#[test]
fn authorization_codes_never_reach_a_report() {
    let dir = scratch_dir("codes_redacted");
    let reports = dir.join("reports");
    // A flaw that fails: failure texts quote the login, the evidence every redirect.
    let run = run_in(
        Some(&dir),
        &[
            "certify",
            "--target",
            "reference",
            "--flaw",
            "accept-replayed-callback",
            "--tags",
            "@req:SP-LOGIN-01 or @req:SP-CODE-01 or @req:SP-STATE-01",
            "--reports",
            &reports.display().to_string(),
        ],
    );
    assert!(
        run.code == Some(1) || run.code == Some(0),
        "{}",
        run.describe()
    );
    let files = files_under(&reports);
    assert!(files.len() >= 6, "reports: {files:?}\n{}", run.describe());
    let mut codes_seen = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        for (at, _) in text.match_indices("code=") {
            let standalone = text[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
            if !standalone {
                continue;
            }
            codes_seen += 1;
            let value: String = text[at + 5..].chars().take(40).collect();
            assert!(
                value.starts_with("[redacted]"),
                "{} shows an authorization code: code={value}",
                path.display()
            );
        }
    }
    assert!(codes_seen > 0, "the reports show no callback at all");
}

#[test]
fn an_old_target_file_without_implements_is_refused() {
    let dir = scratch_dir("old_target_file");
    let old = "# written by an older mitid-lab\nservice_provider:\n  base_url: http://127.0.0.1:9\n  logout_path: /logout\n  backchannel_logout_path: /backchannel-logout\nclient:\n  client_id: shop\n  client_secret: 0123456789abcdef0123\n  redirect_uri: http://127.0.0.1:9/callback\n";
    std::fs::write(dir.join("old.yaml"), old).unwrap_or_else(|e| panic!("{e}"));
    let run = run_in(
        Some(&dir),
        &[
            "certify",
            "--target",
            "http://127.0.0.1:9",
            "--config",
            "old.yaml",
            "--reports",
            "reports",
        ],
    );
    run.expect_code(2)
        .expect_stderr("old.yaml:2: field `service_provider.implements`: missing")
        .expect_stderr(
            "implements: [rp_initiated_logout, backchannel_logout, step_up, business_logins]",
        );
    assert!(!dir.join("reports").exists(), "{}", run.describe());
}

/// Both back-channel requirements FAILED because the declared endpoint answered 404, and say so.
fn missing_endpoint_failed(run: &Run, reports: &Path, process: &ServiceProcess) {
    let report = report_json(reports, run);
    for id in ["SP-LOGOUT-BC-01", "SP-LOGOUT-BC-02"] {
        assert!(
            requirement_line(run, id).starts_with("FAILED"),
            "{}{}",
            run.describe(),
            process.output()
        );
        let scenario = report["scenarios"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| {
                s["requirements"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r == id))
            })
            .unwrap_or_else(|| panic!("no scenario for {id}"));
        let message = scenario["outcome"]["detail"].as_str().unwrap_or_default();
        assert!(
            message.contains("/no-such-endpoint") && message.contains("answered 404 Not Found"),
            "{id}: {message}"
        );
    }
}

#[test]
fn declared_parts_are_tested_undeclared_skipped_and_the_pre_flight_checks_the_contract() {
    let dir = scratch_dir("declared_parts");
    // Every optional part must be stated.
    run_in(
        Some(&dir),
        &["certify", "init", "--base-url", "http://127.0.0.1:9"],
    )
    .expect_code(2)
    .expect_stderr("--backchannel-logout or --no-backchannel-logout");
    let InitTarget { service, base_url } = init_full_target(&dir);
    let config = dir.join("target.yaml");
    let text = std::fs::read_to_string(&config).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        text.contains("implements: [rp_initiated_logout, backchannel_logout, step_up]"),
        "{text}"
    );
    // The service serves what its own copy of the file names; the lab reads edited copies.
    let mut process = ServiceProcess::start(&dir, &config, service);
    process.wait_ready(service);
    let certify = |name: &str, edited: String, tags: &str| {
        std::fs::write(dir.join(name), edited).unwrap_or_else(|e| panic!("{e}"));
        let reports = dir.join(format!("reports-{name}"));
        let run = run_in(
            Some(&dir),
            &[
                "certify",
                "--target",
                &base_url,
                "--config",
                name,
                "--tags",
                tags,
                "--reports",
                &reports.display().to_string(),
            ],
        );
        (run, reports)
    };

    // Undeclared back-channel logout: its requirements are SKIPPED (not implemented).
    let undeclared = text
        .replace(
            "implements: [rp_initiated_logout, backchannel_logout, step_up]",
            "implements: [rp_initiated_logout, step_up]",
        )
        .replace("  backchannel_logout_path: /backchannel-logout\n", "");
    let (run, _) = certify(
        "undeclared.yaml",
        undeclared,
        "@req:SP-LOGIN-01 or @needs:backchannel",
    );
    run.expect_code(0);
    for id in ["SP-LOGOUT-BC-01", "SP-LOGOUT-BC-02"] {
        let line = requirement_line(&run, id);
        assert!(
            line.starts_with("SKIPPED (not implemented)"),
            "{line}\n{}{}",
            run.describe(),
            process.output()
        );
    }

    // Declared, but the endpoint is not there: FAILED, saying so; nothing passes on a 404.
    let missing = text.replace(
        "backchannel_logout_path: /backchannel-logout",
        "backchannel_logout_path: /no-such-endpoint",
    );
    let (run, reports) = certify("missing.yaml", missing, "@needs:backchannel");
    run.expect_code(1);
    missing_endpoint_failed(&run, &reports, &process);

    // The service uses another client id than the file registers: the pre-flight stops the run
    // with one message before any scenario.
    let wrong = text.replace("client_id: mitid-lab-integrator", "client_id: someone-else");
    let (run, reports) = certify("wrong-client.yaml", wrong, "@req:SP-LOGIN-01");
    run.expect_code(2)
        .expect_stderr("pre-flight")
        .expect_stderr("client_id \"mitid-lab-integrator\", but the target file registers client.client_id \"someone-else\"");
    assert_eq!(
        run.stderr.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "{}",
        run.describe()
    );
    assert!(!reports.exists(), "{}", run.describe());
}

#[test]
fn a_report_shows_the_service_providers_calls_and_what_the_broker_served() {
    let dir = scratch_dir("broker_calls");
    let reports = dir.join("reports");
    let run = run_in(
        Some(&dir),
        &[
            "certify",
            "--target",
            "reference",
            "--flaw",
            "accept-alg-none",
            "--tags",
            "@req:SP-TOKEN-SIG-02",
            "--reports",
            &reports.display().to_string(),
        ],
    );
    run.expect_code(1);
    let report = report_json(&reports, &run);
    let scenario = report["scenarios"]
        .as_array()
        .and_then(|s| s.first())
        .unwrap_or_else(|| panic!("no scenario\n{}", run.describe()));
    let token_call = scenario["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| {
            e["actor"] == "service_provider"
                && e["url"].as_str().is_some_and(|u| u.ends_with("/token"))
        })
        .unwrap_or_else(|| {
            panic!(
                "the evidence has no token call of the service provider: {}",
                scenario["evidence"]
            )
        });
    let served = token_call["response_body"].as_str().unwrap_or_default();
    assert!(
        served.contains(r#"[JWT header {\"alg\":\"none\""#)
            && served.contains(r#""access_token":"[redacted]""#),
        "the token the broker served: {served}"
    );
    let message = scenario["outcome"]["detail"].as_str().unwrap_or_default();
    assert!(
        message.contains("The service provider's calls to the broker")
            && message.contains("POST ")
            && message.contains("/token -> 200")
            && !message.contains("Some("),
        "{message}"
    );
}
