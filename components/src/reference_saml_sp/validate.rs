//! What the reference SAML SP checks in a `samlp:Response`, in the order a careful OIOSAML 3
//! service provider checks it. Each named flaw relaxes exactly one check.

use std::collections::BTreeSet;

use libxml::parser::Parser;
use libxml::tree::Node;
use mitid_devices::Loa;

use super::SamlFlaw;
use crate::saml::privileges::{self, PrivilegeGroup};
use crate::saml::xml_security::{
    self, Certificate, KeyPair, VerifyPolicy, XmlSecurityError, children, is,
};
use crate::saml::{attr, ns, parse_instant, parse_loa, uri};

/// Clock skew tolerated on validity windows.
pub const SKEW_SECONDS: i64 = 60;

/// Why a response was refused; the message names the element or attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the response is not well-formed XML")]
    Malformed,
    #[error("the root is `{0}`, not samlp:Response")]
    NotAResponse(String),
    #[error("{0}")]
    Rule(String),
    #[error("{0}")]
    Security(String),
}

impl From<XmlSecurityError> for Refusal {
    fn from(e: XmlSecurityError) -> Self {
        Refusal::Security(e.to_string())
    }
}

fn rule(text: impl Into<String>) -> Refusal {
    Refusal::Rule(text.into())
}

/// What the SP must know to judge a response.
#[derive(Debug)]
pub struct Expectations<'a> {
    pub entity_id: &'a str,
    pub acs: &'a str,
    pub idp_entity_id: &'a str,
    pub idp_certificate: &'a Certificate,
    pub decryption: &'a KeyPair,
    pub now: i64,
    pub flaws: &'a BTreeSet<SamlFlaw>,
    /// The privilege a professional login must be granted for its company.
    pub required_privilege: &'a str,
}

/// What the service asked for in the request a response answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requested {
    pub loa: Loa,
    /// `https://data.gov.dk/eid/Professional` (a business login), else a person.
    pub professional: bool,
}

impl Expectations<'_> {
    fn has(&self, flaw: SamlFlaw) -> bool {
        self.flaws.contains(&flaw)
    }
}

/// The response envelope, read before the assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub response_id: String,
    pub in_response_to: Option<String>,
    /// The assertion's XML, decrypted (or, with a flaw, as sent in clear).
    pub assertion_xml: String,
}

/// Reads the response: root, `Destination`, `Issuer`, status, and exactly one
/// `EncryptedAssertion`, decrypted.
pub fn response(xml: &str, ex: &Expectations<'_>) -> Result<Envelope, Refusal> {
    let doc = Parser::default()
        .parse_string(xml)
        .map_err(|_| Refusal::Malformed)?;
    let root = doc.get_root_element().ok_or(Refusal::Malformed)?;
    if !is(&root, ns::SAMLP, "Response") {
        return Err(Refusal::NotAResponse(root.get_name()));
    }
    let response_id = root.get_attribute("ID").unwrap_or_default();
    if !ex.has(SamlFlaw::SkipDestinationCheck) {
        let destination = root.get_attribute("Destination").unwrap_or_default();
        if destination != ex.acs {
            return Err(rule(format!(
                "Response/@Destination `{destination}` is not this service's ACS `{}`",
                ex.acs
            )));
        }
    }
    let issuer = children(&root, ns::SAML, "Issuer")
        .next()
        .map(|i| i.get_content().trim().to_owned())
        .unwrap_or_default();
    if issuer != ex.idp_entity_id {
        return Err(rule(format!(
            "Response/Issuer `{issuer}` is not the IdP `{}`",
            ex.idp_entity_id
        )));
    }
    let status = children(&root, ns::SAMLP, "Status")
        .next()
        .and_then(|s| children(&s, ns::SAMLP, "StatusCode").next())
        .and_then(|c| c.get_attribute("Value"))
        .unwrap_or_default();
    if status != uri::SUCCESS {
        let message = children(&root, ns::SAMLP, "Status")
            .next()
            .and_then(|s| children(&s, ns::SAMLP, "StatusMessage").next())
            .map(|m| m.get_content())
            .unwrap_or_default();
        return Err(rule(format!(
            "the IdP answered status `{status}`: {message}"
        )));
    }
    let encrypted: Vec<Node> = children(&root, ns::SAML, "EncryptedAssertion").collect();
    let plain: Vec<Node> = children(&root, ns::SAML, "Assertion").collect();
    let assertion_xml = match (encrypted.as_slice(), plain.as_slice()) {
        ([one], []) => xml_security::decrypt_assertion(&doc.node_to_string(one), ex.decryption)?,
        ([], [one]) if ex.has(SamlFlaw::AcceptUnencryptedAssertion) => doc.node_to_string(one),
        _ => {
            return Err(rule(format!(
                "the response must carry exactly one EncryptedAssertion and no plain Assertion ({} encrypted, {} plain)",
                encrypted.len(),
                plain.len()
            )));
        }
    };
    Ok(Envelope {
        response_id,
        in_response_to: root.get_attribute("InResponseTo"),
        assertion_xml,
    })
}

/// What a verified assertion says about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub assertion_id: String,
    pub name_id: String,
    pub uuid: Option<String>,
    pub cpr: Option<String>,
    pub name: Option<String>,
    pub loa: Option<Loa>,
    pub session_index: Option<String>,
    pub subject_in_response_to: Option<String>,
    /// The company of a professional login (its presence makes the login professional).
    pub cvr: Option<String>,
    /// `AuthenticatingAuthority` names `NemID`.
    pub nemid: bool,
}

fn policy(ex: &Expectations<'_>) -> VerifyPolicy {
    VerifyPolicy {
        allow_unsigned: ex.has(SamlFlaw::AcceptUnsignedAssertion),
        any_signed_element: ex.has(SamlFlaw::AcceptWrappedAssertion),
        trust_key_info: ex.has(SamlFlaw::TrustKeyinfoCertificate),
    }
}

fn window(node: &Node, what: &str, now: i64, require_not_on_or_after: bool) -> Result<(), Refusal> {
    if let Some(nb) = node.get_attribute("NotBefore") {
        let t = parse_instant(&nb)
            .ok_or_else(|| rule(format!("{what}/@NotBefore `{nb}` is no dateTime")))?;
        if now + SKEW_SECONDS < t {
            return Err(rule(format!("{what} is not valid before {nb}")));
        }
    }
    match node.get_attribute("NotOnOrAfter") {
        Some(noa) => {
            let t = parse_instant(&noa)
                .ok_or_else(|| rule(format!("{what}/@NotOnOrAfter `{noa}` is no dateTime")))?;
            if now - SKEW_SECONDS >= t {
                return Err(rule(format!("{what} expired at {noa}")));
            }
        }
        None if require_not_on_or_after => {
            return Err(rule(format!("{what}/@NotOnOrAfter is missing")));
        }
        None => {}
    }
    Ok(())
}

/// Every `(Name, value)` of the assertion's attribute statements, in order.
fn attribute_values(root: &Node) -> Vec<(String, String)> {
    let mut values = Vec::new();
    for statement in children(root, ns::SAML, "AttributeStatement") {
        for attribute in children(&statement, ns::SAML, "Attribute") {
            let name = attribute.get_attribute("Name").unwrap_or_default();
            for value in children(&attribute, ns::SAML, "AttributeValue") {
                values.push((name.clone(), value.get_content().trim().to_owned()));
            }
        }
    }
    values
}

/// Verifies the assertion's signature and reads it, checking subject confirmation, conditions,
/// audience and the OIOSAML attributes. `requested` is what the SP asked for.
pub fn assertion(
    assertion_xml: &str,
    ex: &Expectations<'_>,
    requested: Option<Requested>,
) -> Result<Claims, Refusal> {
    xml_security::verify_assertion(assertion_xml, ex.idp_certificate, policy(ex))?;
    let doc = Parser::default()
        .parse_string(assertion_xml)
        .map_err(|_| Refusal::Malformed)?;
    let root = doc.get_root_element().ok_or(Refusal::Malformed)?;
    let issuer = children(&root, ns::SAML, "Issuer")
        .next()
        .map(|i| i.get_content().trim().to_owned())
        .unwrap_or_default();
    if issuer != ex.idp_entity_id {
        return Err(rule(format!("Assertion/Issuer `{issuer}` is not the IdP")));
    }
    let subject = children(&root, ns::SAML, "Subject")
        .next()
        .ok_or_else(|| rule("Assertion/Subject is missing"))?;
    let name_id = children(&subject, ns::SAML, "NameID")
        .next()
        .ok_or_else(|| rule("Subject/NameID is missing"))?;
    if name_id.get_attribute("Format").as_deref() != Some(uri::PERSISTENT) {
        return Err(rule("Subject/NameID is not a persistent identifier"));
    }
    let confirmation = children(&subject, ns::SAML, "SubjectConfirmation")
        .find(|c| c.get_attribute("Method").as_deref() == Some(uri::BEARER))
        .and_then(|c| children(&c, ns::SAML, "SubjectConfirmationData").next())
        .ok_or_else(|| rule("no bearer SubjectConfirmationData"))?;
    if !ex.has(SamlFlaw::SkipRecipientCheck) {
        let recipient = confirmation.get_attribute("Recipient").unwrap_or_default();
        if recipient != ex.acs {
            return Err(rule(format!(
                "SubjectConfirmationData/@Recipient `{recipient}` is not this service's ACS"
            )));
        }
    }
    let conditions = children(&root, ns::SAML, "Conditions")
        .next()
        .ok_or_else(|| rule("Assertion/Conditions is missing"))?;
    if !ex.has(SamlFlaw::SkipValidityWindowCheck) {
        window(&confirmation, "SubjectConfirmationData", ex.now, true)?;
        window(&conditions, "Conditions", ex.now, false)?;
    }
    if !ex.has(SamlFlaw::SkipAudienceCheck) {
        let audiences: Vec<String> = children(&conditions, ns::SAML, "AudienceRestriction")
            .flat_map(|r| children(&r, ns::SAML, "Audience").collect::<Vec<_>>())
            .map(|a| a.get_content().trim().to_owned())
            .collect();
        if !audiences.iter().any(|a| a == ex.entity_id) {
            return Err(rule(format!(
                "the Audience {audiences:?} does not name this service `{}`",
                ex.entity_id
            )));
        }
    }
    let values = attribute_values(&root);
    let value = |name: &str| {
        values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    if !ex.has(SamlFlaw::SkipSpecVersionCheck) {
        let spec = value(attr::SPEC_VERSION);
        if spec.as_deref() != Some(attr::SPEC_VERSION_VALUE) {
            return Err(rule(format!(
                "specVersion is {spec:?}, not {}",
                attr::SPEC_VERSION_VALUE
            )));
        }
    }
    let loa = value(attr::LOA).and_then(|v| parse_loa(&v));
    if let Some(want) = requested.map(|r| r.loa)
        && !ex.has(SamlFlaw::AcceptLowerLoa)
        && loa.is_none_or(|got| got < want)
    {
        return Err(rule(format!(
            "the assertion's level of assurance {loa:?} is lower than the {want} requested"
        )));
    }
    let (cpr, cvr) = (value(attr::CPR), value(attr::CVR));
    who(&value, requested, ex)?;
    let statement = children(&root, ns::SAML, "AuthnStatement").next();
    let session_index = statement
        .as_ref()
        .and_then(|s| s.get_attribute("SessionIndex"));
    let nemid = statement
        .iter()
        .flat_map(|s| children(s, ns::SAML, "AuthnContext").collect::<Vec<_>>())
        .flat_map(|c| children(&c, ns::SAML, "AuthenticatingAuthority").collect::<Vec<_>>())
        .any(|a| a.get_content().trim() == uri::NEMID_AUTHORITY);
    Ok(Claims {
        assertion_id: root.get_attribute("ID").unwrap_or_default(),
        name_id: name_id.get_content().trim().to_owned(),
        uuid: value(attr::PERSON_UUID),
        cpr,
        name: value(attr::FULL_NAME),
        loa,
        session_index,
        subject_in_response_to: confirmation.get_attribute("InResponseTo"),
        cvr,
        nemid,
    })
}

/// Who logged in is someone the service takes: a person with a CPR number if a flaw demands
/// one, the identity type asked for, and in a professional login the service's privilege.
fn who(
    value: &dyn Fn(&str) -> Option<String>,
    requested: Option<Requested>,
    ex: &Expectations<'_>,
) -> Result<(), Refusal> {
    let cvr = value(attr::CVR);
    // A professional assertion names the employee-for-company, never a person's CPR number.
    if value(attr::CPR).is_none() && cvr.is_none() && ex.has(SamlFlaw::RequireCpr) {
        return Err(rule("no cprNumber attribute"));
    }
    if let Some(want) = requested {
        identity_type(want, cvr.as_deref(), ex)?;
    }
    match &cvr {
        Some(cvr) => privilege(value(attr::PRIVILEGES).as_deref(), cvr, ex),
        None => Ok(()),
    }
}

/// The identity type the service asked for is the one it got: a professional assertion (it
/// names a company) where a person was asked for, or the reverse, is refused.
fn identity_type(want: Requested, cvr: Option<&str>, ex: &Expectations<'_>) -> Result<(), Refusal> {
    if ex.has(SamlFlaw::AcceptAnyIdentityType) || want.professional == cvr.is_some() {
        return Ok(());
    }
    Err(rule(if want.professional {
        "a professional login was requested, but the assertion names no company (a person's)"
            .to_owned()
    } else {
        format!(
            "a person's login was requested, but the assertion is a professional one (CVR {})",
            cvr.unwrap_or_default()
        )
    }))
}

/// A professional login must be granted the service's privilege for its own company.
fn privilege(value: Option<&str>, cvr: &str, ex: &Expectations<'_>) -> Result<(), Refusal> {
    if ex.has(SamlFlaw::SkipPrivilegeCheck) {
        return Ok(());
    }
    let groups = match value {
        Some(v) => privileges::decode(v).map_err(|e| rule(e.to_string()))?,
        None => Vec::new(),
    };
    let granted = if ex.has(SamlFlaw::IgnorePrivilegeScope) {
        groups
            .iter()
            .any(|g| g.privileges.iter().any(|p| p == ex.required_privilege))
    } else {
        PrivilegeGroup::grants(&groups, cvr, ex.required_privilege)
    };
    if granted {
        Ok(())
    } else {
        Err(rule(format!(
            "the privileges grant `{}` not for the company {cvr} of this login",
            ex.required_privilege
        )))
    }
}
