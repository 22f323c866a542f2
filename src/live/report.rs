//! What a live run counts, and `live.json`.

use std::collections::BTreeMap;
use std::time::Duration;

use mitid_components::runtime::RuntimeKind;
use mitid_conformance::actions::ActionError;
use mitid_sim::kernel::SimTime;
use mitid_sim::policy::{Failure, LiveSample, Outcome, PolicyScenario};
use serde::Serialize;

use super::incidents::IncidentRecord;
use super::target::TargetReport;

/// Flows performed, and of those, failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub performed: u64,
    pub failed: u64,
}

impl Counts {
    fn add(&mut self, failed: bool) {
        self.performed += 1;
        self.failed += u64::from(failed);
    }
}

/// The driver's running counts.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Actions of citizens outside the sample, answered by the model's rules.
    pub by_model: u64,
    /// Actions of sampled citizens, each performed as a real flow.
    pub sampled_actions: u64,
    by_journey: BTreeMap<&'static str, Counts>,
    by_component: BTreeMap<&'static str, Counts>,
    by_cause: BTreeMap<&'static str, u64>,
    /// Live outcomes of the model's actions other than the model expected.
    pub diverged: u64,
    /// The same by journey, as `expected X, got Y`.
    diverged_by_journey: BTreeMap<&'static str, BTreeMap<String, u64>>,
    /// Routine logins of a citizen who held nothing to log in with that day.
    pub routine_skipped: u64,
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    refusals: BTreeMap<&'static str, BTreeMap<String, u64>>,
    /// The first error of each journey, so a failing run says why without a debugger.
    first_errors: BTreeMap<&'static str, String>,
    /// Flows by component and simulated day (index from the start date).
    by_component_day: BTreeMap<&'static str, BTreeMap<u32, Counts>>,
}

impl Tally {
    pub fn error(&mut self, journey: &'static str, err: &ActionError) {
        if let ActionError::Refused { answer, .. } = err {
            self.refusal(
                journey,
                answer["error"].as_str().unwrap_or("refused"),
                answer["error_description"].as_str().unwrap_or_default(),
            );
        }
        self.first_errors
            .entry(journey)
            .or_insert_with(|| err.to_string());
    }

    /// A flow a component refused: its `error` and the first word of the description (the
    /// reason code, e.g. `nemid_cutoff_passed`), counted by journey.
    pub fn refusal(&mut self, journey: &'static str, error: &str, description: &str) {
        // Reason codes are snake_case words; a description in prose (with dates and ids in
        // it) would make every refusal a key of its own, so the error alone names those.
        let reason = description
            .split(|c: char| c.is_whitespace() || c == ':')
            .next()
            .filter(|word| word.contains('_'));
        let key = match reason {
            Some(reason) => format!("{error}: {reason}"),
            None => error.to_owned(),
        };
        *self
            .refusals
            .entry(journey)
            .or_default()
            .entry(key)
            .or_default() += 1;
    }

    pub fn record(
        &mut self,
        journey: &'static str,
        component: &'static str,
        outcome: Outcome,
        expected: Option<Outcome>,
        took: Duration,
        at: SimTime,
    ) {
        let failed = !outcome.succeeded();
        self.by_journey.entry(journey).or_default().add(failed);
        self.by_component.entry(component).or_default().add(failed);
        self.by_component_day
            .entry(component)
            .or_default()
            .entry(at.day())
            .or_default()
            .add(failed);
        if let Outcome::Failed(failure) = outcome {
            *self.by_cause.entry(cause_name(failure)).or_default() += 1;
        }
        if let Some(expected) = expected.filter(|&e| e != outcome) {
            self.diverged += 1;
            let key = format!(
                "expected {}, got {}",
                outcome_name(expected),
                outcome_name(outcome)
            );
            *self
                .diverged_by_journey
                .entry(journey)
                .or_default()
                .entry(key)
                .or_default() += 1;
        }
        self.latencies.entry(journey).or_default().push(took);
    }

    /// `live.json`: the run's figures next to what the components did.
    pub fn report(
        &self,
        runtime: RuntimeKind,
        scenario: &PolicyScenario,
        sample: &LiveSample,
        model_resolved: u64,
        model_diverged: u64,
    ) -> LiveReport {
        let total = self
            .by_journey
            .values()
            .fold(Counts::default(), |a, c| Counts {
                performed: a.performed + c.performed,
                failed: a.failed + c.failed,
            });
        let latency_ms = self
            .latencies
            .iter()
            .map(|(journey, took)| (*journey, Latency::of(took)))
            .collect();
        LiveReport {
            complete: true,
            stopped_at: None,
            runtime: super::session::runtime_name(runtime),
            population: scenario.population.size,
            sample_size: sample.len() as u64,
            sampled_citizens: sample.indices().to_vec(),
            flows: total,
            by_journey: self.by_journey.clone(),
            by_component: self.by_component.clone(),
            failures_by_cause: self.by_cause.clone(),
            latency_ms,
            refusals: self.refusals.clone(),
            first_errors: self.first_errors.clone(),
            routine_logins_skipped: self.routine_skipped,
            over_time: OverTime::of(scenario, &self.by_component_day),
            incidents: Vec::new(),
            target: None,
            model: ModelSide {
                actions_resolved: model_resolved,
                diverged_from_model_rules: model_diverged,
                diverged_by_journey: self.diverged_by_journey.clone(),
                resolved_by_model_outside_sample: self.by_model,
                performed_live: self.sampled_actions,
            },
        }
    }
}

impl LiveReport {
    /// Marks the report as that of a run stopped at simulated instant `at`.
    pub fn mark_incomplete(&mut self, at: String) {
        self.complete = false;
        self.stopped_at = Some(at);
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed(failure) => cause_name(failure),
    }
}

fn cause_name(failure: Failure) -> &'static str {
    match failure {
        Failure::Refused => "refused",
        Failure::Unavailable => "unavailable",
        Failure::TimedOut => "timed_out",
    }
}

/// `live.json`.
#[derive(Debug, Clone, Serialize)]
pub struct LiveReport {
    /// False when the run was stopped (Ctrl-C, SIGTERM) before the scenario's end: the counts
    /// are those of the flows up to `stopped_at`.
    pub complete: bool,
    /// The simulated instant the run stopped at, when it did not finish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    pub runtime: &'static str,
    pub population: u32,
    pub sample_size: u64,
    pub sampled_citizens: Vec<u32>,
    /// Every real flow (the model's actions of sampled citizens and their routine logins).
    pub flows: Counts,
    pub by_journey: BTreeMap<&'static str, Counts>,
    pub by_component: BTreeMap<&'static str, Counts>,
    pub failures_by_cause: BTreeMap<&'static str, u64>,
    pub latency_ms: BTreeMap<&'static str, Latency>,
    /// The components' refusals, by journey and `error: reason`.
    pub refusals: BTreeMap<&'static str, BTreeMap<String, u64>>,
    pub first_errors: BTreeMap<&'static str, String>,
    pub routine_logins_skipped: u64,
    /// Flows and failures per component over simulated time.
    pub over_time: OverTime,
    /// The scenario's incidents: their windows and how they were injected.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<IncidentRecord>,
    /// The integrator's service of `--target`, and the requirements it broke.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetReport>,
    pub model: ModelSide,
}

/// Flows and failures per component, one entry per simulated day of the run (dense, so a chart
/// reads it as it is).
#[derive(Debug, Clone, Serialize)]
pub struct OverTime {
    /// The first day; entry `i` of each list is day `start + i`.
    pub start: chrono::NaiveDate,
    pub days: u32,
    pub performed: BTreeMap<&'static str, Vec<u64>>,
    pub failed: BTreeMap<&'static str, Vec<u64>>,
}

impl OverTime {
    fn of(
        scenario: &PolicyScenario,
        by_day: &BTreeMap<&'static str, BTreeMap<u32, Counts>>,
    ) -> OverTime {
        let start = scenario.population.start;
        let days = mitid_sim::policy::calendar::day_index(start, scenario.population.end) + 1;
        let dense = |pick: fn(&Counts) -> u64| -> BTreeMap<&'static str, Vec<u64>> {
            by_day
                .iter()
                .map(|(component, counts)| {
                    let mut row = vec![0; days as usize];
                    for (&day, c) in counts {
                        if let Some(cell) = row.get_mut(day as usize) {
                            *cell += pick(c);
                        }
                    }
                    (*component, row)
                })
                .collect()
        };
        OverTime {
            start,
            days,
            performed: dense(|c| c.performed),
            failed: dense(|c| c.failed),
        }
    }
}

/// The model's side of the accounting.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSide {
    /// Every action the model put to the port.
    pub actions_resolved: u64,
    /// Of those, how many the components answered otherwise than the model's rules.
    pub diverged_from_model_rules: u64,
    /// Those by journey, as `expected X, got Y` (X and Y: `succeeded` or the failure's cause).
    pub diverged_by_journey: BTreeMap<&'static str, BTreeMap<String, u64>>,
    /// Actions of citizens outside the sample, answered by the model's rules.
    pub resolved_by_model_outside_sample: u64,
    /// Actions of the sampled citizens, each performed as a real flow (with the routine
    /// logins, the flows of `by_journey`). With the line above, every action the model put.
    pub performed_live: u64,
}

/// Wall-clock latency of one journey's flows, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    fn of(took: &[Duration]) -> Latency {
        let mut ms: Vec<f64> = took.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        // Nearest rank: the smallest value with at least q of the flows at or below it.
        let rank = |q: f64| {
            let i = ((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len().max(1)) - 1;
            ms.get(i).copied().unwrap_or(0.0)
        };
        Latency {
            p50: rank(0.50),
            p95: rank(0.95),
            p99: rank(0.99),
            max: ms.last().copied().unwrap_or(0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::failure_of;
    use super::*;
    use mitid_components::runtime::Component;

    #[test]
    fn counts_add_up_and_a_diverging_outcome_is_counted() {
        let mut tally = Tally::default();
        let ms = Duration::from_millis;
        tally.record(
            "a",
            Component::Idp.name(),
            Outcome::Succeeded,
            Some(Outcome::Succeeded),
            ms(2),
            SimTime::EPOCH,
        );
        tally.record(
            "a",
            Component::Idp.name(),
            Outcome::Failed(Failure::Refused),
            Some(Outcome::Succeeded),
            ms(4),
            SimTime::from_day(1),
        );
        tally.record(
            "b",
            Component::Support.name(),
            Outcome::Failed(Failure::TimedOut),
            None,
            ms(6),
            SimTime::from_day(1),
        );
        assert_eq!(
            tally.by_journey["a"],
            Counts {
                performed: 2,
                failed: 1
            }
        );
        assert_eq!(
            tally.by_component["idp"],
            Counts {
                performed: 2,
                failed: 1
            }
        );
        assert_eq!(
            tally.by_component["support"],
            Counts {
                performed: 1,
                failed: 1
            }
        );
        assert_eq!(tally.by_cause["refused"], 1);
        assert_eq!(tally.by_cause["timed_out"], 1);
        assert_eq!(
            tally.diverged, 1,
            "a routine login has no expectation to diverge from"
        );
        let latency = Latency::of(&tally.latencies["a"]);
        assert!((latency.p50 - 2.0).abs() < 1e-9 && (latency.max - 4.0).abs() < 1e-9);
    }

    #[test]
    fn an_unanswered_call_is_a_timeout_and_a_server_error_is_unavailability() {
        let timeout = ActionError::Unreachable {
            service: "the broker",
            url: "http://127.0.0.1:1/".into(),
            reason: "no answer within 20 s".into(),
        };
        assert_eq!(failure_of(&timeout), Failure::TimedOut);
        let down = ActionError::Unreachable {
            service: "the broker",
            url: "http://127.0.0.1:1/".into(),
            reason: "connection refused or unreachable".into(),
        };
        assert_eq!(failure_of(&down), Failure::Unavailable);
        let refused = |status| ActionError::Refused {
            service: "the broker",
            what: "a login".into(),
            status,
            answer: serde_json::Value::Null,
        };
        assert_eq!(failure_of(&refused(403)), Failure::Refused);
        assert_eq!(failure_of(&refused(503)), Failure::Unavailable);
    }
}
