//! The MitID chip: a FIDO/WebAuthn-style hardware key. The citizen logs in with user ID and
//! password, then connects the chip (USB, Bluetooth or NFC; on iOS only NFC) and presses it.
//!
//! The [`Chip`] holds a P-256 key and a signature counter and produces [`Assertion`]s: a signature
//! over the authenticator data (RP ID hash, flags with user presence, counter) and the hash of the
//! client data (challenge and origin), as WebAuthn does. The IdP's [`ChipCredential`] verifies
//! them, demands user presence, and rejects a counter that did not increase (a cloned chip).
//! Activation on MitID.dk is two steps at least [`ChipPolicy::activation_gap`] apart.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::{self, DeviceKey, EcdsaSignature, PublicKey, SignatureError, hexbytes};
use crate::policy::ChipPolicy;
use crate::time::Timestamp;

/// How the chip talks to the phone or computer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChipTransport {
    Usb,
    Bluetooth,
    Nfc,
}

/// The operating system of the device the citizen logs in on.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientOs {
    Ios,
    Android,
    /// Windows, macOS, Linux computers.
    Desktop,
}

impl ChipTransport {
    /// Whether the transport can be used from `os`: iOS only NFC (**fact**); computers USB or
    /// Bluetooth (**assumption**: no NFC readers on computers); Android all three.
    #[must_use]
    pub const fn usable_from(self, os: ClientOs) -> bool {
        match os {
            ClientOs::Ios => matches!(self, ChipTransport::Nfc),
            ClientOs::Android => true,
            ClientOs::Desktop => !matches!(self, ChipTransport::Nfc),
        }
    }
}

/// What the IdP asks the chip to sign.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AssertionRequest {
    #[serde(with = "hexbytes")]
    pub challenge: [u8; 32],
    /// The relying-party ID (the IdP's domain).
    pub rp_id: String,
    /// The browser origin the login runs in.
    pub origin: String,
}

impl AssertionRequest {
    /// A request with a fresh random challenge.
    pub fn new(
        rp_id: &str,
        origin: &str,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> AssertionRequest {
        let mut challenge = [0u8; 32];
        rng.fill_bytes(&mut challenge);
        AssertionRequest {
            challenge,
            rp_id: rp_id.to_owned(),
            origin: origin.to_owned(),
        }
    }

    /// Hash of the client data (type, challenge, origin) as the browser would compute it.
    #[must_use]
    pub fn client_data_hash(&self) -> [u8; 32] {
        crypto::sha256(&[
            b"webauthn.get\0",
            &self.challenge,
            &(self.origin.len() as u32).to_be_bytes(),
            self.origin.as_bytes(),
        ])
    }
}

/// User-presence flag bit of the authenticator data (WebAuthn "UP").
pub const FLAG_USER_PRESENT: u8 = 0x01;

/// The authenticator data a chip signs.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AuthenticatorData {
    #[serde(with = "hexbytes")]
    pub rp_id_hash: [u8; 32],
    pub flags: u8,
    pub sign_count: u32,
}

impl AuthenticatorData {
    /// The 37-byte WebAuthn layout: RP ID hash, flags, big-endian counter.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 37] {
        let mut b = [0u8; 37];
        b[..32].copy_from_slice(&self.rp_id_hash);
        b[32] = self.flags;
        b[33..].copy_from_slice(&self.sign_count.to_be_bytes());
        b
    }

    #[must_use]
    pub const fn user_present(&self) -> bool {
        self.flags & FLAG_USER_PRESENT != 0
    }
}

/// What the chip returns.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Assertion {
    #[serde(with = "hexbytes")]
    pub credential_id: [u8; 16],
    pub authenticator_data: AuthenticatorData,
    #[serde(with = "hexbytes")]
    pub client_data_hash: [u8; 32],
    pub signature: EcdsaSignature,
}

fn signed_bytes(data: &AuthenticatorData, client_data_hash: &[u8; 32]) -> [u8; 69] {
    let mut m = [0u8; 69];
    m[..37].copy_from_slice(&data.to_bytes());
    m[37..].copy_from_slice(client_data_hash);
    m
}

/// A chip in the citizen's hand.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chip {
    pub serial: String,
    #[serde(with = "hexbytes")]
    pub credential_id: [u8; 16],
    key: DeviceKey,
    pub sign_count: u32,
}

impl fmt::Debug for Chip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chip")
            .field("serial", &self.serial)
            .field("credential_id", &hexbytes::encode(&self.credential_id))
            .field("key", &self.key)
            .field("sign_count", &self.sign_count)
            .finish()
    }
}

/// Why the chip or its verifier refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChipError {
    #[error("{transport:?} cannot be used from {os:?}")]
    TransportUnavailable {
        transport: ChipTransport,
        os: ClientOs,
    },
    #[error("the chip's signature counter is exhausted")]
    CounterExhausted,
    #[error("the chip's activation has not been started on MitID.dk")]
    NotActivated,
    #[error("the second activation step is possible from {ready_at}")]
    ActivationTooEarly { ready_at: Timestamp },
    #[error("the chip is already active")]
    AlreadyActive,
    #[error("the assertion is for credential {found}, not {expected}")]
    UnknownCredential { found: String, expected: String },
    #[error("the assertion was made for another relying party")]
    WrongRelyingParty,
    #[error("the assertion answers another challenge or origin")]
    WrongClientData,
    #[error("the user-presence flag is not set (the chip was not pressed)")]
    UserNotPresent,
    #[error("signature counter went from {stored} to {presented}: possible cloned chip")]
    CounterRegression { stored: u32, presented: u32 },
    #[error("assertion signature: {0}")]
    Signature(#[from] SignatureError),
}

impl Chip {
    /// Manufactures a chip with a fresh key pair and credential ID.
    pub fn manufacture(
        serial: impl Into<String>,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> Chip {
        let key = DeviceKey::generate(rng);
        let mut credential_id = [0u8; 16];
        rng.fill_bytes(&mut credential_id);
        Chip {
            serial: serial.into(),
            credential_id,
            key,
            sign_count: 0,
        }
    }

    /// What the IdP registers when activation starts on MitID.dk.
    #[must_use]
    pub fn registration(&self, rp_id: &str, now: Timestamp) -> ChipCredential {
        ChipCredential {
            serial: self.serial.clone(),
            credential_id: self.credential_id,
            public_key: self.key.public_key(),
            rp_id: rp_id.to_owned(),
            sign_count: self.sign_count,
            activation: ChipActivation::FirstStepDone { at: now },
        }
    }

    /// Connect over `transport` from `os` and answer `request`; `pressed` is whether the citizen
    /// touched the chip (the user-presence flag). Every assertion advances the counter.
    pub fn assert(
        &mut self,
        request: &AssertionRequest,
        transport: ChipTransport,
        os: ClientOs,
        pressed: bool,
    ) -> Result<Assertion, ChipError> {
        if !transport.usable_from(os) {
            return Err(ChipError::TransportUnavailable { transport, os });
        }
        self.sign_count = self
            .sign_count
            .checked_add(1)
            .ok_or(ChipError::CounterExhausted)?;
        let data = AuthenticatorData {
            rp_id_hash: crypto::sha256(&[request.rp_id.as_bytes()]),
            flags: if pressed { FLAG_USER_PRESENT } else { 0 },
            sign_count: self.sign_count,
        };
        let client_data_hash = request.client_data_hash();
        let signature = self.key.sign(&signed_bytes(&data, &client_data_hash));
        Ok(Assertion {
            credential_id: self.credential_id,
            authenticator_data: data,
            client_data_hash,
            signature,
        })
    }
}

/// Two-step activation state of a chip at the IdP.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ChipActivation {
    /// Step one done on MitID.dk; step two possible after the activation gap.
    FirstStepDone {
        at: Timestamp,
    },
    Active {
        since: Timestamp,
    },
}

/// What the IdP stores for a chip.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ChipCredential {
    pub serial: String,
    #[serde(with = "hexbytes")]
    pub credential_id: [u8; 16],
    pub public_key: PublicKey,
    pub rp_id: String,
    /// Highest counter seen.
    pub sign_count: u32,
    pub activation: ChipActivation,
}

/// A verified chip login.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct VerifiedAssertion {
    pub sign_count: u32,
    pub user_present: bool,
}

impl ChipCredential {
    /// The second activation step: at least the activation gap after the first.
    pub fn complete_activation(
        &mut self,
        now: Timestamp,
        policy: &ChipPolicy,
    ) -> Result<(), ChipError> {
        match self.activation {
            ChipActivation::Active { .. } => Err(ChipError::AlreadyActive),
            ChipActivation::FirstStepDone { at } => {
                let ready_at = at + policy.activation_gap;
                if now < ready_at {
                    return Err(ChipError::ActivationTooEarly { ready_at });
                }
                self.activation = ChipActivation::Active { since: now };
                Ok(())
            }
        }
    }

    #[must_use]
    pub const fn is_active(&self) -> bool {
        matches!(self.activation, ChipActivation::Active { .. })
    }

    /// Verifies an assertion for `request` and advances the stored counter.
    pub fn verify(
        &mut self,
        request: &AssertionRequest,
        assertion: &Assertion,
        policy: &ChipPolicy,
    ) -> Result<VerifiedAssertion, ChipError> {
        if !self.is_active() {
            return Err(ChipError::NotActivated);
        }
        if assertion.credential_id != self.credential_id {
            return Err(ChipError::UnknownCredential {
                found: hexbytes::encode(&assertion.credential_id),
                expected: hexbytes::encode(&self.credential_id),
            });
        }
        let data = &assertion.authenticator_data;
        if data.rp_id_hash != crypto::sha256(&[self.rp_id.as_bytes()])
            || request.rp_id != self.rp_id
        {
            return Err(ChipError::WrongRelyingParty);
        }
        if assertion.client_data_hash != request.client_data_hash() {
            return Err(ChipError::WrongClientData);
        }
        self.public_key.verify(
            &signed_bytes(data, &assertion.client_data_hash),
            &assertion.signature,
        )?;
        if policy.require_user_presence && !data.user_present() {
            return Err(ChipError::UserNotPresent);
        }
        // WebAuthn: a counter that does not increase (unless both are zero, i.e. the
        // authenticator has no counter) signals a cloned authenticator.
        if (data.sign_count != 0 || self.sign_count != 0) && data.sign_count <= self.sign_count {
            return Err(ChipError::CounterRegression {
                stored: self.sign_count,
                presented: data.sign_count,
            });
        }
        self.sign_count = data.sign_count;
        Ok(VerifiedAssertion {
            sign_count: data.sign_count,
            user_present: data.user_present(),
        })
    }
}
