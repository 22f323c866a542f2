//! Merge: every shard of the plan, checked, into intervals per point and bands per day.
//!
//! The merged files depend only on the plan and the runs' figures, never on how the runs were
//! split into shards or in which order the shards finished.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use super::charts::{BandLine, band_chart};
use super::plan::PlanFile;
use super::shard::{RunOutput, ShardOutput, write_atomically};
use super::stats::{Estimate, quantile};
use super::store::ShardStore;
use crate::cli::BadInput;
use crate::cli::simulate::charts::human;
use crate::cli::simulate::page::{Page, Table};

/// Which shards of the plan have an output that belongs to it.
pub struct ShardCensus {
    pub done: Vec<u32>,
    pub missing: Vec<u32>,
    /// Shard outputs that exist but are not this plan's (index, why).
    pub foreign: Vec<(u32, String)>,
}

/// Reads every shard output that exists; a shard of another plan is reported, not merged.
/// An output that cannot be read at all (the store is unreachable) is an error, not a missing shard.
pub fn census(plan_file: &PlanFile, store: &ShardStore) -> Result<(ShardCensus, Vec<ShardOutput>)> {
    let mut census = ShardCensus {
        done: Vec::new(),
        missing: Vec::new(),
        foreign: Vec::new(),
    };
    let mut outputs = Vec::new();
    for index in 0..plan_file.plan.shards {
        let Some(bytes) = store.get(index)? else {
            census.missing.push(index);
            continue;
        };
        let path = store.shown(index);
        match serde_json::from_slice::<ShardOutput>(&bytes) {
            Err(err) => census
                .foreign
                .push((index, format!("{path}: not a shard output: {err}"))),
            Ok(output) => match belongs(plan_file, index, &output) {
                Ok(()) => {
                    census.done.push(index);
                    outputs.push(output);
                }
                Err(why) => census.foreign.push((index, format!("{path}: {why}"))),
            },
        }
    }
    Ok((census, outputs))
}

fn belongs(plan_file: &PlanFile, index: u32, output: &ShardOutput) -> Result<(), String> {
    if output.plan_sha256 != plan_file.plan_sha256 {
        return Err(format!(
            "written for plan {}, not this plan ({})",
            short(&output.plan_sha256),
            short(&plan_file.plan_sha256)
        ));
    }
    if output.shard != index {
        return Err(format!("holds shard {}, not {index}", output.shard));
    }
    let expected = plan_file.plan.shard_runs(index).unwrap_or_default();
    let plan = &plan_file.plan;
    let shape_ok = output.runs.len() == expected.len()
        && output.runs.iter().zip(expected).all(|(got, want)| {
            got.run == want.index
                && got.point == want.point
                && got.seed == want.seed
                && got.figures.len() == plan.collect.figures.len()
                && got.series.len() == plan.collect.series.len()
        });
    if shape_ok {
        Ok(())
    } else {
        Err("its runs are not the runs the plan gives this shard".to_owned())
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// Indices as an sbatch `--array` list: `3,7-9,12`.
#[must_use]
pub fn index_ranges(indices: &[u32]) -> String {
    let mut text = String::new();
    let mut iter = indices.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end = iter.next().unwrap_or(end);
        }
        if !text.is_empty() {
            text.push(',');
        }
        if start == end {
            let _ = write!(text, "{start}");
        } else {
            let _ = write!(text, "{start}-{end}");
        }
    }
    text
}

/// Merges the shards into `sweep.json`, `bands.csv`, `report.md` and `report.html` in
/// `sweep_dir`; refuses (bad input) when a shard is missing or foreign.
pub fn merge(plan_file: &PlanFile, sweep_dir: &Path, store: &ShardStore) -> Result<()> {
    let (census, outputs) = census(plan_file, store)?;
    if !census.foreign.is_empty() {
        let lines: Vec<String> = census.foreign.iter().map(|(_, why)| why.clone()).collect();
        return Err(BadInput(format!(
            "{} shard output(s) do not belong to {}:\n  {}",
            lines.len(),
            sweep_dir.join("plan.json").display(),
            lines.join("\n  ")
        ))
        .into());
    }
    if !census.missing.is_empty() {
        return Err(BadInput(format!(
            "{} of {} shards have no output yet in {}: indices {} (run them with \
             `mitid-lab sweep shard {} --index N`, or resubmit with sbatch --array={})",
            census.missing.len(),
            plan_file.plan.shards,
            store.shown_folder(),
            index_ranges(&census.missing),
            sweep_dir.join("plan.json").display(),
            index_ranges(&census.missing),
        ))
        .into());
    }
    let mut runs: Vec<RunOutput> = outputs.into_iter().flat_map(|output| output.runs).collect();
    runs.sort_by_key(|run| run.run);
    let merged = Merged::new(plan_file, &runs);
    write_atomically(&sweep_dir.join("sweep.json"), &json_bytes(&merged.json())?)?;
    write_atomically(&sweep_dir.join("bands.csv"), merged.bands_csv()?.as_bytes())?;
    let report = merged.report()?;
    for (name, svg) in &report.charts {
        write_atomically(&sweep_dir.join(name), svg.as_bytes())?;
    }
    write_atomically(&sweep_dir.join("report.md"), report.markdown.as_bytes())?;
    write_atomically(&sweep_dir.join("report.html"), report.html.as_bytes())?;
    Ok(())
}

fn json_bytes(value: &Value) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).context("cannot encode sweep.json")?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The merged reports: Markdown, HTML and the charts both show, as `(file name, SVG)`.
struct Report {
    markdown: String,
    html: String,
    charts: Vec<(String, String)>,
}

/// A daily band of one series at one point.
struct Band {
    start: NaiveDate,
    mean: Vec<Option<f64>>,
    ci_low: Vec<Option<f64>>,
    ci_high: Vec<Option<f64>>,
    p05: Vec<Option<f64>>,
    p95: Vec<Option<f64>>,
}

struct PointResult {
    figures: Vec<Estimate>,
    bands: Vec<Band>,
}

struct Merged<'a> {
    plan_file: &'a PlanFile,
    points: Vec<PointResult>,
}

impl<'a> Merged<'a> {
    fn new(plan_file: &'a PlanFile, runs: &[RunOutput]) -> Self {
        let plan = &plan_file.plan;
        let points = plan
            .points
            .iter()
            .map(|point| {
                let runs: Vec<&RunOutput> =
                    runs.iter().filter(|run| run.point == point.index).collect();
                let figures = (0..plan.collect.figures.len())
                    .map(|figure| {
                        let values: Vec<f64> =
                            runs.iter().filter_map(|run| run.figures[figure]).collect();
                        Estimate::of(&values)
                    })
                    .collect();
                let bands = (0..plan.collect.series.len())
                    .map(|series| band(&runs, series))
                    .collect();
                PointResult { figures, bands }
            })
            .collect();
        Self { plan_file, points }
    }

    fn json(&self) -> Value {
        let plan = &self.plan_file.plan;
        let points: Vec<Value> = plan
            .points
            .iter()
            .zip(&self.points)
            .map(|(point, result)| {
                let values: Map<String, Value> = plan
                    .axes
                    .iter()
                    .zip(&point.choice)
                    .map(|(axis, &pick)| (axis.field.clone(), json!(axis.values[pick as usize])))
                    .collect();
                let figures: Map<String, Value> = plan
                    .collect
                    .figures
                    .iter()
                    .zip(&result.figures)
                    .map(|(name, estimate)| (name.clone(), json!(estimate)))
                    .collect();
                json!({ "point": point.index, "values": values, "figures": figures })
            })
            .collect();
        json!({
            "sweep": plan.sweep,
            "plan_sha256": self.plan_file.plan_sha256,
            "sweep_file": plan.sweep_file,
            "scenario_file": plan.scenario_file,
            "scenario_sha256": plan.scenario_sha256,
            "lab_version": env!("CARGO_PKG_VERSION"),
            "seed": plan.seed,
            "replications": plan.replications,
            "set": plan.set,
            "axes": plan.axes,
            "interval": "95 % confidence interval of the mean across replications (Student's t); \
                         p05/p50/p95 are quantiles of the replications' values",
            "points": points,
            "series": plan.collect.series,
            "series_file": "bands.csv",
        })
    }

    fn bands_csv(&self) -> Result<String> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record([
            "point",
            "series",
            "date",
            "mean",
            "ci95_low",
            "ci95_high",
            "p05",
            "p95",
        ])?;
        let cell = |value: Option<f64>| value.map_or_else(String::new, |value| format!("{value}"));
        for (point, result) in self.points.iter().enumerate() {
            for (series, band) in self.plan_file.plan.collect.series.iter().zip(&result.bands) {
                for day in 0..band.mean.len() {
                    let date = band.start + chrono::Days::new(day as u64);
                    writer.write_record([
                        point.to_string(),
                        series.clone(),
                        date.to_string(),
                        cell(band.mean[day]),
                        cell(band.ci_low[day]),
                        cell(band.ci_high[day]),
                        cell(band.p05[day]),
                        cell(band.p95[day]),
                    ])?;
                }
            }
        }
        Ok(String::from_utf8(
            writer.into_inner().context("cannot write bands.csv")?,
        )?)
    }

    /// report.md, report.html and the charts both show.
    fn report(&self) -> Result<Report> {
        let mut charts = Vec::new();
        let plan = &self.plan_file.plan;
        let mut page = Page::new(&format!("Sweep {}", plan.sweep));
        let mut swept: Vec<String> = plan
            .axes
            .iter()
            .map(|axis| format!("{} ({} values)", axis.field, axis.values.len()))
            .collect();
        if swept.is_empty() {
            swept.push("nothing (replications only)".to_owned());
        }
        page.paragraph(&format!(
            "What changed: {} over {} points × {} replications of {}.",
            swept.join(" × "),
            plan.points.len(),
            plan.replications,
            plan.scenario_file
        ));
        page.facts(&[
            ("sweep file", plan.sweep_file.clone()),
            (
                "base scenario",
                format!(
                    "{} (sha256 {})",
                    plan.scenario_file,
                    short(&plan.scenario_sha256)
                ),
            ),
            (
                "fixed overrides",
                if plan.set.is_empty() {
                    "none".to_owned()
                } else {
                    plan.set.join(", ")
                },
            ),
            ("seed", plan.seed.to_string()),
            ("runs", plan.runs.len().to_string()),
            ("plan", short(&self.plan_file.plan_sha256).to_owned()),
            ("lab version", env!("CARGO_PKG_VERSION").to_owned()),
            (
                "interval",
                "95 % confidence interval of the mean (Student's t, n − 1 degrees of freedom)"
                    .to_owned(),
            ),
        ]);
        self.figure_sections(&mut page, &mut charts)?;
        self.series_sections(&mut page, &mut charts)?;
        page.paragraph(
            "Every figure per point is in sweep.json; the daily bands are in bands.csv.",
        );
        Ok(Report {
            markdown: page.markdown(),
            html: page.html(),
            charts,
        })
    }

    /// One section per collected figure: its chart against the first swept field and a table.
    fn figure_sections(&self, page: &mut Page, charts: &mut Vec<(String, String)>) -> Result<()> {
        let plan = &self.plan_file.plan;
        // Without a grid, one point: the base scenario, drawn as a single x position.
        let base_axis = super::plan::Axis {
            field: "scenario".to_owned(),
            values: vec![plan.scenario_file.clone()],
        };
        let first = plan.axes.first().unwrap_or(&base_axis);
        // Points that share every axis but the first form one line of a chart.
        let mut lines: Vec<(String, Vec<usize>)> = Vec::new();
        for (index, point) in plan.points.iter().enumerate() {
            let others: Vec<String> = plan
                .axes
                .iter()
                .zip(&point.choice)
                .skip(1)
                .map(|(axis, &pick)| format!("{}={}", axis.field, axis.values[pick as usize]))
                .collect();
            let label = if others.is_empty() {
                "mean".to_owned()
            } else {
                others.join(", ")
            };
            match lines.iter_mut().find(|(name, _)| *name == label) {
                Some((_, members)) => members.push(index),
                None => lines.push((label, vec![index])),
            }
        }
        for (figure_index, figure) in plan.collect.figures.iter().enumerate() {
            page.heading(figure);
            let mut header = vec![first.field.clone()];
            if plan.axes.len() > 1 {
                header.push("other fields".to_owned());
            }
            header.extend(["mean", "95 % interval", "sd", "p05", "p95", "n"].map(str::to_owned));
            let mut table = Table::new(header);
            let mut chart_lines = Vec::new();
            for (label, members) in &lines {
                let estimates: Vec<&Estimate> = members
                    .iter()
                    .map(|&point| &self.points[point].figures[figure_index])
                    .collect();
                for (&point, estimate) in members.iter().zip(&estimates) {
                    let pick = plan.points[point]
                        .choice
                        .first()
                        .map_or(0, |&pick| pick as usize);
                    let mut row = vec![first.values[pick].clone()];
                    if plan.axes.len() > 1 {
                        row.push(label.clone());
                    }
                    row.extend([
                        number(estimate.mean),
                        estimate.ci95.map_or_else(
                            || "–".to_owned(),
                            |[lo, hi]| format!("{} – {}", human(lo), human(hi)),
                        ),
                        number(estimate.sd),
                        number(estimate.p05),
                        number(estimate.p95),
                        estimate.n.to_string(),
                    ]);
                    table.row(row);
                }
                chart_lines.push(BandLine {
                    label: label.clone(),
                    mean: estimates.iter().map(|e| e.mean).collect(),
                    low: estimates.iter().map(|e| e.ci95.map(|[lo, _]| lo)).collect(),
                    high: estimates.iter().map(|e| e.ci95.map(|[_, hi]| hi)).collect(),
                });
            }
            let svg = band_chart(figure, &first.field, &first.values, &chart_lines)?;
            let name = format!("figure-{figure_index}.svg");
            page.chart(&name, &svg);
            charts.push((name, svg));
            page.table(&table);
        }
        Ok(())
    }

    /// One daily band chart per collected series.
    fn series_sections(&self, page: &mut Page, charts: &mut Vec<(String, String)>) -> Result<()> {
        let plan = &self.plan_file.plan;
        for (series_index, series) in plan.collect.series.iter().enumerate() {
            page.heading(&format!(
                "{series} per day (band: 95 % interval of the mean)"
            ));
            // A chart stays readable with a handful of lines: evenly spaced points beyond eight.
            let shown = spread(plan.points.len(), 8);
            let Some(longest) = shown
                .iter()
                .map(|&point| &self.points[point].bands[series_index])
                .max_by_key(|band| band.mean.len())
            else {
                continue;
            };
            let dates: Vec<String> = (0..longest.mean.len())
                .map(|day| (longest.start + chrono::Days::new(day as u64)).to_string())
                .collect();
            let chart_lines: Vec<BandLine> = shown
                .iter()
                .map(|&point| {
                    let band = &self.points[point].bands[series_index];
                    BandLine {
                        label: point_label(plan, point),
                        mean: band.mean.clone(),
                        low: band.ci_low.clone(),
                        high: band.ci_high.clone(),
                    }
                })
                .collect();
            let svg = band_chart(series, "date", &dates, &chart_lines)?;
            let name = format!("series-{series_index}.svg");
            page.chart(&name, &svg);
            charts.push((name, svg));
        }
        Ok(())
    }
}

fn point_label(plan: &super::plan::Plan, point: usize) -> String {
    let label = plan
        .axes
        .iter()
        .zip(&plan.points[point].choice)
        .map(|(axis, &pick)| axis.values[pick as usize].clone())
        .collect::<Vec<_>>()
        .join(", ");
    if label.is_empty() {
        "mean".to_owned()
    } else {
        label
    }
}

/// `count` indices spread evenly over `0..len` (all of them when `len <= count`).
fn spread(len: usize, count: usize) -> Vec<usize> {
    if len <= count {
        return (0..len).collect();
    }
    let mut picked: Vec<usize> = (0..count).map(|i| (i * (len - 1)) / (count - 1)).collect();
    picked.dedup();
    picked
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), human)
}

/// The band of one series across a point's replications (all share the point's period).
fn band(runs: &[&RunOutput], series: usize) -> Band {
    let days = runs
        .iter()
        .map(|run| run.series[series].len())
        .max()
        .unwrap_or(0);
    let start = runs
        .first()
        .and_then(|run| NaiveDate::parse_from_str(&run.start, "%Y-%m-%d").ok())
        .unwrap_or_default();
    let mut band = Band {
        start,
        mean: Vec::with_capacity(days),
        ci_low: Vec::with_capacity(days),
        ci_high: Vec::with_capacity(days),
        p05: Vec::with_capacity(days),
        p95: Vec::with_capacity(days),
    };
    let mut values = Vec::with_capacity(runs.len());
    for day in 0..days {
        values.clear();
        values.extend(
            runs.iter()
                .filter_map(|run| run.series[series].get(day).copied().flatten()),
        );
        let estimate = Estimate::of(&values);
        values.sort_by(f64::total_cmp);
        band.mean.push(estimate.mean);
        band.ci_low.push(estimate.ci95.map(|[lo, _]| lo));
        band.ci_high.push(estimate.ci95.map(|[_, hi]| hi));
        band.p05.push(quantile(&values, 0.05));
        band.p95.push(quantile(&values, 0.95));
    }
    band
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_indices_print_as_sbatch_ranges() {
        assert_eq!(index_ranges(&[3, 7, 8, 9, 12]), "3,7-9,12");
        assert_eq!(index_ranges(&[0]), "0");
        assert_eq!(index_ranges(&[]), "");
    }

    #[test]
    fn spread_keeps_both_ends() {
        assert_eq!(spread(5, 8), [0, 1, 2, 3, 4]);
        assert_eq!(spread(40, 8).first(), Some(&0));
        assert_eq!(spread(40, 8).last(), Some(&39));
        assert_eq!(spread(40, 8).len(), 8);
    }
}
