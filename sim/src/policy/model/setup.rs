//! Set-up: the model built from a scenario (population, capacities, need rates, months,
//! streams) and every citizen's first event; and, at the end, the outcome.

use chrono::Datelike;
use mitid_devices::assurance::Loa;

use crate::kernel::{DayScheduler, RandomStreams, SimDuration, SimTime};
use crate::policy::PolicyError;
use crate::policy::calendar::{self, HazardCurve, NemidCalendar};
use crate::policy::citizen_service::CitizenService;
use crate::policy::fixtures::Municipality;
use crate::policy::incidents::Incidents;
use crate::policy::outcome::{PolicyOutcome, RunTotals};
use crate::policy::population::{self, traits};
use crate::policy::port::{ActionPort, ActionTally};
use crate::policy::scenario::{PolicyScenario, weekday_index};
use crate::resources::{CallCentre, ShiftPlan, Weekday};

use super::accumulators::{AgeCounts, DayAcc, MonthAcc};
use super::state::NemidRule;
use super::{Ev, MAX_AGE, Model, Streams};

/// A model with every first event scheduled, and what its outcome needs of the population.
pub(crate) struct Built<'a> {
    pub(crate) model: Model<'a>,
    pub(crate) municipalities: Vec<Municipality>,
    pub(crate) residents: Vec<u32>,
}

/// Builds the model of `sc` for `seed`, resolving actions through `port` (`None`: by the
/// model's own rules). The scenario must have been validated.
// The set-up reads as one list of the model's parts; splitting it would only scatter them.
#[allow(clippy::too_many_lines)]
pub(crate) fn build<'a>(
    sc: &'a PolicyScenario,
    seed: u64,
    port: Option<Box<dyn ActionPort + 'a>>,
) -> Result<Built<'a>, PolicyError> {
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

    let incidents = Incidents::new(sc, seed, pop.citizens.len());
    let mut model = Model {
        incidents,
        sched: DayScheduler::new(cal.days),
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
        cs_first_asked: vec![0; month_of_day.len()],
        cs_oldest_day: 0,
        residents: pop.residents.clone(),
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
        capture: None,
        port,
        actions: ActionTally::default(),
    };
    model.initialise()?;
    Ok(Built {
        model,
        municipalities: pop.municipalities,
        residents: pop.residents,
    })
}

impl Model<'_> {
    /// The outcome of the run so far (the caller has run it to its end), for `seed` and the
    /// population's `municipalities` and their `residents`. Takes the day rows out.
    pub(crate) fn outcome(
        &mut self,
        seed: u64,
        municipalities: &[Municipality],
        residents: &[u32],
    ) -> PolicyOutcome {
        let sc = self.sc;
        let loads = municipalities
            .iter()
            .enumerate()
            .map(|(i, m)| self.municipality_load(i, m.code, &m.name, residents[i]))
            .collect();
        PolicyOutcome {
            scenario: sc.name.clone(),
            seed,
            population: sc.population.size,
            start: sc.population.start,
            end: sc.population.end,
            event_count: self.sched.delivered(),
            age_bands: age_band_labels(&sc.outputs.age_bands),
            milestones: calendar::milestones(sc),
            days: std::mem::take(&mut self.rows),
            municipalities: loads,
            totals: self.totals.clone(),
            incidents: self.incidents.figures(),
        }
    }
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

impl Model<'_> {
    pub(super) fn initialise(&mut self) -> Result<(), PolicyError> {
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
                self.schedule_authenticator(i as u32, now)?;
            } else {
                if c.has(traits::NEMID_HOLDER) {
                    counts.no_mitid_nemid += 1;
                } else {
                    counts.no_mitid_none += 1;
                }
                self.schedule_decision(i as u32, now)?;
            }
        }
        self.renumber_by_first_event()?;
        if let Some(first_shift) = self.support.next_shift_change(now) {
            self.at(first_shift, Ev::ShiftChange)?;
        }
        for (rule, day) in [
            (
                NemidRule::KeyCardsOnlyAtCitizenService,
                self.cal.key_cards_only_at_citizen_service,
            ),
            (NemidRule::SupportClosed, self.cal.nemid_support_closes),
        ] {
            if day < self.cal.days && day < self.cal.nemid_shutdown {
                self.at(SimTime::from_day(day), Ev::NemidRule(rule))?;
            }
        }
        if self.cal.qr_rollout < self.cal.days {
            self.at(SimTime::from_day(self.cal.qr_rollout), Ev::QrRollout)?;
        }
        self.at(
            SimTime::from_day(1) - SimDuration::from_millis(1),
            Ev::DayEnd(0),
        )?;
        Ok(())
    }

    /// Renumbers citizens so that those whose first event falls on the same day sit next to
    /// each other (a stable counting sort by that day), then schedules the captured first
    /// events under the new numbers, in their original order. A day's wave of decisions then
    /// touches one contiguous block of records instead of the whole array. Numbers never reach
    /// the outcome and same-instant events keep their order; only the passes over all citizens
    /// (QR rollout, NemID rules) meet them in the new order, which is as deterministic as the
    /// old one.
    pub(super) fn renumber_by_first_event(&mut self) -> Result<(), PolicyError> {
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
            self.at(t, e)?;
        }
        Ok(())
    }
}
