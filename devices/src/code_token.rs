//! MitID code display (kodeviser) and audio code reader (kodeoplæser): hardware tokens that show
//! or speak an RFC 6238 code when the button is pressed. Login is user ID + code + password.
//!
//! The citizen holds a [`CodeDisplay`] or [`AudioCodeReader`]; the IdP holds a
//! [`CodeTokenRecord`] with the same secret, the learned clock drift, the last step used (codes
//! are single-use) and the wrong-attempt counter (three wrong codes block it for a while).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::assurance::{Assessment, Factor, assess};
use crate::crypto::SecretHash;
use crate::lockout::{AttemptCounter, LockStatus};
use crate::otp::{OtpSecret, parse_code};
use crate::policy::CodeTokenPolicy;
use crate::speech::{Language, SpokenCode};
use crate::time::{Span, Timestamp};

/// Which of the two token types a record belongs to (they differ only in how the code reaches
/// the citizen, and in the `amr` value).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeTokenKind {
    CodeDisplay,
    AudioCodeReader,
}

/// A code display in a citizen's hand. Its clock may be off (`clock_skew_ms`, device minus true
/// time) and its battery runs out `battery_life` after manufacture.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeDisplay {
    pub serial: String,
    secret: OtpSecret,
    pub manufactured_at: Timestamp,
    pub battery_life: Span,
    pub clock_skew_ms: i64,
}

impl fmt::Debug for CodeDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeDisplay")
            .field("serial", &self.serial)
            .field("secret", &self.secret)
            .field("manufactured_at", &self.manufactured_at)
            .field("battery_life", &self.battery_life)
            .field("clock_skew_ms", &self.clock_skew_ms)
            .finish()
    }
}

/// What pressing the button produced.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct DisplayedCode {
    pub code: u32,
    pub digits: u8,
}

impl fmt::Display for DisplayedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0width$}", self.code, width = self.digits as usize)
    }
}

/// Why a token shows nothing or a code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeTokenError {
    #[error("the token's battery is depleted (since {0})")]
    BatteryDepleted(Timestamp),
    #[error("the token's clock reads before the TOTP epoch")]
    ClockBeforeEpoch,
    #[error("the TOTP configuration is invalid: {0}")]
    BadConfig(#[from] crate::otp::BadDigits),
    #[error("wrong code ({failures} wrong in a row)")]
    WrongCode { failures: u32 },
    #[error("wrong code; the token is now locked until {until}")]
    LockedNow { until: Timestamp },
    #[error("the token is locked until {until} after too many wrong codes")]
    Locked { until: Timestamp },
    #[error("the token is blocked after too many wrong codes")]
    Blocked,
    #[error("this code was already used (or is older than the last one used)")]
    Replayed,
    #[error("`{0}` is not a code of the expected number of digits")]
    Malformed(String),
}

/// Why a user ID + code + password login failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeTokenLoginError {
    #[error("code: {0}")]
    Code(#[from] CodeTokenError),
    #[error("wrong password (token now {status:?})")]
    WrongPassword { status: LockStatus },
}

impl CodeDisplay {
    /// Manufactures a token and the IdP's matching record (the secret is shared at enrolment).
    pub fn manufacture(
        serial: impl Into<String>,
        kind: CodeTokenKind,
        now: Timestamp,
        policy: &CodeTokenPolicy,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> (CodeDisplay, CodeTokenRecord) {
        let serial = serial.into();
        let secret = OtpSecret::generate(rng);
        let device = CodeDisplay {
            serial: serial.clone(),
            secret: secret.clone(),
            manufactured_at: now,
            battery_life: policy.battery_life,
            clock_skew_ms: 0,
        };
        (device, CodeTokenRecord::new(serial, kind, secret))
    }

    /// A token around an existing secret (fixtures, RFC test vectors).
    #[must_use]
    pub fn from_secret(
        serial: impl Into<String>,
        secret: OtpSecret,
        manufactured_at: Timestamp,
        battery_life: Span,
    ) -> CodeDisplay {
        CodeDisplay {
            serial: serial.into(),
            secret,
            manufactured_at,
            battery_life,
            clock_skew_ms: 0,
        }
    }

    /// The same token with its clock `skew_ms` off (positive = fast).
    #[must_use]
    pub fn with_clock_skew(mut self, skew_ms: i64) -> CodeDisplay {
        self.clock_skew_ms = skew_ms;
        self
    }

    #[must_use]
    pub fn battery_depleted_at(&self) -> Timestamp {
        self.manufactured_at + self.battery_life
    }

    /// The time the token's own clock shows at true time `now`.
    #[must_use]
    pub fn device_time(&self, now: Timestamp) -> Option<Timestamp> {
        let ms = i128::from(now.0) + i128::from(self.clock_skew_ms);
        u64::try_from(ms).ok().map(Timestamp)
    }

    /// Presses the button: the code for the token's own clock.
    pub fn press(
        &self,
        now: Timestamp,
        policy: &CodeTokenPolicy,
    ) -> Result<DisplayedCode, CodeTokenError> {
        if now >= self.battery_depleted_at() {
            return Err(CodeTokenError::BatteryDepleted(self.battery_depleted_at()));
        }
        let t = self
            .device_time(now)
            .ok_or(CodeTokenError::ClockBeforeEpoch)?;
        let code = policy
            .totp
            .code_at(&self.secret, t)?
            .ok_or(CodeTokenError::ClockBeforeEpoch)?;
        Ok(DisplayedCode {
            code,
            digits: policy.totp.digits,
        })
    }
}

/// An audio code reader: the code display's electronics with a voice and a tactile button.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AudioCodeReader {
    pub token: CodeDisplay,
    pub language: Language,
}

impl AudioCodeReader {
    /// Manufactures a reader and the IdP's record.
    pub fn manufacture(
        serial: impl Into<String>,
        language: Language,
        now: Timestamp,
        policy: &CodeTokenPolicy,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> (AudioCodeReader, CodeTokenRecord) {
        let (token, record) =
            CodeDisplay::manufacture(serial, CodeTokenKind::AudioCodeReader, now, policy, rng);
        (AudioCodeReader { token, language }, record)
    }

    /// Presses the button: the code and the words the reader says.
    pub fn press(
        &self,
        now: Timestamp,
        policy: &CodeTokenPolicy,
    ) -> Result<(DisplayedCode, SpokenCode), CodeTokenError> {
        let shown = self.token.press(now, policy)?;
        Ok((
            shown,
            SpokenCode::new(shown.code, shown.digits, self.language),
        ))
    }
}

/// What the IdP stores for a code display or audio code reader.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeTokenRecord {
    pub serial: String,
    pub kind: CodeTokenKind,
    secret: OtpSecret,
    /// Steps the token's clock was found to be ahead (negative: behind) at the last accepted code;
    /// the drift window is centred there (RFC 6238 section 6 resynchronisation).
    pub drift_steps: i64,
    /// The last step whose code was accepted: that code and older ones never verify again.
    pub last_used_step: Option<u64>,
    pub attempts: AttemptCounter,
}

impl fmt::Debug for CodeTokenRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeTokenRecord")
            .field("serial", &self.serial)
            .field("kind", &self.kind)
            .field("secret", &self.secret)
            .field("drift_steps", &self.drift_steps)
            .field("last_used_step", &self.last_used_step)
            .field("attempts", &self.attempts)
            .finish()
    }
}

/// A code the IdP accepted.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct CodeAccepted {
    pub step: u64,
    /// The token's clock offset in steps as measured by this code.
    pub drift_steps: i64,
}

impl CodeTokenRecord {
    #[must_use]
    pub fn new(
        serial: impl Into<String>,
        kind: CodeTokenKind,
        secret: OtpSecret,
    ) -> CodeTokenRecord {
        CodeTokenRecord {
            serial: serial.into(),
            kind,
            secret,
            drift_steps: 0,
            last_used_step: None,
            attempts: AttemptCounter::new(),
        }
    }

    /// Whether the token accepts codes now.
    #[must_use]
    pub fn status(&self, now: Timestamp, policy: &CodeTokenPolicy) -> LockStatus {
        self.attempts.status(&policy.lockout, now)
    }

    /// Verifies a code as typed (`"123456"` or `"123 456"`). Malformed input counts as wrong.
    pub fn verify_typed(
        &mut self,
        typed: &str,
        now: Timestamp,
        policy: &CodeTokenPolicy,
    ) -> Result<CodeAccepted, CodeTokenError> {
        if let Some(code) = parse_code(typed, policy.totp.digits) {
            self.verify(code, now, policy)
        } else {
            self.check_open(now, policy)?;
            Err(self.fail(now, policy))
        }
    }

    /// Verifies a code: within `drift_window_steps` of the expected step (centred on the learned
    /// drift), newer than the last accepted one, while the token is not locked.
    pub fn verify(
        &mut self,
        code: u32,
        now: Timestamp,
        policy: &CodeTokenPolicy,
    ) -> Result<CodeAccepted, CodeTokenError> {
        self.check_open(now, policy)?;
        let current = policy
            .totp
            .step_at(now)
            .ok_or(CodeTokenError::ClockBeforeEpoch)?;
        let centre = i128::from(current) + i128::from(self.drift_steps);
        let w = i128::from(policy.drift_window_steps);
        // Nearest steps first, so a code valid at two steps is attributed to the likelier one.
        let mut matched: Option<u64> = None;
        for distance in 0..=w {
            for candidate in [centre - distance, centre + distance] {
                let Ok(step) = u64::try_from(candidate) else {
                    continue;
                };
                if policy.totp.code_for_step(&self.secret, step)? == code {
                    matched = Some(step);
                    break;
                }
            }
            if matched.is_some() {
                break;
            }
        }
        match matched {
            Some(step) if self.last_used_step.is_some_and(|last| step <= last) => {
                Err(CodeTokenError::Replayed)
            }
            Some(step) => {
                let drift = (i128::from(step) - i128::from(current)) as i64;
                self.drift_steps = drift;
                self.last_used_step = Some(step);
                self.attempts.record_success();
                Ok(CodeAccepted {
                    step,
                    drift_steps: drift,
                })
            }
            None => Err(self.fail(now, policy)),
        }
    }

    fn check_open(&self, now: Timestamp, policy: &CodeTokenPolicy) -> Result<(), CodeTokenError> {
        match self.attempts.status(&policy.lockout, now) {
            LockStatus::Open => Ok(()),
            LockStatus::Locked { until } => Err(CodeTokenError::Locked { until }),
            LockStatus::Blocked => Err(CodeTokenError::Blocked),
        }
    }

    fn fail(&mut self, now: Timestamp, policy: &CodeTokenPolicy) -> CodeTokenError {
        match self.attempts.record_failure(&policy.lockout, now) {
            LockStatus::Open => CodeTokenError::WrongCode {
                failures: self.attempts.consecutive_failures,
            },
            LockStatus::Locked { until } => CodeTokenError::LockedNow { until },
            LockStatus::Blocked => CodeTokenError::Blocked,
        }
    }

    /// A complete login with the token: user ID (already looked up), password and code. A wrong
    /// password counts as a wrong attempt on the token (**assumption**: the three-strike block
    /// protects the pair, not only the code). Returns the AAL and `amr` the login earned.
    pub fn login(
        &mut self,
        typed_code: &str,
        password: &str,
        password_hash: &SecretHash,
        now: Timestamp,
        policy: &CodeTokenPolicy,
    ) -> Result<Assessment, CodeTokenLoginError> {
        self.check_open(now, policy)?;
        if !password_hash.matches(password) {
            self.fail(now, policy);
            return Err(CodeTokenLoginError::WrongPassword {
                status: self.status(now, policy),
            });
        }
        self.verify_typed(typed_code, now, policy)?;
        let device = match self.kind {
            CodeTokenKind::CodeDisplay => Factor::CodeDisplay,
            CodeTokenKind::AudioCodeReader => Factor::AudioCodeReader,
        };
        Ok(assess(&[Factor::Password, device]))
    }

    /// Support unblocks a token (e.g. after identifying the caller).
    pub fn unlock(&mut self) {
        self.attempts.record_success();
    }
}
