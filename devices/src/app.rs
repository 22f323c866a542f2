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

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::assurance::AppConfirmation;
use crate::crypto::{
    self, DeviceKey, EcdsaSignature, PublicKey, SecretHash, SignatureError, hexbytes,
};
use crate::eligibility::{DeviceProfile, Ineligible};
use crate::lockout::{AttemptCounter, LockStatus, LockoutPolicy};
use crate::policy::{AppPolicy, EligibilityPolicy};
use crate::time::{Span, Timestamp};

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
// Activation grants and proofs

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
    user_id: String,
    route: ActivationRoute,
    at: Timestamp,
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

const DIGITS: &[u8] = b"0123456789";
// Activation codes avoid characters people confuse (0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

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
    fn issue(
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

// ---------------------------------------------------------------------------------------------
// Passport reactivation

/// ICAO 9303 check digit (weights 7, 3, 1; `<` = 0, digits as themselves, A–Z = 10–35).
#[must_use]
pub fn mrz_check_digit(field: &str) -> u8 {
    let sum: u32 = field
        .bytes()
        .zip([7u32, 3, 1].into_iter().cycle())
        .map(|(c, w)| {
            let v = match c {
                b'0'..=b'9' => u32::from(c - b'0'),
                b'A'..=b'Z' => u32::from(c - b'A') + 10,
                b'a'..=b'z' => u32::from(c - b'a') + 10,
                _ => 0,
            };
            v * w
        })
        .sum();
    (sum % 10) as u8
}

/// The MRZ fields the app's camera reads (document number, birth date and expiry as `YYMMDD`),
/// each with its check digit as printed.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MrzReading {
    pub document_number: String,
    pub document_number_check: u8,
    pub date_of_birth: String,
    pub date_of_birth_check: u8,
    pub expiry: String,
    pub expiry_check: u8,
}

impl MrzReading {
    /// The MRZ of a document, with correct check digits.
    #[must_use]
    pub fn of(document_number: &str, date_of_birth: &str, expiry: &str) -> MrzReading {
        MrzReading {
            document_number: document_number.to_owned(),
            document_number_check: mrz_check_digit(document_number),
            date_of_birth: date_of_birth.to_owned(),
            date_of_birth_check: mrz_check_digit(date_of_birth),
            expiry: expiry.to_owned(),
            expiry_check: mrz_check_digit(expiry),
        }
    }

    /// Whether every printed check digit matches its field (a misread fails here).
    #[must_use]
    pub fn check_digits_ok(&self) -> bool {
        mrz_check_digit(&self.document_number) == self.document_number_check
            && mrz_check_digit(&self.date_of_birth) == self.date_of_birth_check
            && mrz_check_digit(&self.expiry) == self.expiry_check
    }

    /// The access key the chip is unlocked with (ICAO basic access control key seed input).
    fn access_key(&self) -> [u8; 32] {
        let mut s = String::new();
        for (field, check) in [
            (&self.document_number, self.document_number_check),
            (&self.date_of_birth, self.date_of_birth_check),
            (&self.expiry, self.expiry_check),
        ] {
            s.push_str(field);
            s.push(char::from(b'0' + check));
        }
        crypto::sha256(&[s.as_bytes()])
    }
}

/// A passport or national ID card with a chip, as the lab models it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Passport {
    pub mrz: MrzReading,
    /// Whether the chip's data passes passive authentication (false models a forged chip).
    pub chip_authentic: bool,
    /// Whether the chip still works.
    pub chip_readable: bool,
}

/// Why a passport reactivation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassportError {
    #[error("this phone cannot read passport chips: {0}")]
    Device(#[from] Ineligible),
    #[error("the MRZ was misread (check digit mismatch)")]
    MrzMisread,
    #[error("the chip did not open with the MRZ access key")]
    AccessDenied,
    #[error("the chip cannot be read")]
    ChipUnreadable,
    #[error("the chip's data failed passive authentication")]
    ChipNotAuthentic,
    #[error("the passport is not the one registered for this identity")]
    NotRegisteredDocument,
    #[error("the face scan matched {score_permille}‰, below the required {required_permille}‰")]
    FaceMismatch {
        score_permille: u16,
        required_permille: u16,
    },
}

/// Reactivation (or enrolment) with a passport: the app reads the MRZ with the camera, opens the
/// chip by NFC with the MRZ key, checks the chip is authentic and is the document registered for
/// `user_id`, then compares the face scan with the chip photo.
#[allow(clippy::too_many_arguments)] // each argument is one real-world input of the procedure
pub fn passport_reactivation(
    user_id: &str,
    device: &DeviceProfile,
    camera_reading: &MrzReading,
    passport: &Passport,
    registered_document_number: &str,
    face_match_permille: u16,
    now: Timestamp,
    policies: (&AppPolicy, &EligibilityPolicy),
) -> Result<ActivationProof, PassportError> {
    let (app_policy, eligibility) = policies;
    device.nfc_passport_eligibility(eligibility)?;
    if !camera_reading.check_digits_ok() {
        return Err(PassportError::MrzMisread);
    }
    if !passport.chip_readable {
        return Err(PassportError::ChipUnreadable);
    }
    if camera_reading.access_key() != passport.mrz.access_key() {
        return Err(PassportError::AccessDenied);
    }
    if !passport.chip_authentic {
        return Err(PassportError::ChipNotAuthentic);
    }
    if passport.mrz.document_number != registered_document_number {
        return Err(PassportError::NotRegisteredDocument);
    }
    if face_match_permille < app_policy.face_match_threshold_permille {
        return Err(PassportError::FaceMismatch {
            score_permille: face_match_permille,
            required_permille: app_policy.face_match_threshold_permille,
        });
    }
    Ok(ActivationProof {
        user_id: user_id.to_owned(),
        route: ActivationRoute::Passport,
        at: now,
    })
}

// ---------------------------------------------------------------------------------------------
// Channel binding and transactions

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
