//! The `population` section: who lives in the synthetic Denmark and what they hold.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{AgeCurve, check_share, date};
use crate::policy::PolicyError;

/// The synthetic population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PopulationConfig {
    /// Number of synthetic citizens. Default 5 900 000 (DOMAIN.md: "about 5.9 million residents").
    /// Capacities scale with it (see `capacities.reference_population`).
    pub size: u32,
    /// First simulated day. Default 2021-10-01 (DOMAIN.md: moving NemID users started October 2021).
    pub start: NaiveDate,
    /// Last simulated day (inclusive). Default 2023-12-31.
    pub end: NaiveDate,
    /// Municipalities to populate, by DST name or code (e.g. `Aalborg` or `851`); empty = all 98.
    /// Residents are spread by the municipalities' real population shares
    /// (fixtures/municipalities.csv, DST FOLK1A 2020).
    pub municipalities: Vec<String>,
    /// Who has what, by age.
    pub segments: SegmentShares,
}

impl Default for PopulationConfig {
    fn default() -> Self {
        PopulationConfig {
            size: 5_900_000,
            start: date(2021, 10, 1),
            end: date(2023, 12, 31),
            municipalities: Vec::new(),
            segments: SegmentShares::default(),
        }
    }
}

/// Segment shares. Ages come from fixtures/age_distribution.csv (DST, 1 January 2023).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SegmentShares {
    /// Share with a smartphone able to run the MitID app. *Assumption*: digital_adoption.md §1
    /// found no figure by age; anchored on 67 % of 65–74-year-olds using messaging apps (DST 2022)
    /// and 13 % of everyone not knowing how to install an app.
    pub smartphone: AgeCurve,
    /// Share of those smartphones that can read a passport chip by NFC (iPhone 7+, NFC Android).
    /// *Assumption* 0.85.
    pub smartphone_nfc: f64,
    /// Share holding a valid passport or ID card with a chip. *Assumption*: digital_adoption.md §6
    /// found no figure.
    pub passport_chip: AgeCurve,
    /// Share without a CPR number (they need a P code at Citizen Service). *Assumption* 0.002
    /// (§7: not found).
    pub no_cpr: f64,
    /// Share living abroad (no Citizen Service visit possible). *Assumption* 0.01 (§7: not found).
    pub abroad: f64,
    /// Share "digitally challenged". Defaults from digital_adoption.md §2 (DST 2022): 18 % of
    /// 15–89, lowest under 45, about half of 75–79, at least three in four from 80.
    pub digitally_challenged: AgeCurve,
    /// Share with a serious visual impairment (they use the audio code reader). From §5
    /// (Socialstyrelsen): about 65 000 people, ~15 000 under 70 and ~50 000 over 70.
    pub visually_impaired: AgeCurve,
    /// Share who bank online. From §3: 88 % of 16–74 (Eurostat 2016); other ages *assumption*.
    pub bank_customer: AgeCurve,
    /// Share holding a working NemID on the start date. *Assumption*, bounded by §4 (Digital Post
    /// exemption 20 % of 65+ in 2022) and the 4.5 million MitID users of DOMAIN.md.
    pub nemid_holder: AgeCurve,
    /// Share of NemID holders using the key app instead of the key card. *Assumption* 0.3.
    pub nemid_key_app: f64,
    /// Share of NemID holders who already have MitID on the start date (MitID went live May
    /// 2021, DOMAIN.md). *Assumption* 0.03.
    pub mitid_at_start: f64,
    /// Share of MitID app users who also hold a second authenticator (backup device, code
    /// display) they can activate a new device from. *Assumption* 0.15.
    pub backup_authenticator: f64,
    /// Youngest age at which MitID is issued (DOMAIN.md does not say; MitID is issued from 13 with
    /// parental consent). Default 13.
    pub mitid_min_age: u8,
}

impl Default for SegmentShares {
    fn default() -> Self {
        SegmentShares {
            smartphone: AgeCurve::steps(&[
                (0, 0.0),
                (10, 0.85),
                (15, 0.96),
                (55, 0.92),
                (65, 0.85),
                (75, 0.65),
                (80, 0.45),
                (85, 0.25),
            ]),
            smartphone_nfc: 0.85,
            passport_chip: AgeCurve::steps(&[(0, 0.6), (18, 0.8), (75, 0.65), (85, 0.45)]),
            no_cpr: 0.002,
            abroad: 0.01,
            digitally_challenged: AgeCurve::steps(&[
                (0, 0.05),
                (15, 0.06),
                (45, 0.12),
                (55, 0.18),
                (65, 0.30),
                (75, 0.50),
                (80, 0.75),
            ]),
            visually_impaired: AgeCurve::steps(&[(0, 0.003), (70, 0.056)]),
            bank_customer: AgeCurve::steps(&[
                (0, 0.0),
                (13, 0.6),
                (16, 0.88),
                (75, 0.65),
                (85, 0.4),
            ]),
            nemid_holder: AgeCurve::steps(&[
                (0, 0.0),
                (13, 0.3),
                (15, 0.96),
                (65, 0.92),
                (75, 0.82),
                (80, 0.65),
                (85, 0.45),
            ]),
            nemid_key_app: 0.3,
            mitid_at_start: 0.03,
            backup_authenticator: 0.15,
            mitid_min_age: 13,
        }
    }
}

impl PopulationConfig {
    /// Checks the section; errors name the field under `population`.
    pub(super) fn validate(&self) -> Result<(), PolicyError> {
        let p = self;
        if p.size == 0 {
            return Err(PolicyError::invalid(
                "population.size",
                "must be at least 1",
            ));
        }
        if p.end < p.start {
            return Err(PolicyError::invalid(
                "population.end",
                "must not be before population.start",
            ));
        }
        if (p.end - p.start).num_days() > 3660 {
            return Err(PolicyError::invalid(
                "population.end",
                "the run may last at most 10 years",
            ));
        }
        let s = &p.segments;
        let sp = "population.segments";
        s.smartphone.validate(&format!("{sp}.smartphone"))?;
        check_share(&format!("{sp}.smartphone_nfc"), s.smartphone_nfc)?;
        s.passport_chip.validate(&format!("{sp}.passport_chip"))?;
        check_share(&format!("{sp}.no_cpr"), s.no_cpr)?;
        check_share(&format!("{sp}.abroad"), s.abroad)?;
        s.digitally_challenged
            .validate(&format!("{sp}.digitally_challenged"))?;
        s.visually_impaired
            .validate(&format!("{sp}.visually_impaired"))?;
        s.bank_customer.validate(&format!("{sp}.bank_customer"))?;
        s.nemid_holder.validate(&format!("{sp}.nemid_holder"))?;
        check_share(&format!("{sp}.nemid_key_app"), s.nemid_key_app)?;
        check_share(&format!("{sp}.mitid_at_start"), s.mitid_at_start)?;
        check_share(
            &format!("{sp}.backup_authenticator"),
            s.backup_authenticator,
        )?;
        Ok(())
    }
}
