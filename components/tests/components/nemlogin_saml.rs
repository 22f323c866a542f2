//! The NemLog-in IdP and the reference SAML SP end to end over HTTP: a MitID login at the
//! broker turned into an OIOSAML 3 response; every scripted fault refused by the correct SP and
//! let through by the flaw that skips its check; malformed requests answered, never a panic.

// MitID, NemLog-in, IdP, SP and OIOSAML are names in these docs, not code.
#![allow(clippy::doc_markdown)]

use std::collections::BTreeSet;

use mitid_components::idp::admin::{CreateIdentityRequest, Ial, PersonRef};
use mitid_components::idp::{ClientAuthMethod, ClientConfig, Idp, IdpConfig, RateLimit};
use mitid_components::nemlogin::assertion::ResponseFault;
use mitid_components::nemlogin::{BrokerClient, Nemlogin, NemloginConfig};
use mitid_components::reference_saml_sp::{ReferenceSamlSp, SamlFlaw, SamlMe, SamlSpConfig};
use mitid_components::saml::{binding, metadata};
use mitid_components::service::{self, LabClock, RunningService};
use serde_json::{Value, json};

use crate::cpr_lab::browser;

const SECRET: &str = "nemlogin-test-secret-0123456789";
const WITH_CPR: &str = "saml.citizen";
const WITHOUT_CPR: &str = "saml.pcode";

struct SamlLab {
    nemlogin: String,
    nemlogin_control: String,
    idp_metadata: String,
    clock: LabClock,
    http: reqwest::Client,
    services: Vec<RunningService>,
}

async fn listener() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    (l, url)
}

impl SamlLab {
    async fn start() -> SamlLab {
        let clock = LabClock::system();
        let (broker_public, broker_url) = listener().await;
        let (broker_control, _) = listener().await;
        let (nl_public, nl_url) = listener().await;
        let (nl_control, nl_control_url) = listener().await;
        let mut config = IdpConfig::new(&broker_url);
        config.clock = clock.clone();
        // Each test logs the same two people in dozens of times within a minute.
        config.rate_limit = RateLimit {
            max_attempts: 1000,
            window_seconds: 60,
        };
        config.clients = vec![ClientConfig {
            client_id: "nemlogin".into(),
            client_secret: Some(SECRET.into()),
            redirect_uris: vec![BrokerClient::redirect_uri(&nl_url)],
            token_endpoint_auth_method: ClientAuthMethod::ClientSecretBasic,
            jwks: None,
            backchannel_logout_uri: None,
            post_logout_redirect_uris: Vec::new(),
            id_token_signed_response_alg: mitid_components::idp::jose::Alg::ES256,
        }];
        config.identities = vec![
            CreateIdentityRequest {
                person: PersonRef::Cpr("0103851234".into()),
                name: "Karen Sørensen".into(),
                date_of_birth: "1985-03-01".into(),
                ial: Ial::Substantial,
                user_id: Some(WITH_CPR.into()),
                nemid_pid: None,
            },
            CreateIdentityRequest {
                person: PersonRef::PCode("48151623".into()),
                name: "Ana Pereira".into(),
                date_of_birth: "1990-07-12".into(),
                ial: Ial::Substantial,
                user_id: Some(WITHOUT_CPR.into()),
                nemid_pid: None,
            },
        ];
        let (public, control) = Idp::new(config).expect("broker").routers();
        let mut services = vec![
            service::spawn(broker_public, public).expect("serve"),
            service::spawn(broker_control, control).expect("serve"),
        ];
        let mut nl_config = NemloginConfig::new(
            &nl_url,
            BrokerClient {
                issuer: broker_url,
                client_id: "nemlogin".into(),
                client_secret: SECRET.into(),
            },
        );
        nl_config.clock = clock.clone();
        let (public, control) = Nemlogin::new(nl_config).expect("nemlogin").routers();
        services.push(service::spawn(nl_public, public).expect("serve"));
        services.push(service::spawn(nl_control, control).expect("serve"));
        let http = browser();
        let idp_metadata = http
            .get(format!("{nl_url}/saml/metadata"))
            .send()
            .await
            .expect("metadata")
            .text()
            .await
            .expect("text");
        SamlLab {
            nemlogin: nl_url,
            nemlogin_control: nl_control_url,
            idp_metadata,
            clock,
            http,
            services,
        }
    }

    /// A reference SAML SP with `flaws`, registered at NemLog-in by its metadata.
    async fn sp(&mut self, flaws: &[SamlFlaw]) -> String {
        let (l, url) = listener().await;
        let idp = metadata::parse(&self.idp_metadata).expect("IdP metadata");
        let mut config = SamlSpConfig::with_test_keys(&url, idp).expect("keys");
        config.flaws = flaws.iter().copied().collect::<BTreeSet<_>>();
        config.clock = self.clock.clone();
        let registered = self
            .http
            .post(format!(
                "{}/control/service-providers",
                self.nemlogin_control
            ))
            .body(config.metadata())
            .send()
            .await
            .expect("register");
        assert_eq!(
            registered.status(),
            201,
            "{}",
            registered.text().await.unwrap_or_default()
        );
        let sp = ReferenceSamlSp::new(config).expect("sp");
        self.services
            .push(service::spawn(l, sp.router()).expect("serve"));
        url
    }

    async fn script(&self, user: &str, fault: ResponseFault) -> String {
        let r = self
            .http
            .post(format!("{}/control/scripts", self.nemlogin_control))
            .json(&json!({"match": {"test_user": user}, "fault": fault}))
            .send()
            .await
            .expect("script");
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.expect("json");
        body["script_id"].as_str().expect("id").to_owned()
    }

    async fn shutdown(self) {
        for s in self.services {
            s.shutdown().await;
        }
    }
}

fn join(base: &str, location: &str) -> String {
    reqwest::Url::parse(base)
        .and_then(|u| u.join(location))
        .expect("location")
        .to_string()
}

/// What one login ended with: the ACS's status, the posted form (for replays) and `/me`.
struct Login {
    acs_status: u16,
    acs_body: String,
    form: Option<(String, Vec<(String, String)>)>,
    me: Option<SamlMe>,
}

/// Drives a headless login of `user` at the SP: the SP's redirect, the lab's test hint, the
/// broker, the posted response.
async fn login(b: &reqwest::Client, sp: &str, user: &str, loa: &str) -> Login {
    let r = b
        .get(format!("{sp}/login?loa={loa}"))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 302);
    let sso = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let mut url = format!("{sso}&login_hint=test:{user}:approve");
    let page = loop {
        let r = b.get(&url).send().await.expect("follow");
        match r.headers().get("location").and_then(|l| l.to_str().ok()) {
            Some(next) => url = join(&url, next),
            None => break r.text().await.expect("page"),
        }
    };
    let form = binding::read_form(&page);
    let Some((action, fields)) = form.clone() else {
        panic!("NemLog-in answered no form: {page}");
    };
    let (acs_status, acs_body) = post_form(b, &action, &fields).await;
    Login {
        acs_status,
        acs_body,
        form,
        me: me(b, sp).await,
    }
}

async fn post_form(
    b: &reqwest::Client,
    action: &str,
    fields: &[(String, String)],
) -> (u16, String) {
    let r = b.post(action).form(fields).send().await.expect("post");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

async fn me(b: &reqwest::Client, sp: &str) -> Option<SamlMe> {
    let r = b.get(format!("{sp}/me")).send().await.expect("me");
    if r.status() == 200 {
        Some(r.json().await.expect("me json"))
    } else {
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mitid_login_through_nemlogin_gives_the_sp_the_person_with_oiosaml_attributes() {
    let mut lab = SamlLab::start().await;
    let sp = lab.sp(&[]).await;
    let first = login(&browser(), &sp, WITH_CPR, "substantial").await;
    assert_eq!(first.acs_status, 303, "{}", first.acs_body);
    let me = first.me.expect("a session");
    assert!(
        me.sub
            .starts_with("https://data.gov.dk/model/core/eid/person/uuid/"),
        "{me:?}"
    );
    assert_eq!(me.cpr.as_deref(), Some("0103851234"));
    assert_eq!(me.loa.as_deref(), Some("substantial"));
    assert_eq!(me.name.as_deref(), Some("Karen Sørensen"));
    // The persistent NameID keys the account: the same person, the same account.
    let again = login(&browser(), &sp, WITH_CPR, "substantial").await;
    assert_eq!(again.me.expect("session").account, me.account);
    // A person without a CPR number logs in too (the service does not need one).
    let pcode = login(&browser(), &sp, WITHOUT_CPR, "substantial").await;
    let other = pcode.me.expect("a session without CPR");
    assert_eq!(other.cpr, None);
    assert_ne!(other.account, me.account);
    // A login that cannot reach the level asked for ends with a failure status, no session.
    let high = login(&browser(), &sp, WITH_CPR, "high").await;
    assert_eq!(high.acs_status, 403, "{}", high.acs_body);
    assert!(high.acs_body.contains("status"), "{}", high.acs_body);
    assert!(high.me.is_none());
    lab.shutdown().await;
}

/// The faults each flaw lets through (the flaw's requirement proves it with these).
fn faults_of(flaw: SamlFlaw) -> Vec<ResponseFault> {
    use ResponseFault as F;
    match flaw {
        SamlFlaw::AcceptUnsignedAssertion => vec![F::Unsigned],
        SamlFlaw::AcceptWrappedAssertion => vec![
            F::WrappingSignatureMoved,
            F::WrappingOriginalInAdvice,
            F::WrappingDuplicateId,
        ],
        SamlFlaw::TrustKeyinfoCertificate => vec![F::ForeignKey],
        SamlFlaw::AcceptUnencryptedAssertion => vec![F::Unencrypted],
        SamlFlaw::SkipAudienceCheck => vec![F::WrongAudience],
        SamlFlaw::SkipValidityWindowCheck => vec![F::Expired, F::NotYetValid],
        SamlFlaw::SkipInResponseToCheck => vec![F::ForeignInResponseTo],
        SamlFlaw::AcceptUnsolicitedResponse => vec![F::Unsolicited],
        SamlFlaw::SkipDestinationCheck => vec![F::WrongDestination],
        SamlFlaw::SkipRecipientCheck => vec![F::WrongRecipient],
        SamlFlaw::SkipSpecVersionCheck => vec![F::MissingSpecVersion, F::WrongSpecVersion],
        SamlFlaw::AcceptLowerLoa => vec![F::LowerLoa],
        SamlFlaw::RequireCpr
        | SamlFlaw::AcceptReplayedResponse
        | SamlFlaw::LogoutKeepsLocalSession
        | SamlFlaw::AcceptAnyIdentityType
        | SamlFlaw::BusinessAccountsKeyedOnCvr
        | SamlFlaw::BusinessAccountsKeyedOnName
        | SamlFlaw::SkipPrivilegeCheck
        | SamlFlaw::IgnorePrivilegeScope
        | SamlFlaw::AcceptNemidAfterCutoff => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scripted_fault_is_refused_by_the_correct_sp_and_each_flaw_lets_its_own_through() {
    let mut lab = SamlLab::start().await;
    let correct = lab.sp(&[]).await;
    for fault in ResponseFault::ALL {
        // A person without CPR is accepted; the identity-type swaps need a person acting for a
        // company and a business login (features/conformance/saml/business.feature).
        if matches!(
            fault,
            ResponseFault::OmitCpr
                | ResponseFault::ProfessionalForPerson
                | ResponseFault::PersonForProfessional
        ) {
            continue;
        }
        let id = lab.script(WITH_CPR, fault).await;
        let l = login(&browser(), &correct, WITH_CPR, "substantial").await;
        assert!(
            l.me.is_none(),
            "the correct SP accepted {fault:?}: {}",
            l.acs_body
        );
        assert_eq!(l.acs_status, 403, "{fault:?}: {}", l.acs_body);
        let log: Value = lab
            .http
            .get(format!("{}/control/scripts/{id}", lab.nemlogin_control))
            .send()
            .await
            .expect("log")
            .json()
            .await
            .expect("json");
        assert_eq!(log["matched"], true, "{log}");
        assert_eq!(log["status"], "success", "{fault:?}: {log}");
    }
    for flaw in SamlFlaw::all() {
        let faults = faults_of(flaw);
        if faults.is_empty() {
            continue;
        }
        let sp = lab.sp(&[flaw]).await;
        let mut let_through = Vec::new();
        let mut refusals = Vec::new();
        for fault in faults {
            lab.script(WITH_CPR, fault).await;
            let l = login(&browser(), &sp, WITH_CPR, "substantial").await;
            if l.me.is_some() {
                let_through.push(fault);
            } else {
                refusals.push(format!("{fault:?}: {}", l.acs_body));
            }
        }
        assert!(
            !let_through.is_empty(),
            "{flaw} let none of its faults through: {refusals:?}"
        );
        if flaw == SamlFlaw::AcceptWrappedAssertion {
            // The forged person is the one the flawed SP believes.
            lab.script(WITH_CPR, let_through[0]).await;
            let l = login(&browser(), &sp, WITH_CPR, "substantial").await;
            assert_eq!(l.me.expect("session").cpr.as_deref(), Some("0101709999"));
        }
    }
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_cpr_and_logout_flaws_are_told_apart_from_the_correct_sp() {
    let mut lab = SamlLab::start().await;
    let correct = lab.sp(&[]).await;
    let replaying = lab.sp(&[SamlFlaw::AcceptReplayedResponse]).await;
    let cpr_only = lab.sp(&[SamlFlaw::RequireCpr]).await;
    let sticky = lab.sp(&[SamlFlaw::LogoutKeepsLocalSession]).await;
    // Replay: the same posted response, in another browser.
    for (sp, accepted) in [(&correct, false), (&replaying, true)] {
        let l = login(&browser(), sp, WITH_CPR, "substantial").await;
        assert!(l.me.is_some());
        let (action, fields) = l.form.expect("form");
        let thief = browser();
        let (status, body) = post_form(&thief, &action, &fields).await;
        assert_eq!(
            me(&thief, sp).await.is_some(),
            accepted,
            "{sp}: {status} {body}"
        );
    }
    // A person without CPR: refused only by the SP that insists on one.
    assert!(
        login(&browser(), &correct, WITHOUT_CPR, "substantial")
            .await
            .me
            .is_some()
    );
    assert!(
        login(&browser(), &cpr_only, WITHOUT_CPR, "substantial")
            .await
            .me
            .is_none()
    );
    // Logout: the IdP gets a signed LogoutRequest; only the correct SP forgets the session.
    for (sp, kept) in [(&correct, false), (&sticky, true)] {
        let b = browser();
        assert!(login(&b, sp, WITH_CPR, "substantial").await.me.is_some());
        let r = b.get(format!("{sp}/logout")).send().await.expect("logout");
        assert_eq!(r.status(), 302);
        let slo = r.headers()["location"].to_str().expect("slo").to_owned();
        assert!(
            slo.starts_with(&format!("{}/saml/slo?", lab.nemlogin)),
            "{slo}"
        );
        let r = b.get(&slo).send().await.expect("slo");
        assert_eq!(r.status(), 302, "{}", r.text().await.unwrap_or_default());
        let back = r.headers()["location"].to_str().expect("back").to_owned();
        let r = b.get(&back).send().await.expect("sp slo");
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
        assert_eq!(me(&b, sp).await.is_some(), kept, "{sp}");
    }
    let logouts: Value = lab
        .http
        .get(format!("{}/control/logouts", lab.nemlogin_control))
        .send()
        .await
        .expect("logouts")
        .json()
        .await
        .expect("json");
    assert_eq!(logouts.as_array().map(Vec::len), Some(2), "{logouts}");
    assert!(
        logouts[0]["signature_valid"].as_bool().unwrap_or(false),
        "{logouts}"
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_or_unsigned_requests_get_an_error_page_never_a_response() {
    let mut lab = SamlLab::start().await;
    let sp = lab.sp(&[]).await;
    let b = browser();
    let r = b.get(format!("{sp}/login")).send().await.expect("login");
    let sso = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let query = sso.split_once('?').expect("query").1.to_owned();
    let unsigned: String = query
        .split('&')
        .filter(|p| !p.starts_with("Signature="))
        .collect::<Vec<_>>()
        .join("&");
    let tampered = query.replacen("SAMLRequest=", "SAMLRequest=A", 1);
    let cases = [
        (String::new(), "`SAMLRequest` is missing"),
        ("SAMLRequest=%%%".to_owned(), "base64"),
        ("SAMLRequest=bm90IGRlZmxhdGVk".to_owned(), "inflate"),
        (unsigned, "not signed"),
        (tampered, ""),
        (format!("{query}&login_hint=test:{WITH_CPR}"), "PASS"),
    ];
    for (q, needle) in cases {
        let r = b
            .get(format!("{}/saml/sso?{q}", lab.nemlogin))
            .send()
            .await
            .expect("sso");
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        if needle == "PASS" {
            assert_eq!(status, 302, "{body}");
        } else {
            assert_eq!(status, 400, "{q}: {body}");
            assert!(body.contains(needle), "{q}: {body}");
        }
    }
    // An unknown service provider (metadata never registered) is refused by name.
    let r = b
        .get(format!("{}/saml/callback?state=nothing", lab.nemlogin))
        .send()
        .await
        .expect("callback");
    assert_eq!(r.status(), 400);
    let r = lab
        .http
        .post(format!(
            "{}/control/service-providers",
            lab.nemlogin_control
        ))
        .body("<not-metadata/>")
        .send()
        .await
        .expect("register");
    assert_eq!(r.status(), 400);
    lab.shutdown().await;
}
