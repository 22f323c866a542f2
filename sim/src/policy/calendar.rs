//! The scenario's dates as simulation days, and the time-varying migration hazard.
//!
//! Day 0 is `population.start`; a date before the start counts as day 0 (already in effect), a
//! date after the end simply never arrives. A calendar day `d` is in effect from
//! `SimTime::from_day(d)` on.

use chrono::NaiveDate;

use crate::kernel::{MILLIS_PER_DAY, SimTime};

use super::outcome::Milestone;
use super::scenario::{HazardPeriod, PolicyScenario, Sector};

/// Day index of `date` relative to `start` (0 for dates on or before the start).
#[must_use]
pub fn day_index(start: NaiveDate, date: NaiveDate) -> u32 {
    (date - start).num_days().clamp(0, i64::from(u32::MAX / 2)) as u32
}

/// The NemID calendar of one run, in day indices.
#[derive(Debug, Clone)]
pub struct NemidCalendar {
    /// First simulated date.
    pub start: NaiveDate,
    /// Number of simulated days (`end - start + 1`).
    pub days: u32,
    /// First day each sector refuses NemID, indexed by [`Sector::index`].
    pub sector_cutoff: [u32; 8],
    /// First day no NemID login works.
    pub nemid_shutdown: u32,
    /// First day new key cards come only from Citizen Service.
    pub key_cards_only_at_citizen_service: u32,
    /// First day NemID support is closed.
    pub nemid_support_closes: u32,
    /// First day NemID cannot be used to get MitID.
    pub migration_via_nemid_ends: u32,
    /// First day of QR code logins on a computer.
    pub qr_rollout: u32,
    /// First day banks no longer help with enrolment.
    pub bank_assisted_ends: u32,
}

impl NemidCalendar {
    /// The calendar of `scenario`.
    #[must_use]
    pub fn new(scenario: &PolicyScenario) -> Self {
        let start = scenario.population.start;
        let c = &scenario.calendar;
        let mut sector_cutoff = [0u32; 8];
        for s in Sector::ALL {
            sector_cutoff[s.index()] = day_index(start, c.cutoff(s));
        }
        NemidCalendar {
            start,
            days: day_index(start, scenario.population.end) + 1,
            sector_cutoff,
            nemid_shutdown: day_index(start, c.nemid_shutdown),
            key_cards_only_at_citizen_service: day_index(
                start,
                c.key_cards_only_at_citizen_service,
            ),
            nemid_support_closes: day_index(start, c.nemid_support_closes),
            migration_via_nemid_ends: day_index(
                start,
                c.migration_via_nemid_ends.min(c.nemid_shutdown),
            ),
            qr_rollout: day_index(start, c.qr_rollout),
            bank_assisted_ends: day_index(start, scenario.behaviour.migration.bank_assisted_until)
                + 1,
        }
    }

    /// The date of day `day`.
    #[must_use]
    pub fn date(&self, day: u32) -> NaiveDate {
        self.start + chrono::Days::new(u64::from(day))
    }

    /// Start of day `day` as a simulation instant.
    #[must_use]
    pub fn at(day: u32) -> SimTime {
        SimTime::from_day(day)
    }

    /// The end of the run (midnight after the last day).
    #[must_use]
    pub fn end(&self) -> SimTime {
        SimTime::from_day(self.days)
    }

    /// Whether NemID still logs in anywhere at `day`.
    #[must_use]
    pub fn nemid_works(&self, day: u32) -> bool {
        day < self.nemid_shutdown
    }
}

/// The named milestones of a scenario, in date order.
#[must_use]
pub fn milestones(scenario: &PolicyScenario) -> Vec<Milestone> {
    let c = &scenario.calendar;
    let mut out = vec![
        Milestone {
            name: "mitid_default_public".into(),
            date: c.mitid_default_public,
        },
        Milestone {
            name: "key_cards_only_at_citizen_service".into(),
            date: c.key_cards_only_at_citizen_service,
        },
        Milestone {
            name: "migration_via_nemid_ends".into(),
            date: c.migration_via_nemid_ends,
        },
        Milestone {
            name: "nemid_support_closes".into(),
            date: c.nemid_support_closes,
        },
        Milestone {
            name: "nemid_shutdown".into(),
            date: c.nemid_shutdown,
        },
        Milestone {
            name: "qr_rollout".into(),
            date: c.qr_rollout,
        },
    ];
    for cut in &c.sectors {
        let name = serde_plain_name(cut.sector);
        out.push(Milestone {
            name: format!("cutoff_{name}"),
            date: cut.nemid_cutoff,
        });
    }
    out.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.name.cmp(&b.name)));
    out
}

/// The snake_case name a sector has in YAML.
#[must_use]
pub fn serde_plain_name(sector: Sector) -> &'static str {
    match sector {
        Sector::ChangeAddress => "change_address",
        Sector::Childcare => "childcare",
        Sector::Tax => "tax",
        Sector::Doctor => "doctor",
        Sector::DigitalPost => "digital_post",
        Sector::LeaveDenmark => "leave_denmark",
        Sector::Bank => "bank",
        Sector::Shop => "shop",
    }
}

/// Cumulative spontaneous-migration hazard per day, for sampling "when does this citizen decide"
/// from a piecewise-constant rate by inversion.
#[derive(Debug, Clone)]
pub struct HazardCurve {
    /// `cumulative[d]` = hazard accumulated from day 0 to the start of day `d`; one entry more
    /// than there are days.
    cumulative: Vec<f64>,
}

impl HazardCurve {
    /// Builds the curve over `days` days from `periods` (rates per month; a month is
    /// 365.25/12 days). Days before the first period have rate 0.
    #[must_use]
    pub fn new(start: NaiveDate, days: u32, periods: &[HazardPeriod]) -> Self {
        let per_day: Vec<f64> = (0..days)
            .map(|d| {
                let date = start + chrono::Days::new(u64::from(d));
                periods
                    .iter()
                    .rev()
                    .find(|p| p.from <= date)
                    .map_or(0.0, |p| p.per_month * 12.0 / 365.25)
            })
            .collect();
        let mut cumulative = Vec::with_capacity(per_day.len() + 1);
        let mut acc = 0.0;
        cumulative.push(0.0);
        for r in per_day {
            acc += r;
            cumulative.push(acc);
        }
        HazardCurve { cumulative }
    }

    fn at(&self, t: SimTime) -> f64 {
        let days = self.cumulative.len() - 1;
        let d = (t.day() as usize).min(days);
        if d == days {
            return self.cumulative[days];
        }
        let frac = (t.millis_of_day() as f64) / MILLIS_PER_DAY as f64;
        self.cumulative[d] + (self.cumulative[d + 1] - self.cumulative[d]) * frac
    }

    /// The instant after `now` at which `extra` more units of hazard have accumulated, or `None`
    /// if that is after the last day.
    #[must_use]
    pub fn instant_after(&self, now: SimTime, extra: f64) -> Option<SimTime> {
        let target = self.at(now) + extra;
        let days = self.cumulative.len() - 1;
        if target >= self.cumulative[days] {
            return None;
        }
        // First day whose end passes the target.
        let d = self
            .cumulative
            .partition_point(|&c| c <= target)
            .saturating_sub(1);
        let rate = self.cumulative[d + 1] - self.cumulative[d];
        let frac = if rate > 0.0 {
            ((target - self.cumulative[d]) / rate).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let t = SimTime::from_millis(
            d as u64 * MILLIS_PER_DAY + (frac * (MILLIS_PER_DAY - 1) as f64) as u64,
        );
        Some(t.max(now))
    }
}
