//! P code: how people without a CPR number get MitID. Citizen Service issues an 8-digit code
//! that is valid for 60 days, allows 3 attempts and works once.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto;
use crate::lockout::{AttemptCounter, LockStatus, LockoutPolicy};
use crate::policy::PCodePolicy;
use crate::time::Timestamp;

/// An issued P code as Citizen Service / the enrolment backend stores it. `Debug` redacts.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PCode {
    code: String,
    pub issued_at: Timestamp,
    pub attempts: AttemptCounter,
    pub used: bool,
}

impl fmt::Debug for PCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PCode")
            .field("code", &"<redacted>")
            .field("issued_at", &self.issued_at)
            .field("attempts", &self.attempts)
            .field("used", &self.used)
            .finish()
    }
}

/// Whether a P code can still be used.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PCodeStatus {
    Valid,
    Expired,
    /// All attempts spent on wrong codes.
    Void,
    Used,
}

/// Why a P code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PCodeError {
    #[error("the P code expired at {0}")]
    Expired(Timestamp),
    #[error("the P code has already been used")]
    Used,
    #[error("the P code is void after too many wrong attempts")]
    Void,
    #[error("wrong P code ({remaining} attempts left)")]
    Wrong { remaining: u32 },
}

impl PCodePolicy {
    /// The status of a code issued at `issued_at` with `failures` wrong attempts, used or not:
    /// a pure function for the simulator.
    #[must_use]
    pub const fn status(
        &self,
        issued_at: Timestamp,
        failures: u32,
        used: bool,
        now: Timestamp,
    ) -> PCodeStatus {
        if used {
            PCodeStatus::Used
        } else if failures >= self.attempts {
            PCodeStatus::Void
        } else if now.0 >= issued_at.plus(self.validity).0 {
            PCodeStatus::Expired
        } else {
            PCodeStatus::Valid
        }
    }
}

impl PCode {
    /// Issues a fresh 8-digit P code.
    pub fn issue(
        now: Timestamp,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> PCode {
        let code = format!("{:08}", rng.next_u32() % 100_000_000);
        PCode {
            code,
            issued_at: now,
            attempts: AttemptCounter::new(),
            used: false,
        }
    }

    /// The code to hand to the person.
    #[must_use]
    pub fn reveal_code(&self) -> &str {
        &self.code
    }

    #[must_use]
    pub fn expires_at(&self, policy: &PCodePolicy) -> Timestamp {
        self.issued_at + policy.validity
    }

    #[must_use]
    pub fn status(&self, now: Timestamp, policy: &PCodePolicy) -> PCodeStatus {
        policy.status(
            self.issued_at,
            self.attempts.consecutive_failures,
            self.used,
            now,
        )
    }

    /// Checks an entered code; a right one is consumed.
    pub fn verify(
        &mut self,
        entered: &str,
        now: Timestamp,
        policy: &PCodePolicy,
    ) -> Result<(), PCodeError> {
        match self.status(now, policy) {
            PCodeStatus::Used => return Err(PCodeError::Used),
            PCodeStatus::Void => return Err(PCodeError::Void),
            PCodeStatus::Expired => return Err(PCodeError::Expired(self.expires_at(policy))),
            PCodeStatus::Valid => {}
        }
        let typed: String = entered.chars().filter(|c| !c.is_whitespace()).collect();
        if crypto::ct_eq(typed.as_bytes(), self.code.as_bytes()) {
            self.used = true;
            return Ok(());
        }
        let lockout = LockoutPolicy::permanent_after(policy.attempts);
        match self.attempts.record_failure(&lockout, now) {
            LockStatus::Blocked => Err(PCodeError::Void),
            _ => Err(PCodeError::Wrong {
                remaining: policy
                    .attempts
                    .saturating_sub(self.attempts.consecutive_failures),
            }),
        }
    }
}
