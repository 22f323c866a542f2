//! Activation grants (one per route) and the [`ActivationProof`] only this crate mints.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::{self};
use crate::lockout::{AttemptCounter, LockStatus, LockoutPolicy};
use crate::policy::AppPolicy;
use crate::time::{Span, Timestamp};

/// How an activation was authorised.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivationRoute {
    /// Temporary PIN by SMS (first activation, or from support after a call).
    TemporaryPin,
    /// Activation code from MitID.dk, obtained by logging in with another authenticator.
    ActivationCode,
    /// QR code shown by an already active app, confirmed over Bluetooth nearby.
    QrBluetooth,
    /// Passport or ID card chip read by NFC plus a face scan.
    Passport,
}

/// A one-time activation secret issued by the backend (temporary PIN, activation code or QR
/// payload). The backend stores it; the citizen receives [`ActivationGrant::reveal_code`] by SMS,
/// on MitID.dk or as a QR code. `Debug` redacts the code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationGrant {
    pub user_id: String,
    pub route: ActivationRoute,
    code: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub attempts: AttemptCounter,
    pub redeemed: bool,
}

impl fmt::Debug for ActivationGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActivationGrant")
            .field("user_id", &self.user_id)
            .field("route", &self.route)
            .field("code", &"<redacted>")
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("attempts", &self.attempts)
            .field("redeemed", &self.redeemed)
            .finish()
    }
}

/// Why a grant could not be issued or redeemed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error(
        "the phone number changed less than the quarantine ago; no temporary PIN until {until}"
    )]
    PhoneRecentlyChanged { until: Timestamp },
    #[error("the {route:?} expired at {expires_at}")]
    Expired {
        route: ActivationRoute,
        expires_at: Timestamp,
    },
    #[error("the code was already used")]
    AlreadyRedeemed,
    #[error("wrong code ({failures} wrong so far)")]
    WrongCode { failures: u32 },
    #[error("too many wrong codes: this grant is void")]
    Void,
    #[error("a {0:?} grant cannot be redeemed this way")]
    WrongRoute(ActivationRoute),
    #[error("the new device is not within Bluetooth range of the active one")]
    NotNearby,
}

/// Proof that an activation route succeeded for `user_id`. Only this crate creates one, so an
/// app can only be activated through a real route.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ActivationProof {
    pub(super) user_id: String,
    pub(super) route: ActivationRoute,
    pub(super) at: Timestamp,
}

impl ActivationProof {
    #[must_use]
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
    #[must_use]
    pub fn route(&self) -> ActivationRoute {
        self.route
    }
    #[must_use]
    pub fn at(&self) -> Timestamp {
        self.at
    }
}

pub(super) const DIGITS: &[u8] = b"0123456789";
// Activation codes avoid characters people confuse (0/O, 1/I/L).
pub(super) const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

pub(crate) fn random_string(
    rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng + ?Sized),
    alphabet: &[u8],
    len: usize,
) -> String {
    (0..len)
        .map(|_| {
            // Rejection sampling keeps every symbol equally likely.
            let limit = 256 - (256 % alphabet.len());
            loop {
                let b = (rng.next_u32() & 0xff) as usize;
                if b < limit {
                    break alphabet[b % alphabet.len()] as char;
                }
            }
        })
        .collect()
}

impl ActivationGrant {
    pub(super) fn issue(
        user_id: &str,
        route: ActivationRoute,
        code: String,
        validity: Span,
        now: Timestamp,
    ) -> ActivationGrant {
        ActivationGrant {
            user_id: user_id.to_owned(),
            route,
            code,
            issued_at: now,
            expires_at: now + validity,
            attempts: AttemptCounter::new(),
            redeemed: false,
        }
    }

    /// A temporary 8-digit PIN for SMS delivery at first activation.
    pub fn temporary_pin(
        user_id: &str,
        now: Timestamp,
        policy: &AppPolicy,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> ActivationGrant {
        let code = random_string(rng, DIGITS, 8);
        ActivationGrant::issue(
            user_id,
            ActivationRoute::TemporaryPin,
            code,
            policy.temporary_pin_validity,
            now,
        )
    }

    /// A temporary PIN that support sends after a call; refused while the citizen's phone number
    /// changed less than [`AppPolicy::phone_change_quarantine`] ago.
    pub fn temporary_pin_from_support(
        user_id: &str,
        phone_number_changed_at: Option<Timestamp>,
        now: Timestamp,
        policy: &AppPolicy,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> Result<ActivationGrant, GrantError> {
        if let Some(changed) = phone_number_changed_at {
            let until = changed + policy.phone_change_quarantine;
            if now < until {
                return Err(GrantError::PhoneRecentlyChanged { until });
            }
        }
        Ok(ActivationGrant::temporary_pin(user_id, now, policy, rng))
    }

    /// An activation code from MitID.dk (the citizen logged in there with another authenticator).
    pub fn activation_code(
        user_id: &str,
        now: Timestamp,
        policy: &AppPolicy,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> ActivationGrant {
        let code = random_string(rng, CODE_ALPHABET, 10);
        ActivationGrant::issue(
            user_id,
            ActivationRoute::ActivationCode,
            code,
            policy.activation_code_validity,
            now,
        )
    }

    /// The code to deliver to the citizen (SMS text, MitID.dk page or QR payload).
    #[must_use]
    pub fn reveal_code(&self) -> &str {
        &self.code
    }

    fn lockout(policy: &AppPolicy) -> LockoutPolicy {
        LockoutPolicy::permanent_after(policy.grant_attempts)
    }

    fn check_usable(&self, now: Timestamp, policy: &AppPolicy) -> Result<(), GrantError> {
        if self.redeemed {
            return Err(GrantError::AlreadyRedeemed);
        }
        if self.attempts.status(&Self::lockout(policy), now) == LockStatus::Blocked {
            return Err(GrantError::Void);
        }
        if now >= self.expires_at {
            return Err(GrantError::Expired {
                route: self.route,
                expires_at: self.expires_at,
            });
        }
        Ok(())
    }

    fn try_code(
        &mut self,
        entered: &str,
        now: Timestamp,
        policy: &AppPolicy,
    ) -> Result<ActivationProof, GrantError> {
        self.check_usable(now, policy)?;
        let typed: String = entered
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if crypto::ct_eq(typed.to_ascii_uppercase().as_bytes(), self.code.as_bytes()) {
            self.redeemed = true;
            self.attempts.record_success();
            Ok(ActivationProof {
                user_id: self.user_id.clone(),
                route: self.route,
                at: now,
            })
        } else {
            match self.attempts.record_failure(&Self::lockout(policy), now) {
                LockStatus::Blocked => Err(GrantError::Void),
                _ => Err(GrantError::WrongCode {
                    failures: self.attempts.consecutive_failures,
                }),
            }
        }
    }

    /// Redeems a temporary PIN or activation code typed into the new app. One use only.
    pub fn redeem(
        &mut self,
        entered: &str,
        now: Timestamp,
        policy: &AppPolicy,
    ) -> Result<ActivationProof, GrantError> {
        if self.route == ActivationRoute::QrBluetooth {
            return Err(GrantError::WrongRoute(self.route));
        }
        self.try_code(entered, now, policy)
    }

    /// Redeems a QR + Bluetooth offer: the new app scanned `scanned` from the active app's screen
    /// and the two phones must be within Bluetooth range.
    pub fn redeem_nearby(
        &mut self,
        scanned: &str,
        within_bluetooth_range: bool,
        now: Timestamp,
        policy: &AppPolicy,
    ) -> Result<ActivationProof, GrantError> {
        if self.route != ActivationRoute::QrBluetooth {
            return Err(GrantError::WrongRoute(self.route));
        }
        self.check_usable(now, policy)?;
        if !within_bluetooth_range {
            return Err(GrantError::NotNearby);
        }
        self.try_code(scanned, now, policy)
    }
}
