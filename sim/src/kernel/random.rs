//! Seeded, independent random streams per subsystem, and the distributions the model samples.
//!
//! Each subsystem (arrivals, service times, each municipality's counter, the support line, ...)
//! draws from its own [`RandomStream`], derived from the scenario's master seed and the
//! subsystem's name by a fixed hash. Adding draws to one subsystem therefore never shifts the
//! numbers another subsystem sees, so a what-if that changes one capacity changes only what it
//! should (common random numbers), and the same seed gives the same run on every platform.
//!
//! * Seed derivation: FNV-1a (64-bit) of the name's UTF-8 bytes, combined with the master seed
//!   and an optional index through `SplitMix64`'s finaliser — fixed functions, never `std`'s
//!   randomly keyed `RandomState`.
//! * Generator: xoshiro256++ (Blackman & Vigna, <https://prng.di.unimi.it/>), state filled from
//!   the derived seed by `SplitMix64` as its authors recommend. Fast (a few adds, xors and
//!   rotations per number), 256 bits of state, period 2^256 − 1.
//! * Distributions are implemented here from uniform `u64`s (inversion for the exponential,
//!   the polar method for the normal), so the sequence of numbers is part of this crate and
//!   cannot change under a dependency upgrade.

use super::time::SimDuration;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    })
}

/// `SplitMix64`'s output function applied to `x + golden gamma`.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Rounds a non-negative number of milliseconds to the nearest integer (half up). Cheaper than
/// `f64::round`, which is a libm call on baseline x86-64; the cast saturates and maps NaN to 0.
#[inline]
#[must_use]
pub fn round_millis(ms: f64) -> u64 {
    (ms + 0.5) as u64
}

/// The master seed of a run; hands out one stream per named subsystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomStreams {
    master_seed: u64,
}

impl RandomStreams {
    /// Streams for a run with this master seed (the scenario's `seed`).
    #[must_use]
    pub fn new(master_seed: u64) -> Self {
        RandomStreams { master_seed }
    }

    /// The master seed.
    #[must_use]
    pub fn master_seed(&self) -> u64 {
        self.master_seed
    }

    /// The stream for subsystem `name`. Asking twice gives two identical streams (same start).
    #[must_use]
    pub fn stream(&self, name: &str) -> RandomStream {
        self.substream(name, 0)
    }

    /// The stream for member `index` of subsystem `name` (e.g. municipality 851 of
    /// `"citizen-service"`): independent of `stream(name)` and of every other index.
    #[must_use]
    pub fn substream(&self, name: &str, index: u64) -> RandomStream {
        let mut mix = self.master_seed;
        let a = splitmix64(&mut mix);
        let mut mix = a ^ fnv1a(name.as_bytes());
        let b = splitmix64(&mut mix);
        let mut mix = b ^ index.wrapping_mul(0xd1b5_4a32_d192_ed03);
        RandomStream::from_seed(splitmix64(&mut mix))
    }
}

/// One xoshiro256++ generator with the distributions the model needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomStream {
    s: [u64; 4],
}

impl RandomStream {
    /// A generator whose 256-bit state is filled from `seed` by `SplitMix64`.
    #[must_use]
    pub fn from_seed(seed: u64) -> Self {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        // `SplitMix64` is a bijection on distinct counter values, so four consecutive outputs are
        // never all zero (the one state xoshiro must avoid).
        RandomStream { s }
    }

    /// The next 64 uniformly distributed bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform on `[0, 1)` with 53 bits of precision.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform on `(0, 1]`: safe to take the logarithm of.
    #[inline]
    pub fn uniform_open0(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` without modulo bias (Lemire's multiply-and-reject). `n = 0`
    /// gives 0.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            let low = m as u64;
            if low >= n || low >= n.wrapping_neg() % n {
                return (m >> 64) as u64;
            }
        }
    }

    /// `true` with probability `p` (clamped to `[0, 1]`).
    #[inline]
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Exponentially distributed with the given mean (inversion). A mean ≤ 0 gives 0.
    #[inline]
    pub fn exponential(&mut self, mean: f64) -> f64 {
        if mean <= 0.0 {
            return 0.0;
        }
        -mean * self.uniform_open0().ln()
    }

    /// Normally distributed (Marsaglia's polar method; the second variate is discarded so the
    /// stream's position depends only on the number of calls).
    pub fn normal(&mut self, mean: f64, std_dev: f64) -> f64 {
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return mean + std_dev * u * (-2.0 * s.ln() / s).sqrt();
            }
        }
    }

    /// Log-normally distributed with the given mean and coefficient of variation of the
    /// variable itself (not of its logarithm). A mean ≤ 0 gives 0.
    pub fn lognormal_mean_cv(&mut self, mean: f64, cv: f64) -> f64 {
        if mean <= 0.0 {
            return 0.0;
        }
        let sigma2 = (1.0 + cv * cv).ln();
        let mu = mean.ln() - sigma2 / 2.0;
        self.normal(mu, sigma2.sqrt()).exp()
    }

    /// An exponentially distributed span with mean `mean` (rounded to the millisecond).
    #[inline]
    pub fn exponential_duration(&mut self, mean: SimDuration) -> SimDuration {
        SimDuration::from_millis(round_millis(self.exponential(mean.as_millis() as f64)))
    }

    /// An exponentially distributed span with a mean of `mean_millis` milliseconds (rounded to
    /// the millisecond).
    #[inline]
    pub fn exponential_millis(&mut self, mean_millis: f64) -> SimDuration {
        SimDuration::from_millis(round_millis(self.exponential(mean_millis)))
    }

    /// Index drawn with probability proportional to `weights` (linear scan; for repeated draws
    /// from large tables build a cumulative table once). `None` if the weights are empty or
    /// sum to zero or less.
    pub fn weighted_index(&mut self, weights: &[f64]) -> Option<usize> {
        let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
        if weights.is_empty() || total <= 0.0 || !total.is_finite() {
            return None;
        }
        let mut x = self.uniform() * total;
        let mut last_positive = None;
        for (i, &w) in weights.iter().enumerate() {
            if w > 0.0 {
                if x < w {
                    return Some(i);
                }
                x -= w;
                last_positive = Some(i);
            }
        }
        // Rounding can leave `x` a hair above the last weight.
        last_positive
    }
}
