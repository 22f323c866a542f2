//! # SAML 2.0 / OIOSAML 3 — what the lab's NemLog-in IdP and its SAML service providers share
//!
//! Public-sector services in Denmark log citizens in through NemLog-in with the OIOSAML 3
//! profile of SAML 2.0 Web SSO. This module is the protocol's vocabulary and plumbing, used by
//! both sides ([`crate::nemlogin`], the IdP; [`crate::reference_saml_sp`], the service provider):
//!
//! - [`ns`], [`attr`], [`loa_uri`]: namespaces, the OIOSAML 3 attribute names and the NSIS
//!   level-of-assurance URIs (facts from the OIOSAML Web SSO Profile 3.0, Digitaliseringsstyrelsen).
//! - [`binding`]: HTTP-Redirect (deflate + base64, the detached RSA-SHA256 signature over the
//!   query string) and HTTP-POST (the auto-submitting form).
//! - [`metadata`]: entity descriptors written and read (entityID, endpoints, certificates).
//! - [`xml_security`]: signing, verifying, encrypting and decrypting assertions, and the
//!   lower-level XML work that mints broken ones (wrapping, foreign keys).
//!
//! Messages are written as text (the lab must be able to write wrong ones) and read with
//! libxml2, the parser xmlsec itself uses.

pub mod binding;
pub mod metadata;
pub mod privileges;
pub mod xml_security;

/// XML namespaces.
pub mod ns {
    pub const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
    pub const SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
    pub const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
    pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
    pub const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
}

/// Binding, format and status URIs (SAML 2.0 core and bindings).
pub mod uri {
    pub const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
    pub const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
    pub const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
    pub const ATTR_URI: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";
    pub const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
    pub const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
    pub const REQUESTER: &str = "urn:oasis:names:tc:SAML:2.0:status:Requester";
    pub const RESPONDER: &str = "urn:oasis:names:tc:SAML:2.0:status:Responder";
    pub const AUTHN_FAILED: &str = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed";
    pub const NO_AUTHN_CONTEXT: &str = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext";
    pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
    /// `RequestedAuthnContext` identity types (OIOSAML 3).
    pub const PERSON: &str = "https://data.gov.dk/eid/Person";
    pub const PROFESSIONAL: &str = "https://data.gov.dk/eid/Professional";
    /// `AuthnContext/AuthenticatingAuthority` (SAML Core §2.7.2.2): who authenticated the
    /// person. The lab's NemLog-in names the credential's scheme there, so a service can tell a
    /// `NemID` login (still let through by some broker) from a `MitID` one; the values are the
    /// lab's own, not the profile's.
    pub const MITID_AUTHORITY: &str = "https://www.mitid.dk";
    pub const NEMID_AUTHORITY: &str = "https://www.nemid.nu";
}

/// OIOSAML 3 attribute names (all with `NameFormat` uri).
pub mod attr {
    pub const SPEC_VERSION: &str = "https://data.gov.dk/model/core/specVersion";
    /// The only value OIOSAML 3 service providers accept.
    pub const SPEC_VERSION_VALUE: &str = "OIO-SAML-3.0";
    pub const LOA: &str = "https://data.gov.dk/concept/core/nsis/loa";
    pub const IAL: &str = "https://data.gov.dk/concept/core/nsis/ial";
    pub const AAL: &str = "https://data.gov.dk/concept/core/nsis/aal";
    pub const CPR: &str = "https://data.gov.dk/model/core/eid/cprNumber";
    pub const FIRST_NAME: &str = "https://data.gov.dk/model/core/eid/firstName";
    pub const LAST_NAME: &str = "https://data.gov.dk/model/core/eid/lastName";
    pub const FULL_NAME: &str = "https://data.gov.dk/model/core/eid/fullName";
    pub const PERSON_UUID: &str = "https://data.gov.dk/model/core/eid/person/uuid";
    pub const CVR: &str = "https://data.gov.dk/model/core/eid/professional/cvr";
    pub const ORG_NAME: &str = "https://data.gov.dk/model/core/eid/professional/orgName";
    pub const PRIVILEGES: &str = "https://data.gov.dk/model/core/eid/privilegesIntermediate";
    /// The persistent professional identifier (a professional login's `NameID` is this URI,
    /// `/`, the identifier).
    pub const PROFESSIONAL_UUID: &str =
        "https://data.gov.dk/model/core/eid/professional/uuid/persistent";
    pub const RID: &str = "https://data.gov.dk/model/core/eid/professional/rid";
}

/// The NSIS level of assurance as an `AuthnContextClassRef` URI.
#[must_use]
pub fn loa_uri(loa: mitid_devices::Loa) -> String {
    format!(
        "https://data.gov.dk/concept/core/nsis/loa/{}",
        loa_name(loa)
    )
}

/// `Low`, `Substantial`, `High`: the attribute value and the URI's last segment.
#[must_use]
pub fn loa_name(loa: mitid_devices::Loa) -> &'static str {
    match loa {
        mitid_devices::Loa::Low => "Low",
        mitid_devices::Loa::Substantial => "Substantial",
        mitid_devices::Loa::High => "High",
    }
}

/// The `LoA` named by a URI or a bare value (`Substantial`).
#[must_use]
pub fn parse_loa(text: &str) -> Option<mitid_devices::Loa> {
    mitid_devices::Loa::from_uri_or_name(text.rsplit('/').next()?).ok()
}

/// A SAML `ID`: must be an `xsd:ID` (cannot start with a digit), 128 random bits.
#[must_use]
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    format!("_{}", hex::encode(bytes))
}

/// `xsd:dateTime` in UTC, second precision, from unix seconds (lab clock).
#[must_use]
pub fn instant(unix_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(unix_seconds, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Unix seconds of an `xsd:dateTime` (fractions and offsets allowed).
#[must_use]
pub fn parse_instant(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp())
}

/// Escapes text for an XML attribute or element: the escaper of the `maud` templates (the
/// same entities as HTML), so the lab escapes markup one way.
#[must_use]
pub fn escape(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len());
    // Writing into a String cannot fail.
    let _ = maud::Escaper::new(&mut out).write_str(text);
    out
}
