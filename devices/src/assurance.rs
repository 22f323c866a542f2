//! NSIS assurance levels, the `amr` values an authentication yields, and the one rule everyone
//! uses: the level of assurance (LoA) is the lower of identity assurance (IAL) and authenticator
//! assurance (AAL).
//!
//! All of it is `Copy` and allocation-free: the simulator evaluates it for millions of logins.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! nsis_level {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Serialises as `low`, `substantial` or `high`; parses from those names (any case) or
        /// from the NSIS concept URI.
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            Low,
            Substantial,
            High,
        }

        impl $name {
            pub const ALL: [$name; 3] = [$name::Low, $name::Substantial, $name::High];

            /// The NSIS concept URI, e.g. `https://data.gov.dk/concept/core/nsis/Substantial`.
            #[must_use]
            pub const fn uri(self) -> &'static str {
                match self {
                    $name::Low => URI_LOW,
                    $name::Substantial => URI_SUBSTANTIAL,
                    $name::High => URI_HIGH,
                }
            }
            /// The short lowercase name (`low`, `substantial`, `high`).
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self {
                    $name::Low => "low",
                    $name::Substantial => "substantial",
                    $name::High => "high",
                }
            }
            /// Parses a short name or a NSIS URI.
            pub fn from_uri_or_name(s: &str) -> Result<$name, AssuranceParseError> {
                match level_index(s) {
                    Some(0) => Ok($name::Low),
                    Some(1) => Ok($name::Substantial),
                    Some(2) => Ok($name::High),
                    _ => Err(AssuranceParseError { what: stringify!($name), input: s.to_owned() }),
                }
            }
            /// 0 = Low, 1 = Substantial, 2 = High (for converting between the three scales).
            #[must_use]
            pub const fn rank(self) -> u8 {
                self as u8
            }
            /// Inverse of [`Self::rank`]; ranks above 2 saturate at High.
            #[must_use]
            pub const fn from_rank(rank: u8) -> $name {
                match rank {
                    0 => $name::Low,
                    1 => $name::Substantial,
                    _ => $name::High,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $name {
            type Err = AssuranceParseError;
            fn from_str(s: &str) -> Result<$name, AssuranceParseError> {
                $name::from_uri_or_name(s)
            }
        }
    };
}

pub const URI_LOW: &str = "https://data.gov.dk/concept/core/nsis/Low";
pub const URI_SUBSTANTIAL: &str = "https://data.gov.dk/concept/core/nsis/Substantial";
pub const URI_HIGH: &str = "https://data.gov.dk/concept/core/nsis/High";

fn level_index(s: &str) -> Option<u8> {
    let s = s.trim();
    let short = s
        .strip_prefix("https://data.gov.dk/concept/core/nsis/")
        .unwrap_or(s);
    if short.eq_ignore_ascii_case("low") {
        Some(0)
    } else if short.eq_ignore_ascii_case("substantial") {
        Some(1)
    } else if short.eq_ignore_ascii_case("high") {
        Some(2)
    } else {
        None
    }
}

nsis_level!(
    /// Identity assurance: how well the person's identity was proven at enrolment.
    Ial
);
nsis_level!(
    /// Authenticator assurance: how strong the authenticator (combination) used at login is.
    Aal
);
nsis_level!(
    /// Level of assurance of a login: `min(IAL, AAL)`, see [`loa`].
    Loa
);

/// A string that is neither a level name nor a NSIS URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a {what} level: expected low, substantial, high or a https://data.gov.dk/concept/core/nsis/ URI"
)]
pub struct AssuranceParseError {
    pub what: &'static str,
    pub input: String,
}

/// The level of assurance of a login: the lower of identity and authenticator assurance.
/// The one function everyone calls.
#[must_use]
pub const fn loa(ial: Ial, aal: Aal) -> Loa {
    let r = if ial.rank() < aal.rank() {
        ial.rank()
    } else {
        aal.rank()
    };
    Loa::from_rank(r)
}

impl Loa {
    /// Whether a login at this level satisfies a service requiring `required`.
    #[must_use]
    pub const fn satisfies(self, required: Loa) -> bool {
        self.rank() >= required.rank()
    }
}

/// Authentication method reference values of the MitID broker claim profile.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Amr {
    Password,
    CodeToken,
    CodeReader,
    CodeApp,
    CodeAppEnhanced,
    U2fToken,
}

impl Amr {
    pub const ALL: [Amr; 6] = [
        Amr::Password,
        Amr::CodeToken,
        Amr::CodeReader,
        Amr::CodeApp,
        Amr::CodeAppEnhanced,
        Amr::U2fToken,
    ];

    /// The claim value (`password`, `code_token`, ...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Amr::Password => "password",
            Amr::CodeToken => "code_token",
            Amr::CodeReader => "code_reader",
            Amr::CodeApp => "code_app",
            Amr::CodeAppEnhanced => "code_app_enhanced",
            Amr::U2fToken => "u2f_token",
        }
    }
}

impl fmt::Display for Amr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Amr {
    type Err = AmrParseError;
    fn from_str(s: &str) -> Result<Amr, AmrParseError> {
        Amr::ALL
            .into_iter()
            .find(|a| a.as_str() == s.trim())
            .ok_or_else(|| AmrParseError(s.to_owned()))
    }
}

/// A string that is not one of the six `amr` values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an amr value: expected password, code_token, code_reader, code_app, code_app_enhanced or u2f_token"
)]
pub struct AmrParseError(pub String);

/// A set of [`Amr`] values as a bit set: `Copy`, no allocation, iterates in claim order.
/// Serialises as a list of claim values, the shape of the `amr` claim.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AmrSet(u8);

impl AmrSet {
    pub const EMPTY: AmrSet = AmrSet(0);

    #[must_use]
    pub const fn with(self, amr: Amr) -> AmrSet {
        AmrSet(self.0 | (1 << amr as u8))
    }
    #[must_use]
    pub const fn contains(self, amr: Amr) -> bool {
        self.0 & (1 << amr as u8) != 0
    }
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    #[must_use]
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    pub fn iter(self) -> impl Iterator<Item = Amr> {
        Amr::ALL.into_iter().filter(move |a| self.contains(*a))
    }
}

impl FromIterator<Amr> for AmrSet {
    fn from_iter<I: IntoIterator<Item = Amr>>(iter: I) -> AmrSet {
        iter.into_iter().fold(AmrSet::EMPTY, AmrSet::with)
    }
}

impl fmt::Debug for AmrSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for AmrSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for AmrSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AmrSet, D::Error> {
        Ok(Vec::<Amr>::deserialize(d)?.into_iter().collect())
    }
}

/// The kinds of authenticator the lab models (the MitID password is a factor, not a device: see
/// [`Factor::Password`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthenticatorKind {
    /// MitID app on a phone or tablet.
    MitidApp,
    /// MitID code display (kodeviser): shows a 6-digit TOTP code.
    CodeDisplay,
    /// MitID audio code reader (kodeoplæser): reads the TOTP code aloud.
    AudioCodeReader,
    /// MitID chip: FIDO/WebAuthn-style hardware key.
    Chip,
    /// NemID key card (nøglekort): numbered one-time codes.
    NemidKeyCard,
    /// NemID key app (nøgleapp): approve in an app.
    NemidKeyApp,
}

impl AuthenticatorKind {
    pub const ALL: [AuthenticatorKind; 6] = [
        AuthenticatorKind::MitidApp,
        AuthenticatorKind::CodeDisplay,
        AuthenticatorKind::AudioCodeReader,
        AuthenticatorKind::Chip,
        AuthenticatorKind::NemidKeyCard,
        AuthenticatorKind::NemidKeyApp,
    ];

    /// Whether this is a MitID authenticator (as opposed to a retiring NemID one).
    #[must_use]
    pub const fn is_mitid(self) -> bool {
        !matches!(
            self,
            AuthenticatorKind::NemidKeyCard | AuthenticatorKind::NemidKeyApp
        )
    }

    /// Whether a login with this authenticator also asks for the user's password.
    /// The MitID app does not (user ID + swipe); every other authenticator does.
    #[must_use]
    pub const fn needs_password(self) -> bool {
        !matches!(self, AuthenticatorKind::MitidApp)
    }

    /// The assessment of a complete, normal login with this authenticator: the password where
    /// one is asked for, and for the app a plain swipe. See [`assess`] for other combinations.
    #[must_use]
    pub const fn standard_login(self) -> Assessment {
        let device = match self {
            AuthenticatorKind::MitidApp => Factor::MitidApp(AppConfirmation::Swipe),
            AuthenticatorKind::CodeDisplay => Factor::CodeDisplay,
            AuthenticatorKind::AudioCodeReader => Factor::AudioCodeReader,
            AuthenticatorKind::Chip => Factor::Chip,
            AuthenticatorKind::NemidKeyCard => Factor::NemidKeyCard,
            AuthenticatorKind::NemidKeyApp => Factor::NemidKeyApp,
        };
        if self.needs_password() {
            assess(&[Factor::Password, device])
        } else {
            assess(&[device])
        }
    }
}

impl fmt::Display for AuthenticatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthenticatorKind::MitidApp => "mitid_app",
            AuthenticatorKind::CodeDisplay => "code_display",
            AuthenticatorKind::AudioCodeReader => "audio_code_reader",
            AuthenticatorKind::Chip => "chip",
            AuthenticatorKind::NemidKeyCard => "nemid_key_card",
            AuthenticatorKind::NemidKeyApp => "nemid_key_app",
        })
    }
}

/// How the citizen confirmed an approval in the MitID app.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppConfirmation {
    /// A swipe only.
    Swipe,
    /// Swipe plus the 6-digit app PIN, on a device carrying exactly one MitID identity with
    /// biometrics off: the only app confirmation that reaches AAL High.
    PinSingleIdentity,
    /// Swipe plus the app PIN on a device shared by several identities or with biometrics on.
    Pin,
    /// Swipe plus fingerprint/face recognition.
    Biometric,
}

impl AppConfirmation {
    /// Whether the confirmation added PIN or biometrics (the `code_app_enhanced` amr).
    #[must_use]
    pub const fn is_enhanced(self) -> bool {
        !matches!(self, AppConfirmation::Swipe)
    }
}

/// One factor presented in a login, as the IdP saw it verified.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// The MitID or NemID password (knowledge).
    Password,
    MitidApp(AppConfirmation),
    CodeDisplay,
    AudioCodeReader,
    Chip,
    NemidKeyCard,
    NemidKeyApp,
}

/// What an authentication yields: its AAL and the `amr` values for the token.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Assessment {
    pub aal: Aal,
    pub amr: AmrSet,
}

/// Assesses a set of verified factors.
///
/// The rules (NSIS: one factor is Low, two independent factors Substantial, High needs a
/// tamper-resistant authenticator bound to one identity):
/// - the MitID app is itself two-factor (device-bound key + the phone's own unlock), so a swipe is
///   Substantial; with the app PIN on a single-identity device with biometrics off it is High;
/// - a code display, audio code reader or NemID key card/app plus the password is Substantial,
///   alone Low;
/// - a chip plus the password is High, a chip alone Low;
/// - a password alone is Low; an empty set is Low with no `amr`.
///
/// The profile's `amr` list has no NemID values; as a documented assumption the NemID key card
/// yields `code_token` and the NemID key app `code_app`.
#[must_use]
pub const fn assess(factors: &[Factor]) -> Assessment {
    let mut amr = AmrSet::EMPTY;
    let mut password = false;
    let mut otp_device = false;
    let mut chip = false;
    let mut app: Option<AppConfirmation> = None;
    let mut i = 0;
    while i < factors.len() {
        match factors[i] {
            Factor::Password => {
                password = true;
                amr = amr.with(Amr::Password);
            }
            Factor::MitidApp(c) => {
                // Several approvals in one login: keep the strongest.
                app = match app {
                    Some(prev) if app_rank(prev) >= app_rank(c) => Some(prev),
                    _ => Some(c),
                };
            }
            Factor::CodeDisplay | Factor::NemidKeyCard => {
                otp_device = true;
                amr = amr.with(Amr::CodeToken);
            }
            Factor::AudioCodeReader => {
                otp_device = true;
                amr = amr.with(Amr::CodeReader);
            }
            Factor::NemidKeyApp => {
                otp_device = true;
                amr = amr.with(Amr::CodeApp);
            }
            Factor::Chip => {
                chip = true;
                amr = amr.with(Amr::U2fToken);
            }
        }
        i += 1;
    }
    let mut aal = Aal::Low;
    if let Some(c) = app {
        amr = amr.with(if c.is_enhanced() {
            Amr::CodeAppEnhanced
        } else {
            Amr::CodeApp
        });
        aal = if matches!(c, AppConfirmation::PinSingleIdentity) {
            Aal::High
        } else {
            Aal::Substantial
        };
    }
    if chip && password {
        aal = Aal::High;
    }
    if otp_device && password && aal.rank() < Aal::Substantial.rank() {
        aal = Aal::Substantial;
    }
    Assessment { aal, amr }
}

const fn app_rank(c: AppConfirmation) -> u8 {
    match c {
        AppConfirmation::Swipe => 0,
        AppConfirmation::Biometric => 1,
        AppConfirmation::Pin => 2,
        AppConfirmation::PinSingleIdentity => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loa_is_the_minimum() {
        assert_eq!(loa(Ial::High, Aal::Substantial), Loa::Substantial);
        assert_eq!(loa(Ial::Low, Aal::High), Loa::Low);
        assert_eq!(loa(Ial::High, Aal::High), Loa::High);
    }

    #[test]
    fn uris_round_trip() {
        for l in Loa::ALL {
            assert_eq!(Loa::from_uri_or_name(l.uri()).unwrap(), l);
            assert_eq!(l.name().parse::<Loa>().unwrap(), l);
        }
        assert!("medium".parse::<Ial>().is_err());
    }

    #[test]
    fn amr_serialises_to_claim_values() {
        let set: AmrSet = [Amr::U2fToken, Amr::Password].into_iter().collect();
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"["password","u2f_token"]"#
        );
        let back: AmrSet = serde_json::from_str(r#"["password","u2f_token"]"#).unwrap();
        assert_eq!(back, set);
    }

    #[test]
    fn standard_logins() {
        use AuthenticatorKind as K;
        assert_eq!(K::MitidApp.standard_login().aal, Aal::Substantial);
        assert_eq!(K::CodeDisplay.standard_login().aal, Aal::Substantial);
        assert_eq!(K::Chip.standard_login().aal, Aal::High);
        assert_eq!(
            assess(&[Factor::MitidApp(AppConfirmation::PinSingleIdentity)]).aal,
            Aal::High
        );
        assert_eq!(assess(&[Factor::Chip]).aal, Aal::Low);
        assert_eq!(assess(&[Factor::CodeDisplay]).aal, Aal::Low);
    }
}
