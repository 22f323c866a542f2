//! What a live run needs of the model besides the port: which citizens act for real (a sample
//! chosen from the seed) and how often each of them logs in to each sector.
//!
//! Both draw from random streams of their own (`live-sample`, and `routine-logins` per
//! citizen), never from the model's: choosing a sample or listing a citizen's logins leaves
//! the run's outcome as it was.

use crate::kernel::{RandomStream, RandomStreams, SimDuration, SimTime};

use super::PolicyError;
use super::scenario::Sector;

/// How large a live sample to draw (`--live-sample FRACTION` or `--live-citizens N`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleSize {
    /// This share of the population, `0 < f <= 1`, rounded to whole citizens (at least one).
    Fraction(f64),
    /// Exactly this many citizens, `1..=population`.
    Citizens(u32),
}

impl SampleSize {
    /// The number of citizens out of `population`; an error names the flag that set the size.
    pub fn of(self, population: u32) -> Result<u32, PolicyError> {
        match self {
            SampleSize::Fraction(f) => {
                if !(f > 0.0 && f <= 1.0) {
                    return Err(PolicyError::invalid(
                        "--live-sample",
                        format!("must be a fraction above 0 and at most 1, not {f}"),
                    ));
                }
                Ok(((f * f64::from(population)).round() as u32).clamp(1, population.max(1)))
            }
            SampleSize::Citizens(n) => {
                if n == 0 || n > population {
                    return Err(PolicyError::invalid(
                        "--live-citizens",
                        format!("must be 1 to the population ({population}), not {n}"),
                    ));
                }
                Ok(n)
            }
        }
    }
}

/// The citizens of a live sample: indices into the run (see `PolicyRun::citizen`), ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSample {
    indices: Vec<u32>,
}

impl LiveSample {
    /// Draws `k` of the indices `0..population` with equal chances for every set of `k`
    /// (selection sampling, Knuth's Algorithm S: one pass, already in order), from the
    /// `live-sample` stream of `seed`.
    pub(crate) fn draw(seed: u64, population: u32, k: u32) -> LiveSample {
        let mut rng = RandomStreams::new(seed).stream("live-sample");
        let mut indices = Vec::with_capacity(k as usize);
        let mut wanted = u64::from(k);
        for i in 0..population {
            if wanted == 0 {
                break;
            }
            let left = u64::from(population - i);
            if rng.below(left) < wanted {
                indices.push(i);
                wanted -= 1;
            }
        }
        LiveSample { indices }
    }

    /// The sampled citizens' indices, ascending.
    #[must_use]
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// How many citizens are in the sample.
    #[must_use]
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the sample is empty (only ever for an empty population).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Whether citizen `index` is in the sample.
    #[must_use]
    pub fn contains(&self, index: u32) -> bool {
        self.indices.binary_search(&index).is_ok()
    }
}

/// A citizen's routine login needs per day, by sector (`behaviour.login_needs` for their age,
/// bank and digital readiness). Constant over a run: those traits do not change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NeedRates {
    per_day: [f64; 8],
}

impl NeedRates {
    pub(crate) fn new(per_day: [f64; 8]) -> Self {
        NeedRates { per_day }
    }

    /// Needs per day at `sector`.
    #[must_use]
    pub fn per_day(&self, sector: Sector) -> f64 {
        self.per_day[sector.index()]
    }

    /// Needs per day over every sector.
    #[must_use]
    pub fn total_per_day(&self) -> f64 {
        self.per_day.iter().sum()
    }

    /// The sectors with a need, and their needs per day, in [`Sector::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Sector, f64)> + '_ {
        Sector::ALL
            .into_iter()
            .zip(self.per_day)
            .filter(|&(_, rate)| rate > 0.0)
    }
}

/// A citizen's routine logins from an instant on: a Poisson stream at their total need rate,
/// each login's sector drawn in proportion to its rate. Endless; take what a window needs.
///
/// The pure model never draws these (it samples only the first need that fails after a cut-off);
/// they are for a live driver that sends a sampled citizen's everyday traffic to the
/// components. The stream is the citizen's own (`routine-logins`, their index), so the same
/// seed, citizen and start give the same logins.
#[derive(Debug, Clone)]
pub struct RoutineLogins {
    rng: RandomStream,
    rates: NeedRates,
    mean_gap_days: f64,
    at: SimTime,
}

impl RoutineLogins {
    pub(crate) fn new(seed: u64, citizen: u32, rates: NeedRates, from: SimTime) -> Self {
        let total = rates.total_per_day();
        RoutineLogins {
            rng: RandomStreams::new(seed).substream("routine-logins", u64::from(citizen)),
            rates,
            mean_gap_days: if total > 0.0 { 1.0 / total } else { 0.0 },
            at: from,
        }
    }
}

impl Iterator for RoutineLogins {
    type Item = (SimTime, Sector);

    fn next(&mut self) -> Option<(SimTime, Sector)> {
        if self.mean_gap_days <= 0.0 {
            return None;
        }
        let gap = SimDuration::from_days_f64(self.rng.exponential(self.mean_gap_days));
        self.at = self.at.checked_add(gap)?;
        let sector = self.rng.weighted_index(&self.rates.per_day)?;
        Some((self.at, Sector::ALL[sector]))
    }
}
