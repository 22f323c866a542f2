//! The scenario's incidents (`incidents:`) as the pure model sees them: during an incident's window, the
//! actions it touches fail in the model's own rules, and the model reacts to those failures as
//! to any other (a citizen whose login fails tries another route, a failed enrolment goes to
//! Citizen Service, ...).
//!
//! Which actions an incident touches, and how they fail:
//!
//! | kind | touches | fails as |
//! |---|---|---|
//! | `outage` | actions served by `component` | unavailable (down) or timed out (paused) |
//! | `latency` | the same, only when the added latency reaches the call timeout | timed out |
//! | `error_rate` | the same, a share `error_rate` of them | unavailable |
//! | `cpr_lockout_attack` | logins through the broker of the victims (a share of those with a CPR number) | unavailable ("try again later") |
//! | `geo_block` | logins through the broker of citizens living abroad | refused |
//!
//! The draws (which call errs, who is a victim) come from streams of their own keyed by the
//! incident, the citizen and the instant, never from the model's: an incident changes outcomes
//! only through the failures it causes, and a scenario without incidents runs byte for byte as
//! before.

use crate::kernel::{RandomStreams, SimTime};
use crate::policy::calendar::day_index;
use crate::policy::outcome::IncidentFigures;
use crate::policy::population::{Citizen, traits};
use crate::policy::port::{Action, Credential, Failure, Outcome, RecoveryRoute};
use crate::policy::scenario::{
    CALL_TIMEOUT_MS, Incident, IncidentKind, IncidentTarget, OutageMode, PolicyScenario, kind_name,
};

/// The parts of the lab an action goes through (an incident on any of them touches it).
#[must_use]
pub fn served_by(action: Action) -> &'static [IncidentTarget] {
    const NEMID: &[IncidentTarget] = &[IncidentTarget::Idp, IncidentTarget::Nemid];
    match action {
        Action::SectorLogin {
            credential: Credential::Nemid,
            ..
        }
        | Action::NemidMigrationLogin
        | Action::Recovery {
            route: RecoveryRoute::Nemid,
            ..
        } => NEMID,
        Action::SectorLogin { .. } | Action::Enrolment { .. } | Action::Recovery { .. } => {
            &[IncidentTarget::Idp]
        }
        Action::CitizenServiceAppointment { .. } => &[IncidentTarget::CitizenService],
        Action::SupportCall { .. } => &[IncidentTarget::Support],
    }
}

/// One incident's window and what it has done so far.
struct Window<'a> {
    incident: &'a Incident,
    from: SimTime,
    until: SimTime,
    /// Seeds the incident's own draws.
    streams: RandomStreams,
    name: String,
    actions_failed: u64,
    /// Citizens with at least one action failed by the incident, one bit each.
    affected: Vec<u64>,
}

/// The incidents of a run.
pub(crate) struct Incidents<'a> {
    windows: Vec<Window<'a>>,
}

impl<'a> Incidents<'a> {
    pub(crate) fn new(sc: &'a PolicyScenario, seed: u64, population: usize) -> Self {
        let start = sc.population.start;
        let windows = sc
            .incidents
            .iter()
            .enumerate()
            .map(|(i, incident)| Window {
                incident,
                // Windows before the start clamp to day 0, so an incident already running on
                // the first day counts from there.
                from: SimTime::from_day(day_index(start, incident.from)),
                until: SimTime::from_day(day_index(start, incident.until)),
                streams: RandomStreams::new(seed),
                name: stream_name(i),
                actions_failed: 0,
                affected: if incident.from < incident.until {
                    vec![0; population.div_ceil(64)]
                } else {
                    Vec::new()
                },
            })
            .collect();
        Incidents { windows }
    }

    /// Whether there are none (the common case: nothing to check per action).
    pub(crate) fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// What the model's rules expect of `action` of citizen `c` (record `z`) at `now`, given
    /// the incidents: `expected` unless an incident in its window makes it fail.
    pub(crate) fn expected(
        &mut self,
        c: u32,
        z: &Citizen,
        now: SimTime,
        action: Action,
        expected: Outcome,
    ) -> Outcome {
        if !expected.succeeded() {
            return expected;
        }
        for w in &mut self.windows {
            if now < w.from || now >= w.until {
                continue;
            }
            let Some(failure) = w.failure(c, z, now, action) else {
                continue;
            };
            w.actions_failed += 1;
            if let Some(word) = w.affected.get_mut(c as usize / 64) {
                *word |= 1 << (c % 64);
            }
            return Outcome::Failed(failure);
        }
        expected
    }

    /// Each incident's figures, in scenario order.
    pub(crate) fn figures(&self) -> Vec<IncidentFigures> {
        self.windows
            .iter()
            .map(|w| IncidentFigures {
                name: w.incident.name.clone(),
                kind: kind_name(w.incident.kind).to_owned(),
                component: w.incident.component.map(|t| t.name().to_owned()),
                from: w.incident.from,
                until: w.incident.until,
                actions_failed: w.actions_failed,
                citizens_affected: w
                    .affected
                    .iter()
                    .map(|word| u64::from(word.count_ones()))
                    .sum(),
            })
            .collect()
    }
}

/// Whether citizen `c` (record `z`) is a victim of the CPR lock-out attack `incident`, the
/// `index`-th of the scenario, in a run with `seed`: a live run locks out exactly the citizens
/// the model counts as victims.
#[must_use]
pub fn lockout_victim(seed: u64, index: usize, incident: &Incident, c: u32, z: &Citizen) -> bool {
    incident.kind == IncidentKind::CprLockoutAttack
        && is_victim(
            RandomStreams::new(seed),
            &stream_name(index),
            incident,
            c,
            z,
        )
}

fn stream_name(index: usize) -> String {
    format!("incident-{index}")
}

fn is_victim(streams: RandomStreams, name: &str, incident: &Incident, c: u32, z: &Citizen) -> bool {
    // A victim is one for the whole attack: the draw is keyed by the citizen only.
    !z.has(traits::NO_CPR)
        && streams.substream(name, u64::from(c)).uniform() < incident.victims_share.unwrap_or(0.0)
}

impl Window<'_> {
    /// How `action` fails in the window, `None` if the incident does not touch it.
    fn failure(&self, c: u32, z: &Citizen, now: SimTime, action: Action) -> Option<Failure> {
        let incident = self.incident;
        let hits =
            |target: Option<IncidentTarget>| target.is_some_and(|t| served_by(action).contains(&t));
        let login_at_broker = action.is_login() && served_by(action).contains(&IncidentTarget::Idp);
        match incident.kind {
            IncidentKind::Outage if hits(incident.component) => {
                Some(match incident.mode.unwrap_or_default() {
                    OutageMode::Down => Failure::Unavailable,
                    OutageMode::Paused => Failure::TimedOut,
                })
            }
            IncidentKind::Latency
                if hits(incident.component)
                    && incident.latency_ms.unwrap_or(0) >= CALL_TIMEOUT_MS =>
            {
                Some(Failure::TimedOut)
            }
            IncidentKind::ErrorRate if hits(incident.component) => {
                let key = (u64::from(c) << 32) ^ now.as_millis();
                let draw = self.streams.substream(&self.name, key).uniform();
                (draw < incident.error_rate.unwrap_or(0.0)).then_some(Failure::Unavailable)
            }
            // The broker's answer to a person over the attempt limit is "try again later".
            IncidentKind::CprLockoutAttack
                if login_at_broker && is_victim(self.streams, &self.name, incident, c, z) =>
            {
                Some(Failure::Unavailable)
            }
            IncidentKind::GeoBlock if login_at_broker && z.has(traits::ABROAD) => {
                Some(Failure::Refused)
            }
            _ => None,
        }
    }
}
