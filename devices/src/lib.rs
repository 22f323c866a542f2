//! # mitid-devices — MitID and NemID authenticators as state machines with real crypto
//!
//! The lab's citizens hold these devices; the IdP verifies what they produce; the simulator asks
//! the same types cheap questions for millions of citizens. No I/O, no clock, no global RNG:
//! time is a [`Timestamp`] parameter and randomness a `&mut (impl RngCore + CryptoRng)`
//! ([`rand_core`] 0.6 is re-exported, and [`DeviceRng`] is a seedable generator).
//!
//! Tour:
//! - [`assurance`]: `Ial`/`Aal`/`Loa` with their NSIS URIs, the `amr` values, [`loa`] (the one
//!   function that combines IAL and AAL) and [`assess`] (the AAL and `amr` of verified factors).
//! - [`policy`]: every count and duration as serde config with documented defaults
//!   ([`DevicePolicies`]); [`lockout`]: the wrong-attempt counter every locking device shares.
//! - [`time`]: `Timestamp`, `Span`, civil dates and weekdays (working-day arithmetic).
//! - [`otp`]: RFC 4226 HOTP / RFC 6238 TOTP; [`speech`]: codes read aloud in Danish and English.
//! - [`eligibility`]: which phones run the app and read passports by NFC.
//! - [`crypto`]: P-256 device keys, public keys and signatures, salted secret hashes.
//! - Devices, each a citizen side and an IdP side: [`app`] (MitID app: activation routes,
//!   PIN lockout, channel binding, signed approvals), [`code_token`] (code display and audio
//!   code reader), [`chip`] (WebAuthn-style assertions with counter-regression checks),
//!   [`nemid`] (key card, key app, password rules, temporary password by post), [`pcode`].
//! - [`workdays`]: Danish working days and public holidays (temporary-password delivery).
//!
//! A code-display login, citizen and IdP side:
//!
//! ```
//! use mitid_devices::rand_core::SeedableRng;
//! use mitid_devices::*;
//!
//! let policy = CodeTokenPolicy::default();
//! let mut rng = DeviceRng::seed_from_u64(7);
//! let now = Timestamp::from_ymd(2023, 3, 1);
//! let (display, mut record) =
//!     CodeDisplay::manufacture("CD-1", CodeTokenKind::CodeDisplay, now, &policy, &mut rng);
//! let password = SecretHash::new("Sommer2023", &mut rng);
//!
//! let shown = display.press(now, &policy)?.to_string(); // what the citizen reads
//! let login = record.login(&shown, "Sommer2023", &password, now, &policy)?;
//! assert_eq!(login.aal, Aal::Substantial);
//! assert_eq!(loa(Ial::High, login.aal).uri(), "https://data.gov.dk/concept/core/nsis/Substantial");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every device state implements `Serialize`/`Deserialize` (scenarios and fixtures store them)
//! and no secret appears in `Debug` output.

pub mod app;
pub mod assurance;
pub mod chip;
pub mod code_token;
pub mod crypto;
pub mod eligibility;
pub mod lockout;
pub mod nemid;
pub mod otp;
pub mod pcode;
pub mod policy;
pub mod speech;
pub mod time;
pub mod workdays;

pub use app::{
    ActivationGrant, ActivationProof, ActivationRoute, AppError, AppRegistration, AppStatus,
    Approval, ApprovalError, Authorisation, ChannelBinding, ChannelBindingKind, GrantError,
    LoginPlatform, MitidApp, MrzReading, Passport, PassportError, Transaction,
    passport_reactivation, validate_app_pin,
};
pub use assurance::{
    Aal, Amr, AmrSet, AppConfirmation, Assessment, AuthenticatorKind, Factor, Ial, Loa, assess, loa,
};
pub use chip::{
    Assertion, AssertionRequest, Chip, ChipActivation, ChipCredential, ChipError, ChipTransport,
    ClientOs, VerifiedAssertion,
};
pub use code_token::{
    AudioCodeReader, CodeAccepted, CodeDisplay, CodeTokenError, CodeTokenKind, CodeTokenLoginError,
    CodeTokenRecord, DisplayedCode,
};
pub use crypto::{DeviceKey, EcdsaSignature, PublicKey, SecretHash, SignatureError};
pub use eligibility::{DeviceProfile, Ineligible, IphoneModel};
pub use lockout::{AttemptCounter, LockStatus, LockoutPolicy};
pub use nemid::{
    KeyAppRecord, KeyCard, KeyCardAccepted, KeyCardError, KeyCardRecord, NemidAccount, NemidError,
    NemidKeyApp, NemidPasswordError, NemidStatus, TemporaryPasswordOrder,
    validate_password as validate_nemid_password,
};
pub use otp::{OtpAlgorithm, OtpSecret, TotpParams};
pub use pcode::{PCode, PCodeError, PCodeStatus};
pub use policy::{
    AppPolicy, ChipPolicy, CodeTokenPolicy, DevicePolicies, EligibilityPolicy, KeyCardPolicy,
    NemidPasswordPolicy, PCodePolicy, PolicyError, TemporaryPasswordPolicy,
};
pub use speech::{Language, SpokenCode};
pub use time::{CivilDate, Span, Timestamp, Weekday};

/// The `rand_core` generation the devices' APIs take (0.6, shared with p256 0.13).
pub use rand_core;

/// A seedable cryptographically secure generator for callers that hold a seed, not an RNG:
/// `DeviceRng::seed_from_u64(seed)` (via [`rand_core::SeedableRng`]).
pub type DeviceRng = rand_chacha::ChaCha20Rng;
