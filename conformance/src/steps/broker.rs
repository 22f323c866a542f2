//! The broker (the lab's MitID IdP): its control API, and the steps that script it.
//!
//! Every misbehaviour is a script keyed to one test user (`match: {test_user}`); each scenario's
//! citizens have user IDs no other scenario uses, so a script can only ever hit the login of the
//! scenario that registered it. Key rotation is global by nature and only used by `@serial`
//! scenarios.

use cucumber::{given, then, when};
use mitid_components::idp::EndpointFault;
use mitid_components::idp::jose::{self, Alg, SigningKey};
use mitid_components::idp::script::{
    Behaviour, IdTokenFault, ScriptMatch, ScriptRequest, UserinfoFault,
};
use serde_json::{Value, json};

use crate::evidence::{Actor, Exchange, redact_body};
use crate::target::OptionalFeature;
use crate::world::{Lab, LabWorld};

/// Calls the broker's control listener (JSON in and out) and records the exchange as evidence.
pub async fn control(
    world: &mut LabWorld,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let lab = world.lab();
    let (status, answer, exchange) = control_call(&lab, method, path, body).await;
    world.broker_log.push(exchange);
    (status, answer)
}

/// [`control`] without a World (the runner's hooks).
pub async fn control_call(
    lab: &Lab,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value, Exchange) {
    let url = lab
        .endpoints
        .control
        .join(path)
        .expect("control paths are relative");
    let shown = body.map(|b| redact_body(&b.to_string()));
    let (status, text, mut exchange) = lab_json_call(lab, method, &url, body, shown).await;
    exchange.response_body = Some(redact_body(&text));
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, json, exchange)
}

/// A JSON call of the lab's own (not the browser's) to one of its services: the status, the
/// answer's text, and the exchange for the evidence without its response body (each caller
/// redacts bodies its own way; `shown_body` is the request body as the evidence shows it).
pub async fn lab_json_call(
    lab: &Lab,
    method: reqwest::Method,
    url: &url::Url,
    body: Option<&Value>,
    shown_body: Option<String>,
) -> (u16, String, Exchange) {
    let mut request = lab.http.request(method.clone(), url.clone());
    if let Some(body) = body {
        request = request.json(body);
    }
    let mut exchange = Exchange::request(Actor::Lab, &method, url.to_string(), shown_body);
    let response = match request.send().await {
        Ok(response) => response,
        Err(err) => panic!("the lab's service at {url} did not answer: {err}"),
    };
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    exchange.status = Some(status);
    (status, text, exchange)
}

/// The service provider's token, userinfo and JWKS calls in the logins of `scripts`, as the
/// broker recorded and answered them, redacted for the evidence (the ID token shown decoded).
pub async fn broker_calls(lab: &Lab, scripts: &[String]) -> Vec<Exchange> {
    let mut exchanges = Vec::new();
    for id in scripts {
        let Ok(url) = lab
            .endpoints
            .control
            .join(&format!("control/scripts/{id}/calls"))
        else {
            continue;
        };
        let Ok(response) = lab.http.get(url).send().await else {
            continue;
        };
        let calls: Vec<mitid_components::idp::calls::BrokerCall> =
            response.json().await.unwrap_or_default();
        for call in calls {
            let method =
                reqwest::Method::from_bytes(call.method.as_bytes()).unwrap_or(reqwest::Method::GET);
            let url = lab
                .endpoints
                .issuer
                .join(call.path.trim_start_matches('/'))
                .map_or_else(
                    |_| call.path.clone(),
                    |u| crate::evidence::redact_url(u.as_str()),
                );
            let mut exchange = Exchange::request(
                Actor::ServiceProvider,
                &method,
                url,
                call.request_body.as_deref().map(redact_body),
            );
            exchange.request_headers = call
                .request_headers
                .iter()
                .map(|(n, v)| (n.clone(), crate::evidence::redact_header(n, v)))
                .collect();
            exchange.status = call.status;
            exchange.response_headers = call
                .response_headers
                .iter()
                .map(|(n, v)| (n.clone(), crate::evidence::redact_header(n, v)))
                .collect();
            exchange.response_body = call.response_body.as_deref().map(|body| {
                if call.path.starts_with("/token") {
                    crate::evidence::show_token_response(body)
                } else {
                    redact_body(body)
                }
            });
            exchanges.push(exchange);
        }
    }
    exchanges
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
    }
}

/// Registers `pending` for the next headless login of `user_id`; answers the script id.
pub async fn register_script(
    world: &mut LabWorld,
    user_id: &str,
    pending: PendingScript,
) -> String {
    let request = ScriptRequest {
        matcher: ScriptMatch {
            test_user: Some(user_id.to_owned()),
            ..ScriptMatch::default()
        },
        user_id: None,
        behaviour: pending.behaviour,
        id_token: pending.id_token,
        userinfo: pending.userinfo,
        token_endpoint: pending.token_endpoint,
        userinfo_endpoint: None,
        ignore_nemid_cutoff: pending.ignore_nemid_cutoff,
    };
    let body = serde_json::to_value(&request).expect("script requests serialise");
    let (status, answer) =
        control(world, reqwest::Method::POST, "control/scripts", Some(&body)).await;
    assert_eq!(
        status, 201,
        "the broker refused the script {body}: {answer}"
    );
    let id = answer["script_id"]
        .as_str()
        .expect("script_id in the answer")
        .to_owned();
    world.scripts.push(id.clone());
    id
}

/// What the broker saw happen in the login of script `id` (token and userinfo calls, replays).
pub async fn script_log(world: &mut LabWorld, id: &str) -> Value {
    let (status, answer) = control(
        world,
        reqwest::Method::GET,
        &format!("control/scripts/{id}"),
        None,
    )
    .await;
    assert_eq!(
        status, 200,
        "the broker does not know script {id}: {answer}"
    );
    answer["log"].clone()
}

fn arm_id_token(world: &mut LabWorld, fault: IdTokenFault) {
    world.pending.id_token.push(fault);
}

#[given("for this login the broker signs the ID token with a foreign key")]
fn foreign_key(world: &mut LabWorld) {
    arm_id_token(world, IdTokenFault::ForeignKey);
}

#[given("for this login the broker sends an unsigned ID token")]
fn alg_none(world: &mut LabWorld) {
    arm_id_token(world, IdTokenFault::AlgNone);
}

#[given("for this login the broker signs the ID token with HS256 keyed with its public key")]
fn hs256(world: &mut LabWorld) {
    arm_id_token(world, IdTokenFault::Hs256PublicKey);
}

#[given("for this login the broker puts a wrong issuer in the ID token")]
fn wrong_iss(world: &mut LabWorld) {
    arm_id_token(world, IdTokenFault::WrongIss { iss: None });
}

#[given("for this login the broker puts a wrong audience in the ID token")]
fn wrong_aud(world: &mut LabWorld) {
    arm_id_token(world, IdTokenFault::WrongAud { aud: None });
}

#[given("for this login the broker adds an extra audience without azp to the ID token")]
fn extra_aud(world: &mut LabWorld) {
    arm_id_token(world, IdTokenFault::ExtraAudWithoutAzp);
}

#[given("for this login the broker sends an expired ID token")]
fn expired(world: &mut LabWorld) {
    arm_id_token(world, IdTokenFault::Expired { seconds: None });
}

#[given("for this login the broker dates the ID token a day in the future")]
fn future_iat(world: &mut LabWorld) {
    arm_id_token(
        world,
        IdTokenFault::FutureIat {
            seconds: Some(86_400),
        },
    );
}

#[given(expr = "for this login the broker dates the ID token {int} seconds in the future")]
fn skew(world: &mut LabWorld, seconds: i64) {
    arm_id_token(world, IdTokenFault::ClockSkew { seconds });
}

#[given("for this login the broker leaves sub out of the ID token")]
fn missing_sub(world: &mut LabWorld) {
    arm_id_token(world, IdTokenFault::MissingSub);
}

#[given("for this login the broker leaves the nonce out of the ID token")]
fn missing_nonce(world: &mut LabWorld) {
    arm_id_token(world, IdTokenFault::MissingNonce);
}

#[given("for this login the broker puts a different nonce in the ID token")]
fn wrong_nonce(world: &mut LabWorld) {
    arm_id_token(world, IdTokenFault::WrongNonce);
}

#[given("for this login the broker signs the ID token with an unpublished key id")]
fn unknown_kid(world: &mut LabWorld) {
    arm_id_token(world, IdTokenFault::UnknownKid);
}

#[given(
    regex = r"^for this login the broker downgrades the level of assurance to (?:low|substantial)$"
)]
fn lower_loa(world: &mut LabWorld) {
    // The broker lowers by one level below what was asked; the feature names the result.
    arm_id_token(world, IdTokenFault::LowerLoa);
}

#[given("for this login the broker signs the ID token with its RS256 key")]
fn rs256(world: &mut LabWorld) {
    world.notes.push(("alg".into(), "RS256".into()));
}

/// Another person's CPR number (a valid-looking one no citizen of the lab gets: serial 9999).
pub const FOREIGN_CPR: &str = "0101709999";

#[given("for this login the broker answers userinfo with another person's sub and CPR")]
fn userinfo_mismatch(world: &mut LabWorld) {
    world.pending.userinfo.push(UserinfoFault::SubMismatch);
    let mut claims = serde_json::Map::new();
    claims.insert("dk.cpr".into(), Value::String(FOREIGN_CPR.into()));
    world
        .pending
        .userinfo
        .push(UserinfoFault::SetClaims { claims });
}

#[given("the broker keeps a log of this login")]
fn record(world: &mut LabWorld) {
    world.pending.record = true;
}

#[then("the service provider did not redeem the code a second time")]
async fn no_second_redemption(world: &mut LabWorld) {
    let id = world.scripts.last().cloned().expect("a logged login ran");
    let log = script_log(world, &id).await;
    let replays = log["code_replays"].as_u64().unwrap_or(0);
    let requests = log["token_requests"].as_u64().unwrap_or(0);
    assert!(
        replays == 0 && requests <= 1,
        "the service provider sent the replayed code to the token endpoint again ({requests} token requests, {replays} replays in the broker's log {log}): it kept the login transaction after use"
    );
}

#[given(expr = "for this login the broker's token endpoint fails with status {int}")]
fn token_fails(world: &mut LabWorld, status: u16) {
    world.pending.token_endpoint = Some(EndpointFault {
        delay_ms: 0,
        status: Some(status),
    });
}

#[given("for this login the broker's token endpoint does not answer in time")]
fn token_hangs(world: &mut LabWorld) {
    // Longer than any sane service provider waits; the browser gives up at REQUEST_TIMEOUT.
    world.pending.token_endpoint = Some(EndpointFault {
        delay_ms: 60_000,
        status: None,
    });
}

#[given("for this login the broker fails with server_error")]
fn broker_error(world: &mut LabWorld) {
    world.pending.behaviour = Some(Behaviour::ServerError);
}

#[when("the broker rotates its signing key")]
async fn rotate(world: &mut LabWorld) {
    let (status, answer) = control(
        world,
        reqwest::Method::POST,
        "control/keys/rotate",
        Some(&json!({"keep_previous": false})),
    )
    .await;
    assert_eq!(
        status, 200,
        "the broker could not rotate its keys: {answer}"
    );
}

#[when(expr = "the broker sends a back-channel logout for {string}")]
async fn backchannel(world: &mut LabWorld, alias: String) {
    let user_id = world.citizen_named(&alias).user_id.clone();
    let (status, answer) = control(
        world,
        reqwest::Method::POST,
        "control/backchannel-logout",
        Some(&json!({"user_id": user_id})),
    )
    .await;
    assert_eq!(
        status, 200,
        "the broker could not send the back-channel logout: {answer}"
    );
    let deliveries = answer.as_array().cloned().unwrap_or_default();
    assert!(
        !deliveries.is_empty(),
        "the broker had no session of {alias} to end (answer {answer})"
    );
    for delivery in &deliveries {
        let uri = delivery["uri"]
            .as_str()
            .unwrap_or("the back-channel logout URI");
        let request = format!("the broker's POST {uri} with a valid logout token");
        let answered = match (delivery["status"].as_u64(), delivery["error"].as_str()) {
            (Some(status), _) => Ok((u16::try_from(status).unwrap_or(u16::MAX), "")),
            (None, error) => Err(error.unwrap_or("no answer")),
        };
        crate::checks::declared_endpoint_exists(
            "back-channel logout endpoint",
            OptionalFeature::BackchannelLogout,
            &request,
            answered,
        );
    }
}

#[when(expr = "someone sends a back-channel logout for {string} signed by a foreign key")]
async fn forged_backchannel(world: &mut LabWorld, alias: String) {
    let lab = world.lab();
    let url = lab
        .sp
        .backchannel_logout_url
        .clone()
        .expect("@needs:backchannel guarantees the endpoint");
    let uuid = world.citizen_named(&alias).uuid.clone();
    let kid = published_kid(&lab).await;
    let token = forged_logout_token(&lab, &uuid, &kid);
    let mut attacker = crate::browser::Browser::new();
    let page = attacker.post_form(&url, &[("logout_token", &token)]).await;
    world.other_browsers.push(attacker);
    crate::checks::declared_endpoint_exists(
        "back-channel logout endpoint",
        OptionalFeature::BackchannelLogout,
        &format!("POST {url} with a forged logout token"),
        page.as_ref()
            .map(|p| (p.status, p.body.as_str()))
            .map_err(String::as_str),
    );
    if let Ok(page) = page {
        world
            .notes
            .push(("forged_logout_status".into(), page.status.to_string()));
    }
}

/// The `kid` of the first key the broker publishes, so a forged token names a real key and only
/// its signature is wrong.
async fn published_kid(lab: &Lab) -> String {
    let url = lab.endpoints.issuer.join("jwks").expect("relative path");
    let jwks: Value = lab
        .http
        .get(url)
        .send()
        .await
        .expect("the broker's JWKS answers")
        .json()
        .await
        .expect("the broker's JWKS is JSON");
    jwks["keys"][0]["kid"]
        .as_str()
        .unwrap_or("unknown")
        .to_owned()
}

/// A logout token that is right in every claim but signed by a key the broker never had.
fn forged_logout_token(lab: &Lab, uuid: &str, kid: &str) -> String {
    let seed = 0x5eed_f0e1 ^ lab.unique();
    let key = SigningKey::from_seed(Alg::ES256, seed).expect("ES256 keys derive from any seed");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let header = json!({"alg": "ES256", "kid": kid, "typ": "logout+jwt"});
    let claims = json!({
        "iss": lab.endpoints.issuer.as_str().trim_end_matches('/'),
        "aud": lab.sp.client_id,
        "iat": now,
        "exp": now + 120,
        "jti": format!("forged-{seed:x}"),
        "sub": uuid,
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    });
    jose::compact(&header, &claims, &jose::Signature::Key(&key))
        .expect("signing with a fresh key works")
}

#[then(expr = "the broker answered the login with error {string}")]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn answered_error(world: &mut LabWorld, error: String) {
    let login = world.last_login();
    let callback = login.callback.as_ref().unwrap_or_else(|| {
        panic!(
            "the broker did not answer the login with a redirect: {}",
            login
                .error
                .as_deref()
                .unwrap_or("the login stopped before the broker answered")
        )
    });
    let got = callback
        .query_pairs()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.into_owned());
    assert_eq!(
        got.as_deref(),
        Some(error.as_str()),
        "the broker's callback was {callback}"
    );
}

#[then("the service provider did not call userinfo for this login")]
async fn no_userinfo(world: &mut LabWorld) {
    let id = world.scripts.last().cloned().expect("a scripted login ran");
    let log = script_log(world, &id).await;
    let calls = log["userinfo_requests"].as_u64().unwrap_or(0);
    assert_eq!(
        calls, 0,
        "the service provider called userinfo {calls} time(s) with the access token of a login whose ID token it should have refused (broker log {log})"
    );
}

#[given("the broker lets the next NemID login through although the NemID calendar has passed")]
fn ignores_nemid_calendar(world: &mut LabWorld) {
    world.pending.ignore_nemid_cutoff = true;
}

#[then("the broker let the NemID login through with a code")]
async fn nemid_login_let_through(world: &mut LabWorld) {
    let login = world.last_login();
    let callback = login.callback.clone().unwrap_or_else(|| {
        panic!(
            "the broker did not answer the NemID login with a redirect: {}",
            login
                .error
                .as_deref()
                .unwrap_or("the login stopped before the broker answered")
        )
    });
    assert!(
        callback.query_pairs().any(|(k, _)| k == "code"),
        "the broker refused the NemID login itself, so the service provider was not tested: {callback}"
    );
    // The broker's own record: the login it answered was a NemID login of this scenario's script.
    let id = world.scripts.last().cloned().expect("a scripted login ran");
    let log = script_log(world, &id).await;
    assert_eq!(
        log["code_issued"], true,
        "the broker's log of the NemID login: {log}"
    );
}

// ---------------------------------------------------------------------------------------------
// NemID journeys: logins at clients of the broker by sector, straight at the broker

/// The journey's clients at the broker, by the name the feature uses.
const SECTOR_CLIENTS: [(&str, &str); 2] = [("bank", "bank"), ("public site", "public")];

fn client_note(name: &str) -> String {
    format!("broker client:{name}")
}

#[given("a bank and a public site are clients of the broker")]
async fn bank_and_public_site(world: &mut LabWorld) {
    for (name, sector) in SECTOR_CLIENTS {
        let body = json!({
            "redirect_uris": [format!("https://{sector}.example/callback")],
            "token_endpoint_auth_method": "client_secret_post",
            "sector": sector,
        });
        let (status, client) =
            control(world, reqwest::Method::POST, "control/clients", Some(&body)).await;
        assert_eq!(
            status, 201,
            "the broker refused to register the {name}: {client}"
        );
        world.notes.push((client_note(name), client.to_string()));
    }
}

/// How a login straight at the broker ended.
pub enum BrokerLogin {
    /// The ID token's claims.
    Claims(serde_json::Map<String, Value>),
    /// `error` and `error_description` of the callback.
    Refused(String, String),
}

/// A login of `alias` at the journey's client `client_name` (the lab is both the client and the
/// browser): `login_hint=test:<user>:<behaviour>`, then, with a code, the token endpoint.
pub async fn login_at_client(
    world: &mut LabWorld,
    alias: &str,
    client_name: &str,
    behaviour: Behaviour,
) -> BrokerLogin {
    let client: Value = world
        .note(&client_note(client_name))
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_else(|| panic!("no broker client named {client_name:?} in this scenario"));
    let user_id = world.citizen_named(alias).user_id.clone();
    let lab = world.lab();
    let client_id = client["client_id"].as_str().unwrap_or_default().to_owned();
    let redirect = client["redirect_uris"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let verifier = mitid_components::idp::registry::random_token(32);
    let behaviour_name = serde_json::to_value(behaviour)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut authorize = lab.endpoints.issuer.join("authorize").expect("relative");
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", "openid nemid.pid")
        .append_pair("state", &format!("journey-{}", lab.unique()))
        .append_pair("code_challenge", &jose::pkce_s256(&verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("login_hint", &format!("test:{user_id}:{behaviour_name}"));
    if behaviour.is_nemid() {
        authorize
            .query_pairs_mut()
            .append_pair("idp_values", "nemid");
    }
    let page = world
        .browser
        .get(&authorize)
        .await
        .unwrap_or_else(|e| panic!("the broker did not answer {authorize}: {e}"));
    let callback = page
        .location
        .clone()
        .filter(|_| page.is_redirect())
        .unwrap_or_else(|| {
            panic!(
                "the broker answered {} without a redirect: {}",
                page.status, page.body
            )
        });
    let param = |name: &str| {
        callback
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let Some(code) = param("code") else {
        return BrokerLogin::Refused(
            param("error").unwrap_or_default(),
            param("error_description").unwrap_or_default(),
        );
    };
    let token_url = lab.endpoints.issuer.join("token").expect("relative");
    let secret = client["client_secret"].as_str().unwrap_or_default();
    let answer = world
        .browser
        .post_form(
            &token_url,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect),
                ("code_verifier", &verifier),
                ("client_id", &client_id),
                ("client_secret", secret),
            ],
        )
        .await
        .unwrap_or_else(|e| panic!("the broker's token endpoint did not answer: {e}"));
    let tokens = answer.json().unwrap_or_else(|| {
        panic!(
            "the token endpoint answered {}: {}",
            answer.status, answer.body
        )
    });
    let id_token = tokens["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no id_token in {tokens}"));
    let claims = jose::Unverified::parse(id_token)
        .unwrap_or_else(|e| panic!("the broker's ID token is not a JWS: {e}"))
        .claims;
    BrokerLogin::Claims(claims)
}

#[then(
    regex = r#"^the broker refuses "([^"]+)"'s NemID login at the (bank|public site) with "([^"]+)"$"#
)]
async fn refuses_nemid_login(world: &mut LabWorld, alias: String, client: String, why: String) {
    match login_at_client(world, &alias, &client, Behaviour::NemidKeyCard).await {
        BrokerLogin::Claims(claims) => {
            panic!("the broker let {alias}'s NemID login at the {client} through: {claims:?}")
        }
        BrokerLogin::Refused(error, description) => {
            assert_eq!(error, "access_denied", "{description}");
            assert!(
                description.starts_with(&why),
                "the broker refused with {description:?}, not {why:?}"
            );
        }
    }
}
