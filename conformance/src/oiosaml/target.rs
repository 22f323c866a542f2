//! The OIOSAML target file (`target.yaml` with `protocol: oiosaml`) and the service provider's
//! metadata it points to.
//!
//! `mitid-lab certify init --protocol oiosaml` writes both (with the lab's IdP metadata and the
//! test certificates beside them); `mitid-lab certify --protocol oiosaml --config` reads them.
//! Every problem is a [`TargetError`] naming the file, the line and the field, the metadata's
//! included: an integrator whose metadata lacks an encryption certificate gets that one sentence,
//! not eighteen failed requirements.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mitid_components::saml::metadata::{self, EntityMetadata};
use mitid_components::saml::{ns, uri};
use mitid_fixtures::yaml_lines::line_of;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::target::{
    OptionalFeature, TargetError, join_service_path, parse_http_url, service_base,
};

/// Where the lab's NemLog-in listens by default for an external target: a fixed port, because
/// its entityID and endpoints (in the IdP metadata the service registers) are URLs on it.
pub const DEFAULT_NEMLOGIN_LISTEN: &str = "127.0.0.1:7450";

/// The value of `protocol` in an OIOSAML target file.
pub const PROTOCOL: &str = "oiosaml";

/// What the first line of every text file `certify init --protocol oiosaml` writes carries, so
/// a later `init` may replace it. No `--` in it: it also heads XML files, in a comment.
pub const INIT_MARK: &str = "written by mitid-lab certify init (OIOSAML)";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlTargetFile {
    /// Always `oiosaml`: an OIDC target file given to the SAML run (or the reverse) is refused
    /// by name, not by a puzzling missing field.
    pub protocol: String,
    pub service_provider: SamlServiceProviderSection,
    #[serde(default)]
    pub nemlogin: NemloginSection,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlServiceProviderSection {
    /// Base URL of the service (`--target` overrides it).
    pub base_url: String,
    /// The optional parts it implements: `rp_initiated_logout` (single logout) and
    /// `business_logins` (`MitID` Erhverv through NemLog-in).
    pub implements: Vec<OptionalFeature>,
    #[serde(default = "crate::target::default_login_path")]
    pub login_path: String,
    #[serde(default = "crate::target::default_me_path")]
    pub me_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logout_path: Option<String>,
    /// Starts a business login (the `AuthnRequest` asks for `https://data.gov.dk/eid/Professional`),
    /// e.g. `/login?identity=professional`; the business scenarios are SKIPPED without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_login_path: Option<String>,
    /// The privilege (URI) the service demands of a business login, granted for the login's
    /// company in `privilegesIntermediate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_privilege: Option<String>,
    /// The service's SAML metadata, relative to the target file.
    pub metadata: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NemloginSection {
    /// `host:port` the lab's NemLog-in listens on; its entityID is `http://<listen>`.
    #[serde(default = "default_listen")]
    pub listen: String,
}

impl Default for NemloginSection {
    fn default() -> Self {
        NemloginSection {
            listen: default_listen(),
        }
    }
}

fn default_listen() -> String {
    DEFAULT_NEMLOGIN_LISTEN.into()
}

/// A validated OIOSAML target.
#[derive(Debug, Clone)]
pub struct SamlTarget {
    pub base_url: Url,
    pub login_url: Url,
    pub me_url: Url,
    pub logout_url: Option<Url>,
    pub business_login_url: Option<Url>,
    pub business_privilege: Option<String>,
    pub implements: BTreeSet<OptionalFeature>,
    /// The service's metadata as written, registered at NemLog-in.
    pub metadata_xml: String,
    pub metadata: EntityMetadata,
    pub nemlogin_listen: std::net::SocketAddr,
}

impl SamlTargetFile {
    pub fn parse(text: &str, file: &Path) -> Result<SamlTargetFile, TargetError> {
        crate::target::parse_yaml(text, file)
    }

    /// Checks every field and reads the metadata; `base_override` is `--target URL`.
    pub fn validate(
        &self,
        text: &str,
        file: &Path,
        base_override: Option<&str>,
    ) -> Result<SamlTarget, TargetError> {
        let field_error = |field: &str, message: String| TargetError::Field {
            file: file.into(),
            line: line_of(text, field),
            field: field.into(),
            message,
        };
        if self.protocol != PROTOCOL {
            return Err(field_error(
                "protocol",
                format!(
                    "{:?}: this file is for `certify --protocol oiosaml`, whose files say `protocol: oiosaml`",
                    self.protocol
                ),
            ));
        }
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
        let business_login_url = sp
            .business_login_path
            .as_deref()
            .map(|p| join("service_provider.business_login_path", p))
            .transpose()?;
        let implements = self.check_implements(&field_error)?;
        let declares_logout = implements.contains(&OptionalFeature::RpInitiatedLogout);
        let nemlogin_listen = self.nemlogin.listen.parse().map_err(|e| {
            field_error(
                "nemlogin.listen",
                format!("{:?} is not host:port ({e})", self.nemlogin.listen),
            )
        })?;
        let metadata_path = file
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(&sp.metadata);
        let metadata_xml = std::fs::read_to_string(&metadata_path).map_err(|e| {
            field_error(
                "service_provider.metadata",
                format!("cannot read {}: {e}", metadata_path.display()),
            )
        })?;
        let metadata = validate_sp_metadata(&metadata_xml, &metadata_path)?;
        if declares_logout && metadata.slo.is_none() {
            return Err(TargetError::Field {
                file: metadata_path,
                line: 1,
                field: "md:SPSSODescriptor/md:SingleLogoutService".into(),
                message: "the target declares rp_initiated_logout, but the metadata has no SingleLogoutService with the HTTP-Redirect binding (NemLog-in answers the LogoutRequest there)".into(),
            });
        }
        Ok(SamlTarget {
            base_url,
            login_url,
            me_url,
            logout_url,
            business_login_url,
            business_privilege: sp.business_privilege.clone(),
            implements,
            metadata_xml,
            metadata,
            nemlogin_listen,
        })
    }

    /// `service_provider.implements`: single logout and business logins only, each declared
    /// exactly when its paths are set.
    fn check_implements(
        &self,
        field_error: &dyn Fn(&str, String) -> TargetError,
    ) -> Result<BTreeSet<OptionalFeature>, TargetError> {
        let sp = &self.service_provider;
        let mut implements = BTreeSet::new();
        for feature in &sp.implements {
            if !matches!(
                feature,
                OptionalFeature::RpInitiatedLogout | OptionalFeature::BusinessLogins
            ) {
                return Err(field_error(
                    "service_provider.implements",
                    format!(
                        "{}: an OIOSAML service declares only rp_initiated_logout (single logout) and business_logins",
                        feature.name()
                    ),
                ));
            }
            implements.insert(*feature);
        }
        let pairs = [
            (
                OptionalFeature::RpInitiatedLogout,
                "service_provider.logout_path",
                sp.logout_path.is_some(),
            ),
            (
                OptionalFeature::BusinessLogins,
                "service_provider.business_login_path",
                sp.business_login_path.is_some(),
            ),
            (
                OptionalFeature::BusinessLogins,
                "service_provider.business_privilege",
                sp.business_privilege.is_some(),
            ),
        ];
        for (feature, field, present) in pairs {
            let declared = implements.contains(&feature);
            if declared != present {
                return Err(field_error(
                    if declared {
                        "service_provider.implements"
                    } else {
                        field
                    },
                    format!(
                        "{} in `implements` and `{}` go together: declare both or neither",
                        feature.name(),
                        field.trim_start_matches("service_provider.")
                    ),
                ));
            }
        }
        if let Some(privilege) = sp.business_privilege.as_deref()
            && privilege.trim().is_empty()
        {
            return Err(field_error(
                "service_provider.business_privilege",
                "empty: name the privilege URI your service demands of a business login".into(),
            ));
        }
        Ok(implements)
    }

    /// The file `certify init --protocol oiosaml` writes: every field with a comment.
    #[must_use]
    pub fn to_commented_yaml(&self) -> String {
        let mut out = String::new();
        let sp = &self.service_provider;
        let _ = writeln!(
            out,
            "# {INIT_MARK}: the target file of an OIOSAML service; edit freely."
        );
        let _ = writeln!(
            out,
            "# Run: mitid-lab certify --protocol oiosaml --target {} --config <this file>",
            sp.base_url
        );
        let _ = writeln!(out, "protocol: {PROTOCOL}");
        let _ = writeln!(out, "service_provider:");
        let _ = writeln!(
            out,
            "  # Where the lab reaches your service (--target overrides it)."
        );
        let _ = writeln!(out, "  base_url: {}", sp.base_url);
        let _ = writeln!(
            out,
            "  # Optional parts you implement: rp_initiated_logout (single logout), business_logins, or []."
        );
        let implements: Vec<&str> = sp.implements.iter().map(|f| f.name()).collect();
        let _ = writeln!(out, "  implements: [{}]", implements.join(", "));
        let _ = writeln!(
            out,
            "  # GET: 302 to NemLog-in with a signed AuthnRequest (HTTP-Redirect); ?loa=low|substantial|high."
        );
        let _ = writeln!(out, "  login_path: {}", sp.login_path);
        let _ = writeln!(
            out,
            "  # GET: 200 JSON {{\"sub\": <the persistent NameID>, \"account\": <your account id>}} with a session, else 401."
        );
        let _ = writeln!(out, "  me_path: {}", sp.me_path);
        match &sp.logout_path {
            Some(path) => {
                let _ = writeln!(
                    out,
                    "  # GET: ends your session, then 302 to NemLog-in's SLO with a signed LogoutRequest."
                );
                let _ = writeln!(out, "  logout_path: {path}");
            }
            None => {
                let _ = writeln!(out, "  # logout_path: /logout");
            }
        }
        let _ = writeln!(
            out,
            "  # GET: 302 to NemLog-in asking for a professional (https://data.gov.dk/eid/Professional), with business_logins."
        );
        match &sp.business_login_path {
            Some(path) => {
                let _ = writeln!(out, "  business_login_path: {path}");
            }
            None => {
                let _ = writeln!(out, "  # business_login_path: /login?identity=professional");
            }
        }
        let _ = writeln!(
            out,
            "  # The privilege URI a business login must be granted for its company (privilegesIntermediate), with business_logins."
        );
        match &sp.business_privilege {
            Some(privilege) => {
                let _ = writeln!(out, "  business_privilege: {privilege}");
            }
            None => {
                let _ = writeln!(
                    out,
                    "  # business_privilege: urn:dk:mitid-lab:privilege:read"
                );
            }
        }
        let _ = writeln!(
            out,
            "  # Your SAML metadata (entityID, signing + encryption certificates, ACS by POST), relative to this file."
        );
        let _ = writeln!(out, "  metadata: {}", sp.metadata);
        let _ = writeln!(out, "nemlogin:");
        let _ = writeln!(
            out,
            "  # The lab's NemLog-in listens here; its entityID is http://<listen> (see idp-metadata.xml)."
        );
        let _ = writeln!(out, "  listen: {}", self.nemlogin.listen);
        out
    }
}

/// The 1-based line of a node of `doc`.
fn line(doc: &roxmltree::Document<'_>, node: roxmltree::Node<'_, '_>) -> usize {
    doc.text_pos_at(node.range().start).row as usize
}

/// Reads a service provider's metadata and checks what NemLog-in needs of it: well-formed, an
/// `md:EntityDescriptor` with an entityID and an `md:SPSSODescriptor` holding a signing
/// certificate (requests are signed), an encryption certificate (assertions are encrypted to
/// it) and an `AssertionConsumerService` by HTTP-POST at an http(s) URL.
pub fn validate_sp_metadata(xml: &str, file: &Path) -> Result<EntityMetadata, TargetError> {
    let field_error = |line: usize, field: &str, message: String| TargetError::Field {
        file: PathBuf::from(file),
        line,
        field: field.into(),
        message,
    };
    let doc = roxmltree::Document::parse(xml).map_err(|e| TargetError::Invalid {
        file: file.into(),
        line: e.pos().row as usize,
        message: format!("the metadata is not well-formed XML: {e}"),
    })?;
    let root = doc.root_element();
    if root.tag_name().namespace() != Some(ns::MD) || root.tag_name().name() != "EntityDescriptor" {
        return Err(field_error(
            line(&doc, root),
            "md:EntityDescriptor",
            format!(
                "the root is `{}`, not an md:EntityDescriptor ({})",
                root.tag_name().name(),
                ns::MD
            ),
        ));
    }
    if root
        .attribute("entityID")
        .is_none_or(|e| e.trim().is_empty())
    {
        return Err(field_error(
            line(&doc, root),
            "md:EntityDescriptor/@entityID",
            "missing or empty".into(),
        ));
    }
    let md = |node: &roxmltree::Node<'_, '_>, name: &str| {
        node.is_element()
            && node.tag_name().namespace() == Some(ns::MD)
            && node.tag_name().name() == name
    };
    let Some(sp) = root.children().find(|n| md(n, "SPSSODescriptor")) else {
        return Err(field_error(
            line(&doc, root),
            "md:SPSSODescriptor",
            "missing: this is no service provider's metadata".into(),
        ));
    };
    let keys = check_keys(&doc, sp, &field_error)?;
    let acs: Vec<roxmltree::Node<'_, '_>> = sp
        .children()
        .filter(|n| md(n, "AssertionConsumerService") && n.attribute("Binding") == Some(uri::POST))
        .collect();
    let Some(first_acs) = acs.first() else {
        return Err(field_error(
            line(&doc, sp),
            "md:SPSSODescriptor/md:AssertionConsumerService",
            format!(
                "missing: NemLog-in posts the response to an AssertionConsumerService with Binding=\"{}\"",
                uri::POST
            ),
        ));
    };
    for node in &acs {
        let location = node.attribute("Location").unwrap_or_default();
        parse_http_url(location).map_err(|m| {
            field_error(
                line(&doc, *node),
                "md:AssertionConsumerService/@Location",
                m,
            )
        })?;
    }
    metadata::parse(xml).map_err(|e| {
        let at = keys
            .first()
            .map_or_else(|| line(&doc, *first_acs), |(_, k)| line(&doc, *k));
        field_error(at, "md:KeyDescriptor", e.to_string())
    })
}

/// The `md:KeyDescriptor`s of the SP's descriptor, each with a certificate, a signing one and an
/// encryption one among them (a descriptor without `use` serves both).
fn check_keys<'a, 'input>(
    doc: &roxmltree::Document<'input>,
    sp: roxmltree::Node<'a, 'input>,
    field_error: &dyn Fn(usize, &str, String) -> TargetError,
) -> Result<Vec<(Option<&'a str>, roxmltree::Node<'a, 'input>)>, TargetError> {
    let keys: Vec<(Option<&str>, roxmltree::Node<'_, '_>)> = sp
        .children()
        .filter(|n| {
            n.is_element()
                && n.tag_name().namespace() == Some(ns::MD)
                && n.tag_name().name() == "KeyDescriptor"
        })
        .map(|n| (n.attribute("use"), n))
        .collect();
    for (_, key) in &keys {
        let has_cert = key
            .descendants()
            .any(|n| n.is_element() && n.tag_name().name() == "X509Certificate");
        if !has_cert {
            return Err(field_error(
                line(doc, *key),
                "md:KeyDescriptor",
                "has no ds:X509Certificate".into(),
            ));
        }
    }
    if !keys.iter().any(|(usage, _)| usage != &Some("encryption")) {
        return Err(field_error(
            line(doc, sp),
            "md:SPSSODescriptor/md:KeyDescriptor[@use='signing']",
            "missing: OIOSAML 3 AuthnRequests are signed, and NemLog-in checks them with this certificate".into(),
        ));
    }
    if !keys.iter().any(|(usage, _)| usage != &Some("signing")) {
        return Err(field_error(
            line(doc, sp),
            "md:SPSSODescriptor/md:KeyDescriptor[@use='encryption']",
            "missing: NemLog-in encrypts every assertion to this certificate".into(),
        ));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mitid_components::nemlogin::test_keys as k;
    use mitid_components::saml::metadata::sp_metadata;
    use mitid_components::saml::xml_security::KeyPair;

    fn good_metadata() -> String {
        let signing = KeyPair::from_pem(k::SP_SIGNING_KEY, k::SP_SIGNING_CERT).expect("key");
        let encryption =
            KeyPair::from_pem(k::SP_ENCRYPTION_KEY, k::SP_ENCRYPTION_CERT).expect("key");
        sp_metadata(
            "http://127.0.0.1:8090/saml/metadata",
            &signing.certificate(),
            &encryption.certificate(),
            "http://127.0.0.1:8090/saml/acs",
            "http://127.0.0.1:8090/saml/slo",
        )
        // One element a line, so errors have lines to name.
        .replace("><", ">\n<")
    }

    #[test]
    fn good_metadata_is_read() {
        let sp = validate_sp_metadata(&good_metadata(), Path::new("sp.xml")).expect("valid");
        assert_eq!(sp.acs, vec!["http://127.0.0.1:8090/saml/acs".to_owned()]);
        assert!(sp.encryption.is_some());
    }

    fn line_with(text: &str, needle: &str) -> usize {
        text.lines()
            .position(|l| l.contains(needle))
            .expect("present")
            + 1
    }

    #[test]
    fn metadata_errors_name_file_line_and_field() {
        let text = good_metadata();
        let no_encryption = text.replace(r#"use="encryption""#, r#"use="signing""#);
        let err = validate_sp_metadata(&no_encryption, Path::new("sp.xml"))
            .expect_err("refused")
            .to_string();
        let sp_line = line_with(&text, "<md:SPSSODescriptor");
        assert!(
            err.starts_with(&format!(
                "sp.xml:{sp_line}: field `md:SPSSODescriptor/md:KeyDescriptor[@use='encryption']`"
            )),
            "{err}"
        );
        let no_acs = text.replace(r#"md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST""#, r#"md:AssertionConsumerService Binding="urn:example:other""#);
        let err = validate_sp_metadata(&no_acs, Path::new("sp.xml"))
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("AssertionConsumerService") && err.contains("HTTP-POST"),
            "{err}"
        );
        let wrong_acs = text.replace(
            r#"Location="http://127.0.0.1:8090/saml/acs""#,
            r#"Location="not a url""#,
        );
        let err = validate_sp_metadata(&wrong_acs, Path::new("sp.xml"))
            .expect_err("refused")
            .to_string();
        let acs_line = line_with(&text, "AssertionConsumerService");
        assert!(
            err.starts_with(&format!(
                "sp.xml:{acs_line}: field `md:AssertionConsumerService/@Location`"
            )),
            "{err}"
        );
        let err = validate_sp_metadata("<md:EntityDescriptor", Path::new("sp.xml"))
            .expect_err("refused")
            .to_string();
        assert!(
            err.starts_with("sp.xml:1:") && err.contains("well-formed"),
            "{err}"
        );
    }

    /// A target folder with good metadata and `target.yaml` = `yaml`; answers its validation.
    fn validate_in(test: &str, yaml: &str) -> Result<SamlTarget, TargetError> {
        let dir = std::env::temp_dir().join(format!("mitid-lab-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("sp.xml"), good_metadata()).expect("metadata");
        let file = dir.join("target.yaml");
        let answer = SamlTargetFile::parse(yaml, &file)?.validate(yaml, &file, None);
        std::fs::remove_dir_all(&dir).expect("cleaned up");
        answer
    }

    #[test]
    fn business_logins_need_their_path_and_privilege() {
        let yaml = "protocol: oiosaml\nservice_provider:\n  base_url: http://127.0.0.1:8090\n  implements: [business_logins]\n  business_login_path: /login?identity=professional\n  business_privilege: urn:x:read\n  metadata: sp.xml\n";
        let target = validate_in("business-ok", yaml).expect("valid");
        assert!(target.implements.contains(&OptionalFeature::BusinessLogins));
        assert_eq!(
            target.business_login_url.map(|u| u.to_string()).as_deref(),
            Some("http://127.0.0.1:8090/login?identity=professional")
        );
        assert_eq!(target.business_privilege.as_deref(), Some("urn:x:read"));
        let no_privilege = yaml.replace("  business_privilege: urn:x:read\n", "");
        let err = validate_in("business-no-privilege", &no_privilege)
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("target.yaml:4: field `service_provider.implements`")
                && err.contains("business_privilege"),
            "{err}"
        );
        let undeclared = yaml.replace("[business_logins]", "[]");
        let err = validate_in("business-undeclared", &undeclared)
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("target.yaml:5: field `service_provider.business_login_path`"),
            "{err}"
        );
    }
}
