//! Channel binding (4-digit code, QR code, app switch) and the signed transaction a login
//! approval carries.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::assurance::AppConfirmation;
use crate::crypto::{EcdsaSignature, hexbytes};
use crate::policy::AppPolicy;
use crate::time::Timestamp;

/// Where the login happens.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginPlatform {
    /// In a browser on another device: the app is bound to the browser session.
    Computer,
    /// On the phone that carries the app: the service switches to the app and back.
    SamePhone,
}

/// How the browser session and the app are tied together.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelBindingKind {
    FourDigitCode,
    QrCode,
    AppSwitch,
}

impl ChannelBindingKind {
    /// What a login must use at `now`: app switch on the phone itself; on a computer a 4-digit
    /// code before [`AppPolicy::qr_channel_binding_from`] and a QR code from then on.
    #[must_use]
    pub fn required(
        platform: LoginPlatform,
        now: Timestamp,
        policy: &AppPolicy,
    ) -> ChannelBindingKind {
        match platform {
            LoginPlatform::SamePhone => ChannelBindingKind::AppSwitch,
            LoginPlatform::Computer if now >= policy.qr_channel_binding_from => {
                ChannelBindingKind::QrCode
            }
            LoginPlatform::Computer => ChannelBindingKind::FourDigitCode,
        }
    }
}

/// The concrete binding value of one login, shown in the browser (code or QR) or carried by the
/// app switch.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ChannelBinding {
    FourDigitCode {
        code: u16,
    },
    QrCode {
        #[serde(with = "hexbytes")]
        payload: [u8; 16],
    },
    AppSwitch {
        #[serde(with = "hexbytes")]
        nonce: [u8; 16],
    },
}

impl ChannelBinding {
    /// A fresh binding value of the given kind.
    pub fn generate(
        kind: ChannelBindingKind,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> ChannelBinding {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        match kind {
            ChannelBindingKind::FourDigitCode => ChannelBinding::FourDigitCode {
                code: (rng.next_u32() % 10_000) as u16,
            },
            ChannelBindingKind::QrCode => ChannelBinding::QrCode { payload: bytes },
            ChannelBindingKind::AppSwitch => ChannelBinding::AppSwitch { nonce: bytes },
        }
    }

    #[must_use]
    pub fn kind(&self) -> ChannelBindingKind {
        match self {
            ChannelBinding::FourDigitCode { .. } => ChannelBindingKind::FourDigitCode,
            ChannelBinding::QrCode { .. } => ChannelBindingKind::QrCode,
            ChannelBinding::AppSwitch { .. } => ChannelBindingKind::AppSwitch,
        }
    }

    /// Text form for the browser: the zero-padded code, or hex for QR/app-switch payloads.
    #[must_use]
    pub fn display_text(&self) -> String {
        match self {
            ChannelBinding::FourDigitCode { code } => format!("{code:04}"),
            ChannelBinding::QrCode { payload } => hexbytes::encode(payload),
            ChannelBinding::AppSwitch { nonce } => hexbytes::encode(nonce),
        }
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            ChannelBinding::FourDigitCode { code } => {
                out.push(1);
                out.extend_from_slice(&code.to_be_bytes());
            }
            ChannelBinding::QrCode { payload } => {
                out.push(2);
                out.extend_from_slice(payload);
            }
            ChannelBinding::AppSwitch { nonce } => {
                out.push(3);
                out.extend_from_slice(nonce);
            }
        }
    }
}

/// A login or signing request as the app shows it and signs it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Transaction {
    pub user_id: String,
    #[serde(with = "hexbytes")]
    pub challenge: [u8; 32],
    /// "Log on to Skat.dk" — who is asking.
    pub reference_text: String,
    /// "Log on" / "Approve payment" — what is being approved.
    pub action_text: String,
    pub channel_binding: ChannelBinding,
}

const APPROVAL_DOMAIN: &[u8] = b"mitid-lab/app-approval/v1";

fn put_field(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u32).to_be_bytes());
    out.extend_from_slice(field);
}

impl Transaction {
    /// A transaction with a fresh random challenge.
    pub fn new(
        user_id: &str,
        reference_text: &str,
        action_text: &str,
        channel_binding: ChannelBinding,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> Transaction {
        let mut challenge = [0u8; 32];
        rng.fill_bytes(&mut challenge);
        Transaction {
            user_id: user_id.to_owned(),
            challenge,
            reference_text: reference_text.to_owned(),
            action_text: action_text.to_owned(),
            channel_binding,
        }
    }

    /// The exact bytes an approval signs: a domain tag, then length-prefixed fields, then the
    /// key id and the confirmation mode, so no field can be shifted into another.
    #[must_use]
    pub fn signing_bytes(&self, key_id: &[u8; 16], confirmation: AppConfirmation) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.reference_text.len() + self.action_text.len());
        put_field(&mut out, APPROVAL_DOMAIN);
        put_field(&mut out, self.user_id.as_bytes());
        put_field(&mut out, &self.challenge);
        put_field(&mut out, self.reference_text.as_bytes());
        put_field(&mut out, self.action_text.as_bytes());
        self.channel_binding.write_to(&mut out);
        out.extend_from_slice(key_id);
        out.push(match confirmation {
            AppConfirmation::Swipe => 1,
            AppConfirmation::Pin => 2,
            AppConfirmation::PinSingleIdentity => 3,
            AppConfirmation::Biometric => 4,
        });
        out
    }
}

/// What the citizen does in the app to approve.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Authorisation<'a> {
    Swipe,
    Pin(&'a str),
    Biometric,
}

impl fmt::Debug for Authorisation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Authorisation::Swipe => f.write_str("Swipe"),
            Authorisation::Pin(_) => f.write_str("Pin(<redacted>)"),
            Authorisation::Biometric => f.write_str("Biometric"),
        }
    }
}

/// A signed approval the app sends to the IdP.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Approval {
    #[serde(with = "hexbytes")]
    pub key_id: [u8; 16],
    pub confirmation: AppConfirmation,
    pub signature: EcdsaSignature,
}
