//! The files a policy run leaves for a planner: summary, time series, charts, Markdown and HTML.

use std::fmt::Write as _;

use anyhow::Result;
use mitid_sim::policy::{MonthLoad, MunicipalityLoad, PolicyOutcome, PolicyScenario};
use serde_json::{Map, Value, json};

use super::charts::{
    Marker, PALETTE, Panel, Series, bar_chart, centred_mean, line_chart, readable_milestone,
};
use super::page::{Page, Table};
use super::provenance::Provenance;
use super::table::{Column, DailyTable, band_suffix, display_value, format_value, peak_day};
use crate::live::LiveReport;

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

/// The report of a run; `live` adds the live section (what the components did beside the
/// model's figures) of a `simulate --live` run.
pub fn render(
    scenario: &PolicyScenario,
    outcome: &PolicyOutcome,
    provenance: &Provenance,
    live: Option<&LiveReport>,
) -> Result<PolicyReport> {
    let table = DailyTable::from_days(&outcome.days, &outcome.age_bands);
    let mut summary = summary(scenario, outcome, &table, Some(provenance))?;
    if let (Some(live), Value::Object(map)) = (live, &mut summary) {
        map.insert("live".to_owned(), live_summary(live)?);
    }
    let mut markers: Vec<Marker> = outcome
        .milestones
        .iter()
        .filter_map(|milestone| {
            Some(Marker {
                day: table.day_index(&milestone.date.to_string())?,
                label: readable_milestone(&milestone.name),
            })
        })
        .collect();
    markers.extend(incident_markers(&table, outcome));
    let mut charts = charts(&table, &outcome.age_bands, &markers)?;
    if let Some(live) = live {
        charts.push((
            "live-failures.svg".to_owned(),
            live_failures_chart(&table, live, &markers)?,
        ));
    }
    let worst = worst_municipalities(outcome);
    if let Some(svg) = counters_chart(&worst)? {
        charts.push(("counters.svg".to_owned(), svg));
    }
    let (markdown, html) = pages(outcome, provenance, &table, &charts, &worst, live);
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
    let mut summary = json!({
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
    });
    // Only a scenario with incidents has the key, so other summaries read as before.
    if let (false, Value::Object(map)) = (outcome.incidents.is_empty(), &mut summary) {
        map.insert(
            "incidents".to_owned(),
            serde_json::to_value(&outcome.incidents)?,
        );
    }
    Ok(summary)
}

/// A municipality, its month with the longest mean wait of those served, and that wait.
type Worst<'o> = (&'o MunicipalityLoad, &'o MonthLoad, f64);

/// The ten municipalities whose served cases waited longest in some month, longest first (ties
/// by DST code, so the order is the same every run).
fn worst_municipalities(outcome: &PolicyOutcome) -> Vec<Worst<'_>> {
    let mut worst: Vec<Worst<'_>> = outcome
        .municipalities
        .iter()
        .filter_map(|m| {
            m.months
                .iter()
                .filter_map(|month| month.mean_wait_days.map(|w| (month, w)))
                .fold(
                    None,
                    |best: Option<(&MonthLoad, f64)>, (month, w)| match best {
                        Some((_, b)) if b >= w => best,
                        _ => Some((month, w)),
                    },
                )
                .map(|(month, w)| (m, month, w))
        })
        .collect();
    worst.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.code.cmp(&b.0.code)));
    worst.truncate(10);
    worst
}

/// Counter hours needed vs available vs used in each worst municipality's worst month.
fn counters_chart(worst: &[Worst<'_>]) -> Result<Option<String>> {
    if worst.is_empty() {
        return Ok(None);
    }
    let names: Vec<String> = worst
        .iter()
        .map(|(m, month, _)| format!("{} {}", m.name, month.month))
        .collect();
    let pick = |f: fn(&MonthLoad) -> f64| -> Vec<f64> { worst.iter().map(|w| f(w.1)).collect() };
    let needed = pick(|m| m.counter_hours_needed);
    let available = pick(|m| m.counter_hours_available);
    let used = pick(|m| m.counter_hours_used);
    bar_chart(
        "Longest Citizen Service waits: counter hours in the worst month",
        "counter hours",
        &names,
        &[
            Series {
                label: "needed by residents' new cases".into(),
                values: &needed,
                color: PALETTE[1],
            },
            Series {
                label: "available at the counter".into(),
                values: &available,
                color: PALETTE[0],
            },
            Series {
                label: "used".into(),
                values: &used,
                color: PALETTE[2],
            },
        ],
    )
    .map(Some)
}

/// The ten municipalities whose cases waited longest in some month, with that month's counter
/// hours needed (by their residents' first requests) against available and used at their
/// counter: where counters, not demand, set the wait.
fn municipality_waits(page: &mut Page, worst: &[Worst<'_>]) {
    let mut table = Table::new(
        [
            "municipality",
            "residents",
            "counters",
            "worst month",
            "mean wait of served (days)",
            "offered wait (days)",
            "counter hours needed",
            "available",
            "used",
            "served from elsewhere",
        ]
        .map(str::to_owned)
        .to_vec(),
    );
    for (m, month, wait) in worst {
        table.row(vec![
            m.name.clone(),
            display_value(f64::from(m.residents), true),
            display_value(m.counters, false),
            month.month.clone(),
            display_value(*wait, false),
            display_value(month.mean_offered_wait_days, false),
            display_value(month.counter_hours_needed, false),
            display_value(month.counter_hours_available, false),
            display_value(month.counter_hours_used, false),
            display_value(f64::from(month.served_from_elsewhere), true),
        ]);
    }
    page.table(&table);
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

/// One series per `(label, values)`, in the palette's order.
fn labelled_series(shares: &[(String, Vec<f64>)]) -> Vec<Series<'_>> {
    shares
        .iter()
        .enumerate()
        .map(|(i, (label, values))| Series {
            label: label.clone(),
            values,
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
    let population = values(table, "population_15plus");
    let share_of_15plus = |name: &str| -> Vec<f64> {
        values(table, name)
            .iter()
            .zip(population)
            .map(|(v, p)| if *p > 0.0 { 100.0 * v / p } else { f64::NAN })
            .collect()
    };
    let shares = [
        ("MitID users 15+", share_of_15plus("mitid_users_15plus"), 1),
        ("NemID only", share_of_15plus("nemid_only"), 2),
        ("without a working eID", share_of_15plus("without_eid"), 3),
    ];
    let share_series: Vec<Series<'_>> = shares
        .iter()
        .map(|(label, values, color)| Series {
            label: format!("{label} (%)"),
            values,
            color: PALETTE[*color],
        })
        .collect();
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
    // Per-band shares: an 80+ citizen without eID is a larger part of a smaller band, which the
    // absolute counts hide.
    let band_shares = |prefix: &str| -> Vec<(String, Vec<f64>)> {
        age_bands
            .iter()
            .map(|band| {
                let suffix = band_suffix(band);
                let population = values(table, &format!("population_age_{suffix}"));
                let share = values(table, &format!("{prefix}{suffix}"))
                    .iter()
                    .zip(population)
                    .map(|(v, p)| if *p > 0.0 { 100.0 * v / p } else { f64::NAN })
                    .collect();
                (format!("age {band} (%)"), share)
            })
            .collect()
    };
    let mitid_share_by_band = band_shares("mitid_users_age_");
    let without_share_by_band = band_shares("without_eid_age_");
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
                    ],
                ),
            },
            Panel {
                title: "Share of citizens aged 15+".into(),
                y_label: "per cent".into(),
                series: share_series,
            },
            // Thousands beside millions: on the first panel's scale this line lies on the axis.
            Panel {
                title: "Citizens aged 15+ without a working eID (own scale)".into(),
                y_label: "citizens".into(),
                series: vec![Series {
                    label: "without a working eID".into(),
                    values: values(table, "without_eid"),
                    color: PALETTE[3],
                }],
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
    let by_age = line_chart(
        &table.dates,
        &[
            Panel {
                title: "MitID users, share of each age band".into(),
                y_label: "per cent of the band".into(),
                series: labelled_series(&mitid_share_by_band),
            },
            Panel {
                title: "Without a working eID, share of each age band".into(),
                y_label: "per cent of the band".into(),
                series: labelled_series(&without_share_by_band),
            },
        ],
        markers,
    )?;
    Ok(vec![
        ("adoption.svg".to_owned(), adoption),
        ("queues.svg".to_owned(), queues),
        ("waits.svg".to_owned(), waits),
        ("lockouts.svg".to_owned(), lockouts),
        ("age-bands.svg".to_owned(), by_age),
    ])
}

/// Each incident's window as two markers, its first day and its first day back to normal
/// (those inside the run).
fn incident_markers(table: &DailyTable, outcome: &PolicyOutcome) -> Vec<Marker> {
    outcome
        .incidents
        .iter()
        .flat_map(|incident| {
            [
                (incident.from, format!("{} begins", incident.name)),
                (incident.until, format!("{} over", incident.name)),
            ]
        })
        .filter_map(|(date, label)| {
            Some(Marker {
                day: table.day_index(&date.to_string())?,
                label,
            })
        })
        .collect()
}

/// The live flows that failed per component and day, above the flows performed, with the
/// milestones and the incidents' windows marked.
fn live_failures_chart(
    table: &DailyTable,
    live: &LiveReport,
    markers: &[Marker],
) -> Result<String> {
    let as_f64 =
        |rows: &std::collections::BTreeMap<&'static str, Vec<u64>>| -> Vec<(String, Vec<f64>)> {
            rows.iter()
                .map(|(component, row)| {
                    (
                        (*component).to_owned(),
                        row.iter().map(|&n| n as f64).collect(),
                    )
                })
                .collect()
        };
    let failed = as_f64(&live.over_time.failed);
    let performed = as_f64(&live.over_time.performed);
    let panels = [
        Panel {
            title: "Live flows failed per component and day".to_owned(),
            y_label: "failed flows".to_owned(),
            series: labelled_series(&failed),
        },
        Panel {
            title: "Live flows performed per component and day".to_owned(),
            y_label: "flows".to_owned(),
            series: labelled_series(&performed),
        },
    ];
    line_chart(&table.dates, &panels, markers)
}

/// The live section of `summary.json`: what `live.json` holds but wall-clock latencies and
/// error texts (URLs with ports), so the summary stays deterministic for a scenario and seed.
fn live_summary(live: &LiveReport) -> Result<Value> {
    let mut value = serde_json::to_value(live)?;
    if let Value::Object(map) = &mut value {
        for wall_clock in ["latency_ms", "first_errors"] {
            map.remove(wall_clock);
        }
        // How an incident was injected names the gates' ports.
        if let Some(Value::Array(incidents)) = map.get_mut("incidents") {
            for incident in incidents {
                if let Value::Object(incident) = incident {
                    incident.remove("injected");
                }
            }
        }
        // So does the evidence of a `--target` service's violations (live.json keeps it).
        if let Some(Value::Object(broken)) = map.get_mut("target").map(|t| &mut t["by_requirement"])
        {
            let examples = broken
                .values_mut()
                .filter_map(|v| v["examples"].as_array_mut());
            for example in examples.flatten().filter_map(Value::as_object_mut) {
                example.remove("evidence");
            }
        }
    }
    Ok(value)
}

/// The live section of report.md / report.html: flows performed and failing per component and
/// journey, beside the model's own accounting of the same actions.
fn live_section(page: &mut Page, live: &LiveReport) {
    page.heading(&format!(
        "Live run: real flows against the components ({} runtime)",
        live.runtime
    ));
    page.paragraph(&format!(
        "{} of {} citizens acted for real: {} flows, {} failed. The model put {} actions to the \
         components and its rules: {} performed live, {} answered by its rules (citizens outside \
         the sample); {} turned out otherwise than its rules expected, and the figures above \
         count what the components answered.",
        live.sample_size,
        live.population,
        live.flows.performed,
        live.flows.failed,
        live.model.actions_resolved,
        live.model.performed_live,
        live.model.resolved_by_model_outside_sample,
        live.model.diverged_from_model_rules,
    ));
    let mut components = Table::new(vec!["component".into(), "flows".into(), "failed".into()]);
    for (component, counts) in &live.by_component {
        components.row(vec![
            (*component).to_owned(),
            counts.performed.to_string(),
            counts.failed.to_string(),
        ]);
    }
    page.table(&components);
    let mut journeys = Table::new(vec![
        "journey".into(),
        "flows".into(),
        "failed".into(),
        "otherwise than the model expected".into(),
        "p50 (ms)".into(),
        "p95 (ms)".into(),
    ]);
    for (journey, counts) in &live.by_journey {
        let diverged: u64 = live
            .model
            .diverged_by_journey
            .get(journey)
            .map_or(0, |by| by.values().sum());
        let latency = live.latency_ms.get(journey);
        journeys.row(vec![
            journey.replace('_', " "),
            counts.performed.to_string(),
            counts.failed.to_string(),
            diverged.to_string(),
            latency.map_or_else(String::new, |l| format!("{:.1}", l.p50)),
            latency.map_or_else(String::new, |l| format!("{:.1}", l.p95)),
        ]);
    }
    page.table(&journeys);
    if !live.incidents.is_empty() {
        let mut incidents = Table::new(vec![
            "incident".into(),
            "window".into(),
            "injected".into(),
            "flows failed in it".into(),
        ]);
        for incident in &live.incidents {
            incidents.row(vec![
                incident.name.clone(),
                format!("{} to {}", incident.from, incident.until),
                incident.injected.join("; "),
                incident.flows_failed.to_string(),
            ]);
        }
        page.table(&incidents);
    }
    if let Some(target) = &live.target {
        target_section(page, target);
    }
}

/// What the integrator's service of `--target` did, and each requirement it broke.
fn target_section(page: &mut Page, target: &crate::live::TargetReport) {
    page.paragraph(&format!(
        "The service at {} took the {} sector's logins: {} (the evidence of each is in live.json).",
        target.base_url,
        target.sector,
        target.counts(),
    ));
    if target.by_requirement.is_empty() {
        return;
    }
    let mut broken = Table::new(vec![
        "requirement".into(),
        "what".into(),
        "times".into(),
        "first".into(),
    ]);
    for (id, violations) in &target.by_requirement {
        broken.row(vec![
            format!("{id} ({})", violations.level),
            format!("{}: {}", violations.kind, violations.title),
            violations.count.to_string(),
            violations
                .examples
                .first()
                .map_or_else(String::new, |v| format!("{}: {}", v.at, v.what)),
        ]);
    }
    page.table(&broken);
}

// One page section per line of the report, in the order a planner reads them.
#[allow(clippy::too_many_lines)]
fn pages(
    outcome: &PolicyOutcome,
    provenance: &Provenance,
    table: &DailyTable,
    charts: &[(String, String)],
    worst: &[Worst<'_>],
    live: Option<&LiveReport>,
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
        let mut row = vec![date.clone(), readable_milestone(&milestone.name)];
        match table.day_index(&date) {
            Some(day) => row.extend(HEADLINE.iter().map(|(name, _)| {
                table
                    .column(name)
                    .map_or_else(String::new, |c| display_value(c.values[day], c.integer))
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
                display_value(column.values[best], column.integer),
                table.dates[best].clone(),
            ]);
        }
    }
    page.table(&peaks);

    page.heading("How citizens got MitID, and how problems were solved (run totals)");
    let mut totals = Table::new(vec!["total".into(), "count".into()]);
    if let Ok(Value::Object(map)) = serde_json::to_value(&outcome.totals) {
        for (name, value) in map {
            let count = value
                .as_f64()
                .map_or_else(|| value.to_string(), |v| display_value(v, true));
            totals.row(vec![name.replace('_', " "), count]);
        }
    }
    page.table(&totals);

    if !outcome.incidents.is_empty() {
        page.heading("Incidents (the model's actions they made fail)");
        let mut incidents = Table::new(vec![
            "incident".into(),
            "kind".into(),
            "window".into(),
            "actions failed".into(),
            "citizens affected".into(),
        ]);
        for incident in &outcome.incidents {
            incidents.row(vec![
                incident.name.clone(),
                match &incident.component {
                    Some(component) => format!("{} of {component}", incident.kind),
                    None => incident.kind.clone(),
                },
                format!("{} to {}", incident.from, incident.until),
                incident.actions_failed.to_string(),
                incident.citizens_affected.to_string(),
            ]);
        }
        page.table(&incidents);
    }

    if let Some(live) = live {
        live_section(&mut page, live);
    }

    page.heading("Municipalities with the longest Citizen Service waits");
    municipality_waits(&mut page, worst);

    page.heading("Charts");
    for (file, svg) in charts {
        page.chart(file, svg);
    }
    page.heading("Assumptions (lines of the scenario file marked as such)");
    if provenance.assumptions.is_empty() {
        page.paragraph("The scenario file marks no line as an assumption.");
    } else {
        let mut assumptions = Table::new(vec!["line".into(), "as written".into()]);
        for (line, text) in &provenance.assumptions {
            assumptions.row(vec![line.to_string(), text.clone()]);
        }
        page.table(&assumptions);
    }
    page.paragraph(
        "Files: summary.json (deterministic figures), timing.json (wall times), timeseries.csv \
         (one row per day), municipalities.csv (Citizen Service load per municipality and month).",
    );
    (page.markdown(), page.html())
}
