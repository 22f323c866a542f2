//! # Runtime: the whole set of components, wired together, embedded or in containers
//!
//! The lab's components run two ways with the same code (DESIGN.md, "Three ways to run the
//! components"):
//!
//! - [`embedded`]: every component in this process on `127.0.0.1:0`, on a tokio runtime of its own
//!   (so sync code such as the CLI can hold a [`Stack`] as easily as async tests).
//! - [`containers`]: one Docker container per component on a private network, from an image
//!   built locally out of the project's own `mitid-lab` binary (`FROM scratch`, nothing pulled),
//!   each container running `mitid-lab components serve NAME`.
//!
//! Both hand back the same [`Stack`]: each component's URL as the host reaches it, the test
//! identities, and shutdown on `Drop`.
//!
//! **One clock.** Every component reads "now" from the lab clock, and the broker's control API
//! (`/control/clock`) is the one place that moves it. Embedded, the components hold clones of
//! one in-memory [`LabClock`]; in containers, each reads the same clock file on a volume the run
//! mounts into every container ([`containers::CLOCK_FILE`]), which the broker's container
//! writes. Either way, a scenario or the live simulation that freezes the clock at a simulated
//! instant has every component judge on that instant.
//!
//! The registry ([`Component`], [`build_routers`]) is the one place that knows how to turn a
//! component's name and its neighbours' URLs ([`Wiring`]) into routers. The embedded stack binds
//! every listener first (so every URL is known), then builds each component against that wiring;
//! `components serve` does the same for one component with URLs from flags.
//!
//! The IdP's issuer is its public URL as the *components* see it: in containers that is
//! `http://<container-name>:8080`, which the host cannot resolve. Host-side clients (the lab's
//! browser) therefore map those names to the mapped ports: [`Stack::host_overrides`] lists them
//! for `reqwest::ClientBuilder::resolve`.

pub mod containers;
pub mod embedded;
pub mod interrupt;
pub mod probe;
mod stack;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;

use axum::Router;

use crate::citizen_service::{CitizenService, CitizenServiceConfig};
use crate::cpr::{CprConfig, CprRegister, Fixtures, PersonGenerator, PersonRequest};
use crate::cvr::CvrRegister;
use crate::idp::admin::{CreateIdentityRequest, Ial, PersonRef};
use crate::idp::{ClientAuthMethod, ClientConfig, Idp, IdpConfig, RateLimit};
use crate::nemlogin::{BrokerClient, Nemlogin, NemloginConfig};
use crate::reference_sp::{Flaw, ReferenceSp, SpConfig};
use crate::service::LabClock;
use crate::sms::{SmsConfig, SmsGateway};
use crate::support::{SupportConfig, SupportLine};

pub use stack::{RuntimeKind, Stack};

/// One of the lab's components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// The MitID broker: OpenID Connect provider (public listener) and its control API.
    Idp,
    /// The CPR register.
    Cpr,
    /// Citizen Service (Borgerservice) counters.
    CitizenService,
    /// The MitID support line.
    Support,
    /// The SMS gateway.
    Sms,
    /// The reference service provider (a borger.dk-like portal).
    ReferenceSp,
    /// NemLog-in, the OIOSAML 3 IdP (public listener and control API): a client of the broker.
    Nemlogin,
}

/// One listening socket of a component: every component has a public one; the IdP also has a
/// control listener for the lab's scripting and admin API, never exposed to service providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// What citizens, service providers and neighbours call.
    Public,
    /// The lab's own control API (IdP only).
    Control,
}

impl Component {
    /// Every component, in start order (neighbours before the components that call them).
    pub const ALL: [Component; 7] = [
        Component::Cpr,
        Component::Sms,
        Component::Idp,
        Component::CitizenService,
        Component::Support,
        Component::ReferenceSp,
        Component::Nemlogin,
    ];

    /// The components of an OIOSAML run: NemLog-in, the broker its logins are `MitID` logins
    /// at, and the CPR register the broker reads.
    pub const SAML: [Component; 3] = [Component::Cpr, Component::Idp, Component::Nemlogin];

    /// Whether a stack runs it by default (`embedded::start`, `containers::start`, the OIDC
    /// runs): every component but NemLog-in, which only OIOSAML runs need ([`Component::SAML`]).
    #[must_use]
    pub fn in_default_stack(self) -> bool {
        self != Component::Nemlogin
    }

    /// The name used on the command line, in container names and in `/health`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Component::Idp => "idp",
            Component::Cpr => "cpr",
            Component::CitizenService => "citizen-service",
            Component::Support => "support",
            Component::Sms => "sms",
            Component::ReferenceSp => "reference-sp",
            Component::Nemlogin => "nemlogin",
        }
    }

    /// The component with this [`Component::name`].
    #[must_use]
    pub fn from_name(name: &str) -> Option<Component> {
        Component::ALL
            .into_iter()
            .find(|component| component.name() == name)
    }

    /// The listeners this component needs.
    #[must_use]
    pub fn endpoints(self) -> &'static [Endpoint] {
        match self {
            Component::Idp | Component::Nemlogin => &[Endpoint::Public, Endpoint::Control],
            _ => &[Endpoint::Public],
        }
    }

    /// The neighbours' endpoints this component calls (or names, like the IdP's issuer), besides
    /// its own public URL.
    #[must_use]
    pub fn neighbours(self) -> &'static [(Component, Endpoint)] {
        match self {
            Component::Cpr | Component::Sms => &[],
            // The reference service provider's URL is optional: its client is registered when known.
            Component::Idp => &[(Component::Cpr, Endpoint::Public)],
            Component::CitizenService => &[
                (Component::Cpr, Endpoint::Public),
                (Component::Idp, Endpoint::Control),
            ],
            Component::Support => &[
                (Component::Cpr, Endpoint::Public),
                (Component::Sms, Endpoint::Public),
                (Component::Idp, Endpoint::Control),
            ],
            Component::ReferenceSp | Component::Nemlogin => &[(Component::Idp, Endpoint::Public)],
        }
    }

    /// Whether [`build_routers`] can build this component in this build of the crate.
    #[must_use]
    pub fn is_available(self) -> bool {
        builder(self).is_some()
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Endpoint {
    /// `public` or `control`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Public => "public",
            Endpoint::Control => "control",
        }
    }
}

/// The base URL (no trailing slash) of each component endpoint, as the components see each other.
///
/// A component's own public URL is in here too: the IdP's is its issuer, the reference service
/// provider's gives its redirect URI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wiring {
    urls: BTreeMap<(Component, Endpoint), String>,
}

impl Wiring {
    /// An empty wiring; fill it with [`Wiring::set`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the URL of one endpoint (a trailing slash is dropped).
    pub fn set(&mut self, component: Component, endpoint: Endpoint, url: impl Into<String>) {
        let url = url.into();
        self.urls
            .insert((component, endpoint), url.trim_end_matches('/').to_owned());
    }

    /// The URL of one endpoint, if known.
    #[must_use]
    pub fn get(&self, component: Component, endpoint: Endpoint) -> Option<&str> {
        self.urls.get(&(component, endpoint)).map(String::as_str)
    }

    /// The URL `needed_by` cannot run without.
    pub fn require(
        &self,
        needed_by: Component,
        component: Component,
        endpoint: Endpoint,
    ) -> Result<&str, RuntimeError> {
        self.get(component, endpoint)
            .ok_or(RuntimeError::MissingUrl {
                needed_by,
                component,
                endpoint,
            })
    }

    /// Every known endpoint with its URL.
    pub fn iter(&self) -> impl Iterator<Item = (Component, Endpoint, &str)> {
        self.urls
            .iter()
            .map(|(&(component, endpoint), url)| (component, endpoint, url.as_str()))
    }
}

/// What every component is started with, besides the wiring.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Seed of every generator (CPR register, identities): same seed, same persons.
    pub seed: u64,
    /// Persons the CPR register generates at start.
    pub population: usize,
    /// Named flaws the reference service provider is started with (empty: a correct one).
    pub flaws: Vec<String>,
    /// The one clock every component reads: shared in memory by the embedded components; in
    /// containers each component's is a [`LabClock::file`] on the run's clock volume.
    pub clock: LabClock,
    /// Worker threads of the embedded stack's own tokio runtime.
    pub worker_threads: usize,
    /// Test identities the IdP knows from the start (the first persons of the CPR register,
    /// plus one person without a CPR number).
    pub test_identities: usize,
    /// Logins per person (user ID or CPR) the IdP accepts per minute; `None` keeps the IdP's
    /// default. Only the throughput bench lifts it: it logs the same few persons in thousands
    /// of times a second, which the lockout defence rightly refuses.
    pub login_rate_limit: Option<u32>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            population: 1_000,
            flaws: Vec::new(),
            clock: LabClock::system(),
            worker_threads: 2,
            test_identities: 8,
            login_rate_limit: None,
        }
    }
}

/// The routers of one component, one per [`Component::endpoints`] entry.
pub type ComponentRouters = Vec<(Endpoint, Router)>;

type Builder = fn(&Wiring, &StackOptions) -> Result<ComponentRouters, RuntimeError>;

/// The registry: how to build each component from its wiring. `None` for a component whose
/// constructor does not exist in this build.
#[allow(
    clippy::unnecessary_wraps,
    reason = "the registry's shape: `is_available` and `RuntimeError::NotAvailable` answer for a component left out of a build, even while every one is built in"
)]
fn builder(component: Component) -> Option<Builder> {
    match component {
        Component::Cpr => Some(build_cpr),
        Component::Sms => Some(build_sms),
        Component::Idp => Some(build_idp),
        Component::ReferenceSp => Some(build_reference_sp),
        Component::CitizenService => Some(build_citizen_service),
        Component::Support => Some(build_support),
        Component::Nemlogin => Some(build_nemlogin),
    }
}

fn build_cpr(_wiring: &Wiring, options: &StackOptions) -> Result<ComponentRouters, RuntimeError> {
    let config = CprConfig {
        seed: options.seed,
        population: options.population,
        clock: options.clock.clone(),
        ..CprConfig::default()
    };
    if config.population > crate::cpr::MAX_POPULATION {
        return Err(RuntimeError::BadOption(format!(
            "population {} is larger than the CPR register holds ({})",
            config.population,
            crate::cpr::MAX_POPULATION
        )));
    }
    Ok(vec![(Endpoint::Public, CprRegister::new(config))])
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "every constructor has the registry's `Builder` signature; the SMS gateway simply has no option to reject"
)]
fn build_sms(_wiring: &Wiring, options: &StackOptions) -> Result<ComponentRouters, RuntimeError> {
    Ok(vec![(
        Endpoint::Public,
        SmsGateway::new(SmsConfig {
            clock: options.clock.clone(),
        }),
    )])
}

fn build_idp(wiring: &Wiring, options: &StackOptions) -> Result<ComponentRouters, RuntimeError> {
    let issuer = wiring.require(Component::Idp, Component::Idp, Endpoint::Public)?;
    let mut config = IdpConfig::new(issuer);
    config.cpr_url = Some(
        wiring
            .require(Component::Idp, Component::Cpr, Endpoint::Public)?
            .to_owned(),
    );
    config.key_seed = options.seed;
    config.clock = options.clock.clone();
    config.clients = vec![LabClient::for_options(options).client_config()];
    if let Some(nemlogin_url) = wiring.get(Component::Nemlogin, Endpoint::Public) {
        config.clients.push(nemlogin_client(
            &nemlogin_broker_client(issuer, options),
            nemlogin_url,
        ));
    }
    if let Some(sp_url) = wiring.get(Component::ReferenceSp, Endpoint::Public) {
        config
            .clients
            .push(reference_sp_client(&reference_sp_config(
                sp_url, issuer, options,
            )?));
    }
    config.identities = identity_requests(options)?;
    config.organisations = test_identities(options)
        .into_iter()
        .filter(|identity| !identity.organisations.is_empty())
        .map(|identity| (identity.user_id, identity.organisations))
        .collect();
    if let Some(max_attempts) = options.login_rate_limit {
        config.rate_limit = RateLimit {
            max_attempts,
            window_seconds: 60,
        };
    }
    let idp = Idp::new(config)
        .map_err(|err| RuntimeError::BadOption(format!("the IdP does not start: {err}")))?;
    let (public, control) = idp.routers();
    Ok(vec![
        (Endpoint::Public, public),
        (Endpoint::Control, control),
    ])
}

fn build_citizen_service(
    wiring: &Wiring,
    options: &StackOptions,
) -> Result<ComponentRouters, RuntimeError> {
    let needed_by = Component::CitizenService;
    let mut config = CitizenServiceConfig::new(
        wiring.require(needed_by, Component::Cpr, Endpoint::Public)?,
        wiring.require(needed_by, Component::Idp, Endpoint::Control)?,
    );
    config.seed = options.seed;
    config.clock = options.clock.clone();
    Ok(vec![(Endpoint::Public, CitizenService::new(config))])
}

fn build_support(
    wiring: &Wiring,
    options: &StackOptions,
) -> Result<ComponentRouters, RuntimeError> {
    let needed_by = Component::Support;
    let mut config = SupportConfig::new(
        wiring.require(needed_by, Component::Cpr, Endpoint::Public)?,
        wiring.require(needed_by, Component::Idp, Endpoint::Control)?,
        wiring.require(needed_by, Component::Sms, Endpoint::Public)?,
    );
    config.clock = options.clock.clone();
    Ok(vec![(Endpoint::Public, SupportLine::new(config))])
}

/// Client id of NemLog-in at the broker.
pub const NEMLOGIN_CLIENT_ID: &str = "nemlogin";

/// NemLog-in as the broker's OIDC client, shared by NemLog-in's builder and the broker's client
/// list so both sides agree on id and secret (test-only, derived from the seed).
fn nemlogin_broker_client(issuer: &str, options: &StackOptions) -> BrokerClient {
    BrokerClient {
        issuer: issuer.to_owned(),
        client_id: NEMLOGIN_CLIENT_ID.to_owned(),
        client_secret: format!("nemlogin-test-secret-{:016x}", options.seed),
    }
}

fn nemlogin_client(broker: &BrokerClient, nemlogin_url: &str) -> ClientConfig {
    ClientConfig {
        client_id: broker.client_id.clone(),
        client_secret: Some(broker.client_secret.clone()),
        redirect_uris: vec![BrokerClient::redirect_uri(nemlogin_url)],
        token_endpoint_auth_method: ClientAuthMethod::ClientSecretBasic,
        jwks: None,
        backchannel_logout_uri: None,
        post_logout_redirect_uris: Vec::new(),
        id_token_signed_response_alg: crate::idp::jose::Alg::ES256,
    }
}

/// NemLog-in with the test keys of `fixtures/saml/`; service providers register their
/// metadata through its control API (`POST /control/service-providers`) once they are known.
fn build_nemlogin(
    wiring: &Wiring,
    options: &StackOptions,
) -> Result<ComponentRouters, RuntimeError> {
    let needed_by = Component::Nemlogin;
    let own = wiring.require(needed_by, Component::Nemlogin, Endpoint::Public)?;
    let issuer = wiring.require(needed_by, Component::Idp, Endpoint::Public)?;
    let mut config = NemloginConfig::new(own, nemlogin_broker_client(issuer, options));
    config.clock = options.clock.clone();
    let nemlogin = Nemlogin::new(config)
        .map_err(|err| RuntimeError::BadOption(format!("NemLog-in does not start: {err}")))?;
    let (public, control) = nemlogin.routers();
    Ok(vec![
        (Endpoint::Public, public),
        (Endpoint::Control, control),
    ])
}

/// Client id of the reference service provider at the IdP.
pub const REFERENCE_SP_CLIENT_ID: &str = "reference-sp";

/// How long the lab's reference service provider waits for the broker. Every call it makes is
/// to a broker on the same host or Docker network, answering in milliseconds; the bound matters
/// only when the broker is scripted to hang (SP-ERR-UNREACHABLE-01), where a shorter wait makes
/// each conformance run (and each of the self-check's runs) that much shorter.
pub const REFERENCE_SP_HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The reference SP's configuration, shared by its own builder and the IdP's client list so
/// both sides agree on id, secret and URIs.
fn reference_sp_config(
    sp_url: &str,
    issuer: &str,
    options: &StackOptions,
) -> Result<SpConfig, RuntimeError> {
    let mut config = SpConfig::new(
        sp_url,
        issuer,
        REFERENCE_SP_CLIENT_ID,
        format!("reference-sp-test-secret-{:016x}", options.seed),
    );
    config.clock = options.clock.clone();
    config.http_timeout = REFERENCE_SP_HTTP_TIMEOUT;
    for name in &options.flaws {
        let flaw: Flaw = name.parse().map_err(|_| {
            let known = crate::reference_sp::FlawCatalogue::embedded().names();
            RuntimeError::BadOption(format!(
                "unknown flaw {name:?}; known: {}",
                known.join(", ")
            ))
        })?;
        config.flaws.insert(flaw);
    }
    Ok(config)
}

fn reference_sp_client(config: &SpConfig) -> ClientConfig {
    ClientConfig {
        client_id: config.client_id.clone(),
        client_secret: Some(config.client_secret.clone()),
        redirect_uris: vec![config.redirect_uri()],
        token_endpoint_auth_method: ClientAuthMethod::ClientSecretBasic,
        jwks: None,
        backchannel_logout_uri: Some(config.backchannel_logout_uri()),
        post_logout_redirect_uris: vec![config.post_logout_redirect_uri()],
        id_token_signed_response_alg: crate::idp::jose::Alg::ES256,
    }
}

fn build_reference_sp(
    wiring: &Wiring,
    options: &StackOptions,
) -> Result<ComponentRouters, RuntimeError> {
    let sp_url = wiring.require(
        Component::ReferenceSp,
        Component::ReferenceSp,
        Endpoint::Public,
    )?;
    let issuer = wiring.require(Component::ReferenceSp, Component::Idp, Endpoint::Public)?;
    let config = reference_sp_config(sp_url, issuer, options)?;
    Ok(vec![(Endpoint::Public, ReferenceSp::new(config))])
}

/// Builds the routers of `component` against `wiring` (which must name its own public URL and
/// every [`Component::neighbours`] entry).
pub fn build_routers(
    component: Component,
    wiring: &Wiring,
    options: &StackOptions,
) -> Result<ComponentRouters, RuntimeError> {
    wiring.require(component, component, Endpoint::Public)?;
    for &(neighbour, endpoint) in component.neighbours() {
        wiring.require(component, neighbour, endpoint)?;
    }
    let build = builder(component).ok_or(RuntimeError::NotAvailable(component))?;
    build(wiring, options)
}

/// A person the lab can log in as (`login_hint=test:<user_id>`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TestIdentity {
    /// MitID user ID.
    pub user_id: String,
    /// Full name.
    pub name: String,
    /// CPR number, absent for a person identified with a P code.
    pub cpr: Option<String>,
    /// Identity assurance level (`low`, `substantial`, `high`).
    pub ial: String,
    /// CVR numbers of the companies the person acts for in business logins (from the CVR
    /// register: most persons none, some one, a few two).
    #[serde(default)]
    pub organisations: Vec<String>,
}

/// The OIDC client the lab itself uses at the IdP (bench, lab browser): registered in every
/// stack, `client_secret_basic`. Its redirect URI is under `.invalid` (RFC 2606): headless logins
/// answer with the redirect and nothing ever follows it. Test-only credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabClient {
    /// `mitid-lab`.
    pub client_id: String,
    /// Derived from the seed (test-only).
    pub client_secret: String,
    /// `https://lab.invalid/callback`.
    pub redirect_uri: String,
}

impl LabClient {
    /// The lab client of a stack started with `options`.
    #[must_use]
    pub fn for_options(options: &StackOptions) -> LabClient {
        LabClient {
            client_id: "mitid-lab".to_owned(),
            client_secret: format!("mitid-lab-test-secret-{:016x}", options.seed),
            redirect_uri: "https://lab.invalid/callback".to_owned(),
        }
    }

    fn client_config(&self) -> ClientConfig {
        ClientConfig {
            client_id: self.client_id.clone(),
            client_secret: Some(self.client_secret.clone()),
            redirect_uris: vec![self.redirect_uri.clone()],
            token_endpoint_auth_method: ClientAuthMethod::ClientSecretBasic,
            jwks: None,
            backchannel_logout_uri: None,
            post_logout_redirect_uris: Vec::new(),
            id_token_signed_response_alg: crate::idp::jose::Alg::ES256,
        }
    }
}

/// Identity assurance of the n-th test identity: mostly Substantial, one High, one Low, so a
/// login at each level of assurance has a person.
fn test_ial(index: usize) -> Ial {
    match index % 4 {
        1 => Ial::High,
        3 => Ial::Low,
        _ => Ial::Substantial,
    }
}

/// The test identities as the IdP's start-up requests: the first persons of the CPR register
/// (same seed, same generator, so they are in the register), and the last one without a CPR
/// number (a P code), as such identities exist.
fn identity_requests(options: &StackOptions) -> Result<Vec<CreateIdentityRequest>, RuntimeError> {
    let count = options.test_identities;
    if count == 0 {
        return Ok(Vec::new());
    }
    let with_cpr = count - 1;
    if with_cpr > options.population {
        return Err(RuntimeError::BadOption(format!(
            "{count} test identities need at least {with_cpr} persons in the CPR register (population {})",
            options.population
        )));
    }
    let fixtures =
        Fixtures::embedded().map_err(|err| RuntimeError::BadOption(format!("fixtures: {err}")))?;
    let mut generator =
        PersonGenerator::new(fixtures, options.seed, CprConfig::default().reference_date);
    let mut requests = Vec::with_capacity(count);
    for index in 0..with_cpr {
        let person = generator
            .generate(&PersonRequest::default())
            .map_err(|err| RuntimeError::BadOption(format!("test identity {index}: {err}")))?;
        requests.push(CreateIdentityRequest {
            person: PersonRef::Cpr(person.cpr.compact()),
            name: person.full_name(),
            date_of_birth: person.birth_date.format("%Y-%m-%d").to_string(),
            ial: test_ial(index),
            user_id: Some(format!("lab.user{:02}", index + 1)),
            nemid_pid: None,
        });
    }
    requests.push(CreateIdentityRequest {
        person: PersonRef::PCode(format!("{:08}", 10_000_000 + options.seed % 90_000_000)),
        name: "Alex Morgan".to_owned(),
        date_of_birth: "1988-04-12".to_owned(),
        ial: Ial::Substantial,
        user_id: Some("lab.pcode01".to_owned()),
        nemid_pid: None,
    });
    Ok(requests)
}

/// The persons the lab's IdP knows from the start, for `login_hint=test:<user_id>`.
#[must_use]
pub fn test_identities(options: &StackOptions) -> Vec<TestIdentity> {
    // The CPR register answers `/persons/{cpr}/employers` from the same register and seed.
    let cvr = CvrRegister::embedded().ok();
    identity_requests(options)
        .unwrap_or_default()
        .into_iter()
        .map(|request| {
            let cpr = match request.person {
                PersonRef::Cpr(cpr) => Some(cpr),
                PersonRef::PCode(_) => None,
            };
            let organisations = match (&cvr, &cpr) {
                (Some(register), Some(cpr)) => register
                    .employers_of(options.seed, cpr)
                    .into_iter()
                    .map(|company| company.cvr.clone())
                    .collect(),
                _ => Vec::new(),
            };
            TestIdentity {
                user_id: request.user_id.unwrap_or_default(),
                name: request.name,
                cpr,
                ial: request.ial.name().to_owned(),
                organisations,
            }
        })
        .collect()
}

/// Why a stack or one component could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{needed_by} needs the URL of the {endpoint_name} endpoint of {component} (flag --{flag})", endpoint_name = endpoint.name(), flag = url_flag(*component, *endpoint))]
    MissingUrl {
        needed_by: Component,
        component: Component,
        endpoint: Endpoint,
    },
    #[error("component {0} is not built into this version of the lab")]
    NotAvailable(Component),
    #[error(
        "unknown component {0:?}; known: idp, cpr, citizen-service, support, sms, reference-sp"
    )]
    UnknownComponent(String),
    #[error("{0}")]
    BadOption(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{component} failed while serving: {source}")]
    Serve {
        component: Component,
        source: std::io::Error,
    },
    #[error("cannot start the embedded stack's runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the embedded stack's thread ended before the stack was ready")]
    StackThreadDied,
    #[error("Docker: {0}")]
    Docker(String),
    #[error("cannot build the component image: {0}")]
    ImageBuild(String),
    #[error("container for {component} did not start: {detail}")]
    ContainerStart {
        component: Component,
        detail: String,
    },
    #[error("the components were not started: {0}")]
    Interrupted(interrupt::Interrupted),
}

/// The `components serve` flag that carries this endpoint's URL (`--cpr-url`, `--idp-control-url`).
#[must_use]
pub fn url_flag(component: Component, endpoint: Endpoint) -> String {
    match endpoint {
        Endpoint::Public => format!("{}-url", component.name()),
        Endpoint::Control => format!("{}-control-url", component.name()),
    }
}
