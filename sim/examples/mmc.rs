//! Runs the M/M/c validation model once and prints its figures and wall time as JSON.
//!
//! ```text
//! cargo run --release -p mitid-sim --example mmc -- \
//!     --servers 5 --arrival-rate-per-hour 40 --service-minutes 6 --horizon-hours 100000 \
//!     --warmup-hours 1000 --seed 1
//! ```
//!
//! `benches/simpy/compare.py` runs this and the `SimPy` model on the same parameters.

use std::process::ExitCode;
use std::time::Instant;

use mitid_sim::queue_model::{
    QueueKind, QueueParameters, QueueScenario, ServiceDistribution, run_queue_scenario,
};

fn parse_args() -> Result<QueueScenario, String> {
    let mut scenario = QueueScenario {
        kind: QueueKind::Queue,
        name: "mmc-example".to_owned(),
        seed: 1,
        queue: QueueParameters {
            servers: 5,
            arrival_rate_per_hour: 40.0,
            service_minutes_mean: 6.0,
            service_distribution: ServiceDistribution::Exponential,
            patience_minutes_mean: None,
        },
        horizon_hours: 100_000.0,
        warmup_hours: 1_000.0,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let [flag, value] = pair else {
            return Err(format!("flag {} needs a value", pair[0]));
        };
        let number = |what: &str| -> Result<f64, String> {
            value
                .parse::<f64>()
                .map_err(|e| format!("{what}: {value:?} is not a number ({e})"))
        };
        match flag.as_str() {
            "--servers" => {
                scenario.queue.servers = value
                    .parse()
                    .map_err(|e| format!("--servers: {value:?}: {e}"))?;
            }
            "--arrival-rate-per-hour" => scenario.queue.arrival_rate_per_hour = number(flag)?,
            "--service-minutes" => scenario.queue.service_minutes_mean = number(flag)?,
            "--patience-minutes" => scenario.queue.patience_minutes_mean = Some(number(flag)?),
            "--horizon-hours" => scenario.horizon_hours = number(flag)?,
            "--warmup-hours" => scenario.warmup_hours = number(flag)?,
            "--seed" => {
                scenario.seed = value
                    .parse()
                    .map_err(|e| format!("--seed: {value:?}: {e}"))?;
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(scenario)
}

fn main() -> ExitCode {
    let scenario = match parse_args() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let summary = match run_queue_scenario(&scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let wall_seconds = started.elapsed().as_secs_f64();
    let out = serde_json::json!({
        "engine": "mitid-sim",
        "model": summary.model,
        "arrivals": summary.arrivals,
        "served": summary.served,
        "mean_wait_minutes": summary.mean_wait_minutes,
        "p_wait": summary.p_wait,
        "utilization": summary.utilization,
        "theory_mean_wait_minutes": summary.theory.as_ref().map(|t| t.mean_wait_minutes),
        "event_count": summary.event_count,
        "wall_seconds": wall_seconds,
    });
    println!("{out}");
    ExitCode::SUCCESS
}
