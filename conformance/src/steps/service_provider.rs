//! The service provider under test: the login driver (the lab as the browser) and the checks on
//! what the service answered.
//!
//! A login: `GET {login}` → the service's redirect to the broker (read, then the browser adds
//! `login_hint=test:<user>:<behaviour>`) → the broker's redirect to the callback (possibly
//! tampered with) → the service's answer, following its own same-origin redirects.

use cucumber::{then, when};
use url::Url;

use super::broker::register_script;
use super::citizen::behaviour_for;
use crate::browser::{Browser, same_origin};
use crate::checks::{self, excerpt, trail};
use crate::world::{LabWorld, LoginAttempt};

/// What the browser does to the callback before delivering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    None,
    ReplaceState,
    RemoveState,
    ReplaceCode,
}

fn login_url(world: &LabWorld, loa: Option<&str>) -> Url {
    let lab = world.lab();
    let mut url = lab.sp.login_url.clone();
    if let Some(loa) = loa {
        url.query_pairs_mut().append_pair("loa", loa);
    }
    url
}

/// `GET {login}` up to the service's redirect to the broker. Records the attempt.
pub async fn start_login(world: &mut LabWorld, _alias: &str, loa: Option<&str>) -> Option<Url> {
    let lab = world.lab();
    let url = login_url(world, loa);
    let sp_base = lab.sp.base_url.clone();
    let page = world
        .browser
        .navigate(&url, |next| same_origin(next, &sp_base))
        .await;
    let mut attempt = LoginAttempt::default();
    let authorize = match page {
        Ok(page) if page.is_redirect() => page.location.clone(),
        Ok(page) => {
            attempt.error = Some(format!(
                "the service provider answered its login URL with {} instead of a redirect to the broker: {}",
                page.status,
                excerpt(&page.body)
            ));
            None
        }
        Err(err) => {
            attempt.error = Some(format!(
                "the service provider's login URL {url} did not answer: {err}"
            ));
            None
        }
    };
    if let Some(authorize) = &authorize
        && !same_origin(authorize, &lab.endpoints.issuer)
    {
        attempt.error = Some(format!(
            "the login redirected to {authorize}, which is not the lab's broker ({})",
            lab.endpoints.issuer
        ));
    }
    attempt.authorize.clone_from(&authorize);
    world.logins.push(attempt);
    authorize
}

/// Drives a whole login for `alias`, applying the scenario's pending broker script.
pub async fn drive_login(world: &mut LabWorld, alias: &str, loa: Option<&str>, tamper: Tamper) {
    let citizen = world.citizen_named(alias).clone();
    world.current = world.citizens.iter().position(|c| c.alias == alias);
    world.requested_loa = loa.map(str::to_owned);
    let lab = world.lab();
    let Some(authorize) = start_login(world, alias, loa).await else {
        let error = world.last_login().error.clone().unwrap_or_default();
        panic!("{error}\n{}", trail(&world.browser));
    };
    if world.logins.last().is_some_and(|l| l.error.is_some()) {
        let error = world.last_login().error.clone().unwrap_or_default();
        panic!("{error}\n{}", trail(&world.browser));
    }
    // The broker's script for this login, keyed to this scenario's own test user.
    let mut pending = std::mem::take(&mut world.pending);
    let behaviour = pending
        .behaviour
        .take()
        .unwrap_or_else(|| behaviour_for(&citizen.devices[0]));
    if !pending.is_empty() {
        register_script(world, &citizen.user_id, pending).await;
    }
    let behaviour_name = serde_json::to_value(behaviour)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut to_broker = authorize.clone();
    let pairs: Vec<(String, String)> = authorize
        .query_pairs()
        .filter(|(k, _)| k != "login_hint")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    to_broker
        .query_pairs_mut()
        .clear()
        .extend_pairs(
            pairs
                .iter()
                .filter(|(k, _)| !(behaviour.is_nemid() && k == "idp_values")),
        )
        .append_pair(
            "login_hint",
            &format!("test:{}:{behaviour_name}", citizen.user_id),
        );
    if behaviour.is_nemid() {
        // The citizen picks NemID on the broker's page.
        to_broker
            .query_pairs_mut()
            .append_pair("idp_values", "nemid");
    }
    let broker_answer = match world.browser.get(&to_broker).await {
        Ok(page) => page,
        Err(err) => panic!(
            "the lab's broker did not answer the authorization request: {err}\n{}",
            trail(&world.browser)
        ),
    };
    let Some(callback) = broker_answer
        .location
        .clone()
        .filter(|_| broker_answer.is_redirect())
    else {
        // The broker refused the request itself (e.g. a redirect_uri it does not know): the
        // service provider's request was wrong.
        let attempt = world
            .logins
            .last_mut()
            .expect("start_login recorded the attempt");
        attempt.error = Some(format!(
            "the broker refused the service provider's authorization request with {}: {}",
            broker_answer.status,
            excerpt(&broker_answer.body)
        ));
        return;
    };
    world.logins.last_mut().expect("recorded").callback = Some(callback.clone());
    let delivered = tampered(&callback, tamper);
    let sp_base = lab.sp.base_url.clone();
    let landing = world
        .browser
        .navigate(&delivered, |next| same_origin(next, &sp_base))
        .await;
    let attempt = world.logins.last_mut().expect("recorded");
    match landing {
        Ok(page) => attempt.landing = Some(page),
        Err(err) => {
            attempt.error = Some(format!(
                "the service provider did not answer the callback: {err}"
            ));
        }
    }
}

/// The callback as the browser delivers it.
fn tampered(callback: &Url, tamper: Tamper) -> Url {
    let pairs: Vec<(String, String)> = callback
        .query_pairs()
        .filter_map(|(k, v)| {
            let (k, v) = (k.into_owned(), v.into_owned());
            match (tamper, k.as_str()) {
                (Tamper::RemoveState, "state") => None,
                (Tamper::ReplaceState, "state") => {
                    Some((k, "forged-state-0123456789abcdef".to_owned()))
                }
                (Tamper::ReplaceCode, "code") => {
                    Some((k, "forged-code-0123456789abcdef".to_owned()))
                }
                _ => Some((k, v)),
            }
        })
        .collect();
    let mut url = callback.clone();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url
}

/// RP-initiated logout: `GET {logout}`, following every redirect (the service's, the broker's
/// `end_session_endpoint`, and back). Records where the browser went.
pub async fn logout(world: &mut LabWorld) {
    let lab = world.lab();
    let url = lab
        .sp
        .logout_url
        .clone()
        .expect("@needs:logout guarantees the endpoint");
    let issuer = lab.endpoints.issuer.clone();
    let sp_base = lab.sp.base_url.clone();
    let page = world
        .browser
        .navigate(&url, |next| {
            same_origin(next, &sp_base) || same_origin(next, &issuer)
        })
        .await
        .unwrap_or_else(|err| {
            panic!(
                "the service provider's logout ({url}) did not answer: {err}\n{}",
                trail(&world.browser)
            )
        });
    if let Some(hop) = world
        .browser
        .exchanges
        .iter()
        .rev()
        .find(|e| e.url == url.as_str())
    {
        let answer = hop
            .status
            .ok_or_else(|| hop.error.clone().unwrap_or_default());
        checks::declared_endpoint_exists(
            "logout endpoint",
            crate::target::OptionalFeature::RpInitiatedLogout,
            &format!("GET {url}"),
            answer
                .as_ref()
                .map(|s| (*s, hop.response_body.as_deref().unwrap_or("")))
                .map_err(String::as_str),
        );
    }
    world
        .notes
        .push(("logout_status".into(), page.status.to_string()));
}

fn browser_history(browser: &Browser) -> Vec<String> {
    browser.exchanges.iter().map(|e| e.url.clone()).collect()
}

#[when("a fresh browser asks the service provider who is logged in")]
async fn fresh_browser(world: &mut LabWorld) {
    let lab = world.lab();
    let me = checks::ask_me(&lab, &mut world.browser).await;
    world.last_me = Some((me.status, me.json));
}

#[when("an attacker's browser replays the callback of that login")]
async fn replay(world: &mut LabWorld) {
    let lab = world.lab();
    let callback = world
        .last_login()
        .callback
        .clone()
        .expect("the login reached the callback");
    let mut attacker = Browser::new();
    let sp_base = lab.sp.base_url.clone();
    let _ = attacker
        .navigate(&callback, |next| same_origin(next, &sp_base))
        .await;
    world.other_browsers.push(attacker);
}

#[when("the same browser replays the callback of that login")]
async fn replay_same_browser(world: &mut LabWorld) {
    let lab = world.lab();
    let callback = world
        .last_login()
        .callback
        .clone()
        .expect("the login reached the callback");
    let sp_base = lab.sp.base_url.clone();
    let _ = world
        .browser
        .navigate(&callback, |next| same_origin(next, &sp_base))
        .await;
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
    let idp_params = login
        .authorize_param("idp_params")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let wanted = loa.to_ascii_lowercase();
    let fresh = prompt.split(' ').any(|p| p == "login")
        || max_age == "0"
        || acr
            .split(' ')
            .any(|a| a.ends_with(&format!("/{wanted}")) || a == wanted)
        || idp_params.contains(&format!(
            "\"loa_value\":\"https://data.gov.dk/concept/core/nsis/{wanted}\""
        ))
        || idp_params.contains(&format!("\"loa_value\":\"{wanted}\""));
    assert!(
        fresh,
        "the step-up request must force a fresh authentication at {loa}: prompt=login, max_age=0, or the {loa} acr/loa_value; it sent prompt={prompt:?} max_age={max_age:?} acr_values={acr:?} idp_params={idp_params:?}"
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
    let served = super::broker::broker_calls(&lab, &world.scripts).await;
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
    let discovery = lab
        .endpoints
        .issuer
        .join(".well-known/openid-configuration")
        .expect("relative");
    let config: serde_json::Value = lab
        .http
        .get(discovery)
        .send()
        .await
        .expect("discovery answers")
        .json()
        .await
        .expect("discovery is JSON");
    let end_session = config["end_session_endpoint"]
        .as_str()
        .expect("the broker publishes end_session_endpoint");
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
    let a = checks::ask_me(&lab, &mut first_browser).await;
    world.other_browsers.push(first_browser);
    let b = checks::ask_me(&lab, &mut world.browser).await;
    assert!(
        a.status == 200 && b.status == 200,
        "both must be logged in: /me answered {} and {}",
        a.status,
        b.status
    );
    assert_ne!(
        a.sub(),
        b.sub(),
        "{first} and {second} share one account: /me answered {:?} and {:?}",
        a.json,
        b.json
    );
    let account =
        |j: &Option<serde_json::Value>| j.as_ref().and_then(|j| j.get("account_id").cloned());
    if account(&a.json).is_some() || account(&b.json).is_some() {
        assert_ne!(
            account(&a.json),
            account(&b.json),
            "{first} and {second} share one account id"
        );
    }
}

#[then("no session carries the userinfo's person")]
async fn no_foreign_session(world: &mut LabWorld) {
    let lab = world.lab();
    let me = checks::ask_me(&lab, &mut world.browser).await;
    if me.status == 200 {
        let uuid = world.citizen().uuid.clone();
        assert_eq!(
            me.sub(),
            Some(uuid.as_str()),
            "the session names a person other than the one who logged in (userinfo's sub was used): /me answered {}",
            excerpt(&me.body)
        );
        let foreign = super::broker::FOREIGN_CPR;
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
    let lab = world.lab();
    let url = lab
        .sp
        .base_url
        .join(&format!("services/{id}"))
        .expect("relative path");
    let page = world.browser.get(&url).await.unwrap_or_else(|err| {
        panic!(
            "the portal's self-service {url} did not answer: {err}\n{}",
            trail(&world.browser)
        )
    });
    world
        .notes
        .push(("service_status".into(), page.status.to_string()));
    world.notes.push(("service_body".into(), page.body));
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
