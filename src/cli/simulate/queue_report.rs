//! The report of a `kind: queue` validation run: measured figures next to the theory's.

use anyhow::Result;
use mitid_sim::queue_model::QueueSummary;
use serde_json::Value;

use super::page::{Page, Table};
use super::provenance::Provenance;

pub struct QueueReport {
    pub summary: Value,
    pub markdown: String,
    pub html: String,
}

fn number(value: f64) -> String {
    format!("{value:.4}")
}

pub fn render(summary: &QueueSummary, provenance: &Provenance) -> Result<QueueReport> {
    let mut page = Page::new(&format!("Queue validation: {}", summary.name));
    page.facts(&provenance.report_facts());
    let q = &summary.queue;
    page.facts(&[
        ("model", summary.model.clone()),
        ("seed", summary.seed.to_string()),
        ("servers", q.servers.to_string()),
        ("arrivals per hour", q.arrival_rate_per_hour.to_string()),
        ("mean service (minutes)", q.service_minutes_mean.to_string()),
        (
            "mean patience (minutes)",
            q.patience_minutes_mean
                .map_or_else(|| "none (nobody abandons)".to_owned(), |p| p.to_string()),
        ),
        (
            "horizon / warm-up (hours)",
            format!("{} / {}", summary.horizon_hours, summary.warmup_hours),
        ),
        ("measured arrivals", summary.arrivals.to_string()),
        ("events", summary.event_count.to_string()),
    ]);
    page.heading("Measured against theory");
    let formula = summary.theory.as_ref().map_or_else(
        || "no formula".to_owned(),
        |theory| theory.formula.to_owned(),
    );
    let mut table = Table::new(vec![
        "figure".into(),
        "simulated".into(),
        format!("theory ({formula})"),
    ]);
    let theory = summary.theory.as_ref();
    let ci = summary.mean_wait_ci95.as_ref().map_or_else(
        || "too few arrivals for an interval".to_owned(),
        |ci| {
            format!(
                "{} (95 % CI {} to {})",
                number(ci.mean),
                number(ci.low),
                number(ci.high)
            )
        },
    );
    table.row(vec![
        "mean wait (minutes)".into(),
        ci,
        theory.map_or_else(String::new, |t| number(t.mean_wait_minutes)),
    ]);
    table.row(vec![
        "P(wait)".into(),
        number(summary.p_wait),
        theory
            .and_then(|t| t.p_wait)
            .map_or_else(String::new, number),
    ]);
    table.row(vec![
        "utilisation".into(),
        number(summary.utilization),
        theory.map_or_else(String::new, |t| number(t.utilization)),
    ]);
    table.row(vec![
        "abandoned fraction".into(),
        number(summary.abandoned_fraction),
        theory.map_or_else(String::new, |t| number(t.abandoned_fraction)),
    ]);
    table.row(vec![
        "served".into(),
        summary.served.to_string(),
        String::new(),
    ]);
    page.table(&table);
    page.heading("Wait percentiles (minutes)");
    let mut percentiles = Table::new(vec!["p50".into(), "p90".into(), "p99".into()]);
    percentiles.row(vec![
        number(summary.wait_p50_minutes),
        number(summary.wait_p90_minutes),
        number(summary.wait_p99_minutes),
    ]);
    page.table(&percentiles);
    page.paragraph("Files: summary.json (deterministic figures), timing.json (wall times).");
    let mut json = serde_json::to_value(summary)?;
    if let Value::Object(map) = &mut json {
        map.insert("kind".to_owned(), Value::from("queue"));
        map.insert("provenance".to_owned(), provenance.to_json());
    }
    Ok(QueueReport {
        summary: json,
        markdown: page.markdown(),
        html: page.html(),
    })
}
