//! SAML metadata: the entity descriptors an IdP and a service provider exchange once, to know
//! each other's entityID, endpoints and certificates (signing and encryption).

use libxml::parser::Parser;

use super::xml_security::{Certificate, children, is};
use super::{escape, ns, uri};

/// What one side registered about the other.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityMetadata {
    pub entity_id: String,
    /// Certificates for `use="signing"` (or no `use`).
    pub signing: Vec<Certificate>,
    /// The certificate for `use="encryption"` (or, lacking one, the first without `use`).
    pub encryption: Option<Certificate>,
    /// `AssertionConsumerService` locations with the HTTP-POST binding, in order.
    pub acs: Vec<String>,
    /// `SingleSignOnService` with HTTP-Redirect (an IdP's).
    pub sso: Option<String>,
    /// `SingleLogoutService` with HTTP-Redirect.
    pub slo: Option<String>,
}

/// What is wrong with a metadata document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("metadata is not well-formed XML")]
    Malformed,
    #[error("metadata: the root is not md:EntityDescriptor")]
    NotEntityDescriptor,
    #[error("metadata: `{0}` is missing")]
    Missing(&'static str),
    #[error("metadata: certificate: {0}")]
    Certificate(String),
}

fn key_descriptor(cert: &Certificate, usage: &str) -> String {
    format!(
        r#"<md:KeyDescriptor use="{usage}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
        cert.base64()
    )
}

/// The IdP's metadata: signing certificate, SSO and SLO by HTTP-Redirect.
#[must_use]
pub fn idp_metadata(entity_id: &str, signing: &Certificate, sso: &str, slo: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<md:EntityDescriptor xmlns:md="{md}" xmlns:ds="{ds}" entityID="{id}">"#,
            r#"<md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="{p}">"#,
            "{key}",
            r#"<md:SingleLogoutService Binding="{redirect}" Location="{slo}"/>"#,
            r#"<md:NameIDFormat>{persistent}</md:NameIDFormat>"#,
            r#"<md:SingleSignOnService Binding="{redirect}" Location="{sso}"/>"#,
            r#"</md:IDPSSODescriptor></md:EntityDescriptor>"#
        ),
        md = ns::MD,
        ds = ns::DS,
        id = escape(entity_id),
        p = ns::SAMLP,
        key = key_descriptor(signing, "signing"),
        redirect = uri::REDIRECT,
        slo = escape(slo),
        sso = escape(sso),
        persistent = uri::PERSISTENT,
    )
}

/// A service provider's metadata: signing and encryption certificates, ACS by HTTP-POST, SLO
/// by HTTP-Redirect.
#[must_use]
pub fn sp_metadata(
    entity_id: &str,
    signing: &Certificate,
    encryption: &Certificate,
    acs: &str,
    slo: &str,
) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<md:EntityDescriptor xmlns:md="{md}" xmlns:ds="{ds}" entityID="{id}">"#,
            r#"<md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="{p}">"#,
            "{sign}{encrypt}",
            r#"<md:SingleLogoutService Binding="{redirect}" Location="{slo}"/>"#,
            r#"<md:NameIDFormat>{persistent}</md:NameIDFormat>"#,
            r#"<md:AssertionConsumerService Binding="{post}" Location="{acs}" index="0" isDefault="true"/>"#,
            r#"</md:SPSSODescriptor></md:EntityDescriptor>"#
        ),
        md = ns::MD,
        ds = ns::DS,
        id = escape(entity_id),
        p = ns::SAMLP,
        sign = key_descriptor(signing, "signing"),
        encrypt = key_descriptor(encryption, "encryption"),
        redirect = uri::REDIRECT,
        slo = escape(slo),
        persistent = uri::PERSISTENT,
        post = uri::POST,
        acs = escape(acs),
    )
}

/// Reads an `md:EntityDescriptor` (an IdP's or a service provider's).
pub fn parse(xml: &str) -> Result<EntityMetadata, MetadataError> {
    let doc = Parser::default()
        .parse_string(xml)
        .map_err(|_| MetadataError::Malformed)?;
    let root = doc.get_root_element().ok_or(MetadataError::Malformed)?;
    if !is(&root, ns::MD, "EntityDescriptor") {
        return Err(MetadataError::NotEntityDescriptor);
    }
    let entity_id = root
        .get_attribute("entityID")
        .filter(|e| !e.is_empty())
        .ok_or(MetadataError::Missing("entityID"))?;
    let mut out = EntityMetadata {
        entity_id,
        signing: Vec::new(),
        encryption: None,
        acs: Vec::new(),
        sso: None,
        slo: None,
    };
    let mut unlabelled = None;
    for role in root.get_child_elements() {
        if !(is(&role, ns::MD, "SPSSODescriptor") || is(&role, ns::MD, "IDPSSODescriptor")) {
            continue;
        }
        for key in children(&role, ns::MD, "KeyDescriptor") {
            let mut found = None;
            for info in children(&key, ns::DS, "KeyInfo") {
                for data in children(&info, ns::DS, "X509Data") {
                    for cert in children(&data, ns::DS, "X509Certificate") {
                        found = Some(
                            Certificate::from_base64(&cert.get_content())
                                .map_err(|e| MetadataError::Certificate(e.to_string()))?,
                        );
                    }
                }
            }
            let Some(cert) = found else { continue };
            match key.get_attribute("use").as_deref() {
                Some("encryption") => out.encryption = Some(cert),
                Some("signing") => out.signing.push(cert),
                _ => {
                    out.signing.push(cert.clone());
                    unlabelled.get_or_insert(cert);
                }
            }
        }
        let binding = |n: &libxml::tree::Node| n.get_attribute("Binding").unwrap_or_default();
        for acs in children(&role, ns::MD, "AssertionConsumerService") {
            if binding(&acs) == uri::POST
                && let Some(location) = acs.get_attribute("Location")
            {
                out.acs.push(location);
            }
        }
        for sso in children(&role, ns::MD, "SingleSignOnService") {
            if binding(&sso) == uri::REDIRECT {
                out.sso = sso.get_attribute("Location");
            }
        }
        for slo in children(&role, ns::MD, "SingleLogoutService") {
            if binding(&slo) == uri::REDIRECT {
                out.slo = slo.get_attribute("Location");
            }
        }
    }
    if out.encryption.is_none() {
        out.encryption = unlabelled;
    }
    Ok(out)
}
