//! The `samlp:Response` the IdP posts to a service provider: one signed `saml:Assertion`,
//! encrypted to the service provider's certificate — or, when the login's script asks, a
//! deliberately wrong one ([`ResponseFault`]).

use mitid_devices::Loa;
use serde::{Deserialize, Serialize};

use crate::cvr::ProfessionalIdentity;
use crate::saml::privileges::{self, PrivilegeGroup};
use crate::saml::xml_security::{self, Certificate, KeyPair, Wrapping, XmlSecurityError};
use crate::saml::{attr, escape, instant, loa_name, loa_uri, new_id, ns, uri};

/// How long an assertion may be used (`NotOnOrAfter` − issue instant), and the clock skew
/// allowed before it (`NotBefore` = issue instant − skew).
pub const ASSERTION_LIFETIME_SECONDS: i64 = 300;
pub const CLOCK_SKEW_SECONDS: i64 = 60;

/// One way a response can be wrong, scripted for one login. Each names the rule of OIOSAML 3
/// (and SAML 2.0 core / profiles) that a service provider must enforce to refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFault {
    /// The assertion's signature is removed.
    Unsigned,
    /// XML signature wrapping: a forged assertion around the signed one (three variants).
    WrappingSignatureMoved,
    WrappingOriginalInAdvice,
    WrappingDuplicateId,
    /// Signed by a key the IdP never published (its certificate in `KeyInfo`).
    ForeignKey,
    /// The signed assertion in clear, not encrypted.
    Unencrypted,
    /// `Audience` names another service provider.
    WrongAudience,
    /// `NotOnOrAfter` has passed.
    Expired,
    /// `NotBefore` is ten minutes ahead.
    NotYetValid,
    /// `InResponseTo` names a request this service provider never sent.
    ForeignInResponseTo,
    /// No `InResponseTo` at all: IdP-initiated, which OIOSAML 3 service providers must refuse.
    Unsolicited,
    /// The response's `Destination` is another URL.
    WrongDestination,
    /// `SubjectConfirmationData/@Recipient` is another URL.
    WrongRecipient,
    /// No `specVersion` attribute.
    MissingSpecVersion,
    /// `specVersion` is `OIO-SAML-2.0`.
    WrongSpecVersion,
    /// The assertion says `Low` whatever was requested.
    LowerLoa,
    /// The person's CPR number is left out (as for a person without one).
    OmitCpr,
    /// The service asked for a person; NemLog-in logs the citizen in for their company and
    /// answers a professional assertion.
    ProfessionalForPerson,
    /// The service asked for a professional; NemLog-in answers a person assertion.
    PersonForProfessional,
}

impl ResponseFault {
    pub const ALL: [ResponseFault; 19] = [
        ResponseFault::Unsigned,
        ResponseFault::WrappingSignatureMoved,
        ResponseFault::WrappingOriginalInAdvice,
        ResponseFault::WrappingDuplicateId,
        ResponseFault::ForeignKey,
        ResponseFault::Unencrypted,
        ResponseFault::WrongAudience,
        ResponseFault::Expired,
        ResponseFault::NotYetValid,
        ResponseFault::ForeignInResponseTo,
        ResponseFault::Unsolicited,
        ResponseFault::WrongDestination,
        ResponseFault::WrongRecipient,
        ResponseFault::MissingSpecVersion,
        ResponseFault::WrongSpecVersion,
        ResponseFault::LowerLoa,
        ResponseFault::OmitCpr,
        ResponseFault::ProfessionalForPerson,
        ResponseFault::PersonForProfessional,
    ];

    /// The snake-case name (as in scripts and the catalogue).
    #[must_use]
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    fn wrapping(self) -> Option<Wrapping> {
        match self {
            ResponseFault::WrappingSignatureMoved => Some(Wrapping::SignatureMovedToEvil),
            ResponseFault::WrappingOriginalInAdvice => Some(Wrapping::OriginalInAdvice),
            ResponseFault::WrappingDuplicateId => Some(Wrapping::DuplicateId),
            _ => None,
        }
    }
}

/// Who logged in, as the assertion tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubjectFacts {
    /// The person's MitID UUID (the persistent identifier).
    pub uuid: String,
    pub cpr: Option<String>,
    pub full_name: String,
    pub loa: Loa,
    pub ial: Loa,
    pub aal: Loa,
    /// A professional (business) login: the person acting for this company.
    pub professional: Option<ProfessionalIdentity>,
    /// The broker authenticated the person with `NemID`, not `MitID`.
    pub nemid: bool,
    /// The privileges to carry instead of the professional identity's own (a login's script).
    pub privileges: Option<Vec<PrivilegeGroup>>,
}

impl SubjectFacts {
    /// The privilege groups the assertion carries: the script's, else every privilege of the
    /// professional identity, scoped to its company.
    #[must_use]
    pub fn privilege_groups(&self) -> Vec<PrivilegeGroup> {
        if let Some(groups) = &self.privileges {
            return groups.clone();
        }
        self.professional
            .iter()
            .map(|p| PrivilegeGroup {
                cvr: p.cvr.clone(),
                privileges: p.privileges.clone(),
            })
            .collect()
    }

    /// The persistent `NameID`: the professional identifier in a business login, else the
    /// person's.
    #[must_use]
    pub fn name_id(&self) -> String {
        match &self.professional {
            Some(p) => professional_name_id(&p.persistent_professional_id),
            None => name_id(&self.uuid),
        }
    }
}

/// To whom, for which request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressee<'a> {
    pub idp_entity_id: &'a str,
    pub sp_entity_id: &'a str,
    pub acs: &'a str,
    pub in_response_to: Option<&'a str>,
    pub encryption: &'a Certificate,
}

/// The keys the IdP signs with: its published key, and one it never published.
#[derive(Debug, Clone)]
pub struct IdpKeys {
    pub signing: KeyPair,
    pub foreign: KeyPair,
}

/// A minted response: its XML and its ID (for the control API's log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    pub xml: String,
    pub response_id: String,
    pub assertion_id: String,
}

fn attribute(name: &str, value: &str) -> String {
    format!(
        r#"<saml:Attribute Name="{name}" NameFormat="{f}"><saml:AttributeValue>{v}</saml:AttributeValue></saml:Attribute>"#,
        f = uri::ATTR_URI,
        v = escape(value)
    )
}

/// The persistent `NameID` of a person (OIOSAML 3: the person's UUID as a URI).
#[must_use]
pub fn name_id(uuid: &str) -> String {
    format!("{}/{uuid}", attr::PERSON_UUID)
}

/// The persistent `NameID` of a professional identity (`urn:uuid:` dropped from the id).
#[must_use]
pub fn professional_name_id(persistent_professional_id: &str) -> String {
    let id = persistent_professional_id
        .strip_prefix("urn:uuid:")
        .unwrap_or(persistent_professional_id);
    format!("{}/{id}", attr::PROFESSIONAL_UUID)
}

struct AssertionParts<'a> {
    id: &'a str,
    subject: &'a SubjectFacts,
    to: &'a Addressee<'a>,
    now: i64,
    fault: Option<ResponseFault>,
}

/// The attribute statement's attributes (OIOSAML 3 names, `NameFormat` uri), wrong as `fault`
/// says.
fn attributes(subject: &SubjectFacts, loa: Loa, fault: Option<ResponseFault>) -> String {
    let mut attributes = String::new();
    match fault {
        Some(ResponseFault::MissingSpecVersion) => {}
        Some(ResponseFault::WrongSpecVersion) => {
            attributes.push_str(&attribute(attr::SPEC_VERSION, "OIO-SAML-2.0"));
        }
        _ => attributes.push_str(&attribute(attr::SPEC_VERSION, attr::SPEC_VERSION_VALUE)),
    }
    attributes.push_str(&attribute(attr::LOA, loa_name(loa)));
    attributes.push_str(&attribute(attr::IAL, loa_name(subject.ial)));
    attributes.push_str(&attribute(attr::AAL, loa_name(subject.aal)));
    if let Some(professional) = &subject.professional {
        // A professional login names the employee-for-company, not the private person.
        attributes.push_str(&attribute(
            attr::PROFESSIONAL_UUID,
            &professional.persistent_professional_id,
        ));
        attributes.push_str(&attribute(attr::CVR, &professional.cvr));
        attributes.push_str(&attribute(attr::ORG_NAME, &professional.org_name));
        if let Some(rid) = &professional.rid {
            attributes.push_str(&attribute(attr::RID, rid));
        }
        attributes.push_str(&attribute(
            attr::PRIVILEGES,
            &privileges::encode(&subject.privilege_groups()),
        ));
    } else {
        attributes.push_str(&attribute(attr::PERSON_UUID, &subject.uuid));
        if let Some(cpr) = subject
            .cpr
            .as_deref()
            .filter(|_| fault != Some(ResponseFault::OmitCpr))
        {
            attributes.push_str(&attribute(attr::CPR, cpr));
        }
    }
    let (first, last) = subject
        .full_name
        .rsplit_once(' ')
        .unwrap_or((subject.full_name.as_str(), ""));
    attributes.push_str(&attribute(attr::FIRST_NAME, first));
    attributes.push_str(&attribute(attr::LAST_NAME, last));
    attributes.push_str(&attribute(attr::FULL_NAME, &subject.full_name));
    attributes
}

fn assertion_xml(p: &AssertionParts<'_>) -> String {
    let fault = p.fault;
    let issued = match fault {
        Some(ResponseFault::Expired) => p.now - 2 * ASSERTION_LIFETIME_SECONDS,
        _ => p.now,
    };
    let not_before = match fault {
        Some(ResponseFault::NotYetValid) => p.now + 600,
        _ => issued - CLOCK_SKEW_SECONDS,
    };
    let not_on_or_after = issued + ASSERTION_LIFETIME_SECONDS;
    let audience = match fault {
        Some(ResponseFault::WrongAudience) => "https://another-service.invalid/saml",
        _ => p.to.sp_entity_id,
    };
    let recipient = match fault {
        Some(ResponseFault::WrongRecipient) => "https://another-service.invalid/saml/acs",
        _ => p.to.acs,
    };
    let in_response_to = in_response_to(p.to, fault)
        .map(|id| format!(r#" InResponseTo="{}""#, escape(&id)))
        .unwrap_or_default();
    let loa = if fault == Some(ResponseFault::LowerLoa) {
        Loa::Low
    } else {
        p.subject.loa
    };
    let attributes = attributes(p.subject, loa, fault);
    format!(
        concat!(
            r#"<saml:Assertion xmlns:saml="{saml}" ID="{id}" Version="2.0" IssueInstant="{issued}">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<saml:Subject><saml:NameID Format="{persistent}">{name_id}</saml:NameID>"#,
            r#"<saml:SubjectConfirmation Method="{bearer}">"#,
            r#"<saml:SubjectConfirmationData{irt} NotOnOrAfter="{noa}" Recipient="{recipient}"/>"#,
            r#"</saml:SubjectConfirmation></saml:Subject>"#,
            r#"<saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}">"#,
            r#"<saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
            r#"<saml:AuthnStatement AuthnInstant="{issued}" SessionIndex="{session}">"#,
            r#"<saml:AuthnContext><saml:AuthnContextClassRef>{loa_uri}</saml:AuthnContextClassRef>"#,
            r#"<saml:AuthenticatingAuthority>{authority}</saml:AuthenticatingAuthority></saml:AuthnContext>"#,
            r#"</saml:AuthnStatement><saml:AttributeStatement>{attributes}</saml:AttributeStatement></saml:Assertion>"#
        ),
        saml = ns::SAML,
        id = p.id,
        issued = instant(issued),
        issuer = escape(p.to.idp_entity_id),
        persistent = uri::PERSISTENT,
        name_id = escape(&p.subject.name_id()),
        bearer = uri::BEARER,
        irt = in_response_to,
        noa = instant(not_on_or_after),
        recipient = escape(recipient),
        nb = instant(not_before),
        audience = escape(audience),
        session = p.id,
        loa_uri = loa_uri(loa),
        authority = if p.subject.nemid {
            uri::NEMID_AUTHORITY
        } else {
            uri::MITID_AUTHORITY
        },
        attributes = attributes,
    )
}

fn in_response_to(to: &Addressee<'_>, fault: Option<ResponseFault>) -> Option<String> {
    match fault {
        Some(ResponseFault::Unsolicited) => None,
        Some(ResponseFault::ForeignInResponseTo) => Some(new_id()),
        _ => to.in_response_to.map(str::to_owned),
    }
}

/// Mints the response for a successful login, wrong in the way `fault` says (if any).
pub fn mint(
    subject: &SubjectFacts,
    to: &Addressee<'_>,
    keys: &IdpKeys,
    now: i64,
    fault: Option<ResponseFault>,
) -> Result<Minted, XmlSecurityError> {
    let assertion_id = new_id();
    let parts = AssertionParts {
        id: &assertion_id,
        subject,
        to,
        now,
        fault,
    };
    let key = if fault == Some(ResponseFault::ForeignKey) {
        &keys.foreign
    } else {
        &keys.signing
    };
    let signed = xml_security::sign_enveloped(&assertion_xml(&parts), &assertion_id, key)?;
    let assertion = match fault {
        Some(ResponseFault::Unsigned) => xml_security::strip_signature(&signed),
        Some(f) if f.wrapping().is_some() => {
            // The forged assertion: the same login, but for another person (a CPR number no
            // citizen of the lab has) and with High assurance.
            let forged_subject = SubjectFacts {
                uuid: "00000000-0000-4000-8000-00000000e71c".into(),
                cpr: Some("0101709999".into()),
                full_name: "Mallory Forged".into(),
                loa: Loa::High,
                ial: Loa::High,
                aal: Loa::High,
                professional: None,
                nemid: false,
                privileges: None,
            };
            let forged_id = new_id();
            let forged = assertion_xml(&AssertionParts {
                id: &forged_id,
                subject: &forged_subject,
                to,
                now,
                fault: None,
            });
            xml_security::wrap(
                f.wrapping().unwrap_or(Wrapping::OriginalInAdvice),
                &signed,
                &assertion_id,
                &forged,
                &forged_id,
            )
        }
        _ => signed,
    };
    let carried = if fault == Some(ResponseFault::Unencrypted) {
        assertion
    } else {
        xml_security::encrypt_assertion(&assertion, to.encryption)?
    };
    let response_id = new_id();
    let destination = match fault {
        Some(ResponseFault::WrongDestination) => "https://another-service.invalid/saml/acs",
        _ => to.acs,
    };
    let irt = in_response_to(to, fault)
        .map(|id| format!(r#" InResponseTo="{}""#, escape(&id)))
        .unwrap_or_default();
    let xml = format!(
        concat!(
            r#"<samlp:Response xmlns:samlp="{samlp}" xmlns:saml="{saml}" ID="{id}" Version="2.0" IssueInstant="{now}" Destination="{dest}"{irt}>"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<samlp:Status><samlp:StatusCode Value="{success}"/></samlp:Status>{carried}</samlp:Response>"#
        ),
        samlp = ns::SAMLP,
        saml = ns::SAML,
        id = response_id,
        now = instant(now),
        dest = escape(destination),
        irt = irt,
        issuer = escape(to.idp_entity_id),
        success = uri::SUCCESS,
        carried = carried,
    );
    Ok(Minted {
        xml,
        response_id,
        assertion_id,
    })
}

/// A response without an assertion: the login failed (`status` is a SAML status code URI, with
/// an optional second-level code and message).
#[must_use]
pub fn failure(
    to: &Addressee<'_>,
    now: i64,
    status: &str,
    second: Option<&str>,
    message: &str,
) -> Minted {
    let response_id = new_id();
    let irt = to
        .in_response_to
        .map(|id| format!(r#" InResponseTo="{}""#, escape(id)))
        .unwrap_or_default();
    let inner = second
        .map(|s| format!(r#"<samlp:StatusCode Value="{s}"/>"#))
        .unwrap_or_default();
    let xml = format!(
        concat!(
            r#"<samlp:Response xmlns:samlp="{samlp}" xmlns:saml="{saml}" ID="{id}" Version="2.0" IssueInstant="{now}" Destination="{dest}"{irt}>"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<samlp:Status><samlp:StatusCode Value="{status}">{inner}</samlp:StatusCode>"#,
            r#"<samlp:StatusMessage>{message}</samlp:StatusMessage></samlp:Status></samlp:Response>"#
        ),
        samlp = ns::SAMLP,
        saml = ns::SAML,
        id = response_id,
        now = instant(now),
        dest = escape(to.acs),
        irt = irt,
        issuer = escape(to.idp_entity_id),
        status = status,
        inner = inner,
        message = escape(message),
    );
    Minted {
        xml,
        response_id,
        assertion_id: String::new(),
    }
}
