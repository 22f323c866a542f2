//! One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238), the codes the MitID code display and
//! audio code reader show. Computing a code allocates nothing.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::{self, hexbytes};
use crate::time::{Span, Timestamp};

/// The HMAC hash of an OTP (RFC 6238 allows SHA-1, SHA-256 and SHA-512).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OtpAlgorithm {
    #[default]
    Sha1,
    Sha256,
    Sha512,
}

/// A shared OTP secret (the seed in the token and at the IdP). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpSecret(#[serde(with = "hexbytes")] Vec<u8>);

impl OtpSecret {
    /// Wraps key bytes (RFC 4226 asks for at least 16 bytes; 20 is the usual size).
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> OtpSecret {
        OtpSecret(bytes.to_vec())
    }

    /// A fresh 20-byte secret.
    pub fn generate(rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng)) -> OtpSecret {
        let mut b = [0u8; 20];
        rng.fill_bytes(&mut b);
        OtpSecret(b.to_vec())
    }

    #[must_use]
    pub fn expose_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for OtpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OtpSecret(<{} bytes redacted>)", self.0.len())
    }
}

/// Number of digits must be 6..=9 so the code fits comfortably in a `u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an OTP has 6 to 9 digits, not {0}")]
pub struct BadDigits(pub u8);

const POW10: [u32; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// RFC 4226 HOTP value for `counter`, truncated to `digits` decimal digits.
pub fn hotp(
    secret: &OtpSecret,
    counter: u64,
    digits: u8,
    algorithm: OtpAlgorithm,
) -> Result<u32, BadDigits> {
    if !(6..=9).contains(&digits) {
        return Err(BadDigits(digits));
    }
    let msg = counter.to_be_bytes();
    let code = match algorithm {
        OtpAlgorithm::Sha1 => truncate(&crypto::hmac_sha1(&secret.0, &msg)),
        OtpAlgorithm::Sha256 => truncate(&crypto::hmac_sha256(&secret.0, &msg)),
        OtpAlgorithm::Sha512 => truncate(&crypto::hmac_sha512(&secret.0, &msg)),
    };
    Ok(code % POW10[digits as usize])
}

// RFC 4226 section 5.3 dynamic truncation.
fn truncate(h: &[u8]) -> u32 {
    let offset = (h[h.len() - 1] & 0x0f) as usize;
    u32::from_be_bytes([
        h[offset] & 0x7f,
        h[offset + 1],
        h[offset + 2],
        h[offset + 3],
    ])
}

/// RFC 6238 time step counter `T = floor((unix_time - t0) / step)`; `None` before `t0`.
#[must_use]
pub const fn time_step(now: Timestamp, t0: Timestamp, step: Span) -> Option<u64> {
    if now.0 < t0.0 || step.0 == 0 {
        None
    } else {
        // Whole seconds, as RFC 6238 counts.
        Some((now.unix_secs() - t0.unix_secs()) / step.as_secs())
    }
}

/// TOTP parameters. Defaults are the MitID code display's: SHA-1, 6 digits, 30 s steps, T0 = 0.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TotpParams {
    pub algorithm: OtpAlgorithm,
    pub digits: u8,
    pub step: Span,
    pub t0: Timestamp,
}

impl Default for TotpParams {
    fn default() -> TotpParams {
        TotpParams {
            algorithm: OtpAlgorithm::Sha1,
            digits: 6,
            step: Span::from_secs(30),
            t0: Timestamp::EPOCH,
        }
    }
}

impl TotpParams {
    /// The step counter at `now`.
    #[must_use]
    pub const fn step_at(&self, now: Timestamp) -> Option<u64> {
        time_step(now, self.t0, self.step)
    }

    /// The code for a given step counter.
    pub fn code_for_step(&self, secret: &OtpSecret, step: u64) -> Result<u32, BadDigits> {
        hotp(secret, step, self.digits, self.algorithm)
    }

    /// The TOTP code at `now` (`None` before T0).
    pub fn code_at(&self, secret: &OtpSecret, now: Timestamp) -> Result<Option<u32>, BadDigits> {
        match self.step_at(now) {
            Some(s) => self.code_for_step(secret, s).map(Some),
            None => Ok(None),
        }
    }
}

/// Formats a code zero-padded to its digit count (`012345`).
#[must_use]
pub fn format_code(code: u32, digits: u8) -> String {
    format!("{code:0width$}", width = digits as usize)
}

/// Parses a typed code: exactly `digits` ASCII digits (spaces ignored, as people type `123 456`).
#[must_use]
pub fn parse_code(typed: &str, digits: u8) -> Option<u32> {
    let mut value: u32 = 0;
    let mut n = 0u8;
    for c in typed.chars().filter(|c| !c.is_whitespace()) {
        let d = c.to_digit(10)?;
        n = n.checked_add(1)?;
        if n > digits {
            return None;
        }
        value = value * 10 + d;
    }
    (n == digits).then_some(value)
}
