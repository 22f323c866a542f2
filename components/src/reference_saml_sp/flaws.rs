//! The reference SAML service provider's named flaws: realistic OIOSAML integration mistakes,
//! each switching off one check of the correct provider.
//!
//! What each flaw is called, what it does wrong and which requirement must catch it is data,
//! [`SAML_FLAW_CATALOGUE_PATH`], compiled in and parsed once. The enum is the code's side only;
//! parsing checks that the two agree (every variant listed once, no unknown name).

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::reference_sp::flaws::{FlawCatalogueError, FlawEntry, parse_entries};

/// Where the flaw catalogue lives, relative to the project root.
pub const SAML_FLAW_CATALOGUE_PATH: &str = "fixtures/requirements/saml-flaws.yaml";

/// The flaw catalogue as compiled in.
pub const SAML_FLAW_CATALOGUE_YAML: &str =
    include_str!("../../../fixtures/requirements/saml-flaws.yaml");

/// A mistake the reference SAML SP can be started with; the serde name is the catalogue's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SamlFlaw {
    AcceptUnsignedAssertion,
    AcceptWrappedAssertion,
    TrustKeyinfoCertificate,
    AcceptUnencryptedAssertion,
    SkipAudienceCheck,
    SkipValidityWindowCheck,
    AcceptReplayedResponse,
    SkipInResponseToCheck,
    AcceptUnsolicitedResponse,
    SkipDestinationCheck,
    SkipRecipientCheck,
    SkipSpecVersionCheck,
    AcceptLowerLoa,
    RequireCpr,
    LogoutKeepsLocalSession,
    AcceptAnyIdentityType,
    BusinessAccountsKeyedOnCvr,
    BusinessAccountsKeyedOnName,
    SkipPrivilegeCheck,
    IgnorePrivilegeScope,
    AcceptNemidAfterCutoff,
}

const VARIANTS: [SamlFlaw; 21] = [
    SamlFlaw::AcceptUnsignedAssertion,
    SamlFlaw::AcceptWrappedAssertion,
    SamlFlaw::TrustKeyinfoCertificate,
    SamlFlaw::AcceptUnencryptedAssertion,
    SamlFlaw::SkipAudienceCheck,
    SamlFlaw::SkipValidityWindowCheck,
    SamlFlaw::AcceptReplayedResponse,
    SamlFlaw::SkipInResponseToCheck,
    SamlFlaw::AcceptUnsolicitedResponse,
    SamlFlaw::SkipDestinationCheck,
    SamlFlaw::SkipRecipientCheck,
    SamlFlaw::SkipSpecVersionCheck,
    SamlFlaw::AcceptLowerLoa,
    SamlFlaw::RequireCpr,
    SamlFlaw::LogoutKeepsLocalSession,
    SamlFlaw::AcceptAnyIdentityType,
    SamlFlaw::BusinessAccountsKeyedOnCvr,
    SamlFlaw::BusinessAccountsKeyedOnName,
    SamlFlaw::SkipPrivilegeCheck,
    SamlFlaw::IgnorePrivilegeScope,
    SamlFlaw::AcceptNemidAfterCutoff,
];

/// One entry of the catalogue.
pub type SamlFlawEntry = FlawEntry<SamlFlaw>;

/// The SAML flaw catalogue, in the file's order.
#[derive(Debug, Clone)]
pub struct SamlFlawCatalogue {
    pub entries: Vec<SamlFlawEntry>,
}

impl SamlFlawCatalogue {
    /// The compiled-in catalogue, parsed once.
    ///
    /// # Panics
    /// If the compiled-in file is invalid; the crate's tests parse it, so a build that passed
    /// them cannot.
    pub fn embedded() -> &'static SamlFlawCatalogue {
        static CATALOGUE: OnceLock<SamlFlawCatalogue> = OnceLock::new();
        CATALOGUE.get_or_init(|| {
            SamlFlawCatalogue::parse(SAML_FLAW_CATALOGUE_YAML, SAML_FLAW_CATALOGUE_PATH)
                .unwrap_or_else(|err| {
                    panic!("the compiled-in SAML flaw catalogue is invalid: {err}")
                })
        })
    }

    /// Parses a catalogue and resolves every name to its switch (file and line on error).
    pub fn parse(text: &str, file: &str) -> Result<SamlFlawCatalogue, FlawCatalogueError> {
        parse_entries(text, file, &VARIANTS, "reference SAML service provider")
            .map(|entries| SamlFlawCatalogue { entries })
    }

    pub fn flaws(&self) -> impl Iterator<Item = SamlFlaw> + '_ {
        self.entries.iter().filter_map(|e| e.flaw)
    }

    /// # Panics
    /// Never for a parsed catalogue: parsing checks that every flaw is listed.
    #[must_use]
    pub fn entry(&self, flaw: SamlFlaw) -> &SamlFlawEntry {
        self.entries
            .iter()
            .find(|e| e.flaw == Some(flaw))
            .expect("a parsed catalogue lists every flaw")
    }

    #[must_use]
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }
}

impl SamlFlaw {
    /// Every flaw, in the catalogue's order.
    pub fn all() -> impl Iterator<Item = SamlFlaw> {
        SamlFlawCatalogue::embedded().flaws()
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        &SamlFlawCatalogue::embedded().entry(self).name
    }

    #[must_use]
    pub fn description(self) -> &'static str {
        &SamlFlawCatalogue::embedded().entry(self).description
    }

    /// The requirement that must catch this flaw.
    #[must_use]
    pub fn requirement(self) -> &'static str {
        &SamlFlawCatalogue::embedded().entry(self).requirement
    }
}

impl fmt::Display for SamlFlaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown SAML flaw name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SAML flaw {0:?}; known flaws: {known}", known = SamlFlawCatalogue::embedded().names().join(", "))]
pub struct UnknownSamlFlaw(pub String);

impl FromStr for SamlFlaw {
    type Err = UnknownSamlFlaw;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SamlFlawCatalogue::embedded()
            .entries
            .iter()
            .find(|e| e.name == s.trim())
            .and_then(|e| e.flaw)
            .ok_or_else(|| UnknownSamlFlaw(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalogue_lists_every_flaw_once_with_a_name_that_parses_back() {
        let catalogue = SamlFlawCatalogue::embedded();
        assert_eq!(catalogue.entries.len(), VARIANTS.len());
        for flaw in SamlFlaw::all() {
            assert_eq!(flaw.name().parse::<SamlFlaw>(), Ok(flaw));
            assert!(flaw.requirement().starts_with("SAML-"), "{flaw}");
        }
        assert!("trust-everyone".parse::<SamlFlaw>().is_err());
    }

    #[test]
    fn an_unknown_name_is_refused_with_its_line() {
        let unknown = "flaws:\n  - name: trust-everyone\n    description: d\n    requirement: SAML-SIG-01\n    code_path: c\n";
        let err = SamlFlawCatalogue::parse(unknown, "f.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("f.yaml:2:") && err.contains("trust-everyone"),
            "{err}"
        );
    }
}
