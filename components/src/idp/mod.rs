//! # `IdP` / `MitID` broker
//!
//! An `OpenID` Connect provider that behaves like a `MitID` broker, with a control port that can make
//! it misbehave for one login at a time.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use mitid_components::idp::{Idp, IdpConfig};
//! use mitid_components::service;
//! let public = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let control = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let issuer = format!("http://{}", public.local_addr()?);
//! let idp = Idp::new(IdpConfig::new(issuer)).expect("keys");
//! let (public_router, control_router) = idp.routers();
//! let _public = service::spawn(public, public_router)?;
//! let _control = service::spawn(control, control_router)?;
//! # Ok(()) }
//! ```
//!
//! Constructor: [`Idp::new`]`(`[`IdpConfig`]`)` then [`Idp::routers`] → `(public, control)`,
//! both already wrapped by [`crate::service::standard`] (health, body limit, JSON 404/405).
//! [`IdpConfig`] holds the issuer URL (the public listener's base URL), the CPR register URL
//! (optional; used when a client asks for the `ssn` scope), the signing-key seed, the claim
//! profile, clients and test identities registered at start, rate limits and the clock.
//!
//! ## Public listener (what service providers and browsers talk to)
//! | path | what |
//! |---|---|
//! | `GET /.well-known/openid-configuration` | discovery |
//! | `GET /jwks` | current (and, after a rotation that keeps it, previous) signing keys |
//! | `GET/POST /authorize` | authorization endpoint, code flow only, PKCE S256 required |
//! | `POST /token` | `client_secret_basic`, `client_secret_post`, `private_key_jwt` |
//! | `GET/POST /userinfo` | Bearer access token |
//! | `GET/POST /logout` | RP-initiated logout; back-channel logout tokens go to clients |
//! | `/login/...` | the citizen's HTML pages ([`login`]) |
//! | `/app/...` | what the `MitID` app talks to: pending approvals, signed answers; enrolment with a passport + face ([`enrolment`]) and a second phone by QR + Bluetooth ([`second_device`]), contract in `ENROLMENT_API.md` |
//! | `/nemid/...`, `/nemid-app/...` | `NemID` login pages (`idp_values=nemid`) and the key app ([`nemid`]) |
//! | `POST /mitid-dk/get-mitid-with-nemid` | get `MitID` with `NemID` until the calendar ends it |
//!
//! Headless test mode: `login_hint=test:<user-id>[:<behaviour>]` answers the authorization
//! request at once with the redirect (see [`script::Behaviour`] for the behaviours).
//!
//! ## Control listener (the lab only)
//! `/admin/...` is the identity admin API (`ADMIN_API.md`, [`admin`]); `/control/...` scripts
//! logins and misbehaviour (`CONTROL_API.md`, [`control`]): every script is keyed to one login (client + state,
//! a test user, or a login id), never global; only key rotation, endpoint faults and the lab clock
//! (`/control/clock`, [`lab_clock`]) are global by nature.
//!
//! Modules: [`profile`] (the claim profile, data), [`jose`] (hand-made JWS: good and bad tokens),
//! [`registry`] (identities and authenticators), [`oidc`] (the protocol endpoints),
//! [`login`] (HTML; what it shares with the `NemID` pages is in [`browser_login`]),
//! [`control`] (control API), [`script`] (what a script can ask for), [`professional`] (which
//! company a business, `MitID` Erhverv, login is for).

pub mod admin;
pub mod browser_login;
pub mod calls;
pub mod control;
pub mod enrolment;
pub mod jose;
pub mod lab_clock;
pub mod login;
pub mod nemid;
pub mod oidc;
pub mod password_change;
pub mod professional;
pub mod profile;
pub mod registry;
pub mod script;
pub mod second_device;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::service::Routes;
use crate::service::routing::{get, post, put};
use axum::Router;
use mitid_devices::DevicePolicies;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::service;
use crate::service::LabClock;
use admin::CreateIdentityRequest;
use jose::{Alg, JoseError, SigningKey};
use profile::ClaimProfile;
use registry::Registry;
use script::{AuthRequest, LoginResult};

/// How a client proves itself at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
            ClientAuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// A registered relying party (service provider or broker customer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub client_id: String,
    /// Needed for the two `client_secret_*` methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Exact match, no wildcards, no prefix matching.
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: ClientAuthMethod,
    /// Public keys for `private_key_jwt` (a JWK Set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// ES256 (default) or RS256.
    #[serde(default = "default_alg")]
    pub id_token_signed_response_alg: Alg,
}

const fn default_alg() -> Alg {
    Alg::ES256
}

/// Login attempts allowed per user ID and per CPR number in a sliding window. The autumn-2022
/// attack locked people out by sending many logins naming their CPR; the `IdP` refuses the excess
/// requests without counting them against the person's authenticators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub max_attempts: u32,
    pub window_seconds: u64,
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit {
            max_attempts: 30,
            window_seconds: 60,
        }
    }
}

/// Everything the `IdP` needs to start.
#[derive(Debug, Clone)]
pub struct IdpConfig {
    /// Issuer = base URL of the public listener, no trailing slash.
    pub issuer: String,
    /// Base URL of the CPR register, looked up for `ssn` logins.
    pub cpr_url: Option<String>,
    /// Timeout for every outbound call (CPR lookups, back-channel logout).
    pub outbound_timeout: Duration,
    /// Seed of the signing keys (same seed, same JWKS).
    pub key_seed: u64,
    pub profile: ClaimProfile,
    pub clients: Vec<ClientConfig>,
    /// Identities created at start (test users), in order.
    pub identities: Vec<CreateIdentityRequest>,
    pub rate_limit: RateLimit,
    pub policies: DevicePolicies,
    pub clock: LabClock,
    /// Companies (CVR numbers) the identities of `identities` act for, by user ID: the test
    /// identities' employers, applied at start as `PUT .../organisations` would.
    pub organisations: BTreeMap<String, Vec<String>>,
}

impl IdpConfig {
    /// Defaults: the built-in `MitID` broker profile, key seed 1, no clients, no identities,
    /// 5-second outbound timeout, wall clock.
    #[must_use]
    pub fn new(issuer: impl Into<String>) -> IdpConfig {
        IdpConfig {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            cpr_url: None,
            outbound_timeout: Duration::from_secs(5),
            key_seed: 1,
            profile: ClaimProfile::mitid_broker(),
            clients: Vec::new(),
            identities: Vec::new(),
            rate_limit: RateLimit::default(),
            policies: DevicePolicies::default(),
            clock: LabClock::system(),
            organisations: BTreeMap::new(),
        }
    }
}

/// Errors starting the `IdP`.
#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    #[error("signing keys: {0}")]
    Keys(#[from] JoseError),
    #[error("issuer `{0}` is not an absolute http(s) URL")]
    Issuer(String),
    #[error("client `{client_id}`: {detail}")]
    Client { client_id: String, detail: String },
    #[error("test identity {index}: {detail}")]
    Identity { index: usize, detail: String },
    #[error("test identities' organisations: {0}")]
    Organisations(String),
}

/// The signing keys: the current generation and, after a rotation that keeps it, the previous.
#[derive(Debug)]
pub struct KeySet {
    pub generation: u64,
    pub current: HashMap<Alg, Arc<SigningKey>>,
    pub previous: Vec<Arc<SigningKey>>,
}

/// A global fault on one endpoint (for `@serial` scenarios: JWKS outages and the like).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointFault {
    #[serde(default)]
    pub delay_ms: u64,
    /// Answer with this status (and a JSON `server_error` body) instead of the real answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// An issued, not yet redeemed (or redeemed, for replay detection) authorization code.
#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub request: AuthRequest,
    pub result: LoginResult,
    pub expires_at: u64,
    pub redeemed: bool,
    pub script_id: Option<String>,
    /// Access token issued from this code, revoked if the code is replayed (RFC 6749 §4.1.2).
    pub access_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AccessGrant {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub result: LoginResult,
    pub expires_at: u64,
    pub script_id: Option<String>,
}

/// The `IdP`'s single sign-on session with a browser.
#[derive(Debug, Clone)]
pub struct SsoSession {
    pub sid: String,
    pub uuid: String,
    pub auth_time: u64,
    pub aal: mitid_devices::Aal,
    pub amr: mitid_devices::AmrSet,
    pub idp: script::LoginIdp,
    pub clients: HashSet<String>,
}

/// All mutable state behind one lock (every operation is short and CPU-only).
#[derive(Debug, Default)]
pub struct Store {
    pub registry: Registry,
    pub clients: HashMap<String, ClientConfig>,
    pub codes: HashMap<String, CodeGrant>,
    pub access_tokens: HashMap<String, AccessGrant>,
    pub sessions: HashMap<String, SsoSession>,
    pub logins: HashMap<String, login::LoginTx>,
    pub scripts: script::Scripts,
    pub faults: HashMap<String, EndpointFault>,
    /// Recently used `private_key_jwt` assertion ids (replay protection), with their expiry.
    pub assertion_ids: HashMap<String, u64>,
    /// Login attempt times per rate-limit key (`user:<id>` / `cpr:<cpr>`).
    pub attempts: HashMap<String, VecDeque<u64>>,
    /// App approvals waiting for the device, by login id.
    pub pending_app: HashMap<String, login::PendingApproval>,
    /// `NemID` credentials, `NemID` logins on the pages, client sectors ([`nemid`]).
    pub nemid: nemid::NemidStore,
    /// Passports checked for an app enrolment, waiting for the app's registration.
    pub enrolments: enrolment::PendingEnrolments,
}

/// Immutable configuration plus the locked store; shared by every handler.
#[derive(Debug)]
pub struct IdpState {
    pub issuer: String,
    pub rp_id: String,
    pub cpr_url: Option<String>,
    pub http: reqwest::Client,
    pub key_seed: u64,
    pub keys: Mutex<KeySet>,
    pub profile: ClaimProfile,
    pub rate_limit: RateLimit,
    pub policies: DevicePolicies,
    pub clock: LabClock,
    /// The `NemID` phase-out calendar the broker enforces (`fixtures/nemid-calendar.yaml`).
    pub nemid_calendar: crate::nemid_calendar::NemidCalendar,
    /// The synthetic CVR register: the companies professional logins are for.
    pub cvr: crate::cvr::CvrRegister,
    store: Mutex<Store>,
}

pub type SharedState = Arc<IdpState>;

impl IdpState {
    /// The store; a poisoned lock (a handler panicked) is recovered, since every operation leaves
    /// the store consistent before it can panic.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn keys(&self) -> MutexGuard<'_, KeySet> {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Now, unix seconds, from the lab clock.
    #[must_use]
    pub fn now_secs(&self) -> u64 {
        u64::try_from(self.clock.now()).unwrap_or(0)
    }

    #[must_use]
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The current key for `alg`.
    pub fn signing_key(&self, alg: Alg) -> Option<Arc<SigningKey>> {
        self.keys().current.get(&alg).cloned()
    }

    /// Rotates to a new key generation; `keep_previous` keeps the old keys in the JWKS.
    pub fn rotate_keys(&self, keep_previous: bool) -> Result<u64, JoseError> {
        let generation = self.keys().generation + 1;
        let fresh = generate_keys(self.key_seed, generation)?;
        let mut keys = self.keys();
        let old: Vec<Arc<SigningKey>> = keys.current.drain().map(|(_, k)| k).collect();
        keys.previous = if keep_previous { old } else { Vec::new() };
        keys.current = fresh;
        keys.generation = generation;
        Ok(generation)
    }

    /// Seeds `generation` of the key set (generation 0 = the keys at start).
    fn key_seed_for(seed: u64, generation: u64, alg: Alg) -> u64 {
        let alg_bit = match alg {
            Alg::ES256 => 0,
            Alg::RS256 => 1,
        };
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(generation.wrapping_mul(2))
            .wrapping_add(alg_bit)
    }
}

fn generate_keys(seed: u64, generation: u64) -> Result<HashMap<Alg, Arc<SigningKey>>, JoseError> {
    let mut keys = HashMap::new();
    for alg in [Alg::ES256, Alg::RS256] {
        keys.insert(
            alg,
            Arc::new(SigningKey::from_seed(
                alg,
                IdpState::key_seed_for(seed, generation, alg),
            )?),
        );
    }
    Ok(keys)
}

/// A key that is never published: "signed by another key" misbehaviour.
pub fn foreign_key(seed: u64, alg: Alg) -> Result<SigningKey, JoseError> {
    SigningKey::from_seed(
        alg,
        IdpState::key_seed_for(seed ^ 0xF0E1_D2C3_B4A5_9687, u64::MAX / 4, alg),
    )
}

/// The `IdP`: holds the shared state; [`Idp::routers`] gives the two listeners' routers.
#[derive(Debug, Clone)]
pub struct Idp {
    state: SharedState,
}

impl Idp {
    pub fn new(config: IdpConfig) -> Result<Idp, IdpError> {
        let url =
            url::Url::parse(&config.issuer).map_err(|_| IdpError::Issuer(config.issuer.clone()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(IdpError::Issuer(config.issuer));
        }
        let rp_id = url.host_str().unwrap_or_default().to_owned();
        let http = reqwest::Client::builder()
            .timeout(config.outbound_timeout)
            .connect_timeout(config.outbound_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| IdpError::Issuer(format!("HTTP client: {e}")))?;
        let mut store = Store::default();
        for client in config.clients {
            control::check_client(&client).map_err(|detail| IdpError::Client {
                client_id: client.client_id.clone(),
                detail,
            })?;
            store.clients.insert(client.client_id.clone(), client);
        }
        for (index, identity) in config.identities.into_iter().enumerate() {
            // Test identities get stable UUIDs derived from the key seed and their position.
            let mut bytes = [0u8; 16];
            let digest = <sha2::Sha256 as sha2::Digest>::digest(
                format!("mitid-lab test identity {} {index}", config.key_seed).as_bytes(),
            );
            bytes.copy_from_slice(&digest[..16]);
            store
                .registry
                .create(identity, registry::uuid_from_bytes(bytes))
                .map_err(|e| IdpError::Identity {
                    index,
                    detail: e.to_string(),
                })?;
        }
        let cvr = crate::cvr::CvrRegister::embedded()
            .map_err(|e| IdpError::Organisations(e.to_string()))?;
        for (user_id, cvrs) in &config.organisations {
            let uuid = store
                .registry
                .uuid_by_user_id(user_id)
                .map(str::to_owned)
                .ok_or_else(|| {
                    IdpError::Organisations(format!("no identity with user ID `{user_id}`"))
                })?;
            store
                .registry
                .set_organisations(&uuid, cvrs, &cvr)
                .map_err(|e| IdpError::Organisations(format!("{user_id}: {e}")))?;
        }
        let keys = KeySet {
            generation: 0,
            current: generate_keys(config.key_seed, 0)?,
            previous: Vec::new(),
        };
        Ok(Idp {
            state: Arc::new(IdpState {
                issuer: config.issuer,
                rp_id,
                cpr_url: config.cpr_url.map(|u| u.trim_end_matches('/').to_owned()),
                http,
                key_seed: config.key_seed,
                keys: Mutex::new(keys),
                profile: config.profile,
                rate_limit: config.rate_limit,
                policies: config.policies,
                clock: config.clock,
                nemid_calendar: crate::nemid_calendar::NemidCalendar::builtin(),
                cvr,
                store: Mutex::new(store),
            }),
        })
    }

    /// The shared state (for in-process callers such as the benchmark).
    #[must_use]
    pub fn state(&self) -> &SharedState {
        &self.state
    }

    /// `(public, control)` routers, each with the house rules of [`crate::service::standard`].
    pub fn routers(&self) -> (Router, Router) {
        let public = Routes::new()
            .route("/.well-known/openid-configuration", get(oidc::discovery))
            .route("/jwks", get(oidc::jwks))
            .route(
                "/authorize",
                get(oidc::authorize_get).post(oidc::authorize_post),
            )
            .route("/token", post(oidc::token))
            .route("/userinfo", get(oidc::userinfo).post(oidc::userinfo))
            .route("/logout", get(oidc::logout_get).post(oidc::logout_post))
            .route("/login/{login_id}", get(login::page))
            .route("/login/{login_id}/user", post(login::submit_user))
            .route("/login/{login_id}/method", post(login::choose_method))
            .route("/login/{login_id}/code", post(login::submit_code))
            .route("/login/{login_id}/chip", post(login::submit_chip))
            .route("/login/{login_id}/status", get(login::status))
            .route("/login/{login_id}/cancel", post(login::cancel))
            .route(
                "/login/{login_id}/organisation",
                post(login::choose_organisation),
            )
            .route("/app/pending/{user_id}", get(login::app_pending))
            .route("/app/approvals/{login_id}", post(login::app_approve))
            .merge(nemid::public_routes())
            .route("/app/enrolments", post(enrolment::check_passport))
            .route(
                "/app/enrolments/{enrolment_id}/activation",
                post(enrolment::activate),
            )
            .route("/app/second-device-offers", post(second_device::open_offer))
            .route(
                "/app/second-device-offers/{offer_id}/grant",
                post(second_device::accept_grant),
            )
            .route(
                "/app/second-device-activations",
                post(second_device::activate_nearby),
            )
            .route(
                "/mitid-dk/password-changes",
                post(password_change::open_change),
            )
            .route(
                "/mitid-dk/password-changes/{change_id}/password",
                post(password_change::set_password),
            )
            .map_router(|router| {
                router.layer(axum::middleware::from_fn_with_state(
                    self.state.clone(),
                    calls::record,
                ))
            })
            .with_state(self.state.clone());
        (
            service::standard("idp", public),
            service::standard("idp-control", self.control_router()),
        )
    }

    /// The control listener's routes: identity admin, scripts, keys, faults, clock.
    fn control_router(&self) -> Routes {
        Routes::new()
            .route("/admin/identities", post(registry::create_identity))
            .route("/admin/identities/{uuid}", get(registry::get_identity))
            .route(
                "/admin/identities/by-user-id/{user_id}",
                get(registry::get_by_user_id),
            )
            .route("/admin/identities/by-cpr/{cpr}", get(registry::get_by_cpr))
            .route("/admin/identities/{uuid}/ial", put(registry::set_ial))
            .route(
                "/admin/identities/{uuid}/organisations",
                get(registry::get_organisations).put(registry::set_organisations),
            )
            .route(
                "/admin/identities/{uuid}/authenticators",
                post(registry::add_authenticator),
            )
            .route(
                "/admin/identities/{uuid}/authenticators/{id}/complete-chip-activation",
                post(registry::complete_chip_activation),
            )
            .route("/admin/app-activations", post(registry::activate_app))
            .route(
                "/admin/identities/{uuid}/temporary-pin",
                post(registry::temporary_pin),
            )
            .route(
                "/admin/identities/{uuid}/password-reset",
                post(registry::password_reset),
            )
            .route(
                "/admin/identities/{uuid}/apps/revoke",
                post(registry::revoke_apps),
            )
            .route("/admin/identities/{uuid}/block", post(registry::block))
            .route("/admin/identities/{uuid}/unblock", post(registry::unblock))
            .route("/control/clients", post(control::register_client))
            .route("/control/clients/{client_id}", get(control::get_client))
            .route("/control/scripts", post(control::add_script))
            .route("/control/scripts/{script_id}", get(control::get_script))
            .route(
                "/control/scripts/{script_id}/calls",
                get(control::get_script_calls),
            )
            .route("/control/keys/rotate", post(control::rotate_keys))
            .route(
                "/control/faults/{endpoint}",
                put(control::set_fault).delete(control::clear_fault),
            )
            .route("/control/logins/{login_id}", get(control::get_login))
            .route(
                "/control/backchannel-logout",
                post(control::backchannel_logout),
            )
            .merge(nemid::control_routes())
            .merge(lab_clock::control_routes())
            .with_state(self.state.clone())
    }
}
