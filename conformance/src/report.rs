//! Report writers: JUnit XML (CI), JSON (machines), Markdown (a pull request comment) and a
//! self-contained HTML page with the evidence of every scenario.
//!
//! Every file is written to a temporary name in the run's directory and renamed into place, so a
//! crash never leaves a half-written report that CI would read as complete.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::evidence::Exchange;
use super::outcome::{RawOutcome, ScenarioResult, SuiteReport, Verdict};

/// File names inside `reports/<run>/`.
pub const JUNIT_FILE: &str = "junit.xml";
pub const JSON_FILE: &str = "report.json";
pub const MARKDOWN_FILE: &str = "report.md";
pub const HTML_FILE: &str = "report.html";

/// Writes `contents` to `dir/name` through a temporary file and a rename.
pub fn write_atomically(dir: &Path, name: &str, contents: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let final_path = dir.join(name);
    let temp_path = dir.join(format!(".{name}.tmp"));
    std::fs::write(&temp_path, contents)?;
    std::fs::rename(&temp_path, &final_path)?;
    Ok(final_path)
}

/// Writes all four reports; answers their paths.
pub fn write_all(report: &SuiteReport, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    Ok(vec![
        write_atomically(dir, JUNIT_FILE, junit(report).as_bytes())?,
        write_atomically(dir, JSON_FILE, json.as_bytes())?,
        write_atomically(dir, MARKDOWN_FILE, markdown(report).as_bytes())?,
        write_atomically(dir, HTML_FILE, html(report).as_bytes())?,
    ])
}

/// JUnit XML: one test case per scenario. FAILED is a `<failure>`; a WARNING passes (CI must not
/// go red on a SHOULD) but carries its message in `<system-out>`; SKIPPED is `<skipped>`.
#[must_use]
pub fn junit(report: &SuiteReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let mut features: Vec<&str> = report
        .scenarios
        .iter()
        .map(|s| s.feature.as_str())
        .collect();
    features.dedup();
    let _ = writeln!(
        out,
        "<testsuites name=\"mitid-lab certify {}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        xml(&report.target),
        report.scenarios.len(),
        report.scenario_counts.failed,
        report.scenario_counts.skipped,
        report.duration_ms as f64 / 1000.0
    );
    let mut seen = Vec::new();
    for scenario in &report.scenarios {
        if seen.contains(&scenario.feature) {
            continue;
        }
        seen.push(scenario.feature.clone());
        let cases: Vec<&ScenarioResult> = report
            .scenarios
            .iter()
            .filter(|s| s.feature == scenario.feature)
            .collect();
        let failures = cases
            .iter()
            .filter(|s| s.verdict == Verdict::Failed)
            .count();
        let skipped = cases
            .iter()
            .filter(|s| s.verdict == Verdict::Skipped)
            .count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
            xml(&scenario.feature),
            cases.len()
        );
        // The run's decision (CERTIFIED, PARTIAL RUN, NOT CERTIFIED) travels with every suite, so
        // a CI that reads only the JUnit file cannot take a partial run for a certification.
        let _ = writeln!(
            out,
            "    <properties><property name=\"mitid-lab.decision\" value=\"{}\"/></properties>",
            xml(&report.decision.headline())
        );
        for case in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">",
                xml(&case.feature),
                xml(&testcase_name(case)),
                case.duration_ms as f64 / 1000.0
            );
            match (&case.outcome, case.verdict) {
                (RawOutcome::Failed(message), Verdict::Failed) => {
                    let _ = write!(
                        out,
                        "<failure message=\"{}\">{}</failure>",
                        xml(first_line(message)),
                        xml(&failure_text(case, message))
                    );
                }
                (RawOutcome::Failed(message), _) => {
                    let _ = write!(
                        out,
                        "<system-out>WARNING (SHOULD not met): {}</system-out>",
                        xml(message)
                    );
                }
                (RawOutcome::Skipped(reason), _) => {
                    let _ = write!(out, "<skipped message=\"{}\"/>", xml(reason));
                }
                (RawOutcome::Passed, _) => {}
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// `name [REQ-1 REQ-2] (location)`; a journey or the policy run proves no requirement.
fn testcase_name(case: &ScenarioResult) -> String {
    if case.requirements.is_empty() {
        format!("{} ({})", case.name, case.location)
    } else {
        format!(
            "{} [{}] ({})",
            case.name,
            case.requirements.join(" "),
            case.location
        )
    }
}

fn failure_text(case: &ScenarioResult, message: &str) -> String {
    let mut text = format!("{message}\n\nHTTP exchanges of this scenario (secrets redacted):\n");
    for exchange in &case.evidence {
        let _ = writeln!(text, "  {}", exchange.line());
    }
    text
}

/// Markdown: the requirement table first (what an integrator fixes), then failed scenarios.
#[must_use]
pub fn markdown(report: &SuiteReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# mitid-lab certification: {}\n", report.target);
    let _ = writeln!(
        out,
        "Run `{}`{}.\n",
        report.run_id,
        report
            .tags
            .as_ref()
            .map(|t| format!(", tags `{t}`"))
            .unwrap_or_default()
    );
    let verdict = report.decision.headline();
    let rc = &report.requirement_counts;
    let _ = writeln!(
        out,
        "**{verdict}** Requirements: {} passed, {} failed, {} warnings, {} skipped. Scenarios: {} passed, {} failed, {} warnings, {} skipped.\n",
        rc.passed,
        rc.failed,
        rc.warning,
        rc.skipped,
        report.scenario_counts.passed,
        report.scenario_counts.failed,
        report.scenario_counts.warning,
        report.scenario_counts.skipped
    );
    out.push_str("| requirement | level | verdict | title |\n|---|---|---|---|\n");
    for requirement in &report.requirements {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            requirement.id,
            requirement.level.as_str(),
            requirement.verdict_text(),
            requirement.title.replace('|', "\\|")
        );
    }
    let outside: Vec<&ScenarioResult> = report
        .scenarios
        .iter()
        .filter(|s| s.requirements.is_empty())
        .collect();
    if !outside.is_empty() {
        out.push_str("\n## Citizen journeys and policy\n\n| verdict | feature | scenario | location |\n|---|---|---|---|\n");
        for scenario in outside {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                scenario.verdict.as_str(),
                scenario.feature.replace('|', "\\|"),
                scenario.name.replace('|', "\\|"),
                scenario.location
            );
        }
    }
    let problems: Vec<&ScenarioResult> = report
        .scenarios
        .iter()
        .filter(|s| matches!(s.verdict, Verdict::Failed | Verdict::Warning))
        .collect();
    if !problems.is_empty() {
        out.push_str("\n## Scenarios that did not pass\n");
        for scenario in problems {
            let message = match &scenario.outcome {
                RawOutcome::Failed(m) | RawOutcome::Skipped(m) => m.as_str(),
                RawOutcome::Passed => "",
            };
            let _ = writeln!(
                out,
                "\n### {} — {} ({})\n\n{}\n\n```text\n{}\n```",
                scenario.verdict.as_str(),
                scenario.name,
                scenario.location,
                scenario.requirements.join(", "),
                message
            );
        }
    }
    let skipped: Vec<&ScenarioResult> = report
        .scenarios
        .iter()
        .filter(|s| s.verdict == Verdict::Skipped)
        .collect();
    if !skipped.is_empty() {
        out.push_str("\n## Skipped scenarios\n\n");
        for scenario in skipped {
            if let RawOutcome::Skipped(reason) = &scenario.outcome {
                let _ = writeln!(out, "- {} ({}): {reason}", scenario.name, scenario.location);
            }
        }
    }
    out
}

/// A self-contained HTML page: summary bar, requirement table, and per scenario its verdict,
/// message and every HTTP exchange (collapsed). No scripts or external resources.
#[must_use]
pub fn html(report: &SuiteReport) -> String {
    let mut out = String::new();
    let rc = &report.requirement_counts;
    let total = (rc.passed + rc.failed + rc.warning + rc.skipped).max(1);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mitid-lab certification: {}</title>\n<style>\n\
         body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}table{{border-collapse:collapse;width:100%}}\n\
         td,th{{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}}\n\
         .PASSED{{background:#d9f2d9}}.FAILED{{background:#f8d0d0}}.WARNING{{background:#fbeec1}}.SKIPPED{{background:#e6e6e6}}\n\
         .bar{{display:flex;height:1.5rem;margin:1rem 0}}.bar div{{height:100%}}\n\
         pre{{white-space:pre-wrap;background:#f6f6f6;padding:.5rem;font-size:.85em}}details{{margin:.3rem 0}}\n\
         </style></head><body>\n<h1>mitid-lab certification: {}</h1>\n<p>Run <code>{}</code>{} — {} ms. <strong>{}</strong></p>\n",
        html_escape(&report.target),
        html_escape(&report.target),
        html_escape(&report.run_id),
        report
            .tags
            .as_ref()
            .map(|t| format!(", tags <code>{}</code>", html_escape(t)))
            .unwrap_or_default(),
        report.duration_ms,
        html_escape(&report.decision.headline())
    );
    out.push_str("<div class=\"bar\" role=\"img\" aria-label=\"requirement verdicts\">");
    for (count, class) in [
        (rc.passed, "PASSED"),
        (rc.warning, "WARNING"),
        (rc.failed, "FAILED"),
        (rc.skipped, "SKIPPED"),
    ] {
        if count > 0 {
            let _ = write!(
                out,
                "<div class=\"{class}\" style=\"width:{:.2}%\" title=\"{class}: {count}\"></div>",
                count as f64 * 100.0 / total as f64
            );
        }
    }
    let _ = writeln!(
        out,
        "</div>\n<p>Requirements: {} passed, {} failed, {} warnings, {} skipped.</p>",
        rc.passed, rc.failed, rc.warning, rc.skipped
    );
    out.push_str("<h2>Requirements</h2>\n<table><tr><th>id</th><th>level</th><th>verdict</th><th>title</th><th>scenarios</th></tr>\n");
    for requirement in &report.requirements {
        let _ = writeln!(
            out,
            "<tr class=\"{v}\"><td><a href=\"#{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            requirement.level.as_str(),
            requirement.verdict_text(),
            html_escape(&requirement.title),
            html_escape(&requirement.scenarios.join(", ")),
            v = requirement.verdict.as_str(),
            id = html_escape(&requirement.id),
        );
    }
    out.push_str("</table>\n<h2>Scenarios</h2>\n");
    for scenario in &report.scenarios {
        let anchor = scenario
            .requirements
            .first()
            .map(|r| format!(" id=\"{}\"", html_escape(r)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<section{anchor}><h3 class=\"{v}\">{v} — {} <small>({}; {})</small></h3>",
            html_escape(&scenario.name),
            html_escape(&scenario.location),
            html_escape(&scenario.requirements.join(", ")),
            v = scenario.verdict.as_str()
        );
        match &scenario.outcome {
            RawOutcome::Failed(message) | RawOutcome::Skipped(message) => {
                let _ = writeln!(out, "<pre>{}</pre>", html_escape(message));
            }
            RawOutcome::Passed => {}
        }
        let _ = writeln!(
            out,
            "<details><summary>{} HTTP exchanges (secrets redacted)</summary>",
            scenario.evidence.len()
        );
        for exchange in &scenario.evidence {
            out.push_str(&exchange_html(exchange));
        }
        out.push_str("</details></section>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn exchange_html(exchange: &Exchange) -> String {
    let mut text = format!("{:?}: {}\n", exchange.actor, exchange.line());
    for (name, value) in &exchange.request_headers {
        let _ = writeln!(text, "> {name}: {value}");
    }
    if let Some(body) = &exchange.request_body {
        let _ = writeln!(text, "> {body}");
    }
    for (name, value) in &exchange.response_headers {
        let _ = writeln!(text, "< {name}: {value}");
    }
    if let Some(body) = &exchange.response_body {
        let _ = writeln!(text, "< {body}");
    }
    format!("<pre>{}</pre>\n", html_escape(&text))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Escapes text for XML attributes and content.
#[must_use]
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even escaped.
            c if c.is_control() && c != '\n' && c != '\t' && c != '\r' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

fn html_escape(text: &str) -> String {
    xml(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use crate::outcome::{ScenarioResult, SuiteReport};

    #[test]
    fn reports_escape_markup_and_mark_failures() {
        let scenario = ScenarioResult {
            feature: "Tokens <&>".into(),
            location: "t.feature:3".into(),
            name: "alg \"none\"".into(),
            tags: vec![],
            requirements: vec!["SP-TOKEN-SIG-02".into()],
            outcome: RawOutcome::Failed("a session exists for <sub>".into()),
            verdict: Verdict::Passed,
            duration_ms: 5,
            evidence: vec![],
            not_implemented: None,
        };
        let report = SuiteReport::build(
            "r1".into(),
            "ref".into(),
            None,
            10,
            &Catalogue::embedded(),
            vec![scenario],
        );
        let xml_text = junit(&report);
        assert!(
            xml_text.contains("<failure message=\"a session exists for &lt;sub&gt;\""),
            "{xml_text}"
        );
        assert!(xml_text.contains("Tokens &lt;&amp;&gt;"), "{xml_text}");
        let page = html(&report);
        assert!(
            page.contains("FAILED — alg &quot;none&quot;") && !page.contains("<sub>"),
            "{page}"
        );
        assert!(markdown(&report).contains("| SP-TOKEN-SIG-02 | MUST | FAILED |"));
        let dir =
            std::env::temp_dir().join(format!("mitid-lab-report-test-{}", std::process::id()));
        let paths = write_all(&report, &dir).unwrap();
        assert_eq!(paths.len(), 4);
        assert!(
            std::fs::read_dir(&dir).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_policy_run_fails_the_run_in_every_report() {
        let catalogue = Catalogue::embedded();
        let mut report = SuiteReport::build(
            "r2".into(),
            "reference".into(),
            None,
            10,
            &catalogue,
            vec![],
        );
        assert!(report.all_musts_passed());
        report.add_outside_catalogue(
            &catalogue,
            ScenarioResult {
                feature: "Policy scenario".into(),
                location: "scenarios/x.yaml".into(),
                name: "x at population 10".into(),
                tags: vec!["policy".into()],
                requirements: vec![],
                outcome: RawOutcome::Failed("the policy run failed: boom".into()),
                verdict: Verdict::Passed,
                duration_ms: 1,
                evidence: vec![],
                not_implemented: None,
            },
        );
        assert!(!report.all_musts_passed());
        assert_eq!(report.scenario_counts.failed, 1);
        let xml_text = junit(&report);
        assert!(xml_text.contains("failures=\"1\""), "{xml_text}");
        assert!(
            xml_text.contains(
                "<testcase classname=\"Policy scenario\" name=\"x at population 10 (scenarios/x.yaml)\""
            ),
            "{xml_text}"
        );
        assert!(
            xml_text.contains("<failure message=\"the policy run failed: boom\""),
            "{xml_text}"
        );
        let text = markdown(&report);
        assert!(
            text.contains("| FAILED | Policy scenario | x at population 10 | scenarios/x.yaml |"),
            "{text}"
        );
        assert!(html(&report).contains("FAILED — x at population 10"));
    }
}
