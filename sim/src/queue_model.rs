//! The `kind: queue` validation model: one M/M/c, M/D/c or M/M/c+M queue, simulated on the
//! kernel and reported next to the queueing-theory figures for the same parameters.
//!
//! ```yaml
//! kind: queue
//! name: counter-check
//! seed: 1
//! queue:
//!   servers: 5
//!   arrival_rate_per_hour: 40
//!   service_minutes_mean: 6
//!   service_distribution: exponential   # also: deterministic
//!   patience_minutes_mean: null         # a number turns on abandonment (Erlang-A)
//! horizon_hours: 100000
//! warmup_hours: 1000
//! ```
//!
//! What is measured: customers arriving in `[warmup_hours, horizon_hours)`. Arrivals stop at
//! the horizon and the run continues until every measured customer has been served or has
//! abandoned, so no measured wait is cut short. Utilisation is the time-weighted busy fraction
//! over `[warmup, horizon]`. `mean_wait_minutes` is the mean time in queue over all measured
//! arrivals (an abandoning customer counts the time until they left, matching Erlang A's
//! `W_q = L_q/λ`); `p_wait` is the fraction that found every server busy.

use serde::{Deserialize, Serialize};

use crate::kernel::{QuaternaryHeap, RandomStreams, Scheduler, SimDuration, SimTime};
use crate::queueing_theory::{self, QueueTheory};
use crate::resources::MultiServerQueue;
use crate::stats::{BatchMeans, ConfidenceInterval, Histogram};

/// The only accepted value of `kind` in a queue scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueKind {
    /// `kind: queue`.
    Queue,
}

/// Service time distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceDistribution {
    /// Exponential with mean `service_minutes_mean` (M/M/c).
    Exponential,
    /// Always exactly `service_minutes_mean` (M/D/c).
    Deterministic,
}

/// The `queue:` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueParameters {
    /// Number of identical servers (c).
    pub servers: u32,
    /// Poisson arrival rate per hour (λ).
    pub arrival_rate_per_hour: f64,
    /// Mean service time in minutes (1/μ).
    pub service_minutes_mean: f64,
    /// Service time distribution.
    pub service_distribution: ServiceDistribution,
    /// Mean of the exponential patience in minutes; `null` or absent: nobody abandons.
    #[serde(default)]
    pub patience_minutes_mean: Option<f64>,
}

/// A `kind: queue` scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueScenario {
    /// Always `queue`.
    pub kind: QueueKind,
    /// Scenario name (appears in the summary).
    pub name: String,
    /// Master seed.
    pub seed: u64,
    /// The queue.
    pub queue: QueueParameters,
    /// Length of the run in hours (arrivals stop here).
    pub horizon_hours: f64,
    /// Hours at the start whose arrivals are not measured.
    pub warmup_hours: f64,
}

/// A field of a queue scenario that fails validation; `field` is the dotted YAML path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct QueueScenarioError {
    /// Dotted path of the offending field, e.g. `queue.servers`.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// Largest accepted horizon: 10 million hours (1 141 years) keeps every time far inside the
/// millisecond clock and a run's event count within reason.
const MAX_HORIZON_HOURS: f64 = 1e7;
/// More servers than this is not a queue anyone wants to validate and slows the theory sums.
const MAX_SERVERS: u32 = 100_000;

fn invalid(field: &'static str, problem: impl Into<String>) -> QueueScenarioError {
    QueueScenarioError {
        field,
        problem: problem.into(),
    }
}

fn positive(field: &'static str, x: f64) -> Result<(), QueueScenarioError> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("must be a positive finite number, got {x}"),
        ))
    }
}

impl QueueScenario {
    /// Checks every field; the error names the first offending one.
    pub fn validate(&self) -> Result<(), QueueScenarioError> {
        if self.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty"));
        }
        let q = &self.queue;
        if q.servers == 0 || q.servers > MAX_SERVERS {
            return Err(invalid(
                "queue.servers",
                format!("must be between 1 and {MAX_SERVERS}, got {}", q.servers),
            ));
        }
        positive("queue.arrival_rate_per_hour", q.arrival_rate_per_hour)?;
        positive("queue.service_minutes_mean", q.service_minutes_mean)?;
        if let Some(p) = q.patience_minutes_mean {
            positive("queue.patience_minutes_mean", p)?;
        }
        positive("horizon_hours", self.horizon_hours)?;
        if self.horizon_hours > MAX_HORIZON_HOURS {
            return Err(invalid(
                "horizon_hours",
                format!(
                    "must be at most {MAX_HORIZON_HOURS}, got {}",
                    self.horizon_hours
                ),
            ));
        }
        if !(self.warmup_hours.is_finite() && self.warmup_hours >= 0.0) {
            return Err(invalid(
                "warmup_hours",
                format!(
                    "must be a non-negative finite number, got {}",
                    self.warmup_hours
                ),
            ));
        }
        if self.warmup_hours >= self.horizon_hours {
            return Err(invalid(
                "warmup_hours",
                format!(
                    "must be less than horizon_hours ({}), got {}",
                    self.horizon_hours, self.warmup_hours
                ),
            ));
        }
        let offered_load = q.arrival_rate_per_hour * q.service_minutes_mean / 60.0;
        if q.patience_minutes_mean.is_none() && offered_load >= f64::from(q.servers) {
            return Err(invalid(
                "queue.arrival_rate_per_hour",
                format!(
                    "offered load {offered_load:.3} Erlang is not below {} servers: without \
                     abandonment the queue grows without bound (lower the rate, add servers or \
                     set patience_minutes_mean)",
                    q.servers
                ),
            ));
        }
        Ok(())
    }

    /// Kendall notation of the simulated queue, e.g. `M/M/5+M`.
    #[must_use]
    pub fn kendall(&self) -> String {
        let service = match self.queue.service_distribution {
            ServiceDistribution::Exponential => "M",
            ServiceDistribution::Deterministic => "D",
        };
        let abandonment = if self.queue.patience_minutes_mean.is_some() {
            "+M"
        } else {
            ""
        };
        format!("M/{service}/{}{abandonment}", self.queue.servers)
    }

    /// The theoretical figures, where a formula applies (see [`queueing_theory`]).
    #[must_use]
    pub fn theory(&self) -> Option<QueueTheory> {
        let q = &self.queue;
        let lambda = q.arrival_rate_per_hour / 60.0;
        let mu = 1.0 / q.service_minutes_mean;
        match (q.service_distribution, q.patience_minutes_mean) {
            (ServiceDistribution::Exponential, None) => queueing_theory::mmc(q.servers, lambda, mu),
            (ServiceDistribution::Exponential, Some(p)) => {
                queueing_theory::erlang_a(q.servers, lambda, mu, 1.0 / p)
            }
            (ServiceDistribution::Deterministic, None) => {
                queueing_theory::mdc(q.servers, lambda, q.service_minutes_mean)
            }
            (ServiceDistribution::Deterministic, Some(_)) => None,
        }
    }
}

/// A confidence interval in minutes.
pub type WaitInterval = ConfidenceInterval;

/// What a queue scenario run reports (serialised as `summary.json`). Deterministic: no wall
/// time in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueSummary {
    /// Always `"queue"`.
    pub kind: &'static str,
    /// Scenario name.
    pub name: String,
    /// Master seed.
    pub seed: u64,
    /// Kendall notation, e.g. `M/M/5`.
    pub model: String,
    /// The parameters the run used.
    pub queue: QueueParameters,
    /// Run length, hours.
    pub horizon_hours: f64,
    /// Unmeasured start, hours.
    pub warmup_hours: f64,
    /// Measured arrivals.
    pub arrivals: u64,
    /// Measured arrivals that were served.
    pub served: u64,
    /// Measured arrivals that abandoned.
    pub abandoned: u64,
    /// Mean time in queue per measured arrival, minutes (0 without arrivals).
    pub mean_wait_minutes: f64,
    /// 95 % batch-means confidence interval for the mean wait; `None` when there were too
    /// few arrivals for 20 batches.
    pub mean_wait_ci95: Option<WaitInterval>,
    /// Fraction of measured arrivals that had to wait.
    pub p_wait: f64,
    /// Time-weighted fraction of servers busy over `[warmup, horizon]`.
    pub utilization: f64,
    /// Fraction of measured arrivals that abandoned.
    pub abandoned_fraction: f64,
    /// Median wait, minutes (histogram, within 0.8 %).
    pub wait_p50_minutes: f64,
    /// 90th percentile wait, minutes.
    pub wait_p90_minutes: f64,
    /// 99th percentile wait, minutes.
    pub wait_p99_minutes: f64,
    /// Theoretical steady-state figures, where a formula applies.
    pub theory: Option<QueueTheory>,
    /// Events the kernel delivered.
    pub event_count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueueEvent {
    Arrival,
    ServiceEnd,
    WarmupEnd,
    Horizon,
}

/// Target number of batches for the confidence interval.
const BATCHES: usize = 20;

#[derive(Default)]
struct Measured {
    arrivals: u64,
    served: u64,
    abandoned: u64,
    waited: u64,
    total_wait_ms: u128,
}

/// Runs a queue scenario (after validating it) and reports what it measured.
// One event loop with its statistics reads best in one place; splitting it would only pass
// the same dozen locals around.
#[allow(clippy::too_many_lines)]
pub fn run_queue_scenario(scenario: &QueueScenario) -> Result<QueueSummary, QueueScenarioError> {
    scenario.validate()?;
    let q = &scenario.queue;
    let streams = RandomStreams::new(scenario.seed);
    let mut arrivals_rng = streams.stream("queue/arrivals");
    let mut service_rng = streams.stream("queue/service");
    let mut patience_rng = streams.stream("queue/patience");

    let mean_interarrival_ms = 3_600_000.0 / q.arrival_rate_per_hour;
    let service_ms = q.service_minutes_mean * 60_000.0;
    let patience_ms = q.patience_minutes_mean.map(|p| p * 60_000.0);
    let deterministic = q.service_distribution == ServiceDistribution::Deterministic;
    let warmup = SimTime::from_hours_f64(scenario.warmup_hours);
    let horizon = SimTime::from_hours_f64(scenario.horizon_hours);

    let mut scheduler: Scheduler<QueueEvent, QuaternaryHeap<QueueEvent>> =
        Scheduler::with_queue(QuaternaryHeap::new());
    let mut station: MultiServerQueue<bool> = MultiServerQueue::new(SimTime::EPOCH, q.servers);
    let mut waits = BatchMeans::new(BATCHES);
    let mut histogram = Histogram::new();
    let mut m = Measured::default();
    let mut utilization = 0.0;

    let sample_service = |rng: &mut crate::kernel::RandomStream| {
        if deterministic {
            SimDuration::from_millis(service_ms.round() as u64)
        } else {
            rng.exponential_millis(service_ms)
        }
    };
    // The schedule calls below cannot fail: every time is `now` plus a non-negative delay far
    // inside the clock's range (validated horizon), so errors are impossible by construction;
    // they are still propagated as a validation error rather than unwrapped.
    let clock_error = |e: crate::kernel::ScheduleError| invalid("horizon_hours", e.to_string());

    scheduler
        .schedule_at(warmup, QueueEvent::WarmupEnd)
        .map_err(clock_error)?;
    scheduler
        .schedule_at(horizon, QueueEvent::Horizon)
        .map_err(clock_error)?;
    let first = arrivals_rng.exponential_millis(mean_interarrival_ms);
    scheduler
        .schedule_in(first, QueueEvent::Arrival)
        .map_err(clock_error)?;

    let mut record_wait = |m: &mut Measured, waited: SimDuration| {
        let ms = waited.as_millis();
        m.total_wait_ms += u128::from(ms);
        waits.record(ms as f64 / 60_000.0);
        histogram.record(ms);
    };

    while let Some((now, event)) = scheduler.next_event() {
        match event {
            QueueEvent::Arrival => {
                if now >= horizon {
                    continue;
                }
                let measured = now >= warmup;
                let patience = patience_ms.map(|mean| patience_rng.exponential_millis(mean));
                if measured {
                    m.arrivals += 1;
                }
                if station.arrive(now, measured, patience).is_some() {
                    if measured {
                        m.served += 1;
                        record_wait(&mut m, SimDuration::ZERO);
                    }
                    let s = sample_service(&mut service_rng);
                    scheduler
                        .schedule_in(s, QueueEvent::ServiceEnd)
                        .map_err(clock_error)?;
                } else if measured {
                    m.waited += 1;
                }
                let gap = arrivals_rng.exponential_millis(mean_interarrival_ms);
                scheduler
                    .schedule_in(gap, QueueEvent::Arrival)
                    .map_err(clock_error)?;
            }
            QueueEvent::ServiceEnd => {
                let next = station.release(now, |gone| {
                    if gone.customer {
                        m.abandoned += 1;
                        record_wait(&mut m, gone.left - gone.arrived);
                    }
                });
                if let Some(started) = next {
                    if started.customer {
                        m.served += 1;
                        record_wait(&mut m, started.waited);
                    }
                    let s = sample_service(&mut service_rng);
                    scheduler
                        .schedule_in(s, QueueEvent::ServiceEnd)
                        .map_err(clock_error)?;
                }
            }
            QueueEvent::WarmupEnd => station.restart_statistics(now),
            QueueEvent::Horizon => {
                utilization = station.busy_servers_stat().mean(now) / f64::from(q.servers);
            }
        }
    }

    let to_minutes = |ms: Option<u64>| ms.map_or(0.0, |v| v as f64 / 60_000.0);
    let per_arrival = |n: u64| {
        if m.arrivals == 0 {
            0.0
        } else {
            n as f64 / m.arrivals as f64
        }
    };
    Ok(QueueSummary {
        kind: "queue",
        name: scenario.name.clone(),
        seed: scenario.seed,
        model: scenario.kendall(),
        queue: q.clone(),
        horizon_hours: scenario.horizon_hours,
        warmup_hours: scenario.warmup_hours,
        arrivals: m.arrivals,
        served: m.served,
        abandoned: m.abandoned,
        mean_wait_minutes: if m.arrivals == 0 {
            0.0
        } else {
            m.total_wait_ms as f64 / m.arrivals as f64 / 60_000.0
        },
        mean_wait_ci95: waits.interval(),
        p_wait: per_arrival(m.waited),
        utilization,
        abandoned_fraction: per_arrival(m.abandoned),
        wait_p50_minutes: to_minutes(histogram.quantile(0.5)),
        wait_p90_minutes: to_minutes(histogram.quantile(0.9)),
        wait_p99_minutes: to_minutes(histogram.quantile(0.99)),
        theory: scenario.theory(),
        event_count: scheduler.delivered(),
    })
}
