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

// `c` (citizen index), `z` (its record), `m`/`a` (behaviour sections), `r` (route or reason)
// are used the same way in every handler; longer names would hide the logic.
#![allow(clippy::many_single_char_names)]

use chrono::Datelike;
use mitid_devices::assurance::{Aal, Ial, Loa, loa};

use crate::kernel::{
    MILLIS_PER_HOUR, RandomStream, RandomStreams, Scheduler, SimDuration, SimTime,
};
use crate::resources::{Abandoned, CallCentre, ShiftPlan, Weekday};

use super::PolicyError;
use super::calendar::{self, HazardCurve, NemidCalendar};
use super::citizen_service::CitizenService;
use super::outcome::{DayRow, MonthLoad, MunicipalityLoad, PolicyOutcome, RunTotals};
use super::population::{self, Citizen, MitidKind, traits};
use super::scenario::{PolicyScenario, weekday_index};

/// Model state flags in [`Citizen::status`].
mod status {
    /// Has decided to get MitID and is on the way (route in `Citizen::route`).
    pub const PENDING: u8 = 1;
    /// Holds MitID but cannot use it (problem in `Citizen::route`).
    pub const MITID_DOWN: u8 = 2;
    /// Has a support call scheduled, queued or in progress.
    pub const IN_CALL: u8 = 4;
    /// The pending `Decide` event is a login that failed after a cut-off.
    pub const FORCED: u8 = 8;
    /// Held NemID but it broke and was not repaired (key card used up, no support).
    pub const NEMID_LOST: u8 = 16;
}

/// Migration routes (`Citizen::route` while pending).
mod route {
    pub const VIA_NEMID: u8 = 1;
    pub const APP_PASSPORT: u8 = 2;
    pub const BANK: u8 = 3;
    pub const WITNESS: u8 = 4;
    pub const CITIZEN_SERVICE: u8 = 5;
    pub const P_CODE: u8 = 6;
}

/// Authenticator problems (`Citizen::route` while MitID is down).
mod problem {
    pub const LOST_PHONE: u8 = 1;
    pub const FORGOT_PIN: u8 = 2;
    pub const FORGOT_PASSWORD: u8 = 3;
    pub const FORGOT_USER_ID: u8 = 4;
    pub const BLOCKED: u8 = 5;
    pub const SUSPENDED: u8 = 6;
}

/// Why someone calls support.
mod reason {
    pub const MIGRATION_HELP: u8 = 1;
    pub const RECOVERY: u8 = 2;
    pub const QR: u8 = 3;
}

/// Where a broken authenticator goes next.
enum Next {
    /// Recovered by self-service at this instant.
    At(SimTime),
    /// A call to the support line.
    Support,
    /// An appointment at Citizen Service.
    CitizenService,
    /// No route (abroad without passport or second device).
    Stuck,
}

/// The model's events: 8 bytes each (a test pins it), citizen index plus at most a reason byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ev {
    Decide(u32),
    Enrolled(u32),
    Appointment(u32),
    CitizenServiceRetry(u32),
    Authenticator(u32),
    Recovered(u32),
    QrRollout,
    QrConfusion(u32),
    CallArrive(u32, u8),
    CallEnd(u32, u8),
    /// A boundary of the support line's shift plan.
    ShiftChange,
    DayEnd(u32),
    /// A NemID calendar rule starts: 0 = key cards only at Citizen Service, 1 = support closed.
    NemidRule(u8),
    /// A NemID-only citizen's NemID breaks for good (cause as in `NemidRule`).
    NemidBroken(u32, u8),
}

impl Ev {
    /// The citizen the event is about, if any.
    fn citizen(self) -> Option<u32> {
        match self {
            Ev::Decide(c)
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
            Ev::Decide(_) => Ev::Decide(c),
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

const MAX_AGE: usize = 128;

#[derive(Debug, Clone, Copy, Default)]
struct AgeCounts {
    mitid: u32,
    mitid_down: u32,
    no_mitid_nemid: u32,
    no_mitid_none: u32,
}

#[derive(Debug, Clone, Default)]
struct DayAcc {
    failed_logins: u32,
    nemid_logins: u32,
    via_nemid_started: u32,
    new_mitid: u32,
    lockouts_by_band: Vec<u32>,
    cs_requests: u32,
    cs_served: u32,
    cs_wait_days: u64,
    cs_minutes: f64,
    calls: u32,
    answered: u32,
    abandoned: u32,
    wait_minutes: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct MonthAcc {
    requests: u32,
    served: u32,
    used_minutes: f64,
    needed_minutes: f64,
    wait_days: u64,
}

struct Streams {
    decisions: RandomStream,
    needs: RandomStream,
    auth: RandomStream,
    cs: RandomStream,
    support: RandomStream,
    qr: RandomStream,
    nemid: RandomStream,
}

struct Model<'a> {
    sc: &'a PolicyScenario,
    cal: NemidCalendar,
    end: SimTime,
    hazard: HazardCurve,
    citizens: Vec<Citizen>,
    cs: CitizenService,
    /// The support line; a caller is the citizen and the reason for the call.
    support: CallCentre<Caller>,
    rng: Streams,
    /// Needs per day per sector, indexed by `need_key`.
    need_rates: Vec<[f64; 8]>,
    by_age: Vec<AgeCounts>,
    band_of_age: Vec<usize>,
    today: DayAcc,
    cs_queue: u32,
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
    /// Events for days not yet started, one list per day, in scheduling order. They enter the
    /// kernel's queue when their day begins, so the queue holds about one day of events
    /// instead of millions of far-future ones (which keeps it in cache). Order is unchanged:
    /// every event of a day is scheduled into the queue, in its original order, before any
    /// event for that day can be scheduled directly.
    later: Vec<Vec<(SimTime, Ev)>>,
    /// Days up to this one have been moved into the kernel's queue.
    injected_through: u32,
    /// While set (during set-up), scheduled events are collected here instead.
    capture: Option<Vec<(SimTime, Ev)>>,
}

/// Identity assurance a migration route gives. In person at Citizen Service is High (DOMAIN.md);
/// passport chip + face scan is Substantial (DOMAIN.md); NemID, bank and witness routes are
/// taken as Substantial and a P-code identity as Low (*assumptions*: DOMAIN.md only says a
/// P-code MitID "is refused by many services").
/// A support call waiting for or talking to an agent.
#[derive(Debug, Clone, Copy)]
struct Caller {
    citizen: u32,
    reason: u8,
}

/// The support line's daily plan from the scenario's three shifts `(start hour, agents)`.
/// Each shift lasts until the next one starts, so the shift that starts latest also covers
/// the small hours (the night shift runs past midnight). Two shifts starting at the same
/// hour: the later one in the list holds.
fn support_shifts(shifts: [(u8, u32); 3]) -> Result<ShiftPlan, PolicyError> {
    let mut by_start: Vec<(u16, u32)> = Vec::with_capacity(4);
    for (hour, agents) in shifts {
        let minute = u16::from(hour) * 60;
        by_start.retain(|s| s.0 != minute);
        by_start.push((minute, agents));
    }
    by_start.sort_unstable_by_key(|s| s.0);
    if let (Some(first), Some(&(_, overnight))) = (by_start.first(), by_start.last())
        && first.0 != 0
    {
        by_start.insert(0, (0, overnight));
    }
    ShiftPlan::daily(&by_start).map_err(|e| PolicyError::Invalid {
        path: "capacities.support".to_owned(),
        message: format!("shift start hours must be 0 to 23: {e}"),
    })
}

fn route_ial(r: u8) -> Ial {
    match r {
        route::CITIZEN_SERVICE => Ial::High,
        route::P_CODE => Ial::Low,
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

// The set-up reads as one list of the model's parts; splitting it would only scatter them.
#[allow(clippy::too_many_lines)]
pub(crate) fn run(
    sc: &PolicyScenario,
    seed: u64,
    progress: &mut dyn FnMut(f64),
) -> Result<PolicyOutcome, PolicyError> {
    let streams = RandomStreams::new(seed);
    let cal = NemidCalendar::new(sc);
    let mut pop_rng = streams.stream("population");
    let pop = population::synthesize(&sc.population, &mut pop_rng)?;
    let scale = if sc.capacities.reference_population == 0 {
        1.0
    } else {
        f64::from(sc.population.size) / f64::from(sc.capacities.reference_population)
    };
    let cs = CitizenService::new(&sc.capacities.citizen_service, &pop, scale, &cal);
    let sup = &sc.capacities.support;
    let scale_agents = |n: u32| {
        if n == 0 {
            0
        } else {
            ((f64::from(n) * scale).round() as u32).max(1)
        }
    };
    let support = CallCentre::new(
        SimTime::EPOCH,
        support_shifts([
            (sup.day_shift_starts, scale_agents(sup.agents_day)),
            (sup.evening_shift_starts, scale_agents(sup.agents_evening)),
            (sup.night_shift_starts, scale_agents(sup.agents_night)),
        ])?,
        Weekday::ALL[weekday_index(cal.start)],
    );

    let mut need_rates = vec![[0.0f64; 8]; MAX_AGE * 4];
    for (key, rates) in need_rates.iter_mut().enumerate() {
        let age = (key / 4) as u8;
        let challenged = key & 2 != 0;
        let bank = key & 1 != 0;
        for n in &sc.behaviour.login_needs {
            if age < n.min_age || age > n.max_age || (n.bank_customers_only && !bank) {
                continue;
            }
            let per_year = if challenged {
                n.per_year_challenged
            } else {
                n.per_year
            };
            rates[n.sector.index()] = per_year / 365.25;
        }
    }

    let bands = &sc.outputs.age_bands;
    let band_of_age: Vec<usize> = (0..MAX_AGE)
        .map(|a| {
            bands
                .iter()
                .rposition(|&b| usize::from(b) <= a)
                .unwrap_or(0)
        })
        .collect();

    // Months touched by the run (the booking horizon may reach past it; those are not reported).
    let mut month_of_day = Vec::with_capacity(cal.days as usize);
    let mut month_labels: Vec<String> = Vec::new();
    let first = cal.start;
    for d in 0..cal.days {
        let date = cal.date(d);
        let index = (date.year() - first.year()) * 12 + date.month() as i32 - first.month() as i32;
        if index as usize >= month_labels.len() {
            month_labels.push(format!("{:04}-{:02}", date.year(), date.month()));
        }
        month_of_day.push(index as u16);
    }
    let n_muni = pop.municipalities.len();

    let mut model = Model {
        sc,
        end: cal.end(),
        hazard: HazardCurve::new(cal.start, cal.days, &sc.behaviour.migration.hazard),
        cal,
        citizens: pop.citizens,
        cs,
        support,
        rng: Streams {
            decisions: streams.stream("decisions"),
            needs: streams.stream("needs"),
            auth: streams.stream("authenticator"),
            cs: streams.stream("citizen-service"),
            support: streams.stream("support"),
            qr: streams.stream("qr"),
            nemid: streams.stream("nemid"),
        },
        need_rates,
        by_age: vec![AgeCounts::default(); MAX_AGE],
        band_of_age,
        today: DayAcc {
            lockouts_by_band: vec![0; bands.len()],
            ..DayAcc::default()
        },
        cs_queue: 0,
        months: vec![vec![MonthAcc::default(); month_labels.len()]; n_muni],
        month_of_day,
        month_labels,
        totals: RunTotals::default(),
        rows: Vec::new(),
        population_15plus: 0,
        min_age: sc.population.segments.mitid_min_age,
        required_loa: {
            let mut required = [Loa::Substantial; 8];
            for n in &sc.behaviour.login_needs {
                required[n.sector.index()] = n.required_loa;
            }
            required
        },
        refused_need_rate: 0.0,
        later: Vec::new(),
        injected_through: 0,
        capture: None,
    };
    model.later = vec![Vec::new(); model.cal.days as usize];

    let mut sched: Scheduler<Ev> = Scheduler::new();
    model.initialise(&mut sched)?;
    model.run_loop(&mut sched, progress)?;

    let municipalities = pop
        .municipalities
        .iter()
        .enumerate()
        .map(|(i, m)| model.municipality_load(i, m.code, &m.name, pop.residents[i]))
        .collect();
    Ok(PolicyOutcome {
        scenario: sc.name.clone(),
        seed,
        population: sc.population.size,
        start: sc.population.start,
        end: sc.population.end,
        event_count: sched.delivered(),
        age_bands: age_band_labels(bands),
        milestones: calendar::milestones(sc),
        days: std::mem::take(&mut model.rows),
        municipalities,
        totals: model.totals.clone(),
    })
}

fn age_band_labels(bands: &[u8]) -> Vec<String> {
    bands
        .iter()
        .enumerate()
        .map(|(i, &b)| match bands.get(i + 1) {
            Some(&next) => format!("{b}-{}", next - 1),
            None => format!("{b}+"),
        })
        .collect()
}

impl Model<'_> {
    fn initialise(&mut self, sched: &mut Scheduler<Ev>) -> Result<(), PolicyError> {
        let now = SimTime::EPOCH;
        self.capture = Some(Vec::with_capacity(self.citizens.len()));
        for i in 0..self.citizens.len() {
            let c = self.citizens[i];
            if c.age >= 15 {
                self.population_15plus += 1;
            }
            let counts = &mut self.by_age[c.age as usize];
            if c.mitid != 0 {
                counts.mitid += 1;
                self.totals.mitid_at_start += 1;
                self.schedule_authenticator(sched, i as u32, now)?;
            } else {
                if c.has(traits::NEMID_HOLDER) {
                    counts.no_mitid_nemid += 1;
                } else {
                    counts.no_mitid_none += 1;
                }
                self.schedule_decision(sched, i as u32, now)?;
            }
        }
        self.renumber_by_first_event(sched)?;
        if let Some(first_shift) = self.support.next_shift_change(now) {
            self.at(sched, first_shift, Ev::ShiftChange)?;
        }
        for (rule, day) in [
            (0u8, self.cal.key_cards_only_at_citizen_service),
            (1u8, self.cal.nemid_support_closes),
        ] {
            if day < self.cal.days && day < self.cal.nemid_shutdown {
                self.at(sched, SimTime::from_day(day), Ev::NemidRule(rule))?;
            }
        }
        if self.cal.qr_rollout < self.cal.days {
            self.at(sched, SimTime::from_day(self.cal.qr_rollout), Ev::QrRollout)?;
        }
        self.at(
            sched,
            SimTime::from_day(1) - SimDuration::from_millis(1),
            Ev::DayEnd(0),
        )?;
        Ok(())
    }

    fn run_loop(
        &mut self,
        sched: &mut Scheduler<Ev>,
        progress: &mut dyn FnMut(f64),
    ) -> Result<(), PolicyError> {
        while let Some((now, ev)) = sched.next_event_until(self.end) {
            match ev {
                Ev::Decide(c) => self.on_decide(sched, c, now)?,
                Ev::Enrolled(c) => {
                    if self.citizens[c as usize].status & status::PENDING != 0 {
                        self.grant_mitid(sched, c, now)?;
                    }
                }
                Ev::Appointment(c) => self.on_appointment(sched, c, now)?,
                Ev::CitizenServiceRetry(c) => self.citizen_service_request(sched, c, now, false)?,
                Ev::Authenticator(c) => self.on_authenticator(sched, c, now)?,
                Ev::Recovered(c) => self.recover(sched, c, now)?,
                Ev::QrRollout => self.on_qr_rollout(sched, now)?,
                Ev::NemidRule(rule) => self.on_nemid_rule(sched, rule, now)?,
                Ev::NemidBroken(c, cause) => self.on_nemid_broken(sched, c, cause, now)?,
                Ev::QrConfusion(c) => {
                    let z = self.citizens[c as usize];
                    if z.mitid == MitidKind::App as u8
                        && z.status & (status::MITID_DOWN | status::IN_CALL) == 0
                    {
                        self.today.failed_logins += 1;
                        self.call(sched, c, reason::QR, now)?;
                    }
                }
                Ev::CallArrive(c, r) => self.on_call_arrive(sched, c, r, now)?,
                Ev::CallEnd(c, r) => self.on_call_end(sched, c, r, now)?,
                Ev::ShiftChange => {
                    let mut hung_up = Vec::new();
                    let answered = self.support.shift_change(now, |a| hung_up.push(a));
                    self.on_hang_ups(sched, hung_up, now)?;
                    for s in answered {
                        self.start_call(sched, s.customer, now, s.waited)?;
                    }
                    if let Some(at) = self.support.next_shift_change(now) {
                        self.at(sched, at, Ev::ShiftChange)?;
                    }
                }
                Ev::DayEnd(d) => {
                    let mut hung_up = Vec::new();
                    self.support.hang_up_expired(now, |a| hung_up.push(a));
                    self.on_hang_ups(sched, hung_up, now)?;
                    self.close_day(d);
                    progress(f64::from(d + 1) / f64::from(self.cal.days));
                    if d + 1 < self.cal.days {
                        let next_day = std::mem::take(&mut self.later[(d + 1) as usize]);
                        self.warm_citizens(&next_day);
                        for (t, e) in next_day {
                            sched.schedule_at(t, e)?;
                        }
                        self.injected_through = d + 1;
                        self.at(
                            sched,
                            SimTime::from_day(d + 2) - SimDuration::from_millis(1),
                            Ev::DayEnd(d + 1),
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Renumbers citizens so that those whose first event falls on the same day sit next to
    /// each other (a stable counting sort by that day), then schedules the captured first
    /// events under the new numbers, in their original order. A day's wave of decisions then
    /// touches one contiguous block of records instead of the whole array. Numbers never reach
    /// the outcome and same-instant events keep their order; only the passes over all citizens
    /// (QR rollout, NemID rules) meet them in the new order, which is as deterministic as the
    /// old one.
    fn renumber_by_first_event(&mut self, sched: &mut Scheduler<Ev>) -> Result<(), PolicyError> {
        let captured = self.capture.take().unwrap_or_default();
        let n = self.citizens.len();
        let never = self.cal.days;
        let mut first_day = vec![never; n];
        for (t, e) in &captured {
            if let Some(c) = e.citizen() {
                let slot = &mut first_day[c as usize];
                *slot = (*slot).min(t.day().min(never));
            }
        }
        let mut start = vec![0u32; never as usize + 2];
        for &d in &first_day {
            start[d as usize + 1] += 1;
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut new_of_old = vec![0u32; n];
        for (old, &d) in first_day.iter().enumerate() {
            new_of_old[old] = start[d as usize];
            start[d as usize] += 1;
        }
        let mut renumbered = self.citizens.clone();
        for (old, &new) in new_of_old.iter().enumerate() {
            renumbered[new as usize] = self.citizens[old];
        }
        self.citizens = renumbered;
        for (t, e) in captured {
            let e = match e.citizen() {
                Some(c) => e.with_citizen(new_of_old[c as usize]),
                None => e,
            };
            self.at(sched, t, e)?;
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

    /// Schedules `ev` at `at`: into the kernel's queue if its day has begun, else into that
    /// day's list; events after the last day are dropped (they could never be delivered).
    fn at(&mut self, sched: &mut Scheduler<Ev>, at: SimTime, ev: Ev) -> Result<(), PolicyError> {
        if let Some(captured) = &mut self.capture {
            captured.push((at, ev));
            return Ok(());
        }
        let day = at.day();
        if day <= self.injected_through {
            sched.schedule_at(at, ev)?;
        } else if let Some(list) = self.later.get_mut(day as usize) {
            list.push((at, ev));
        }
        Ok(())
    }

    // ----- NemID -----------------------------------------------------------------------------

    /// Whether the citizen's NemID logs in on `day`.
    fn nemid_usable(&self, z: &Citizen, day: u32) -> bool {
        z.has(traits::NEMID_HOLDER)
            && z.status & status::NEMID_LOST == 0
            && self.cal.nemid_works(day)
    }

    /// From the rule's day on, NemID-only citizens' NemID wears out without repair: a key card
    /// runs out after `key_card_codes_before_reorder` logins (rule 0; key-app users are not
    /// affected), a credential problem cannot be fixed (rule 1).
    fn on_nemid_rule(
        &mut self,
        sched: &mut Scheduler<Ev>,
        rule: u8,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let n = &self.sc.behaviour.nemid;
        let codes = f64::from(n.key_card_codes_before_reorder);
        let problems_per_day = n.credential_problems_per_year / 365.25;
        let shutdown = SimTime::from_day(self.cal.nemid_shutdown);
        for i in 0..self.citizens.len() {
            let z = self.citizens[i];
            if z.mitid != 0
                || z.status & (status::PENDING | status::NEMID_LOST) != 0
                || !z.has(traits::NEMID_HOLDER)
            {
                continue;
            }
            let rate = if rule == 0 {
                if z.has(traits::NEMID_KEY_APP) {
                    continue;
                }
                self.need_rates[need_key(&z)].iter().sum::<f64>() / codes
            } else {
                problems_per_day
            };
            if rate <= 0.0 {
                continue;
            }
            let at = now + days(self.rng.nemid.exponential(1.0 / rate));
            if at < shutdown {
                self.at(sched, at, Ev::NemidBroken(i as u32, rule))?;
            }
        }
        Ok(())
    }

    fn on_nemid_broken(
        &mut self,
        sched: &mut Scheduler<Ev>,
        c: u32,
        cause: u8,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let z = self.citizens[c as usize];
        if z.mitid != 0 || z.status & status::NEMID_LOST != 0 || !z.has(traits::NEMID_HOLDER) {
            return Ok(());
        }
        self.citizens[c as usize].status |= status::NEMID_LOST;
        let counts = &mut self.by_age[z.age as usize];
        counts.no_mitid_nemid -= 1;
        counts.no_mitid_none += 1;
        if cause == 0 {
            self.totals.nemid_lost_key_card += 1;
        } else {
            self.totals.nemid_lost_no_support += 1;
        }
        if z.status & status::PENDING != 0 {
            return Ok(());
        }
        // The login that found NemID broken failed; the citizen's pending decision (if any)
        // stays scheduled for those who do not act now.
        self.today.failed_logins += 1;
        self.totals.failed_logins += 1;
        if self
            .rng
            .nemid
            .bernoulli(self.sc.behaviour.migration.act_on_failure)
        {
            self.start_migration(sched, c, now)?;
        }
        Ok(())
    }

    // ----- migration -------------------------------------------------------------------------

    /// Schedules the next time a citizen without MitID decides to get it: the earlier of a
    /// spontaneous decision and the first login that fails after a cut-off.
    fn schedule_decision(
        &mut self,
        sched: &mut Scheduler<Ev>,
        c: u32,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let z = self.citizens[c as usize];
        if z.age < self.min_age || z.mitid != 0 {
            return Ok(());
        }
        let m = &self.sc.behaviour.migration;
        let mut factor = 1.0;
        if z.has(traits::CHALLENGED) {
            factor *= m.challenged_factor;
        }
        if !z.has(traits::NEMID_HOLDER) {
            factor *= m.without_nemid_factor;
        }
        let spontaneous = if factor > 0.0 {
            let e = self.rng.decisions.exponential(1.0);
            self.hazard.instant_after(now, e / factor)
        } else {
            None
        };
        let forced = if z.has(traits::NEMID_HOLDER) && z.status & status::NEMID_LOST == 0 {
            self.first_failure(&z, now)
        } else {
            None
        };
        let (at, is_forced) = match (spontaneous, forced) {
            (Some(s), Some(f)) if f < s => (f, true),
            (Some(s), _) => (s, false),
            (None, Some(f)) => (f, true),
            (None, None) => return Ok(()),
        };
        if at >= self.end {
            return Ok(());
        }
        let zc = &mut self.citizens[c as usize];
        if is_forced {
            zc.status |= status::FORCED;
        } else {
            zc.status &= !status::FORCED;
        }
        self.at(sched, at, Ev::Decide(c))?;
        Ok(())
    }

    /// The first login need after `now` that NemID can no longer serve.
    fn first_failure(&mut self, z: &Citizen, now: SimTime) -> Option<SimTime> {
        let rates = self.need_rates[need_key(z)];
        let mut best: Option<SimTime> = None;
        for (s, &rate) in rates.iter().enumerate() {
            if rate <= 0.0 {
                continue;
            }
            let start = now.max(SimTime::from_day(self.cal.sector_cutoff[s]));
            if start >= self.end {
                continue;
            }
            let t = start + days(self.rng.needs.exponential(1.0 / rate));
            if best.is_none_or(|b| t < b) {
                best = Some(t);
            }
        }
        best
    }

    fn on_decide(
        &mut self,
        sched: &mut Scheduler<Ev>,
        c: u32,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let z = self.citizens[c as usize];
        if z.mitid != 0 || z.status & status::PENDING != 0 {
            return Ok(());
        }
        if z.status & status::FORCED != 0 {
            self.citizens[c as usize].status &= !status::FORCED;
            self.today.failed_logins += 1;
            self.totals.failed_logins += 1;
            if !self
                .rng
                .decisions
                .bernoulli(self.sc.behaviour.migration.act_on_failure)
            {
                return self.schedule_decision(sched, c, now);
            }
        }
        self.start_migration(sched, c, now)
    }

    fn start_migration(
        &mut self,
        sched: &mut Scheduler<Ev>,
        c: u32,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let day = now.day();
        let z = self.citizens[c as usize];
        let m = &self.sc.behaviour.migration;
        let a = &self.sc.behaviour.authenticator_events;
        let ready = !z.has(traits::CHALLENGED);
        let nemid_ok = self.nemid_usable(&z, day);
        let rng = &mut self.rng.decisions;
        let has_cpr = !z.has(traits::NO_CPR);
        let kind = MitidKind::issued_for(z.traits);
        let self_service_days = if kind == MitidKind::App {
            m.self_service_days
        } else {
            a.device_delivery_days
        };
        let chosen = if nemid_ok
            && day < self.cal.migration_via_nemid_ends
            && rng.bernoulli(if ready {
                m.via_nemid
            } else {
                m.via_nemid_challenged
            }) {
            Some((route::VIA_NEMID, self_service_days))
        } else if has_cpr
            && z.has(traits::SMARTPHONE | traits::NFC | traits::PASSPORT_CHIP)
            && z.traits & (traits::SMARTPHONE | traits::NFC | traits::PASSPORT_CHIP)
                == traits::SMARTPHONE | traits::NFC | traits::PASSPORT_CHIP
            && (ready || rng.bernoulli(m.via_nemid_challenged))
        {
            Some((route::APP_PASSPORT, m.self_service_days))
        } else if z.has(traits::ABROAD) {
            None
        } else if has_cpr
            && z.has(traits::BANK_CUSTOMER)
            && day < self.cal.bank_assisted_ends
            && rng.bernoulli(m.bank_assisted)
        {
            Some((route::BANK, m.bank_assisted_days))
        } else if has_cpr && z.has(traits::SMARTPHONE) && rng.bernoulli(m.witness) {
            Some((route::WITNESS, m.witness_days))
        } else {
            Some((
                if has_cpr {
                    route::CITIZEN_SERVICE
                } else {
                    route::P_CODE
                },
                0.0,
            ))
        };
        let Some((r, delay)) = chosen else {
            // Abroad with no self-service route: try again later (representations are not modelled).
            self.totals.no_route_attempts += 1;
            let at = now + days(m.reconsider_days);
            if at < self.end {
                self.at(sched, at, Ev::Decide(c))?;
            }
            return Ok(());
        };
        if r == route::VIA_NEMID {
            self.today.nemid_logins += 1;
            self.today.via_nemid_started += 1;
        }
        let support_call = self.rng.decisions.bernoulli(m.support_call_share);
        let zc = &mut self.citizens[c as usize];
        zc.status |= status::PENDING;
        zc.route = r;
        zc.episode_day = day as u16;
        if r == route::CITIZEN_SERVICE || r == route::P_CODE {
            self.citizen_service_request(sched, c, now, true)?;
        } else {
            let at = now + days(delay);
            if at < self.end {
                self.at(sched, at, Ev::Enrolled(c))?;
            }
        }
        if support_call {
            let at = self.waking_time(now);
            self.call(sched, c, reason::MIGRATION_HELP, at)?;
        }
        Ok(())
    }

    fn grant_mitid(
        &mut self,
        sched: &mut Scheduler<Ev>,
        c: u32,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let day = now.day();
        let z = self.citizens[c as usize];
        let kept_nemid = z.has(traits::NEMID_HOLDER) && z.status & status::NEMID_LOST == 0;
        // Logins that failed while waiting: needs to sectors already refusing NemID.
        if kept_nemid {
            let rates = self.need_rates[need_key(&z)];
            let from = u32::from(z.episode_day);
            let mut expected = 0.0;
            for (s, &rate) in rates.iter().enumerate() {
                let cut = self.cal.sector_cutoff[s].max(from);
                if day > cut {
                    expected += rate * f64::from(day - cut);
                }
            }
            let n = poisson(&mut self.rng.needs, expected);
            self.today.failed_logins += n;
            self.totals.failed_logins += u64::from(n);
        }
        let kind = MitidKind::issued_for(z.traits);
        let level = loa(route_ial(z.route), kind_aal(kind));
        let rates = self.need_rates[need_key(&z)];
        let mut refused = false;
        for (s, &rate) in rates.iter().enumerate() {
            if rate > 0.0 && !level.satisfies(self.required_loa[s]) {
                self.refused_need_rate += rate;
                refused = true;
            }
        }
        if refused {
            self.totals.mitid_refused_by_loa += 1;
        }
        match z.route {
            route::VIA_NEMID => self.totals.via_nemid += 1,
            route::APP_PASSPORT => self.totals.app_passport += 1,
            route::BANK => self.totals.bank_assisted += 1,
            route::WITNESS => self.totals.witness += 1,
            route::P_CODE => self.totals.citizen_service_p_code += 1,
            _ => self.totals.citizen_service += 1,
        }
        let counts = &mut self.by_age[z.age as usize];
        if kept_nemid {
            counts.no_mitid_nemid -= 1;
        } else {
            counts.no_mitid_none -= 1;
        }
        counts.mitid += 1;
        self.today.new_mitid += 1;
        let zc = &mut self.citizens[c as usize];
        zc.mitid = kind as u8;
        zc.status &= !(status::PENDING | status::FORCED);
        zc.route = 0;
        self.schedule_authenticator(sched, c, now)
    }

    // ----- Citizen Service -------------------------------------------------------------------

    fn citizen_service_request(
        &mut self,
        sched: &mut Scheduler<Ev>,
        c: u32,
        now: SimTime,
        first: bool,
    ) -> Result<(), PolicyError> {
        let day = now.day();
        if day >= self.cal.days {
            return Ok(());
        }
        let muni = self.citizens[c as usize].municipality as usize;
        let month = self.month_of_day[day as usize] as usize;
        if first {
            self.citizens[c as usize].citizen_service_day = day as u16;
            self.cs_queue += 1;
            self.months[muni][month].needed_minutes += self.cs.service_minutes();
        }
        self.months[muni][month].requests += 1;
        self.today.cs_requests += 1;
        if let Some(at) = self.cs.book(muni, day) {
            self.at(sched, at.max(now), Ev::Appointment(c))?;
        } else {
            let at = now
                + SimDuration::from_days(u64::from(
                    self.sc.capacities.citizen_service.rebook_after_days,
                ));
            if at < self.end {
                self.at(sched, at, Ev::CitizenServiceRetry(c))?;
            }
        }
        Ok(())
    }

    fn on_appointment(
        &mut self,
        sched: &mut Scheduler<Ev>,
        c: u32,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        if self
            .rng
            .cs
            .bernoulli(self.sc.capacities.citizen_service.no_show)
        {
            return self.citizen_service_request(sched, c, now, false);
        }
        let day = now.day();
        let z = self.citizens[c as usize];
        let muni = z.municipality as usize;
        let month = self.month_of_day[day as usize] as usize;
        let wait = u64::from(day.saturating_sub(u32::from(z.citizen_service_day)));
        let minutes = self.cs.service_minutes();
        self.cs_queue -= 1;
        self.today.cs_served += 1;
        self.today.cs_wait_days += wait;
        self.today.cs_minutes += minutes;
        let acc = &mut self.months[muni][month];
        acc.served += 1;
        acc.used_minutes += minutes;
        acc.wait_days += wait;
        if z.status & status::PENDING != 0 {
            self.grant_mitid(sched, c, now)
        } else if z.status & status::MITID_DOWN != 0 {
            self.totals.recovered_citizen_service += 1;
            self.recover(sched, c, now)
        } else {
            Ok(())
        }
    }

    // ----- authenticators --------------------------------------------------------------------

    /// Rates per day of: lost phone, forgotten PIN, forgotten password, forgotten user ID,
    /// lock-out. A new phone while the old one works is no event: the app moves by activation
    /// code or QR from the old phone and nothing fails.
    fn event_rates(&self, z: &Citizen) -> [f64; 5] {
        let a = &self.sc.behaviour.authenticator_events;
        let f = if z.has(traits::CHALLENGED) {
            a.challenged_factor
        } else {
            1.0
        };
        let per_day = |r: f64| r * f / 365.25;
        if z.mitid == MitidKind::App as u8 {
            [
                per_day(a.lost_phone_per_year),
                per_day(a.forgot_pin_per_year),
                0.0,
                per_day(a.forgot_user_id_per_year),
                per_day(a.lockout_per_year),
            ]
        } else {
            [
                0.0,
                0.0,
                per_day(a.forgot_password_per_year),
                per_day(a.forgot_user_id_per_year),
                per_day(a.lockout_per_year),
            ]
        }
    }

    fn schedule_authenticator(
        &mut self,
        sched: &mut Scheduler<Ev>,
        c: u32,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let z = self.citizens[c as usize];
        let total: f64 = self.event_rates(&z).iter().sum();
        if total <= 0.0 {
            return Ok(());
        }
        let at = now + days(self.rng.auth.exponential(1.0 / total));
        if at < self.end {
            self.at(sched, at, Ev::Authenticator(c))?;
        }
        Ok(())
    }

    fn on_authenticator(
        &mut self,
        sched: &mut Scheduler<Ev>,
        c: u32,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let z = self.citizens[c as usize];
        if z.mitid == 0 || z.status & status::MITID_DOWN != 0 {
            return Ok(());
        }
        let rates = self.event_rates(&z);
        let Some(kind) = self.rng.auth.weighted_index(&rates) else {
            return Ok(());
        };
        match kind {
            4 => {
                let a = &self.sc.behaviour.authenticator_events;
                let band = self.band_of_age[z.age as usize];
                self.today.lockouts_by_band[band] += 1;
                self.totals.lockouts += 1;
                if self.rng.auth.bernoulli(a.permanent_block_share) {
                    self.outage(sched, c, problem::BLOCKED, now)
                } else {
                    self.today.failed_logins += 1;
                    self.totals.failed_logins += 1;
                    self.mark_down(c, problem::SUSPENDED, now);
                    let at = now + SimDuration::from_hours_f64(a.suspension_hours);
                    self.at(sched, at, Ev::Recovered(c))?;
                    Ok(())
                }
            }
            0 => self.outage(sched, c, problem::LOST_PHONE, now),
            1 => self.outage(sched, c, problem::FORGOT_PIN, now),
            2 => self.outage(sched, c, problem::FORGOT_PASSWORD, now),
            _ => self.outage(sched, c, problem::FORGOT_USER_ID, now),
        }
    }

    fn mark_down(&mut self, c: u32, p: u8, now: SimTime) {
        let zc = &mut self.citizens[c as usize];
        zc.status |= status::MITID_DOWN;
        zc.route = p;
        zc.episode_day = now.day() as u16;
        self.by_age[zc.age as usize].mitid_down += 1;
    }

    /// A MitID user's authenticator stops working: pick the recovery route DOMAIN.md offers.
    fn outage(
        &mut self,
        sched: &mut Scheduler<Ev>,
        c: u32,
        p: u8,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        self.today.failed_logins += 1;
        self.totals.failed_logins += 1;
        self.mark_down(c, p, now);
        let z = self.citizens[c as usize];
        let m = &self.sc.behaviour.migration;
        let ready = !z.has(traits::CHALLENGED);
        let self_ok = ready || self.rng.auth.bernoulli(m.via_nemid_challenged);
        let all = traits::SMARTPHONE | traits::NFC | traits::PASSPORT_CHIP;
        let passport = self_ok && z.traits & all == all;
        let backup = z.has(traits::BACKUP_AUTHENTICATOR);
        let quick = now + days(m.self_service_days);
        let next = match p {
            problem::LOST_PHONE => {
                if passport {
                    self.totals.recovered_passport += 1;
                    // A replacement phone first: a day before the reactivation can start.
                    Next::At(quick + SimDuration::from_days(1))
                } else if backup {
                    self.totals.recovered_backup_device += 1;
                    Next::At(quick + SimDuration::from_days(1))
                } else if z.has(traits::ABROAD) {
                    Next::Stuck
                } else {
                    Next::CitizenService
                }
            }
            problem::FORGOT_PIN | problem::BLOCKED => {
                if passport {
                    self.totals.recovered_passport += 1;
                    Next::At(quick)
                } else if backup {
                    self.totals.recovered_backup_device += 1;
                    Next::At(quick)
                } else {
                    Next::Support
                }
            }
            problem::FORGOT_PASSWORD => {
                if backup && self_ok {
                    self.totals.recovered_backup_device += 1;
                    Next::At(quick)
                } else {
                    Next::Support
                }
            }
            _ => {
                if self.nemid_usable(&z, now.day()) && self_ok {
                    self.totals.recovered_nemid += 1;
                    self.today.nemid_logins += 1;
                    Next::At(quick)
                } else if passport {
                    self.totals.recovered_passport += 1;
                    Next::At(quick)
                } else {
                    Next::Support
                }
            }
        };
        match next {
            Next::At(at) => {
                if at < self.end {
                    self.at(sched, at, Ev::Recovered(c))?;
                }
                Ok(())
            }
            Next::Support => {
                let at = self.waking_time(now);
                if z.status & status::IN_CALL != 0 {
                    // Already on the phone about something else: this problem goes to the counter.
                    self.citizen_service_request(sched, c, now, true)
                } else {
                    self.call(sched, c, reason::RECOVERY, at)
                }
            }
            Next::CitizenService => self.citizen_service_request(sched, c, now, true),
            Next::Stuck => Ok(()),
        }
    }

    fn recover(
        &mut self,
        sched: &mut Scheduler<Ev>,
        c: u32,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let z = self.citizens[c as usize];
        if z.status & status::MITID_DOWN == 0 {
            return Ok(());
        }
        if z.route == problem::SUSPENDED {
            self.totals.suspensions_lifted += 1;
        } else {
            let rates = self.need_rates[need_key(&z)];
            let outage_days = now.as_days_f64() - f64::from(z.episode_day);
            let n = poisson(
                &mut self.rng.needs,
                rates.iter().sum::<f64>() * outage_days.max(0.0),
            );
            self.today.failed_logins += n;
            self.totals.failed_logins += u64::from(n);
        }
        self.by_age[z.age as usize].mitid_down -= 1;
        let zc = &mut self.citizens[c as usize];
        zc.status &= !status::MITID_DOWN;
        zc.route = 0;
        self.schedule_authenticator(sched, c, now)
    }

    fn on_qr_rollout(
        &mut self,
        sched: &mut Scheduler<Ev>,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let a = &self.sc.behaviour.authenticator_events;
        for i in 0..self.citizens.len() {
            let z = self.citizens[i];
            if z.mitid != MitidKind::App as u8 {
                continue;
            }
            let p = if z.has(traits::CHALLENGED) {
                a.qr_confusion * a.challenged_factor
            } else {
                a.qr_confusion
            };
            if self.rng.qr.bernoulli(p) {
                let at = now + days(self.rng.qr.uniform() * 30.0);
                let at = self.waking_time(at);
                if at < self.end {
                    self.at(sched, at, Ev::QrConfusion(i as u32))?;
                }
            }
        }
        Ok(())
    }

    // ----- support line ----------------------------------------------------------------------

    /// A time people phone: `t` itself between 07:00 and 23:00, else the next morning.
    fn waking_time(&mut self, t: SimTime) -> SimTime {
        let hour = t.millis_of_day() / MILLIS_PER_HOUR;
        if (7..23).contains(&hour) {
            t
        } else {
            let day = if hour >= 23 { t.day() + 1 } else { t.day() };
            SimTime::from_day(day)
                + SimDuration::from_hours(7)
                + SimDuration::from_millis(self.rng.support.below(3 * MILLIS_PER_HOUR))
        }
    }

    fn call(
        &mut self,
        sched: &mut Scheduler<Ev>,
        c: u32,
        r: u8,
        at: SimTime,
    ) -> Result<(), PolicyError> {
        let zc = &mut self.citizens[c as usize];
        if zc.status & status::IN_CALL != 0 || at >= self.end {
            return Ok(());
        }
        zc.status |= status::IN_CALL;
        self.at(sched, at, Ev::CallArrive(c, r))?;
        Ok(())
    }

    fn on_call_arrive(
        &mut self,
        sched: &mut Scheduler<Ev>,
        c: u32,
        r: u8,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        self.today.calls += 1;
        let sup = &self.sc.capacities.support;
        let patience =
            SimDuration::from_minutes_f64(self.rng.support.exponential(sup.patience_minutes));
        let caller = Caller {
            citizen: c,
            reason: r,
        };
        match self.support.call(now, caller, Some(patience)) {
            Some(caller) => self.start_call(sched, caller, now, SimDuration::ZERO),
            None => Ok(()),
        }
    }

    fn start_call(
        &mut self,
        sched: &mut Scheduler<Ev>,
        Caller {
            citizen: c,
            reason: r,
        }: Caller,
        now: SimTime,
        waited: SimDuration,
    ) -> Result<(), PolicyError> {
        self.today.answered += 1;
        self.today.wait_minutes += waited.as_minutes_f64();
        let length = SimDuration::from_minutes_f64(
            self.rng
                .support
                .exponential(self.sc.capacities.support.call_minutes),
        );
        self.at(sched, now + length, Ev::CallEnd(c, r))?;
        Ok(())
    }

    /// Callers the line found had hung up (at `left`, their patience's end; the line notices
    /// when an agent frees up, at a shift change or at the end of the day, see
    /// [`crate::resources::MultiServerQueue`]).
    fn on_hang_ups(
        &mut self,
        sched: &mut Scheduler<Ev>,
        hung_up: Vec<Abandoned<Caller>>,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        for a in hung_up {
            self.on_hang_up(sched, a.customer, a.left, now)?;
        }
        Ok(())
    }

    /// A caller who gave up waiting at `left`, noticed by the line at `now`.
    fn on_hang_up(
        &mut self,
        sched: &mut Scheduler<Ev>,
        Caller {
            citizen: c,
            reason: r,
        }: Caller,
        left: SimTime,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        self.today.abandoned += 1;
        let sup = &self.sc.capacities.support;
        if self.rng.support.bernoulli(sup.redial) {
            // Redial counts from the hang-up; it is scheduled no earlier than when the line
            // noticed it, which is seldom more than a call's length later.
            let redial = (left + SimDuration::from_hours_f64(sup.redial_after_hours)).max(now);
            let at = self.waking_time(redial);
            if at < self.end {
                self.at(sched, at, Ev::CallArrive(c, r))?;
                return Ok(());
            }
        }
        self.citizens[c as usize].status &= !status::IN_CALL;
        let z = self.citizens[c as usize];
        if r == reason::RECOVERY && z.status & status::MITID_DOWN != 0 && !z.has(traits::ABROAD) {
            self.citizen_service_request(sched, c, now, true)?;
        }
        Ok(())
    }

    fn on_call_end(
        &mut self,
        sched: &mut Scheduler<Ev>,
        c: u32,
        r: u8,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let mut hung_up = Vec::new();
        let next = self.support.call_ended(now, |a| hung_up.push(a));
        self.on_hang_ups(sched, hung_up, now)?;
        if let Some(s) = next {
            self.start_call(sched, s.customer, now, s.waited)?;
        }
        self.citizens[c as usize].status &= !status::IN_CALL;
        let z = self.citizens[c as usize];
        if r == reason::RECOVERY && z.status & status::MITID_DOWN != 0 {
            let refused = (z.route == problem::FORGOT_PIN || z.route == problem::BLOCKED)
                && self.rng.support.bernoulli(
                    self.sc
                        .behaviour
                        .authenticator_events
                        .phone_number_changed_recently,
                );
            if z.route == problem::LOST_PHONE || refused {
                if refused {
                    self.totals.support_refused_number_changed += 1;
                }
                if !z.has(traits::ABROAD) {
                    self.citizen_service_request(sched, c, now, true)?;
                }
            } else {
                self.totals.recovered_support += 1;
                self.recover(sched, c, now)?;
            }
        }
        Ok(())
    }

    // ----- reporting -------------------------------------------------------------------------

    fn close_day(&mut self, d: u32) {
        let bands = self.sc.outputs.age_bands.len();
        let nemid_works = self.cal.nemid_works(d);
        let mut mitid = 0;
        let mut mitid_15 = 0;
        let mut nemid_only = 0;
        let mut without = 0;
        let mut without_by_band = vec![0u32; bands];
        for (age, a) in self.by_age.iter().enumerate() {
            mitid += a.mitid;
            let nemid_users = if nemid_works { a.no_mitid_nemid } else { 0 };
            nemid_only += nemid_users;
            if age >= usize::from(self.min_age) {
                let w = a.no_mitid_none + (a.no_mitid_nemid - nemid_users) + a.mitid_down;
                without_by_band[self.band_of_age[age]] += w;
                if age >= 15 {
                    without += w;
                    mitid_15 += a.mitid;
                }
            } else if age >= 15 {
                mitid_15 += a.mitid;
            }
        }
        // Logins of holders whose MitID's LoA a sector refuses (e.g. P-code identities).
        let refused = poisson(&mut self.rng.needs, self.refused_need_rate);
        self.today.failed_logins += refused;
        self.totals.failed_logins += u64::from(refused);
        let t = std::mem::replace(
            &mut self.today,
            DayAcc {
                lockouts_by_band: vec![0; bands],
                ..DayAcc::default()
            },
        );
        let mean = |sum: f64, n: u32| if n == 0 { 0.0 } else { sum / f64::from(n) };
        self.rows.push(DayRow {
            date: self.cal.date(d),
            mitid_users: mitid,
            mitid_users_15plus: mitid_15,
            nemid_only,
            without_eid: without,
            population_15plus: self.population_15plus,
            citizen_service_queue: self.cs_queue,
            citizen_service_mean_wait_days: mean(t.cs_wait_days as f64, t.cs_served),
            citizen_service_requests: t.cs_requests,
            citizen_service_served: t.cs_served,
            citizen_service_counter_hours: t.cs_minutes / 60.0,
            support_calls: t.calls,
            support_answered: t.answered,
            support_abandoned: t.abandoned,
            support_mean_wait_minutes: mean(t.wait_minutes, t.answered),
            failed_logins: t.failed_logins,
            new_mitid: t.new_mitid,
            nemid_logins: t.nemid_logins,
            via_nemid_enrolments_started: t.via_nemid_started,
            lockouts: t.lockouts_by_band.iter().sum(),
            lockouts_by_age_band: t.lockouts_by_band,
            without_eid_by_age_band: without_by_band,
        });
    }

    fn municipality_load(
        &self,
        i: usize,
        code: u16,
        name: &str,
        residents: u32,
    ) -> MunicipalityLoad {
        let mut open = vec![0.0f64; self.month_labels.len()];
        for d in 0..self.cal.days {
            open[self.month_of_day[d as usize] as usize] += self.cs.open_minutes(i, d);
        }
        let months = self.months[i]
            .iter()
            .zip(&self.month_labels)
            .zip(open)
            .map(|((m, label), open_minutes)| MonthLoad {
                month: label.clone(),
                requests: m.requests,
                served: m.served,
                counter_hours_used: m.used_minutes / 60.0,
                counter_hours_available: open_minutes / 60.0,
                counter_hours_needed: m.needed_minutes / 60.0,
                mean_wait_days: if m.served == 0 {
                    0.0
                } else {
                    m.wait_days as f64 / f64::from(m.served)
                },
            })
            .collect();
        MunicipalityLoad {
            code,
            name: name.to_owned(),
            residents,
            counters: self.cs.counters[i].counters,
            months,
        }
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
