//! The sampled citizens' routine logins, performed in batches of concurrent flows.
//!
//! Routine logins do not feed back into the model, so nothing waits for one: the driver queues
//! them (each with the citizen's state at its instant, read from the run) and performs a batch
//! at once — the citizens' logins concurrently, each citizen's own in order — when it is full,
//! before any of the model's actions is performed (which may change what a citizen holds in
//! the lab), and at every midnight (so a batch never spans two days, and an incident's window,
//! which begins and ends at a midnight, holds for all of a batch or none of it).
//!
//! The lab clock stands at the batch's last instant while it runs: a batch lies within one day,
//! and the components judge logins by the day (cut-offs) or by windows far longer than a batch
//! lasts in simulated time. The outcomes are counted in the queue's order, whatever order the
//! flows finished in, so the counts and the summary are the same every run.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mitid_components::runtime::Component;
use mitid_conformance::actions::ActionError;
use mitid_conformance::actions::broker::{self, BrokerLogin};
use mitid_sim::kernel::SimTime;
use mitid_sim::policy::population::Citizen;
use mitid_sim::policy::{Action, CitizenView, Credential, Outcome, Sector, Stage};

use super::journeys::{TARGET, behaviour_of, judged, routine_journey, target_journey};
use super::{Driver, failure_of};

/// At most this many routine logins in flight at once.
pub const BATCH: usize = 64;

/// A routine login waiting for its batch.
pub(super) struct QueuedLogin {
    at: SimTime,
    citizen: u32,
    record: Citizen,
    sector: Sector,
    credential: Credential,
}

/// What came of one queued login.
struct Done {
    answer: Result<BrokerLogin, ActionError>,
    took: Duration,
}

impl Driver {
    /// Queues a routine login of `citizen` at `sector` with what they hold at `at` (the app
    /// when MitID works, else NemID while it logs in anywhere). Whether the batch is full.
    pub(super) fn queue_routine_login(
        &mut self,
        citizen: u32,
        view: &CitizenView,
        at: SimTime,
        sector: Sector,
    ) -> bool {
        let credential = match view.stage {
            Stage::MitidWorks => Credential::Mitid(view.mitid),
            _ if view.nemid_usable => Credential::Nemid,
            // Nothing to log in with today: the need waits, as it does in the model.
            _ => {
                self.tally.routine_skipped += 1;
                return false;
            }
        };
        let login = QueuedLogin {
            at,
            citizen,
            record: view.record,
            sector,
            credential,
        };
        if self.target.as_ref().is_some_and(|t| t.serves(sector)) {
            self.queued_target.push(login);
        } else {
            self.queued.push(login);
        }
        self.queued.len() + self.queued_target.len() >= BATCH
    }

    /// Performs the queued routine logins and counts them, in the queue's order.
    pub(super) async fn flush_routine_logins(&mut self) {
        let target = std::mem::take(&mut self.queued_target);
        self.flush_target_logins(target).await;
        let batch = std::mem::take(&mut self.queued);
        self.perform_batch(batch).await;
    }

    /// Performs citizen `c`'s queued routine logins only (before an action of theirs, which may
    /// change what they hold in the lab); the others' stay queued, so batches stay full and
    /// their flows concurrent. The order of the counts still depends on the run's events
    /// alone, so the same seed counts the same.
    pub(super) async fn flush_routine_logins_of(&mut self, c: u32) {
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.queued_target)
            .into_iter()
            .partition(|login| login.citizen == c);
        self.queued_target = rest;
        self.flush_target_logins(mine).await;
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.queued)
            .into_iter()
            .partition(|login| login.citizen == c);
        self.queued = rest;
        self.perform_batch(mine).await;
    }

    /// Performs `batch` (each citizen's logins in order, the citizens concurrently) and counts
    /// it in its order.
    // Batch, run concurrently, then count in queue order: one pass reads clearer than three helpers.
    #[allow(clippy::too_many_lines)]
    async fn perform_batch(&mut self, batch: Vec<QueuedLogin>) {
        let Some(last) = batch.last() else {
            return;
        };
        // One after the other: the clock, each citizen's identity in the lab, the sectors'
        // clients and an attacker's requests (they share the lab's control World).
        let mut ready: Vec<Result<(), ActionError>> = Vec::with_capacity(batch.len());
        let clock = self.set_clock(last.at).await;
        for login in &batch {
            ready.push(match &clock {
                Err(err) => Err(clone_error(err)),
                Ok(()) => self.prepare(login).await,
            });
        }
        // Each citizen's logins in order, the citizens concurrently.
        let mut by_citizen: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (i, login) in batch.iter().enumerate() {
            if ready[i].is_ok() {
                by_citizen.entry(login.citizen).or_default().push(i);
            }
        }
        let mut flows = tokio::task::JoinSet::new();
        for (citizen, indices) in by_citizen {
            let Some(mut lab_citizen) = self.citizens.remove(&citizen) else {
                continue;
            };
            let jobs: Vec<_> = indices
                .into_iter()
                .filter_map(|i| {
                    let login = &batch[i];
                    let client = self.clients.get(&login.sector)?.clone();
                    Some((i, client, behaviour_of(&login.record, login.credential)))
                })
                .collect();
            flows.spawn(async move {
                let user_id = lab_citizen
                    .world
                    .citizen_named(&lab_citizen.alias)
                    .user_id
                    .clone();
                let mut done = Vec::with_capacity(jobs.len());
                for (i, client, behaviour) in jobs {
                    let started = Instant::now();
                    let answer = broker::login_at_client(
                        &mut lab_citizen.world,
                        &user_id,
                        &client,
                        behaviour,
                    )
                    .await;
                    done.push((
                        i,
                        Done {
                            answer,
                            took: started.elapsed(),
                        },
                    ));
                }
                (citizen, lab_citizen, done)
            });
        }
        let mut results: BTreeMap<usize, Done> = BTreeMap::new();
        while let Some(joined) = flows.join_next().await {
            // A flow that panicked lost its citizen's World; their logins count as failed below.
            if let Ok((citizen, lab_citizen, done)) = joined {
                self.citizens.insert(citizen, lab_citizen);
                results.extend(done);
            }
        }
        for (i, login) in batch.into_iter().enumerate() {
            let journey = routine_journey(login.credential);
            let (answer, took) = match std::mem::replace(&mut ready[i], Ok(())) {
                Err(err) => (Err(err), Duration::ZERO),
                Ok(()) => match results.remove(&i) {
                    Some(done) => (done.answer, done.took),
                    None => (
                        Err(ActionError::Citizen(format!(
                            "the flow of citizen {} ended without an answer",
                            login.citizen
                        ))),
                        Duration::ZERO,
                    ),
                },
            };
            let outcome = match answer {
                Ok(answer) => {
                    let (outcome, refusal) = judged(answer);
                    if let Some((error, description)) = refusal {
                        self.tally.refusal(journey, &error, &description);
                    }
                    outcome
                }
                Err(err) => {
                    self.tally.error(journey, &err);
                    Outcome::Failed(failure_of(&err))
                }
            };
            let action = Action::SectorLogin {
                sector: login.sector,
                credential: login.credential,
            };
            self.count_incident_failure(action, outcome, login.at);
            self.tally.record(
                journey,
                Component::Idp.name(),
                outcome,
                None,
                took,
                login.at,
            );
        }
    }

    /// Performs the queued routine logins at the integrator's service (`--target`), one after
    /// the other in the queue's order, each judged by its own simulated day (see [`super::target`]):
    /// the service is one process of the integrator's, and its verdicts are recorded in order.
    async fn flush_target_logins(&mut self, logins: Vec<QueuedLogin>) {
        for login in logins {
            let journey = target_journey(login.credential);
            let started = Instant::now();
            let answer = self
                .target_login(login.citizen, &login.record, login.credential, login.at)
                .await;
            let outcome = answer.unwrap_or_else(|err| {
                self.tally.error(journey, &err);
                Outcome::Failed(failure_of(&err))
            });
            self.tally
                .record(journey, TARGET, outcome, None, started.elapsed(), login.at);
        }
    }

    /// What a queued login needs before it can run: the citizen in the lab, the sector's
    /// client, and, for a victim of a lock-out attack under way, the attacker's requests.
    async fn prepare(&mut self, login: &QueuedLogin) -> Result<(), ActionError> {
        self.ensure_citizen(login.citizen, &login.record).await?;
        self.client(login.sector).await?;
        self.attack_if_victim(login.citizen, &login.record).await;
        Ok(())
    }
}

/// The same error again, for every login of a batch whose clock could not be set.
fn clone_error(err: &ActionError) -> ActionError {
    ActionError::Unavailable(err.to_string())
}
