//! The claim profile: which claims the `IdP` releases under which names for which scopes, and how
//! long its tokens live. Data, not code: `fixtures/claim-profiles/mitid-broker.yaml` is built in
//! and another file can be loaded with [`ClaimProfile::from_path`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// The profile the lab ships (`fixtures/claim-profiles/mitid-broker.yaml`).
pub const MITID_BROKER_YAML: &str =
    include_str!("../../../fixtures/claim-profiles/mitid-broker.yaml");

/// The values the `IdP` knows how to fill; a profile names each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimKey {
    Uuid,
    DateOfBirth,
    Age,
    IdentityName,
    IalIdentityAssuranceLevel,
    TransactionId,
    HasCpr,
    Cpr,
    NemidPid,
    Idp,
    IdentityType,
    Loa,
    Ial,
    Aal,
    Amr,
    /// Business logins: the company's CVR number.
    Cvr,
    /// Business logins: the company's name.
    OrgName,
    /// Business logins: the persistent professional id of this person acting for this company.
    PersistentProfessionalId,
    /// Business logins: the RID of the employee's former NemID employee signature, if any.
    Rid,
    /// Business logins: the privileges the company grants the employee.
    Privileges,
}

impl ClaimKey {
    /// Whether the key describes the company of a business login (no value in a private one).
    #[must_use]
    pub const fn is_professional(self) -> bool {
        matches!(
            self,
            ClaimKey::Cvr
                | ClaimKey::OrgName
                | ClaimKey::PersistentProfessionalId
                | ClaimKey::Rid
                | ClaimKey::Privileges
        )
    }
}

/// How a profile names business (`MitID` Erhverv) logins.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfessionalProfile {
    /// The `idp_values` entry asking for a business login, and the `idp` claim of one.
    pub idp_value: String,
    /// The `identity_type` claim of a business login.
    pub identity_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifetimes {
    pub id_token_seconds: u64,
    pub access_token_seconds: u64,
    pub authorization_code_seconds: u64,
    /// How long a citizen may take on the login pages.
    pub login_seconds: u64,
}

/// A loaded, checked claim profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimProfile {
    pub name: String,
    /// Accepted values of the `idp_values` request parameter.
    pub idp_values: Vec<String>,
    /// Claim key → the claim's name in tokens.
    pub claims: BTreeMap<ClaimKey, String>,
    /// Scope → claim keys it releases.
    pub scopes: BTreeMap<String, Vec<ClaimKey>>,
    pub identity_type_person: String,
    pub lifetimes: Lifetimes,
    /// The `idp` claim (and `idp_values` entry) of a `NemID` login; no `NemID` logins without it.
    #[serde(default)]
    pub nemid_idp_value: Option<String>,
    /// Business (`MitID` Erhverv) logins; no business logins without it.
    #[serde(default)]
    pub professional: Option<ProfessionalProfile>,
}

/// A profile that does not load, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("claim profile {file}: cannot read: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("claim profile {file}: {detail}")]
    Parse { file: String, detail: String },
    #[error("claim profile {file}: field `{field}`: {detail}")]
    Invalid {
        file: String,
        field: String,
        detail: String,
    },
}

impl ClaimProfile {
    /// The built-in `MitID` broker profile.
    ///
    /// # Panics
    /// Never in a built crate: the fixture is checked by a test and compiled in.
    #[must_use]
    pub fn mitid_broker() -> ClaimProfile {
        ClaimProfile::from_yaml(
            MITID_BROKER_YAML,
            "fixtures/claim-profiles/mitid-broker.yaml",
        )
        .unwrap_or_else(|e| panic!("built-in claim profile is broken: {e}"))
    }

    pub fn from_path(path: &Path) -> Result<ClaimProfile, ProfileError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            file: file.clone(),
            source,
        })?;
        ClaimProfile::from_yaml(&text, &file)
    }

    /// Parses and checks a profile; `file` names it in errors (serde's text carries the line).
    pub fn from_yaml(text: &str, file: &str) -> Result<ClaimProfile, ProfileError> {
        let profile: ClaimProfile =
            serde_yaml::from_str(text).map_err(|e| ProfileError::Parse {
                file: file.to_owned(),
                detail: e.to_string(),
            })?;
        let invalid = |field: String, detail: String| ProfileError::Invalid {
            file: file.to_owned(),
            field,
            detail,
        };
        if !profile.scopes.contains_key("openid") {
            return Err(invalid(
                "scopes".into(),
                "must define the `openid` scope".into(),
            ));
        }
        for (scope, keys) in &profile.scopes {
            for key in keys {
                if !profile.claims.contains_key(key) {
                    return Err(invalid(
                        format!("scopes.{scope}"),
                        format!("claim key `{key:?}` has no name under `claims`"),
                    ));
                }
            }
        }
        for (key, name) in &profile.claims {
            if name.is_empty()
                || matches!(
                    name.as_str(),
                    "iss" | "sub" | "aud" | "exp" | "iat" | "nonce"
                )
            {
                return Err(invalid(
                    format!("claims.{key:?}"),
                    format!("`{name}` is empty or a registered JWT claim"),
                ));
            }
        }
        if let Some(p) = &profile.professional
            && !profile.idp_values.contains(&p.idp_value)
        {
            return Err(invalid(
                "professional.idp_value".into(),
                format!("`{}` is not one of idp_values", p.idp_value),
            ));
        }
        if let Some(v) = &profile.nemid_idp_value
            && !profile.idp_values.contains(v)
        {
            return Err(invalid(
                "nemid_idp_value".into(),
                format!("`{v}` is not one of idp_values"),
            ));
        }
        let l = &profile.lifetimes;
        for (field, value) in [
            ("id_token_seconds", l.id_token_seconds),
            ("access_token_seconds", l.access_token_seconds),
            ("authorization_code_seconds", l.authorization_code_seconds),
            ("login_seconds", l.login_seconds),
        ] {
            if value == 0 {
                return Err(invalid(
                    format!("lifetimes.{field}"),
                    "must be positive".into(),
                ));
            }
        }
        Ok(profile)
    }

    /// The claim name for `key`, if the profile releases it at all.
    #[must_use]
    pub fn name(&self, key: ClaimKey) -> Option<&str> {
        self.claims.get(&key).map(String::as_str)
    }

    /// Whether `idp_values` asks for a business (`MitID` Erhverv) login: the first value the
    /// profile knows is its professional one.
    #[must_use]
    pub fn asks_for_professional(&self, idp_values: &[String]) -> bool {
        let Some(professional) = &self.professional else {
            return false;
        };
        idp_values
            .iter()
            .find(|v| self.idp_values.contains(v))
            .is_some_and(|v| *v == professional.idp_value)
    }

    /// The scopes the profile knows (for discovery's `scopes_supported`).
    pub fn scope_names(&self) -> impl Iterator<Item = &str> {
        self.scopes.keys().map(String::as_str)
    }

    /// Claim keys released for a set of granted scopes, deduplicated.
    #[must_use]
    pub fn keys_for<'a>(&self, scopes: impl IntoIterator<Item = &'a str>) -> Vec<ClaimKey> {
        let mut keys: Vec<ClaimKey> = scopes
            .into_iter()
            .filter_map(|s| self.scopes.get(s))
            .flatten()
            .copied()
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_profile_names_business_logins() {
        let profile = ClaimProfile::mitid_broker();
        let professional = profile
            .professional
            .as_ref()
            .expect("a professional section");
        assert_eq!(professional.identity_type, "professional");
        assert!(profile.asks_for_professional(&["mitid_erhverv".to_owned()]));
        assert!(profile.asks_for_professional(&["unknown".to_owned(), "mitid_erhverv".to_owned()]));
        assert!(!profile.asks_for_professional(&["mitid".to_owned(), "mitid_erhverv".to_owned()]));
        assert!(!profile.asks_for_professional(&[]));
        for key in profile.keys_for(["nemlogin"]) {
            assert!(key.is_professional(), "{key:?}");
        }
        assert_eq!(profile.name(ClaimKey::Cvr), Some("nemlogin.cvr"));
    }

    #[test]
    fn a_professional_idp_value_the_profile_does_not_accept_is_refused() {
        let text = MITID_BROKER_YAML.replace("idp_value: mitid_erhverv", "idp_value: erhverv");
        let err = ClaimProfile::from_yaml(&text, "p.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("p.yaml")
                && err.contains("professional.idp_value")
                && err.contains("erhverv"),
            "{err}"
        );
    }
}
