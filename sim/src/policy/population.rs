//! Population synthesis: one compact [`Citizen`] record per synthetic resident.
//!
//! Residents are apportioned to municipalities exactly by their real population shares (largest
//! remainder, so a 59 000-citizen run has the same municipal mix as a 5.9 million one), ages are
//! drawn from the national 5-year bands, and every trait is a Bernoulli draw from the scenario's
//! age curves. The record is 12 bytes (a test pins it); 5.9 million of them take about 70 MB.

use crate::kernel::RandomStream;

use super::PolicyError;
use super::fixtures::{self, AgeBand, Municipality};
use super::scenario::PopulationConfig;

/// Trait bits of [`Citizen::traits`]: fixed for the whole run.
pub mod traits {
    /// Has a smartphone able to run the MitID app.
    pub const SMARTPHONE: u16 = 1 << 0;
    /// The smartphone can read a passport / ID card chip by NFC.
    pub const NFC: u16 = 1 << 1;
    /// Holds a valid passport or ID card with a chip.
    pub const PASSPORT_CHIP: u16 = 1 << 2;
    /// Has no CPR number (needs a P code).
    pub const NO_CPR: u16 = 1 << 3;
    /// Lives abroad (cannot visit Citizen Service).
    pub const ABROAD: u16 = 1 << 4;
    /// Digitally challenged.
    pub const CHALLENGED: u16 = 1 << 5;
    /// Serious visual impairment (uses the audio code reader).
    pub const VISUALLY_IMPAIRED: u16 = 1 << 6;
    /// Banks online.
    pub const BANK_CUSTOMER: u16 = 1 << 7;
    /// Held NemID on the start date.
    pub const NEMID_HOLDER: u16 = 1 << 8;
    /// NemID on the key app rather than the key card.
    pub const NEMID_KEY_APP: u16 = 1 << 9;
    /// Has a second MitID authenticator to activate a new one from.
    pub const BACKUP_AUTHENTICATOR: u16 = 1 << 10;
}

/// Which MitID authenticator a citizen uses (0 = no MitID). Stored as a `u8` in [`Citizen`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MitidKind {
    /// No MitID.
    None = 0,
    /// The MitID app.
    App = 1,
    /// Code display (kodeviser).
    CodeDisplay = 2,
    /// Audio code reader (kodeoplæser).
    AudioReader = 3,
}

impl MitidKind {
    /// Decodes the stored byte.
    #[must_use]
    pub fn from_u8(v: u8) -> Self {
        match v {
            1 => MitidKind::App,
            2 => MitidKind::CodeDisplay,
            3 => MitidKind::AudioReader,
            _ => MitidKind::None,
        }
    }

    /// The authenticator a citizen with `traits` is issued: the app if they have a smartphone,
    /// the audio code reader if visually impaired, else a code display.
    #[must_use]
    pub fn issued_for(traits: u16) -> Self {
        if traits & traits::VISUALLY_IMPAIRED != 0 {
            MitidKind::AudioReader
        } else if traits & traits::SMARTPHONE != 0 {
            MitidKind::App
        } else {
            MitidKind::CodeDisplay
        }
    }
}

/// One synthetic citizen: static traits plus the model's mutable state, packed into 12 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Citizen {
    /// Age in whole years on the start date (ages are not advanced during a run).
    pub age: u8,
    /// Index into [`Population::municipalities`].
    pub municipality: u8,
    /// [`traits`] bits.
    pub traits: u16,
    /// [`MitidKind`] as a byte.
    pub mitid: u8,
    /// Model state flags (see the model).
    pub status: u8,
    /// What the citizen is in the middle of (migration route or authenticator problem).
    pub route: u8,
    /// Index (into [`Population::municipalities`]) of the municipality whose counter holds the
    /// citizen's current Citizen Service appointment: their own, or one in their region when
    /// they booked there (`capacities.citizen_service.book_in_region_after_days`).
    pub counter_municipality: u8,
    /// Day (since the start) the current episode began.
    pub episode_day: u16,
    /// Day (since the start) the citizen first asked Citizen Service in this episode.
    pub citizen_service_day: u16,
}

impl Citizen {
    /// Has trait `bit`.
    #[must_use]
    #[inline]
    pub fn has(&self, bit: u16) -> bool {
        self.traits & bit != 0
    }
}

/// The synthesized population.
#[derive(Debug, Clone)]
pub struct Population {
    /// Every citizen, grouped by municipality.
    pub citizens: Vec<Citizen>,
    /// The municipalities populated, in fixture order.
    pub municipalities: Vec<Municipality>,
    /// Synthetic residents per municipality (same order).
    pub residents: Vec<u32>,
}

/// Resolves `population.municipalities` (names or codes) against the fixture.
pub fn select_municipalities(cfg: &PopulationConfig) -> Result<Vec<Municipality>, PolicyError> {
    let all = fixtures::municipalities()?;
    if cfg.municipalities.is_empty() {
        return Ok(all);
    }
    let mut chosen: Vec<Municipality> = Vec::new();
    for (i, wanted) in cfg.municipalities.iter().enumerate() {
        let w = wanted.trim();
        let found = all
            .iter()
            .find(|m| m.name.eq_ignore_ascii_case(w) || w.parse::<u16>().is_ok_and(|c| c == m.code))
            .ok_or_else(|| {
                PolicyError::invalid(
                    &format!("population.municipalities[{i}]"),
                    format!("`{w}` is not a Danish municipality name or DST code (see fixtures/municipalities.csv)"),
                )
            })?;
        if chosen.iter().any(|m| m.code == found.code) {
            return Err(PolicyError::invalid(
                &format!("population.municipalities[{i}]"),
                format!("`{w}` is listed twice"),
            ));
        }
        chosen.push(found.clone());
    }
    chosen.sort_by_key(|m| all.iter().position(|a| a.code == m.code));
    Ok(chosen)
}

/// Splits `total` over `weights` exactly (largest remainder; ties to the earlier entry).
#[must_use]
pub fn apportion(total: u32, weights: &[u32]) -> Vec<u32> {
    let sum: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let mut out: Vec<u32> = weights
        .iter()
        .map(|&w| (u64::from(total) * u64::from(w) / sum) as u32)
        .collect();
    let given: u32 = out.iter().sum();
    let mut rest: Vec<(u64, usize)> = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| (u64::from(total) * u64::from(w) % sum, i))
        .collect();
    rest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in rest.iter().take((total - given) as usize) {
        out[i] += 1;
    }
    out
}

/// Draws an age (whole years) from the bands; the open top band decays with a mean of 5 years
/// past its start (the fixture has no finer bands above 85), capped at 105.
fn draw_age(bands: &[AgeBand], cumulative: &[u64], rng: &mut RandomStream) -> u8 {
    let total = *cumulative.last().unwrap_or(&1);
    let x = rng.below(total);
    let i = cumulative.partition_point(|&c| c <= x).min(bands.len() - 1);
    let band = bands[i];
    match band.to {
        Some(to) => band.from + rng.below(u64::from(to - band.from) + 1) as u8,
        None => (f64::from(band.from) + rng.exponential(5.0)).min(105.0) as u8,
    }
}

/// Synthesizes the population of `cfg` from the embedded fixtures.
pub fn synthesize(
    cfg: &PopulationConfig,
    rng: &mut RandomStream,
) -> Result<Population, PolicyError> {
    let municipalities = select_municipalities(cfg)?;
    let bands = fixtures::age_bands()?;
    let mut cumulative = Vec::with_capacity(bands.len());
    let mut acc = 0u64;
    for b in &bands {
        acc += u64::from(b.total);
        cumulative.push(acc);
    }
    let weights: Vec<u32> = municipalities.iter().map(|m| m.population).collect();
    let residents = apportion(cfg.size, &weights);
    let s = &cfg.segments;
    let mut citizens = Vec::with_capacity(cfg.size as usize);
    for (mi, &n) in residents.iter().enumerate() {
        for _ in 0..n {
            let age = draw_age(&bands, &cumulative, rng);
            let bit =
                |rng: &mut RandomStream, flag: u16, p: f64| if rng.bernoulli(p) { flag } else { 0 };
            let mut t = bit(rng, traits::SMARTPHONE, s.smartphone.at(age))
                | bit(rng, traits::PASSPORT_CHIP, s.passport_chip.at(age))
                | bit(rng, traits::NO_CPR, s.no_cpr)
                | bit(rng, traits::ABROAD, s.abroad)
                | bit(rng, traits::CHALLENGED, s.digitally_challenged.at(age))
                | bit(rng, traits::VISUALLY_IMPAIRED, s.visually_impaired.at(age))
                | bit(rng, traits::BANK_CUSTOMER, s.bank_customer.at(age))
                | bit(rng, traits::NEMID_HOLDER, s.nemid_holder.at(age));
            if t & traits::SMARTPHONE != 0 {
                t |= bit(rng, traits::NFC, s.smartphone_nfc);
                if t & traits::NEMID_HOLDER != 0 {
                    t |= bit(rng, traits::NEMID_KEY_APP, s.nemid_key_app);
                }
            }
            t |= bit(rng, traits::BACKUP_AUTHENTICATOR, s.backup_authenticator);
            let mut mitid = MitidKind::None as u8;
            if age >= s.mitid_min_age
                && t & traits::NEMID_HOLDER != 0
                && rng.bernoulli(s.mitid_at_start)
            {
                mitid = MitidKind::issued_for(t) as u8;
            }
            citizens.push(Citizen {
                age,
                municipality: mi as u8,
                traits: t,
                mitid,
                status: 0,
                route: 0,
                counter_municipality: mi as u8,
                episode_day: 0,
                citizen_service_day: 0,
            });
        }
    }
    Ok(Population {
        citizens,
        municipalities,
        residents,
    })
}
