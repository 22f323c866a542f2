//! Virtual time: integer milliseconds since the scenario epoch.
//!
//! Integer time keeps runs bit-for-bit reproducible (no floating-point drift when a delay is added
//! to a clock millions of times) and makes "same instant" a well-defined notion, which the
//! scheduler's tie-breaking rule relies on. One millisecond resolves every behaviour the model has
//! (the shortest modelled activity is a login of a few seconds), and `u64` milliseconds reach
//! 584 million years, so overflow only arises from nonsensical delays and is reported, not wrapped.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Milliseconds per second, minute, hour and day.
pub const MILLIS_PER_SECOND: u64 = 1_000;
/// Milliseconds per minute.
pub const MILLIS_PER_MINUTE: u64 = 60 * MILLIS_PER_SECOND;
/// Milliseconds per hour.
pub const MILLIS_PER_HOUR: u64 = 60 * MILLIS_PER_MINUTE;
/// Milliseconds per day (the simulated calendar has no leap seconds or DST jumps).
pub const MILLIS_PER_DAY: u64 = 24 * MILLIS_PER_HOUR;

/// An instant of simulated time, in milliseconds since the scenario epoch (midnight of the
/// scenario's start date, local civil time without DST jumps).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(u64);

/// A non-negative span of simulated time, in milliseconds.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct SimDuration(u64);

impl SimTime {
    /// The scenario epoch.
    pub const EPOCH: SimTime = SimTime(0);
    /// The latest representable instant; useful as an "until the end" horizon.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// The instant `millis` milliseconds after the epoch.
    #[must_use]
    pub const fn from_millis(millis: u64) -> Self {
        SimTime(millis)
    }

    /// The instant at the start (midnight) of day `day` after the epoch (day 0 is the start date).
    #[must_use]
    pub const fn from_day(day: u32) -> Self {
        SimTime(day as u64 * MILLIS_PER_DAY)
    }

    /// The instant `hours` hours after the epoch, rounded to the nearest millisecond.
    ///
    /// Negative or non-finite input gives the epoch; huge input saturates at [`SimTime::MAX`].
    #[must_use]
    pub fn from_hours_f64(hours: f64) -> Self {
        SimTime(millis_from_f64(hours * MILLIS_PER_HOUR as f64))
    }

    /// Milliseconds since the epoch.
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Whole days since the epoch (day 0 is the start date).
    #[must_use]
    pub const fn day(self) -> u32 {
        (self.0 / MILLIS_PER_DAY) as u32
    }

    /// Milliseconds since midnight of the current day.
    #[must_use]
    pub const fn millis_of_day(self) -> u64 {
        self.0 % MILLIS_PER_DAY
    }

    /// Minutes since midnight of the current day (0..1440).
    #[must_use]
    pub const fn minute_of_day(self) -> u32 {
        (self.millis_of_day() / MILLIS_PER_MINUTE) as u32
    }

    /// Time since the epoch in fractional days.
    #[must_use]
    pub fn as_days_f64(self) -> f64 {
        self.0 as f64 / MILLIS_PER_DAY as f64
    }

    /// Time since the epoch in fractional hours.
    #[must_use]
    pub fn as_hours_f64(self) -> f64 {
        self.0 as f64 / MILLIS_PER_HOUR as f64
    }

    /// Time since the epoch in fractional minutes.
    #[must_use]
    pub fn as_minutes_f64(self) -> f64 {
        self.0 as f64 / MILLIS_PER_MINUTE as f64
    }

    /// `self + d`, or `None` if that passes [`SimTime::MAX`].
    #[must_use]
    pub const fn checked_add(self, d: SimDuration) -> Option<SimTime> {
        match self.0.checked_add(d.0) {
            Some(t) => Some(SimTime(t)),
            None => None,
        }
    }

    /// `self + d`, clamped at [`SimTime::MAX`].
    #[must_use]
    pub const fn saturating_add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }

    /// The span from `earlier` to `self`, or zero if `earlier` is later.
    #[must_use]
    pub const fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }

    /// The span from `earlier` to `self`, or `None` if `earlier` is later.
    #[must_use]
    pub const fn checked_since(self, earlier: SimTime) -> Option<SimDuration> {
        match self.0.checked_sub(earlier.0) {
            Some(d) => Some(SimDuration(d)),
            None => None,
        }
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);
    /// The longest representable span.
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    /// A span of `millis` milliseconds.
    #[must_use]
    pub const fn from_millis(millis: u64) -> Self {
        SimDuration(millis)
    }

    /// A span of `secs` whole seconds (saturating).
    #[must_use]
    pub const fn from_secs(secs: u64) -> Self {
        SimDuration(secs.saturating_mul(MILLIS_PER_SECOND))
    }

    /// A span of `minutes` whole minutes (saturating).
    #[must_use]
    pub const fn from_minutes(minutes: u64) -> Self {
        SimDuration(minutes.saturating_mul(MILLIS_PER_MINUTE))
    }

    /// A span of `hours` whole hours (saturating).
    #[must_use]
    pub const fn from_hours(hours: u64) -> Self {
        SimDuration(hours.saturating_mul(MILLIS_PER_HOUR))
    }

    /// A span of `days` whole days (saturating).
    #[must_use]
    pub const fn from_days(days: u64) -> Self {
        SimDuration(days.saturating_mul(MILLIS_PER_DAY))
    }

    /// A span of fractional seconds, rounded to the nearest millisecond (negative or NaN → zero,
    /// huge → [`SimDuration::MAX`]).
    #[must_use]
    pub fn from_secs_f64(secs: f64) -> Self {
        SimDuration(millis_from_f64(secs * MILLIS_PER_SECOND as f64))
    }

    /// A span of fractional minutes, rounded to the nearest millisecond (negative or NaN → zero,
    /// huge → [`SimDuration::MAX`]).
    #[must_use]
    pub fn from_minutes_f64(minutes: f64) -> Self {
        SimDuration(millis_from_f64(minutes * MILLIS_PER_MINUTE as f64))
    }

    /// A span of fractional hours, rounded to the nearest millisecond (negative or NaN → zero,
    /// huge → [`SimDuration::MAX`]).
    #[must_use]
    pub fn from_hours_f64(hours: f64) -> Self {
        SimDuration(millis_from_f64(hours * MILLIS_PER_HOUR as f64))
    }

    /// A span of fractional days, rounded to the nearest millisecond (negative or NaN → zero,
    /// huge → [`SimDuration::MAX`]).
    #[must_use]
    pub fn from_days_f64(days: f64) -> Self {
        SimDuration(millis_from_f64(days * MILLIS_PER_DAY as f64))
    }

    /// The span in milliseconds.
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The span in fractional seconds.
    #[must_use]
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MILLIS_PER_SECOND as f64
    }

    /// The span in fractional minutes.
    #[must_use]
    pub fn as_minutes_f64(self) -> f64 {
        self.0 as f64 / MILLIS_PER_MINUTE as f64
    }

    /// The span in fractional hours.
    #[must_use]
    pub fn as_hours_f64(self) -> f64 {
        self.0 as f64 / MILLIS_PER_HOUR as f64
    }

    /// The span in fractional days.
    #[must_use]
    pub fn as_days_f64(self) -> f64 {
        self.0 as f64 / MILLIS_PER_DAY as f64
    }

    /// `self + other`, clamped at [`SimDuration::MAX`].
    #[must_use]
    pub const fn saturating_add(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(other.0))
    }
}

/// Rounds a non-negative millisecond count to `u64`; the `as` cast saturates and maps NaN to 0.
fn millis_from_f64(millis: f64) -> u64 {
    if millis.is_nan() || millis <= 0.0 {
        0
    } else {
        millis.round() as u64
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    /// Saturating: an instant past [`SimTime::MAX`] is indistinguishable from "never".
    fn add(self, d: SimDuration) -> SimTime {
        self.saturating_add(d)
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}

impl Sub<SimDuration> for SimTime {
    type Output = SimTime;
    /// Saturating at the epoch.
    fn sub(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_sub(d.0))
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    /// Saturating at zero: `earlier - later` is an empty span.
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.saturating_since(earlier)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, other: SimDuration) -> SimDuration {
        self.saturating_add(other)
    }
}

impl fmt::Display for SimTime {
    /// `day D hh:mm:ss.mmm` after the epoch.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.millis_of_day();
        write!(
            f,
            "day {} {:02}:{:02}:{:02}.{:03}",
            self.day(),
            ms / MILLIS_PER_HOUR,
            ms % MILLIS_PER_HOUR / MILLIS_PER_MINUTE,
            ms % MILLIS_PER_MINUTE / MILLIS_PER_SECOND,
            ms % MILLIS_PER_SECOND
        )
    }
}

impl fmt::Display for SimDuration {
    /// Milliseconds with the unit, e.g. `90000 ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}
