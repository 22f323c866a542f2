//! NemID, the authenticator MitID replaced: user ID + password, then a one-time code from the
//! key card (nøglekort) or an approval in the key app (nøgleapp). A temporary password comes by
//! post in 3–4 working days and blocks NemID until it is used.
//!
//! The citizen holds the printed [`KeyCard`]; the IdP holds the [`KeyCardRecord`] (which pairs
//! are used, the pending key number, wrong answers). [`NemidAccount`] ties password, card and
//! temporary-password order together.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::{self, SecretHash, hexbytes};
use crate::lockout::{AttemptCounter, LockStatus};
use crate::policy::{KeyCardPolicy, NemidPasswordPolicy, TemporaryPasswordPolicy};
use crate::time::{CivilDate, Timestamp};

// ---------------------------------------------------------------------------------------------
// Key card

/// One printed pair: the 4-digit key number the login page shows and the 6-digit code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyPair {
    pub key_number: u16,
    pub code: u32,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPair({:04} -> <redacted>)", self.key_number)
    }
}

/// A printed NemID key card.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCard {
    pub serial: String,
    pairs: Vec<KeyPair>,
}

impl fmt::Debug for KeyCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCard")
            .field("serial", &self.serial)
            .field(
                "pairs",
                &format_args!("<{} pairs redacted>", self.pairs.len()),
            )
            .finish()
    }
}

impl KeyCard {
    /// Prints a card of [`KeyCardPolicy::pairs_per_card`] pairs with distinct key numbers.
    pub fn issue(
        serial: impl Into<String>,
        policy: &KeyCardPolicy,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> KeyCard {
        let n = usize::from(policy.pairs_per_card.min(10_000));
        let mut seen = [false; 10_000];
        let mut pairs = Vec::with_capacity(n);
        while pairs.len() < n {
            let key_number = (rng.next_u32() % 10_000) as u16;
            if std::mem::replace(&mut seen[usize::from(key_number)], true) {
                continue;
            }
            pairs.push(KeyPair {
                key_number,
                code: rng.next_u32() % 1_000_000,
            });
        }
        KeyCard {
            serial: serial.into(),
            pairs,
        }
    }

    /// The citizen looks up a key number on the card.
    #[must_use]
    pub fn code_for(&self, key_number: u16) -> Option<u32> {
        self.pairs
            .iter()
            .find(|p| p.key_number == key_number)
            .map(|p| p.code)
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The printed pairs (a fixture or the TUI shows them).
    #[must_use]
    pub fn pairs(&self) -> &[KeyPair] {
        &self.pairs
    }
}

/// Why a key-card login step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyCardError {
    #[error("every pair on card {0} has been used")]
    Exhausted(String),
    #[error("no key number is pending: ask for a challenge first")]
    NoChallenge,
    #[error("the answer is for key {answered:04}, but key {pending:04} was asked")]
    WrongKey { pending: u16, answered: u16 },
    #[error("key {0:04} has already been used")]
    AlreadyUsed(u16),
    #[error("wrong code ({failures} wrong in a row)")]
    WrongCode { failures: u32 },
    #[error("too many wrong codes: NemID is locked until a new card is issued")]
    Locked,
}

/// The IdP's side of a key card.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct KeyCardRecord {
    pub card: KeyCard,
    /// One bit per pair, in card order, serialised as hex.
    #[serde(with = "hexbytes")]
    used: Vec<u8>,
    pub pending: Option<u16>,
    pub attempts: AttemptCounter,
}

/// A correct key-card answer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct KeyCardAccepted {
    pub remaining: u16,
    /// A new card is due (it is sent automatically).
    pub reorder_due: bool,
}

impl KeyCardRecord {
    #[must_use]
    pub fn new(card: KeyCard) -> KeyCardRecord {
        let bytes = card.len().div_ceil(8);
        KeyCardRecord {
            card,
            used: vec![0; bytes],
            pending: None,
            attempts: AttemptCounter::new(),
        }
    }

    fn is_used(&self, index: usize) -> bool {
        self.used[index / 8] & (1 << (index % 8)) != 0
    }

    /// Unused pairs left on the card.
    #[must_use]
    pub fn remaining(&self) -> u16 {
        (0..self.card.len()).filter(|i| !self.is_used(*i)).count() as u16
    }

    #[must_use]
    pub fn status(&self, now: Timestamp, policy: &KeyCardPolicy) -> LockStatus {
        self.attempts.status(&policy.lockout, now)
    }

    /// Picks a random unused pair and returns its key number for the login page.
    pub fn challenge(
        &mut self,
        now: Timestamp,
        policy: &KeyCardPolicy,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> Result<u16, KeyCardError> {
        if !self.status(now, policy).is_open() {
            return Err(KeyCardError::Locked);
        }
        let remaining = usize::from(self.remaining());
        if remaining == 0 {
            return Err(KeyCardError::Exhausted(self.card.serial.clone()));
        }
        let pick = rng.next_u32() as usize % remaining;
        let index = (0..self.card.len())
            .filter(|i| !self.is_used(*i))
            .nth(pick)
            .ok_or_else(|| KeyCardError::Exhausted(self.card.serial.clone()))?;
        let key = self.card.pairs[index].key_number;
        self.pending = Some(key);
        Ok(key)
    }

    /// Checks the answer to the pending key number; a right answer uses the pair up.
    pub fn verify(
        &mut self,
        key_number: u16,
        code: u32,
        now: Timestamp,
        policy: &KeyCardPolicy,
    ) -> Result<KeyCardAccepted, KeyCardError> {
        if !self.status(now, policy).is_open() {
            return Err(KeyCardError::Locked);
        }
        let pending = self.pending.ok_or(KeyCardError::NoChallenge)?;
        if pending != key_number {
            return Err(KeyCardError::WrongKey {
                pending,
                answered: key_number,
            });
        }
        let index = self
            .card
            .pairs
            .iter()
            .position(|p| p.key_number == key_number)
            .ok_or(KeyCardError::WrongKey {
                pending,
                answered: key_number,
            })?;
        if self.is_used(index) {
            return Err(KeyCardError::AlreadyUsed(key_number));
        }
        if self.card.pairs[index].code != code {
            return Err(match self.attempts.record_failure(&policy.lockout, now) {
                LockStatus::Open => KeyCardError::WrongCode {
                    failures: self.attempts.consecutive_failures,
                },
                LockStatus::Locked { .. } | LockStatus::Blocked => KeyCardError::Locked,
            });
        }
        self.used[index / 8] |= 1 << (index % 8);
        self.pending = None;
        self.attempts.record_success();
        let remaining = self.remaining();
        Ok(KeyCardAccepted {
            remaining,
            reorder_due: policy.reorder_due(remaining),
        })
    }

    /// A new card replaces the old one (and lifts a lock).
    pub fn replace_card(&mut self, card: KeyCard) {
        *self = KeyCardRecord::new(card);
    }
}

// ---------------------------------------------------------------------------------------------
// Key app

/// The NemID key app on a phone: approves a login with a MAC of the IdP's challenge with a key
/// shared at activation. `Debug` redacts the key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NemidKeyApp {
    pub device_id: String,
    #[serde(with = "hexbytes")]
    key: [u8; 32],
}

impl fmt::Debug for NemidKeyApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NemidKeyApp")
            .field("device_id", &self.device_id)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The IdP's side of a key app: the shared key and the pending challenge.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAppRecord {
    pub device_id: String,
    #[serde(with = "hexbytes")]
    key: [u8; 32],
    #[serde(with = "hexbytes")]
    pending: Vec<u8>,
}

impl fmt::Debug for KeyAppRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyAppRecord")
            .field("device_id", &self.device_id)
            .field("key", &"<redacted>")
            .field("pending", &!self.pending.is_empty())
            .finish()
    }
}

/// Why a key-app approval was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyAppError {
    #[error("no approval is pending")]
    NoChallenge,
    #[error("the approval does not match the pending request")]
    Invalid,
}

impl NemidKeyApp {
    /// Activates a key app; returns it and the IdP's record.
    pub fn activate(
        device_id: impl Into<String>,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> (NemidKeyApp, KeyAppRecord) {
        let device_id = device_id.into();
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        (
            NemidKeyApp {
                device_id: device_id.clone(),
                key,
            },
            KeyAppRecord {
                device_id,
                key,
                pending: Vec::new(),
            },
        )
    }

    /// The citizen approves the request: a MAC over the challenge.
    #[must_use]
    pub fn approve(&self, challenge: &[u8; 32]) -> [u8; 32] {
        crypto::hmac_sha256(
            &self.key,
            &[b"nemid-key-app/v1".as_slice(), challenge].concat(),
        )
    }
}

impl KeyAppRecord {
    /// A new login request for the app.
    pub fn challenge(
        &mut self,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> [u8; 32] {
        let mut c = [0u8; 32];
        rng.fill_bytes(&mut c);
        self.pending = c.to_vec();
        c
    }

    /// Verifies the approval of the pending request; each request can be approved once.
    pub fn verify(&mut self, approval: &[u8; 32]) -> Result<(), KeyAppError> {
        let challenge: [u8; 32] = self
            .pending
            .as_slice()
            .try_into()
            .map_err(|_| KeyAppError::NoChallenge)?;
        let expected = crypto::hmac_sha256(
            &self.key,
            &[b"nemid-key-app/v1".as_slice(), &challenge].concat(),
        );
        if crypto::ct_eq(&expected, approval) {
            self.pending.clear();
            Ok(())
        } else {
            Err(KeyAppError::Invalid)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Passwords

/// Why a NemID password is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NemidPasswordError {
    #[error("a password is either {pin} digits or {min}–{max} characters")]
    Length { pin: u8, min: u8, max: u8 },
    #[error("a 4-digit password must not be one digit repeated or a straight run")]
    Trivial,
    #[error("the password must not be taken from the CPR number")]
    FromCpr,
}

/// Checks a NemID password: either a `pin_digits`-digit PIN that is not trivial (one digit
/// repeated, a straight run up or down, or a repeated pair such as 1212 — the last is an
/// **assumption**) and not four consecutive digits of the CPR number; or `min_len`–`max_len`
/// characters that do not contain the CPR number's ten digits (**assumption**).
pub fn validate_password(
    password: &str,
    cpr: Option<&str>,
    policy: &NemidPasswordPolicy,
) -> Result<(), NemidPasswordError> {
    let cpr_digits: String = cpr
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let chars = password.chars().count();
    let all_digits = !password.is_empty() && password.bytes().all(|b| b.is_ascii_digit());
    if all_digits && chars == usize::from(policy.pin_digits) {
        let d = password.as_bytes();
        let steps: Vec<i16> = d
            .windows(2)
            .map(|w| i16::from(w[1]) - i16::from(w[0]))
            .collect();
        let repeated = d.iter().all(|c| *c == d[0]);
        let run = steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == -1);
        let pair = d.len().is_multiple_of(2) && d.chunks(2).all(|c| c == &d[..2]);
        if repeated || run || pair {
            return Err(NemidPasswordError::Trivial);
        }
        if !cpr_digits.is_empty() && cpr_digits.contains(password) {
            return Err(NemidPasswordError::FromCpr);
        }
        return Ok(());
    }
    if chars < usize::from(policy.min_len) || chars > usize::from(policy.max_len) {
        return Err(NemidPasswordError::Length {
            pin: policy.pin_digits,
            min: policy.min_len,
            max: policy.max_len,
        });
    }
    if cpr_digits.len() == 10
        && password
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .contains(&cpr_digits)
    {
        return Err(NemidPasswordError::FromCpr);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Temporary password and the account

/// A temporary password ordered by post.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemporaryPasswordOrder {
    pub ordered_at: Timestamp,
    /// The letter arrives on this date; the password works from then on.
    pub delivered_on: CivilDate,
    code: String,
}

impl fmt::Debug for TemporaryPasswordOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporaryPasswordOrder")
            .field("ordered_at", &self.ordered_at)
            .field("delivered_on", &self.delivered_on)
            .field("code", &"<redacted>")
            .finish()
    }
}

impl TemporaryPasswordOrder {
    /// Orders a temporary password at `now`; it arrives 3–4 working days later.
    pub fn place(
        now: Timestamp,
        policy: &TemporaryPasswordPolicy,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> TemporaryPasswordOrder {
        let delivered_on = policy.delivery_date(now.date(), rng.next_u32());
        let code = crate::app::random_string(rng, b"ABCDEFGHJKMNPQRSTUVWXYZ23456789", 8);
        TemporaryPasswordOrder {
            ordered_at: now,
            delivered_on,
            code,
        }
    }

    /// Whether the letter has arrived at `now`.
    #[must_use]
    pub fn delivered(&self, now: Timestamp) -> bool {
        now >= self.delivered_on.midnight()
    }

    /// The password printed in the letter (for the citizen model once delivered).
    #[must_use]
    pub fn reveal_code(&self) -> &str {
        &self.code
    }
}

/// Where a NemID stands.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum NemidStatus {
    Active,
    /// A temporary password is on its way or unused: NemID is blocked until it is used.
    AwaitingTemporaryPassword {
        delivered_on: CivilDate,
    },
    /// Too many wrong key-card codes.
    Locked,
    /// NemID was closed (e.g. the shutdown).
    Closed,
}

/// Why a NemID account operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NemidError {
    #[error("NemID is blocked until the temporary password (arriving {0}) is used")]
    AwaitingTemporaryPassword(CivilDate),
    #[error("the temporary password letter arrives on {0}")]
    NotDelivered(CivilDate),
    #[error("no temporary password has been ordered")]
    NoTemporaryPassword,
    #[error("wrong temporary password")]
    WrongTemporaryPassword,
    #[error("wrong password")]
    WrongPassword,
    #[error("NemID is locked")]
    Locked,
    #[error("NemID is closed")]
    Closed,
    #[error("{0}")]
    PasswordRule(#[from] NemidPasswordError),
    #[error("{0}")]
    KeyCard(#[from] KeyCardError),
}

/// A citizen's NemID at the IdP: password, key card, pending temporary password.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct NemidAccount {
    pub user_id: String,
    password: Option<SecretHash>,
    pub key_card: KeyCardRecord,
    pub temporary_password: Option<TemporaryPasswordOrder>,
    pub closed: bool,
}

impl NemidAccount {
    /// An account with a chosen password and a first key card.
    pub fn new(
        user_id: &str,
        password: &str,
        cpr: Option<&str>,
        card: KeyCard,
        policy: &NemidPasswordPolicy,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> Result<NemidAccount, NemidError> {
        validate_password(password, cpr, policy)?;
        Ok(NemidAccount {
            user_id: user_id.to_owned(),
            password: Some(SecretHash::new(password, rng)),
            key_card: KeyCardRecord::new(card),
            temporary_password: None,
            closed: false,
        })
    }

    #[must_use]
    pub fn status(&self, now: Timestamp, policy: &KeyCardPolicy) -> NemidStatus {
        if self.closed {
            NemidStatus::Closed
        } else if let Some(order) = &self.temporary_password {
            NemidStatus::AwaitingTemporaryPassword {
                delivered_on: order.delivered_on,
            }
        } else if !self.key_card.status(now, policy).is_open() {
            NemidStatus::Locked
        } else {
            NemidStatus::Active
        }
    }

    /// Orders a temporary password by post; NemID is blocked from now until it is used.
    pub fn order_temporary_password(
        &mut self,
        now: Timestamp,
        policy: &TemporaryPasswordPolicy,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> Result<CivilDate, NemidError> {
        if self.closed {
            return Err(NemidError::Closed);
        }
        let order = TemporaryPasswordOrder::place(now, policy, rng);
        let on = order.delivered_on;
        self.password = None;
        self.temporary_password = Some(order);
        Ok(on)
    }

    /// Uses the delivered temporary password to set a new own password, unblocking NemID.
    #[allow(clippy::too_many_arguments)] // the citizen's inputs plus the usual now/policy/rng
    pub fn redeem_temporary_password(
        &mut self,
        temporary: &str,
        new_password: &str,
        cpr: Option<&str>,
        now: Timestamp,
        policy: &NemidPasswordPolicy,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> Result<(), NemidError> {
        if self.closed {
            return Err(NemidError::Closed);
        }
        let order = self
            .temporary_password
            .as_ref()
            .ok_or(NemidError::NoTemporaryPassword)?;
        if !order.delivered(now) {
            return Err(NemidError::NotDelivered(order.delivered_on));
        }
        if !crypto::ct_eq(
            temporary.trim().to_ascii_uppercase().as_bytes(),
            order.code.as_bytes(),
        ) {
            return Err(NemidError::WrongTemporaryPassword);
        }
        validate_password(new_password, cpr, policy)?;
        self.password = Some(SecretHash::new(new_password, rng));
        self.temporary_password = None;
        Ok(())
    }

    /// First login step: the password. Blocked while a temporary password is pending.
    pub fn check_password(
        &self,
        password: &str,
        now: Timestamp,
        policy: &KeyCardPolicy,
    ) -> Result<(), NemidError> {
        match self.status(now, policy) {
            NemidStatus::Closed => Err(NemidError::Closed),
            NemidStatus::Locked => Err(NemidError::Locked),
            NemidStatus::AwaitingTemporaryPassword { delivered_on } => {
                Err(NemidError::AwaitingTemporaryPassword(delivered_on))
            }
            NemidStatus::Active => match &self.password {
                Some(h) if h.matches(password) => Ok(()),
                _ => Err(NemidError::WrongPassword),
            },
        }
    }

    /// Closes NemID for good.
    pub fn close(&mut self) {
        self.closed = true;
    }
}
