//! Shared checks: each is one function every scenario that needs it calls, so "no session exists"
//! means the same thing in forty scenarios. A check panics with a message that says what the
//! lab expected, what it saw, and the exchanges that led there (cucumber turns the panic into
//! the step's failure).

use std::fmt::Write as _;

use super::browser::Browser;
use super::evidence::Exchange;
use super::world::{Lab, LabWorld};

/// What `/me` answered.
#[derive(Debug, Clone)]
pub struct MeAnswer {
    pub status: u16,
    pub json: Option<serde_json::Value>,
    pub body: String,
}

impl MeAnswer {
    #[must_use]
    pub fn sub(&self) -> Option<&str> {
        self.json
            .as_ref()
            .and_then(|j| j.get("sub"))
            .and_then(|s| s.as_str())
    }
}

/// Asks the service provider's `/me` who `browser` is logged in as.
pub async fn ask_me(lab: &Lab, browser: &mut Browser) -> MeAnswer {
    match browser.get(&lab.sp.me_url).await {
        Ok(page) => MeAnswer {
            status: page.status,
            json: page.json(),
            body: page.body,
        },
        Err(err) => panic!(
            "the service provider's /me ({}) did not answer: {err}\n{}",
            lab.sp.me_url,
            trail(browser)
        ),
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
    let me = ask_me(lab, browser).await;
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
    let me = ask_me(lab, browser).await;
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
    let served = super::steps::broker::broker_calls(&lab, &world.scripts).await;
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

/// The exchanges so far, one line each, for failure messages.
#[must_use]
pub fn trail(browser: &Browser) -> String {
    let mut text = String::from("HTTP exchanges so far (secrets redacted):\n");
    for exchange in &browser.exchanges {
        let _ = writeln!(text, "  {}", exchange.line());
        // What came back when it was not a plain success or redirect: the error page says why.
        if exchange.status.is_some_and(|s| s >= 400)
            && let Some(body) = &exchange.response_body
        {
            let cut: String = body.chars().take(200).collect();
            let more = if cut.len() < body.len() { "…" } else { "" };
            let _ = writeln!(text, "    answered: {cut}{more}");
        }
    }
    text
}

#[must_use]
pub fn excerpt(body: &str) -> String {
    let cut: String = body.chars().take(300).collect();
    if cut.len() < body.len() {
        format!("{cut}…")
    } else {
        cut
    }
}
