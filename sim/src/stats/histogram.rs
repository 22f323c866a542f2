//! Mergeable log-linear histogram for percentiles of non-negative integer observations
//! (typically waits in milliseconds).

use serde::Serialize;

/// Sub-buckets per power of two: 2^7 = 128, so a reported percentile is within 1/128 (0.8 %)
/// of the true order statistic.
const SUB_BITS: u32 = 7;
const SUB_COUNT: u64 = 1 << SUB_BITS;

/// Counts per log-linear bucket: exact below 128, then 128 equal buckets per power of two.
///
/// Memory grows with the largest value seen, at most 7 424 buckets (58 KiB) for the whole `u64`
/// range. Two histograms merge by adding counts, so per-municipality histograms give the exact
/// national histogram.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: u128,
    min: u64,
    max: u64,
}

#[inline]
fn bucket_index(v: u64) -> usize {
    if v < SUB_COUNT {
        return v as usize;
    }
    let exponent = v.ilog2();
    let shift = exponent - SUB_BITS;
    let mantissa = v >> shift;
    ((u64::from(shift) + 1) * SUB_COUNT + (mantissa - SUB_COUNT)) as usize
}

/// Smallest and largest value of bucket `i`.
fn bucket_bounds(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < SUB_COUNT {
        return (i, i);
    }
    let shift = i / SUB_COUNT - 1;
    let mantissa = SUB_COUNT + i % SUB_COUNT;
    let low = mantissa << shift;
    let high = low + ((1u64 << shift) - 1);
    (low, high)
}

impl Histogram {
    /// An empty histogram.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one observation.
    #[inline]
    pub fn record(&mut self, v: u64) {
        self.record_n(v, 1);
    }

    /// Records `n` observations of value `v`.
    #[inline]
    pub fn record_n(&mut self, v: u64, n: u64) {
        if n == 0 {
            return;
        }
        let i = bucket_index(v);
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += n;
        if self.total == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.total += n;
        self.sum += u128::from(v) * u128::from(n);
    }

    /// Adds all of `other`'s observations.
    pub fn merge(&mut self, other: &Histogram) {
        if other.total == 0 {
            return;
        }
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        if self.total == 0 {
            self.min = other.min;
            self.max = other.max;
        } else {
            self.min = self.min.min(other.min);
            self.max = self.max.max(other.max);
        }
        self.total += other.total;
        self.sum += other.sum;
    }

    /// Number of observations.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Exact mean of the observations.
    #[must_use]
    pub fn mean(&self) -> Option<f64> {
        (self.total > 0).then(|| self.sum as f64 / self.total as f64)
    }

    /// Exact smallest observation.
    #[must_use]
    pub fn min(&self) -> Option<u64> {
        (self.total > 0).then_some(self.min)
    }

    /// Exact largest observation.
    #[must_use]
    pub fn max(&self) -> Option<u64> {
        (self.total > 0).then_some(self.max)
    }

    /// The `q`-quantile (`q` in `[0, 1]`, clamped): the value of rank ⌈q·n⌉ (at least 1),
    /// reported as the middle of its bucket and clamped to the exact minimum and maximum.
    #[must_use]
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (low, high) = bucket_bounds(i);
                let mid = low + (high - low) / 2;
                return Some(mid.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_bounds_contain_their_values() {
        for v in (0..5000u64).chain([u64::MAX, u64::MAX / 3, 1 << 40, (1 << 40) - 1]) {
            let (low, high) = bucket_bounds(bucket_index(v));
            assert!(low <= v && v <= high, "v={v} low={low} high={high}");
            assert!(
                (high - low) as f64 <= (v as f64) / SUB_COUNT as f64 + 1.0,
                "v={v}"
            );
        }
    }
}
