//! The requirement catalogue (`fixtures/requirements/sp.yaml`) as data.
//!
//! A scenario proves a requirement by carrying the tag `@req:<id>`; the level decides what a
//! failure means (MUST → FAILED, SHOULD → WARNING).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use mitid_fixtures::yaml_lines::line_of;
use serde::{Deserialize, Serialize};

/// Where the catalogue lives, relative to the project root.
pub const CATALOGUE_PATH: &str = "fixtures/requirements/sp.yaml";

/// The catalogue as compiled into the binary, so `certify` works from any directory.
pub const EMBEDDED_CATALOGUE: &str = include_str!("../../fixtures/requirements/sp.yaml");

/// The OIOSAML 3 catalogue (a service provider behind NemLog-in), same shape, ids `SAML-…`.
pub const SAML_CATALOGUE_PATH: &str = "fixtures/requirements/saml.yaml";

pub const EMBEDDED_SAML_CATALOGUE: &str = include_str!("../../fixtures/requirements/saml.yaml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    #[serde(rename = "MUST")]
    Must,
    #[serde(rename = "SHOULD")]
    Should,
}

impl Level {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub rationale: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub requirements: Vec<Requirement>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: PathBuf,
        line: usize,
        message: String,
    },
}

impl Catalogue {
    /// The catalogue compiled into the binary.
    #[must_use]
    pub fn embedded() -> Catalogue {
        Catalogue::parse(EMBEDDED_CATALOGUE, Path::new(CATALOGUE_PATH))
            .expect("the embedded catalogue is checked by the test suite")
    }

    /// The OIOSAML 3 catalogue compiled into the binary.
    #[must_use]
    pub fn embedded_saml() -> Catalogue {
        Catalogue::parse(EMBEDDED_SAML_CATALOGUE, Path::new(SAML_CATALOGUE_PATH))
            .expect("the embedded SAML catalogue is checked by the test suite")
    }

    /// This catalogue's requirements, then `other`'s (the nightly run weighs the OIDC and the
    /// OIOSAML suites in one report; their ids never collide: `SP-` and `SAML-`).
    #[must_use]
    pub fn joined(&self, other: &Catalogue) -> Catalogue {
        Catalogue {
            requirements: self
                .requirements
                .iter()
                .chain(&other.requirements)
                .cloned()
                .collect(),
        }
    }

    pub fn parse(text: &str, file: &Path) -> Result<Catalogue, CatalogueError> {
        let catalogue: Catalogue =
            serde_yaml::from_str(text).map_err(|err| CatalogueError::Invalid {
                file: file.into(),
                line: err.location().map_or(1, |l| l.line()),
                message: err.to_string(),
            })?;
        let mut seen = HashSet::new();
        for (index, requirement) in catalogue.requirements.iter().enumerate() {
            let line = line_of(text, &format!("requirements[{index}].id"));
            let valid_id = (requirement.id.starts_with("SP-")
                || requirement.id.starts_with("SAML-"))
                && requirement
                    .id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
            if !valid_id {
                return Err(CatalogueError::Invalid {
                    file: file.into(),
                    line,
                    message: format!(
                        "field `id`: {:?} must look like SP-AREA-01 or SAML-AREA-01",
                        requirement.id
                    ),
                });
            }
            if !seen.insert(requirement.id.as_str()) {
                return Err(CatalogueError::Invalid {
                    file: file.into(),
                    line,
                    message: format!("field `id`: {} appears twice", requirement.id),
                });
            }
        }
        Ok(catalogue)
    }

    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalogue_parses_and_has_both_levels() {
        let catalogue = Catalogue::embedded();
        assert!(
            catalogue.requirements.len() >= 40,
            "{}",
            catalogue.requirements.len()
        );
        assert!(
            catalogue
                .requirements
                .iter()
                .any(|r| r.level == Level::Should)
        );
    }

    #[test]
    fn every_saml_flaw_names_a_must_requirement_of_the_saml_catalogue() {
        use mitid_components::reference_saml_sp::SamlFlaw;
        let catalogue = Catalogue::embedded_saml();
        for flaw in SamlFlaw::all() {
            let requirement = catalogue
                .get(flaw.requirement())
                .unwrap_or_else(|| panic!("{flaw}: {} is not in saml.yaml", flaw.requirement()));
            assert_eq!(requirement.level, Level::Must, "{flaw}");
        }
    }

    #[test]
    fn duplicate_ids_name_the_line() {
        let text = "requirements:\n  - id: SP-A-01\n    title: t\n    level: MUST\n    rationale: r\n    source: s\n  - id: SP-A-01\n    title: t\n    level: SHOULD\n    rationale: r\n    source: s\n";
        let err = Catalogue::parse(text, Path::new("c.yaml"))
            .unwrap_err()
            .to_string();
        // The line of the repeated entry (the one to fix), not of the first.
        assert!(
            err.starts_with("c.yaml:7:") && err.contains("twice"),
            "{err}"
        );
    }
}
