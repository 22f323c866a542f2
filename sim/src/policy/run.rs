//! A policy run as an object: build it, advance it (event by event, day by day or to an
//! instant), read it between steps, finish it into a [`PolicyOutcome`].
//!
//! [`run_policy`](super::run_policy) is a loop over [`PolicyRun::step_day`]; a dashboard plays,
//! pauses and steps the same object, and a live driver passes its own [`ActionPort`]. The
//! ordering guarantees are on [`PolicyRun`].

use chrono::NaiveDate;

use crate::kernel::SimTime;

use super::PolicyError;
use super::calendar::{self, NemidCalendar};
use super::fixtures::Municipality;
use super::live::{LiveSample, NeedRates, RoutineLogins, SampleSize};
use super::model::{self, Ev, Model, Stop};
use super::outcome::{DayRow, Milestone, MunicipalityLoad, PolicyOutcome};
use super::population::{Citizen, MitidKind};
use super::port::{ActionPort, ActionTally, AuthenticatorProblem, CallReason, MigrationRoute};
use super::scenario::PolicyScenario;

/// A policy run in progress: built from a scenario and a seed, advanced by [`step`],
/// [`step_day`] or [`advance_to`], read between steps, finished into a [`PolicyOutcome`].
///
/// # Ordering guarantees
///
/// * Events are delivered in time order, and events at the same instant in the order the model
///   scheduled them (the kernel's guarantees, see [`crate::kernel::DayScheduler`]).
/// * Day `d` closes at its last millisecond, with the event that closes it: its row (the
///   [`Step::DayClosed`] figures, then the last of [`PolicyRun::closed_days`]) covers every
///   event before that instant (events at that very millisecond fall before or after the close
///   in scheduling order). Days close in order, one at a time, and every day of the run closes
///   before [`Step::Finished`].
/// * [`PolicyRun::advance_to`]`(t)` delivers every event at or before `t` (capped at the end of
///   the run) and none after; afterwards [`PolicyRun::now`] is `t`, and the next event
///   delivered is after `t`. An instant already passed delivers nothing and leaves the clock.
/// * However a run is advanced (any mix of `step`, `step_day`, `advance_to` and `finish`), it
///   delivers the same events in the same order and finishes into the same outcome, byte for
///   byte: with the model's own rules, that of [`run_policy`](super::run_policy) for the same
///   scenario and seed; with a port, that of any run whose port answers the same. Reading
///   between steps (the figures, citizens, the live sample, routine logins) changes nothing.
/// * The port is called inside the event that triggers an action, at the run's clock (see
///   [`super::port`]).
///
/// # Example
///
/// ```
/// use mitid_sim::kernel::{SimDuration, SimTime};
/// use mitid_sim::policy::{PolicyRun, PolicyScenario, Stage, Step, run_policy};
///
/// let scenario: PolicyScenario = serde_yaml::from_str(
///     "kind: policy\nname: doc\npopulation:\n  size: 500\n  start: 2023-01-01\n  \
///      end: 2023-02-28\n  municipalities: [Aalborg, Læsø]\n",
/// )?;
/// let mut run = PolicyRun::new(&scenario, 7)?;
/// let Step::DayClosed(first) = run.step_day()? else { unreachable!("59 days to close") };
/// assert_eq!(first.date, scenario.population.start);
/// run.advance_to(SimTime::from_day(20) + SimDuration::from_hours(12))?;
/// assert_eq!(run.today(), 20);
/// let on_the_way = (0..run.citizen_count() as u32)
///     .filter_map(|i| run.citizen(i))
///     .filter(|c| matches!(c.stage, Stage::GettingMitid(_)))
///     .count();
/// println!("{on_the_way} citizens on their way to MitID at noon on day 20");
/// assert_eq!(run.finish()?, run_policy(&scenario, 7, &mut |_| {})?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`step`]: PolicyRun::step
/// [`step_day`]: PolicyRun::step_day
/// [`advance_to`]: PolicyRun::advance_to
pub struct PolicyRun<'a> {
    model: Model<'a>,
    seed: u64,
    municipalities: Vec<Municipality>,
    residents: Vec<u32>,
    milestones: Vec<Milestone>,
    /// How far the run has been advanced: at or after the last event delivered.
    clock: SimTime,
}

/// What one step of a run did.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// An event was delivered and handled.
    Event(ModelEvent),
    /// A day closed, with its figures.
    DayClosed(DayRow),
    /// Nothing is left to deliver: the run is at its end.
    Finished,
}

/// An event of the model, as a run reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelEvent {
    /// When it happened.
    pub at: SimTime,
    /// What it was.
    pub kind: EventKind,
    /// The citizen it was about, if any (an index for [`PolicyRun::citizen`]).
    pub citizen: Option<u32>,
}

/// The kinds of events the model handles (the end of a day is [`Step::DayClosed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A citizen without MitID decides to get it, spontaneously or after a login failed.
    Decision,
    /// A self-service or assisted enrolment finishes.
    EnrolmentFinished,
    /// A Citizen Service appointment is due.
    CitizenServiceAppointment,
    /// A citizen who found no Citizen Service slot tries again.
    CitizenServiceRetry,
    /// A MitID holder's authenticator gives trouble.
    AuthenticatorProblem,
    /// A broken authenticator works again.
    Recovered,
    /// QR code logins on a computer begin.
    QrRollout,
    /// An app user is confused by the QR login.
    QrConfusion,
    /// A support call comes in.
    CallArrives(CallReason),
    /// A support call ends.
    CallEnds(CallReason),
    /// The support line's shift changes.
    ShiftChange,
    /// A NemID calendar rule starts (key cards only at Citizen Service, NemID support closed).
    NemidRuleStarts,
    /// A NemID-only citizen's NemID breaks for good.
    NemidBroken,
}

impl EventKind {
    /// The kind of `ev`; `None` for the end of a day.
    fn of(ev: Ev) -> Option<EventKind> {
        Some(match ev {
            Ev::Decide(..) => EventKind::Decision,
            Ev::Enrolled(_) => EventKind::EnrolmentFinished,
            Ev::Appointment(_) => EventKind::CitizenServiceAppointment,
            Ev::CitizenServiceRetry(_) => EventKind::CitizenServiceRetry,
            Ev::Authenticator(_) => EventKind::AuthenticatorProblem,
            Ev::Recovered(_) => EventKind::Recovered,
            Ev::QrRollout => EventKind::QrRollout,
            Ev::QrConfusion(_) => EventKind::QrConfusion,
            Ev::CallArrive(_, r) => EventKind::CallArrives(r),
            Ev::CallEnd(_, r) => EventKind::CallEnds(r),
            Ev::ShiftChange => EventKind::ShiftChange,
            Ev::NemidRule(_) => EventKind::NemidRuleStarts,
            Ev::NemidBroken(..) => EventKind::NemidBroken,
            Ev::DayEnd(_) => return None,
        })
    }
}

/// Where a citizen stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// No MitID and not on the way to one.
    WithoutMitid,
    /// On the way to MitID by this route.
    GettingMitid(MigrationRoute),
    /// Holds a working MitID.
    MitidWorks,
    /// Holds MitID but its authenticator does not work.
    MitidDown(AuthenticatorProblem),
}

/// One citizen's state, as a run shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CitizenView {
    /// The record: age, municipality, traits and the model's state bytes.
    pub record: Citizen,
    /// The MitID authenticator held ([`MitidKind::None`] without MitID).
    pub mitid: MitidKind,
    /// Where the citizen stands.
    pub stage: Stage,
    /// A support call of theirs is scheduled, queued or in progress.
    pub in_call: bool,
    /// Their NemID logs in somewhere on the day in progress.
    pub nemid_usable: bool,
}

impl<'a> PolicyRun<'a> {
    /// A run of `scenario` with `seed` (the scenario's own `seed` field is not read), resolving
    /// actions by the model's own rules ([`ModelRules`](super::port::ModelRules)): the pure
    /// simulation.
    pub fn new(scenario: &'a PolicyScenario, seed: u64) -> Result<Self, PolicyError> {
        // The model answers by its own rules without a port call when it has no port: the
        // same outcomes as `ModelRules` (a test holds them to it), without a request per action.
        Self::build(scenario, seed, None)
    }

    /// A run whose actions `port` resolves. Pass `&mut port` to keep the port and read it
    /// after the run.
    pub fn with_port(
        scenario: &'a PolicyScenario,
        seed: u64,
        port: impl ActionPort + 'a,
    ) -> Result<Self, PolicyError> {
        Self::build(scenario, seed, Some(Box::new(port)))
    }

    fn build(
        scenario: &'a PolicyScenario,
        seed: u64,
        port: Option<Box<dyn ActionPort + 'a>>,
    ) -> Result<Self, PolicyError> {
        scenario.validate()?;
        let built = model::build(scenario, seed, port)?;
        Ok(PolicyRun {
            model: built.model,
            seed,
            municipalities: built.municipalities,
            residents: built.residents,
            milestones: calendar::milestones(scenario),
            clock: SimTime::EPOCH,
        })
    }

    /// Delivers the next event.
    pub fn step(&mut self) -> Result<Step, PolicyError> {
        let Some((at, ev)) = self.model.deliver(SimTime::MAX, Stop::AfterEvent)? else {
            self.clock = self.model.end();
            return Ok(Step::Finished);
        };
        self.clock = self.clock.max(at);
        Ok(match EventKind::of(ev) {
            Some(kind) => Step::Event(ModelEvent {
                at,
                kind,
                citizen: ev.citizen(),
            }),
            None => Step::DayClosed(self.last_closed_day().clone()),
        })
    }

    /// Delivers events up to and including the end of the day in progress: a
    /// [`Step::DayClosed`], or [`Step::Finished`] when no day is left to close.
    pub fn step_day(&mut self) -> Result<Step, PolicyError> {
        if let Some((at, Ev::DayEnd(_))) = self.model.deliver(SimTime::MAX, Stop::AfterDayEnd)? {
            self.clock = self.clock.max(at);
            Ok(Step::DayClosed(self.last_closed_day().clone()))
        } else {
            self.clock = self.model.end();
            Ok(Step::Finished)
        }
    }

    /// Delivers every event at or before `t` (at most the end of the run); the clock is then
    /// `t`.
    pub fn advance_to(&mut self, t: SimTime) -> Result<(), PolicyError> {
        let t = t.min(self.model.end());
        self.model.deliver(t, Stop::AtHorizon)?;
        self.clock = self.clock.max(t);
        Ok(())
    }

    /// Runs what is left and returns the outcome.
    pub fn finish(mut self) -> Result<PolicyOutcome, PolicyError> {
        self.advance_to(self.model.end())?;
        Ok(self
            .model
            .outcome(self.seed, &self.municipalities, &self.residents))
    }

    /// The run's clock: the instant it has been advanced to.
    #[must_use]
    pub fn now(&self) -> SimTime {
        self.clock
    }

    /// Whether every event has been delivered.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.clock >= self.model.end()
    }

    /// The day in progress (index from the start date): the first day not yet closed. Equal to
    /// the number of days once every day has closed.
    #[must_use]
    pub fn today(&self) -> u32 {
        self.model.closed_days().len() as u32
    }

    /// The date of the day in progress, `None` once every day has closed.
    #[must_use]
    pub fn today_date(&self) -> Option<NaiveDate> {
        let day = self.today();
        (day < self.calendar().days).then(|| self.calendar().date(day))
    }

    /// The figures of every day closed so far, in date order.
    #[must_use]
    pub fn closed_days(&self) -> &[DayRow] {
        self.model.closed_days()
    }

    /// Each municipality's Citizen Service load month by month, as counted so far: a month
    /// not yet closed holds what its closed days counted, a closed month its final figures
    /// (those of [`PolicyOutcome::municipalities`] once the run has finished). A pure read.
    #[must_use]
    pub fn municipality_loads(&self) -> Vec<MunicipalityLoad> {
        self.municipalities
            .iter()
            .zip(&self.residents)
            .enumerate()
            .map(|(i, (m, residents))| self.model.municipality_load(i, m.code, &m.name, *residents))
            .collect()
    }

    /// Citizen `index` (`0..citizen_count()`) as things stand, `None` past the end. Indices
    /// are fixed when the run is built and stay the same to its end.
    #[must_use]
    pub fn citizen(&self, index: u32) -> Option<CitizenView> {
        let day = self.today().min(self.calendar().days.saturating_sub(1));
        self.model.citizen_view(index, day)
    }

    /// A live sample of `size`: citizens chosen from the seed alone (the same scenario and
    /// seed give the same sample, at any point of the run, and drawing it changes nothing in
    /// the run). An invalid size is an error naming its flag (`--live-sample`,
    /// `--live-citizens`).
    pub fn live_sample(&self, size: SampleSize) -> Result<LiveSample, PolicyError> {
        let population = self.citizen_count() as u32;
        Ok(LiveSample::draw(
            self.seed,
            population,
            size.of(population)?,
        ))
    }

    /// Citizen `index`'s routine login needs per day by sector, `None` past the end.
    #[must_use]
    pub fn need_rates(&self, index: u32) -> Option<NeedRates> {
        self.model.need_rates_of(index).map(NeedRates::new)
    }

    /// Citizen `index`'s routine logins after `from` (see [`RoutineLogins`]), `None` past the
    /// end.
    #[must_use]
    pub fn routine_logins(&self, index: u32, from: SimTime) -> Option<RoutineLogins> {
        let rates = self.need_rates(index)?;
        Some(RoutineLogins::new(self.seed, index, rates, from))
    }

    /// The number of citizens.
    #[must_use]
    pub fn citizen_count(&self) -> usize {
        self.model.citizen_count()
    }

    /// The scenario's calendar in simulation days.
    #[must_use]
    pub fn calendar(&self) -> &NemidCalendar {
        self.model.calendar()
    }

    /// The calendar's named milestones, in date order.
    #[must_use]
    pub fn milestones(&self) -> &[Milestone] {
        &self.milestones
    }

    /// The scenario being run.
    #[must_use]
    pub fn scenario(&self) -> &'a PolicyScenario {
        self.model.scenario()
    }

    /// The seed.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Events delivered so far (ends of days included, as in
    /// [`PolicyOutcome::event_count`]).
    #[must_use]
    pub fn events_delivered(&self) -> u64 {
        self.model.events_delivered()
    }

    /// Actions put to the port so far, and how many turned out other than the model expected.
    #[must_use]
    pub fn actions(&self) -> ActionTally {
        self.model.actions()
    }

    fn last_closed_day(&self) -> &DayRow {
        self.model
            .closed_days()
            .last()
            .expect("a day-end event has just closed a day")
    }
}
