//! # Reference SAML service provider (OIOSAML 3)
//!
//! A public self-service behind NemLog-in ([`crate::nemlogin`]), correct by default or started
//! with named [`SamlFlaw`]s, which the SAML conformance requirements must catch. It follows the
//! integrator contract of the OIDC reference SP, with SAML underneath:
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/saml/metadata` | the SP's metadata: signing and encryption certificates, ACS (POST), SLO (Redirect) |
//! | GET | `/login?loa=low\|substantial\|high&identity=person\|professional` | 302 to the IdP's SSO endpoint with a signed `AuthnRequest` (Redirect binding) asking for that NSIS level and identity type (default: a person) |
//! | POST | `/saml/acs` | form `SAMLResponse`: the response is checked ([`validate`]); a session cookie, then 303 to `/me` |
//! | GET | `/me` | 200 [`SamlMe`] or 401 |
//! | GET | `/logout` | ends the session; 302 to the IdP's SLO endpoint with a signed `LogoutRequest` |
//! | GET | `/saml/slo` | the IdP's signed `LogoutResponse`; 303 to `/logged-out` |
//!
//! Accounts are keyed on the persistent `NameID`, never on the CPR number, and a person without
//! a CPR number logs in like anyone else (the service does not need one). A professional login
//! (an employee acting for a company) is keyed on the persistent professional identifier, the
//! `NameID` of such a login, so it is never the person's private account, and a person acting
//! for two companies has two business accounts. It must carry the identity type asked for, and
//! the service's privilege granted for the login's own company. A `NemID` login (named by
//! `AuthenticatingAuthority`) gets no session past the service's cut-off in the `NemID` calendar.

pub mod flaws;
pub mod validate;

pub use flaws::{SamlFlaw, SamlFlawCatalogue, UnknownSamlFlaw};
use validate::Requested;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::header::{CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mitid_devices::Loa;
use serde::Serialize;

use crate::cvr::PRIVILEGE_READ;
use crate::idp::registry::random_token;
use crate::nemid_calendar::{DEFAULT_SECTOR, NemidCalendar};
use crate::saml::metadata::{EntityMetadata, sp_metadata};
use crate::saml::xml_security::{Certificate, KeyPair, XmlSecurityError};
use crate::saml::{binding, escape, instant, loa_uri, new_id, ns, uri};
use crate::service::routing::{get, post};
use crate::service::{self, ApiError, Json, LabClock, Routes, cookie, found};

const SESSION_COOKIE: &str = "saml_sp_session";
/// How long an `AuthnRequest` waits for its response.
const REQUEST_SECONDS: i64 = 600;

/// Everything the SP needs to start.
#[derive(Debug, Clone)]
pub struct SamlSpConfig {
    /// Public base URL; the entityID is `{base}/saml/metadata`.
    pub base_url: String,
    /// The IdP's metadata (entityID, SSO, SLO, signing certificate).
    pub idp: EntityMetadata,
    pub signing: KeyPair,
    pub encryption: KeyPair,
    pub flaws: BTreeSet<SamlFlaw>,
    pub clock: LabClock,
    /// The privilege (URI) a professional login must be granted for its company.
    pub required_privilege: String,
    /// The SP's sector in the `NemID` calendar: from its cut-off `NemID` logins get no session.
    pub sector: String,
    pub nemid_calendar: NemidCalendar,
}

impl SamlSpConfig {
    /// With the test keys of `fixtures/saml/` (test-only) and no flaws.
    pub fn with_test_keys(
        base_url: impl Into<String>,
        idp: EntityMetadata,
    ) -> Result<SamlSpConfig, XmlSecurityError> {
        use crate::nemlogin::test_keys as k;
        Ok(SamlSpConfig {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            idp,
            signing: KeyPair::from_pem(k::SP_SIGNING_KEY, k::SP_SIGNING_CERT)?,
            encryption: KeyPair::from_pem(k::SP_ENCRYPTION_KEY, k::SP_ENCRYPTION_CERT)?,
            flaws: BTreeSet::new(),
            clock: LabClock::system(),
            required_privilege: PRIVILEGE_READ.to_owned(),
            sector: DEFAULT_SECTOR.to_owned(),
            nemid_calendar: NemidCalendar::builtin(),
        })
    }

    #[must_use]
    pub fn entity_id(&self) -> String {
        format!("{}/saml/metadata", self.base_url)
    }

    #[must_use]
    pub fn acs(&self) -> String {
        format!("{}/saml/acs", self.base_url)
    }

    /// The SP's metadata, to register at the IdP.
    #[must_use]
    pub fn metadata(&self) -> String {
        sp_metadata(
            &self.entity_id(),
            &self.signing.certificate(),
            &self.encryption.certificate(),
            &self.acs(),
            &format!("{}/saml/slo", self.base_url),
        )
    }
}

/// What `/me` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SamlMe {
    /// The persistent `NameID`.
    pub sub: String,
    pub account: String,
    pub mitid_uuid: Option<String>,
    pub cpr: Option<String>,
    pub name: Option<String>,
    pub loa: Option<String>,
    /// `person` or `professional`.
    pub identity_type: String,
    /// The company of a professional login.
    pub cvr: Option<String>,
}

#[derive(Debug, Clone)]
struct Session {
    me: SamlMe,
    session_index: Option<String>,
}

#[derive(Debug, Default)]
struct Store {
    /// Outstanding `AuthnRequest` IDs and what each asked for, with their expiry.
    requests: HashMap<String, (Requested, i64)>,
    /// Assertion IDs already consumed (replay), with their expiry.
    seen_assertions: HashMap<String, i64>,
    accounts: HashMap<String, String>,
    sessions: HashMap<String, Session>,
    /// Sessions whose logout was sent, by `LogoutRequest` ID.
    logouts: HashSet<String>,
    last_refusal: Option<String>,
}

#[derive(Debug)]
struct SpState {
    config: SamlSpConfig,
    idp_certificate: Certificate,
    store: Mutex<Store>,
}

impl SpState {
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn has(&self, flaw: SamlFlaw) -> bool {
        self.config.flaws.contains(&flaw)
    }
}

type Shared = Arc<SpState>;

/// Errors starting the SP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlSpError {
    #[error("the IdP's metadata has no signing certificate")]
    NoIdpCertificate,
    #[error("the IdP's metadata has no HTTP-Redirect SingleSignOnService")]
    NoSso,
}

/// The reference SAML SP.
#[derive(Debug, Clone)]
pub struct ReferenceSamlSp {
    state: Shared,
}

impl ReferenceSamlSp {
    pub fn new(config: SamlSpConfig) -> Result<ReferenceSamlSp, SamlSpError> {
        let idp_certificate = config
            .idp
            .signing
            .first()
            .cloned()
            .ok_or(SamlSpError::NoIdpCertificate)?;
        if config.idp.sso.is_none() {
            return Err(SamlSpError::NoSso);
        }
        Ok(ReferenceSamlSp {
            state: Arc::new(SpState {
                config,
                idp_certificate,
                store: Mutex::new(Store::default()),
            }),
        })
    }

    pub fn router(&self) -> Router {
        let routes = Routes::new()
            .route("/saml/metadata", get(metadata))
            .route("/login", get(login))
            .route("/saml/acs", post(acs))
            .route("/me", get(me))
            .route("/logout", get(logout))
            .route("/saml/slo", get(slo))
            .route("/logged-out", get(logged_out))
            .with_state(self.state.clone());
        service::standard("reference-saml-sp", routes)
    }
}

async fn metadata(State(sp): State<Shared>) -> Response {
    let mut response = sp.config.metadata().into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/samlmetadata+xml"),
    );
    response
}

fn redirect_to(location: &str, query: &str) -> Response {
    let separator = if location.contains('?') { '&' } else { '?' };
    found(&format!("{location}{separator}{query}"))
}

async fn login(State(sp): State<Shared>, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let params: HashMap<String, String> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let loa = params
        .get("loa")
        .map(|l| {
            Loa::from_uri_or_name(l).map_err(|_| {
                ApiError::invalid_request(format!("loa: `{l}` is not low, substantial or high"))
            })
        })
        .transpose()?
        .unwrap_or(Loa::Substantial);
    let professional = match params.get("identity").map(String::as_str) {
        None | Some("person") => false,
        Some("professional") => true,
        Some(other) => {
            return Err(ApiError::invalid_request(format!(
                "identity: `{other}` is not person or professional"
            )));
        }
    };
    let sso = sp.config.idp.sso.clone().unwrap_or_default();
    let id = new_id();
    let now = sp.config.clock.now();
    let request = format!(
        concat!(
            r#"<samlp:AuthnRequest xmlns:samlp="{samlp}" xmlns:saml="{saml}" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{now}" Destination="{dest}" AssertionConsumerServiceURL="{acs}" "#,
            r#"ProtocolBinding="{post}"><saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<samlp:RequestedAuthnContext Comparison="minimum">"#,
            r#"<saml:AuthnContextClassRef>{loa}</saml:AuthnContextClassRef>"#,
            r#"<saml:AuthnContextClassRef>{person}</saml:AuthnContextClassRef>"#,
            r#"</samlp:RequestedAuthnContext></samlp:AuthnRequest>"#
        ),
        samlp = ns::SAMLP,
        saml = ns::SAML,
        id = id,
        now = instant(now),
        dest = escape(&sso),
        acs = escape(&sp.config.acs()),
        post = uri::POST,
        issuer = escape(&sp.config.entity_id()),
        loa = loa_uri(loa),
        person = if professional {
            uri::PROFESSIONAL
        } else {
            uri::PERSON
        },
    );
    {
        let mut store = sp.lock();
        store.requests.retain(|_, (_, exp)| *exp > now);
        store
            .requests
            .insert(id, (Requested { loa, professional }, now + REQUEST_SECONDS));
    }
    let query = binding::redirect_query("SAMLRequest", &request, None, Some(&sp.config.signing));
    Ok(redirect_to(&sso, &query))
}

fn refuse(sp: &SpState, status: StatusCode, reason: &str) -> Response {
    sp.lock().last_refusal = Some(reason.to_owned());
    (
        status,
        Json(serde_json::json!({"error": "login_refused", "error_description": reason})),
    )
        .into_response()
}

async fn acs(State(sp): State<Shared>, body: axum::body::Bytes) -> Response {
    let params: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let Some(value) = params.get("SAMLResponse") else {
        return refuse(
            &sp,
            StatusCode::BAD_REQUEST,
            "form field `SAMLResponse` is missing",
        );
    };
    let xml = match binding::read_post("SAMLResponse", value) {
        Ok(xml) => xml,
        Err(e) => return refuse(&sp, StatusCode::BAD_REQUEST, &e.to_string()),
    };
    match accept(&sp, &xml) {
        Ok(session_id) => {
            let mut response = (StatusCode::SEE_OTHER, [("location", "/me")]).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{SESSION_COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax"
            )) {
                response.headers_mut().append(SET_COOKIE, v);
            }
            response
        }
        Err(reason) => refuse(&sp, StatusCode::FORBIDDEN, &reason),
    }
}

/// Checks a response end to end; answers the new session's id.
fn accept(sp: &SpState, xml: &str) -> Result<String, String> {
    let now = sp.config.clock.now();
    let acs = sp.config.acs();
    let entity_id = sp.config.entity_id();
    let ex = validate::Expectations {
        entity_id: &entity_id,
        acs: &acs,
        idp_entity_id: &sp.config.idp.entity_id,
        idp_certificate: &sp.idp_certificate,
        decryption: &sp.config.encryption,
        now,
        flaws: &sp.config.flaws,
        required_privilege: &sp.config.required_privilege,
    };
    let envelope = validate::response(xml, &ex).map_err(|e| e.to_string())?;
    // Which of our requests this answers: unsolicited responses are refused (OIOSAML 3), and
    // an answered request is consumed, so the same response cannot be used twice.
    let requested = {
        let mut store = sp.lock();
        match envelope.in_response_to.as_deref() {
            None if sp.has(SamlFlaw::AcceptUnsolicitedResponse) => None,
            None => return Err("the response has no InResponseTo (unsolicited)".into()),
            Some(id) => match store.requests.get(id).copied() {
                Some((requested, exp)) if exp > now => {
                    if !sp.has(SamlFlaw::AcceptReplayedResponse) {
                        store.requests.remove(id);
                    }
                    Some(requested)
                }
                _ if sp.has(SamlFlaw::SkipInResponseToCheck) => None,
                _ => {
                    return Err(format!(
                        "InResponseTo `{id}` is no outstanding request of this service"
                    ));
                }
            },
        }
    };
    let claims =
        validate::assertion(&envelope.assertion_xml, &ex, requested).map_err(|e| e.to_string())?;
    if let (Some(a), Some(b)) = (&envelope.in_response_to, &claims.subject_in_response_to)
        && a != b
        && !sp.has(SamlFlaw::SkipInResponseToCheck)
    {
        return Err("SubjectConfirmationData/@InResponseTo differs from the response's".into());
    }
    // A NemID login past the service's cut-off gets no session, whatever NemLog-in let through.
    if claims.nemid
        && !sp.has(SamlFlaw::AcceptNemidAfterCutoff)
        && let Err(refusal) = sp
            .config
            .nemid_calendar
            .check_login(&sp.config.sector, sp.config.clock.today())
    {
        return Err(format!("NemID login refused: {refusal}"));
    }
    let mut store = sp.lock();
    store.seen_assertions.retain(|_, exp| *exp > now);
    if !sp.has(SamlFlaw::AcceptReplayedResponse)
        && store.seen_assertions.contains_key(&claims.assertion_id)
    {
        return Err(format!(
            "assertion `{}` was already used",
            claims.assertion_id
        ));
    }
    store
        .seen_assertions
        .insert(claims.assertion_id.clone(), now + 2 * REQUEST_SECONDS);
    let next = store.accounts.len() + 1;
    let account = store
        .accounts
        .entry(account_key(sp, &claims))
        .or_insert_with(|| format!("account-{next}"))
        .clone();
    let session_id = random_token(24);
    store.sessions.insert(
        session_id.clone(),
        Session {
            me: SamlMe {
                sub: claims.name_id,
                account,
                mitid_uuid: claims.uuid,
                cpr: claims.cpr,
                name: claims.name,
                loa: claims.loa.map(|l| l.name().to_owned()),
                identity_type: if claims.cvr.is_some() {
                    "professional".into()
                } else {
                    "person".into()
                },
                cvr: claims.cvr,
            },
            session_index: claims.session_index,
        },
    );
    store.last_refusal = None;
    Ok(session_id)
}

/// The account a login belongs to: the persistent `NameID` (the person's, or in a professional
/// login the professional identifier's), unless a flaw keys business accounts on something else.
fn account_key(sp: &SpState, claims: &validate::Claims) -> String {
    match &claims.cvr {
        Some(cvr) if sp.has(SamlFlaw::BusinessAccountsKeyedOnCvr) => format!("cvr:{cvr}"),
        Some(_) if sp.has(SamlFlaw::BusinessAccountsKeyedOnName) => {
            format!("business:{}", claims.name.as_deref().unwrap_or_default())
        }
        _ => claims.name_id.clone(),
    }
}

async fn me(State(sp): State<Shared>, headers: HeaderMap) -> Result<Json<SamlMe>, ApiError> {
    cookie(&headers, SESSION_COOKIE)
        .and_then(|sid| sp.lock().sessions.get(&sid).map(|s| s.me.clone()))
        .map(Json)
        .ok_or_else(|| ApiError::Unauthorized("no session; log in at /login".into()))
}

async fn logout(State(sp): State<Shared>, headers: HeaderMap) -> Response {
    let sid = cookie(&headers, SESSION_COOKIE);
    let session = sid.as_ref().and_then(|sid| {
        let mut store = sp.lock();
        if sp.has(SamlFlaw::LogoutKeepsLocalSession) {
            store.sessions.get(sid).cloned()
        } else {
            store.sessions.remove(sid)
        }
    });
    let (Some(session), Some(slo)) = (session, sp.config.idp.slo.clone()) else {
        return (StatusCode::SEE_OTHER, [("location", "/logged-out")]).into_response();
    };
    let id = new_id();
    let session_index = session
        .session_index
        .map(|s| format!("<samlp:SessionIndex>{}</samlp:SessionIndex>", escape(&s)))
        .unwrap_or_default();
    let request = format!(
        concat!(
            r#"<samlp:LogoutRequest xmlns:samlp="{samlp}" xmlns:saml="{saml}" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{now}" Destination="{dest}"><saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<saml:NameID Format="{persistent}">{name_id}</saml:NameID>{session_index}</samlp:LogoutRequest>"#
        ),
        samlp = ns::SAMLP,
        saml = ns::SAML,
        id = id,
        now = instant(sp.config.clock.now()),
        dest = escape(&slo),
        issuer = escape(&sp.config.entity_id()),
        persistent = uri::PERSISTENT,
        name_id = escape(&session.me.sub),
        session_index = session_index,
    );
    sp.lock().logouts.insert(id);
    let query = binding::redirect_query("SAMLRequest", &request, None, Some(&sp.config.signing));
    let mut response = redirect_to(&slo, &query);
    if !sp.has(SamlFlaw::LogoutKeepsLocalSession) {
        response.headers_mut().append(
            SET_COOKIE,
            HeaderValue::from_static("saml_sp_session=; Path=/; Max-Age=0"),
        );
    }
    response
}

async fn slo(State(sp): State<Shared>, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let message = binding::read_redirect(&query.unwrap_or_default())
        .map_err(|e| ApiError::invalid_request(e.to_string()))?;
    message
        .verify(&sp.idp_certificate)
        .map_err(|e| ApiError::invalid_request(format!("LogoutResponse: {e}")))?;
    Ok((StatusCode::SEE_OTHER, [("location", "/logged-out")]).into_response())
}

async fn logged_out() -> Json<serde_json::Value> {
    Json(serde_json::json!({"logged_out": true}))
}
