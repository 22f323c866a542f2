//! The `behaviour` section: login needs, authenticator events, NemID wear and migration.

use chrono::NaiveDate;
use mitid_devices::assurance::Loa;
use mitid_devices::policy::{AppPolicy, KeyCardPolicy};
use serde::{Deserialize, Serialize};

use super::{Sector, check_non_negative, check_positive, check_share, date};
use crate::policy::PolicyError;

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

impl BehaviourConfig {
    /// Checks the section; errors name the field under `behaviour`.
    pub(super) fn validate(&self) -> Result<(), PolicyError> {
        let b = self;
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
        self.authenticator_events.validate()?;
        self.nemid.validate()?;
        self.migration.validate()
    }
}

impl AuthenticatorEventRates {
    /// Checks `behaviour.authenticator_events`.
    fn validate(&self) -> Result<(), PolicyError> {
        let a = self;
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
        Ok(())
    }
}

impl NemidBehaviour {
    /// Checks `behaviour.nemid`.
    fn validate(&self) -> Result<(), PolicyError> {
        if self.key_card_codes_before_reorder == 0 {
            return Err(PolicyError::invalid(
                "behaviour.nemid.key_card_codes_before_reorder",
                "must be at least 1",
            ));
        }
        check_non_negative(
            "behaviour.nemid.credential_problems_per_year",
            self.credential_problems_per_year,
        )?;
        Ok(())
    }
}

impl MigrationBehaviour {
    /// Checks `behaviour.migration`.
    fn validate(&self) -> Result<(), PolicyError> {
        let m = self;
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
        Ok(())
    }
}
