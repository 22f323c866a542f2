//! Shared checks: each is one function every scenario that needs it calls, so "no session exists"
//! means the same thing in forty scenarios. A check panics with a message that says what the
//! lab expected, what it saw, and the exchanges that led there (cucumber turns the panic into
//! the step's failure).

use std::fmt::Write as _;

use crate::actions::ActionError;
use crate::actions::broker::broker_calls;
use crate::actions::service_provider::{MeAnswer, ask_me};
use crate::browser::Browser;
pub use crate::browser::{excerpt, trail};
use crate::evidence::Exchange;
use crate::world::{DESK_ANSWER, DESK_STATUS, Lab, LabWorld};

/// How a step turns an action's error into its verdict: it fails with the error's words (a
/// cucumber step fails by panicking with its message).
pub trait OrFail<T> {
    fn or_fail(self) -> T;
}

impl<T> OrFail<T> for Result<T, ActionError> {
    #[track_caller]
    fn or_fail(self) -> T {
        self.unwrap_or_else(|err| panic!("{err}"))
    }
}

/// The service provider's own account id from a `/me` answer (the integrator contract's
/// `account`, a string or a number); a 200 without it breaks the contract.
#[must_use]
pub fn account_of(me: &MeAnswer) -> String {
    match me.json.as_ref().and_then(|j| j.get("account")) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => panic!(
            "/me answered {} without `account`, the service provider's identifier of the local account the session belongs to (integrator contract): {}",
            me.status,
            excerpt(&me.body)
        ),
    }
}

/// What `/me` says of a business session: the integrator contract asks only for `sub` and
/// `account`, but a `cvr` or `identity_type` it reports must be the company the citizen chose
/// and `professional`, or the service mixed up whose login this is.
pub fn business_me(alias: &str, cvr: &str, me: Option<&serde_json::Value>) {
    let Some(me) = me else { return };
    if let Some(reported) = me.get("cvr").filter(|v| !v.is_null()) {
        assert!(
            reported.as_str() == Some(cvr)
                || reported.as_u64().map(|n| format!("{n:08}")).as_deref() == Some(cvr),
            "{alias} chose the company with CVR {cvr} at the broker, but /me reports cvr {reported}: {me}"
        );
    }
    if let Some(kind) = me.get("identity_type").filter(|v| !v.is_null()) {
        assert!(
            kind.as_str() == Some("professional"),
            "{alias} logged in for a company, but /me reports identity_type {kind}: {me}"
        );
    }
}

/// No session exists in `browser`: `/me` answers 401 (the integrator contract). A 200 means the
/// service provider accepted what it should have refused.
pub async fn no_session(lab: &Lab, browser: &mut Browser) {
    no_session_after(lab, browser, &[]).await;
}

/// [`no_session`], whose failure also shows `served`: what the broker served the service
/// provider (its token, userinfo and JWKS calls) in the logins that led here.
pub async fn no_session_after(lab: &Lab, browser: &mut Browser, served: &[Exchange]) {
    let me = ask_me(lab, browser).await.or_fail();
    match me.status {
        401 => {}
        200..=299 => panic!(
            "a session exists but none should: /me answered {} with {}\nThe service provider accepted a login it had to refuse.\n{}{}",
            me.status,
            excerpt(&me.body),
            trail(browser),
            served_text(served)
        ),
        other => panic!(
            "/me answered {other} (the integrator contract says 401 when no session exists): {}\n{}{}",
            excerpt(&me.body),
            trail(browser),
            served_text(served)
        ),
    }
}

/// The service provider's calls to the broker and the broker's answers, for failure messages.
#[must_use]
pub fn served_text(served: &[Exchange]) -> String {
    if served.is_empty() {
        return String::new();
    }
    let mut text = String::from("The service provider's calls to the broker (secrets redacted):\n");
    for exchange in served {
        let _ = writeln!(text, "  {}", exchange.line());
        if let Some(body) = &exchange.response_body {
            let cut: String = body.chars().take(800).collect();
            let more = if cut.len() < body.len() { "…" } else { "" };
            let _ = writeln!(text, "    served: {cut}{more}");
        }
    }
    text
}

/// A session exists in `browser` for the person with MitID UUID `uuid`.
pub async fn session_for(lab: &Lab, browser: &mut Browser, alias: &str, uuid: &str) -> MeAnswer {
    let me = ask_me(lab, browser).await.or_fail();
    assert!(
        me.status == 200,
        "no session for {alias}: /me answered {} ({})\n{}",
        me.status,
        excerpt(&me.body),
        trail(browser)
    );
    match me.sub() {
        Some(sub) if sub == uuid => me,
        Some(sub) => panic!(
            "/me names sub {sub:?}, but {alias} logged in with MitID UUID {uuid:?}\n{}",
            trail(browser)
        ),
        None => panic!(
            "/me answered 200 without a `sub` string: {}\n{}",
            excerpt(&me.body),
            trail(browser)
        ),
    }
}

/// The main browser of a scenario has no session; a failure shows what the broker served.
pub async fn world_has_no_session(world: &mut LabWorld) {
    let lab = world.lab();
    let served = broker_calls(&lab, &world.scripts).await;
    no_session_after(&lab, &mut world.browser, &served).await;
}

/// A declared optional endpoint must exist: a 404 (or no answer) from an endpoint the target file
/// declares is a failure in its own words, never a pass because the request "was refused".
pub fn declared_endpoint_exists(
    what: &str,
    feature: crate::target::OptionalFeature,
    request: &str,
    answer: Result<(u16, &str), &str>,
) {
    match answer {
        Ok((404, body)) => panic!(
            "the {what} the target file declares ({} in service_provider.implements) does not exist: {request} answered 404 Not Found ({})",
            feature.name(),
            if body.is_empty() {
                "no body".to_owned()
            } else {
                excerpt(body)
            }
        ),
        Err(error) => panic!(
            "the {what} the target file declares ({} in service_provider.implements) did not answer: {request}: {error}",
            feature.name()
        ),
        Ok(_) => {}
    }
}

/// The last service-desk answer (Citizen Service, support) was a 403 whose description starts
/// with `reason` (or whose error is `reason`).
pub fn desk_refused(world: &LabWorld, who: &str, reason: &str) {
    let status = world.note(DESK_STATUS).unwrap_or("none");
    let answer = world.note(DESK_ANSWER).unwrap_or("");
    let parsed: serde_json::Value = serde_json::from_str(answer).unwrap_or_default();
    let description = parsed["error_description"].as_str().unwrap_or("");
    assert!(
        status == "403"
            && (description.starts_with(reason) || parsed["error"] == serde_json::json!(reason)),
        "{who} should refuse with 403 {reason}; it answered {status}: {answer}"
    );
}
