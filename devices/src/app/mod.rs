//! The MitID app: installed → activated → active → temporarily suspended → blocked.
//!
//! - **Activation** needs an [`ActivationProof`], which only this crate mints, from one of the
//!   routes: a temporary PIN sent by SMS (also after a support call, unless the phone number
//!   changed recently), an activation code from MitID.dk for a second device, QR + Bluetooth from
//!   an already active app nearby, or a passport read by NFC plus a face match. Each activation
//!   creates a fresh P-256 key pair and sets the citizen's own 6-digit PIN; the IdP stores the
//!   returned [`AppRegistration`].
//! - **Approval** of a login signs the [`Transaction`] (challenge, reference text, action text,
//!   channel binding, user ID) together with how the citizen confirmed it (swipe, PIN,
//!   biometrics), so the IdP verifies a real signature and knows which `amr` and AAL it earned.
//! - **Channel binding** for computer logins: a 4-digit code before the QR rollout date, a QR code
//!   the app must scan from then on; app switch on the phone itself. The app refuses to approve
//!   when what the citizen saw in the browser does not match the transaction (phishing).
//! - **Wrong PINs** suspend, then block ([`crate::AppPolicy::pin_lockout`]).

//!
//! Modules: [`activation`] (grants and proofs), [`passport`] (reactivation by passport),
//! [`transaction`] (channel binding and what an approval signs); the app itself and its PIN
//! rule are here.

mod activation;
mod passport;
mod transaction;

use activation::CODE_ALPHABET;
pub(crate) use activation::random_string;
pub use activation::{ActivationGrant, ActivationProof, ActivationRoute, GrantError};
pub use passport::{MrzReading, Passport, PassportError, mrz_check_digit, passport_reactivation};
pub use transaction::{
    Approval, Authorisation, ChannelBinding, ChannelBindingKind, LoginPlatform, Transaction,
};

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::assurance::AppConfirmation;
use crate::crypto::{DeviceKey, PublicKey, SecretHash, SignatureError, hexbytes};
use crate::eligibility::{DeviceProfile, Ineligible};
use crate::lockout::{AttemptCounter, LockStatus};
use crate::policy::{AppPolicy, EligibilityPolicy};
use crate::time::Timestamp;

// ---------------------------------------------------------------------------------------------
// PINs

/// Why a chosen app PIN is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PinRuleError {
    #[error("the PIN must be exactly 6 digits")]
    NotSixDigits,
    #[error("the PIN must not be one digit repeated")]
    Repeated,
    #[error("the PIN must not be a straight run such as 123456 or 987654")]
    Sequence,
}

/// Checks a new app PIN: 6 digits (**fact**), not all one digit and not a straight run
/// (**assumption**: the usual triviality rules).
pub fn validate_app_pin(pin: &str) -> Result<(), PinRuleError> {
    let d = pin.as_bytes();
    if d.len() != 6 || !d.iter().all(u8::is_ascii_digit) {
        return Err(PinRuleError::NotSixDigits);
    }
    if d.iter().all(|c| *c == d[0]) {
        return Err(PinRuleError::Repeated);
    }
    let steps: Vec<i16> = d
        .windows(2)
        .map(|w| i16::from(w[1]) - i16::from(w[0]))
        .collect();
    if steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == -1) {
        return Err(PinRuleError::Sequence);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The app

/// One MitID identity activated in the app.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentitySlot {
    pub user_id: String,
    #[serde(with = "hexbytes")]
    pub key_id: [u8; 16],
    key: DeviceKey,
    pin: SecretHash,
    pub pin_attempts: AttemptCounter,
    pub activated_at: Timestamp,
    pub route: ActivationRoute,
}

impl fmt::Debug for IdentitySlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentitySlot")
            .field("user_id", &self.user_id)
            .field("key_id", &hexbytes::encode(&self.key_id))
            .field("key", &self.key)
            .field("pin", &self.pin)
            .field("pin_attempts", &self.pin_attempts)
            .field("activated_at", &self.activated_at)
            .field("route", &self.route)
            .finish()
    }
}

/// Where an identity in the app stands.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppStatus {
    /// Installed, but this identity is not activated in it.
    NotActivated,
    Active,
    /// Too many wrong PINs: suspended until the given time.
    Suspended {
        until: Timestamp,
    },
    /// Too many wrong PINs after suspension: reactivation needed.
    Blocked,
}

/// Why the app refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    PinRule(#[from] PinRuleError),
    #[error("identity {0} is not activated in this app")]
    NotActivated(String),
    #[error("the app is suspended until {until} after wrong PINs")]
    Suspended { until: Timestamp },
    #[error("the app is blocked after too many wrong PINs; reactivate it")]
    Blocked,
    #[error("wrong PIN ({failures} wrong in a row)")]
    WrongPin { failures: u32 },
    #[error("wrong PIN; the app is suspended until {until}")]
    SuspendedNow { until: Timestamp },
    #[error("wrong PIN; the app is now blocked")]
    BlockedNow,
    #[error("biometrics are not enabled in this app")]
    BiometricsOff,
    #[error("the code or QR code from the browser does not match this login")]
    ChannelMismatch,
    #[error("the app already carries the maximum of {0} identities")]
    TooManyIdentities(u8),
}

/// An installed MitID app on one phone.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MitidApp {
    pub device: DeviceProfile,
    pub installed_at: Timestamp,
    pub biometrics_enabled: bool,
    pub identities: Vec<IdentitySlot>,
}

/// What the IdP stores for an app activation: the public key it verifies approvals with.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AppRegistration {
    pub user_id: String,
    #[serde(with = "hexbytes")]
    pub key_id: [u8; 16],
    pub public_key: PublicKey,
    pub activated_at: Timestamp,
    pub route: ActivationRoute,
}

/// Why the IdP rejected an approval.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error("the approval was made with key {found}, not the registered {registered}")]
    UnknownKey { found: String, registered: String },
    #[error("approval signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("the transaction is for {tx_user}, the registration for {registered_user}")]
    WrongUser {
        tx_user: String,
        registered_user: String,
    },
}

impl AppRegistration {
    /// Verifies an approval of `tx`; returns how the citizen confirmed, for [`crate::assess`].
    pub fn verify(
        &self,
        tx: &Transaction,
        approval: &Approval,
    ) -> Result<AppConfirmation, ApprovalError> {
        if tx.user_id != self.user_id {
            return Err(ApprovalError::WrongUser {
                tx_user: tx.user_id.clone(),
                registered_user: self.user_id.clone(),
            });
        }
        if approval.key_id != self.key_id {
            return Err(ApprovalError::UnknownKey {
                found: hexbytes::encode(&approval.key_id),
                registered: hexbytes::encode(&self.key_id),
            });
        }
        self.public_key.verify(
            &tx.signing_bytes(&self.key_id, approval.confirmation),
            &approval.signature,
        )?;
        Ok(approval.confirmation)
    }
}

impl MitidApp {
    /// Installs the app, if the phone is eligible.
    pub fn install(
        device: DeviceProfile,
        now: Timestamp,
        policy: &EligibilityPolicy,
    ) -> Result<MitidApp, Ineligible> {
        device.app_eligibility(policy)?;
        Ok(MitidApp {
            device,
            installed_at: now,
            biometrics_enabled: false,
            identities: Vec::new(),
        })
    }

    fn slot(&self, user_id: &str) -> Option<&IdentitySlot> {
        self.identities.iter().find(|s| s.user_id == user_id)
    }

    fn slot_mut(&mut self, user_id: &str) -> Result<&mut IdentitySlot, AppError> {
        self.identities
            .iter_mut()
            .find(|s| s.user_id == user_id)
            .ok_or_else(|| AppError::NotActivated(user_id.to_owned()))
    }

    /// Where `user_id` stands in this app at `now`.
    #[must_use]
    pub fn status(&self, user_id: &str, now: Timestamp, policy: &AppPolicy) -> AppStatus {
        match self.slot(user_id) {
            None => AppStatus::NotActivated,
            Some(slot) => match slot.pin_attempts.status(&policy.pin_lockout, now) {
                LockStatus::Open => AppStatus::Active,
                LockStatus::Locked { until } => AppStatus::Suspended { until },
                LockStatus::Blocked => AppStatus::Blocked,
            },
        }
    }

    /// Activates (or reactivates) the identity the proof is for, with the citizen's own new PIN:
    /// a fresh key pair, attempts reset. Returns what the IdP must store (replacing any earlier
    /// registration of this app for that user).
    pub fn activate(
        &mut self,
        proof: &ActivationProof,
        new_pin: &str,
        now: Timestamp,
        policy: &AppPolicy,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> Result<AppRegistration, AppError> {
        validate_app_pin(new_pin)?;
        let exists = self.slot(&proof.user_id).is_some();
        if !exists && self.identities.len() >= usize::from(policy.max_identities_per_device) {
            return Err(AppError::TooManyIdentities(
                policy.max_identities_per_device,
            ));
        }
        let key = DeviceKey::generate(rng);
        let mut key_id = [0u8; 16];
        rng.fill_bytes(&mut key_id);
        let registration = AppRegistration {
            user_id: proof.user_id.clone(),
            key_id,
            public_key: key.public_key(),
            activated_at: now,
            route: proof.route,
        };
        let slot = IdentitySlot {
            user_id: proof.user_id.clone(),
            key_id,
            key,
            pin: SecretHash::new(new_pin, rng),
            pin_attempts: AttemptCounter::new(),
            activated_at: now,
            route: proof.route,
        };
        match self
            .identities
            .iter_mut()
            .find(|s| s.user_id == proof.user_id)
        {
            Some(existing) => *existing = slot,
            None => self.identities.push(slot),
        }
        Ok(registration)
    }

    /// Removes an identity from the app (the citizen deactivates it on this phone).
    pub fn remove_identity(&mut self, user_id: &str) -> Result<(), AppError> {
        let before = self.identities.len();
        self.identities.retain(|s| s.user_id != user_id);
        if self.identities.len() == before {
            return Err(AppError::NotActivated(user_id.to_owned()));
        }
        Ok(())
    }

    fn check_pin(
        &mut self,
        user_id: &str,
        pin: &str,
        now: Timestamp,
        policy: &AppPolicy,
    ) -> Result<(), AppError> {
        let slot = self.slot_mut(user_id)?;
        match slot.pin_attempts.status(&policy.pin_lockout, now) {
            LockStatus::Open => {}
            LockStatus::Locked { until } => return Err(AppError::Suspended { until }),
            LockStatus::Blocked => return Err(AppError::Blocked),
        }
        if slot.pin.matches(pin) {
            slot.pin_attempts.record_success();
            Ok(())
        } else {
            Err(
                match slot.pin_attempts.record_failure(&policy.pin_lockout, now) {
                    LockStatus::Open => AppError::WrongPin {
                        failures: slot.pin_attempts.consecutive_failures,
                    },
                    LockStatus::Locked { until } => AppError::SuspendedNow { until },
                    LockStatus::Blocked => AppError::BlockedNow,
                },
            )
        }
    }

    /// Turns on biometrics (asks for the PIN first).
    pub fn enable_biometrics(
        &mut self,
        user_id: &str,
        pin: &str,
        now: Timestamp,
        policy: &AppPolicy,
    ) -> Result<(), AppError> {
        self.check_pin(user_id, pin, now, policy)?;
        self.biometrics_enabled = true;
        Ok(())
    }

    pub fn disable_biometrics(&mut self) {
        self.biometrics_enabled = false;
    }

    /// Changes the PIN of an identity (asks for the current one).
    pub fn change_pin(
        &mut self,
        user_id: &str,
        old_pin: &str,
        new_pin: &str,
        now: Timestamp,
        policy: &AppPolicy,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> Result<(), AppError> {
        validate_app_pin(new_pin)?;
        self.check_pin(user_id, old_pin, now, policy)?;
        let slot = self.slot_mut(user_id)?;
        slot.pin = SecretHash::new(new_pin, rng);
        Ok(())
    }

    /// The confirmation an entered PIN earns on this device: High needs exactly one identity
    /// and biometrics off.
    fn pin_confirmation(&self) -> AppConfirmation {
        if self.identities.len() == 1 && !self.biometrics_enabled {
            AppConfirmation::PinSingleIdentity
        } else {
            AppConfirmation::Pin
        }
    }

    /// The citizen approves `tx`. `seen_in_browser` is what the citizen saw or scanned in the
    /// browser (the 4-digit code, the QR code, or the app-switch nonce that opened the app); it
    /// must match the transaction's binding.
    pub fn approve(
        &mut self,
        tx: &Transaction,
        seen_in_browser: &ChannelBinding,
        authorisation: Authorisation<'_>,
        now: Timestamp,
        policy: &AppPolicy,
    ) -> Result<Approval, AppError> {
        if self.slot(&tx.user_id).is_none() {
            return Err(AppError::NotActivated(tx.user_id.clone()));
        }
        match self.status(&tx.user_id, now, policy) {
            AppStatus::Suspended { until } => return Err(AppError::Suspended { until }),
            AppStatus::Blocked => return Err(AppError::Blocked),
            AppStatus::NotActivated | AppStatus::Active => {}
        }
        if *seen_in_browser != tx.channel_binding {
            return Err(AppError::ChannelMismatch);
        }
        let confirmation = match authorisation {
            Authorisation::Swipe => AppConfirmation::Swipe,
            Authorisation::Biometric if !self.biometrics_enabled => {
                return Err(AppError::BiometricsOff);
            }
            Authorisation::Biometric => AppConfirmation::Biometric,
            Authorisation::Pin(pin) => {
                self.check_pin(&tx.user_id, pin, now, policy)?;
                self.pin_confirmation()
            }
        };
        let slot = self
            .slot(&tx.user_id)
            .ok_or_else(|| AppError::NotActivated(tx.user_id.clone()))?;
        let signature = slot.key.sign(&tx.signing_bytes(&slot.key_id, confirmation));
        Ok(Approval {
            key_id: slot.key_id,
            confirmation,
            signature,
        })
    }

    /// An active app offers to activate a second device by QR + Bluetooth (asks for the PIN).
    pub fn offer_second_device(
        &mut self,
        user_id: &str,
        pin: &str,
        now: Timestamp,
        policy: &AppPolicy,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> Result<ActivationGrant, AppError> {
        self.check_pin(user_id, pin, now, policy)?;
        let code = random_string(rng, CODE_ALPHABET, 16);
        Ok(ActivationGrant::issue(
            user_id,
            ActivationRoute::QrBluetooth,
            code,
            policy.activation_code_validity,
            now,
        ))
    }
}
