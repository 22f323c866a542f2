//! Weekly opening hours and shift plans, shared by the appointment book and the call centre.

use serde::{Deserialize, Serialize};

use crate::kernel::{MILLIS_PER_DAY, MILLIS_PER_MINUTE, SimTime};

/// Day of the week: the devices crate's type, the lab's one weekday (serde `monday` … `sunday`).
pub use mitid_devices::time::Weekday;

/// A problem with opening hours or a shift plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleShapeError {
    /// Opening must be before closing, both within the day.
    #[error("{day:?}: opening {open} must be before closing {close}, both in minutes 0..=1440")]
    BadHours {
        /// The day.
        day: Weekday,
        /// Opening minute.
        open: u16,
        /// Closing minute.
        close: u16,
    },
    /// Shift start minutes must increase and lie within the day.
    #[error("{day:?}: shift starts must be increasing minutes in 0..1440, got {minutes:?}")]
    BadShifts {
        /// The day.
        day: Weekday,
        /// The start minutes given.
        minutes: Vec<u16>,
    },
}

/// Opening hours per weekday: `[open, close)` in minutes after midnight, or closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyHours {
    days: [Option<(u16, u16)>; 7],
}

impl WeeklyHours {
    /// Hours per weekday, Monday first; each `(open_minute, close_minute)` or `None` (closed).
    pub fn new(days: [Option<(u16, u16)>; 7]) -> Result<Self, ScheduleShapeError> {
        for (day, hours) in Weekday::ALL.iter().zip(days) {
            if let Some((open, close)) = hours
                && (open >= close || close > 1440)
            {
                return Err(ScheduleShapeError::BadHours {
                    day: *day,
                    open,
                    close,
                });
            }
        }
        Ok(WeeklyHours { days })
    }

    /// Open the same hours Monday to Friday, closed at weekends.
    pub fn weekdays(open_minute: u16, close_minute: u16) -> Result<Self, ScheduleShapeError> {
        let h = Some((open_minute, close_minute));
        Self::new([h, h, h, h, h, None, None])
    }

    /// The hours on `day`.
    #[must_use]
    pub fn on(&self, day: Weekday) -> Option<(u16, u16)> {
        self.days[day.index()]
    }
}

/// How many agents work when, per weekday: a list of `(start_minute, agents)` that holds
/// from its start until the next entry (or midnight); before the first entry nobody works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftPlan {
    days: [Vec<(u16, u32)>; 7],
}

impl ShiftPlan {
    /// A plan per weekday, Monday first.
    pub fn new(days: [Vec<(u16, u32)>; 7]) -> Result<Self, ScheduleShapeError> {
        for (day, shifts) in Weekday::ALL.iter().zip(&days) {
            let increasing = shifts.windows(2).all(|w| w[0].0 < w[1].0);
            if !increasing || shifts.iter().any(|s| s.0 >= 1440) {
                return Err(ScheduleShapeError::BadShifts {
                    day: *day,
                    minutes: shifts.iter().map(|s| s.0).collect(),
                });
            }
        }
        Ok(ShiftPlan { days })
    }

    /// The same shifts every day of the week.
    pub fn daily(shifts: &[(u16, u32)]) -> Result<Self, ScheduleShapeError> {
        Self::new(std::array::from_fn(|_| shifts.to_vec()))
    }

    /// Agents working at `t`, with day 0 being `epoch`.
    #[must_use]
    pub fn agents_at(&self, epoch: Weekday, t: SimTime) -> u32 {
        let shifts = &self.days[Weekday::of_day(epoch, t.day()).index()];
        let minute = t.minute_of_day() as u16;
        shifts
            .iter()
            .take_while(|s| s.0 <= minute)
            .last()
            .map_or(0, |s| s.1)
    }

    /// The first instant strictly after `t` at which the number of agents may change (a shift
    /// boundary or midnight); `None` if the plan never changes (all days empty).
    #[must_use]
    pub fn next_change_after(&self, epoch: Weekday, t: SimTime) -> Option<SimTime> {
        if self.days.iter().all(Vec::is_empty) {
            return None;
        }
        let day = t.day();
        let ms_of_day = t.millis_of_day();
        for offset in 0..8u32 {
            let d = day + offset;
            let shifts = &self.days[Weekday::of_day(epoch, d).index()];
            let midnight = u64::from(d) * MILLIS_PER_DAY;
            // Midnight itself is a boundary: the day's plan starts from zero agents.
            let boundaries = std::iter::once(0).chain(shifts.iter().map(|s| u64::from(s.0)));
            for minute in boundaries {
                let at = minute * MILLIS_PER_MINUTE;
                if offset > 0 || at > ms_of_day {
                    return Some(SimTime::from_millis(midnight + at));
                }
            }
        }
        None
    }
}
