//! # NemLog-in IdP (OIOSAML 3)
//!
//! The lab's NemLog-in: a SAML 2.0 identity provider with the OIOSAML 3 profile, the way public
//! services (borger.dk, skat.dk, …) log citizens in. A NemLog-in login *is* a `MitID` login, so
//! this IdP authenticates nobody itself: it sends the browser to the lab's `MitID` broker
//! ([`crate::idp`]) as an OIDC client of it — same citizens, devices, login pages, headless
//! test mode, `NemID` cut-off rules — and turns the broker's answer into a SAML response.
//!
//! ```text
//!  SP ──AuthnRequest (Redirect, signed)──► /saml/sso ──► broker /authorize (pages or headless)
//!  SP ◄──Response (POST form: one EncryptedAssertion, signed) ── /saml/callback ◄── code
//! ```
//!
//! ## Public listener
//! | path | what |
//! |---|---|
//! | `GET /saml/metadata` | the IdP's metadata (entityID, signing certificate, SSO and SLO endpoints) |
//! | `GET /saml/sso` | `AuthnRequest` by HTTP-Redirect, signed by the SP (checked against its registered metadata) |
//! | `GET /saml/callback` | the broker's OIDC answer; ends with the auto-submitting POST form to the SP's ACS |
//! | `GET /saml/slo` | `LogoutRequest` by HTTP-Redirect (signed); answers a signed `LogoutResponse` by Redirect |
//!
//! Headless test mode: `login_hint=test:<user-id>[:<behaviour>]` next to the signed parameters
//! of `/saml/sso` is handed to the broker, which answers at once (see [`crate::idp::script`]);
//! `idp_values=nemid` there is the citizen choosing NemID on the login page.
//!
//! Identity types: an `AuthnRequest` asking for `https://data.gov.dk/eid/Professional` (and not
//! `.../Person`) is a business (`MitID` Erhverv) login: NemLog-in asks the broker for
//! `idp_values=mitid_erhverv` with the `nemlogin` scope, and the assertion names the company
//! (CVR, organisation, RID), the privileges (OIOBPP, [`crate::saml::privileges`]) and, as its
//! `NameID`, the persistent professional identifier. `AuthenticatingAuthority` names `MitID` or
//! `NemID` (a `NemID` login the broker let through).
//!
//! ## Control listener (the lab only)
//! | path | what |
//! |---|---|
//! | `POST /control/service-providers` | register an SP by its metadata (XML body) |
//! | `POST /control/scripts` | `{"match":{"test_user":…},"fault":…,"privileges":[{"cvr":…,"privileges":[…]}]}`: the next login of that test user gets a wrong response ([`assertion::ResponseFault`]), or other privileges |
//! | `GET /control/scripts/{id}` | what happened in that login (matched, response ID, fault) |
//! | `GET /control/logouts` | the logout requests received, in order |
//!
//! Modules: [`assertion`] (the response, good or wrong), [`sso`] (the protocol endpoints),
//! [`control`] (the control API).

pub mod assertion;
pub mod control;
pub mod sso;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use mitid_devices::Loa;

use crate::saml::metadata::{self, EntityMetadata, MetadataError};
use crate::saml::xml_security::{KeyPair, XmlSecurityError};
use crate::service::routing::{get, post};
use crate::service::{self, LabClock, Routes};
use assertion::{IdpKeys, ResponseFault};

/// The lab's test keys (`fixtures/saml/`, test-only).
pub mod test_keys {
    pub const IDP_SIGNING_KEY: &str = include_str!("../../../fixtures/saml/idp-signing.key.pem");
    pub const IDP_SIGNING_CERT: &str = include_str!("../../../fixtures/saml/idp-signing.cert.pem");
    pub const IDP_FOREIGN_KEY: &str = include_str!("../../../fixtures/saml/idp-foreign.key.pem");
    pub const IDP_FOREIGN_CERT: &str = include_str!("../../../fixtures/saml/idp-foreign.cert.pem");
    pub const SP_SIGNING_KEY: &str = include_str!("../../../fixtures/saml/sp-signing.key.pem");
    pub const SP_SIGNING_CERT: &str = include_str!("../../../fixtures/saml/sp-signing.cert.pem");
    pub const SP_ENCRYPTION_KEY: &str =
        include_str!("../../../fixtures/saml/sp-encryption.key.pem");
    pub const SP_ENCRYPTION_CERT: &str =
        include_str!("../../../fixtures/saml/sp-encryption.cert.pem");
}

/// The OIDC client NemLog-in is at the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerClient {
    /// The broker's issuer (public base URL).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
}

impl BrokerClient {
    /// The redirect URI to register at the broker for a NemLog-in at `base_url`.
    #[must_use]
    pub fn redirect_uri(base_url: &str) -> String {
        format!("{}/saml/callback", base_url.trim_end_matches('/'))
    }
}

/// Everything the IdP needs to start.
#[derive(Debug, Clone)]
pub struct NemloginConfig {
    /// Base URL of the public listener; also the IdP's entityID.
    pub base_url: String,
    pub broker: BrokerClient,
    /// Signing keys; `None` = the test keys under `fixtures/saml/`.
    pub keys: Option<IdpKeys>,
    /// Service providers' metadata documents, registered at start.
    pub service_providers: Vec<String>,
    pub clock: LabClock,
    pub outbound_timeout: Duration,
}

impl NemloginConfig {
    #[must_use]
    pub fn new(base_url: impl Into<String>, broker: BrokerClient) -> Self {
        NemloginConfig {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            broker,
            keys: None,
            service_providers: Vec::new(),
            clock: LabClock::system(),
            outbound_timeout: Duration::from_secs(5),
        }
    }
}

/// Errors starting the IdP.
#[derive(Debug, thiserror::Error)]
pub enum NemloginError {
    #[error("NemLog-in keys: {0}")]
    Keys(#[from] XmlSecurityError),
    #[error("service provider {index}: {source}")]
    ServiceProvider { index: usize, source: MetadataError },
    #[error("HTTP client: {0}")]
    Http(String),
}

/// The test keys of `fixtures/saml/` (test-only).
pub fn test_idp_keys() -> Result<IdpKeys, XmlSecurityError> {
    Ok(IdpKeys {
        signing: KeyPair::from_pem(test_keys::IDP_SIGNING_KEY, test_keys::IDP_SIGNING_CERT)?,
        foreign: KeyPair::from_pem(test_keys::IDP_FOREIGN_KEY, test_keys::IDP_FOREIGN_CERT)?,
    })
}

/// A login between the SP's `AuthnRequest` and the broker's answer.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    pub sp_entity_id: String,
    pub request_id: String,
    pub acs: String,
    pub relay_state: Option<String>,
    pub requested_loa: Option<Loa>,
    pub code_verifier: String,
    pub script_id: Option<String>,
    pub expires_at: i64,
}

/// A scripted fault waiting for (or used by) one login.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScriptLog {
    pub script_id: String,
    pub test_user: String,
    pub fault: Option<ResponseFault>,
    /// The privileges the assertion carries instead of the professional identity's own.
    pub privileges: Option<Vec<crate::saml::privileges::PrivilegeGroup>>,
    pub matched: bool,
    pub response_id: Option<String>,
    pub in_response_to: Option<String>,
    pub service_provider: Option<String>,
    /// The status of the response (`Success` or the failure's code).
    pub status: Option<String>,
}

/// A logout request as received.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogoutRecord {
    pub service_provider: String,
    pub request_id: String,
    pub name_id: String,
    pub signature_valid: bool,
}

/// Mutable state behind one lock (every operation is short and CPU-only).
#[derive(Debug, Default)]
pub struct Store {
    pub service_providers: HashMap<String, EntityMetadata>,
    pub logins: HashMap<String, PendingLogin>,
    pub scripts: Vec<ScriptLog>,
    pub logouts: Vec<LogoutRecord>,
}

impl Store {
    /// The first unmatched script for `test_user`, marked as matched.
    pub fn take_script(&mut self, test_user: &str) -> Option<String> {
        let script = self
            .scripts
            .iter_mut()
            .find(|s| !s.matched && s.test_user.eq_ignore_ascii_case(test_user))?;
        script.matched = true;
        Some(script.script_id.clone())
    }

    pub fn script_mut(&mut self, id: Option<&str>) -> Option<&mut ScriptLog> {
        let id = id?;
        self.scripts.iter_mut().find(|s| s.script_id == id)
    }
}

/// Configuration plus the locked store; shared by every handler.
#[derive(Debug)]
pub struct NemloginState {
    pub entity_id: String,
    pub base_url: String,
    pub broker: BrokerClient,
    pub keys: IdpKeys,
    pub http: reqwest::Client,
    pub clock: LabClock,
    store: Mutex<Store>,
}

pub type SharedState = Arc<NemloginState>;

impl NemloginState {
    /// The store; a poisoned lock is recovered (every operation leaves it consistent).
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[must_use]
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    #[must_use]
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// The IdP; [`Nemlogin::routers`] gives the two listeners' routers.
#[derive(Debug, Clone)]
pub struct Nemlogin {
    state: SharedState,
}

impl Nemlogin {
    pub fn new(config: NemloginConfig) -> Result<Nemlogin, NemloginError> {
        let keys = match config.keys {
            Some(keys) => keys,
            None => test_idp_keys()?,
        };
        let mut store = Store::default();
        for (index, xml) in config.service_providers.iter().enumerate() {
            let sp = metadata::parse(xml)
                .map_err(|source| NemloginError::ServiceProvider { index, source })?;
            store.service_providers.insert(sp.entity_id.clone(), sp);
        }
        let http = reqwest::Client::builder()
            .timeout(config.outbound_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| NemloginError::Http(e.to_string()))?;
        Ok(Nemlogin {
            state: Arc::new(NemloginState {
                entity_id: config.base_url.clone(),
                base_url: config.base_url,
                broker: BrokerClient {
                    issuer: config.broker.issuer.trim_end_matches('/').to_owned(),
                    ..config.broker
                },
                keys,
                http,
                clock: config.clock,
                store: Mutex::new(store),
            }),
        })
    }

    /// The metadata a service provider registers NemLog-in by (what `GET /saml/metadata` answers).
    #[must_use]
    pub fn metadata(&self) -> String {
        sso::metadata_document(&self.state)
    }

    #[must_use]
    pub fn state(&self) -> &SharedState {
        &self.state
    }

    /// `(public, control)` routers, each with the house rules of [`crate::service::standard`].
    pub fn routers(&self) -> (Router, Router) {
        let public = Routes::new()
            .route("/saml/metadata", get(sso::metadata))
            .route("/saml/sso", get(sso::single_sign_on))
            .route("/saml/callback", get(sso::broker_callback))
            .route("/saml/slo", get(sso::single_logout))
            .with_state(self.state.clone());
        let control = Routes::new()
            .route(
                "/control/service-providers",
                post(control::register_service_provider),
            )
            .route("/control/scripts", post(control::add_script))
            .route("/control/scripts/{script_id}", get(control::get_script))
            .route("/control/logouts", get(control::logouts))
            .with_state(self.state.clone());
        (
            service::standard("nemlogin", public),
            service::standard("nemlogin-control", control),
        )
    }
}
