//! The cucumber World of one scenario, and the [`Lab`] every scenario of a run shares.
//!
//! A World is fresh per scenario: its own browser (cookie jar, evidence), its own citizens with
//! user IDs no other scenario uses, and its own broker script. That is what lets scenarios run
//! concurrently against one broker: whatever the broker is told to do is keyed to this
//! scenario's citizens and logins, never global.
//!
//! The bottom layer of the crate: state only, no calls. The [`crate::actions`] read and change
//! it; cucumber makes one per scenario, [`LabWorld::for_lab`] makes one for a journey outside it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use url::Url;

use mitid_components::idp::EndpointFault;
use mitid_components::idp::script::{Behaviour, IdTokenFault, UserinfoFault};

use super::browser::{Browser, Page};
use super::evidence::Exchange;

pub mod devices;

pub use devices::Devices;

/// The service provider under test, as the lab reaches it.
#[derive(Debug, Clone)]
pub struct ServiceProvider {
    /// What the reports call it (`reference`, `reference --flaw skip-signature`, a URL).
    pub label: String,
    pub base_url: Url,
    pub login_url: Url,
    pub me_url: Url,
    pub logout_url: Option<Url>,
    pub backchannel_logout_url: Option<Url>,
    /// Starts a business (MitID Erhverv) login (`business_logins`).
    pub business_login_url: Option<Url>,
    /// The optional parts of the contract the service declares (the reference implements all).
    pub implements: std::collections::BTreeSet<crate::target::OptionalFeature>,
    pub client_id: String,
    pub redirect_uri: Url,
}

/// The lab's other components, as the steps reach them.
#[derive(Debug, Clone)]
pub struct LabEndpoints {
    /// The broker's issuer (its public OIDC listener).
    pub issuer: Url,
    /// The broker's control listener (control API, identity admin API).
    pub control: Url,
    pub cpr: Option<Url>,
    pub citizen_service: Option<Url>,
    /// The MitID support line and the SMS gateway whose messages the citizens' phones read;
    /// `None` for an external target (the citizen journeys are not run there).
    pub support: Option<Url>,
    pub sms: Option<Url>,
}

/// What one run shares: the system under test, the lab's endpoints, a client for the lab's own
/// APIs and a counter that makes every citizen of the run unique.
pub struct Lab {
    pub sp: ServiceProvider,
    pub endpoints: LabEndpoints,
    pub http: reqwest::Client,
    /// Distinguishes this run's citizens from earlier runs against the same broker.
    pub run_tag: String,
    /// Every component reads "now" from the one clock the broker's control API moves (the lab's
    /// own stack, embedded or in containers). An integrator's service has its own clock:
    /// scenarios tagged `@needs:shared-clock` are skipped against it.
    pub shared_clock: bool,
    /// The lab's NemLog-in and what it registered of the service, when the service under test is
    /// an OIOSAML service provider (`certify --protocol oiosaml`); `None` for OIDC.
    pub saml: Option<SamlSide>,
    next_citizen: AtomicU64,
}

/// The SAML side of a run: the lab's NemLog-in IdP and the service provider's metadata as
/// NemLog-in registered it (the certificates its requests must be signed with).
#[derive(Debug, Clone)]
pub struct SamlSide {
    /// NemLog-in's public listener (its entityID; `/saml/sso`, `/saml/slo`).
    pub nemlogin: Url,
    /// NemLog-in's control listener (scripts of wrong responses, logouts received).
    pub control: Url,
    pub sp_metadata: mitid_components::saml::metadata::EntityMetadata,
    /// The privilege the service demands of a professional login (`business_logins`).
    pub required_privilege: Option<String>,
}

impl Lab {
    #[must_use]
    pub fn new(sp: ServiceProvider, endpoints: LabEndpoints, run_tag: String) -> Lab {
        let http = super::browser::client_builder()
            .build()
            .expect("a plain-HTTP client always builds");
        Lab {
            sp,
            endpoints,
            http,
            run_tag,
            shared_clock: false,
            saml: None,
            next_citizen: AtomicU64::new(1),
        }
    }

    /// A number no other citizen of this run has.
    pub fn unique(&self) -> u64 {
        self.next_citizen.fetch_add(1, Ordering::Relaxed)
    }
}

impl fmt::Debug for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lab")
            .field("sp", &self.sp.label)
            .field("issuer", &self.endpoints.issuer.as_str())
            .finish_non_exhaustive()
    }
}

/// A citizen of this scenario, as the broker's registry knows them.
#[derive(Debug, Clone)]
pub struct Citizen {
    /// The name the feature uses ("Anna").
    pub alias: String,
    pub user_id: String,
    pub uuid: String,
    /// Devices the citizen holds (what the lab can approve logins with).
    pub devices: Vec<String>,
}

/// One login as the browser drove it.
#[derive(Debug, Clone, Default)]
pub struct LoginAttempt {
    /// The authorization request exactly as the service provider built it.
    pub authorize: Option<Url>,
    /// The callback the broker answered with (before any tampering).
    pub callback: Option<Url>,
    /// The service provider's answer to the callback (after same-origin redirects).
    pub landing: Option<Page>,
    /// Why the login could not be driven to the end (not a verdict: steps decide).
    pub error: Option<String>,
}

impl LoginAttempt {
    /// A parameter of the authorization request the service provider built.
    #[must_use]
    pub fn authorize_param(&self, name: &str) -> Option<String> {
        self.authorize.as_ref().and_then(|url| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        })
    }
}

/// What the next login's script will ask of the broker (filled by steps, sent by the login
/// driver once it knows the test user).
#[derive(Debug, Clone, Default)]
pub struct PendingScript {
    pub id_token: Vec<IdTokenFault>,
    pub userinfo: Vec<UserinfoFault>,
    pub token_endpoint: Option<EndpointFault>,
    pub behaviour: Option<Behaviour>,
    /// Register a script even without faults, for its log of what the service did.
    pub record: bool,
    /// The broker issues this login's NemID token although the NemID calendar has passed.
    pub ignore_nemid_cutoff: bool,
    /// In a business login, the company (CVR number) the citizen chooses.
    pub organisation: Option<String>,
}

impl PendingScript {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.id_token.is_empty()
            && self.userinfo.is_empty()
            && self.token_endpoint.is_none()
            && self.behaviour.is_none()
            && !self.record
            && !self.ignore_nemid_cutoff
            && self.organisation.is_none()
    }
}

/// The notes holding the last service-desk answer ([`LabWorld::remember_desk_answer`]).
pub const DESK_STATUS: &str = "service_desk_status";
pub const DESK_ANSWER: &str = "service_desk_answer";

/// One scenario's state.
#[derive(cucumber::World)]
#[world(init = Self::new)]
pub struct LabWorld {
    /// Set by the runner's `before` hook; every step reaches the lab through [`LabWorld::lab`].
    pub lab: Option<Arc<Lab>>,
    pub browser: Browser,
    pub citizens: Vec<Citizen>,
    /// Who the next login is for.
    pub current: Option<usize>,
    /// What the broker is to do in the next login (sent as a script keyed to the citizen).
    pub pending: PendingScript,
    /// Ids of the scripts this scenario registered at the broker, oldest first.
    pub scripts: Vec<String>,
    /// The level of assurance the next login asks the service provider for.
    pub requested_loa: Option<String>,
    pub logins: Vec<LoginAttempt>,
    /// Answers of `/me` by browser (the main one is index 0) as (status, JSON).
    pub last_me: Option<(u16, Option<serde_json::Value>)>,
    /// Other browsers (an attacker's, a second device) and their evidence.
    pub other_browsers: Vec<Browser>,
    /// What the broker saw the service provider do (token, userinfo, JWKS calls) for this
    /// scenario's logins, fetched from the control API when a step needs it.
    pub broker_log: Vec<Exchange>,
    /// Free-form facts steps leave for later steps of the same scenario.
    pub notes: Vec<(String, String)>,
    /// When the scenario started (set by the runner), for the reports' durations.
    pub started: Option<std::time::Instant>,
    /// The citizens' real devices (phones with the MitID app, code displays) and what they know.
    pub devices: Devices,
    /// This scenario's turn in the run's schedule (set by the runner, given back when it ends).
    pub admission: Option<super::schedule::Admission>,
    /// The scenario's companies: alias → CVR number, in order of first mention (the n-th alias
    /// is the n-th company of the lab's CVR register).
    pub companies: Vec<(String, String)>,
    /// What the next login at the service provider is (set by the login driver, reset after).
    pub login_kind: LoginKind,
    /// How NemLog-in is to get the next SAML login wrong (sent as a script keyed to the citizen).
    pub saml_fault: Option<mitid_components::nemlogin::assertion::ResponseFault>,
    /// The last SAML response form NemLog-in handed the browser (action, fields), for replays.
    pub saml_post: Option<(Url, Vec<(String, String)>)>,
    /// The privileges NemLog-in is to carry in the next professional SAML login.
    pub saml_privileges: Option<Vec<mitid_components::saml::privileges::PrivilegeGroup>>,
    /// NemLog-in's script of the last SAML login, when one was registered.
    pub saml_script: Option<String>,
}

/// Which login the service provider is asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LoginKind {
    /// `GET {login}`: the person, privately.
    #[default]
    Private,
    /// `GET {business_login}`: the person acting for a company (MitID Erhverv).
    Business,
}

impl LabWorld {
    /// The next login happens in a new browser; the current one is kept, newest last, in
    /// [`LabWorld::other_browsers`].
    pub fn new_browser(&mut self) {
        let old = std::mem::take(&mut self.browser);
        self.other_browsers.push(old);
    }

    /// The World cucumber starts each scenario with; the runner's `before` hook sets the lab.
    fn new() -> LabWorld {
        LabWorld::blank(None)
    }

    /// A World for one journey against `lab`, outside cucumber (the live driver calls the same
    /// actions the steps do). It has its own browser, citizens and broker scripts, like a scenario.
    #[must_use]
    pub fn for_lab(lab: Arc<Lab>) -> LabWorld {
        let mut world = LabWorld::blank(Some(lab));
        world.started = Some(std::time::Instant::now());
        world
    }

    fn blank(lab: Option<Arc<Lab>>) -> LabWorld {
        LabWorld {
            lab,
            browser: Browser::new(),
            citizens: Vec::new(),
            current: None,
            pending: PendingScript::default(),
            scripts: Vec::new(),
            requested_loa: None,
            logins: Vec::new(),
            last_me: None,
            other_browsers: Vec::new(),
            broker_log: Vec::new(),
            notes: Vec::new(),
            started: None,
            devices: Devices::default(),
            admission: None,
            companies: Vec::new(),
            login_kind: LoginKind::Private,
            saml_fault: None,
            saml_post: None,
            saml_privileges: None,
            saml_script: None,
        }
    }

    #[must_use]
    pub fn lab(&self) -> Arc<Lab> {
        Arc::clone(
            self.lab
                .as_ref()
                .expect("the runner's before hook (or LabWorld::for_lab) sets the lab"),
        )
    }

    #[must_use]
    pub fn citizen(&self) -> &Citizen {
        let index = self.current.expect("a step naming a citizen runs first");
        &self.citizens[index]
    }

    #[must_use]
    pub fn citizen_named(&self, alias: &str) -> &Citizen {
        self.citizens
            .iter()
            .find(|c| c.alias == alias)
            .unwrap_or_else(|| panic!("no citizen {alias:?} in this scenario"))
    }

    #[must_use]
    pub fn last_login(&self) -> &LoginAttempt {
        self.logins.last().expect("a login step runs first")
    }

    #[must_use]
    pub fn note(&self, key: &str) -> Option<&str> {
        self.notes
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Keeps what a service desk (Citizen Service, support) last answered, for the refusal checks.
    pub fn remember_desk_answer(&mut self, status: u16, answer: &serde_json::Value) {
        self.notes.push((DESK_STATUS.into(), status.to_string()));
        self.notes.push((DESK_ANSWER.into(), answer.to_string()));
    }

    /// Every exchange of the scenario (the lab's browsers and its own calls) in the order the
    /// requests began, so a reader follows the journey as it happened.
    #[must_use]
    pub fn evidence(&self) -> Vec<Exchange> {
        let mut all = self.browser.exchanges.clone();
        for other in &self.other_browsers {
            all.extend(other.exchanges.iter().cloned());
        }
        all.extend(self.broker_log.iter().cloned());
        all.sort_by_key(|exchange| exchange.seq);
        all
    }
}

impl fmt::Debug for LabWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LabWorld")
            .field(
                "citizens",
                &self
                    .citizens
                    .iter()
                    .map(|c| c.alias.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("logins", &self.logins.len())
            .field("exchanges", &self.browser.exchanges.len())
            .finish_non_exhaustive()
    }
}
