//! Confidence intervals for the mean of a correlated output series by the method of batch
//! means (e.g. Law, *Simulation Modeling and Analysis*, 5th ed., §9.5.3).
//!
//! Successive waits in a queue are strongly correlated, so the naive standard error is far too
//! small. Batch means groups observations (in the order they occur) into batches, treats the
//! batch averages as roughly independent and normal, and builds a Student-t interval on them.
//! The batch size is not known in advance, so it starts at one and doubles whenever the number
//! of batches reaches twice the target, merging neighbours: the interval always rests on
//! between `target` and `2·target − 1` complete batches.

use serde::Serialize;

/// z such that Φ(z) = 0.975.
const Z_975: f64 = 1.959_963_984_540_054;

/// The 0.975 quantile of Student's t with `df` degrees of freedom, by the Cornish–Fisher
/// expansion in 1/df (Abramowitz & Stegun 26.7.5); accurate to about 1e-3 from df = 5 on
/// and to 1e-5 from df = 20 on. `df = 0` gives infinity.
#[must_use]
pub fn student_t_975(df: u64) -> f64 {
    if df == 0 {
        return f64::INFINITY;
    }
    let z = Z_975;
    let v = df as f64;
    let z3 = z.powi(3);
    let z5 = z.powi(5);
    let z7 = z.powi(7);
    let z9 = z.powi(9);
    let g1 = (z3 + z) / 4.0;
    let g2 = (5.0 * z5 + 16.0 * z3 + 3.0 * z) / 96.0;
    let g3 = (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / 384.0;
    let g4 = (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / 92_160.0;
    z + g1 / v + g2 / (v * v) + g3 / v.powi(3) + g4 / v.powi(4)
}

/// A 95 % confidence interval for a mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConfidenceInterval {
    /// The point estimate: the mean of all observations.
    pub mean: f64,
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Half the width.
    pub half_width: f64,
    /// Number of batches the width rests on.
    pub batches: u64,
    /// Observations per batch.
    pub batch_size: u64,
}

impl ConfidenceInterval {
    /// `true` if `x` lies in `[low, high]`.
    #[must_use]
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// Accumulates observations in batches of doubling size. See the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchMeans {
    target: usize,
    batch_size: u64,
    current_sum: f64,
    current_n: u64,
    batches: Vec<f64>,
    total_sum: f64,
    total_n: u64,
}

impl BatchMeans {
    /// Aims for `target` batches (at least 2; 20–30 is the usual advice).
    #[must_use]
    pub fn new(target: usize) -> Self {
        let target = target.max(2);
        BatchMeans {
            target,
            batch_size: 1,
            current_sum: 0.0,
            current_n: 0,
            batches: Vec::with_capacity(2 * target),
            total_sum: 0.0,
            total_n: 0,
        }
    }

    /// Adds the next observation of the series.
    #[inline]
    pub fn record(&mut self, x: f64) {
        self.total_sum += x;
        self.total_n += 1;
        self.current_sum += x;
        self.current_n += 1;
        if self.current_n == self.batch_size {
            self.batches.push(self.current_sum / self.batch_size as f64);
            self.current_sum = 0.0;
            self.current_n = 0;
            if self.batches.len() == 2 * self.target {
                let merged: Vec<f64> = self
                    .batches
                    .chunks_exact(2)
                    .map(|p| f64::midpoint(p[0], p[1]))
                    .collect();
                self.batches = merged;
                self.batch_size *= 2;
            }
        }
    }

    /// Number of observations.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.total_n
    }

    /// The 95 % interval, centred on the mean of all observations, half-width from the
    /// complete batches; `None` with fewer than `target` complete batches.
    #[must_use]
    pub fn interval(&self) -> Option<ConfidenceInterval> {
        let k = self.batches.len();
        if k < self.target || k < 2 {
            return None;
        }
        let batch_mean = self.batches.iter().sum::<f64>() / k as f64;
        let var = self
            .batches
            .iter()
            .map(|b| (b - batch_mean).powi(2))
            .sum::<f64>()
            / (k - 1) as f64;
        let half_width = student_t_975(k as u64 - 1) * (var / k as f64).sqrt();
        let mean = self.total_sum / self.total_n as f64;
        Some(ConfidenceInterval {
            mean,
            low: mean - half_width,
            high: mean + half_width,
            half_width,
            batches: k as u64,
            batch_size: self.batch_size,
        })
    }
}
