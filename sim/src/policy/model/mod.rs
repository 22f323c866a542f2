//! Citizens' behaviour and the event loop of a policy run.
//!
//! Only what matters is an event: a citizen deciding to get MitID (spontaneously, from the
//! time-varying hazard, or because a login failed after a NemID cut-off — the *first* need after
//! each cut-off is sampled, never each bank login), an enrolment finishing, a Citizen Service
//! appointment, an authenticator event of a MitID user (lost phone, forgotten PIN / password /
//! user ID, lock-out), a recovery finishing, support calls, shift changes and the end of each day.
//! Failed logins while a citizen waits (for an appointment, a device by post, a recovery) are
//! counted in one Poisson draw when the wait ends, from the citizen's need rates.
//!
//! Every subsystem draws from its own random stream (`decisions`, `needs`, `authenticator`,
//! `citizen-service`, `support`, `qr`, `population`), so changing, say, support staffing leaves
//! every citizen's decisions untouched.
//!
//! The model is split by concern: [`setup`] builds it from a scenario, [`migration`] and
//! [`appointments`] take citizens to MitID, [`nemid`] wears NemID out, [`authenticators`] breaks
//! and recovers MitID, [`support`] runs the support line and [`accumulators`] turns it all into
//! the day rows and municipal loads of the outcome. Typed per-citizen state lives in [`state`].
//! [`actions`] puts what a real system would see to the run's [`ActionPort`] and [`observe`]
//! answers the questions a [`crate::policy::PolicyRun`] asks between events.

// `c` (citizen index), `z` (its record), `m`/`a` (behaviour sections), `r` (route or reason)
// are used the same way in every handler; longer names would hide the logic.
#![allow(clippy::many_single_char_names)]

mod accumulators;
mod actions;
mod appointments;
mod authenticators;
mod migration;
mod nemid;
mod observe;
mod setup;
mod state;
mod support;

use mitid_devices::assurance::{Aal, Ial, Loa};

use crate::kernel::{DayScheduler, RandomStream, SimDuration, SimTime};
use crate::resources::CallCentre;

use super::PolicyError;
use super::calendar::{HazardCurve, NemidCalendar};
use super::citizen_service::CitizenService;
use super::outcome::{DayRow, RunTotals};
use super::population::{Citizen, MitidKind, traits};
use super::port::{ActionPort, ActionTally};
use super::scenario::{PolicyScenario, Sector};

use accumulators::{AgeCounts, DayAcc, MonthAcc};
use state::{CitizenState as _, NemidRule, Reason, Route, Status};

pub(crate) use setup::build;
pub use state::{Problem as AuthenticatorProblem, Reason as CallReason, Route as MigrationRoute};

/// The model's events: 8 bytes each (a test pins it), citizen index plus at most a reason byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ev {
    /// A citizen without MitID decides; with the sector of the login that failed after a
    /// cut-off when the decision was scheduled as one (the `Forced` flag says whether it still
    /// counts as one when it comes).
    Decide(u32, Option<Sector>),
    Enrolled(u32),
    Appointment(u32),
    CitizenServiceRetry(u32),
    Authenticator(u32),
    Recovered(u32),
    QrRollout,
    QrConfusion(u32),
    CallArrive(u32, Reason),
    CallEnd(u32, Reason),
    /// A boundary of the support line's shift plan.
    ShiftChange,
    DayEnd(u32),
    /// A NemID calendar rule starts.
    NemidRule(NemidRule),
    /// A NemID-only citizen's NemID breaks for good, because of the rule in force.
    NemidBroken(u32, NemidRule),
}

impl Ev {
    /// The citizen the event is about, if any.
    pub(crate) fn citizen(self) -> Option<u32> {
        match self {
            Ev::Decide(c, _)
            | Ev::Enrolled(c)
            | Ev::Appointment(c)
            | Ev::CitizenServiceRetry(c)
            | Ev::Authenticator(c)
            | Ev::Recovered(c)
            | Ev::QrConfusion(c)
            | Ev::CallArrive(c, _)
            | Ev::CallEnd(c, _)
            | Ev::NemidBroken(c, _) => Some(c),
            Ev::QrRollout | Ev::ShiftChange | Ev::DayEnd(_) | Ev::NemidRule(_) => None,
        }
    }
}

impl Ev {
    /// The same event about citizen `c` instead (for renumbering).
    fn with_citizen(self, c: u32) -> Ev {
        match self {
            Ev::Decide(_, s) => Ev::Decide(c, s),
            Ev::Enrolled(_) => Ev::Enrolled(c),
            Ev::Appointment(_) => Ev::Appointment(c),
            Ev::CitizenServiceRetry(_) => Ev::CitizenServiceRetry(c),
            Ev::Authenticator(_) => Ev::Authenticator(c),
            Ev::Recovered(_) => Ev::Recovered(c),
            Ev::QrConfusion(_) => Ev::QrConfusion(c),
            Ev::CallArrive(_, r) => Ev::CallArrive(c, r),
            Ev::CallEnd(_, r) => Ev::CallEnd(c, r),
            Ev::NemidBroken(_, k) => Ev::NemidBroken(c, k),
            other @ (Ev::QrRollout | Ev::ShiftChange | Ev::DayEnd(_) | Ev::NemidRule(_)) => other,
        }
    }
}

/// When [`Model::deliver`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// After one event.
    AfterEvent,
    /// After the event that closes a day.
    AfterDayEnd,
    /// When no event is left at or before the horizon.
    AtHorizon,
}

/// Every subsystem's own random stream (see the module docs).
struct Streams {
    decisions: RandomStream,
    needs: RandomStream,
    auth: RandomStream,
    cs: RandomStream,
    support: RandomStream,
    qr: RandomStream,
    nemid: RandomStream,
}

/// The model's ages run `0..MAX_AGE`.
const MAX_AGE: usize = 128;

pub(crate) struct Model<'a> {
    sc: &'a PolicyScenario,
    cal: NemidCalendar,
    end: SimTime,
    hazard: HazardCurve,
    citizens: Vec<Citizen>,
    cs: CitizenService,
    /// The support line; a caller is the citizen and the reason for the call.
    support: CallCentre<Caller>,
    rng: Streams,
    /// The clock and pending events. Far-future events wait in day lists until their day
    /// opens (at the end of the day before), so the queue holds about a day of events.
    sched: DayScheduler<Ev>,
    /// Needs per day per sector, indexed by `need_key`.
    need_rates: Vec<[f64; 8]>,
    by_age: Vec<AgeCounts>,
    band_of_age: Vec<usize>,
    today: DayAcc,
    cs_queue: u32,
    /// Cases in the Citizen Service queue by the day they were first asked for; with
    /// `cs_oldest_day` (no earlier day holds one) it gives the age of the oldest request.
    cs_first_asked: Vec<u32>,
    cs_oldest_day: u32,
    /// Synthetic residents per municipality (weights of the national offered wait).
    residents: Vec<u32>,
    months: Vec<Vec<MonthAcc>>,
    month_of_day: Vec<u16>,
    month_labels: Vec<String>,
    totals: RunTotals,
    rows: Vec<DayRow>,
    population_15plus: u32,
    min_age: u8,
    /// LoA each sector requires, by [`Sector::index`](super::scenario::Sector::index).
    required_loa: [Loa; 8],
    /// Needs per day, summed over MitID holders, that a sector refuses for too low an LoA.
    refused_need_rate: f64,
    /// While set (during set-up), scheduled events are collected here instead, so citizens
    /// can be renumbered by their first event before anything is queued.
    capture: Option<Vec<(SimTime, Ev)>>,
    /// Resolves what a real system would see ([`actions`]); `None` for the model's own rules
    /// ([`crate::policy::ModelRules`]), answered without building a request.
    port: Option<Box<dyn ActionPort + 'a>>,
    /// Actions put to the port, and how many turned out other than the model expected.
    actions: ActionTally,
    /// The scenario's incidents: which actions fail in their windows.
    incidents: super::incidents::Incidents<'a>,
}

/// A support call waiting for or talking to an agent.
#[derive(Debug, Clone, Copy)]
struct Caller {
    citizen: u32,
    reason: Reason,
}

/// Identity assurance a migration route gives. In person at Citizen Service is High (DOMAIN.md);
/// passport chip + face scan is Substantial (DOMAIN.md); NemID, bank and witness routes are
/// taken as Substantial and a P-code identity as Low (*assumptions*: DOMAIN.md only says a
/// P-code MitID "is refused by many services").
fn route_ial(r: Option<Route>) -> Ial {
    match r {
        Some(Route::CitizenService) => Ial::High,
        Some(Route::PCode) => Ial::Low,
        _ => Ial::Substantial,
    }
}

/// Authenticator assurance of everyday logins: an app swipe and a code display / audio reader
/// with password are both Substantial (devices crate README, NSIS rules).
fn kind_aal(_kind: MitidKind) -> Aal {
    Aal::Substantial
}

fn need_key(c: &Citizen) -> usize {
    (c.age as usize) * 4
        + usize::from(c.has(traits::CHALLENGED)) * 2
        + usize::from(c.has(traits::BANK_CUSTOMER))
}

fn days(d: f64) -> SimDuration {
    SimDuration::from_days_f64(d)
}

/// Poisson draw (inversion for small means, normal approximation above 30).
fn poisson(rng: &mut RandomStream, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 30.0 {
        return rng.normal(mean, mean.sqrt()).round().max(0.0) as u32;
    }
    let limit = (-mean).exp();
    let mut k = 0;
    let mut p = rng.uniform_open0();
    while p > limit {
        k += 1;
        p *= rng.uniform_open0();
    }
    k
}

impl Model<'_> {
    /// Delivers and handles events at or before `horizon` (and before the end of the run)
    /// until `stop` says so; returns the last event delivered, `None` when there was none.
    /// One loop for every way of advancing, so the handlers inline into it as into a plain
    /// event loop (a pure run is as fast as before the run became steppable).
    #[inline(never)]
    pub(crate) fn deliver(
        &mut self,
        horizon: SimTime,
        stop: Stop,
    ) -> Result<Option<(SimTime, Ev)>, PolicyError> {
        let horizon = horizon.min(self.end);
        let mut last = None;
        while let Some((now, ev)) = self.sched.next_event_until(horizon) {
            self.handle(now, ev)?;
            last = Some((now, ev));
            match stop {
                Stop::AfterEvent => break,
                Stop::AfterDayEnd if matches!(ev, Ev::DayEnd(_)) => break,
                Stop::AfterDayEnd | Stop::AtHorizon => {}
            }
        }
        Ok(last)
    }

    #[inline]
    fn handle(&mut self, now: SimTime, ev: Ev) -> Result<(), PolicyError> {
        match ev {
            Ev::Decide(c, sector) => self.on_decide(c, sector, now)?,
            Ev::Enrolled(c) => {
                if self.citizens[c as usize].is(Status::Pending) && self.enrolment_done(c, now)? {
                    self.grant_mitid(c, now)?;
                }
            }
            Ev::Appointment(c) => self.on_appointment(c, now)?,
            Ev::CitizenServiceRetry(c) => self.citizen_service_request(c, now, false)?,
            Ev::Authenticator(c) => self.on_authenticator(c, now)?,
            Ev::Recovered(c) => self.recover(c, now)?,
            Ev::QrRollout => self.on_qr_rollout(now)?,
            Ev::NemidRule(rule) => self.on_nemid_rule(rule, now)?,
            Ev::NemidBroken(c, cause) => self.on_nemid_broken(c, cause, now)?,
            Ev::QrConfusion(c) => {
                let z = self.citizens[c as usize];
                if z.mitid == MitidKind::App as u8
                    && !z.is_any(&[Status::MitidDown, Status::InCall])
                {
                    self.today.failed_logins += 1;
                    self.call(c, Reason::Qr, now)?;
                }
            }
            Ev::CallArrive(c, r) => self.on_call_arrive(c, r, now)?,
            Ev::CallEnd(c, r) => self.on_call_end(c, r, now)?,
            Ev::ShiftChange => {
                let mut hung_up = Vec::new();
                let answered = self.support.shift_change(now, |a| hung_up.push(a));
                self.on_hang_ups(hung_up, now)?;
                for s in answered {
                    self.start_call(s.customer, now, s.waited)?;
                }
                if let Some(at) = self.support.next_shift_change(now) {
                    self.at(at, Ev::ShiftChange)?;
                }
            }
            Ev::DayEnd(d) => {
                let mut hung_up = Vec::new();
                self.support.hang_up_expired(now, |a| hung_up.push(a));
                self.on_hang_ups(hung_up, now)?;
                self.close_day(d);
                if d + 1 < self.cal.days {
                    self.warm_citizens(self.sched.waiting_for(d + 1));
                    self.sched.open_through(d + 1)?;
                    self.at(
                        SimTime::from_day(d + 2) - SimDuration::from_millis(1),
                        Ev::DayEnd(d + 1),
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Reads the record of every citizen a day's events will touch, in one pass of independent
    /// loads, so the memory system fetches them in parallel (about a day's worth, a megabyte or
    /// two, fits in cache); the events then find their citizen in cache instead of waiting for
    /// main memory one miss at a time. Pure reads: the outcome does not depend on it.
    fn warm_citizens(&self, events: &[(SimTime, Ev)]) {
        let mut acc = 0u8;
        for (_, e) in events {
            if let Some(c) = e.citizen() {
                acc ^= self.citizens[c as usize].status;
            }
        }
        std::hint::black_box(acc);
    }

    /// Schedules `ev` at `at` (see [`DayScheduler::schedule_at`]: events after the last day
    /// are dropped, they could never be delivered); during set-up, captures it instead.
    fn at(&mut self, at: SimTime, ev: Ev) -> Result<(), PolicyError> {
        if let Some(captured) = &mut self.capture {
            captured.push((at, ev));
            return Ok(());
        }
        self.sched.schedule_at(at, ev)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::scenario::Sector;

    #[test]
    fn events_and_citizens_stay_small() {
        assert_eq!(
            std::mem::size_of::<Ev>(),
            8,
            "the future-event set holds tens of millions of these"
        );
        assert!(
            std::mem::size_of::<Citizen>() <= 12,
            "Citizen is {} bytes",
            std::mem::size_of::<Citizen>()
        );
    }

    #[test]
    fn unused_sector_enum_is_indexed_consistently() {
        for (i, s) in Sector::ALL.iter().enumerate() {
            assert_eq!(s.index(), i);
        }
    }
}
