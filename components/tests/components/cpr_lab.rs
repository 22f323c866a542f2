//! Shared set-up for the services tests (CPR register, SMS gateway, Citizen Service, support line,
//! reference SP): every service on its own loopback listener, wired like the embedded runtime,
//! on one fixed clock (Wednesday 1 March 2023, 09:00 UTC), and small helpers.

// MitID, IdP and CPR are names in these docs, not code.
#![allow(clippy::doc_markdown)]

use std::collections::BTreeMap;

use mitid_components::citizen_service::{CitizenService, CitizenServiceConfig};
use mitid_components::cpr::{Challenge, CprConfig, CprRegister, Person};
use mitid_components::idp::admin::{CreateIdentityRequest, Ial, IdentityView, PersonRef};
use mitid_components::idp::{Idp, IdpConfig, RateLimit};
use mitid_components::reference_sp::{Flaw, ReferenceSp, SpConfig};
use mitid_components::service::LabClock;
use mitid_components::service::{self, RunningService};
use mitid_components::sms::{SmsConfig, SmsGateway};
use mitid_components::support::{SupportConfig, SupportLine};
use serde_json::{Value, json};

pub const SEED: u64 = 11;
/// 2023-03-01T09:00:00Z, a Wednesday.
pub const START: i64 = 1_677_661_200;

pub async fn spawn(router: axum::Router) -> RunningService {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    service::spawn(listener, router).expect("spawn service")
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A browser: cookie jar, no automatic redirects (the test follows them and can look).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("browser")
}

pub struct ServicesLab {
    pub clock: LabClock,
    pub cpr: String,
    pub sms: String,
    pub issuer: String,
    pub control: String,
    pub citizen: String,
    pub support: String,
    pub http: reqwest::Client,
    services: Vec<RunningService>,
}

impl ServicesLab {
    pub async fn start() -> ServicesLab {
        let clock = LabClock::fixed(START);
        let cpr = spawn(CprRegister::new(CprConfig {
            seed: SEED,
            population: 300,
            clock: clock.clone(),
            ..CprConfig::default()
        }))
        .await;
        let sms = spawn(SmsGateway::new(SmsConfig {
            clock: clock.clone(),
        }))
        .await;
        let public = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let issuer = format!("http://{}", public.local_addr().expect("addr"));
        let mut config = IdpConfig::new(issuer.clone());
        config.cpr_url = Some(cpr.url());
        config.clock = clock.clone();
        config.rate_limit = RateLimit {
            max_attempts: 1000,
            window_seconds: 60,
        };
        let idp = Idp::new(config).expect("IdP starts");
        let (public_router, control_router) = idp.routers();
        let idp_public = service::spawn(public, public_router).expect("spawn idp");
        let idp_control = spawn(control_router).await;
        let mut citizen_config = CitizenServiceConfig::new(cpr.url(), idp_control.url());
        citizen_config.clock = clock.clone();
        citizen_config.seed = SEED;
        let citizen = spawn(CitizenService::new(citizen_config)).await;
        let mut support_config = SupportConfig::new(cpr.url(), idp_control.url(), sms.url());
        support_config.clock = clock.clone();
        let support = spawn(SupportLine::new(support_config)).await;
        ServicesLab {
            clock,
            cpr: cpr.url(),
            sms: sms.url(),
            issuer,
            control: idp_control.url(),
            citizen: citizen.url(),
            support: support.url(),
            http: http(),
            services: vec![cpr, sms, idp_public, idp_control, citizen, support],
        }
    }

    pub async fn get(&self, url: &str) -> (u16, Value) {
        let r = self
            .http
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn send(&self, method: reqwest::Method, url: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .request(method.clone(), url)
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post(&self, url: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, url, body).await
    }

    /// Adults from the register (18–80) with a passport and a phone.
    pub async fn adults(&self, n: usize) -> Vec<Person> {
        let (status, page) = self
            .get(&format!(
                "{}/persons?min_age=18&max_age=80&has_passport=true&has_phone=true&limit={n}",
                self.cpr
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        let persons: Vec<Person> =
            serde_json::from_value(page["persons"].clone()).expect("persons");
        assert_eq!(persons.len(), n, "register has too few adults: {page}");
        persons
    }

    /// Creates a MitID identity through the IdP admin API.
    pub async fn identity(
        &self,
        person: PersonRef,
        name: &str,
        user_id: &str,
        ial: Ial,
    ) -> IdentityView {
        let req = CreateIdentityRequest {
            person,
            name: name.into(),
            date_of_birth: "1980-05-05".into(),
            ial,
            user_id: Some(user_id.into()),
            nemid_pid: None,
        };
        let (status, body) = self
            .post(
                &format!("{}/admin/identities", self.control),
                &serde_json::to_value(&req).expect("json"),
            )
            .await;
        assert_eq!(status, 201, "create identity {req:?}: {body}");
        serde_json::from_value(body).expect("identity view")
    }

    /// An identity for a register person (born as registered).
    pub async fn identity_for(&self, person: &Person, user_id: &str, ial: Ial) -> IdentityView {
        let req = CreateIdentityRequest {
            person: PersonRef::Cpr(person.cpr.compact()),
            name: person.full_name(),
            date_of_birth: person.birth_date.to_string(),
            ial,
            user_id: Some(user_id.into()),
            nemid_pid: None,
        };
        let (status, body) = self
            .post(
                &format!("{}/admin/identities", self.control),
                &serde_json::to_value(&req).expect("json"),
            )
            .await;
        assert_eq!(status, 201, "create identity {req:?}: {body}");
        serde_json::from_value(body).expect("identity view")
    }

    /// Starts a reference SP with `flaws`, registered as a client at the IdP.
    pub async fn sp(&self, flaws: &[Flaw]) -> RunningService {
        // The port alone is not unique: a test that starts and stops several SPs against one
        // IdP can be handed a port again, and the IdP refuses a client id it already has.
        static NEXT_SP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let n = NEXT_SP.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let client_id = format!("sp-{n}-{}", listener.local_addr().expect("addr").port());
        let secret = "reference-sp-secret-0123456789";
        let mut config = SpConfig::new(&base, &self.issuer, &client_id, secret);
        config.flaws = flaws.iter().copied().collect();
        config.clock = self.clock.clone();
        let (status, body) = self
            .post(
                &format!("{}/control/clients", self.control),
                &json!({
                    "client_id": client_id,
                    "client_secret": secret,
                    "redirect_uris": [config.redirect_uri()],
                    "token_endpoint_auth_method": "client_secret_basic",
                    "backchannel_logout_uri": config.backchannel_logout_uri(),
                    "post_logout_redirect_uris": [config.post_logout_redirect_uri()],
                }),
            )
            .await;
        assert_eq!(status, 201, "register SP client: {body}");
        service::spawn(listener, ReferenceSp::new(config)).expect("spawn SP")
    }

    pub async fn shutdown(self) {
        for s in self.services {
            s.shutdown().await;
        }
    }
}

/// The right option for each question, worked out from the person's register data the way the
/// person would know it.
pub fn right_answers(person: &Person, challenge: &Challenge) -> BTreeMap<String, String> {
    challenge
        .questions
        .iter()
        .map(|q| {
            let answer = person
                .answer_to(&q.text)
                .unwrap_or_else(|| panic!("unknown question {q:?}"));
            assert!(
                q.options.contains(&answer),
                "right answer {answer:?} not offered in {q:?}"
            );
            (q.id.clone(), answer)
        })
        .collect()
}

/// A wrong option for every question.
pub fn wrong_answers(person: &Person, challenge: &Challenge) -> BTreeMap<String, String> {
    let right = right_answers(person, challenge);
    challenge
        .questions
        .iter()
        .map(|q| {
            let wrong = q
                .options
                .iter()
                .find(|o| **o != right[&q.id])
                .expect("a decoy")
                .clone();
            (q.id.clone(), wrong)
        })
        .collect()
}
