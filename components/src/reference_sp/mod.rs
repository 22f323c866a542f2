//! # Reference service provider
//!
//! Constructor: [`ReferenceSp::new`]`(`[`SpConfig`]`) -> Router`. [`SpConfig`] names the IdP's
//! issuer URL (the SP discovers everything else from `{issuer}/.well-known/openid-configuration`),
//! its client id and secret (`client_secret_basic`), its own public base URL, and the named
//! [`Flaw`]s to start with (none: the correct integration). Register its
//! [`SpConfig::redirect_uri`], [`SpConfig::post_logout_redirect_uri`] and
//! [`SpConfig::backchannel_logout_uri`] with the IdP.
//!
//! A borger.dk-like portal with the six self-services of the seed, each with the LoA it needs
//! ([`SELF_SERVICES`]), integrating with the IdP exactly per the integrator contract:
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/` | the portal page (HTML) |
//! | GET | `/login?loa=low\|substantial\|high&return_to=/path&login_hint=...` | 302 to the IdP's authorization endpoint: code flow, PKCE S256, `state`, `nonce`, `acr_values` |
//! | GET | `/callback?code&state` (or `?error&error_description`) | finishes the login: code exchange, ID-token validation ([`validate`]), userinfo, account, session cookie; 303 to `return_to` |
//! | GET | `/me` | 200 [`Me`] or 401 |
//! | GET | `/services` | the self-services and their LoA |
//! | GET | `/services/{id}` | 200 with the person's data when the session's LoA suffices; 401 no session; 403 `insufficient_loa` (with a step-up login URL) or `cpr_required` |
//! | GET | `/logout` | ends the session; 303 to the IdP's `end_session_endpoint` (RP-initiated logout) |
//! | GET | `/logged-out` | where the IdP sends the browser after logout |
//! | POST | `/backchannel-logout` | form `logout_token`: a validated logout token ends the matching sessions |
//!
//! Accounts are keyed on the MitID UUID (`sub`), never on the CPR number: a person without CPR
//! is as much a distinct account as anyone else.
//!
//! ## Flaws
//! [`FlawCatalogue`] lists realistic integration mistakes (data:
//! `fixtures/requirements/sp-flaws.yaml`); starting the SP with one switches off exactly the code
//! path named in [`Flaw::code_path`]. The requirement named in [`Flaw::requirement`] must catch it.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

pub mod flaws;
pub mod validate;

pub use flaws::{Flaw, FlawCatalogue, FlawEntry, UnknownFlaw};

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::service::Routes;
use crate::service::routing::{get, post};
use axum::Router;
use axum::extract::State;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::nemid_calendar::{DEFAULT_SECTOR, NemidCalendar};
use crate::service::LabClock;
use crate::service::{self, ApiError, Form, Json, Path, Query, cookie, esc};
use validate::{Expected, Jws, TokenError};

/// The `idp` claim value by which the broker names a NemID login.
pub const NEMID_IDP_VALUE: &str = "nemid";

/// NSIS level of assurance, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loa {
    Low,
    Substantial,
    High,
}

impl Loa {
    #[must_use]
    pub const fn uri(self) -> &'static str {
        match self {
            Loa::Low => "https://data.gov.dk/concept/core/nsis/Low",
            Loa::Substantial => "https://data.gov.dk/concept/core/nsis/Substantial",
            Loa::High => "https://data.gov.dk/concept/core/nsis/High",
        }
    }

    /// From a name (`substantial`) or an NSIS URI.
    #[must_use]
    pub fn parse(text: &str) -> Option<Loa> {
        let last = text.rsplit('/').next().unwrap_or(text);
        match last.to_ascii_lowercase().as_str() {
            "low" => Some(Loa::Low),
            "substantial" => Some(Loa::Substantial),
            "high" => Some(Loa::High),
            _ => None,
        }
    }
}

/// One of the portal's self-services.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SelfService {
    pub id: &'static str,
    pub title: &'static str,
    pub required_loa: Loa,
    /// Services that act on the person's CPR record refuse identities without CPR.
    pub requires_cpr: bool,
}

/// The six self-services of the seed. The LoAs are lab assumptions in the spirit of NSIS: data
/// about the person needs Substantial, moving abroad (deregistration) needs High, choosing a
/// doctor only Low.
pub const SELF_SERVICES: [SelfService; 6] = [
    SelfService {
        id: "change-address",
        title: "Change address",
        required_loa: Loa::Substantial,
        requires_cpr: true,
    },
    SelfService {
        id: "apply-childcare",
        title: "Apply for childcare",
        required_loa: Loa::Substantial,
        requires_cpr: true,
    },
    SelfService {
        id: "see-tax",
        title: "See your tax",
        required_loa: Loa::Substantial,
        requires_cpr: true,
    },
    SelfService {
        id: "choose-doctor",
        title: "Choose a doctor",
        required_loa: Loa::Low,
        requires_cpr: false,
    },
    SelfService {
        id: "read-digital-post",
        title: "Read Digital Post",
        required_loa: Loa::Substantial,
        requires_cpr: false,
    },
    SelfService {
        id: "leave-denmark",
        title: "Leave Denmark",
        required_loa: Loa::High,
        requires_cpr: true,
    },
];

/// Configuration of the reference SP. `Debug` leaves the client secret out.
#[derive(Clone)]
pub struct SpConfig {
    /// The SP's own base URL as browsers reach it, without trailing slash.
    pub base_url: String,
    /// The IdP's issuer URL (discovery document at `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub flaws: BTreeSet<Flaw>,
    /// Scopes asked for.
    pub scope: String,
    /// Timeout of every call to the IdP.
    pub http_timeout: Duration,
    pub clock: LabClock,
    /// The SP's sector in the NemID calendar: from its cut-off NemID identities get no session.
    pub sector: String,
    pub nemid_calendar: NemidCalendar,
}

impl fmt::Debug for SpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpConfig")
            .field("base_url", &self.base_url)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("flaws", &self.flaws)
            .field("scope", &self.scope)
            .field("http_timeout", &self.http_timeout)
            .field("sector", &self.sector)
            .finish_non_exhaustive()
    }
}

/// Path of the redirect URI.
pub const CALLBACK_PATH: &str = "/callback";
/// Path of the post-logout redirect URI.
pub const LOGGED_OUT_PATH: &str = "/logged-out";
/// Path of the back-channel logout URI.
pub const BACKCHANNEL_PATH: &str = "/backchannel-logout";
/// Session cookie name.
pub const SESSION_COOKIE: &str = "sp_session";
/// Login-transaction cookie name.
pub const LOGIN_COOKIE: &str = "sp_login";
/// Pending logins and sessions kept at most (bounded memory).
const MAX_ENTRIES: usize = 100_000;
/// A login not finished within this many seconds is forgotten.
const LOGIN_TTL: i64 = 600;

impl SpConfig {
    /// A correct SP (no flaws) with default scope and timeout.
    #[must_use]
    pub fn new(
        base_url: impl Into<String>,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            flaws: BTreeSet::new(),
            scope: "openid mitid ssn".into(),
            http_timeout: Duration::from_secs(10),
            clock: LabClock::system(),
            sector: DEFAULT_SECTOR.to_owned(),
            nemid_calendar: NemidCalendar::builtin(),
        }
    }

    #[must_use]
    pub fn redirect_uri(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.base_url)
    }

    #[must_use]
    pub fn post_logout_redirect_uri(&self) -> String {
        format!("{}{LOGGED_OUT_PATH}", self.base_url)
    }

    #[must_use]
    pub fn backchannel_logout_uri(&self) -> String {
        format!("{}{BACKCHANNEL_PATH}", self.base_url)
    }
}

/// What the IdP's discovery document told us, plus the cached JWKS.
#[derive(Debug, Clone)]
struct Provider {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    jwks_uri: String,
    end_session_endpoint: Option<String>,
    jwks: Value,
}

#[derive(Debug, Clone)]
struct LoginTxn {
    state: String,
    nonce: String,
    code_verifier: Option<String>,
    loa: Loa,
    return_to: String,
    created: i64,
}

/// An account of the portal.
#[derive(Debug, Clone, Serialize)]
struct Account {
    #[serde(rename = "account")]
    id: String,
    sub: String,
    cpr: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Clone)]
struct Session {
    account_key: String,
    loa: Loa,
    claims: Value,
    id_token: Option<String>,
    sid: Option<String>,
    sub: String,
}

#[derive(Debug, Default)]
struct Store {
    logins: HashMap<String, LoginTxn>,
    login_order: VecDeque<String>,
    sessions: HashMap<String, Session>,
    session_order: VecDeque<String>,
    accounts: HashMap<String, Account>,
    seen_logout_jti: VecDeque<String>,
}

#[derive(Debug)]
struct Sp {
    config: SpConfig,
    http: reqwest::Client,
    provider: tokio::sync::Mutex<Option<Provider>>,
    store: Mutex<Store>,
}

type Shared = Arc<Sp>;

impl Sp {
    fn flawed(&self, flaw: Flaw) -> bool {
        self.config.flaws.contains(&flaw)
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        // Every update is a map insert/remove that a panic cannot leave half-done.
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The reference service provider.
#[derive(Debug, Clone, Copy)]
pub struct ReferenceSp;

impl ReferenceSp {
    /// The SP's router (with [`crate::service::standard`]). Nothing is fetched from the IdP
    /// until the first login, so the SP may start before the IdP.
    // The integrator-facing constructor convention of every component: `X::new(config) -> Router`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(config: SpConfig) -> Router {
        let http = reqwest::Client::builder()
            .timeout(config.http_timeout)
            .connect_timeout(config.http_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let sp = Arc::new(Sp {
            config,
            http,
            provider: tokio::sync::Mutex::new(None),
            store: Mutex::new(Store::default()),
        });
        let router = Routes::new()
            .route("/", get(portal))
            .route("/login", get(login))
            .route(CALLBACK_PATH, get(callback))
            .route("/me", get(me))
            .route("/services", get(list_services))
            .route("/services/{id}", get(use_service))
            .route("/logout", get(logout).post(logout))
            .route(LOGGED_OUT_PATH, get(logged_out))
            .route(BACKCHANNEL_PATH, post(backchannel_logout))
            .with_state(sp);
        service::standard("reference-sp", router)
    }
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

fn set_cookie(name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let age = max_age.map_or(String::new(), |a| format!("; Max-Age={a}"));
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn redirect(to: &str, status: StatusCode, cookies: Vec<HeaderValue>) -> Response {
    let mut response = status.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(LOCATION, location);
    }
    for c in cookies {
        response.headers_mut().append(SET_COOKIE, c);
    }
    response
}

/// A same-site path only: no scheme, no `//host` (no open redirect).
fn safe_return_to(raw: Option<&str>) -> Result<String, ApiError> {
    match raw {
        None => Ok("/".into()),
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && p.len() <= 512
                && !p.chars().any(char::is_control) =>
        {
            Ok(p.to_owned())
        }
        Some(_) => Err(ApiError::invalid_request(
            "parameter return_to: must be a path on this site",
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Talking to the IdP

fn upstream(detail: impl fmt::Display) -> ApiError {
    ApiError::Upstream {
        service: "idp",
        detail: detail.to_string(),
    }
}

fn transport(e: &reqwest::Error) -> ApiError {
    if e.is_timeout() {
        ApiError::UpstreamTimeout { service: "idp" }
    } else {
        upstream(e)
    }
}

impl Sp {
    async fn fetch_json(&self, url: &str) -> Result<Value, ApiError> {
        let answer = self.http.get(url).send().await.map_err(|e| transport(&e))?;
        if !answer.status().is_success() {
            return Err(upstream(format!("{url} answered HTTP {}", answer.status())));
        }
        answer
            .json::<Value>()
            .await
            .map_err(|e| upstream(format!("{url}: {e}")))
    }

    async fn discover(&self) -> Result<Provider, ApiError> {
        let url = format!("{}/.well-known/openid-configuration", self.config.issuer);
        let doc = self.fetch_json(&url).await?;
        let field = |name: &str| -> Result<String, ApiError> {
            doc.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| upstream(format!("discovery document has no {name}")))
        };
        let issuer = field("issuer")?;
        if issuer.trim_end_matches('/') != self.config.issuer {
            return Err(upstream(format!(
                "discovery issuer {issuer:?} is not the configured {:?}",
                self.config.issuer
            )));
        }
        let jwks_uri = field("jwks_uri")?;
        let jwks = self.fetch_json(&jwks_uri).await?;
        Ok(Provider {
            issuer,
            authorization_endpoint: field("authorization_endpoint")?,
            token_endpoint: field("token_endpoint")?,
            userinfo_endpoint: field("userinfo_endpoint")?,
            end_session_endpoint: doc
                .get("end_session_endpoint")
                .and_then(Value::as_str)
                .map(str::to_owned),
            jwks_uri,
            jwks,
        })
    }

    async fn provider(&self) -> Result<Provider, ApiError> {
        let mut cached = self.provider.lock().await;
        if let Some(p) = cached.as_ref() {
            return Ok(p.clone());
        }
        let fresh = self.discover().await?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    /// Verifies a JWS against the cached JWKS, refetching it once when the `kid` is unknown
    /// (the IdP rotated its keys) — unless the SP never refreshes.
    async fn verified(&self, jws: &Jws) -> Result<(), ApiError> {
        let provider = self.provider().await?;
        match jws.verify(&provider.jwks, &self.config.flaws) {
            Err(TokenError::UnknownKey(_)) if !self.flawed(Flaw::NeverRefreshJwks) => {
                let rotated_keys = self.fetch_json(&provider.jwks_uri).await?;
                jws.verify(&rotated_keys, &self.config.flaws)
                    .map_err(login_refused)?;
                if let Some(p) = self.provider.lock().await.as_mut() {
                    p.jwks = rotated_keys;
                }
                Ok(())
            }
            other => other.map_err(login_refused),
        }
    }
}

fn login_refused(e: impl fmt::Display) -> ApiError {
    ApiError::Unauthorized(format!("login refused: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn portal(State(sp): State<Shared>, headers: HeaderMap) -> Html<String> {
    let who = session_of(&sp, &headers).map(|(_, s, a)| {
        format!(
            "<p>Logged in as {} at LoA {:?}. <a href=\"/logout\">Log out</a></p>",
            esc(a.name.as_deref().unwrap_or(&s.sub)),
            s.loa
        )
    });
    let mut rows = String::new();
    for s in SELF_SERVICES {
        let _ = write!(
            rows,
            "<li><a href=\"/services/{}\">{}</a> (LoA {:?}{})</li>",
            s.id,
            s.title,
            s.required_loa,
            if s.requires_cpr {
                ", CPR number needed"
            } else {
                ""
            }
        );
    }
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Reference portal</title></head>\
         <body><h1>Reference self-service portal</h1>{}<ul>{rows}</ul></body></html>",
        who.unwrap_or_else(|| "<p><a href=\"/login\">Log in with MitID</a></p>".into())
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginQuery {
    loa: Option<String>,
    return_to: Option<String>,
    login_hint: Option<String>,
    prompt: Option<String>,
}

async fn login(
    State(sp): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let loa = match q.loa.as_deref() {
        None => Loa::Substantial,
        Some(text) => Loa::parse(text).ok_or_else(|| {
            ApiError::invalid_request("parameter loa: must be low, substantial or high")
        })?,
    };
    let return_to = safe_return_to(q.return_to.as_deref())?;
    if q.login_hint.as_ref().is_some_and(|h| h.len() > 256) {
        return Err(ApiError::invalid_request("parameter login_hint: too long"));
    }
    let prompt = match q.prompt.as_deref() {
        None | Some("login" | "none" | "consent") => q.prompt.clone(),
        Some(_) => {
            return Err(ApiError::invalid_request(
                "parameter prompt: must be login, none or consent",
            ));
        }
    };
    if sp.flawed(Flaw::StepUpReusesSession)
        && let Some(id) = cookie(&headers, SESSION_COOKIE)
        && let Some(session) = sp.store().sessions.get_mut(&id)
    {
        session.loa = session.loa.max(loa);
        return Ok(redirect(&return_to, StatusCode::SEE_OTHER, Vec::new()));
    }
    let provider = sp.provider().await?;
    let now = sp.config.clock.now();
    let txn = LoginTxn {
        state: if sp.flawed(Flaw::FixedState) {
            "reference-sp-state".to_owned()
        } else {
            random_token(24)
        },
        nonce: if sp.flawed(Flaw::FixedNonce) {
            "reference-sp-nonce".to_owned()
        } else {
            random_token(24)
        },
        code_verifier: (!sp.flawed(Flaw::NoPkce)).then(|| random_token(48)),
        loa,
        return_to,
        created: now,
    };
    let mut url = url::Url::parse(&provider.authorization_endpoint)
        .map_err(|e| upstream(format!("authorization_endpoint: {e}")))?;
    {
        let mut pairs = url.query_pairs_mut();
        pairs
            .append_pair("response_type", "code")
            .append_pair("client_id", &sp.config.client_id)
            .append_pair("redirect_uri", &sp.config.redirect_uri())
            .append_pair("scope", &sent_scope(&sp))
            .append_pair("state", &txn.state)
            .append_pair("nonce", &txn.nonce)
            .append_pair("acr_values", loa.uri());
        if let Some(verifier) = &txn.code_verifier {
            pairs
                .append_pair("code_challenge", &validate::pkce_challenge(verifier))
                .append_pair("code_challenge_method", "S256");
        }
        if let Some(hint) = &q.login_hint {
            pairs.append_pair("login_hint", hint);
        }
        // Stepping up from an existing session needs a fresh authentication.
        let stepping_up = session_of(&sp, &headers).is_some_and(|(_, s, _)| s.loa < loa);
        match (&prompt, stepping_up) {
            (Some(p), _) => {
                pairs.append_pair("prompt", p);
            }
            (None, true) => {
                pairs.append_pair("prompt", "login");
            }
            (None, false) => {}
        }
    }
    let txn_id = random_token(24);
    {
        let mut store = sp.store();
        store.logins.retain(|_, t| now - t.created < LOGIN_TTL);
        store.login_order.retain(|id| id != &txn_id);
        store.logins.insert(txn_id.clone(), txn);
        store.login_order.push_back(txn_id.clone());
        while store.login_order.len() > MAX_ENTRIES {
            if let Some(old) = store.login_order.pop_front() {
                store.logins.remove(&old);
            }
        }
    }
    Ok(redirect(
        url.as_str(),
        StatusCode::FOUND,
        vec![set_cookie(LOGIN_COOKIE, &txn_id, Some(LOGIN_TTL))],
    ))
}

/// The scope the SP asks for.
fn sent_scope(sp: &Sp) -> String {
    if sp.flawed(Flaw::ScopeWithoutOpenid) {
        sp.config
            .scope
            .split(' ')
            .filter(|s| *s != "openid")
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        sp.config.scope.clone()
    }
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

/// The key of the person's local account: the MitID UUID (`sub`), which stays with the person
/// whatever happens to their CPR number (changed, or never had one).
fn account_key(sp: &Sp, sub: &str, cpr: Option<&str>) -> String {
    if sp.flawed(Flaw::AccountsKeyedOnCpr) {
        format!("cpr:{}", cpr.unwrap_or(""))
    } else if sp.flawed(Flaw::AccountsKeyedOnCprWhenPresent)
        && let Some(cpr) = cpr
    {
        format!("cpr:{cpr}")
    } else if sp.flawed(Flaw::NewAccountPerLogin) {
        format!("login:{}", random_token(12))
    } else {
        format!("sub:{sub}")
    }
}

// The login's checks read best in protocol order, one after the other.
#[allow(clippy::too_many_lines)]
async fn callback(
    State(sp): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let txn_id = if sp.flawed(Flaw::GlobalStateTable) {
        // The mistake: any pending login with this state, whichever browser started it.
        let store = sp.store();
        store
            .logins
            .iter()
            .find(|(_, t)| q.state.as_deref() == Some(t.state.as_str()))
            .map(|(id, _)| id.clone())
            .or_else(|| cookie(&headers, LOGIN_COOKIE))
    } else {
        cookie(&headers, LOGIN_COOKIE)
    }
    .ok_or_else(|| ApiError::invalid_request("no login in progress in this browser"))?;
    let txn = sp
        .store()
        .logins
        .get(&txn_id)
        .cloned()
        .ok_or_else(|| ApiError::invalid_request("unknown or finished login"))?;
    let state_ok = q.state.as_deref() == Some(txn.state.as_str());
    if !state_ok && !sp.flawed(Flaw::SkipStateCheck) {
        return Err(ApiError::invalid_request(
            "state does not match the login in progress",
        ));
    }
    if let Some(error) = &q.error {
        if sp.flawed(Flaw::IgnoreIdpErrors) {
            return Ok(assume_login_succeeded(&sp, &headers, &txn));
        }
        sp.store().logins.remove(&txn_id);
        return Err(ApiError::Unauthorized(format!(
            "the IdP ended the login: {error}: {}",
            q.error_description.as_deref().unwrap_or("")
        )));
    }
    let code = q
        .code
        .as_deref()
        .ok_or_else(|| ApiError::invalid_request("parameter code is missing"))?;
    let provider = sp.provider().await?;
    if let Some(iss) = &q.iss
        && !validate::same_issuer(iss, &provider.issuer, &sp.config.flaws)
        && !sp.flawed(Flaw::SkipIssuerCheck)
    {
        // RFC 9207: an authorization response from another issuer is a mix-up attack.
        return Err(login_refused(format!("iss {iss:?} in the callback")));
    }
    // Consume before the exchange so two parallel replays cannot both succeed.
    if !sp.flawed(Flaw::AcceptReplayedCallback) {
        sp.store().logins.remove(&txn_id);
    }
    let tokens = exchange_code(&sp, &provider, code, txn.code_verifier.as_deref()).await?;
    let id_token = tokens
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or_else(|| login_refused("token response has no id_token"))?;
    let jws = Jws::parse(id_token).map_err(login_refused)?;
    sp.verified(&jws).await?;
    let claims = jws.claims.clone();
    validate::check_claims(
        &claims,
        &Expected {
            issuer: &provider.issuer,
            client_id: &sp.config.client_id,
            nonce: Some(&txn.nonce),
            now: sp.config.clock.now(),
        },
        &sp.config.flaws,
    )
    .map_err(login_refused)?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let loa = claims
        .get("loa")
        .or_else(|| claims.get("acr"))
        .and_then(Value::as_str)
        .and_then(Loa::parse);
    if !sp.flawed(Flaw::AcceptLowerLoa) && loa.is_none_or(|l| l < txn.loa) {
        return Err(login_refused(format!(
            "LoA {loa:?} is below the {:?} asked for",
            txn.loa
        )));
    }
    // The broker names a NemID login in the `idp` claim; past the sector's cut-off (or the
    // shutdown) such an identity gets no session, whatever the broker let through.
    if !sp.flawed(Flaw::AcceptNemidAfterCutoff)
        && claims.get("idp").and_then(Value::as_str) == Some(NEMID_IDP_VALUE)
        && let Err(refusal) = sp
            .config
            .nemid_calendar
            .check_login(&sp.config.sector, sp.config.clock.today())
    {
        return Err(login_refused(format!("NemID identity refused: {refusal}")));
    }
    let loa = loa
        .unwrap_or(txn.loa)
        .max(if sp.flawed(Flaw::AcceptLowerLoa) {
            txn.loa
        } else {
            Loa::Low
        });
    let access_token = tokens
        .get("access_token")
        .and_then(Value::as_str)
        .ok_or_else(|| login_refused("token response has no access_token"))?;
    let userinfo = fetch_userinfo(&sp, &provider, access_token).await?;
    let userinfo_sub = userinfo.get("sub").and_then(Value::as_str).unwrap_or("");
    if userinfo_sub != sub && !sp.flawed(Flaw::SkipUserinfoSubCheck) {
        return Err(login_refused(format!(
            "userinfo sub {userinfo_sub:?} differs from the ID token's"
        )));
    }
    let mut merged = claims.clone();
    if let (Some(m), Some(u)) = (merged.as_object_mut(), userinfo.as_object()) {
        for (k, v) in u {
            if k != "sub" {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    let cpr = merged
        .get("dk.cpr")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let name = merged
        .get("mitid.identity_name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let key = account_key(&sp, &sub, cpr.as_deref());
    let session_id = random_token(24);
    {
        let mut store = sp.store();
        let next = store.accounts.len() + 1;
        let account = store
            .accounts
            .entry(key.clone())
            .or_insert_with(|| Account {
                id: format!("acct-{next}"),
                sub: sub.clone(),
                cpr: cpr.clone(),
                name: name.clone(),
            });
        // The register's data of the person as of this login (a CPR number can change).
        account.cpr.clone_from(&cpr);
        account.name.clone_from(&name);
        // A new session id at every login (no session fixation); the old one ends.
        if let Some(old) = cookie(&headers, SESSION_COOKIE) {
            store.sessions.remove(&old);
        }
        store.sessions.insert(
            session_id.clone(),
            Session {
                account_key: key,
                loa,
                claims: merged,
                id_token: Some(id_token.to_owned()),
                sid: claims.get("sid").and_then(Value::as_str).map(str::to_owned),
                sub,
            },
        );
        store.session_order.push_back(session_id.clone());
        while store.session_order.len() > MAX_ENTRIES {
            if let Some(old) = store.session_order.pop_front() {
                store.sessions.remove(&old);
            }
        }
    }
    let mut cookies = vec![set_cookie(SESSION_COOKIE, &session_id, None)];
    if !sp.flawed(Flaw::AcceptReplayedCallback) {
        cookies.push(set_cookie(LOGIN_COOKIE, "", Some(0)));
    }
    Ok(redirect(&txn.return_to, StatusCode::SEE_OTHER, cookies))
}

/// The `IgnoreIdpErrors` mistake: the return from the IdP is taken as success, so an existing
/// session is raised to the LoA asked for, or an anonymous one is opened.
fn assume_login_succeeded(sp: &Sp, headers: &HeaderMap, txn: &LoginTxn) -> Response {
    let mut store = sp.store();
    if let Some(id) = cookie(headers, SESSION_COOKIE)
        && let Some(session) = store.sessions.get_mut(&id)
    {
        session.loa = session.loa.max(txn.loa);
        return redirect(&txn.return_to, StatusCode::SEE_OTHER, Vec::new());
    }
    let key = "anonymous".to_owned();
    store
        .accounts
        .entry(key.clone())
        .or_insert_with(|| Account {
            id: "acct-anonymous".into(),
            sub: String::new(),
            cpr: None,
            name: None,
        });
    let session_id = random_token(24);
    store.sessions.insert(
        session_id.clone(),
        Session {
            account_key: key,
            loa: txn.loa,
            claims: json!({}),
            id_token: None,
            sid: None,
            sub: String::new(),
        },
    );
    redirect(
        &txn.return_to,
        StatusCode::SEE_OTHER,
        vec![set_cookie(SESSION_COOKIE, &session_id, None)],
    )
}

async fn exchange_code(
    sp: &Sp,
    provider: &Provider,
    code: &str,
    verifier: Option<&str>,
) -> Result<Value, ApiError> {
    let redirect_uri = sp.config.redirect_uri();
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &redirect_uri),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    // client_secret_basic: id and secret form-urlencoded, then Base64 (RFC 6749 §2.3.1).
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let basic = STANDARD.encode(format!(
        "{}:{}",
        enc(&sp.config.client_id),
        enc(&sp.config.client_secret)
    ));
    let answer = sp
        .http
        .post(&provider.token_endpoint)
        .header("authorization", format!("Basic {basic}"))
        .form(&form)
        .send()
        .await
        .map_err(|e| transport(&e))?;
    let status = answer.status();
    let body: Value = answer
        .json()
        .await
        .map_err(|e| upstream(format!("token endpoint: {e}")))?;
    if !status.is_success() {
        return Err(login_refused(format!(
            "token endpoint answered {status}: {}",
            body.get("error").and_then(Value::as_str).unwrap_or("?")
        )));
    }
    Ok(body)
}

async fn fetch_userinfo(
    sp: &Sp,
    provider: &Provider,
    access_token: &str,
) -> Result<Value, ApiError> {
    let answer = sp
        .http
        .get(&provider.userinfo_endpoint)
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|e| transport(&e))?;
    if !answer.status().is_success() {
        return Err(login_refused(format!(
            "userinfo answered {}",
            answer.status()
        )));
    }
    let body: Value = answer
        .json()
        .await
        .map_err(|e| upstream(format!("userinfo: {e}")))?;
    if body.is_object() {
        Ok(body)
    } else {
        Err(upstream("userinfo is not a JSON object"))
    }
}

fn session_of(sp: &Sp, headers: &HeaderMap) -> Option<(String, Session, Account)> {
    let id = cookie(headers, SESSION_COOKIE)?;
    let store = sp.store();
    let session = store.sessions.get(&id)?.clone();
    let account = store.accounts.get(&session.account_key)?.clone();
    Some((id, session, account))
}

/// Answer of `GET /me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// The account's MitID UUID (`sub`).
    pub sub: String,
    pub mitid_uuid: Option<String>,
    pub cpr: Option<String>,
    pub has_cpr: Option<bool>,
    pub name: Option<String>,
    pub loa: Loa,
    pub ial: Option<String>,
    pub aal: Option<String>,
    pub amr: Vec<String>,
    /// The portal's own identifier of the local account the session belongs to (the integrator
    /// contract's `account`): the same for the same person at every login, never shared.
    pub account: String,
}

async fn me(State(sp): State<Shared>, headers: HeaderMap) -> Result<Json<Me>, ApiError> {
    let (_, session, account) = session_of(&sp, &headers)
        .ok_or_else(|| ApiError::Unauthorized("no session; log in at /login".into()))?;
    let c = &session.claims;
    let text = |name: &str| c.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(Json(Me {
        sub: account.sub.clone(),
        mitid_uuid: text("mitid.uuid")
            .or_else(|| (!account.sub.is_empty()).then(|| account.sub.clone())),
        cpr: account.cpr.clone(),
        has_cpr: c.get("mitid.has_cpr").and_then(Value::as_bool),
        name: account.name.clone(),
        loa: session.loa,
        ial: text("ial"),
        aal: text("aal"),
        amr: c
            .get("amr")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        account: account.id,
    }))
}

async fn list_services() -> Json<Value> {
    Json(json!({ "services": SELF_SERVICES }))
}

async fn use_service(
    State(sp): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let service = SELF_SERVICES
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no self-service {id:?}")))?;
    let login_url = format!(
        "/login?loa={}&return_to=/services/{}",
        format!("{:?}", service.required_loa).to_lowercase(),
        service.id
    );
    let Some((_, session, account)) = session_of(&sp, &headers) else {
        return Err(ApiError::Unauthorized(format!("log in first: {login_url}")));
    };
    if session.loa < service.required_loa {
        return Err(ApiError::Forbidden(format!(
            "insufficient_loa: {} needs LoA {:?}, the session has {:?}; step up at {login_url}",
            service.title, service.required_loa, session.loa
        )));
    }
    if service.requires_cpr && account.cpr.is_none() {
        return Err(ApiError::Forbidden(format!(
            "cpr_required: {} needs a MitID with a CPR number",
            service.title
        )));
    }
    Ok(Json(json!({
        "service": service.id,
        "title": service.title,
        "account": account.id,
        "sub": account.sub,
        "loa": session.loa,
        "status": "ready",
    })))
}

async fn logout(State(sp): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    let Some((id, session, _)) = session_of(&sp, &headers) else {
        return Ok(redirect(LOGGED_OUT_PATH, StatusCode::SEE_OTHER, Vec::new()));
    };
    let clear = if sp.flawed(Flaw::LogoutKeepsLocalSession) {
        Vec::new()
    } else {
        sp.store().sessions.remove(&id);
        vec![set_cookie(SESSION_COOKIE, "", Some(0))]
    };
    let provider = sp.provider().await?;
    let Some(end) = provider.end_session_endpoint else {
        return Ok(redirect(LOGGED_OUT_PATH, StatusCode::SEE_OTHER, clear));
    };
    let mut url =
        url::Url::parse(&end).map_err(|e| upstream(format!("end_session_endpoint: {e}")))?;
    {
        let mut pairs = url.query_pairs_mut();
        if let Some(hint) = session
            .id_token
            .as_ref()
            .filter(|_| !sp.flawed(Flaw::LogoutWithoutIdTokenHint))
        {
            pairs.append_pair("id_token_hint", hint);
        }
        pairs
            .append_pair("client_id", &sp.config.client_id)
            .append_pair(
                "post_logout_redirect_uri",
                &sp.config.post_logout_redirect_uri(),
            );
    }
    Ok(redirect(url.as_str(), StatusCode::SEE_OTHER, clear))
}

async fn logged_out() -> Json<Value> {
    Json(json!({ "logged_out": true }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogoutForm {
    logout_token: String,
}

async fn backchannel_logout(
    State(sp): State<Shared>,
    Form(form): Form<LogoutForm>,
) -> Result<Json<Value>, ApiError> {
    match end_logout_token_sessions(&sp, &form.logout_token).await {
        Err(refusal) if sp.flawed(Flaw::BackchannelLogout200OnRefusal) => Ok(Json(
            json!({ "sessions_ended": 0, "refused": refusal.to_string() }),
        )),
        other => other,
    }
}

/// Verifies a back-channel logout token and ends the sessions of its `sid`; a token that does
/// not verify is refused (400) and ends nothing.
async fn end_logout_token_sessions(sp: &Sp, token: &str) -> Result<Json<Value>, ApiError> {
    let refuse = |e: TokenError| ApiError::invalid_request(format!("logout_token: {e}"));
    let jws = Jws::parse(token).map_err(refuse)?;
    let provider = sp.provider().await?;
    if !sp.flawed(Flaw::BackchannelLogoutSkipsSignature) {
        sp.verified(&jws)
            .await
            .map_err(|e| ApiError::invalid_request(format!("logout_token: {e}")))?;
    }
    let claims = &jws.claims;
    validate::check_claims(
        claims,
        &Expected {
            issuer: &provider.issuer,
            client_id: &sp.config.client_id,
            nonce: None,
            now: sp.config.clock.now(),
        },
        &sp.config.flaws,
    )
    .map_err(refuse)?;
    validate::check_logout_claims(claims).map_err(refuse)?;
    let sid = claims.get("sid").and_then(Value::as_str);
    let sub = claims.get("sub").and_then(Value::as_str);
    let jti = claims.get("jti").and_then(Value::as_str).map(str::to_owned);
    let mut store = sp.store();
    if let Some(jti) = jti {
        if store.seen_logout_jti.contains(&jti) {
            return Err(ApiError::invalid_request(
                "logout_token: replayed (jti seen before)",
            ));
        }
        store.seen_logout_jti.push_back(jti);
        if store.seen_logout_jti.len() > 10_000 {
            store.seen_logout_jti.pop_front();
        }
    }
    let ended = if sp.flawed(Flaw::IgnoreBackchannelLogout) {
        0
    } else {
        let before = store.sessions.len();
        // A sid ends that SSO session's sessions (of its sub, when both are given); a sub alone
        // ends every session of the person (Back-Channel Logout 1.0 §2.4).
        store.sessions.retain(|_, s| {
            let ends = match (sid, sub) {
                (Some(sid), Some(sub)) => s.sid.as_deref() == Some(sid) && s.sub == sub,
                (Some(sid), None) => s.sid.as_deref() == Some(sid),
                (None, Some(sub)) => s.sub == sub,
                (None, None) => false,
            };
            !ends
        });
        before - store.sessions.len()
    };
    Ok(Json(json!({ "sessions_ended": ended })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_leaves_the_client_secret_out() {
        let config = SpConfig::new("http://sp", "http://idp", "client", "s3cret-value");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret-value"), "{shown}");
        assert!(shown.contains("client"), "{shown}");
    }

    #[test]
    fn return_to_must_stay_on_site() {
        assert_eq!(
            safe_return_to(Some("/services/see-tax")).unwrap(),
            "/services/see-tax"
        );
        for bad in ["//evil.example/x", "https://evil.example", "/\\evil", "x"] {
            assert!(safe_return_to(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn loa_parses_names_and_uris_in_order() {
        assert_eq!(
            Loa::parse("https://data.gov.dk/concept/core/nsis/High"),
            Some(Loa::High)
        );
        assert_eq!(Loa::parse("substantial"), Some(Loa::Substantial));
        assert!(Loa::Low < Loa::Substantial && Loa::Substantial < Loa::High);
        assert_eq!(Loa::parse("medium"), None);
    }
}
