//! Time-weighted mean of a piecewise-constant quantity (queue length, busy servers, users).

use crate::kernel::SimTime;

/// Integrates a piecewise-constant value over simulated time.
///
/// The value changes only through [`TimeWeighted::set`] / [`TimeWeighted::add`], which close
/// the segment since the previous change. Times passed in must not decrease (a stale time is
/// treated as "no time passed", so a misuse cannot make the integral negative).
#[derive(Debug, Clone, PartialEq)]
pub struct TimeWeighted {
    start: SimTime,
    last: SimTime,
    value: f64,
    /// ∫ value dt in value·milliseconds.
    integral: f64,
    max: f64,
}

impl TimeWeighted {
    /// Starts observing at `start` with the quantity at `initial`.
    #[must_use]
    pub fn new(start: SimTime, initial: f64) -> Self {
        TimeWeighted {
            start,
            last: start,
            value: initial,
            integral: 0.0,
            max: initial,
        }
    }

    #[inline]
    fn close_segment(&mut self, now: SimTime) {
        if now > self.last {
            self.integral += self.value * (now - self.last).as_millis() as f64;
            self.last = now;
        }
    }

    /// The quantity becomes `value` at `now`.
    #[inline]
    pub fn set(&mut self, now: SimTime, value: f64) {
        self.close_segment(now);
        self.value = value;
        self.max = self.max.max(value);
    }

    /// The quantity changes by `delta` at `now`.
    #[inline]
    pub fn add(&mut self, now: SimTime, delta: f64) {
        let v = self.value + delta;
        self.set(now, v);
    }

    /// Applies a change of `delta` that really happened at `at` (≤ `now`) but is only known
    /// at `now`: the integral is corrected back to `at` (or to the start of the observation
    /// period, whichever is later). The maximum is not revised.
    pub fn backdate_change(&mut self, now: SimTime, at: SimTime, delta: f64) {
        self.close_segment(now);
        let from = at.max(self.start);
        if now > from {
            self.integral += delta * (now - from).as_millis() as f64;
        }
        self.value += delta;
    }

    /// Forgets the history and starts a new observation period at `now` with the current
    /// value (end of a warm-up period).
    pub fn restart(&mut self, now: SimTime) {
        self.close_segment(now);
        self.start = now;
        self.last = now.max(self.last);
        self.integral = 0.0;
        self.max = self.value;
    }

    /// The current value.
    #[must_use]
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Largest value seen since the start (or restart).
    #[must_use]
    pub fn max(&self) -> f64 {
        self.max
    }

    /// ∫ value dt from the start to `now`, in value·hours.
    #[must_use]
    pub fn integral_hours(&self, now: SimTime) -> f64 {
        let tail = if now > self.last {
            self.value * (now - self.last).as_millis() as f64
        } else {
            0.0
        };
        (self.integral + tail) / crate::kernel::MILLIS_PER_HOUR as f64
    }

    /// Time-weighted mean from the start to `now`; the current value if no time has passed.
    #[must_use]
    pub fn mean(&self, now: SimTime) -> f64 {
        let span = now.saturating_since(self.start).as_millis();
        if span == 0 {
            return self.value;
        }
        let tail = if now > self.last {
            self.value * (now - self.last).as_millis() as f64
        } else {
            0.0
        };
        (self.integral + tail) / span as f64
    }
}
