//! The simulation as the dashboard sees it: a run that advances one day at a time.
//!
//! [`SteppableRun`] is the little the dashboard needs; [`ScenarioRun`] is the simulator's own
//! steppable [`PolicyRun`] behind it, owning the scenario the run borrows. Days are computed as
//! the dashboard closes them, never ahead: pausing pauses the model.
//!
//! A live run (`--live`) is a [`DrivenRun`]: the binary's live driver, a [`DayDriver`], closes
//! each day with the sampled citizens' actions performed against the lab's components, on a
//! [`ScenarioRun`] built [`with_port`](ScenarioRun::with_port) and advanced through
//! [`drive`](ScenarioRun::drive), and answers its [`LiveFigures`].

use chrono::{Datelike as _, NaiveDate};
use mitid_sim::policy::{
    ActionPort, DayRow, Milestone, MonthLoad, MunicipalityLoad, PolicyError, PolicyRun,
    PolicyScenario, Step,
};

use crate::live::LiveFigures;

/// Why a run could not go on (or start again).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The model failed.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A live run's components could not be (re)started.
    #[error("the live run: {0}")]
    Live(Box<dyn std::error::Error + Send + Sync>),
}

/// A policy run the dashboard can advance and observe.
pub trait SteppableRun {
    /// Scenario name.
    fn scenario(&self) -> &str;
    /// The run's seed.
    fn seed(&self) -> u64;
    /// Synthetic citizens.
    fn population(&self) -> u32;
    /// First simulated day.
    fn start(&self) -> NaiveDate;
    /// Last simulated day (inclusive).
    fn end(&self) -> NaiveDate;
    /// The calendar's named dates.
    fn milestones(&self) -> &[Milestone];
    /// The days closed so far, in date order.
    fn closed_days(&self) -> &[DayRow];
    /// Closes the next day; `false` when the run had already reached its end.
    fn step_day(&mut self) -> Result<bool, RunError>;
    /// Citizen Service mean waits per municipality over the months closed so far.
    fn municipality_waits(&self) -> &[MunicipalityWait];
    /// Back to before the first day (same scenario, same seed: the same run again).
    fn restart(&mut self) -> Result<(), RunError>;

    /// What the lab's components did for a live run's sampled citizens; `None` for a run of
    /// the model alone.
    fn live(&self) -> Option<&LiveFigures> {
        None
    }

    /// The day being simulated next (the day after the last closed one), or the end when done.
    fn today(&self) -> NaiveDate {
        self.closed_days()
            .last()
            .and_then(|day| day.date.succ_opt())
            .map_or(self.start(), |next| next.min(self.end()))
    }

    /// Whether every day has been closed.
    fn finished(&self) -> bool {
        self.closed_days()
            .last()
            .is_some_and(|day| day.date >= self.end())
    }
}

/// One municipality's Citizen Service wait over the months closed so far.
#[derive(Debug, Clone, PartialEq)]
pub struct MunicipalityWait {
    /// DST short name.
    pub name: String,
    /// Synthetic residents.
    pub residents: u32,
    /// Cases served in the closed months.
    pub served: u32,
    /// Mean days from first request to service, weighted by cases served, over the closed months
    /// (0 when none were served).
    pub mean_wait_days: f64,
    /// The last closed month's mean offered wait: what someone asking then was offered (0 when
    /// no month has closed).
    pub last_month_wait_days: f64,
}

/// The run borrows its scenario; the two are kept together.
type BorrowingRun<'a> = PolicyRun<'a>;

self_cell::self_cell!(
    struct OwnedRun {
        owner: PolicyScenario,
        #[not_covariant]
        dependent: BorrowingRun,
    }
);

/// A policy scenario's [`PolicyRun`], stepped a day at a time as the dashboard asks.
pub struct ScenarioRun {
    run: OwnedRun,
    seed: u64,
    name: String,
    milestones: Vec<Milestone>,
    /// The municipality table's figures, refreshed when a month closes (they change only then).
    waits: Vec<MunicipalityWait>,
    /// The month the waits were computed through (`None`: before any month closed).
    waits_through: Option<String>,
}

impl std::fmt::Debug for ScenarioRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScenarioRun")
            .field("scenario", &self.name)
            .field("seed", &self.seed)
            .field("closed_days", &self.closed_days().len())
            .finish_non_exhaustive()
    }
}

impl ScenarioRun {
    /// A run of `scenario` with `seed`, before its first day (the population is synthesised
    /// here; no day is simulated yet). An invalid scenario is an error naming the field.
    pub fn new(scenario: PolicyScenario, seed: u64) -> Result<Self, PolicyError> {
        Self::build(scenario, seed, |scenario| PolicyRun::new(scenario, seed))
    }

    /// A run of `scenario` with `seed` whose actions `port` resolves (a live run's driver),
    /// before its first day.
    pub fn with_port(
        scenario: PolicyScenario,
        seed: u64,
        port: impl ActionPort + 'static,
    ) -> Result<Self, PolicyError> {
        Self::build(scenario, seed, |scenario| {
            PolicyRun::with_port(scenario, seed, port)
        })
    }

    fn build(
        scenario: PolicyScenario,
        seed: u64,
        open: impl for<'a> FnOnce(&'a PolicyScenario) -> Result<PolicyRun<'a>, PolicyError>,
    ) -> Result<Self, PolicyError> {
        let name = scenario.name.clone();
        let run = OwnedRun::try_new(scenario, open)?;
        let milestones = run.with_dependent(|_, run| run.milestones().to_vec());
        let mut built = Self {
            run,
            seed,
            name,
            milestones,
            waits: Vec::new(),
            waits_through: None,
        };
        built.refresh_waits();
        Ok(built)
    }

    /// The scenario being run.
    #[must_use]
    pub fn policy(&self) -> &PolicyScenario {
        self.run.borrow_owner()
    }

    /// Reads the simulator's run itself (a live driver draws its sample from it).
    pub fn inspect<R>(&self, read: impl for<'a> FnOnce(&PolicyRun<'a>) -> R) -> R {
        self.run.with_dependent(|_, run| read(run))
    }

    /// Advances the simulator's run as `advance` does (a live driver closes a day in stretches,
    /// with real flows between them); the municipality table follows the days it closed.
    pub fn drive<R>(&mut self, advance: impl for<'a> FnOnce(&mut PolicyRun<'a>) -> R) -> R {
        let out = self.run.with_dependent_mut(|_, run| advance(run));
        self.refresh_waits();
        out
    }

    fn refresh_waits(&mut self) {
        let last = self.closed_days().last().map(|d| d.date);
        let through = last.and_then(|last| closed_month_key(last, self.end()));
        if !self.waits.is_empty() && through == self.waits_through {
            return;
        }
        let loads = self.run.with_dependent(|_, run| run.municipality_loads());
        self.waits = waits_through(&loads, through.as_deref());
        self.waits_through = through;
    }
}

impl SteppableRun for ScenarioRun {
    fn scenario(&self) -> &str {
        &self.name
    }

    fn seed(&self) -> u64 {
        self.seed
    }

    fn population(&self) -> u32 {
        self.policy().population.size
    }

    fn start(&self) -> NaiveDate {
        self.policy().population.start
    }

    fn end(&self) -> NaiveDate {
        self.policy().population.end
    }

    fn milestones(&self) -> &[Milestone] {
        &self.milestones
    }

    fn closed_days(&self) -> &[DayRow] {
        self.run.with_dependent(|_, run| run.closed_days())
    }

    fn step_day(&mut self) -> Result<bool, RunError> {
        let step = self.run.with_dependent_mut(|_, run| run.step_day())?;
        let closed = matches!(step, Step::DayClosed(_));
        if closed {
            self.refresh_waits();
        }
        Ok(closed)
    }

    fn municipality_waits(&self) -> &[MunicipalityWait] {
        &self.waits
    }

    fn restart(&mut self) -> Result<(), RunError> {
        // A new run of the same scenario and seed: deterministic, so the same days again.
        *self = ScenarioRun::new(self.policy().clone(), self.seed)?;
        Ok(())
    }
}

/// What closes the days of a [`DrivenRun`] in place of the model alone: a live driver, which
/// performs the sampled citizens' actions for real as the day goes, and counts them.
pub trait DayDriver {
    /// Closes the day in progress of `run`; `false` when every day was already closed.
    fn close_day(&mut self, run: &mut ScenarioRun) -> Result<bool, RunError>;
    /// Puts `run` and the driver back before the first day.
    fn restart(&mut self, run: &mut ScenarioRun) -> Result<(), RunError>;
    /// What the driver counted over the days closed so far.
    fn figures(&self) -> &LiveFigures;
}

/// A [`ScenarioRun`] whose days `driver` closes: the model's figures are the run's, the live
/// figures the driver's. The run is dropped before the driver (a port into the driver may
/// live in the run).
pub struct DrivenRun<D> {
    pub run: ScenarioRun,
    pub driver: D,
}

impl<D> std::fmt::Debug for DrivenRun<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrivenRun")
            .field("run", &self.run)
            .finish_non_exhaustive()
    }
}

impl<D: DayDriver> SteppableRun for DrivenRun<D> {
    fn scenario(&self) -> &str {
        self.run.scenario()
    }

    fn seed(&self) -> u64 {
        self.run.seed()
    }

    fn population(&self) -> u32 {
        self.run.population()
    }

    fn start(&self) -> NaiveDate {
        self.run.start()
    }

    fn end(&self) -> NaiveDate {
        self.run.end()
    }

    fn milestones(&self) -> &[Milestone] {
        self.run.milestones()
    }

    fn closed_days(&self) -> &[DayRow] {
        self.run.closed_days()
    }

    fn step_day(&mut self) -> Result<bool, RunError> {
        self.driver.close_day(&mut self.run)
    }

    fn municipality_waits(&self) -> &[MunicipalityWait] {
        self.run.municipality_waits()
    }

    fn restart(&mut self) -> Result<(), RunError> {
        self.driver.restart(&mut self.run)
    }

    fn live(&self) -> Option<&LiveFigures> {
        Some(self.driver.figures())
    }
}

/// Each municipality's waits over the months up to and including `through` (`YYYY-MM`).
fn waits_through(loads: &[MunicipalityLoad], through: Option<&str>) -> Vec<MunicipalityWait> {
    loads
        .iter()
        .map(|m| {
            let closed: Vec<&MonthLoad> = m
                .months
                .iter()
                .filter(|month| through.is_some_and(|key| month.month.as_str() <= key))
                .collect();
            waits_over(m, &closed)
        })
        .collect()
}

/// The `YYYY-MM` key of the last month whose every day is closed when `last_closed` is, or
/// `None` when no month is complete yet. The run's last month is complete on its last day even
/// when that is not the calendar month's end.
fn closed_month_key(last_closed: NaiveDate, end: NaiveDate) -> Option<String> {
    let month_complete = last_closed >= end
        || last_closed
            .succ_opt()
            .is_some_and(|next| next.month() != last_closed.month());
    let month = if month_complete {
        last_closed
    } else {
        // The day before this month's first: the previous month's last day.
        last_closed.with_day(1)?.pred_opt()?
    };
    Some(format!("{:04}-{:02}", month.year(), month.month()))
}

fn waits_over(municipality: &MunicipalityLoad, months: &[&MonthLoad]) -> MunicipalityWait {
    let served: u32 = months.iter().map(|m| m.served).sum();
    let weighted: f64 = months
        .iter()
        .map(|m| m.mean_wait_days.unwrap_or(0.0) * f64::from(m.served))
        .sum();
    MunicipalityWait {
        name: municipality.name.clone(),
        residents: municipality.residents,
        served,
        mean_wait_days: if served == 0 {
            0.0
        } else {
            weighted / f64::from(served)
        },
        // The offered wait exists in a month nobody was served, unlike the mean of those served.
        last_month_wait_days: months.last().map_or(0.0, |m| m.mean_offered_wait_days),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_scenario() -> PolicyScenario {
        serde_yaml::from_str(
            "kind: policy\nname: small\npopulation:\n  size: 3000\n  start: 2021-10-01\n  \
             end: 2021-12-15\n  municipalities: [Aalborg, Læsø]\n",
        )
        .expect("a valid scenario")
    }

    #[test]
    fn stepping_the_policy_run_shows_what_the_finished_run_reports() {
        let scenario = small_scenario();
        let outcome =
            mitid_sim::policy::run_policy(&scenario, 7, &mut |_| {}).expect("the run finishes");
        let mut run = ScenarioRun::new(scenario, 7).expect("the run opens");
        assert!(run.closed_days().is_empty(), "no day is simulated ahead");
        assert!(run.municipality_waits().iter().all(|m| m.served == 0));
        // Forty days in, only October has closed: the table counts October alone.
        for _ in 0..40 {
            assert!(run.step_day().expect("a day closes"));
        }
        assert_eq!(run.closed_days(), &outcome.days[..40]);
        assert_eq!(
            run.municipality_waits(),
            waits_through(&outcome.municipalities, Some("2021-10")).as_slice()
        );
        while run.step_day().expect("a day closes") {}
        assert!(run.finished());
        assert_eq!(run.closed_days(), outcome.days.as_slice());
        let all = waits_through(&outcome.municipalities, Some("2021-12"));
        assert!(all.iter().any(|m| m.served > 0), "someone was served");
        assert_eq!(run.municipality_waits(), all.as_slice());
        // Restarting is running it again: the same first day.
        run.restart().expect("restarts");
        assert!(run.closed_days().is_empty());
        run.step_day().expect("a day closes");
        assert_eq!(run.closed_days(), &outcome.days[..1]);
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn a_month_counts_as_closed_only_after_its_last_day() {
        let end = date(2023, 12, 31);
        assert_eq!(
            closed_month_key(date(2022, 3, 14), end).as_deref(),
            Some("2022-02")
        );
        assert_eq!(
            closed_month_key(date(2022, 3, 31), end).as_deref(),
            Some("2022-03")
        );
        assert_eq!(
            closed_month_key(date(2023, 12, 15), date(2023, 12, 15)).as_deref(),
            Some("2023-12")
        );
    }
}
