//! The files a policy run leaves for a planner: summary, time series, charts, Markdown and HTML.

use std::fmt::Write as _;

use anyhow::Result;
use mitid_sim::policy::{PolicyOutcome, PolicyScenario};
use serde_json::{Map, Value, json};

use super::charts::{
    Marker, PALETTE, Panel, Series, centred_mean, human, line_chart, readable_milestone,
};
use super::page::{Page, Table};
use super::provenance::Provenance;
use super::table::{Column, DailyTable, band_suffix, format_value, peak_day};

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
const HEADLINE: [(&str, &str); 9] = [
    ("mitid_users_15plus", "MitID 15+"),
    ("nemid_only", "NemID only"),
    ("without_eid", "without eID"),
    ("citizen_service_queue", "CS queue"),
    (
        "citizen_service_mean_wait_days",
        "CS wait of those served (days)",
    ),
    (
        "citizen_service_offered_wait_days",
        "CS wait offered (days)",
    ),
    ("support_calls", "support calls"),
    ("support_mean_wait_minutes", "support wait (min)"),
    ("failed_logins", "failed logins"),
];

pub fn render(
    scenario: &PolicyScenario,
    outcome: &PolicyOutcome,
    provenance: &Provenance,
) -> Result<PolicyReport> {
    let table = DailyTable::from_days(&outcome.days, &outcome.age_bands);
    let summary = summary(scenario, outcome, &table, Some(provenance))?;
    let markers: Vec<Marker> = outcome
        .milestones
        .iter()
        .filter_map(|milestone| {
            Some(Marker {
                day: table.day_index(&milestone.date.to_string())?,
                label: readable_milestone(&milestone.name),
            })
        })
        .collect();
    let charts = charts(&table, &outcome.age_bands, &markers)?;
    let (markdown, html) = pages(outcome, provenance, &table, &charts);
    Ok(PolicyReport {
        summary,
        timeseries_csv: table.to_csv(),
        municipalities_csv: municipalities_csv(outcome),
        charts,
        markdown,
        html,
    })
}

/// One day's figure as JSON: null when it has no value that day (a mean over nobody).
fn figure(column: &Column, day: usize) -> Value {
    let value = column.values[day];
    if !value.is_finite() {
        Value::Null
    } else if column.integer {
        json!(value as u64)
    } else {
        json!(value)
    }
}

/// `summary.json`. Deterministic: built only from the outcome, the scenario and what made the
/// run (`provenance`, absent where a sweep shard collects figures), never from the clock.
pub fn summary(
    scenario: &PolicyScenario,
    outcome: &PolicyOutcome,
    table: &DailyTable,
    provenance: Option<&Provenance>,
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
            let peak = peak_day(&column.values).map_or(
                Value::Null,
                |best| json!({ "date": table.dates[best], "value": figure(column, best) }),
            );
            (column.name.clone(), peak)
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
        "provenance": provenance.map(Provenance::to_json),
        "scenario_config": serde_json::to_value(scenario)?,
    }))
}

fn municipalities_csv(outcome: &PolicyOutcome) -> String {
    let mut csv = String::from(
        "code,municipality,residents,counters,month,requests,served,served_from_elsewhere,\
         counter_hours_used,counter_hours_available,counter_hours_needed,mean_wait_days,\
         mean_offered_wait_days\n",
    );
    for municipality in &outcome.municipalities {
        for month in &municipality.months {
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{},{},{},{},{},{},{},{}",
                municipality.code,
                municipality.name.replace(',', " "),
                municipality.residents,
                format_value(municipality.counters, false),
                month.month,
                month.requests,
                month.served,
                month.served_from_elsewhere,
                format_value(month.counter_hours_used, false),
                format_value(month.counter_hours_available, false),
                format_value(month.counter_hours_needed, false),
                format_value(month.mean_wait_days.unwrap_or(f64::NAN), false),
                format_value(month.mean_offered_wait_days, false),
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
    markers: &[Marker],
) -> Result<Vec<(String, String)>> {
    // Counters are closed at weekends and the support line is quieter: daily waits comb. The
    // wait chart shows 7-day centred means, the served-that-day mean weighted by cases served.
    let smooth = |name: &str, weight: Option<&str>| {
        centred_mean(values(table, name), weight.map(|w| values(table, w)), 7)
    };
    let cs_served_wait = smooth(
        "citizen_service_mean_wait_days",
        Some("citizen_service_served"),
    );
    let cs_offered_wait = smooth("citizen_service_offered_wait_days", None);
    let support_wait = smooth("support_mean_wait_minutes", Some("support_answered"));
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
                title: "Citizen Service: waits in days (7-day centred means)".into(),
                y_label: "days".into(),
                series: vec![
                    Series {
                        label: "wait of cases served".into(),
                        values: &cs_served_wait,
                        color: PALETTE[0],
                    },
                    Series {
                        label: "wait offered to a new request".into(),
                        values: &cs_offered_wait,
                        color: PALETTE[1],
                    },
                    Series {
                        label: "oldest waiting case (daily)".into(),
                        values: values(table, "citizen_service_oldest_request_days"),
                        color: PALETTE[2],
                    },
                ],
            },
            Panel {
                title: "Support line: wait of answered calls (7-day centred mean)".into(),
                y_label: "minutes".into(),
                series: vec![Series {
                    label: "mean wait".into(),
                    values: &support_wait,
                    color: PALETTE[0],
                }],
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
    provenance: &Provenance,
    table: &DailyTable,
    charts: &[(String, String)],
) -> (String, String) {
    let title = match provenance.changes() {
        Some(changes) => format!("Policy run: {} (what-if: {changes})", outcome.scenario),
        None => format!("Policy run: {}", outcome.scenario),
    };
    let mut page = Page::new(&title);
    page.facts(&provenance.report_facts());
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
        if let Some(column) = table.column(name)
            && let Some(best) = peak_day(&column.values)
        {
            peaks.row(vec![
                label.to_owned(),
                human(column.values[best]),
                table.dates[best].clone(),
            ]);
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
