//! Observation tallies and per-day counts.

use serde::Serialize;

/// Count, mean, variance, minimum and maximum of a stream of observations (Welford's update;
/// merged with Chan et al.'s pairwise formula so per-unit tallies add up exactly).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tally {
    count: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Tally {
    /// An empty tally.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one observation.
    #[inline]
    pub fn record(&mut self, x: f64) {
        if self.count == 0 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Adds every observation of `other`, as if they had been recorded here.
    pub fn merge(&mut self, other: &Tally) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = other.clone();
            return;
        }
        let n = (self.count + other.count) as f64;
        let delta = other.mean - self.mean;
        self.m2 += other.m2 + delta * delta * self.count as f64 * other.count as f64 / n;
        self.mean += delta * other.count as f64 / n;
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Number of observations.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Mean, or `None` without observations.
    #[must_use]
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then_some(self.mean)
    }

    /// Sample variance (n − 1 denominator), or `None` with fewer than two observations.
    #[must_use]
    pub fn variance(&self) -> Option<f64> {
        (self.count > 1).then(|| self.m2 / (self.count - 1) as f64)
    }

    /// Smallest observation.
    #[must_use]
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// Largest observation.
    #[must_use]
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }
}

/// Counts per simulated day (day 0 is the scenario's start date), growing as days are touched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DailyCounter {
    per_day: Vec<u64>,
}

impl DailyCounter {
    /// No counts yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` to day `day`.
    #[inline]
    pub fn add(&mut self, day: u32, n: u64) {
        let i = day as usize;
        if i >= self.per_day.len() {
            self.per_day.resize(i + 1, 0);
        }
        self.per_day[i] += n;
    }

    /// The count on day `day` (0 for a day never touched).
    #[must_use]
    pub fn on(&self, day: u32) -> u64 {
        self.per_day.get(day as usize).copied().unwrap_or(0)
    }

    /// Sum over all days.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.per_day.iter().sum()
    }

    /// Counts from day 0 up to the last day touched.
    #[must_use]
    pub fn days(&self) -> &[u64] {
        &self.per_day
    }

    /// Adds `other`'s counts day by day.
    pub fn merge(&mut self, other: &DailyCounter) {
        if other.per_day.len() > self.per_day.len() {
            self.per_day.resize(other.per_day.len(), 0);
        }
        for (a, b) in self.per_day.iter_mut().zip(&other.per_day) {
            *a += b;
        }
    }
}
