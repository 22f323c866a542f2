//! Every number the devices depend on, in one place, as configuration with documented defaults.
//!
//! Published facts (source: mitid.dk help pages and public notices, summarised in
//! `shared/DOMAIN.md`) are marked **fact**; numbers the operators do not publish are marked
//! **assumption** and are meant to be overridden by scenarios. All structs deserialise with
//! `#[serde(default)]`, so a scenario names only what it changes, and reject unknown fields.

use serde::{Deserialize, Serialize};

use crate::eligibility::IphoneModel;
use crate::lockout::LockoutPolicy;
use crate::otp::TotpParams;
use crate::time::{CivilDate, Span, Timestamp};

/// All device policies together: what a scenario's `devices:` section deserialises into.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DevicePolicies {
    pub app: AppPolicy,
    pub eligibility: EligibilityPolicy,
    pub code_token: CodeTokenPolicy,
    pub chip: ChipPolicy,
    pub key_card: KeyCardPolicy,
    pub nemid_password: NemidPasswordPolicy,
    pub temporary_password: TemporaryPasswordPolicy,
    pub p_code: PCodePolicy,
}

/// MitID app.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppPolicy {
    /// Wrong PINs: **assumption** 3 in a row suspend the app for 1 hour; 6 in a row (without a
    /// right PIN in between) block it permanently (the real counts are not published; the
    /// fact is "first a temporary suspension, then a permanent block").
    pub pin_lockout: LockoutPolicy,
    /// How long a temporary PIN sent by SMS can be used (**assumption** 72 hours).
    pub temporary_pin_validity: Span,
    /// How long a second-device activation code from MitID.dk can be used (**assumption** 30 min).
    pub activation_code_validity: Span,
    /// Wrong entries of a temporary PIN or activation code before it is void (**assumption** 3).
    pub grant_attempts: u32,
    /// Support does not send a temporary PIN if the phone number changed this recently (**fact** 5 days).
    pub phone_change_quarantine: Span,
    /// From this date computer logins bind the channel by QR code instead of a 4-digit code
    /// (**fact** 6 June 2023).
    pub qr_channel_binding_from: Timestamp,
    /// Face match score (per mille) a passport reactivation needs (**assumption** 900).
    pub face_match_threshold_permille: u16,
    /// Most MitID identities one app installation carries (**assumption** 5; High needs exactly one).
    pub max_identities_per_device: u8,
}

impl Default for AppPolicy {
    fn default() -> AppPolicy {
        AppPolicy {
            pin_lockout: LockoutPolicy {
                attempts_before_lock: 3,
                lock_duration: Span::from_hours(1),
                attempts_before_block: Some(6),
            },
            temporary_pin_validity: Span::from_hours(72),
            activation_code_validity: Span::from_mins(30),
            grant_attempts: 3,
            phone_change_quarantine: Span::from_days(5),
            qr_channel_binding_from: Timestamp::from_ymd(2023, 6, 6),
            face_match_threshold_permille: 900,
            max_identities_per_device: 5,
        }
    }
}

/// Which devices can run the app and read passports by NFC.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EligibilityPolicy {
    /// **fact** iPhone 5s or newer.
    pub app_min_iphone: IphoneModel,
    /// **assumption** iOS 12 (the last version the iPhone 5s runs).
    pub app_min_ios: u8,
    /// **assumption** Android 8 ("a recent Android").
    pub app_min_android: u8,
    /// **fact** passport reading by NFC needs iPhone 7 or newer.
    pub nfc_min_iphone: IphoneModel,
    /// **assumption** iOS 13 (the first with passport-chip NFC access for apps).
    pub nfc_min_ios: u8,
}

impl Default for EligibilityPolicy {
    fn default() -> EligibilityPolicy {
        EligibilityPolicy {
            app_min_iphone: IphoneModel::Iphone5s,
            app_min_ios: 12,
            app_min_android: 8,
            nfc_min_iphone: IphoneModel::Iphone7,
            nfc_min_ios: 13,
        }
    }
}

/// Code display and audio code reader (both show RFC 6238 codes).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodeTokenPolicy {
    /// **fact** 6 digits; **assumption** SHA-1, 30-second steps (the RFC 6238 defaults).
    pub totp: TotpParams,
    /// Steps either side of the expected one a code may come from (**assumption** 1).
    pub drift_window_steps: u32,
    /// **fact** 3 wrong codes block the token "for a short while"; **assumption** 15 minutes.
    pub lockout: LockoutPolicy,
    /// Battery/lifetime of a token from manufacture (**assumption** 5 years).
    pub battery_life: Span,
    /// **fact** the first three tokens a citizen orders are free.
    pub free_devices: u8,
}

impl Default for CodeTokenPolicy {
    fn default() -> CodeTokenPolicy {
        CodeTokenPolicy {
            totp: TotpParams::default(),
            drift_window_steps: 1,
            lockout: LockoutPolicy::temporary(3, Span::from_mins(15)),
            battery_life: Span::from_days(5 * 365),
            free_devices: 3,
        }
    }
}

/// MitID chip.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChipPolicy {
    /// **fact** activation on MitID.dk is two steps at least 24 hours apart.
    pub activation_gap: Span,
    /// Whether the verifier demands the user-presence flag (**fact**: the user presses the chip).
    pub require_user_presence: bool,
}

impl Default for ChipPolicy {
    fn default() -> ChipPolicy {
        ChipPolicy {
            activation_gap: Span::from_hours(24),
            require_user_presence: true,
        }
    }
}

/// NemID key card.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeyCardPolicy {
    /// Key pairs printed on a card (**assumption** 148).
    pub pairs_per_card: u16,
    /// **fact** a new card is sent when 20 codes remain.
    pub reorder_when_remaining: u16,
    /// Wrong answers that lock NemID (**assumption** 5 in a row, permanent until a new card).
    pub lockout: LockoutPolicy,
}

impl Default for KeyCardPolicy {
    fn default() -> KeyCardPolicy {
        KeyCardPolicy {
            pairs_per_card: 148,
            reorder_when_remaining: 20,
            lockout: LockoutPolicy::permanent_after(5),
        }
    }
}

impl KeyCardPolicy {
    /// Whether a card with `remaining` unused pairs is due for replacement.
    #[must_use]
    pub const fn reorder_due(&self, remaining: u16) -> bool {
        remaining <= self.reorder_when_remaining
    }
}

/// NemID password rules (**fact**: a 4-digit PIN that is not trivial and not taken from the CPR
/// number, or 6–40 characters).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NemidPasswordPolicy {
    pub pin_digits: u8,
    pub min_len: u8,
    pub max_len: u8,
}

impl Default for NemidPasswordPolicy {
    fn default() -> NemidPasswordPolicy {
        NemidPasswordPolicy {
            pin_digits: 4,
            min_len: 6,
            max_len: 40,
        }
    }
}

/// NemID temporary password sent by post.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemporaryPasswordPolicy {
    /// **fact** delivery takes 3–4 working days.
    pub min_working_days: u8,
    pub max_working_days: u8,
    /// Skip Danish public holidays when counting working days (computed from the Easter date).
    pub danish_public_holidays: bool,
    /// Further days on which the post does not deliver.
    pub extra_closed_days: Vec<CivilDate>,
}

impl Default for TemporaryPasswordPolicy {
    fn default() -> TemporaryPasswordPolicy {
        TemporaryPasswordPolicy {
            min_working_days: 3,
            max_working_days: 4,
            danish_public_holidays: true,
            extra_closed_days: Vec::new(),
        }
    }
}

/// P code for people without a CPR number (**fact**: 8 digits, valid 60 days, 3 attempts, one use).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PCodePolicy {
    pub validity: Span,
    pub attempts: u32,
}

impl Default for PCodePolicy {
    fn default() -> PCodePolicy {
        PCodePolicy {
            validity: Span::from_days(60),
            attempts: 3,
        }
    }
}

/// A policy value that cannot work, named by its path (e.g. `code_token.totp.digits`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct PolicyError {
    pub field: &'static str,
    pub problem: String,
}

fn require(
    ok: bool,
    field: &'static str,
    problem: impl FnOnce() -> String,
) -> Result<(), PolicyError> {
    if ok {
        Ok(())
    } else {
        Err(PolicyError {
            field,
            problem: problem(),
        })
    }
}

impl DevicePolicies {
    /// Checks that every value can work (scenario loaders call this after deserialising, so a
    /// bad override is reported with its field instead of misbehaving later).
    pub fn validate(&self) -> Result<(), PolicyError> {
        let app = &self.app;
        require(
            app.pin_lockout.attempts_before_lock > 0
                || app.pin_lockout.attempts_before_block.is_some(),
            "app.pin_lockout",
            || "wrong PINs must lead to a suspension or a block".into(),
        )?;
        require(
            app.pin_lockout.attempts_before_block != Some(0),
            "app.pin_lockout.attempts_before_block",
            || "must be at least 1".into(),
        )?;
        require(app.grant_attempts > 0, "app.grant_attempts", || {
            "must be at least 1".into()
        })?;
        require(
            app.max_identities_per_device > 0,
            "app.max_identities_per_device",
            || "must be at least 1".into(),
        )?;
        require(
            app.face_match_threshold_permille <= 1000,
            "app.face_match_threshold_permille",
            || format!("{} is above 1000", app.face_match_threshold_permille),
        )?;
        let ct = &self.code_token;
        require(
            (6..=9).contains(&ct.totp.digits),
            "code_token.totp.digits",
            || format!("{} is not 6..=9", ct.totp.digits),
        )?;
        require(ct.totp.step.as_secs() > 0, "code_token.totp.step", || {
            format!("{} is shorter than one second", ct.totp.step)
        })?;
        require(
            ct.lockout.attempts_before_block != Some(0),
            "code_token.lockout.attempts_before_block",
            || "must be at least 1".into(),
        )?;
        let kc = &self.key_card;
        require(
            (1..=10_000).contains(&kc.pairs_per_card),
            "key_card.pairs_per_card",
            || {
                format!(
                    "{} is not 1..=10000 (key numbers have 4 digits)",
                    kc.pairs_per_card
                )
            },
        )?;
        require(
            kc.reorder_when_remaining < kc.pairs_per_card,
            "key_card.reorder_when_remaining",
            || {
                format!(
                    "{} is not below pairs_per_card {}",
                    kc.reorder_when_remaining, kc.pairs_per_card
                )
            },
        )?;
        let pw = &self.nemid_password;
        require(pw.min_len <= pw.max_len, "nemid_password.min_len", || {
            format!("{} is above max_len {}", pw.min_len, pw.max_len)
        })?;
        let tp = &self.temporary_password;
        require(
            tp.min_working_days <= tp.max_working_days,
            "temporary_password.min_working_days",
            || {
                format!(
                    "{} is above max_working_days {}",
                    tp.min_working_days, tp.max_working_days
                )
            },
        )?;
        require(self.p_code.attempts > 0, "p_code.attempts", || {
            "must be at least 1".into()
        })?;
        Ok(())
    }
}
