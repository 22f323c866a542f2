//! Report writers: JUnit XML (CI), JSON (machines), Markdown (a pull request comment) and a
//! self-contained HTML page with the evidence of every scenario.
//!
//! Every file is written to a temporary name in the run's directory and renamed into place, so a
//! crash never leaves a half-written report that CI would read as complete.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use maud::{DOCTYPE, PreEscaped, html};
use quick_xml::Writer;
use quick_xml::events::BytesText;

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
///
/// Built with `quick-xml`'s writer, which escapes every attribute and text node; only the control
/// characters XML 1.0 forbids even escaped are replaced first (see [`xml_safe`]).
#[must_use]
pub fn junit(report: &SuiteReport) -> String {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    junit_into(&mut writer, report).expect("writing XML into memory cannot fail");
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&String::from_utf8(writer.into_inner()).expect("the writer was given only UTF-8"));
    out.push('\n');
    out
}

fn junit_into(writer: &mut Writer<Vec<u8>>, report: &SuiteReport) -> std::io::Result<()> {
    let mut features: Vec<&str> = Vec::new();
    for scenario in &report.scenarios {
        if !features.contains(&scenario.feature.as_str()) {
            features.push(&scenario.feature);
        }
    }
    // The run's decision (CERTIFIED, PARTIAL RUN, NOT CERTIFIED) travels with every suite, so a
    // CI that reads only the JUnit file cannot take a partial run for a certification.
    let decision = xml_safe(&report.decision.headline());
    writer
        .create_element("testsuites")
        .with_attribute((
            "name",
            xml_safe(&format!("mitid-lab certify {}", report.target)).as_str(),
        ))
        .with_attribute(("tests", report.scenarios.len().to_string().as_str()))
        .with_attribute((
            "failures",
            report.scenario_counts.failed.to_string().as_str(),
        ))
        .with_attribute((
            "skipped",
            report.scenario_counts.skipped.to_string().as_str(),
        ))
        .with_attribute(("time", seconds(report.duration_ms).as_str()))
        .write_inner_content(|writer| {
            for feature in &features {
                let cases: Vec<&ScenarioResult> = report
                    .scenarios
                    .iter()
                    .filter(|s| s.feature == *feature)
                    .collect();
                let count = |verdict| cases.iter().filter(|s| s.verdict == verdict).count();
                writer
                    .create_element("testsuite")
                    .with_attribute(("name", xml_safe(feature).as_str()))
                    .with_attribute(("tests", cases.len().to_string().as_str()))
                    .with_attribute(("failures", count(Verdict::Failed).to_string().as_str()))
                    .with_attribute(("skipped", count(Verdict::Skipped).to_string().as_str()))
                    .write_inner_content(|writer| {
                        writer
                            .create_element("properties")
                            .write_inner_content(|writer| {
                                writer
                                    .create_element("property")
                                    .with_attribute(("name", "mitid-lab.decision"))
                                    .with_attribute(("value", decision.as_str()))
                                    .write_empty()
                                    .map(|_| ())
                            })?;
                        for case in &cases {
                            junit_case(writer, case)?;
                        }
                        Ok(())
                    })?;
            }
            Ok(())
        })?;
    Ok(())
}

fn junit_case(writer: &mut Writer<Vec<u8>>, case: &ScenarioResult) -> std::io::Result<()> {
    let element = writer
        .create_element("testcase")
        .with_attribute(("classname", xml_safe(&case.feature).as_str()))
        .with_attribute(("name", xml_safe(&testcase_name(case)).as_str()))
        .with_attribute(("time", seconds(case.duration_ms).as_str()));
    match (&case.outcome, case.verdict) {
        (RawOutcome::Failed(message), Verdict::Failed) => {
            element.write_inner_content(|writer| {
                writer
                    .create_element("failure")
                    .with_attribute(("message", xml_safe(first_line(message)).as_str()))
                    .write_text_content(BytesText::new(&xml_safe(&failure_text(case, message))))
                    .map(|_| ())
            })?;
        }
        (RawOutcome::Failed(message), _) => {
            element.write_inner_content(|writer| {
                writer
                    .create_element("system-out")
                    .write_text_content(BytesText::new(&xml_safe(&format!(
                        "WARNING (SHOULD not met): {message}"
                    ))))
                    .map(|_| ())
            })?;
        }
        (RawOutcome::Skipped(reason), _) => {
            element.write_inner_content(|writer| {
                writer
                    .create_element("skipped")
                    .with_attribute(("message", xml_safe(reason).as_str()))
                    .write_empty()
                    .map(|_| ())
            })?;
        }
        (RawOutcome::Passed, _) => {
            element.write_empty()?;
        }
    }
    Ok(())
}

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
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

/// The report page's style sheet: inline, so the page is one self-contained file.
const REPORT_CSS: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}\
table{border-collapse:collapse;width:100%}\
td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}\
.PASSED{background:#d9f2d9}.FAILED{background:#f8d0d0}.WARNING{background:#fbeec1}.SKIPPED{background:#e6e6e6}\
.bar{display:flex;height:1.5rem;margin:1rem 0}.bar div{height:100%}\
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem;font-size:.85em}details{margin:.3rem 0}";

/// A self-contained HTML page: summary bar, requirement table, and per scenario its verdict,
/// message and every HTTP exchange (collapsed). No scripts or external resources. The `maud`
/// template escapes every interpolated text.
#[must_use]
pub fn html(report: &SuiteReport) -> String {
    let rc = &report.requirement_counts;
    let total = (rc.passed + rc.failed + rc.warning + rc.skipped).max(1);
    let bar = [
        (rc.passed, "PASSED"),
        (rc.warning, "WARNING"),
        (rc.failed, "FAILED"),
        (rc.skipped, "SKIPPED"),
    ];
    let title = format!("mitid-lab certification: {}", report.target);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) }
                style { (PreEscaped(REPORT_CSS)) }
            }
            body {
                h1 { (title) }
                p {
                    "Run " code { (report.run_id) }
                    @if let Some(tags) = &report.tags { ", tags " code { (tags) } }
                    " — " (report.duration_ms) " ms. "
                    strong { (report.decision.headline()) }
                }
                div class="bar" role="img" aria-label="requirement verdicts" {
                    @for (count, class) in bar {
                        @if count > 0 {
                            div class=(class)
                                style={ "width:" (format!("{:.2}", count as f64 * 100.0 / total as f64)) "%" }
                                title={ (class) ": " (count) } {}
                        }
                    }
                }
                p {
                    "Requirements: " (rc.passed) " passed, " (rc.failed) " failed, "
                    (rc.warning) " warnings, " (rc.skipped) " skipped."
                }
                h2 { "Requirements" }
                table {
                    tr { th { "id" } th { "level" } th { "verdict" } th { "title" } th { "scenarios" } }
                    @for requirement in &report.requirements {
                        tr class=(requirement.verdict.as_str()) {
                            td { a href={ "#" (requirement.id) } { (requirement.id) } }
                            td { (requirement.level.as_str()) }
                            td { (requirement.verdict_text()) }
                            td { (requirement.title) }
                            td { (requirement.scenarios.join(", ")) }
                        }
                    }
                }
                h2 { "Scenarios" }
                @for scenario in &report.scenarios {
                    section id=[scenario.requirements.first()] {
                        h3 class=(scenario.verdict.as_str()) {
                            (scenario.verdict.as_str()) " — " (scenario.name) " "
                            small { "(" (scenario.location) "; " (scenario.requirements.join(", ")) ")" }
                        }
                        @match &scenario.outcome {
                            RawOutcome::Failed(message) | RawOutcome::Skipped(message) => pre { (message) },
                            RawOutcome::Passed => {},
                        }
                        details {
                            summary { (scenario.evidence.len()) " HTTP exchanges (secrets redacted)" }
                            @for exchange in &scenario.evidence {
                                pre { (exchange_text(exchange)) }
                            }
                        }
                    }
                }
            }
        }
    };
    let mut out = page.into_string();
    out.push('\n');
    out
}

/// One exchange as the page shows it: the request line, then `>` request and `<` response lines.
fn exchange_text(exchange: &Exchange) -> String {
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
    text
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Replaces the control characters XML 1.0 forbids even when escaped (all but tab, line feed and
/// carriage return); escaping itself is the XML writer's job.
fn xml_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\n' | '\t' | '\r') {
                '?'
            } else {
                c
            }
        })
        .collect()
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

    /// Reads the JUnit text with an XML parser: every element closes, and the attribute values
    /// read back are the scenario's own text, markup characters included.
    #[test]
    fn junit_is_well_formed_xml_whatever_the_names_contain() {
        use quick_xml::events::Event;
        let tricky = "a <b> & \"c\" 'd' \u{1}";
        let scenario = |verdict, outcome| ScenarioResult {
            feature: format!("Feature {tricky}"),
            location: "t.feature:1".into(),
            name: format!("Scenario {tricky}"),
            tags: vec![],
            requirements: vec![],
            outcome,
            verdict,
            duration_ms: 1,
            evidence: vec![],
            not_implemented: None,
        };
        let mut report = SuiteReport::build(
            "r3".into(),
            format!("target {tricky}"),
            None,
            10,
            &Catalogue::embedded(),
            vec![],
        );
        for (verdict, outcome) in [
            (
                Verdict::Failed,
                RawOutcome::Failed(format!("failed {tricky}\nmore")),
            ),
            (
                Verdict::Skipped,
                RawOutcome::Skipped(format!("skipped {tricky}")),
            ),
            (Verdict::Passed, RawOutcome::Passed),
        ] {
            report.add_outside_catalogue(&Catalogue::embedded(), scenario(verdict, outcome));
        }
        let text = junit(&report);
        let mut reader = quick_xml::Reader::from_str(&text);
        reader.config_mut().check_end_names = true;
        let (mut depth, mut names, mut failure_messages) = (0_i32, Vec::new(), Vec::new());
        loop {
            let element = match reader.read_event() {
                Ok(Event::Start(e)) => {
                    depth += 1;
                    e
                }
                Ok(Event::Empty(e)) => e,
                Ok(Event::End(_)) => {
                    depth -= 1;
                    continue;
                }
                Ok(Event::Eof) => break,
                Ok(_) => continue,
                Err(error) => panic!(
                    "not well-formed at {}: {error}\n{text}",
                    reader.buffer_position()
                ),
            };
            for attribute in element.attributes() {
                let attribute = attribute.expect("well-formed attribute");
                let value = attribute
                    .normalized_value(quick_xml::XmlVersion::default())
                    .expect("valid escapes")
                    .into_owned();
                match (element.name().as_ref(), attribute.key.as_ref()) {
                    (b"testcase", b"name") => names.push(value),
                    (b"failure", b"message") => failure_messages.push(value),
                    _ => {}
                }
            }
        }
        assert_eq!(depth, 0, "every element closes: {text}");
        assert_eq!(names.len(), 3, "{text}");
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("Scenario a <b> & \"c\" 'd' ?")),
            "{names:?}"
        );
        assert_eq!(
            failure_messages,
            vec!["failed a <b> & \"c\" 'd' ?".to_owned()]
        );
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
