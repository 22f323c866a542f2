//! The live mode's figures (`mitid-lab tui --live`): what the lab's components did for the run's
//! sampled citizens, day by day, beside the model's own figures.
//!
//! The dashboard does not drive the components itself: a live run is a [`SteppableRun`]
//! whose [`step_day`](SteppableRun::step_day) closes the model's day with the sampled citizens'
//! actions performed for real (the binary's live driver implements it), and whose
//! [`live`](SteppableRun::live) answers the [`LiveFigures`] gathered so far. A pure run answers
//! none, and the simulation view draws no live panel.
//!
//! [`SteppableRun`]: crate::run::SteppableRun

use std::collections::BTreeMap;

use chrono::NaiveDate;

/// Flows performed, and of those, failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub performed: u64,
    pub failed: u64,
}

impl Counts {
    /// The two counts of `self` and `other` together.
    #[must_use]
    pub fn plus(self, other: Counts) -> Counts {
        Counts {
            performed: self.performed + other.performed,
            failed: self.failed + other.failed,
        }
    }
}

/// What the components did on one simulated day.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveDay {
    pub date: NaiveDate,
    /// By component name (`idp`, `citizen-service`, `support`, ...): only those that saw a
    /// flow that day.
    pub by_component: BTreeMap<String, Counts>,
}

impl LiveDay {
    /// Every flow of the day.
    #[must_use]
    pub fn total(&self) -> Counts {
        self.by_component
            .values()
            .fold(Counts::default(), |sum, c| sum.plus(*c))
    }
}

/// A journey's flows so far and their wall-clock latency.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JourneyFigures {
    pub counts: Counts,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 95th percentile latency, milliseconds.
    pub p95_ms: f64,
}

/// Everything the live panel shows: the run's live set-up and the flows so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveFigures {
    /// Where the components run: `embedded` or `containers`.
    pub runtime: String,
    /// Citizens who act for real.
    pub sample_size: u64,
    /// One per day the run has closed, in date order (the same days as the run's
    /// `closed_days`).
    pub days: Vec<LiveDay>,
    /// By journey name (`sector_login_mitid`, `support_call`, ...), over the days closed.
    pub journeys: BTreeMap<String, JourneyFigures>,
    /// The model's actions whose live outcome differed from what its rules expected.
    pub diverged: u64,
}

impl LiveFigures {
    /// Each component's flows over the days closed so far.
    #[must_use]
    pub fn by_component(&self) -> BTreeMap<&str, Counts> {
        let mut sums: BTreeMap<&str, Counts> = BTreeMap::new();
        for day in &self.days {
            for (component, counts) in &day.by_component {
                let sum = sums.entry(component.as_str()).or_default();
                *sum = sum.plus(*counts);
            }
        }
        sums
    }

    /// Every flow over the days closed so far.
    #[must_use]
    pub fn total(&self) -> Counts {
        self.days
            .iter()
            .fold(Counts::default(), |sum, day| sum.plus(day.total()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(pairs: &[(&str, u64, u64)]) -> LiveDay {
        LiveDay {
            date: NaiveDate::from_ymd_opt(2022, 9, 1).expect("a date"),
            by_component: pairs
                .iter()
                .map(|&(name, performed, failed)| (name.to_owned(), Counts { performed, failed }))
                .collect(),
        }
    }

    #[test]
    fn components_and_the_total_add_up_over_the_days() {
        let figures = LiveFigures {
            days: vec![
                day(&[("idp", 3, 1), ("support", 1, 1)]),
                day(&[]),
                day(&[("idp", 2, 0)]),
            ],
            ..LiveFigures::default()
        };
        let by_component = figures.by_component();
        assert_eq!(
            by_component["idp"],
            Counts {
                performed: 5,
                failed: 1
            }
        );
        assert_eq!(
            by_component["support"],
            Counts {
                performed: 1,
                failed: 1
            }
        );
        assert_eq!(
            figures.total(),
            Counts {
                performed: 6,
                failed: 2
            }
        );
        assert_eq!(figures.days[1].total(), Counts::default());
    }
}
