//! The files a policy run leaves for a planner: summary, time series, charts, Markdown and HTML.

use std::fmt::Write as _;

use anyhow::Result;
use mitid_sim::policy::{PolicyOutcome, PolicyScenario};
use serde_json::{Map, Value, json};

use super::charts::{PALETTE, Panel, Series, human, line_chart};
use super::page::{Page, Table};
use super::table::{Column, DailyTable, band_suffix, format_value};

/// Everything a policy run writes, rendered in memory before any file is touched.
pub struct PolicyReport {
    pub summary: Value,
    pub timeseries_csv: String,
    pub municipalities_csv: String,
    /// `(file name, SVG text)`.
    pub charts: Vec<(String, String)>,
    pub markdown: String,
    pub html: String,
}

/// The columns shown in the milestone tables of report.md / report.html.
const HEADLINE: [(&str, &str); 8] = [
    ("mitid_users_15plus", "MitID 15+"),
    ("nemid_only", "NemID only"),
    ("without_eid", "without eID"),
    ("citizen_service_queue", "CS queue"),
    ("citizen_service_mean_wait_days", "CS wait (days)"),
    ("support_calls", "support calls"),
    ("support_mean_wait_minutes", "support wait (min)"),
    ("failed_logins", "failed logins"),
];

pub fn render(scenario: &PolicyScenario, outcome: &PolicyOutcome) -> Result<PolicyReport> {
    let table = DailyTable::from_days(&outcome.days, &outcome.age_bands);
    let summary = summary(scenario, outcome, &table)?;
    let markers: Vec<usize> = outcome
        .milestones
        .iter()
        .filter_map(|milestone| table.day_index(&milestone.date.to_string()))
        .collect();
    let charts = charts(&table, &outcome.age_bands, &markers)?;
    let (markdown, html) = pages(outcome, &table, &charts);
    Ok(PolicyReport {
        summary,
        timeseries_csv: table.to_csv(),
        municipalities_csv: municipalities_csv(outcome),
        charts,
        markdown,
        html,
    })
}

fn figure(column: &Column, day: usize) -> Value {
    let value = column.values[day];
    if column.integer {
        json!(value as u64)
    } else {
        json!(value)
    }
}

/// `summary.json`. Deterministic: built only from the outcome and the scenario, never from the
/// clock.
pub fn summary(
    scenario: &PolicyScenario,
    outcome: &PolicyOutcome,
    table: &DailyTable,
) -> Result<Value> {
    let milestones: Vec<Value> = outcome
        .milestones
        .iter()
        .map(|milestone| {
            let date = milestone.date.to_string();
            let figures = table.day_index(&date).map_or(Value::Null, |day| {
                let map: Map<String, Value> = table
                    .columns
                    .iter()
                    .map(|column| (column.name.clone(), figure(column, day)))
                    .collect();
                Value::Object(map)
            });
            json!({ "name": milestone.name, "date": date, "figures": figures })
        })
        .collect();
    let peaks: Map<String, Value> = table
        .columns
        .iter()
        .filter(|column| !column.values.is_empty())
        .map(|column| {
            // The first day the peak is reached, so ties resolve the same way every run.
            let mut best = 0;
            for (day, value) in column.values.iter().enumerate() {
                if *value > column.values[best] {
                    best = day;
                }
            }
            (
                column.name.clone(),
                json!({ "date": table.dates[best], "value": figure(column, best) }),
            )
        })
        .collect();
    Ok(json!({
        "kind": "policy",
        "scenario": outcome.scenario,
        "seed": outcome.seed,
        "population": outcome.population,
        "period": {
            "start": outcome.start.to_string(),
            "end": outcome.end.to_string(),
            "days": outcome.days.len(),
        },
        "event_count": outcome.event_count,
        "age_bands": outcome.age_bands,
        "milestones": milestones,
        "peaks": peaks,
        "totals": serde_json::to_value(&outcome.totals)?,
        "scenario_config": serde_json::to_value(scenario)?,
    }))
}

fn municipalities_csv(outcome: &PolicyOutcome) -> String {
    let mut csv = String::from(
        "code,municipality,residents,counters,month,requests,served,counter_hours_used,\
         counter_hours_available,counter_hours_needed,mean_wait_days\n",
    );
    for municipality in &outcome.municipalities {
        for month in &municipality.months {
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{},{},{},{},{},{}",
                municipality.code,
                municipality.name.replace(',', " "),
                municipality.residents,
                format_value(municipality.counters, false),
                month.month,
                month.requests,
                month.served,
                format_value(month.counter_hours_used, false),
                format_value(month.counter_hours_available, false),
                format_value(month.counter_hours_needed, false),
                format_value(month.mean_wait_days, false),
            );
        }
    }
    csv
}

fn values<'t>(table: &'t DailyTable, name: &str) -> &'t [f64] {
    table
        .column(name)
        .map_or(&[], |column| column.values.as_slice())
}

fn series<'t>(table: &'t DailyTable, names: &[(&str, &str)]) -> Vec<Series<'t>> {
    names
        .iter()
        .enumerate()
        .map(|(i, (name, label))| Series {
            label: (*label).to_owned(),
            values: values(table, name),
            color: PALETTE[i % PALETTE.len()],
        })
        .collect()
}

// One declarative list of the four charts and their panels; splitting it would scatter them.
#[allow(clippy::too_many_lines)]
fn charts(
    table: &DailyTable,
    age_bands: &[String],
    markers: &[usize],
) -> Result<Vec<(String, String)>> {
    let cumulative: Vec<(String, Vec<f64>)> = age_bands
        .iter()
        .map(|band| {
            let mut total = 0.0;
            let running = values(table, &format!("lockouts_age_{}", band_suffix(band)))
                .iter()
                .map(|value| {
                    total += value;
                    total
                })
                .collect();
            (format!("age {band}"), running)
        })
        .collect();
    let band_series = |prefix: &str| -> Vec<Series<'_>> {
        age_bands
            .iter()
            .enumerate()
            .map(|(i, band)| Series {
                label: format!("age {band}"),
                values: values(table, &format!("{prefix}{}", band_suffix(band))),
                color: PALETTE[i % PALETTE.len()],
            })
            .collect()
    };
    let adoption = line_chart(
        &table.dates,
        &[
            Panel {
                title: "Adoption, citizens aged 15+ (grey lines: calendar milestones)".into(),
                y_label: "citizens".into(),
                series: series(
                    table,
                    &[
                        ("population_15plus", "population 15+"),
                        ("mitid_users_15plus", "MitID users 15+"),
                        ("nemid_only", "NemID only"),
                        ("without_eid", "without a working eID"),
                    ],
                ),
            },
            Panel {
                title: "Failed logins per day".into(),
                y_label: "logins".into(),
                series: series(table, &[("failed_logins", "failed logins")]),
            },
        ],
        markers,
    )?;
    let queues = line_chart(
        &table.dates,
        &[
            Panel {
                title: "Citizen Service: cases waiting at the end of the day".into(),
                y_label: "cases".into(),
                series: series(table, &[("citizen_service_queue", "cases waiting")]),
            },
            Panel {
                title: "Support line: calls per day".into(),
                y_label: "calls".into(),
                series: series(
                    table,
                    &[
                        ("support_calls", "offered"),
                        ("support_answered", "answered"),
                        ("support_abandoned", "abandoned"),
                    ],
                ),
            },
        ],
        markers,
    )?;
    let waits = line_chart(
        &table.dates,
        &[
            Panel {
                title: "Citizen Service: mean wait of cases served that day".into(),
                y_label: "days".into(),
                series: series(table, &[("citizen_service_mean_wait_days", "mean wait")]),
            },
            Panel {
                title: "Support line: mean wait of answered calls".into(),
                y_label: "minutes".into(),
                series: series(table, &[("support_mean_wait_minutes", "mean wait")]),
            },
        ],
        markers,
    )?;
    let lockout_series: Vec<Series<'_>> = cumulative
        .iter()
        .enumerate()
        .map(|(i, (label, running))| Series {
            label: label.clone(),
            values: running,
            color: PALETTE[i % PALETTE.len()],
        })
        .collect();
    let lockouts = line_chart(
        &table.dates,
        &[
            Panel {
                title: "Lock-outs by age band, cumulative".into(),
                y_label: "lock-outs".into(),
                series: lockout_series,
            },
            Panel {
                title: "Without a working eID, by age band".into(),
                y_label: "citizens".into(),
                series: band_series("without_eid_age_"),
            },
        ],
        markers,
    )?;
    Ok(vec![
        ("adoption.svg".to_owned(), adoption),
        ("queues.svg".to_owned(), queues),
        ("waits.svg".to_owned(), waits),
        ("lockouts.svg".to_owned(), lockouts),
    ])
}

fn pages(
    outcome: &PolicyOutcome,
    table: &DailyTable,
    charts: &[(String, String)],
) -> (String, String) {
    let mut page = Page::new(&format!("Policy run: {}", outcome.scenario));
    page.facts(&[
        ("scenario", outcome.scenario.clone()),
        ("seed", outcome.seed.to_string()),
        ("population", outcome.population.to_string()),
        (
            "period",
            format!(
                "{} to {} ({} days)",
                outcome.start,
                outcome.end,
                outcome.days.len()
            ),
        ),
        ("events", outcome.event_count.to_string()),
    ]);

    page.heading("On each calendar milestone (end of day)");
    let mut header = vec!["date".to_owned(), "milestone".to_owned()];
    header.extend(HEADLINE.iter().map(|(_, label)| (*label).to_owned()));
    let mut milestones = Table::new(header);
    for milestone in &outcome.milestones {
        let date = milestone.date.to_string();
        let mut row = vec![date.clone(), milestone.name.clone()];
        match table.day_index(&date) {
            Some(day) => row.extend(HEADLINE.iter().map(|(name, _)| {
                table
                    .column(name)
                    .map_or_else(String::new, |c| format_value(c.values[day], c.integer))
            })),
            None => row.extend(HEADLINE.iter().map(|_| "outside the period".to_owned())),
        }
        milestones.row(row);
    }
    page.table(&milestones);

    page.heading("Peaks");
    let mut peaks = Table::new(vec![
        "figure".into(),
        "peak".into(),
        "first reached on".into(),
    ]);
    for (name, label) in HEADLINE {
        if let Some(column) = table.column(name) {
            let mut best = 0;
            for (day, value) in column.values.iter().enumerate() {
                if *value > column.values[best] {
                    best = day;
                }
            }
            if let Some(value) = column.values.get(best) {
                peaks.row(vec![
                    label.to_owned(),
                    human(*value),
                    table.dates[best].clone(),
                ]);
            }
        }
    }
    page.table(&peaks);

    page.heading("How citizens got MitID, and how problems were solved (run totals)");
    let mut totals = Table::new(vec!["total".into(), "count".into()]);
    if let Ok(Value::Object(map)) = serde_json::to_value(&outcome.totals) {
        for (name, value) in map {
            totals.row(vec![name.replace('_', " "), value.to_string()]);
        }
    }
    page.table(&totals);

    page.heading("Charts");
    for (file, svg) in charts {
        page.chart(file, svg);
    }
    page.paragraph(
        "Files: summary.json (deterministic figures), timing.json (wall times), timeseries.csv \
         (one row per day), municipalities.csv (Citizen Service load per municipality and month).",
    );
    (page.markdown(), page.html())
}
