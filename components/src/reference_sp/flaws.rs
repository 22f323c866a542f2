//! The reference service provider's named flaws: realistic integration mistakes, each switching
//! off one code path of the correct provider.
//!
//! What each flaw is called, what it does wrong and which requirement must catch it is data,
//! [`FLAW_CATALOGUE_PATH`], compiled in and parsed once ([`FlawCatalogue::embedded`]). The enum
//! is only the code's side: the switch each catalogue entry names. Parsing checks that the two
//! agree (every variant listed once, no unknown name), so a flaw cannot exist without its
//! description and requirement.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use mitid_fixtures::yaml_lines::{FieldPath, LineIndex, PathSegment};
use serde::{Deserialize, Serialize};

/// Where the flaw catalogue lives, relative to the project root.
pub const FLAW_CATALOGUE_PATH: &str = "fixtures/requirements/sp-flaws.yaml";

/// The flaw catalogue as compiled in.
pub const FLAW_CATALOGUE_YAML: &str = include_str!("../../../fixtures/requirements/sp-flaws.yaml");

/// A realistic integration mistake the reference SP can be started with. The command-line name
/// of each is its serde name, the one the catalogue lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flaw {
    SkipSignatureCheck,
    AcceptAlgNone,
    #[serde(rename = "accept-hs256-public-key")]
    AcceptAnyKey,
    #[serde(rename = "skip-iss-check")]
    SkipIssuerCheck,
    IssTrailingSlashTolerated,
    #[serde(rename = "skip-aud-check")]
    SkipAudienceCheck,
    SkipAzpCheck,
    #[serde(rename = "skip-exp-check")]
    SkipExpiryCheck,
    #[serde(rename = "skip-iat-check")]
    SkipIssuedAtCheck,
    SkipNonceCheck,
    SkipStateCheck,
    GlobalStateTable,
    NoPkce,
    AcceptLowerLoa,
    AccountsKeyedOnCpr,
    AccountsKeyedOnCprWhenPresent,
    NewAccountPerLogin,
    BusinessLoginAsPrivate,
    BusinessAccountsKeyedOnCvr,
    OneBusinessAccountPerPerson,
    NeverRefreshJwks,
    AnyKeyForUnknownKid,
    FixedState,
    FixedNonce,
    StepUpReusesSession,
    ScopeWithoutOpenid,
    AcceptReplayedCallback,
    IgnoreIdpErrors,
    SkipUserinfoSubCheck,
    AcceptNemidAfterCutoff,
    LogoutKeepsLocalSession,
    LogoutWithoutIdTokenHint,
    IgnoreBackchannelLogout,
    BackchannelLogoutSkipsSignature,
    #[serde(rename = "backchannel-logout-200-on-refusal")]
    BackchannelLogout200OnRefusal,
}

/// Every variant, for the check that the catalogue lists each exactly once.
const VARIANTS: [Flaw; 35] = [
    Flaw::SkipSignatureCheck,
    Flaw::AcceptAlgNone,
    Flaw::AcceptAnyKey,
    Flaw::SkipIssuerCheck,
    Flaw::IssTrailingSlashTolerated,
    Flaw::SkipAudienceCheck,
    Flaw::SkipAzpCheck,
    Flaw::SkipExpiryCheck,
    Flaw::SkipIssuedAtCheck,
    Flaw::SkipNonceCheck,
    Flaw::SkipStateCheck,
    Flaw::GlobalStateTable,
    Flaw::NoPkce,
    Flaw::AcceptLowerLoa,
    Flaw::AccountsKeyedOnCpr,
    Flaw::AccountsKeyedOnCprWhenPresent,
    Flaw::NewAccountPerLogin,
    Flaw::BusinessLoginAsPrivate,
    Flaw::BusinessAccountsKeyedOnCvr,
    Flaw::OneBusinessAccountPerPerson,
    Flaw::NeverRefreshJwks,
    Flaw::AnyKeyForUnknownKid,
    Flaw::FixedState,
    Flaw::FixedNonce,
    Flaw::StepUpReusesSession,
    Flaw::ScopeWithoutOpenid,
    Flaw::AcceptReplayedCallback,
    Flaw::IgnoreIdpErrors,
    Flaw::SkipUserinfoSubCheck,
    Flaw::AcceptNemidAfterCutoff,
    Flaw::LogoutKeepsLocalSession,
    Flaw::LogoutWithoutIdTokenHint,
    Flaw::IgnoreBackchannelLogout,
    Flaw::BackchannelLogoutSkipsSignature,
    Flaw::BackchannelLogout200OnRefusal,
];

/// One entry of a flaw catalogue (`F`: the switches of the reference service provider it
/// describes: [`Flaw`] for the OIDC one, the SAML one's own for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlawEntry<F = Flaw> {
    /// The command-line name (`--flaw NAME`).
    pub name: String,
    /// One line saying what the mistake is.
    pub description: String,
    /// The id of the requirement (in `fixtures/requirements/sp.yaml`) that must fail when the
    /// reference SP makes this mistake alone.
    pub requirement: String,
    /// Where in the reference SP the flaw switches the correct behaviour off.
    pub code_path: String,
    /// The switch, resolved from `name` by the parser.
    #[serde(skip)]
    pub flaw: Option<F>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    flaws: Vec<FlawEntry<()>>,
}

/// The flaw catalogue, in the file's order.
#[derive(Debug, Clone)]
pub struct FlawCatalogue {
    pub entries: Vec<FlawEntry>,
}

/// A flaw catalogue that does not parse or does not match the reference SP's switches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct FlawCatalogueError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl FlawCatalogue {
    /// The compiled-in catalogue, parsed once.
    ///
    /// # Panics
    /// If the compiled-in file is invalid; the crate's tests parse it, so a build that passed
    /// them cannot.
    pub fn embedded() -> &'static FlawCatalogue {
        static CATALOGUE: OnceLock<FlawCatalogue> = OnceLock::new();
        CATALOGUE.get_or_init(|| {
            FlawCatalogue::parse(FLAW_CATALOGUE_YAML, FLAW_CATALOGUE_PATH)
                .unwrap_or_else(|err| panic!("the compiled-in flaw catalogue is invalid: {err}"))
        })
    }

    /// Parses a catalogue and resolves every name to its switch.
    ///
    /// # Errors
    /// A YAML error, an unknown name, a name listed twice, an empty field, or a switch the
    /// catalogue does not list, with the file and line.
    pub fn parse(text: &str, file: &str) -> Result<FlawCatalogue, FlawCatalogueError> {
        parse_entries(text, file, &VARIANTS, "reference service provider")
            .map(|entries| FlawCatalogue { entries })
    }

    /// Every flaw, in the catalogue's order.
    pub fn flaws(&self) -> impl Iterator<Item = Flaw> + '_ {
        self.entries.iter().filter_map(|e| e.flaw)
    }

    /// The entry of `flaw`.
    ///
    /// # Panics
    /// Never for a parsed catalogue: parsing checks that every flaw is listed.
    #[must_use]
    pub fn entry(&self, flaw: Flaw) -> &FlawEntry {
        self.entries
            .iter()
            .find(|e| e.flaw == Some(flaw))
            .expect("a parsed catalogue lists every flaw")
    }

    /// The entry named `name`.
    #[must_use]
    pub fn named(&self, name: &str) -> Option<&FlawEntry> {
        self.entries.iter().find(|e| e.name == name.trim())
    }

    /// Every name, in order.
    #[must_use]
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }
}

/// Parses a flaw catalogue and resolves every name to one of `variants` (the switches the
/// `implementer` has): a YAML error, an unknown name, a name listed twice, an empty field, or a
/// switch the catalogue does not list is refused with the file and line.
pub fn parse_entries<F>(
    text: &str,
    file: &str,
    variants: &[F],
    implementer: &str,
) -> Result<Vec<FlawEntry<F>>, FlawCatalogueError>
where
    F: serde::de::DeserializeOwned + Copy + PartialEq + fmt::Debug,
{
    let error = |line: usize, message: String| FlawCatalogueError {
        file: file.to_owned(),
        line,
        message,
    };
    let parsed: CatalogueFile = serde_yaml::from_str(text)
        .map_err(|e| error(e.location().map_or(1, |l| l.line()), e.to_string()))?;
    let lines = LineIndex::new(text);
    let mut entries = Vec::new();
    let mut seen = Vec::new();
    for (index, raw) in parsed.flaws.into_iter().enumerate() {
        let path = FieldPath(vec![
            PathSegment::Key("flaws".into()),
            PathSegment::Index(index),
            PathSegment::Key("name".into()),
        ]);
        let line = lines.line_of(&path).unwrap_or(1);
        let flaw: F = serde_yaml::from_str(&raw.name).map_err(|_| {
            error(
                line,
                format!(
                    "field `name`: {:?} is no flaw the {implementer} implements",
                    raw.name
                ),
            )
        })?;
        if seen.contains(&flaw) {
            return Err(error(
                line,
                format!("field `name`: {} appears twice", raw.name),
            ));
        }
        for (field, value) in [
            ("description", &raw.description),
            ("requirement", &raw.requirement),
            ("code_path", &raw.code_path),
        ] {
            if value.trim().is_empty() {
                return Err(error(
                    line,
                    format!("field `{field}` of {} is empty", raw.name),
                ));
            }
        }
        seen.push(flaw);
        entries.push(FlawEntry {
            name: raw.name,
            description: raw.description,
            requirement: raw.requirement,
            code_path: raw.code_path,
            flaw: Some(flaw),
        });
    }
    if let Some(missing) = variants.iter().find(|v| !seen.contains(v)) {
        return Err(error(
            1,
            format!("the {implementer} implements {missing:?}, which the catalogue does not list"),
        ));
    }
    Ok(entries)
}

impl Flaw {
    /// Every flaw, in the catalogue's order.
    pub fn all() -> impl Iterator<Item = Flaw> {
        FlawCatalogue::embedded().flaws()
    }

    /// The name used on the command line (`--flaw NAME`).
    #[must_use]
    pub fn name(self) -> &'static str {
        &FlawCatalogue::embedded().entry(self).name
    }

    /// One line saying what the mistake is.
    #[must_use]
    pub fn description(self) -> &'static str {
        &FlawCatalogue::embedded().entry(self).description
    }

    /// The requirement that must catch this flaw.
    #[must_use]
    pub fn requirement(self) -> &'static str {
        &FlawCatalogue::embedded().entry(self).requirement
    }

    /// Where in the reference SP the flaw switches the correct behaviour off.
    #[must_use]
    pub fn code_path(self) -> &'static str {
        &FlawCatalogue::embedded().entry(self).code_path
    }
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown flaw name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown flaw {0:?}; known flaws: {known}", known = FlawCatalogue::embedded().names().join(", "))]
pub struct UnknownFlaw(pub String);

impl FromStr for Flaw {
    type Err = UnknownFlaw;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FlawCatalogue::embedded()
            .named(s)
            .and_then(|e| e.flaw)
            .ok_or_else(|| UnknownFlaw(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalogue_lists_every_flaw_once_with_a_name_that_parses_back() {
        let catalogue = FlawCatalogue::embedded();
        assert_eq!(catalogue.entries.len(), VARIANTS.len());
        for flaw in Flaw::all() {
            assert_eq!(flaw.name().parse::<Flaw>(), Ok(flaw));
            assert!(flaw.requirement().starts_with("SP-"), "{flaw}");
        }
        assert!("skip-everything".parse::<Flaw>().is_err());
    }

    #[test]
    fn an_unknown_or_repeated_name_is_refused_with_its_line() {
        let unknown = "flaws:\n  - name: skip-everything\n    description: d\n    requirement: SP-A-01\n    code_path: c\n";
        let err = FlawCatalogue::parse(unknown, "f.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("f.yaml:2:") && err.contains("skip-everything"),
            "{err}"
        );
        let twice = "flaws:\n  - name: no-pkce\n    description: d\n    requirement: SP-A-01\n    code_path: c\n  - name: no-pkce\n    description: d\n    requirement: SP-A-01\n    code_path: c\n";
        let err = FlawCatalogue::parse(twice, "f.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("twice"), "{err}");
        let short = "flaws:\n  - name: no-pkce\n    description: d\n    requirement: SP-PKCE-01\n    code_path: c\n";
        let err = FlawCatalogue::parse(short, "f.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not list"), "{err}");
    }
}
