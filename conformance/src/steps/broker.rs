//! The broker (the lab's MitID IdP): the steps that script its misbehaviour for one login, and
//! what it saw the service provider do. The calls are [`crate::actions::broker`]'s.

use cucumber::{given, then, when};
use mitid_components::idp::EndpointFault;
use mitid_components::idp::script::{Behaviour, IdTokenFault, UserinfoFault};
use serde_json::{Value, json};

use crate::actions::broker::{self, BrokerLogin, FOREIGN_CPR};
use crate::actions::cpr;
use crate::checks::{self, OrFail};
use crate::target::OptionalFeature;
use crate::world::LabWorld;

fn arm_id_token(world: &mut LabWorld, fault: IdTokenFault) {
    world.pending.id_token.push(fault);
}

#[given("for this login the broker signs the ID token with a foreign key")]
fn foreign_key(world: &mut LabWorld) {
    arm_id_token(world, IdTokenFault::ForeignKey);
}

#[given("for this login the broker puts its issuer with a trailing slash in the ID token")]
async fn issuer_with_slash(world: &mut LabWorld) {
    let issuer = broker::discovered_issuer(&world.lab()).await.or_fail();
    arm_id_token(
        world,
        IdTokenFault::WrongIss {
            iss: Some(format!("{issuer}/")),
        },
    );
}

/// The next login's ID token and userinfo carry `dk.cpr` = `cpr` (what the broker reports after
/// the CPR register changed or reissued a number).
fn report_cpr(world: &mut LabWorld, cpr: &str) {
    let mut claims = serde_json::Map::new();
    claims.insert("dk.cpr".into(), json!(cpr));
    claims.insert("mitid.has_cpr".into(), json!(true));
    world.pending.id_token.push(IdTokenFault::SetClaims {
        claims: claims.clone(),
    });
    world
        .pending
        .userinfo
        .push(UserinfoFault::SetClaims { claims });
}

#[given(expr = "for the next login the broker reports a new CPR number for {string}")]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn new_cpr(world: &mut LabWorld, alias: String) {
    let old = cpr::cpr_of(world, &alias).or_fail();
    // Same birth date, another serial: the way a corrected or changed number looks.
    let serial: u32 = old[6..].parse().unwrap_or(0);
    let new = format!("{}{:04}", &old[..6], (serial + 1) % 10_000);
    world.notes.push((cpr::cpr_note(&alias), new.clone()));
    report_cpr(world, &new);
}

#[given(
    expr = "for the next login the broker reports the CPR number of {string}, since given to someone else"
)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn reused_cpr(world: &mut LabWorld, alias: String) {
    let cpr = cpr::cpr_of(world, &alias).or_fail();
    report_cpr(world, &cpr);
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
    let log = broker::last_script_log(world).await.or_fail();
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
    broker::rotate_keys(world).await.or_fail();
}

#[when(expr = "the broker sends a back-channel logout for {string}")]
async fn backchannel(world: &mut LabWorld, alias: String) {
    let user_id = world.citizen_named(&alias).user_id.clone();
    let deliveries = broker::backchannel_logout(world, &user_id).await.or_fail();
    assert!(
        !deliveries.is_empty(),
        "the broker had no session of {alias} to end"
    );
    for delivery in &deliveries {
        let request = format!(
            "the broker's POST {} with a valid logout token",
            delivery.uri
        );
        let answered = match (delivery.status, delivery.error.as_deref()) {
            (Some(status), _) => Ok((status, "")),
            (None, error) => Err(error.unwrap_or("no answer")),
        };
        checks::declared_endpoint_exists(
            "back-channel logout endpoint",
            OptionalFeature::BackchannelLogout,
            &request,
            answered,
        );
        // Back-Channel Logout 1.0 §2.8: a logout token that verified is answered 200.
        if let Some(status) = delivery.status {
            assert_eq!(
                status, 200,
                "the service provider answered {request} with {status} (the rule: 200): {}",
                delivery.record
            );
        }
    }
}

#[when(expr = "someone sends a back-channel logout for {string} signed by a foreign key")]
async fn forged_backchannel(world: &mut LabWorld, alias: String) {
    let uuid = world.citizen_named(&alias).uuid.clone();
    let (request, answer) = broker::send_forged_logout_token(world, &uuid)
        .await
        .or_fail();
    checks::declared_endpoint_exists(
        "back-channel logout endpoint",
        OptionalFeature::BackchannelLogout,
        &request,
        answer
            .as_ref()
            .map(|(status, body)| (*status, body.as_str()))
            .map_err(String::as_str),
    );
    if let Ok((status, body)) = answer {
        world.notes.push((
            "forged_logout_answer".into(),
            format!("{status} {}", checks::excerpt(&body)),
        ));
        world
            .notes
            .push(("forged_logout_status".into(), status.to_string()));
    }
}

#[then("the service provider answered the forged logout token with 400")]
fn forged_logout_400(world: &mut LabWorld) {
    let answer = world
        .note("forged_logout_answer")
        .unwrap_or("no answer")
        .to_owned();
    assert!(
        answer.starts_with("400"),
        "the service provider answered a logout token signed by a foreign key with {answer}; a token that does not verify is answered 400 (Back-Channel Logout 1.0 §2.8)"
    );
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
    let log = broker::last_script_log(world).await.or_fail();
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
    let log = broker::last_script_log(world).await.or_fail();
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
        let client = broker::register_client(world, sector).await.or_fail();
        world.notes.push((client_note(name), client.to_string()));
    }
}

/// A login of `alias` at the scenario's broker client `client_name` (see
/// [`bank_and_public_site`]).
async fn login_at_client(
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
    broker::login_at_client(world, &user_id, &client, behaviour)
        .await
        .or_fail()
}

#[then(regex = r#"^"([^"]+)" can log in with (NemID|MitID) at the (bank|public site)$"#)]
async fn can_log_in_at(world: &mut LabWorld, alias: String, idp: String, client: String) {
    let behaviour = if idp == "NemID" {
        Behaviour::NemidKeyCard
    } else {
        Behaviour::Approve
    };
    match login_at_client(world, &alias, &client, behaviour).await {
        BrokerLogin::Claims(claims) => {
            assert_eq!(
                claims.get("idp").and_then(Value::as_str),
                Some(idp.to_lowercase().as_str()),
                "the ID token of {alias}'s login at the {client}: {}",
                Value::Object(claims.clone())
            );
            if idp == "NemID" {
                assert!(
                    claims.get("nemid.pid").is_some(),
                    "a NemID login carries the NemID PID: {}",
                    Value::Object(claims.clone())
                );
            }
        }
        BrokerLogin::Refused(error, description) => panic!(
            "the broker refused {alias}'s {idp} login at the {client}: {error}: {description}"
        ),
    }
}

#[then(
    regex = r#"^the broker refuses "([^"]+)"'s NemID login at the (bank|public site) with "([^"]+)"$"#
)]
async fn refuses_nemid_login(world: &mut LabWorld, alias: String, client: String, why: String) {
    match login_at_client(world, &alias, &client, Behaviour::NemidKeyCard).await {
        BrokerLogin::Claims(claims) => {
            panic!(
                "the broker let {alias}'s NemID login at the {client} through: {}",
                Value::Object(claims)
            )
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
