//! The simulation as the dashboard sees it: a run that advances one day at a time.
//!
//! The simulator is becoming steppable (a `PolicyRun` with `step_day()`, `today()` and the closed
//! days' figures). Until that lands, [`ReplayRun`] replays a finished
//! [`PolicyOutcome`] day by day behind the same small trait, so switching to the real steppable
//! run is one `impl SteppableRun for PolicyRun`. The dashboard never looks past the last closed
//! day, so what it shows is what a steppable run would show.

use chrono::{Datelike as _, NaiveDate};
use mitid_sim::policy::{DayRow, Milestone, MunicipalityLoad, PolicyOutcome};

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
    fn step_day(&mut self) -> bool;
    /// Citizen Service mean waits per municipality over the months closed so far.
    fn municipality_waits(&self) -> Vec<MunicipalityWait>;
    /// Back to before the first day (same scenario, same seed: the same run again).
    fn restart(&mut self);

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

/// A finished outcome replayed day by day.
#[derive(Debug, Clone)]
pub struct ReplayRun {
    outcome: PolicyOutcome,
    closed: usize,
}

impl ReplayRun {
    /// Starts the replay before the first day.
    #[must_use]
    pub fn new(outcome: PolicyOutcome) -> Self {
        Self { outcome, closed: 0 }
    }
}

impl SteppableRun for ReplayRun {
    fn scenario(&self) -> &str {
        &self.outcome.scenario
    }

    fn seed(&self) -> u64 {
        self.outcome.seed
    }

    fn population(&self) -> u32 {
        self.outcome.population
    }

    fn start(&self) -> NaiveDate {
        self.outcome.start
    }

    fn end(&self) -> NaiveDate {
        self.outcome.end
    }

    fn milestones(&self) -> &[Milestone] {
        &self.outcome.milestones
    }

    fn closed_days(&self) -> &[DayRow] {
        &self.outcome.days[..self.closed]
    }

    fn restart(&mut self) {
        // The run is deterministic, so replaying from the first day is re-running it.
        self.closed = 0;
    }

    fn step_day(&mut self) -> bool {
        if self.closed < self.outcome.days.len() {
            self.closed += 1;
            true
        } else {
            false
        }
    }

    fn municipality_waits(&self) -> Vec<MunicipalityWait> {
        let Some(last) = self.closed_days().last() else {
            return self
                .outcome
                .municipalities
                .iter()
                .map(|m| waits_over(m, &[]))
                .collect();
        };
        let closed_through = closed_month_key(last.date, self.end());
        self.outcome
            .municipalities
            .iter()
            .map(|m| {
                let closed: Vec<&mitid_sim::policy::MonthLoad> = m
                    .months
                    .iter()
                    .filter(|month| {
                        closed_through
                            .as_deref()
                            .is_some_and(|key| month.month.as_str() <= key)
                    })
                    .collect();
                waits_over(m, &closed)
            })
            .collect()
    }
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

fn waits_over(
    municipality: &MunicipalityLoad,
    months: &[&mitid_sim::policy::MonthLoad],
) -> MunicipalityWait {
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
