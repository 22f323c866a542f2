//! The IdP's protocol endpoints: metadata, single sign-on (SAML in, OIDC to the broker, SAML
//! out) and single logout.
//!
//! A request that cannot be answered to the service provider (no or unreadable `SAMLRequest`,
//! an unknown issuer, a bad signature, an ACS URL the metadata does not list) gets an HTML
//! error page naming what is wrong ([`SsoRejection`]); SAML must not send a response to an
//! address it cannot trust. A login that fails after that (the citizen aborts, the `LoA` is not
//! reached) ends with a SAML response carrying the failure status, to the registered ACS.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libxml::parser::Parser;
use mitid_devices::Loa;
use sha2::{Digest, Sha256};

use super::assertion::{self, Addressee, ResponseFault, SubjectFacts};
use super::{PendingLogin, SharedState};
use crate::cvr::ProfessionalIdentity;
use crate::idp::registry::random_token;
use crate::saml::binding::{self, BindingError};
use crate::saml::metadata::{EntityMetadata, idp_metadata};
use crate::saml::xml_security::{children, is};
use crate::saml::{escape, instant, new_id, ns, parse_loa, uri};
use crate::service::{error_page, found};

/// How long a login may take between the `AuthnRequest` and the broker's answer.
const LOGIN_SECONDS: i64 = 600;

/// Why the IdP refuses a request without answering the service provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsoRejection {
    #[error("the request has no query string (SAMLRequest is missing)")]
    NoQuery,
    #[error("{0}")]
    Binding(#[from] BindingError),
    #[error("the SAML message is not well-formed XML")]
    NotXml,
    #[error("expected a samlp:{expected}, got `{got}`")]
    WrongMessage { expected: &'static str, got: String },
    #[error("`{0}` is missing from the message")]
    MissingField(&'static str),
    #[error("no service provider `{0}` is registered (register its metadata first)")]
    UnknownServiceProvider(String),
    #[error("the request's signature: {0}")]
    Signature(BindingError),
    #[error("AssertionConsumerServiceURL `{0}` is not in the service provider's metadata")]
    UnknownAcs(String),
    #[error("Destination `{got}` is not this IdP's endpoint `{expected}`")]
    WrongDestination { got: String, expected: String },
    #[error("no login `{0}` is waiting (expired or never started)")]
    UnknownLogin(String),
}

impl IntoResponse for SsoRejection {
    fn into_response(self) -> Response {
        error_page(
            StatusCode::BAD_REQUEST,
            "NemLog-in cannot log you in",
            &self.to_string(),
        )
    }
}

/// The IdP's metadata document: entityID, signing certificate, SSO and SLO endpoints.
#[must_use]
pub fn metadata_document(state: &SharedState) -> String {
    idp_metadata(
        &state.entity_id,
        &state.keys.signing.certificate(),
        &state.endpoint("/saml/sso"),
        &state.endpoint("/saml/slo"),
    )
}

pub async fn metadata(State(state): State<SharedState>) -> Response {
    let body = metadata_document(&state);
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/samlmetadata+xml"),
    );
    response
}

/// What the IdP reads from an `AuthnRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequest {
    pub id: String,
    pub issuer: String,
    pub destination: Option<String>,
    pub acs: Option<String>,
    pub force_authn: bool,
    /// `RequestedAuthnContext` class references, as given.
    pub class_refs: Vec<String>,
}

impl AuthnRequest {
    /// The highest NSIS level among the requested class references.
    #[must_use]
    pub fn requested_loa(&self) -> Option<Loa> {
        self.class_refs.iter().filter_map(|c| parse_loa(c)).max()
    }

    #[must_use]
    pub fn wants_professional(&self) -> bool {
        self.class_refs.iter().any(|c| c == uri::PROFESSIONAL)
            && !self.class_refs.iter().any(|c| c == uri::PERSON)
    }
}

fn root_of(xml: &str, expected: &'static str) -> Result<libxml::tree::Document, SsoRejection> {
    let doc = Parser::default()
        .parse_string(xml)
        .map_err(|_| SsoRejection::NotXml)?;
    let root = doc.get_root_element().ok_or(SsoRejection::NotXml)?;
    if !is(&root, ns::SAMLP, expected) {
        return Err(SsoRejection::WrongMessage {
            expected,
            got: root.get_name(),
        });
    }
    Ok(doc)
}

fn issuer_of(root: &libxml::tree::Node) -> Result<String, SsoRejection> {
    children(root, ns::SAML, "Issuer")
        .next()
        .map(|i| i.get_content().trim().to_owned())
        .filter(|i| !i.is_empty())
        .ok_or(SsoRejection::MissingField("Issuer"))
}

/// Reads an `AuthnRequest`.
pub fn parse_authn_request(xml: &str) -> Result<AuthnRequest, SsoRejection> {
    let doc = root_of(xml, "AuthnRequest")?;
    let root = doc.get_root_element().ok_or(SsoRejection::NotXml)?;
    let id = root
        .get_attribute("ID")
        .filter(|i| !i.is_empty())
        .ok_or(SsoRejection::MissingField("ID"))?;
    let mut class_refs = Vec::new();
    for requested in children(&root, ns::SAMLP, "RequestedAuthnContext") {
        for class in children(&requested, ns::SAML, "AuthnContextClassRef") {
            class_refs.push(class.get_content().trim().to_owned());
        }
    }
    Ok(AuthnRequest {
        id,
        issuer: issuer_of(&root)?,
        destination: root.get_attribute("Destination"),
        acs: root.get_attribute("AssertionConsumerServiceURL"),
        force_authn: root.get_attribute("ForceAuthn").as_deref() == Some("true"),
        class_refs,
    })
}

fn verify_from(
    sp: &EntityMetadata,
    message: &binding::RedirectMessage,
) -> Result<(), SsoRejection> {
    let mut last = BindingError::Unsigned;
    for cert in &sp.signing {
        match message.verify(cert) {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(SsoRejection::Signature(last))
}

fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `GET /saml/sso`: checks the `AuthnRequest` and sends the browser to the broker.
pub async fn single_sign_on(
    State(state): State<SharedState>,
    RawQuery(query): RawQuery,
) -> Result<Response, SsoRejection> {
    let message = binding::read_redirect(&query.ok_or(SsoRejection::NoQuery)?)?;
    if message.field != "SAMLRequest" {
        return Err(SsoRejection::MissingField("SAMLRequest"));
    }
    let request = parse_authn_request(&message.xml)?;
    let sp = state
        .lock()
        .service_providers
        .get(&request.issuer)
        .cloned()
        .ok_or_else(|| SsoRejection::UnknownServiceProvider(request.issuer.clone()))?;
    verify_from(&sp, &message)?;
    let expected = state.endpoint("/saml/sso");
    if let Some(destination) = request.destination.as_deref().filter(|d| *d != expected) {
        return Err(SsoRejection::WrongDestination {
            got: destination.to_owned(),
            expected,
        });
    }
    let acs = match &request.acs {
        Some(acs) if sp.acs.contains(acs) => acs.clone(),
        Some(acs) => return Err(SsoRejection::UnknownAcs(acs.clone())),
        None => sp.acs[0].clone(),
    };
    let extra = |name: &str| {
        message
            .extra
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let login_hint = extra("login_hint");
    // The citizen's choice on NemLog-in's own page (`nemid`), as the broker's page offers it.
    let idp_values = extra("idp_values");
    let test_user = login_hint
        .as_deref()
        .and_then(|h| h.strip_prefix("test:"))
        .map(|rest| rest.split(':').next().unwrap_or_default().to_owned());
    let now = state.now();
    let tx = random_token(16);
    let verifier = random_token(32);
    let script_id = {
        let mut store = state.lock();
        store.logins.retain(|_, l| l.expires_at > now);
        let script_id = test_user.as_deref().and_then(|u| store.take_script(u));
        store.logins.insert(
            tx.clone(),
            PendingLogin {
                sp_entity_id: sp.entity_id.clone(),
                request_id: request.id.clone(),
                acs,
                relay_state: message.relay_state.clone(),
                requested_loa: request.requested_loa(),
                code_verifier: verifier.clone(),
                script_id: script_id.clone(),
                expires_at: now + LOGIN_SECONDS,
            },
        );
        script_id
    };
    let fault = state
        .lock()
        .script_mut(script_id.as_deref())
        .and_then(|s| s.fault);
    let authorize = broker_authorize(
        &state,
        &request,
        &BrokerLogin {
            tx: &tx,
            verifier: &verifier,
            fault,
            login_hint: login_hint.as_deref(),
            idp_values: idp_values.as_deref(),
        },
    )
    .ok_or_else(|| SsoRejection::UnknownLogin(tx.clone()))?;
    Ok(found(authorize.as_str()))
}

/// The `idp_values` entry that asks the broker for a business (`MitID` Erhverv) login, and the
/// scope whose claims describe the professional identity (the lab's broker profile).
const BUSINESS_IDP_VALUE: &str = "mitid_erhverv";
const BUSINESS_SCOPE: &str = "nemlogin";

/// One login's parameters for the broker.
struct BrokerLogin<'a> {
    tx: &'a str,
    verifier: &'a str,
    fault: Option<ResponseFault>,
    login_hint: Option<&'a str>,
    idp_values: Option<&'a str>,
}

/// The broker's authorization request for one NemLog-in login (NemLog-in is its OIDC client).
/// A professional login (the identity type the service asked for, unless the login's script
/// swaps it) asks the broker for a business login and its claims.
fn broker_authorize(
    state: &SharedState,
    request: &AuthnRequest,
    login: &BrokerLogin<'_>,
) -> Option<url::Url> {
    let BrokerLogin {
        tx,
        verifier,
        fault,
        login_hint,
        idp_values,
    } = *login;
    let professional = match fault {
        Some(ResponseFault::ProfessionalForPerson) => true,
        Some(ResponseFault::PersonForProfessional) => false,
        _ => request.wants_professional(),
    };
    let mut authorize = url::Url::parse(&format!("{}/authorize", state.broker.issuer)).ok()?;
    {
        let mut pairs = authorize.query_pairs_mut();
        pairs
            .append_pair("response_type", "code")
            .append_pair("client_id", &state.broker.client_id)
            .append_pair(
                "redirect_uri",
                &super::BrokerClient::redirect_uri(&state.base_url),
            )
            .append_pair(
                "scope",
                &if professional {
                    format!("openid mitid ssn {BUSINESS_SCOPE}")
                } else {
                    "openid mitid ssn".to_owned()
                },
            )
            .append_pair("state", tx)
            .append_pair("code_challenge", &pkce_challenge(verifier))
            .append_pair("code_challenge_method", "S256");
        // A scripted "lower LoA" login is one the broker was not asked to make strong.
        if let Some(loa) = request
            .requested_loa()
            .filter(|_| fault != Some(ResponseFault::LowerLoa))
        {
            pairs.append_pair("acr_values", loa.uri());
        }
        if let Some(hint) = login_hint {
            pairs.append_pair("login_hint", hint);
        }
        if professional {
            pairs.append_pair("idp_values", BUSINESS_IDP_VALUE);
        } else if let Some(values) = idp_values {
            pairs.append_pair("idp_values", values);
        }
        if request.force_authn {
            pairs.append_pair("prompt", "login");
        }
    }
    Some(authorize)
}

fn addressee<'a>(
    state: &'a SharedState,
    sp: &'a EntityMetadata,
    acs: &'a str,
    in_response_to: Option<&'a str>,
) -> Addressee<'a> {
    Addressee {
        idp_entity_id: &state.entity_id,
        sp_entity_id: &sp.entity_id,
        acs,
        in_response_to,
        // Registration refuses metadata without an encryption certificate.
        encryption: sp.encryption.as_ref().unwrap_or_else(|| &sp.signing[0]),
    }
}

/// What the broker's token endpoint told about the person.
async fn redeem(state: &SharedState, code: &str, verifier: &str) -> Result<SubjectFacts, String> {
    let answer = state
        .http
        .post(format!("{}/token", state.broker.issuer))
        .basic_auth(&state.broker.client_id, Some(&state.broker.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            (
                "redirect_uri",
                &super::BrokerClient::redirect_uri(&state.base_url),
            ),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .map_err(|e| format!("the MitID broker's token endpoint did not answer: {e}"))?;
    let status = answer.status();
    let body: serde_json::Value = answer
        .json()
        .await
        .map_err(|_| format!("the MitID broker's token endpoint answered {status} without JSON"))?;
    let id_token = body["id_token"]
        .as_str()
        .ok_or_else(|| format!("the MitID broker answered {status} without an ID token: {body}"))?;
    // The ID token comes straight from the broker's token endpoint over the lab's own
    // connection, so its payload is read without checking the signature (OIDC Core §3.1.3.7).
    let payload = id_token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .ok_or("the MitID broker's ID token is not a JWT")?;
    let level = |name: &str| payload[name].as_str().and_then(parse_loa);
    let text = |name: &str| payload[name].as_str().map(str::to_owned);
    // The broker's `nemlogin` scope: present exactly in a business login.
    let professional = text("nemlogin.cvr").map(|cvr| ProfessionalIdentity {
        cvr,
        org_name: text("nemlogin.org_name").unwrap_or_default(),
        persistent_professional_id: text("nemlogin.persistent_professional_id").unwrap_or_default(),
        rid: text("nemlogin.nemid.rid"),
        privileges: payload["nemlogin.privileges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect(),
    });
    Ok(SubjectFacts {
        uuid: payload["mitid.uuid"]
            .as_str()
            .or_else(|| payload["sub"].as_str())
            .unwrap_or_default()
            .to_owned(),
        cpr: payload["dk.cpr"].as_str().map(str::to_owned),
        full_name: payload["mitid.identity_name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        loa: level("loa").ok_or("the ID token has no loa")?,
        ial: level("ial").unwrap_or(Loa::Low),
        aal: level("aal").unwrap_or(Loa::Low),
        professional,
        nemid: payload["idp"].as_str() == Some("nemid"),
        privileges: None,
    })
}

/// `GET /saml/callback`: the broker's answer; ends the login with a SAML response.
pub async fn broker_callback(
    State(state): State<SharedState>,
    RawQuery(query): RawQuery,
) -> Result<Response, SsoRejection> {
    let params: HashMap<String, String> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let tx = params
        .get("state")
        .ok_or(SsoRejection::MissingField("state"))?;
    let login = state
        .lock()
        .logins
        .remove(tx)
        .ok_or_else(|| SsoRejection::UnknownLogin(tx.clone()))?;
    let sp = state
        .lock()
        .service_providers
        .get(&login.sp_entity_id)
        .cloned()
        .ok_or_else(|| SsoRejection::UnknownServiceProvider(login.sp_entity_id.clone()))?;
    let to = addressee(&state, &sp, &login.acs, Some(&login.request_id));
    let now = state.now();
    let (fault, privileges) = state
        .lock()
        .script_mut(login.script_id.as_deref())
        .map(|s| (s.fault, s.privileges.clone()))
        .unwrap_or_default();
    let minted = if let Some(error) = params.get("error") {
        let description = params.get("error_description").cloned().unwrap_or_default();
        let second = if description.contains("insufficient_loa") {
            uri::NO_AUTHN_CONTEXT
        } else {
            uri::AUTHN_FAILED
        };
        let status = if error == "access_denied" {
            uri::RESPONDER
        } else {
            uri::REQUESTER
        };
        assertion::failure(
            &to,
            now,
            status,
            Some(second),
            &format!("{error}: {description}"),
        )
    } else {
        let code = params
            .get("code")
            .ok_or(SsoRejection::MissingField("code"))?;
        match redeem(&state, code, &login.code_verifier).await {
            Ok(subject) => match assertion::mint(
                &SubjectFacts {
                    privileges: privileges.or(subject.privileges.clone()),
                    ..subject
                },
                &to,
                &state.keys,
                now,
                fault,
            ) {
                Ok(minted) => minted,
                Err(e) => assertion::failure(&to, now, uri::RESPONDER, None, &e.to_string()),
            },
            Err(e) => assertion::failure(&to, now, uri::RESPONDER, None, &e),
        }
    };
    {
        let mut store = state.lock();
        if let Some(log) = store.script_mut(login.script_id.as_deref()) {
            log.response_id = Some(minted.response_id.clone());
            log.in_response_to = Some(login.request_id.clone());
            log.service_provider = Some(sp.entity_id.clone());
            log.status = Some(if minted.assertion_id.is_empty() {
                "failure".into()
            } else {
                "success".into()
            });
        }
    }
    Ok(Html(binding::post_form(
        &login.acs,
        "SAMLResponse",
        &minted.xml,
        login.relay_state.as_deref(),
    ))
    .into_response())
}

/// `GET /saml/slo`: a service provider's signed `LogoutRequest`; answers a signed
/// `LogoutResponse` by Redirect to the SP's logout endpoint.
pub async fn single_logout(
    State(state): State<SharedState>,
    RawQuery(query): RawQuery,
) -> Result<Response, SsoRejection> {
    let message = binding::read_redirect(&query.ok_or(SsoRejection::NoQuery)?)?;
    let doc = root_of(&message.xml, "LogoutRequest")?;
    let root = doc.get_root_element().ok_or(SsoRejection::NotXml)?;
    let request_id = root
        .get_attribute("ID")
        .filter(|i| !i.is_empty())
        .ok_or(SsoRejection::MissingField("ID"))?;
    let issuer = issuer_of(&root)?;
    let name_id = children(&root, ns::SAML, "NameID")
        .next()
        .map(|n| n.get_content().trim().to_owned())
        .ok_or(SsoRejection::MissingField("NameID"))?;
    drop(doc);
    let sp = state
        .lock()
        .service_providers
        .get(&issuer)
        .cloned()
        .ok_or_else(|| SsoRejection::UnknownServiceProvider(issuer.clone()))?;
    let verified = verify_from(&sp, &message);
    state.lock().logouts.push(super::LogoutRecord {
        service_provider: issuer.clone(),
        request_id: request_id.clone(),
        name_id,
        signature_valid: verified.is_ok(),
    });
    verified?;
    let slo = sp.slo.clone().ok_or(SsoRejection::MissingField(
        "SingleLogoutService (in the SP's metadata)",
    ))?;
    let response = format!(
        concat!(
            r#"<samlp:LogoutResponse xmlns:samlp="{samlp}" xmlns:saml="{saml}" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{now}" Destination="{dest}" InResponseTo="{irt}">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{ok}"/></samlp:Status>"#,
            r#"</samlp:LogoutResponse>"#
        ),
        samlp = ns::SAMLP,
        saml = ns::SAML,
        id = new_id(),
        now = instant(state.now()),
        dest = escape(&slo),
        irt = escape(&request_id),
        issuer = escape(&state.entity_id),
        ok = uri::SUCCESS,
    );
    let query = binding::redirect_query(
        "SAMLResponse",
        &response,
        message.relay_state.as_deref(),
        Some(&state.keys.signing),
    );
    let separator = if slo.contains('?') { '&' } else { '?' };
    Ok(found(&format!("{slo}{separator}{query}")))
}
