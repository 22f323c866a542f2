//! A policy run at small population writes every report file; runs are deterministic per seed;
//! `compare` draws two runs in one chart.

use std::path::{Path, PathBuf};

use crate::harness::{Run, run, scratch_dir};

/// A short period around the `NemID` shutdown keeps the test fast; the full calendar applies.
const SCENARIO: &str = "\
kind: policy
name: cli-policy
seed: 11
population:
  size: 100000
  start: 2023-05-01
  end: 2023-11-30
";

const REQUIRED_COLUMNS: [&str; 12] = [
    "date",
    "mitid_users",
    "mitid_users_15plus",
    "nemid_only",
    "without_eid",
    "population_15plus",
    "citizen_service_queue",
    "citizen_service_mean_wait_days",
    "support_calls",
    "support_mean_wait_minutes",
    "failed_logins",
    "lockouts",
];

fn simulate(dir: &Path, out: &str, extra: &[&str]) -> (Run, PathBuf) {
    let scenario = dir.join("policy.yaml");
    if !scenario.exists() {
        std::fs::write(&scenario, SCENARIO).unwrap();
    }
    let out = dir.join(out);
    let scenario_arg = scenario.display().to_string();
    let out_arg = out.display().to_string();
    let mut args = vec![
        "simulate",
        &scenario_arg,
        "--population",
        "2000",
        "--out",
        &out_arg,
    ];
    args.extend_from_slice(extra);
    let result = run(&args);
    result.expect_code(0);
    (result, out)
}

/// The per-band columns behind the age-band shares: the bands' residents add up to the
/// population, and no band has more MitID users or citizens without eID than residents.
fn check_age_band_columns(csv: &str, header: &[&str]) {
    let last: Vec<&str> = csv.lines().last().unwrap().split(',').collect();
    let cell = |name: &str| -> u64 {
        let at = header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("timeseries.csv lacks {name}: {header:?}"));
        last[at].parse().unwrap()
    };
    let bands: Vec<&str> = header
        .iter()
        .filter_map(|h| h.strip_prefix("population_age_"))
        .collect();
    assert!(
        bands.len() >= 2,
        "no per-band population columns: {header:?}"
    );
    let residents: u64 = bands
        .iter()
        .map(|b| cell(&format!("population_age_{b}")))
        .sum();
    assert_eq!(residents, 2000, "bands do not add up to the population");
    for band in &bands {
        let population = cell(&format!("population_age_{band}"));
        assert!(
            cell(&format!("mitid_users_age_{band}")) <= population,
            "{band}"
        );
        assert!(
            cell(&format!("without_eid_age_{band}")) <= population,
            "{band}"
        );
    }
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

#[test]
fn policy_run_writes_every_report_file() {
    let dir = scratch_dir("policy_run_files");
    let (result, out) = simulate(&dir, "run", &[]);
    for file in [
        "summary.json",
        "timing.json",
        "timeseries.csv",
        "municipalities.csv",
        "report.md",
        "report.html",
        "adoption.svg",
        "queues.svg",
        "waits.svg",
        "lockouts.svg",
        "age-bands.svg",
    ] {
        assert!(
            out.join(file).is_file(),
            "{file} missing\n{}",
            result.describe()
        );
    }

    let summary: serde_json::Value =
        serde_json::from_str(&read(&out.join("summary.json"), &result)).unwrap();
    let context = format!("summary.json: {summary:#}\n{}", result.describe());
    assert_eq!(summary["scenario"], "cli-policy", "{context}");
    assert_eq!(summary["seed"], 11, "{context}");
    assert_eq!(summary["population"], 2000, "{context}");
    assert_eq!(summary["period"]["start"], "2023-05-01", "{context}");
    assert_eq!(summary["period"]["end"], "2023-11-30", "{context}");
    assert_eq!(summary["period"]["days"], 214, "{context}");
    assert!(
        summary["event_count"].as_u64().is_some_and(|n| n > 0),
        "{context}"
    );
    let milestones = summary["milestones"].as_array().expect("milestones");
    let shutdown = milestones
        .iter()
        .find(|m| m["date"] == "2023-10-31")
        .unwrap_or_else(|| panic!("no milestone on the shutdown date\n{context}"));
    for column in &REQUIRED_COLUMNS[1..] {
        // A mean over the day's served cases or answered calls is null on a day with none.
        let figure = &shutdown["figures"][column];
        let is_mean = column.contains("mean_wait");
        assert!(
            figure.is_number() || (is_mean && figure.is_null()),
            "shutdown lacks {column}\n{context}"
        );
        assert!(
            summary["peaks"][column]["date"].is_string(),
            "no peak of {column}\n{context}"
        );
    }
    assert!(
        summary.get("wall_seconds").is_none(),
        "wall time in summary.json\n{context}"
    );

    let timing: serde_json::Value =
        serde_json::from_str(&read(&out.join("timing.json"), &result)).unwrap();
    for key in ["wall_seconds", "simulate_seconds", "events_per_second"] {
        assert!(
            timing[key].is_number(),
            "timing.json lacks {key}: {timing:#}"
        );
    }

    let csv = read(&out.join("timeseries.csv"), &result);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for column in REQUIRED_COLUMNS {
        assert!(
            header.contains(&column),
            "timeseries.csv lacks {column}: {header:?}"
        );
    }
    assert_eq!(
        csv.lines().count(),
        1 + 214,
        "one row per day expected\n{csv}"
    );
    assert!(
        csv.lines().nth(1).unwrap().starts_with("2023-05-01,"),
        "{csv}"
    );
    check_age_band_columns(&csv, &header);

    let html = read(&out.join("report.html"), &result);
    assert!(
        html.matches("<svg").count() >= 4,
        "report.html should inline four charts"
    );
    assert!(
        !html.contains("src=\"adoption.svg\""),
        "report.html must not link its charts"
    );
    let adoption = read(&out.join("adoption.svg"), &result);
    assert!(
        adoption.contains("<text") && adoption.contains("MitID users 15+"),
        "chart text missing"
    );
    let markdown = read(&out.join("report.md"), &result);
    assert!(
        markdown.contains("2023-10-31") && markdown.contains("adoption.svg"),
        "{markdown}"
    );
}

#[test]
fn same_seed_same_summary_other_seed_other_summary() {
    let dir = scratch_dir("policy_determinism");
    let (first, a) = simulate(&dir, "a", &["--seed", "5"]);
    let (second, b) = simulate(&dir, "b", &["--seed", "5"]);
    let (third, c) = simulate(&dir, "c", &["--seed", "6"]);
    let summary_a = std::fs::read(a.join("summary.json")).unwrap();
    let summary_b = std::fs::read(b.join("summary.json")).unwrap();
    let summary_c = std::fs::read(c.join("summary.json")).unwrap();
    assert!(
        summary_a == summary_b,
        "same seed, different summary.json\n{}\n{}",
        first.describe(),
        second.describe()
    );
    assert!(
        summary_a != summary_c,
        "seeds 5 and 6 gave the same summary.json\n{}",
        third.describe()
    );
    let timeseries_a = std::fs::read(a.join("timeseries.csv")).unwrap();
    let timeseries_b = std::fs::read(b.join("timeseries.csv")).unwrap();
    assert!(
        timeseries_a == timeseries_b,
        "same seed, different timeseries.csv"
    );
}

#[test]
fn what_if_compare_draws_both_runs() {
    let dir = scratch_dir("policy_compare");
    let (_, baseline) = simulate(&dir, "baseline", &[]);
    let (_, later) = simulate(
        &dir,
        "later",
        &["--set", "calendar.nemid_shutdown=2023-11-20"],
    );
    let later_summary = std::fs::read_to_string(later.join("summary.json")).unwrap();
    assert!(
        later_summary.contains("2023-11-20"),
        "the override did not reach the run"
    );
    let chart = dir.join("compare.svg");
    let args = [
        "compare",
        &baseline.display().to_string(),
        &later.display().to_string(),
        "--out",
        &chart.display().to_string(),
    ]
    .map(String::from);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = run(&args);
    result.expect_code(0);
    let svg = read(&chart, &result);
    assert!(
        svg.contains("baseline: baseline") && svg.contains("what-if: later"),
        "legend missing"
    );
    assert!(
        svg.contains("What-if minus baseline, zoomed on the days they differ")
            && svg.contains("NemID shutdown (what-if only)"),
        "no difference panel, or the moved milestone is not named for its run"
    );
    assert!(
        result.stdout.contains("2023-11-20"),
        "the what-if's milestone is not listed\n{}",
        result.describe()
    );

    // A file the lab did not write is never replaced; its own chart is.
    let mine = dir.join("mine.svg");
    std::fs::write(&mine, "<svg>my own drawing</svg>").unwrap();
    let compare_to = |out: &Path| {
        run(&[
            "compare",
            &baseline.display().to_string(),
            &later.display().to_string(),
            "--out",
            &out.display().to_string(),
        ])
    };
    compare_to(&mine)
        .expect_code(2)
        .expect_stderr(&mine.display().to_string());
    assert_eq!(
        std::fs::read_to_string(&mine).unwrap(),
        "<svg>my own drawing</svg>"
    );
    compare_to(&chart).expect_code(0);

    let missing = dir.join("nowhere").display().to_string();
    let bad = run(&[
        "compare",
        &missing,
        &later.display().to_string(),
        "--out",
        &chart.display().to_string(),
    ]);
    bad.expect_code(2).expect_stderr("timeseries.csv");
}

#[test]
fn summary_and_report_say_what_made_the_run() {
    let dir = scratch_dir("policy_provenance");
    let set = "capacities.citizen_service.book_in_region_after_days=null";
    let (result, out) = simulate(&dir, "run", &["--set", set, "--seed", "9"]);
    let summary: serde_json::Value =
        serde_json::from_str(&read(&out.join("summary.json"), &result)).unwrap();
    let provenance = &summary["provenance"];
    let scenario = dir.join("policy.yaml");
    let scenario_arg = scenario.display().to_string();
    assert_eq!(
        provenance["scenario_file"],
        scenario_arg.as_str(),
        "{summary:#}"
    );
    assert_eq!(provenance["sets"], serde_json::json!([set]), "{summary:#}");
    assert_eq!(provenance["population_override"], 2000, "{summary:#}");
    assert_eq!(provenance["seed_override"], 9, "{summary:#}");
    assert_eq!(provenance["seed"], 9, "{summary:#}");
    assert_eq!(
        provenance["lab_version"],
        env!("CARGO_PKG_VERSION"),
        "{summary:#}"
    );
    assert_eq!(
        provenance["command"],
        format!("mitid-lab simulate {scenario_arg} --set {set} --population 2000 --seed 9")
            .as_str(),
        "{summary:#}"
    );
    // sha256 of the scenario text, as `sha256sum` prints it for the same bytes.
    let hash = provenance["scenario_sha256"].as_str().unwrap_or_default();
    assert_eq!(hash.len(), 64, "{summary:#}");
    assert_ne!(
        hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "the hash of no bytes"
    );
    let markdown = read(&out.join("report.md"), &result);
    let first_line = markdown.lines().next().unwrap_or_default();
    assert!(
        first_line.contains("what-if") && first_line.contains(set),
        "the report's first line does not say what the what-if changed: {first_line}"
    );
    assert!(
        markdown.contains(hash),
        "the report lacks the scenario's hash"
    );
}

#[test]
fn compare_refuses_runs_that_differ_in_more_than_the_what_if() {
    let dir = scratch_dir("policy_compare_basis");
    let (_, five) = simulate(&dir, "five", &["--seed", "5"]);
    let (_, six) = simulate(&dir, "six", &["--seed", "6"]);
    let chart = dir.join("c.svg").display().to_string();
    let (five, six) = (five.display().to_string(), six.display().to_string());
    let refused = run(&["compare", &five, &six, "--out", &chart]);
    refused.expect_code(2).expect_stderr("seed: 5 vs 6");
    assert!(
        !dir.join("c.svg").exists(),
        "a refused comparison wrote a chart"
    );
    run(&[
        "compare",
        &five,
        &six,
        "--out",
        &chart,
        "--allow-different-runs",
    ])
    .expect_code(0)
    .expect_stderr("warning");

    // Neither SVG nor PNG: refused before anything is written.
    let pdf = dir.join("c.pdf");
    run(&["compare", &five, &five, "--out", &pdf.display().to_string()])
        .expect_code(2)
        .expect_stderr(".png");
    assert!(!pdf.exists(), "something was written to the .pdf");

    // A .png is a PNG (never SVG text), and the lab replaces its own PNG but no one else's.
    let png = dir.join("c.png");
    let png_arg = png.display().to_string();
    run(&["compare", &five, &five, "--out", &png_arg]).expect_code(0);
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && !bytes.windows(4).any(|w| w == b"<svg"),
        "c.png is not a PNG"
    );
    run(&["compare", &five, &five, "--out", &png_arg]).expect_code(0);
    let photo = dir.join("photo.png");
    std::fs::write(&photo, b"\x89PNG\r\n\x1a\nsomeone's photo").unwrap();
    run(&[
        "compare",
        &five,
        &five,
        "--out",
        &photo.display().to_string(),
    ])
    .expect_code(2)
    .expect_stderr("photo.png");
    assert_eq!(
        std::fs::read(&photo).unwrap(),
        b"\x89PNG\r\n\x1a\nsomeone's photo"
    );

    // A queue scenario's report is recognised as such.
    let queue_out = dir.join("queue").display().to_string();
    let queue = crate::harness::project_file("scenarios/queue-deterministic.yaml");
    run(&["simulate", &queue, "--out", &queue_out]).expect_code(0);
    run(&["compare", &five, &queue_out, "--out", &chart])
        .expect_code(2)
        .expect_stderr("queue");
}

/// The README's what-if section shows `docs/whatif-nemid-shutdown.svg` as what its three
/// commands make; this runs them and compares the chart byte for byte, so the two cannot drift.
#[test]
fn readme_what_if_picture_is_what_its_commands_make() {
    let dir = scratch_dir("readme_what_if");
    let scenario = crate::harness::project_file("scenarios/demo-100k.yaml");
    let baseline = dir.join("reports/baseline").display().to_string();
    let later = dir.join("reports/shutdown-dec").display().to_string();
    run(&["simulate", &scenario, "--out", &baseline]).expect_code(0);
    run(&[
        "simulate",
        &scenario,
        "--set",
        "calendar.nemid_shutdown=2023-12-31",
        "--out",
        &later,
    ])
    .expect_code(0);
    let chart = dir.join("whatif.svg");
    let result = run(&[
        "compare",
        &baseline,
        &later,
        "--out",
        &chart.display().to_string(),
    ]);
    result.expect_code(0);
    let made = read(&chart, &result);
    let committed = read(
        Path::new(&crate::harness::project_file(
            "docs/whatif-nemid-shutdown.svg",
        )),
        &result,
    );
    assert!(
        made == committed,
        "docs/whatif-nemid-shutdown.svg is not what the README's commands make now; re-make it with \
         them (see README, \"A policy what-if, end to end\")"
    );
    let readme = std::fs::read_to_string(crate::harness::project_file("README.md")).unwrap();
    for line in result
        .stdout
        .lines()
        .filter(|l| l.contains("2023-10-31") && l.contains("without_eid"))
    {
        let cells: Vec<&str> = line.split_whitespace().collect();
        let (base, what_if) = (cells[cells.len() - 2], cells[cells.len() - 1]);
        assert!(
            readme.contains(&format!("({what_if} against {base})")),
            "the README's sentence about 31 October 2023 does not quote {what_if} against {base}"
        );
    }
}

#[test]
fn rerun_replaces_the_report_folder_whole() {
    let dir = scratch_dir("policy_rerun");
    let (_, out) = simulate(&dir, "run", &[]);
    assert!(out.join("timeseries.csv").is_file());
    // A queue scenario's report has no daily table: the policy run's files must go, not merge.
    let queue = crate::harness::project_file("scenarios/queue-deterministic.yaml");
    let result = run(&["simulate", &queue, "--out", &out.display().to_string()]);
    result.expect_code(0);
    assert!(
        !out.join("timeseries.csv").exists(),
        "the old folder was merged, not replaced\n{}",
        result.describe()
    );
    assert!(out.join("summary.json").is_file());
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "policy.yaml")
        .collect();
    assert_eq!(names, ["run"], "temporary folders left");
}

#[test]
fn png_flag_writes_every_chart_as_a_png_beside_its_svg() {
    let dir = scratch_dir("policy_png");
    let (result, out) = simulate(&dir, "report", &["--png"]);
    let charts: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "svg"))
        .collect();
    assert!(charts.len() >= 5, "too few charts\n{}", result.describe());
    for svg in charts {
        let png = svg.with_extension("png");
        let bytes = std::fs::read(&png)
            .unwrap_or_else(|err| panic!("{}: {err}\n{}", png.display(), result.describe()));
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", png.display());
        // IHDR: width then height, big-endian, right after the signature and chunk header.
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let svg_text = read(&svg, &result);
        let svg_width: u32 = svg_text
            .split("width=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("{} has no width", svg.display()));
        assert_eq!(
            width,
            2 * svg_width,
            "{} is not drawn at twice the SVG's size",
            png.display()
        );
    }
}
