//! Runs a policy scenario and prints wall time, event count and peak memory.
//!
//! ```sh
//! cargo run --release -p mitid-sim --example policy -- scenarios/nemid-phaseout-2023.yaml [POPULATION] [SEED]
//! ```
//!
//! POPULATION overrides `population.size`; SEED overrides the scenario's seed. Peak memory is
//! the process's high-water resident set (`VmHWM` in `/proc/self/status`). Prints the `MitID` users
//! on a few milestone dates so a calibration can be read off the same run.

use std::time::Instant;

use mitid_sim::policy::{PolicyScenario, run_policy};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU seconds of this process so far (`/proc/self/stat` fields 14 and 15, in
/// clock ticks of 1/100 s on Linux): a figure less disturbed than wall time when other work
/// shares the machine.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: policy SCENARIO.yaml [POPULATION] [SEED]")?;
    let text = std::fs::read_to_string(&path)?;
    let mut scenario: PolicyScenario =
        serde_yaml::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    if let Some(n) = args.next() {
        scenario.population.size = n.parse()?;
    }
    let seed = match args.next() {
        Some(s) => s.parse()?,
        None => scenario.seed,
    };
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let outcome = run_policy(&scenario, seed, &mut |_| {}).map_err(|e| format!("{path}: {e}"))?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let population = f64::from(outcome.population);
    println!("scenario        {} (seed {seed})", outcome.scenario);
    println!("population      {}", outcome.population);
    println!("days            {}", outcome.days.len());
    println!("events          {}", outcome.event_count);
    println!("wall            {wall:.2} s");
    println!("per citizen     {:.3} us wall", wall * 1e6 / population);
    if let Some(cpu) = cpu {
        println!(
            "cpu             {cpu:.2} s ({:.3} us per citizen)",
            cpu * 1e6 / population
        );
    }
    match peak_rss_kib() {
        Some(kib) => println!("peak RSS        {:.1} MiB", kib as f64 / 1024.0),
        None => println!("peak RSS        unavailable"),
    }
    let scale = 5_900_000.0 / population;
    for m in &outcome.milestones {
        if let Some(row) = outcome.days.iter().find(|d| d.date == m.date) {
            println!(
                "{:<36} {}  mitid {:>8} (x{scale:.1} = {:>9.0})  nemid_only {:>8}  without_eid {:>7}  cs_queue {:>6}  cs_wait {} d",
                m.name,
                m.date,
                row.mitid_users,
                f64::from(row.mitid_users) * scale,
                row.nemid_only,
                row.without_eid,
                row.citizen_service_queue,
                or_empty(row.citizen_service_mean_wait_days),
            );
        }
    }
    if let Some(last) = outcome.days.last() {
        println!(
            "last day {}: mitid {} without_eid {} failed_logins(total) {} lockouts(total) {}",
            last.date,
            last.mitid_users,
            last.without_eid,
            outcome.totals.failed_logins,
            outcome.totals.lockouts
        );
    }
    println!("totals          {:?}", outcome.totals);
    // A one-municipality run: its Citizen Service load per month.
    if let [m] = outcome.municipalities.as_slice() {
        println!(
            "{} ({}), {} residents, {:.2} counters:",
            m.name, m.code, m.residents, m.counters
        );
        println!(
            "month    requests served hours_needed hours_used hours_open mean_wait_days offered_wait"
        );
        for x in &m.months {
            println!(
                "{}  {:>8} {:>6} {:>12.0} {:>10.0} {:>10.0} {:>14} {:>12.1}",
                x.month,
                x.requests,
                x.served,
                x.counter_hours_needed,
                x.counter_hours_used,
                x.counter_hours_available,
                or_empty(x.mean_wait_days),
                x.mean_offered_wait_days
            );
        }
    }
    if let Some(row) = outcome.days.iter().find(|d| {
        outcome
            .milestones
            .iter()
            .any(|m| m.name == "nemid_shutdown" && m.date == d.date)
    }) {
        println!(
            "without eID on shutdown day by age band {:?}: {:?}",
            outcome.age_bands, row.without_eid_by_age_band
        );
    }
    print_details(&outcome);
    Ok(())
}

/// Optional detail: every day's row (`POLICY_DAYS=1`), a one-municipality run's monthly
/// Citizen Service load, and who is without an eID on shutdown day.
fn print_details(outcome: &mitid_sim::policy::PolicyOutcome) {
    // POLICY_DAYS=1 prints every day's row (CSV-ish) for a quick look at a run's shape.
    if std::env::var_os("POLICY_DAYS").is_some() {
        println!(
            "date,mitid,nemid_only,without_eid,cs_queue,cs_requests,cs_served,cs_wait_days,cs_offered_wait_days,calls,answered,abandoned,wait_min,failed,lockouts"
        );
        for d in &outcome.days {
            println!(
                "{},{},{},{},{},{},{},{},{:.1},{},{},{},{},{},{}",
                d.date,
                d.mitid_users,
                d.nemid_only,
                d.without_eid,
                d.citizen_service_queue,
                d.citizen_service_requests,
                d.citizen_service_served,
                or_empty(d.citizen_service_mean_wait_days),
                d.citizen_service_offered_wait_days,
                d.support_calls,
                d.support_answered,
                d.support_abandoned,
                or_empty(d.support_mean_wait_minutes),
                d.failed_logins,
                d.lockouts
            );
        }
    }
}

/// A mean that may have no value (nobody served) as one decimal, or an empty field.
fn or_empty(value: Option<f64>) -> String {
    value.map_or_else(String::new, |v| format!("{v:.1}"))
}
