//! `mitid-lab compare BASELINE_DIR WHAT_IF_DIR --out FILE.svg`: one chart of two runs.
//!
//! A what-if is two `simulate` runs of the same scenario, one with an override. This reads
//! both report folders (their `timeseries.csv` and `summary.json`), draws the figures a planner
//! compares (`MitID` adoption, citizens left without a working eID, the Citizen Service queue and
//! failed logins) for both runs on one date axis, and prints the differences on each milestone.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use serde_json::Value;

use super::charts::{Marker, PALETTE, Panel, Series, human, line_chart, readable_milestone};
use super::table::DailyTable;
use crate::cli::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Report folder of the baseline run (written by `mitid-lab simulate`).
    pub baseline: PathBuf,
    /// Report folder of the what-if run.
    pub what_if: PathBuf,
    /// Where to write the comparison chart: SVG or PNG, by the name's ending (`.svg`, `.png`).
    /// An earlier chart of the lab there is replaced; any other file is refused.
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    pub out: PathBuf,
    /// Replace an --out file the lab did not write.
    #[arg(long)]
    pub force: bool,
    /// Compare runs that differ in population, period or seed (refused otherwise: their
    /// differences would not be the what-if's alone).
    #[arg(long)]
    pub allow_different_runs: bool,
}

/// The first line of every chart `compare` writes: what lets a later run replace it.
pub const CHART_MARK: &str = "<!-- mitid-lab compare chart -->";

/// What the comparison reads of one run.
struct RunData {
    label: String,
    table: DailyTable,
    /// `(milestone name, date)`.
    milestones: Vec<(String, String)>,
    /// What must match between a baseline and its what-if: `(name, value as written)`.
    basis: Vec<(&'static str, String)>,
}

fn read_run(dir: &Path) -> Result<RunData> {
    let csv_path = dir.join("timeseries.csv");
    let summary_path = dir.join("summary.json");
    let csv = std::fs::read_to_string(&csv_path).map_err(|err| {
        BadInput(format!(
            "{}: cannot read ({err}); is it a `simulate` report folder?",
            csv_path.display()
        ))
    })?;
    let table = DailyTable::from_csv(&csv_path.display().to_string(), &csv)
        .map_err(|err| BadInput(format!("{err:#}")))?;
    let summary_text = std::fs::read_to_string(&summary_path)
        .map_err(|err| BadInput(format!("{}: cannot read ({err})", summary_path.display())))?;
    let summary: Value = serde_json::from_str(&summary_text).map_err(|err| {
        BadInput(format!(
            "{}:{}: not valid JSON: {err}",
            summary_path.display(),
            err.line()
        ))
    })?;
    if summary["kind"] != "policy" {
        return Err(BadInput(format!(
            "{}: kind: this is a `{}` run's report; compare draws two policy runs",
            summary_path.display(),
            summary["kind"].as_str().unwrap_or("unknown")
        ))
        .into());
    }
    let basis = vec![
        ("population", summary["population"].to_string()),
        ("period.start", summary["period"]["start"].to_string()),
        ("period.end", summary["period"]["end"].to_string()),
        ("seed", summary["seed"].to_string()),
    ];
    let label = dir.file_name().map_or_else(
        || dir.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let milestones = summary["milestones"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    Some((
                        item["name"].as_str()?.to_owned(),
                        item["date"].as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    for required in [
        "mitid_users_15plus",
        "without_eid",
        "citizen_service_queue",
        "failed_logins",
    ] {
        if table.column(required).is_none() {
            return Err(BadInput(format!(
                "{}:1: {required}: the column is missing (a policy run's timeseries.csv has it)",
                csv_path.display()
            ))
            .into());
        }
    }
    Ok(RunData {
        label,
        table,
        milestones,
        basis,
    })
}

/// The panel of what-if minus baseline for every figure, zoomed on the days where the runs
/// differ (two weeks either side); the whole period when they never do.
fn difference_chart(
    figures: &[(&str, &str, &str)],
    columns: &[(Vec<f64>, Vec<f64>)],
    dates: &[String],
    markers: &[Marker],
) -> Result<String> {
    let differences: Vec<Vec<f64>> = columns
        .iter()
        .map(|(a, b)| a.iter().zip(b).map(|(a, b)| b - a).collect())
        .collect();
    let differs = |day: usize| differences.iter().any(|d| d[day].abs() > 0.0);
    let first = (0..dates.len()).find(|&day| differs(day));
    let last = (0..dates.len()).rev().find(|&day| differs(day));
    let (from, to, title) = match (first, last) {
        (Some(first), Some(last)) => (
            first.saturating_sub(14),
            (last + 14).min(dates.len() - 1),
            "What-if minus baseline, zoomed on the days they differ",
        ),
        _ => (
            0,
            dates.len() - 1,
            "What-if minus baseline: the runs do not differ",
        ),
    };
    let zoomed: Vec<Marker> = markers
        .iter()
        .filter(|m| (from..=to).contains(&m.day))
        .map(|m| Marker {
            day: m.day - from,
            label: m.label.clone(),
        })
        .collect();
    let series = figures
        .iter()
        .zip(&differences)
        .enumerate()
        .map(|(i, ((_, title, _), values))| Series {
            label: (*title).to_owned(),
            values: &values[from..=to],
            color: PALETTE[i % PALETTE.len()],
        })
        .collect();
    line_chart(
        &dates[from..=to],
        &[Panel {
            title: title.to_owned(),
            y_label: "difference".into(),
            series,
        }],
        &zoomed,
    )
}

/// One SVG document holding `parts` one below the other (each a complete `<svg>` as plotters
/// writes it: `<svg width=".." height=".." ...>`).
fn stack_svgs(parts: &[String]) -> String {
    let size = |svg: &str, attribute: &str| -> u32 {
        svg.split_once(&format!("{attribute}=\""))
            .and_then(|(_, rest)| rest.split_once('"'))
            .and_then(|(value, _)| value.parse().ok())
            .unwrap_or(0)
    };
    let width = parts.iter().map(|p| size(p, "width")).max().unwrap_or(0);
    let height: u32 = parts.iter().map(|p| size(p, "height")).sum();
    let mut out = format!(
        "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\">\n"
    );
    let mut y = 0;
    for part in parts {
        // A nested <svg> is placed by its x/y attributes.
        out.push_str(&part.replacen("<svg ", &format!("<svg x=\"0\" y=\"{y}\" "), 1));
        out.push('\n');
        y += size(part, "height");
    }
    out.push_str("</svg>\n");
    out
}

/// Both runs' milestones on the common date axis; one the what-if moved is named for its run.
fn milestone_markers(baseline: &RunData, what_if: &RunData, dates: &[String]) -> Vec<Marker> {
    baseline
        .milestones
        .iter()
        .chain(&what_if.milestones)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter_map(|milestone| {
            let (name, date) = milestone;
            // A milestone the what-if moved belongs to one run only: say which.
            let only = match (
                baseline.milestones.contains(milestone),
                what_if.milestones.contains(milestone),
            ) {
                (true, false) => " (baseline only)",
                (false, true) => " (what-if only)",
                _ => "",
            };
            Some(Marker {
                day: dates.iter().position(|day| day == date)?,
                label: format!("{}{only}", readable_milestone(name)),
            })
        })
        .collect()
}

/// Refuses two runs that differ in more than the what-if (population, period, seed) unless
/// `allowed`; then it warns on stderr instead.
fn check_same_basis(baseline: &RunData, what_if: &RunData, allowed: bool) -> Result<()> {
    let differences: Vec<String> = baseline
        .basis
        .iter()
        .zip(&what_if.basis)
        .filter(|(a, b)| a.1 != b.1)
        .map(|((name, a), (_, b))| format!("{name}: {a} vs {b}"))
        .collect();
    if differences.is_empty() {
        return Ok(());
    }
    let message = format!(
        "{} and {} differ in {}; their differences would not be the what-if's alone",
        baseline.label,
        what_if.label,
        differences.join(", ")
    );
    if allowed {
        eprintln!("warning: {message}");
        Ok(())
    } else {
        Err(BadInput(format!(
            "{message}. Run both with the same --population and --seed, or pass \
             --allow-different-runs to compare them anyway"
        ))
        .into())
    }
}

/// What `--out`'s name asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChartFormat {
    Svg,
    Png,
}

/// The chart's format from `--out`'s extension; any other name is refused before anything is
/// read, so `c.png` never receives SVG text.
fn out_format(out: &Path) -> Result<ChartFormat> {
    let extension = out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match extension.as_deref() {
        Some("svg") => Ok(ChartFormat::Svg),
        Some("png") => Ok(ChartFormat::Png),
        _ => Err(BadInput(format!(
            "{}: --out: compare writes an SVG or a PNG chart and the name must end in `.svg` \
             or `.png` (got {})",
            out.display(),
            extension.map_or_else(|| "no extension".to_owned(), |e| format!("`.{e}`"))
        ))
        .into()),
    }
}

/// `column` of `run` on each of `dates` (NaN on days the run did not simulate).
fn aligned(run: &RunData, column: &str, dates: &[String]) -> Vec<f64> {
    let values = run.table.column(column).map(|c| &c.values);
    dates
        .iter()
        .map(|date| {
            run.table
                .day_index(date)
                .and_then(|day| values.and_then(|v| v.get(day)).copied())
                .unwrap_or(f64::NAN)
        })
        .collect()
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let format = out_format(&args.out)?;
    let baseline = read_run(&args.baseline)?;
    let what_if = read_run(&args.what_if)?;
    check_same_basis(&baseline, &what_if, args.allow_different_runs)?;
    let dates: Vec<String> = baseline
        .table
        .dates
        .iter()
        .chain(&what_if.table.dates)
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let figures = [
        ("mitid_users_15plus", "MitID users aged 15+", "citizens"),
        (
            "without_eid",
            "Citizens 15+ without a working eID",
            "citizens",
        ),
        (
            "citizen_service_queue",
            "Citizen Service cases waiting",
            "cases",
        ),
        ("failed_logins", "Failed logins per day", "logins"),
    ];
    let columns: Vec<(Vec<f64>, Vec<f64>)> = figures
        .iter()
        .map(|(column, _, _)| {
            (
                aligned(&baseline, column, &dates),
                aligned(&what_if, column, &dates),
            )
        })
        .collect();
    let panels: Vec<Panel<'_>> = figures
        .iter()
        .zip(&columns)
        .map(|((_, title, unit), (a, b))| Panel {
            title: format!("{title}: {} vs {}", baseline.label, what_if.label),
            y_label: (*unit).to_owned(),
            series: vec![
                Series {
                    label: format!("baseline: {}", baseline.label),
                    values: a,
                    color: PALETTE[0],
                },
                Series {
                    label: format!("what-if: {}", what_if.label),
                    values: b,
                    color: PALETTE[1],
                },
            ],
        })
        .collect();
    let markers = milestone_markers(&baseline, &what_if, &dates);
    let runs = line_chart(&dates, &panels, &markers)?;
    let differences = difference_chart(&figures, &columns, &dates, &markers)?;
    let chart = format!("{CHART_MARK}\n{}", stack_svgs(&[runs, differences]));
    let bytes = match format {
        ChartFormat::Svg => chart.into_bytes(),
        ChartFormat::Png => super::png::svg_to_png(&chart, CHART_MARK)?,
    };
    crate::cli::output::write_file(&args.out, &bytes, CHART_MARK, args.force)?;

    println!(
        "{:<12} {:<34} {:>22} {:>14} {:>14}",
        "date", "milestone (what-if)", "figure", "baseline", "what-if"
    );
    for (name, date) in &what_if.milestones {
        for (index, (column, _, _)) in figures.iter().enumerate().take(3) {
            let Some(day) = dates.iter().position(|d| d == date) else {
                continue;
            };
            let (a, b) = (&columns[index].0[day], &columns[index].1[day]);
            println!(
                "{date:<12} {name:<34} {column:>22} {:>14} {:>14}",
                human(*a),
                human(*b)
            );
        }
    }
    println!("chart: {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
