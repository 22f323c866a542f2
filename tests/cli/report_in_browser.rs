//! The policy report renders in a real browser: headless Chromium (Debian's package) loads
//! report.html and each standalone chart, and the test reads back the DOM it built. Where
//! Chromium is not installed the test is skipped, except with `MITID_LAB_REQUIRE_CHROMIUM=1`
//! (CI, which installs it), where that is a failure.

use std::path::Path;
use std::process::Command;

use crate::harness::{run, scratch_dir};

const SCENARIO: &str = "\
kind: policy
name: browser
seed: 3
population:
  size: 3000
  start: 2022-01-01
  end: 2023-12-31
";

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|name| {
        Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success())
    })
}

/// The DOM Chromium builds from `file`, and its log.
fn dump_dom(browser: &str, file: &Path) -> (String, String) {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap_or_else(|err| panic!("cannot run {browser}: {err}"));
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{browser} failed on {}: {log}",
        file.display()
    );
    (String::from_utf8_lossy(&out.stdout).into_owned(), log)
}

#[test]
fn report_html_and_charts_render_in_headless_chromium() {
    let Some(browser) = chromium() else {
        let why = "Chromium is not installed (apt-get install chromium)";
        assert!(
            std::env::var_os("MITID_LAB_REQUIRE_CHROMIUM").is_none(),
            "MITID_LAB_REQUIRE_CHROMIUM is set but {why}"
        );
        eprintln!("skipped: {why}");
        return;
    };
    let dir = scratch_dir("report_in_browser");
    let scenario = dir.join("browser.yaml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let out = dir.join("run");
    run(&[
        "simulate",
        &scenario.display().to_string(),
        "--out",
        &out.display().to_string(),
    ])
    .expect_code(0);

    let (dom, log) = dump_dom(browser, &out.join("report.html"));
    // The page has no scripts: any console message is the browser objecting to the page.
    assert!(
        !log.contains("CONSOLE"),
        "the browser logged a console message:\n{log}"
    );
    assert_eq!(
        dom.matches("<svg").count(),
        6,
        "report.html should inline the six charts"
    );
    for text in [
        "Policy run: browser",
        "Adoption, citizens aged 15+",
        "Citizen Service: waits in days",
        "Municipalities with the longest Citizen Service waits",
        "Assumptions",
    ] {
        assert!(dom.contains(text), "the rendered page lacks {text:?}");
    }
    for chart in [
        "adoption.svg",
        "queues.svg",
        "waits.svg",
        "lockouts.svg",
        "age-bands.svg",
        "counters.svg",
    ] {
        let (dom, _) = dump_dom(browser, &out.join(chart));
        // A standalone SVG is parsed as XML; a malformed one renders a <parsererror>.
        assert!(
            dom.contains("<svg") && !dom.contains("parsererror"),
            "{chart} does not render as SVG:\n{}",
            &dom[..dom.len().min(600)]
        );
    }
}
