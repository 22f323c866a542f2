//! The policy scenario: what a planner writes in `scenarios/*.yaml` (`kind: policy`).
//!
//! Every number the model uses lives here as a documented field with a default. Defaults cite
//! `fixtures/digital_adoption.md` (the sourced facts) or DOMAIN.md where a figure exists; the
//! rest are marked *assumption* and are meant to be varied with `--set`.
//!
//! Dates are `chrono::NaiveDate` written as `YYYY-MM-DD`. A calendar date means "from the start
//! of this day the change is in effect".

use chrono::{Datelike, NaiveDate};
use mitid_devices::assurance::Loa;
use mitid_devices::policy::{AppPolicy, KeyCardPolicy};
use serde::{Deserialize, Serialize};

use super::PolicyError;

/// Top-level `kind:` of a policy scenario file; the only accepted value is `policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// A whole-population policy run (this module).
    #[default]
    Policy,
}

/// A complete policy scenario (`kind: policy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyScenario {
    /// Always `policy`.
    pub kind: PolicyKind,
    /// Scenario name, used for the output folder and reports.
    pub name: String,
    /// Default seed of the run (the command's `--seed` overrides it). Default 1.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Who lives in the synthetic Denmark and what they hold on the start date.
    #[serde(default)]
    pub population: PopulationConfig,
    /// NemID milestones, the QR rollout and per-sector NemID cut-offs.
    #[serde(default)]
    pub calendar: CalendarConfig,
    /// Citizen Service counters and the support line.
    #[serde(default)]
    pub capacities: CapacitiesConfig,
    /// Login needs, authenticator events and migration decisions.
    #[serde(default)]
    pub behaviour: BehaviourConfig,
    /// What the outcome breaks figures down by.
    #[serde(default)]
    pub outputs: OutputsConfig,
}

fn default_seed() -> u64 {
    1
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid literal date")
}

/// One step of a step function over age: from `from_age` (inclusive) until the next step's
/// `from_age`, the share is `share`. The first step of a curve must start at age 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeStep {
    /// First age (whole years) this share applies to.
    pub from_age: u8,
    /// Share of people of these ages with the property, 0..=1.
    pub share: f64,
}

/// A share that depends on age, as a step function (`[{from_age: 0, share: 0.1}, ...]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgeCurve(pub Vec<AgeStep>);

impl AgeCurve {
    fn steps(steps: &[(u8, f64)]) -> Self {
        AgeCurve(
            steps
                .iter()
                .map(|&(from_age, share)| AgeStep { from_age, share })
                .collect(),
        )
    }

    /// The share at `age` (the last step whose `from_age <= age`).
    #[must_use]
    pub fn at(&self, age: u8) -> f64 {
        self.0
            .iter()
            .rev()
            .find(|s| s.from_age <= age)
            .map_or(0.0, |s| s.share)
    }

    fn validate(&self, path: &str) -> Result<(), PolicyError> {
        if self.0.is_empty() {
            return Err(PolicyError::invalid(path, "needs at least one step"));
        }
        if self.0[0].from_age != 0 {
            return Err(PolicyError::invalid(
                &format!("{path}[0].from_age"),
                "the first step must start at age 0",
            ));
        }
        for (i, s) in self.0.iter().enumerate() {
            check_share(&format!("{path}[{i}].share"), s.share)?;
            if i > 0 && s.from_age <= self.0[i - 1].from_age {
                return Err(PolicyError::invalid(
                    &format!("{path}[{i}].from_age"),
                    "steps must be in increasing order of age",
                ));
            }
        }
        Ok(())
    }
}

fn check_share(path: &str, v: f64) -> Result<(), PolicyError> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(PolicyError::invalid(
            path,
            format!("must be a share between 0 and 1, got {v}"),
        ))
    }
}

fn check_non_negative(path: &str, v: f64) -> Result<(), PolicyError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(PolicyError::invalid(
            path,
            format!("must be a finite number >= 0, got {v}"),
        ))
    }
}

fn check_positive(path: &str, v: f64) -> Result<(), PolicyError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(PolicyError::invalid(
            path,
            format!("must be a finite number > 0, got {v}"),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// population

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

// ---------------------------------------------------------------------------------------------
// calendar

/// Where a citizen logs in. The six self-services of the seed document plus banks and shops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    /// Change address (borger.dk).
    ChangeAddress,
    /// Apply for childcare.
    Childcare,
    /// See your tax (skat.dk).
    Tax,
    /// Choose a doctor.
    Doctor,
    /// Read Digital Post.
    DigitalPost,
    /// Leave Denmark (report emigration).
    LeaveDenmark,
    /// Net banks and mobile banking.
    Bank,
    /// Online shopping (card payments with NemID/MitID).
    Shop,
}

impl Sector {
    /// All sectors in a fixed order (the model's sector index).
    pub const ALL: [Sector; 8] = [
        Sector::ChangeAddress,
        Sector::Childcare,
        Sector::Tax,
        Sector::Doctor,
        Sector::DigitalPost,
        Sector::LeaveDenmark,
        Sector::Bank,
        Sector::Shop,
    ];

    /// Position in [`Sector::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        Sector::ALL.iter().position(|&s| s == self).unwrap_or(0)
    }
}

/// The day a sector stops accepting NemID.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectorCutoff {
    /// The sector.
    pub sector: Sector,
    /// From this day NemID logins to the sector fail.
    pub nemid_cutoff: NaiveDate,
}

/// The NemID phase-out calendar. Defaults are DOMAIN.md's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarConfig {
    /// MitID becomes the default on public login pages (DOMAIN.md: 2022-09-22). Reported as a
    /// milestone; the day of the 4.5 million calibration point.
    pub mitid_default_public: NaiveDate,
    /// New key cards and temporary passwords only at Citizen Service (2023-05-30).
    pub key_cards_only_at_citizen_service: NaiveDate,
    /// NemID can no longer be used to get MitID (2023-06-05).
    pub migration_via_nemid_ends: NaiveDate,
    /// NemID support closes; no new NemID is issued (2023-06-30).
    pub nemid_support_closes: NaiveDate,
    /// NemID shut down completely (2023-10-31): from this day no NemID login succeeds.
    pub nemid_shutdown: NaiveDate,
    /// QR code scan required for app logins on a computer (2023-06-06). Citizens with an app on a
    /// phone that cannot scan (no camera use, challenged) fail more logins from this day.
    pub qr_rollout: NaiveDate,
    /// Per-sector NemID cut-offs. Banks and shops 2022-11-01 (DOMAIN.md); the public self-services
    /// are staggered *assumptions* ("fewer and fewer NemID logins over time").
    pub sectors: Vec<SectorCutoff>,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        let cut = |sector, y, m, d| SectorCutoff {
            sector,
            nemid_cutoff: date(y, m, d),
        };
        CalendarConfig {
            mitid_default_public: date(2022, 9, 22),
            key_cards_only_at_citizen_service: date(2023, 5, 30),
            migration_via_nemid_ends: date(2023, 6, 5),
            nemid_support_closes: date(2023, 6, 30),
            nemid_shutdown: date(2023, 10, 31),
            qr_rollout: date(2023, 6, 6),
            sectors: vec![
                cut(Sector::Bank, 2022, 11, 1),
                cut(Sector::Shop, 2022, 11, 1),
                cut(Sector::Childcare, 2023, 3, 31),
                cut(Sector::ChangeAddress, 2023, 4, 30),
                cut(Sector::LeaveDenmark, 2023, 4, 30),
                cut(Sector::Doctor, 2023, 5, 31),
                cut(Sector::Tax, 2023, 6, 30),
                cut(Sector::DigitalPost, 2023, 10, 31),
            ],
        }
    }
}

impl CalendarConfig {
    /// The NemID cut-off of `sector` (never later than the shutdown).
    #[must_use]
    pub fn cutoff(&self, sector: Sector) -> NaiveDate {
        self.sectors
            .iter()
            .find(|c| c.sector == sector)
            .map_or(self.nemid_shutdown, |c| {
                c.nemid_cutoff.min(self.nemid_shutdown)
            })
    }
}

// ---------------------------------------------------------------------------------------------
// capacities

/// Citizen Service counters and the support line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CapacitiesConfig {
    /// The population the capacities below are written for. Capacities are multiplied by
    /// `population.size / reference_population` so a reduced run keeps the real load per
    /// counter. 0 means "do not scale". Default 5 900 000 (whole Denmark); for a one-municipality
    /// scenario, that municipality's population.
    pub reference_population: u32,
    /// Citizen Service (Borgerservice) counters.
    pub citizen_service: CitizenServiceCapacity,
    /// The MitID support line.
    pub support: SupportCapacity,
}

impl Default for CapacitiesConfig {
    fn default() -> Self {
        CapacitiesConfig {
            reference_population: 5_900_000,
            citizen_service: CitizenServiceCapacity::default(),
            support: SupportCapacity::default(),
        }
    }
}

/// Citizen Service capacity: a rule for all municipalities plus per-municipality overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CitizenServiceCapacity {
    /// Staffed MitID counters per 10 000 residents (rule, rounded, at least `min_counters`).
    /// *Assumption* 0.25 (about 150 counters for 5.9 million).
    pub counters_per_10k_residents: f64,
    /// Fewest counters any municipality has. Default 1.
    pub min_counters: u32,
    /// Opening hours per weekday, Monday first (7 numbers). *Assumption* Mon–Wed 6 h, Thu 8 h,
    /// Fri 4 h, closed at weekends.
    pub opening_hours: Vec<f64>,
    /// Mean counter minutes per MitID case (identity check with documents and CPR questions,
    /// enrolment). *Assumption* 20.
    pub service_minutes: f64,
    /// How far ahead appointments can be booked, in days. *Assumption* 60. A citizen who finds no
    /// free slot within the horizon tries again `rebook_after_days` later.
    pub booking_horizon_days: u32,
    /// Days before a citizen who found no slot tries again. *Assumption* 7.
    pub rebook_after_days: u32,
    /// Share of booked appointments not kept (the citizen books again). *Assumption* 0.05.
    pub no_show: f64,
    /// Whether walk-ins are served (from slots left free on the day). Default false: DOMAIN.md,
    /// "most by appointment".
    pub walk_ins: bool,
    /// Temporary staffing changes: counters are multiplied by `factor` from `from` to `to`
    /// (inclusive). E.g. the autumn 2022 extra staff.
    pub surges: Vec<CapacitySurge>,
    /// Per-municipality exceptions to the rule.
    pub overrides: Vec<MunicipalityCapacity>,
}

impl Default for CitizenServiceCapacity {
    fn default() -> Self {
        CitizenServiceCapacity {
            counters_per_10k_residents: 0.25,
            min_counters: 1,
            opening_hours: vec![6.0, 6.0, 6.0, 8.0, 4.0, 0.0, 0.0],
            service_minutes: 20.0,
            booking_horizon_days: 60,
            rebook_after_days: 7,
            no_show: 0.05,
            walk_ins: false,
            surges: Vec::new(),
            overrides: Vec::new(),
        }
    }
}

/// A period with more (or fewer) counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacitySurge {
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period (inclusive).
    pub to: NaiveDate,
    /// Multiplier on every municipality's counters.
    pub factor: f64,
}

/// One municipality's own Citizen Service figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MunicipalityCapacity {
    /// DST name or code.
    pub municipality: String,
    /// Staffed MitID counters (replaces the rule), for the municipality's real population.
    #[serde(default)]
    pub counters: Option<f64>,
    /// Opening hours per weekday, Monday first (replaces the rule).
    #[serde(default)]
    pub opening_hours: Option<Vec<f64>>,
    /// Whether walk-ins are served (replaces the rule).
    #[serde(default)]
    pub walk_ins: Option<bool>,
}

/// The MitID support line: three shifts a day, every day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupportCapacity {
    /// Agents on the day shift (`day_shift_starts`..`evening_shift_starts`). *Assumption* 120.
    pub agents_day: u32,
    /// Agents on the evening shift (`evening_shift_starts`..`night_shift_starts`). *Assumption* 40.
    pub agents_evening: u32,
    /// Agents on the night shift (`night_shift_starts`..`day_shift_starts`). *Assumption* 8.
    pub agents_night: u32,
    /// Hour the day shift starts. Default 8.
    pub day_shift_starts: u8,
    /// Hour the evening shift starts. Default 16.
    pub evening_shift_starts: u8,
    /// Hour the night shift starts. Default 22.
    pub night_shift_starts: u8,
    /// Mean minutes an agent spends on a call (exponential). *Assumption* 8.
    pub call_minutes: f64,
    /// Mean minutes a caller waits before hanging up (exponential). *Assumption* 15.
    pub patience_minutes: f64,
    /// Share of callers who hung up that call again (the rest go to Citizen Service or give up
    /// until their next need). *Assumption* 0.7.
    pub redial: f64,
    /// Hours before a redial. *Assumption* 3.
    pub redial_after_hours: f64,
}

impl Default for SupportCapacity {
    fn default() -> Self {
        SupportCapacity {
            agents_day: 120,
            agents_evening: 40,
            agents_night: 8,
            day_shift_starts: 8,
            evening_shift_starts: 16,
            night_shift_starts: 22,
            call_minutes: 8.0,
            patience_minutes: 15.0,
            redial: 0.7,
            redial_after_hours: 3.0,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// behaviour

/// How citizens behave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BehaviourConfig {
    /// Login needs per sector and segment.
    pub login_needs: Vec<LoginNeedRate>,
    /// Authenticator events of MitID users.
    pub authenticator_events: AuthenticatorEventRates,
    /// When and how NemID users (and people without eID) get MitID.
    pub migration: MigrationBehaviour,
    /// What breaks a NemID once the calendar stops repairing it.
    pub nemid: NemidBehaviour,
}

/// NemID wear and tear that matters once `calendar.key_cards_only_at_citizen_service` and
/// `calendar.nemid_support_closes` have passed: from the first, a used-up key card is only
/// replaced at Citizen Service (the model's NemID-only citizens do not go there for NemID, so
/// their NemID stops); from the second, a NemID credential problem (forgotten password, lost
/// card) can no longer be repaired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NemidBehaviour {
    /// Codes used from a key card before a new one is due: the devices crate's `KeyCardPolicy`
    /// (148 pairs, assumption; new card when 20 remain, fact) gives 128. A key-card holder uses
    /// one code per login, so the card runs out after this many login needs.
    pub key_card_codes_before_reorder: u16,
    /// NemID credential problems (forgotten password, lost card) per NemID user per year.
    /// *Assumption* 0.1.
    pub credential_problems_per_year: f64,
}

impl Default for NemidBehaviour {
    fn default() -> Self {
        let cards = KeyCardPolicy::default();
        NemidBehaviour {
            key_card_codes_before_reorder: cards.pairs_per_card - cards.reorder_when_remaining,
            credential_problems_per_year: 0.1,
        }
    }
}

impl Default for BehaviourConfig {
    fn default() -> Self {
        BehaviourConfig {
            login_needs: default_login_needs(),
            authenticator_events: AuthenticatorEventRates::default(),
            migration: MigrationBehaviour::default(),
            nemid: NemidBehaviour::default(),
        }
    }
}

/// How often one citizen needs to log in to one sector. *Assumptions* (no source found); only
/// the first need after a cut-off, and needs while an authenticator is unusable, are simulated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginNeedRate {
    /// The sector.
    pub sector: Sector,
    /// Needs per year of a digitally ready citizen.
    pub per_year: f64,
    /// Needs per year of a digitally challenged citizen.
    pub per_year_challenged: f64,
    /// Youngest age with the need.
    #[serde(default)]
    pub min_age: u8,
    /// Oldest age with the need (inclusive). Default 120.
    #[serde(default = "default_max_age")]
    pub max_age: u8,
    /// Only bank customers have this need (banks and shops paying by net bank).
    #[serde(default)]
    pub bank_customers_only: bool,
    /// The level of assurance the sector requires (`low`, `substantial`, `high`). A MitID whose
    /// LoA (`mitid_devices::loa(ial, aal)`) is lower is refused: e.g. a P-code MitID (DOMAIN.md:
    /// "refused by many services"). Default `substantial`.
    #[serde(default = "default_required_loa")]
    pub required_loa: Loa,
}

fn default_required_loa() -> Loa {
    Loa::Substantial
}

fn default_max_age() -> u8 {
    120
}

fn default_login_needs() -> Vec<LoginNeedRate> {
    let need = |sector, per_year, per_year_challenged, min_age, max_age, bank| LoginNeedRate {
        sector,
        per_year,
        per_year_challenged,
        min_age,
        max_age,
        bank_customers_only: bank,
        required_loa: Loa::Substantial,
    };
    vec![
        need(Sector::Bank, 80.0, 20.0, 13, 120, true),
        need(Sector::Shop, 15.0, 2.0, 15, 120, false),
        need(Sector::DigitalPost, 24.0, 4.0, 15, 120, false),
        need(Sector::Tax, 3.0, 1.0, 18, 120, false),
        need(Sector::Doctor, 1.0, 0.5, 15, 120, false),
        need(Sector::ChangeAddress, 0.12, 0.05, 18, 120, false),
        need(Sector::Childcare, 0.4, 0.2, 20, 49, false),
        need(Sector::LeaveDenmark, 0.01, 0.002, 18, 120, false),
    ]
}

/// Authenticator events per MitID user per year, and what the user can do about them.
/// *Assumptions* throughout (MitID publishes no incident rates).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthenticatorEventRates {
    /// Phone lost, stolen or broken (the app is gone) per app user per year. Default 0.06.
    pub lost_phone_per_year: f64,
    /// Forgotten app PIN per app user per year. Default 0.04.
    pub forgot_pin_per_year: f64,
    /// Forgotten password per code display / audio reader / chip user per year. Default 0.15.
    pub forgot_password_per_year: f64,
    /// Forgotten user ID per MitID user per year. Default 0.05.
    pub forgot_user_id_per_year: f64,
    /// Too many wrong PINs or codes per MitID user per year (a lock-out). Default 0.05;
    /// digitally challenged users have `challenged_factor` times more.
    pub lockout_per_year: f64,
    /// Multiplier on every event rate for digitally challenged users. Default 2.
    pub challenged_factor: f64,
    /// Share of lock-outs that become a permanent block (the rest are temporary suspensions that
    /// lift after `suspension_hours`). Default 0.15.
    pub permanent_block_share: f64,
    /// Length of a temporary suspension in hours. Default: the devices crate's app PIN lock-out
    /// (`AppPolicy::pin_lockout.lock_duration`, an assumption of 1 hour).
    pub suspension_hours: f64,
    /// Share of support PIN resets refused because the phone number changed in the last 5 days
    /// (DOMAIN.md). Default 0.02.
    pub phone_number_changed_recently: f64,
    /// Days for a code display / audio reader to arrive by post. Default 5.
    pub device_delivery_days: f64,
    /// Share of app users who cannot scan a QR code on a computer after the QR rollout and fail
    /// one login (and call support) before learning it. Default 0.03; challenged users count
    /// `challenged_factor` times.
    pub qr_confusion: f64,
}

impl Default for AuthenticatorEventRates {
    fn default() -> Self {
        AuthenticatorEventRates {
            lost_phone_per_year: 0.06,
            forgot_pin_per_year: 0.04,
            forgot_password_per_year: 0.15,
            forgot_user_id_per_year: 0.05,
            lockout_per_year: 0.05,
            challenged_factor: 2.0,
            permanent_block_share: 0.15,
            suspension_hours: AppPolicy::default().pin_lockout.lock_duration.as_secs() as f64
                / 3600.0,
            phone_number_changed_recently: 0.02,
            device_delivery_days: 5.0,
            qr_confusion: 0.03,
        }
    }
}

/// A period of constant spontaneous migration hazard.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HazardPeriod {
    /// First day of the period (the period lasts until the next one starts).
    pub from: NaiveDate,
    /// Probability rate per month that a digitally ready NemID holder decides to get MitID
    /// without being forced by a cut-off.
    pub per_month: f64,
}

/// Migration decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MigrationBehaviour {
    /// Spontaneous migration hazard of a digitally ready NemID holder, by period. Calibrated so
    /// MitID users on 2022-09-22 are 4.5 million of 5.9 million (DOMAIN.md); see
    /// scenarios/nemid-phaseout-2023.yaml.
    pub hazard: Vec<HazardPeriod>,
    /// Multiplier on the hazard for digitally challenged citizens. *Assumption* 0.35.
    pub challenged_factor: f64,
    /// Multiplier on the hazard for citizens without NemID (they have no letter from the bank
    /// and no deadline). *Assumption* 0.5.
    pub without_nemid_factor: f64,
    /// Share of citizens who, when a cut-off stops them, act on it at once; the rest wait for
    /// their next need (sampled again). *Assumption* 0.8.
    pub act_on_failure: f64,
    /// Share of digitally ready citizens with a working NemID who move on MitID.dk via NemID
    /// (while `calendar.migration_via_nemid_ends` has not passed). *Assumption* 0.75.
    pub via_nemid: f64,
    /// Same for digitally challenged citizens. *Assumption* 0.25.
    pub via_nemid_challenged: f64,
    /// Share of those without a self-service route who get help at their bank (bank-assisted
    /// enrolment), while banks accept NemID for it. *Assumption* 0.3.
    pub bank_assisted: f64,
    /// Last day banks help with enrolment. Default 2023-06-04 (it relied on NemID).
    pub bank_assisted_until: NaiveDate,
    /// Share of the remaining who find a witness (18+, MitID for 30+ days) instead of going to
    /// Citizen Service. *Assumption* 0.15.
    pub witness: f64,
    /// Days from a decision to a finished self-service enrolment (app activation, SMS PIN).
    /// *Assumption* 0.5.
    pub self_service_days: f64,
    /// Days from a decision to a bank-assisted enrolment (the next branch visit). *Assumption* 10.
    pub bank_assisted_days: f64,
    /// Days to arrange a witness. *Assumption* 14.
    pub witness_days: f64,
    /// Share of migrations that produce one call to the support line (questions, failed
    /// activation). *Assumption* 0.06.
    pub support_call_share: f64,
    /// Days a citizen without any route waits before reconsidering (e.g. abroad without passport).
    /// *Assumption* 60.
    pub reconsider_days: f64,
}

impl Default for MigrationBehaviour {
    fn default() -> Self {
        MigrationBehaviour {
            hazard: vec![
                HazardPeriod {
                    from: date(2021, 10, 1),
                    per_month: 0.24,
                },
                HazardPeriod {
                    from: date(2022, 3, 1),
                    per_month: 0.3,
                },
                HazardPeriod {
                    from: date(2022, 9, 22),
                    per_month: 0.3,
                },
                HazardPeriod {
                    from: date(2022, 11, 1),
                    per_month: 0.1,
                },
            ],
            challenged_factor: 0.35,
            without_nemid_factor: 0.5,
            act_on_failure: 0.8,
            via_nemid: 0.75,
            via_nemid_challenged: 0.25,
            bank_assisted: 0.3,
            bank_assisted_until: date(2023, 6, 4),
            witness: 0.15,
            self_service_days: 0.5,
            bank_assisted_days: 10.0,
            witness_days: 14.0,
            support_call_share: 0.06,
            reconsider_days: 60.0,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// outputs

/// What the outcome breaks figures down by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputsConfig {
    /// Lower bounds of the age bands used for lock-outs and "without eID" by segment.
    /// Default `[0, 15, 30, 45, 65, 80]`.
    pub age_bands: Vec<u8>,
}

impl Default for OutputsConfig {
    fn default() -> Self {
        OutputsConfig {
            age_bands: vec![0, 15, 30, 45, 65, 80],
        }
    }
}

// ---------------------------------------------------------------------------------------------
// validation

impl PolicyScenario {
    /// Checks every field. The error names the field path, e.g. `capacities.support.agents_day`.
    // One check per field in the order of the file; `p`, `s`, `c`, `b`, `m`, `a` name the
    // section being checked.
    #[allow(clippy::too_many_lines, clippy::many_single_char_names)]
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.name.trim().is_empty() {
            return Err(PolicyError::invalid("name", "must not be empty"));
        }
        let p = &self.population;
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

        let c = &self.calendar;
        for (i, cut) in c.sectors.iter().enumerate() {
            if c.sectors[..i].iter().any(|o| o.sector == cut.sector) {
                return Err(PolicyError::invalid(
                    &format!("calendar.sectors[{i}].sector"),
                    "this sector already has a cut-off",
                ));
            }
        }
        if c.migration_via_nemid_ends > c.nemid_shutdown {
            return Err(PolicyError::invalid(
                "calendar.migration_via_nemid_ends",
                "must not be after calendar.nemid_shutdown",
            ));
        }

        let cap = &self.capacities;
        let cs = &cap.citizen_service;
        let cp = "capacities.citizen_service";
        check_non_negative(
            &format!("{cp}.counters_per_10k_residents"),
            cs.counters_per_10k_residents,
        )?;
        check_hours(&format!("{cp}.opening_hours"), &cs.opening_hours)?;
        check_positive(&format!("{cp}.service_minutes"), cs.service_minutes)?;
        if cs.booking_horizon_days == 0 {
            return Err(PolicyError::invalid(
                &format!("{cp}.booking_horizon_days"),
                "must be at least 1",
            ));
        }
        if cs.rebook_after_days == 0 {
            return Err(PolicyError::invalid(
                &format!("{cp}.rebook_after_days"),
                "must be at least 1",
            ));
        }
        check_share(&format!("{cp}.no_show"), cs.no_show)?;
        if cs.no_show >= 1.0 {
            return Err(PolicyError::invalid(
                &format!("{cp}.no_show"),
                "must be below 1",
            ));
        }
        for (i, surge) in cs.surges.iter().enumerate() {
            check_non_negative(&format!("{cp}.surges[{i}].factor"), surge.factor)?;
            if surge.to < surge.from {
                return Err(PolicyError::invalid(
                    &format!("{cp}.surges[{i}].to"),
                    "must not be before `from`",
                ));
            }
        }
        for (i, o) in cs.overrides.iter().enumerate() {
            if let Some(n) = o.counters {
                check_non_negative(&format!("{cp}.overrides[{i}].counters"), n)?;
            }
            if let Some(h) = &o.opening_hours {
                check_hours(&format!("{cp}.overrides[{i}].opening_hours"), h)?;
            }
        }
        let sup = &cap.support;
        let su = "capacities.support";
        for (field, hour) in [
            ("day_shift_starts", sup.day_shift_starts),
            ("evening_shift_starts", sup.evening_shift_starts),
            ("night_shift_starts", sup.night_shift_starts),
        ] {
            if hour > 23 {
                return Err(PolicyError::invalid(
                    &format!("{su}.{field}"),
                    "must be an hour 0..=23",
                ));
            }
        }
        if !(sup.day_shift_starts < sup.evening_shift_starts
            && sup.evening_shift_starts < sup.night_shift_starts)
        {
            return Err(PolicyError::invalid(
                &format!("{su}.evening_shift_starts"),
                "shifts must start in the order day < evening < night within one day",
            ));
        }
        check_positive(&format!("{su}.call_minutes"), sup.call_minutes)?;
        check_positive(&format!("{su}.patience_minutes"), sup.patience_minutes)?;
        check_share(&format!("{su}.redial"), sup.redial)?;
        check_positive(&format!("{su}.redial_after_hours"), sup.redial_after_hours)?;

        let b = &self.behaviour;
        for (i, n) in b.login_needs.iter().enumerate() {
            check_non_negative(&format!("behaviour.login_needs[{i}].per_year"), n.per_year)?;
            check_non_negative(
                &format!("behaviour.login_needs[{i}].per_year_challenged"),
                n.per_year_challenged,
            )?;
            if n.max_age < n.min_age {
                return Err(PolicyError::invalid(
                    &format!("behaviour.login_needs[{i}].max_age"),
                    "must not be below min_age",
                ));
            }
            if b.login_needs[..i].iter().any(|o| o.sector == n.sector) {
                return Err(PolicyError::invalid(
                    &format!("behaviour.login_needs[{i}].sector"),
                    "this sector already has a login need rate",
                ));
            }
        }
        let a = &b.authenticator_events;
        let ap = "behaviour.authenticator_events";
        for (field, v) in [
            ("lost_phone_per_year", a.lost_phone_per_year),
            ("forgot_pin_per_year", a.forgot_pin_per_year),
            ("forgot_password_per_year", a.forgot_password_per_year),
            ("forgot_user_id_per_year", a.forgot_user_id_per_year),
            ("lockout_per_year", a.lockout_per_year),
            ("challenged_factor", a.challenged_factor),
            ("suspension_hours", a.suspension_hours),
            ("device_delivery_days", a.device_delivery_days),
        ] {
            check_non_negative(&format!("{ap}.{field}"), v)?;
        }
        check_share(
            &format!("{ap}.permanent_block_share"),
            a.permanent_block_share,
        )?;
        check_share(
            &format!("{ap}.phone_number_changed_recently"),
            a.phone_number_changed_recently,
        )?;
        check_share(&format!("{ap}.qr_confusion"), a.qr_confusion)?;
        if a.qr_confusion * a.challenged_factor > 1.0 {
            return Err(PolicyError::invalid(
                &format!("{ap}.qr_confusion"),
                "times challenged_factor must stay a share (<= 1)",
            ));
        }

        if b.nemid.key_card_codes_before_reorder == 0 {
            return Err(PolicyError::invalid(
                "behaviour.nemid.key_card_codes_before_reorder",
                "must be at least 1",
            ));
        }
        check_non_negative(
            "behaviour.nemid.credential_problems_per_year",
            b.nemid.credential_problems_per_year,
        )?;
        let m = &b.migration;
        let mp = "behaviour.migration";
        if m.hazard.is_empty() {
            return Err(PolicyError::invalid(
                &format!("{mp}.hazard"),
                "needs at least one period",
            ));
        }
        for (i, h) in m.hazard.iter().enumerate() {
            check_non_negative(&format!("{mp}.hazard[{i}].per_month"), h.per_month)?;
            if i > 0 && h.from <= m.hazard[i - 1].from {
                return Err(PolicyError::invalid(
                    &format!("{mp}.hazard[{i}].from"),
                    "periods must be in increasing date order",
                ));
            }
        }
        for (field, v) in [
            ("challenged_factor", m.challenged_factor),
            ("without_nemid_factor", m.without_nemid_factor),
            ("self_service_days", m.self_service_days),
            ("bank_assisted_days", m.bank_assisted_days),
            ("witness_days", m.witness_days),
        ] {
            check_non_negative(&format!("{mp}.{field}"), v)?;
        }
        check_positive(&format!("{mp}.reconsider_days"), m.reconsider_days)?;
        for (field, v) in [
            ("act_on_failure", m.act_on_failure),
            ("via_nemid", m.via_nemid),
            ("via_nemid_challenged", m.via_nemid_challenged),
            ("bank_assisted", m.bank_assisted),
            ("witness", m.witness),
            ("support_call_share", m.support_call_share),
        ] {
            check_share(&format!("{mp}.{field}"), v)?;
        }

        let bands = &self.outputs.age_bands;
        if bands.first() != Some(&0) {
            return Err(PolicyError::invalid(
                "outputs.age_bands",
                "must start with 0",
            ));
        }
        if bands.windows(2).any(|w| w[1] <= w[0]) {
            return Err(PolicyError::invalid(
                "outputs.age_bands",
                "must be strictly increasing",
            ));
        }
        Ok(())
    }
}

fn check_hours(path: &str, hours: &[f64]) -> Result<(), PolicyError> {
    if hours.len() != 7 {
        return Err(PolicyError::invalid(
            path,
            format!("needs 7 numbers (Monday first), got {}", hours.len()),
        ));
    }
    for (i, &h) in hours.iter().enumerate() {
        if !(h.is_finite() && (0.0..=24.0).contains(&h)) {
            return Err(PolicyError::invalid(
                &format!("{path}[{i}]"),
                format!("must be hours 0..=24, got {h}"),
            ));
        }
    }
    Ok(())
}

/// Monday = 0 .. Sunday = 6.
#[must_use]
pub fn weekday_index(d: NaiveDate) -> usize {
    d.weekday().num_days_from_monday() as usize
}
