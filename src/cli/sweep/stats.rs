//! Statistics across replications: mean, standard deviation, a 95 % interval of the mean and
//! quantiles of the replications' values.

use serde::Serialize;

/// One figure of one point, across its replications.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Replications that had a value.
    pub n: usize,
    pub mean: Option<f64>,
    /// Sample standard deviation (n − 1 in the denominator).
    pub sd: Option<f64>,
    /// 95 % confidence interval of the mean, Student's t with n − 1 degrees of freedom.
    pub ci95: Option<[f64; 2]>,
    pub min: Option<f64>,
    /// Quantiles of the replications' values (linear interpolation between order statistics).
    pub p05: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub max: Option<f64>,
}

impl Estimate {
    #[must_use]
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mean = (n > 0).then(|| values.iter().sum::<f64>() / n as f64);
        let sd = mean.filter(|_| n > 1).map(|mean| {
            let squares: f64 = values.iter().map(|value| (value - mean).powi(2)).sum();
            (squares / (n - 1) as f64).sqrt()
        });
        let ci95 = match (mean, sd) {
            (Some(mean), Some(sd)) => {
                let half = t_975(n - 1) * sd / (n as f64).sqrt();
                Some([mean - half, mean + half])
            }
            _ => None,
        };
        Self {
            n,
            mean,
            sd,
            ci95,
            min: sorted.first().copied(),
            p05: quantile(&sorted, 0.05),
            p50: quantile(&sorted, 0.50),
            p95: quantile(&sorted, 0.95),
            max: sorted.last().copied(),
        }
    }
}

/// The `q` quantile of sorted values (Hyndman and Fan's type 7, the default of R and `NumPy`).
#[must_use]
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = q.clamp(0.0, 1.0) * last as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let weight = position - below as f64;
    Some(sorted[below] + (sorted[above] - sorted[below]) * weight)
}

/// The 0.975 quantile of Student's t distribution with `df` degrees of freedom.
///
/// Exact table values for 1–30 degrees of freedom (any statistics textbook's t table); beyond
/// that, interpolation in 1/df between 30, 40, 60, 120 and infinity, which is within 0.001 of
/// the exact quantile.
#[must_use]
pub fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    const TAIL: [(f64, f64); 5] = [
        (30.0, 2.042),
        (40.0, 2.021),
        (60.0, 2.000),
        (120.0, 1.980),
        (f64::INFINITY, 1.960),
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        _ => {
            let x = 1.0 / df as f64;
            for pair in TAIL.windows(2) {
                let (lo_df, lo_t) = pair[0];
                let (hi_df, hi_t) = pair[1];
                if (df as f64) <= hi_df {
                    let (x0, x1) = (1.0 / lo_df, 1.0 / hi_df);
                    return lo_t + (hi_t - lo_t) * (x0 - x) / (x0 - x1);
                }
            }
            1.960
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_sd_and_interval_of_known_values() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample sd sqrt(32/7).
        let estimate = Estimate::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(estimate.n, 8);
        assert_eq!(estimate.mean, Some(5.0));
        let sd = (32.0_f64 / 7.0).sqrt();
        assert!((estimate.sd.unwrap() - sd).abs() < 1e-12);
        let half = 2.365 * sd / 8.0_f64.sqrt();
        let [lo, hi] = estimate.ci95.unwrap();
        assert!((lo - (5.0 - half)).abs() < 1e-12 && (hi - (5.0 + half)).abs() < 1e-12);
        assert_eq!(estimate.p50, Some(4.5));
        assert_eq!(estimate.min, Some(2.0));
        assert_eq!(estimate.max, Some(9.0));
    }

    #[test]
    fn one_value_has_no_spread_and_none_has_no_mean() {
        let one = Estimate::of(&[3.0]);
        assert_eq!((one.mean, one.sd, one.ci95), (Some(3.0), None, None));
        let none = Estimate::of(&[]);
        assert_eq!((none.n, none.mean, none.p50), (0, None, None));
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&sorted, 0.5), Some(2.5));
        assert!((quantile(&sorted, 0.05).unwrap() - 1.15).abs() < 1e-12);
    }

    #[test]
    fn t_quantiles_match_the_table_and_approach_the_normal() {
        assert!((t_975(1) - 12.706).abs() < 1e-12);
        assert!((t_975(9) - 2.262).abs() < 1e-12);
        assert!((t_975(50) - 2.009).abs() < 0.002, "{}", t_975(50));
        assert!((t_975(100_000) - 1.960).abs() < 0.001);
    }
}
