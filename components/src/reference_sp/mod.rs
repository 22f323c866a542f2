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
mod idp_client;
mod login;
mod logout;
mod portal;
pub mod validate;

pub use flaws::{Flaw, FlawCatalogue, FlawEntry, UnknownFlaw};
pub use portal::Me;

use login::{callback, login};
use logout::{backchannel_logout, logged_out, logout};
use portal::{list_services, me, portal, use_service};

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::service::Routes;
use crate::service::routing::{get, post};
use axum::Router;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use serde_json::Value;

use crate::nemid_calendar::{DEFAULT_SECTOR, NemidCalendar};
use crate::service::LabClock;
use crate::service::{self, ApiError};

/// The `idp` claim value by which the broker names a NemID login.
pub const NEMID_IDP_VALUE: &str = "nemid";

/// Where the portal starts a business (MitID Erhverv) login.
pub const BUSINESS_LOGIN_PATH: &str = "/login?identity=professional";
/// What a business login asks the broker for (public MitID broker documentation): this
/// `idp_values` entry and this scope.
pub const BUSINESS_IDP_VALUE: &str = "mitid_erhverv";
pub const BUSINESS_SCOPE: &str = "nemlogin";
/// The `identity_type` of a business login, and the claims the portal keys its business
/// accounts on.
pub const PROFESSIONAL_IDENTITY_TYPE: &str = "professional";
pub const PROFESSIONAL_ID_CLAIM: &str = "nemlogin.persistent_professional_id";
pub const CVR_CLAIM: &str = "nemlogin.cvr";

/// NSIS level of assurance, ordered: the devices crate's type (serde `low`, `substantial`,
/// `high`; parsed from those names or the NSIS URI).
pub use mitid_devices::Loa;

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
            Loa::from_uri_or_name("https://data.gov.dk/concept/core/nsis/High"),
            Ok(Loa::High)
        );
        assert_eq!(Loa::from_uri_or_name("substantial"), Ok(Loa::Substantial));
        assert!(Loa::Low < Loa::Substantial && Loa::Substantial < Loa::High);
        assert!(Loa::from_uri_or_name("medium").is_err());
    }
}
