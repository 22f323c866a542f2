//! The service provider under test: the checks on what the service answered, and what other
//! browsers do with a login's callback. The login driver is
//! [`crate::actions::service_provider`]'s.

use cucumber::{then, when};
use url::Url;

use crate::actions::broker::{FOREIGN_CPR, broker_calls, end_session_endpoint};
use crate::actions::identity;
use crate::actions::service_provider::{self, MeAnswer, ask_me};
use crate::browser::Browser;
use crate::checks::{self, OrFail, excerpt, trail};
use crate::world::LabWorld;

#[then("the service provider ended its session before sending the browser to the broker")]
fn ended_locally(world: &mut LabWorld) {
    let me = world
        .note("me_after_local_logout")
        .unwrap_or("none")
        .to_owned();
    assert!(
        me.starts_with("401"),
        "right after GET /logout (before the browser reached the broker) /me answered {me}: the service provider's /logout did not end its own session\n{}",
        trail(&world.browser)
    );
}

#[then(expr = "the logout request to the broker carried an id_token_hint for {string}")]
async fn logout_hint(world: &mut LabWorld, alias: String) {
    let lab = world.lab();
    let end_session = end_session_endpoint(&lab).await.or_fail();
    let url = world
        .note("logout_redirect")
        .and_then(|u| Url::parse(u).ok())
        .filter(|u| u.as_str().starts_with(&end_session))
        .unwrap_or_else(|| {
            panic!(
                "GET /logout did not redirect the browser to the broker's {end_session}\n{}",
                trail(&world.browser)
            )
        });
    let hint = url
        .query_pairs()
        .find(|(k, _)| k == "id_token_hint")
        .map(|(_, v)| v.into_owned());
    let Some(hint) = hint else {
        panic!(
            "the logout request to the broker had no id_token_hint: {}\nRP-Initiated Logout 1.0 §2: send the ID token of the session as id_token_hint.",
            crate::evidence::redact_url(url.as_str())
        );
    };
    let claims = jwt_claims(&hint).unwrap_or_else(|| {
        panic!("the id_token_hint is not a JWT with a JSON payload (a compact JWS)")
    });
    let uuid = world.citizen_named(&alias).uuid.clone();
    let aud_ok = match &claims["aud"] {
        serde_json::Value::String(a) => *a == lab.sp.client_id,
        serde_json::Value::Array(a) => a.iter().any(|v| v.as_str() == Some(&lab.sp.client_id)),
        _ => false,
    };
    assert!(
        claims["sub"].as_str() == Some(uuid.as_str()) && aud_ok,
        "the id_token_hint is not an ID token issued to this client for {alias} (sub {uuid:?}, aud {:?}): its claims are sub {} and aud {}",
        lab.sp.client_id,
        claims["sub"],
        claims["aud"]
    );
}

/// The payload of a compact JWS, decoded (not verified: the lab only reads which ID token the
/// service provider sent; the broker verifies it).
fn jwt_claims(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = mitid_components::idp::jose::unb64(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn browser_history(browser: &Browser) -> Vec<String> {
    browser.exchanges.iter().map(|e| e.url.clone()).collect()
}

#[when("a fresh browser asks the service provider who is logged in")]
async fn fresh_browser(world: &mut LabWorld) {
    let lab = world.lab();
    let me = ask_me(&lab, &mut world.browser).await.or_fail();
    world.last_me = Some((me.status, me.json));
}

#[when("an attacker's browser replays the callback of that login")]
async fn replay(world: &mut LabWorld) {
    service_provider::replay_in_other_browser(world)
        .await
        .or_fail();
}

#[when("the same browser replays the callback of that login")]
async fn replay_same_browser(world: &mut LabWorld) {
    service_provider::replay_in_same_browser(world)
        .await
        .or_fail();
}

#[then("no session exists")]
async fn no_session(world: &mut LabWorld) {
    checks::world_has_no_session(world).await;
}

#[then(expr = "a session exists for {string}")]
async fn session_exists(world: &mut LabWorld, alias: String) {
    let lab = world.lab();
    if let Some(error) = world.logins.last().and_then(|l| l.error.clone()) {
        panic!(
            "the login of {alias} did not complete: {error}\n{}",
            trail(&world.browser)
        );
    }
    let uuid = world.citizen_named(&alias).uuid.clone();
    let me = checks::session_for(&lab, &mut world.browser, &alias, &uuid).await;
    world.last_me = Some((me.status, me.json));
}

#[then(expr = "a business session exists for {string} acting for the company {string}")]
async fn business_session_exists(world: &mut LabWorld, alias: String, company: String) {
    session_exists(world, alias.clone()).await;
    let cvr = identity::company_cvr(world, &company).or_fail();
    let me = world.last_me.as_ref().and_then(|(_, json)| json.clone());
    checks::business_me(&alias, &cvr, me.as_ref());
}

#[then("the attacker's browser has no session")]
async fn attacker_no_session(world: &mut LabWorld) {
    let lab = world.lab();
    let mut attacker = world
        .other_browsers
        .pop()
        .expect("an attacker's browser ran");
    checks::no_session(&lab, &mut attacker).await;
    world.other_browsers.push(attacker);
}

#[then(expr = "the session reports LoA {string}")]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn session_loa(world: &mut LabWorld, loa: String) {
    let (_, json) = world.last_me.clone().expect("a session check ran first");
    let json = json.unwrap_or_default();
    let reported = json.get("loa").and_then(|v| v.as_str()).unwrap_or("");
    let matches = reported.eq_ignore_ascii_case(&loa)
        || reported
            .to_ascii_lowercase()
            .ends_with(&format!("/{}", loa.to_ascii_lowercase()));
    assert!(
        matches,
        "/me should report loa {loa:?} (or its NSIS URI), it answered {json}"
    );
}

#[then("the session cookie is HttpOnly and has a SameSite attribute")]
fn cookie_attributes(world: &mut LabWorld) {
    let cookies: Vec<String> = world
        .browser
        .exchanges
        .iter()
        .flat_map(|e| {
            e.response_headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert!(
        !cookies.is_empty(),
        "the service provider set no cookie at all during the login"
    );
    let weak: Vec<&String> = cookies
        .iter()
        .filter(|c| {
            let lower = c.to_ascii_lowercase();
            !(lower.contains("httponly") && lower.contains("samesite"))
        })
        .collect();
    assert!(
        weak.is_empty(),
        "cookies without HttpOnly or SameSite: {weak:?}"
    );
}

#[then(expr = "each authorization request has a different {string} of at least {int} characters")]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn fresh_param(world: &mut LabWorld, name: String, min: usize) {
    let values: Vec<Option<String>> = world
        .logins
        .iter()
        .map(|l| l.authorize_param(&name))
        .collect();
    assert!(
        values.len() >= 2,
        "two logins were started, the lab saw {}",
        values.len()
    );
    for (i, value) in values.iter().enumerate() {
        let value = value.as_ref().unwrap_or_else(|| {
            panic!(
                "authorization request {} has no {name}: {}",
                i + 1,
                world.logins[i]
                    .authorize
                    .as_ref()
                    .map_or("(the login did not reach the broker)", Url::as_str)
            )
        });
        assert!(
            value.len() >= min,
            "{name} {value:?} is shorter than {min} characters: guessable"
        );
    }
    assert_ne!(values[0], values[1], "two logins used the same {name}");
}

#[then("the authorization request uses PKCE with S256")]
fn pkce(world: &mut LabWorld) {
    let login = world.logins.first().expect("a login ran");
    let challenge = login.authorize_param("code_challenge");
    let method = login.authorize_param("code_challenge_method");
    assert!(
        challenge.as_ref().is_some_and(|c| c.len() >= 43) && method.as_deref() == Some("S256"),
        "the authorization request must carry code_challenge (43+ characters) and code_challenge_method=S256; it had code_challenge={challenge:?}, code_challenge_method={method:?}"
    );
}

#[then("the authorization request's redirect_uri is the registered one")]
fn redirect_uri(world: &mut LabWorld) {
    let lab = world.lab();
    let sent = world.last_login().authorize_param("redirect_uri");
    assert_eq!(
        sent.as_deref(),
        Some(lab.sp.redirect_uri.as_str()),
        "the registered redirect URI is {}",
        lab.sp.redirect_uri
    );
}

#[then(expr = "the authorization request's scope includes {string}")]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn scope(world: &mut LabWorld, wanted: String) {
    let scope = world
        .last_login()
        .authorize_param("scope")
        .unwrap_or_default();
    assert!(
        scope.split(' ').any(|s| s == wanted),
        "scope {scope:?} lacks {wanted:?}"
    );
}

#[then(expr = "the step-up authorization request asks for a fresh login at LoA {word}")]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn step_up_request(world: &mut LabWorld, loa: String) {
    let login = world.last_login();
    let prompt = login.authorize_param("prompt").unwrap_or_default();
    let max_age = login.authorize_param("max_age").unwrap_or_default();
    let acr = login
        .authorize_param("acr_values")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let idp_params = login.authorize_param("idp_params");
    // idp_params is JSON: parsed, so any valid spelling (spaces after colons, as Python's
    // json.dumps writes) means the same.
    let loa_value = match idp_params
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
    {
        Some(Ok(json)) => json
            .get("loa_value")
            .and_then(serde_json::Value::as_str)
            .map(str::to_ascii_lowercase),
        Some(Err(err)) => panic!(
            "the step-up request's idp_params is not JSON ({err}): {:?}",
            idp_params.unwrap_or_default()
        ),
        None => None,
    };
    let wanted = loa.to_ascii_lowercase();
    let names_level = |value: &str| {
        value == wanted || value == format!("https://data.gov.dk/concept/core/nsis/{wanted}")
    };
    let fresh = prompt.split(' ').any(|p| p == "login")
        || max_age == "0"
        || acr.split(' ').any(names_level)
        || loa_value.as_deref().is_some_and(names_level);
    assert!(
        fresh,
        "the step-up request must force a fresh authentication at {loa}: prompt=login, max_age=0, acr_values naming {loa} (its NSIS URI or name), or idp_params whose JSON loa_value is {loa}; it sent prompt={prompt:?} max_age={max_age:?} acr_values={acr:?} idp_params={:?}",
        login.authorize_param("idp_params")
    );
}

#[then("the service provider's answer to the callback is not a server error")]
fn callback_not_5xx(world: &mut LabWorld) {
    let login = world.last_login();
    let page = login.landing.as_ref().unwrap_or_else(|| {
        panic!(
            "the callback got no answer: {}\n{}",
            login
                .error
                .as_deref()
                .unwrap_or("the login stopped before the callback"),
            trail(&world.browser)
        )
    });
    assert!(
        page.status < 500,
        "the service provider answered the callback with {}: {}",
        page.status,
        excerpt(&page.body)
    );
}

#[then("the service provider answered the callback")]
async fn callback_answered(world: &mut LabWorld) {
    if world.last_login().landing.is_some() {
        return;
    }
    let lab = world.lab();
    let served = broker_calls(&lab, &world.scripts).await;
    panic!(
        "the service provider did not answer the callback in time ({}): it hangs while the broker does not answer\n{}{}",
        world.last_login().error.as_deref().unwrap_or("no answer"),
        trail(&world.browser),
        checks::served_text(&served)
    );
}

#[then("the browser was sent to the broker's end_session_endpoint")]
async fn sent_to_end_session(world: &mut LabWorld) {
    let lab = world.lab();
    let end_session = end_session_endpoint(&lab).await.or_fail();
    let end_session = end_session.as_str();
    let history = browser_history(&world.browser);
    let visits: Vec<_> = world
        .browser
        .exchanges
        .iter()
        .filter(|e| e.url.starts_with(end_session))
        .collect();
    assert!(
        !visits.is_empty(),
        "the browser never reached {end_session} after logout; it went to {history:?}"
    );
    // Reaching the endpoint is not enough: a request the broker refuses (an unregistered
    // post_logout_redirect_uri, a foreign id_token_hint) leaves the broker's session alive.
    let refused: Vec<String> = visits
        .iter()
        .filter(|e| e.status.is_none_or(|status| status >= 400))
        .map(|e| e.line())
        .collect();
    assert!(
        refused.is_empty(),
        "the broker did not accept the logout request the service provider sent: {refused:?}"
    );
}

#[then(expr = "the service provider's accounts for {string} and {string} differ")]
async fn accounts_differ(world: &mut LabWorld, first: String, second: String) {
    let lab = world.lab();
    let mut first_browser = world
        .other_browsers
        .pop()
        .expect("the first citizen's browser was kept");
    let a = ask_me(&lab, &mut first_browser).await.or_fail();
    world.other_browsers.push(first_browser);
    let b = ask_me(&lab, &mut world.browser).await.or_fail();
    assert!(
        a.status == 200 && b.status == 200,
        "both must be logged in: /me answered {} and {}",
        a.status,
        b.status
    );
    let (account_a, account_b) = (checks::account_of(&a), checks::account_of(&b));
    assert_ne!(
        account_a, account_b,
        "{first} and {second} are different persons but share the service provider's account {account_a:?}: /me answered {} and {}",
        a.body, b.body
    );
}

/// `/me` in the scenario's previous browser and in its current one; both must be logged in.
async fn me_in_both_browsers(world: &mut LabWorld) -> (MeAnswer, MeAnswer) {
    let lab = world.lab();
    let mut first_browser = world
        .other_browsers
        .pop()
        .expect("the first login's browser was kept");
    let a = ask_me(&lab, &mut first_browser).await.or_fail();
    world.other_browsers.push(first_browser);
    let b = ask_me(&lab, &mut world.browser).await.or_fail();
    assert!(
        a.status == 200 && b.status == 200,
        "both browsers must be logged in: /me answered {} ({}) and {} ({})",
        a.status,
        excerpt(&a.body),
        b.status,
        excerpt(&b.body)
    );
    (a, b)
}

#[then("the service provider's accounts in both browsers differ")]
async fn accounts_differ_in_browsers(world: &mut LabWorld) {
    let (a, b) = me_in_both_browsers(world).await;
    let (account_a, account_b) = (checks::account_of(&a), checks::account_of(&b));
    assert_ne!(
        account_a, account_b,
        "two different identities (a private and a business login, two employees, or one person acting for two companies) share the service provider's account {account_a:?}: /me answered {} in the first browser and {} in the second",
        a.body, b.body
    );
}

#[then("the service provider's accounts in both browsers are the same")]
async fn accounts_same(world: &mut LabWorld) {
    let (a, b) = me_in_both_browsers(world).await;
    let (account_a, account_b) = (checks::account_of(&a), checks::account_of(&b));
    assert_eq!(
        account_a, account_b,
        "the same person got two accounts: /me answered {} in the first browser and {} in the second",
        a.body, b.body
    );
}

#[when(
    "the callback of that login is delivered to a victim's browser that started a login of its own"
)]
async fn callback_to_victim(world: &mut LabWorld) {
    service_provider::deliver_to_victim(world).await.or_fail();
}

#[then("the victim's browser has no session")]
async fn victim_no_session(world: &mut LabWorld) {
    let lab = world.lab();
    let mut victim = world.other_browsers.pop().expect("a victim's browser ran");
    let me = ask_me(&lab, &mut victim).await.or_fail();
    let status = me.status;
    let body = me.body.clone();
    world.other_browsers.push(victim);
    assert!(
        status == 401,
        "the callback of a login started in another browser logged the victim's browser in (login CSRF: state must be bound to the browser that started the login): /me answered {status} with {}\n{}",
        excerpt(&body),
        trail(world.other_browsers.last().expect("pushed above"))
    );
}

#[then("no session carries the userinfo's person")]
async fn no_foreign_session(world: &mut LabWorld) {
    let lab = world.lab();
    let me = ask_me(&lab, &mut world.browser).await.or_fail();
    if me.status == 200 {
        let uuid = world.citizen().uuid.clone();
        assert_eq!(
            me.sub(),
            Some(uuid.as_str()),
            "the session names a person other than the one who logged in (userinfo's sub was used): /me answered {}",
            excerpt(&me.body)
        );
        let foreign = FOREIGN_CPR;
        assert!(
            !me.body.contains(foreign),
            "the session carries CPR {foreign} from a userinfo answer about another person (its sub differed from the ID token's): /me answered {}",
            excerpt(&me.body)
        );
    } else {
        assert_eq!(
            me.status, 401,
            "/me answered {} (the contract says 200 or 401)",
            me.status
        );
    }
}

/// Portal self-services (`GET {base}/services/{id}`): the reference portal's journeys.
async fn open_self_service(world: &mut LabWorld, id: &str) {
    let (status, body) = service_provider::open_self_service(world, id)
        .await
        .or_fail();
    world
        .notes
        .push(("service_status".into(), status.to_string()));
    world.notes.push(("service_body".into(), body));
}

// The citizen's name only selects the step: the scenario's browser is already theirs.
#[when(regex = r#"^"[^"]+" opens the self-service "([^"]+)"$"#)]
async fn opens_service(world: &mut LabWorld, id: String) {
    open_self_service(world, &id).await;
}

#[when(expr = "the browser opens the self-service {string} without logging in")]
async fn opens_service_anonymously(world: &mut LabWorld, id: String) {
    open_self_service(world, &id).await;
}

#[then("the self-service answers with the citizen's data")]
fn service_answers(world: &mut LabWorld) {
    let status = world.note("service_status").unwrap_or("none").to_owned();
    let body = world.note("service_body").unwrap_or("").to_owned();
    assert_eq!(
        status,
        "200",
        "the self-service should let the citizen in: {}",
        excerpt(&body)
    );
    let uuid = world.citizen().uuid.clone();
    assert!(
        body.contains(&uuid),
        "the self-service answered someone else's data (no {uuid}): {}",
        excerpt(&body)
    );
}

#[then(expr = "the self-service refuses with {string}")]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn service_refuses(world: &mut LabWorld, error: String) {
    let status = world.note("service_status").unwrap_or("none").to_owned();
    let body = world.note("service_body").unwrap_or("").to_owned();
    assert!(
        status == "403" && body.contains(&error),
        "the self-service should refuse with 403 {error}; it answered {status}: {}",
        excerpt(&body)
    );
}

#[then(expr = "the self-service answers {int}")]
fn service_status(world: &mut LabWorld, expected: u16) {
    let status = world.note("service_status").unwrap_or("none").to_owned();
    assert_eq!(
        status,
        expected.to_string(),
        "the self-service answered {status}: {}",
        world.note("service_body").unwrap_or("")
    );
}
