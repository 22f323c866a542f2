//! The target file (`target.yaml`): how the lab reaches the integrator's service provider and how
//! that service is registered at the lab's broker.
//!
//! `mitid-lab certify init` writes one; `mitid-lab certify --config` reads it. Every problem is a
//! [`TargetError`] naming the file, the line and the field, because an integrator who mistyped a
//! path must get one clear message, not forty failed scenarios.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mitid_fixtures::yaml_lines::line_of;
use serde::{Deserialize, Serialize};
use url::Url;

/// Where the broker listens by default for an external target: a fixed port, because the
/// integrator configures its issuer URL once.
pub const DEFAULT_BROKER_LISTEN: &str = "127.0.0.1:7400";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    pub service_provider: ServiceProviderSection,
    pub client: ClientSection,
    #[serde(default)]
    pub broker: BrokerSection,
}

/// The optional parts of the integrator contract. A target declares which it implements
/// (`service_provider.implements`); a requirement on one it does not declare is SKIPPED (not
/// implemented), and one it declares is held to it: an endpoint that answers 404 fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionalFeature {
    /// `GET {logout_path}` ends the session and sends the browser to `end_session_endpoint`.
    RpInitiatedLogout,
    /// `POST {backchannel_logout_path}` receives the broker's logout tokens.
    BackchannelLogout,
    /// `GET {login_path}?loa=high` from a signed-in browser forces a fresh login at High.
    StepUp,
    /// `GET {business_login_path}` starts a business (`MitID` Erhverv) login: the service asks
    /// the broker for `idp_values=mitid_erhverv` and the `nemlogin` scope, and keeps business
    /// accounts apart from private ones.
    BusinessLogins,
}

impl OptionalFeature {
    pub const ALL: [OptionalFeature; 4] = [
        OptionalFeature::RpInitiatedLogout,
        OptionalFeature::BackchannelLogout,
        OptionalFeature::StepUp,
        OptionalFeature::BusinessLogins,
    ];

    /// The name in the target file.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            OptionalFeature::RpInitiatedLogout => "rp_initiated_logout",
            OptionalFeature::BackchannelLogout => "backchannel_logout",
            OptionalFeature::StepUp => "step_up",
            OptionalFeature::BusinessLogins => "business_logins",
        }
    }

    /// The feature a scenario tag `@needs:...` asks for.
    #[must_use]
    pub fn from_tag(tag: &str) -> Option<OptionalFeature> {
        match tag {
            "needs:logout" => Some(OptionalFeature::RpInitiatedLogout),
            "needs:backchannel" => Some(OptionalFeature::BackchannelLogout),
            "needs:step-up" => Some(OptionalFeature::StepUp),
            "needs:business" => Some(OptionalFeature::BusinessLogins),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceProviderSection {
    /// Base URL of the service provider (`--target` overrides it).
    pub base_url: String,
    /// The optional parts the service implements. Required: `None` only for a file written
    /// before the field existed, which `validate` refuses with what to add.
    #[serde(default)]
    pub implements: Option<Vec<OptionalFeature>>,
    #[serde(default = "default_login_path")]
    pub login_path: String,
    #[serde(default = "default_me_path")]
    pub me_path: String,
    /// RP-initiated logout; the logout scenarios are SKIPPED without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logout_path: Option<String>,
    /// Back-channel logout endpoint; the back-channel scenarios are SKIPPED without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_path: Option<String>,
    /// Starts a business (`MitID` Erhverv) login, e.g. `/login?identity=professional`; the
    /// business-login scenarios are SKIPPED without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_login_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSection {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    /// Extra redirect URIs the service may use after logout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerSection {
    /// `host:port` the lab's broker (the issuer) listens on.
    #[serde(default = "default_listen")]
    pub listen: String,
}

impl Default for BrokerSection {
    fn default() -> Self {
        BrokerSection {
            listen: default_listen(),
        }
    }
}

/// The service's login and session paths when its target file does not say (OIDC and OIOSAML).
pub(crate) fn default_login_path() -> String {
    "/login".into()
}
pub(crate) fn default_me_path() -> String {
    "/me".into()
}
fn default_listen() -> String {
    DEFAULT_BROKER_LISTEN.into()
}

/// A target file problem: which file, which line, which field, what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{flag}: {message}")]
    Flag { flag: &'static str, message: String },
    #[error("{file}:{line}: field `{field}`: {message}")]
    Field {
        file: PathBuf,
        line: usize,
        field: String,
        message: String,
    },
}

/// A validated target: URLs parsed, paths joined.
#[derive(Debug, Clone)]
pub struct Target {
    pub base_url: Url,
    pub login_url: Url,
    pub me_url: Url,
    pub logout_url: Option<Url>,
    pub backchannel_logout_url: Option<Url>,
    pub business_login_url: Option<Url>,
    /// What the service declares it implements of the optional parts.
    pub implements: BTreeSet<OptionalFeature>,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: Url,
    pub post_logout_redirect_uris: Vec<String>,
    pub broker_listen: std::net::SocketAddr,
}

/// Reads a target file's YAML into `T` (the OIDC or the OIOSAML file); a syntax or type error
/// names the file and the line the YAML parser stopped at.
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &Path,
) -> Result<T, TargetError> {
    serde_yaml::from_str(text).map_err(|err| TargetError::Invalid {
        file: file.into(),
        line: err.location().map_or(1, |l| l.line()),
        message: err.to_string(),
    })
}

impl TargetFile {
    pub fn parse(text: &str, file: &Path) -> Result<TargetFile, TargetError> {
        parse_yaml(text, file)
    }

    /// Checks every field; `base_override` is `--target URL`.
    pub fn validate(
        &self,
        text: &str,
        file: &Path,
        base_override: Option<&str>,
    ) -> Result<Target, TargetError> {
        let field_error = |field: &str, message: String| TargetError::Field {
            file: file.into(),
            line: line_of(text, field),
            field: field.into(),
            message,
        };
        let base_url = service_base(base_override, &self.service_provider.base_url, &field_error)?;
        let join =
            |field: &str, path: &str| join_service_path(&base_url, field, path, &field_error);
        let sp = &self.service_provider;
        let login_url = join("service_provider.login_path", &sp.login_path)?;
        let me_url = join("service_provider.me_path", &sp.me_path)?;
        let logout_url = sp
            .logout_path
            .as_deref()
            .map(|p| join("service_provider.logout_path", p))
            .transpose()?;
        let backchannel_logout_url = sp
            .backchannel_logout_path
            .as_deref()
            .map(|p| join("service_provider.backchannel_logout_path", p))
            .transpose()?;
        let business_login_url = sp
            .business_login_path
            .as_deref()
            .map(|p| join("service_provider.business_login_path", p))
            .transpose()?;
        let implements = self.check_implements(text, file)?;
        if self.client.client_id.trim().is_empty() {
            return Err(field_error("client.client_id", "must not be empty".into()));
        }
        if self.client.client_secret.len() < 16 {
            return Err(field_error(
                "client.client_secret",
                "must be at least 16 characters".into(),
            ));
        }
        let redirect_uri = parse_http_url(&self.client.redirect_uri)
            .map_err(|m| field_error("client.redirect_uri", m))?;
        if redirect_uri.fragment().is_some() {
            return Err(field_error(
                "client.redirect_uri",
                "must not have a fragment (RFC 6749 §3.1.2)".into(),
            ));
        }
        let broker_listen = self.broker.listen.parse().map_err(|e| {
            field_error(
                "broker.listen",
                format!("{:?} is not host:port ({e})", self.broker.listen),
            )
        })?;
        Ok(Target {
            base_url,
            login_url,
            me_url,
            logout_url,
            backchannel_logout_url,
            business_login_url,
            implements,
            client_id: self.client.client_id.clone(),
            client_secret: self.client.client_secret.clone(),
            redirect_uri,
            post_logout_redirect_uris: self.client.post_logout_redirect_uris.clone(),
            broker_listen,
        })
    }

    /// `service_provider.implements`: present, and consistent with the paths (a declared
    /// logout has its path; a path belongs to a declared feature).
    fn check_implements(
        &self,
        text: &str,
        file: &Path,
    ) -> Result<BTreeSet<OptionalFeature>, TargetError> {
        let sp = &self.service_provider;
        let Some(listed) = &sp.implements else {
            return Err(TargetError::Field {
                file: file.into(),
                line: line_of(text, "service_provider.implements"),
                field: "service_provider.implements".into(),
                message: format!(
                    "missing: this target file predates declared optional features. Add under `service_provider:` the line `implements: [{}]`, keeping only what your service implements (`implements: []` for none), or write a new file with `mitid-lab certify init`",
                    OptionalFeature::ALL.map(OptionalFeature::name).join(", ")
                ),
            });
        };
        let implements: BTreeSet<OptionalFeature> = listed.iter().copied().collect();
        let line = line_of(text, "service_provider.implements");
        let pairs = [
            (
                OptionalFeature::RpInitiatedLogout,
                "logout_path",
                sp.logout_path.is_some(),
            ),
            (
                OptionalFeature::BackchannelLogout,
                "backchannel_logout_path",
                sp.backchannel_logout_path.is_some(),
            ),
            (
                OptionalFeature::BusinessLogins,
                "business_login_path",
                sp.business_login_path.is_some(),
            ),
        ];
        for (feature, path_field, has_path) in pairs {
            let declared = implements.contains(&feature);
            if declared && !has_path {
                return Err(TargetError::Field {
                    file: file.into(),
                    line,
                    field: "service_provider.implements".into(),
                    message: format!(
                        "lists {} but service_provider.{path_field} is not set: add the path of that endpoint, or remove {} from implements",
                        feature.name(),
                        feature.name()
                    ),
                });
            }
            if !declared && has_path {
                return Err(TargetError::Field {
                    file: file.into(),
                    line: line_of(text, &format!("service_provider.{path_field}")),
                    field: format!("service_provider.{path_field}"),
                    message: format!(
                        "is set but service_provider.implements does not list {}: add {} to implements if your service has this endpoint, or remove the path",
                        feature.name(),
                        feature.name()
                    ),
                });
            }
        }
        Ok(implements)
    }

    /// The file `certify init` writes, with comments telling the integrator what each field is.
    #[must_use]
    pub fn to_commented_yaml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# mitid-lab certification target, written by `mitid-lab certify init`."
        );
        let _ = writeln!(
            out,
            "# The client secret is a test-only secret for the lab's broker: never use it elsewhere."
        );
        let _ = writeln!(out, "service_provider:");
        let _ = writeln!(
            out,
            "  # Your service as the lab's browser reaches it (`--target URL` overrides this)."
        );
        let _ = writeln!(out, "  base_url: {}", self.service_provider.base_url);
        let _ = writeln!(
            out,
            "  # Starts a login (optional ?loa=low|substantial|high) with a redirect to the broker."
        );
        let _ = writeln!(out, "  login_path: {}", self.service_provider.login_path);
        let _ = writeln!(
            out,
            "  # 200 + JSON with at least `sub` once logged in, 401 otherwise."
        );
        let _ = writeln!(out, "  me_path: {}", self.service_provider.me_path);
        let _ = writeln!(
            out,
            "  # The optional parts your service implements, of: {}.",
            OptionalFeature::ALL.map(OptionalFeature::name).join(", ")
        );
        let _ = writeln!(
            out,
            "  # Requirements on a part not listed are SKIPPED (not implemented); a listed one is tested."
        );
        let _ = writeln!(
            out,
            "  implements: [{}]",
            self.service_provider
                .implements
                .iter()
                .flatten()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let sp = &self.service_provider;
        optional_path(
            &mut out,
            "logout_path",
            sp.logout_path.as_deref(),
            None,
            "/logout   (with rp_initiated_logout in implements)",
        );
        optional_path(
            &mut out,
            "backchannel_logout_path",
            sp.backchannel_logout_path.as_deref(),
            None,
            "/backchannel-logout   (with backchannel_logout in implements)",
        );
        optional_path(
            &mut out,
            "business_login_path",
            sp.business_login_path.as_deref(),
            Some(
                "Starts a business (MitID Erhverv) login: idp_values=mitid_erhverv, scope nemlogin.",
            ),
            "/login?identity=professional   (with business_logins in implements)",
        );
        let _ = writeln!(out, "client:");
        let _ = writeln!(out, "  client_id: {}", self.client.client_id);
        let _ = writeln!(out, "  client_secret: {}", self.client.client_secret);
        let _ = writeln!(out, "  redirect_uri: {}", self.client.redirect_uri);
        // The broker accepts these (and only these) as post_logout_redirect_uri at its
        // end_session_endpoint, so the file must carry what `init` tells the integrator to use.
        if !self.client.post_logout_redirect_uris.is_empty() {
            let _ = writeln!(
                out,
                "  # Where the broker may send the browser after RP-initiated logout."
            );
            let _ = writeln!(out, "  post_logout_redirect_uris:");
            for uri in &self.client.post_logout_redirect_uris {
                let _ = writeln!(out, "    - {uri}");
            }
        }
        let _ = writeln!(out, "broker:");
        let _ = writeln!(
            out,
            "  # The lab's MitID broker listens here; its issuer is http://<listen>."
        );
        let _ = writeln!(out, "  listen: {}", self.broker.listen);
        out
    }
}

/// One optional path of the written file: the line (after its comment) when set, else a
/// commented-out example.
fn optional_path(
    out: &mut String,
    field: &str,
    path: Option<&str>,
    comment: Option<&str>,
    example: &str,
) {
    match path {
        Some(p) => {
            if let Some(comment) = comment {
                let _ = writeln!(out, "  # {comment}");
            }
            let _ = writeln!(out, "  {field}: {p}");
        }
        None => {
            let _ = writeln!(out, "  # {field}: {example}");
        }
    }
}

pub(crate) fn parse_http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("{text:?} must be an http(s) URL"));
    }
    if url.host_str().is_none() {
        return Err(format!("{text:?} has no host"));
    }
    Ok(url)
}

/// The service's base URL: `--target URL` when given (its error names the flag), else the
/// file's `service_provider.base_url` (its error names the field). Shared by the OIDC and
/// OIOSAML target files.
pub(crate) fn service_base(
    base_override: Option<&str>,
    base_url: &str,
    field_error: &dyn Fn(&str, String) -> TargetError,
) -> Result<Url, TargetError> {
    parse_http_url(base_override.unwrap_or(base_url)).map_err(|message| {
        if base_override.is_some() {
            TargetError::Flag {
                flag: "--target",
                message,
            }
        } else {
            field_error("service_provider.base_url", message)
        }
    })
}

/// One of the service's paths (`login_path`, …) joined to its base URL; the path must start
/// with `/` so it cannot silently point at another host.
pub(crate) fn join_service_path(
    base_url: &Url,
    field: &str,
    path: &str,
    field_error: &dyn Fn(&str, String) -> TargetError,
) -> Result<Url, TargetError> {
    if !path.starts_with('/') {
        return Err(field_error(
            field,
            format!("must be a path starting with `/`, got {path:?}"),
        ));
    }
    base_url
        .join(path)
        .map_err(|e| field_error(field, format!("{path:?} is not a valid path: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "service_provider:\n  base_url: http://127.0.0.1:8080\n  implements: []\nclient:\n  client_id: shop\n  client_secret: 0123456789abcdef0123\n  redirect_uri: http://127.0.0.1:8080/callback\n";

    #[test]
    fn a_good_file_validates_with_defaults() {
        let file = TargetFile::parse(GOOD, Path::new("t.yaml")).unwrap();
        let target = file.validate(GOOD, Path::new("t.yaml"), None).unwrap();
        assert_eq!(target.me_url.as_str(), "http://127.0.0.1:8080/me");
        assert_eq!(target.broker_listen.to_string(), DEFAULT_BROKER_LISTEN);
        let again = TargetFile::parse(&file.to_commented_yaml(), Path::new("t.yaml")).unwrap();
        assert_eq!(again, file);
    }

    #[test]
    fn post_logout_redirect_uris_survive_the_written_file() {
        let mut file = TargetFile::parse(GOOD, Path::new("t.yaml")).unwrap();
        file.client.post_logout_redirect_uris = vec!["http://127.0.0.1:8080/".into()];
        let text = file.to_commented_yaml();
        let again = TargetFile::parse(&text, Path::new("t.yaml")).unwrap();
        assert_eq!(again, file, "{text}");
        let target = again.validate(&text, Path::new("t.yaml"), None).unwrap();
        assert_eq!(target.post_logout_redirect_uris, ["http://127.0.0.1:8080/"]);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let bad = GOOD.replace("http://127.0.0.1:8080/callback", "not a url");
        let file = TargetFile::parse(&bad, Path::new("t.yaml")).unwrap();
        let err = file
            .validate(&bad, Path::new("t.yaml"), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("t.yaml")
                && err.contains("client.redirect_uri")
                && err.contains("t.yaml:7:"),
            "{err}"
        );
        let typo = GOOD.replace("client_id", "clientid");
        let err = TargetFile::parse(&typo, Path::new("t.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("t.yaml:5") && err.contains("clientid"),
            "{err}"
        );
    }

    #[test]
    fn a_file_without_implements_is_refused_with_what_to_add() {
        let old = GOOD.replace("  implements: []\n", "");
        let file = TargetFile::parse(&old, Path::new("t.yaml")).unwrap();
        let err = file
            .validate(&old, Path::new("t.yaml"), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("t.yaml:1: field `service_provider.implements`: missing")
                && err.contains(
                    "implements: [rp_initiated_logout, backchannel_logout, step_up, business_logins]"
                ),
            "{err}"
        );
    }

    #[test]
    fn a_declared_logout_needs_its_path_and_a_path_needs_its_declaration() {
        let declared = GOOD.replace("implements: []", "implements: [backchannel_logout]");
        let file = TargetFile::parse(&declared, Path::new("t.yaml")).unwrap();
        let err = file
            .validate(&declared, Path::new("t.yaml"), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("t.yaml:3:") && err.contains("backchannel_logout_path is not set"),
            "{err}"
        );
        let undeclared = GOOD.replace(
            "implements: []",
            "implements: []\n  backchannel_logout_path: /bc",
        );
        let file = TargetFile::parse(&undeclared, Path::new("t.yaml")).unwrap();
        let err = file
            .validate(&undeclared, Path::new("t.yaml"), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("t.yaml:4: field `service_provider.backchannel_logout_path`"),
            "{err}"
        );
        let both = GOOD.replace(
            "implements: []",
            "implements: [backchannel_logout, step_up]\n  backchannel_logout_path: /bc",
        );
        let file = TargetFile::parse(&both, Path::new("t.yaml")).unwrap();
        let target = file.validate(&both, Path::new("t.yaml"), None).unwrap();
        assert!(target.implements.contains(&OptionalFeature::StepUp));
        assert_eq!(
            TargetFile::parse(&file.to_commented_yaml(), Path::new("t.yaml")).unwrap(),
            file
        );
    }

    /// Why a target file that parses does not validate.
    fn refusal(text: &str) -> String {
        let file = TargetFile::parse(text, Path::new("t.yaml")).unwrap();
        file.validate(text, Path::new("t.yaml"), None)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn business_logins_need_their_path_and_the_path_its_declaration() {
        let declared = GOOD.replace("implements: []", "implements: [business_logins]");
        let err = refusal(&declared);
        assert!(
            err.starts_with("t.yaml:3: field `service_provider.implements`")
                && err.contains("business_login_path is not set"),
            "{err}"
        );
        let undeclared = GOOD.replace(
            "implements: []",
            "implements: []\n  business_login_path: /login?identity=professional",
        );
        let err = refusal(&undeclared);
        assert!(
            err.starts_with("t.yaml:4: field `service_provider.business_login_path`")
                && err.contains("does not list business_logins"),
            "{err}"
        );
        let relative = GOOD.replace(
            "implements: []",
            "implements: [business_logins]\n  business_login_path: login/business",
        );
        let err = refusal(&relative);
        assert!(
            err.starts_with("t.yaml:4: field `service_provider.business_login_path`")
                && err.contains("starting with `/`"),
            "{err}"
        );
        let good = relative.replace("login/business", "/login?identity=professional");
        let file = TargetFile::parse(&good, Path::new("t.yaml")).unwrap();
        let target = file.validate(&good, Path::new("t.yaml"), None).unwrap();
        assert_eq!(
            target.business_login_url.unwrap().as_str(),
            "http://127.0.0.1:8080/login?identity=professional"
        );
        assert_eq!(
            TargetFile::parse(&file.to_commented_yaml(), Path::new("t.yaml")).unwrap(),
            file
        );
    }
}
