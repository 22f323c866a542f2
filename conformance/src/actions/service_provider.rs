//! The service provider under test, with the lab as the browser: the login driver, logout, `/me`,
//! replays of a callback, the portal's self-services.
//!
//! A login: `GET {login}` → the service's redirect to the broker (read, then the browser adds
//! `login_hint=test:<user>:<behaviour>`) → the broker's redirect to the callback (possibly
//! tampered with) → the service's answer, following its own same-origin redirects. Every attempt
//! is recorded in [`LabWorld::logins`]; how the service answered is for the steps to judge.

use mitid_components::idp::script::Behaviour;
use url::Url;

use super::ActionError;
use super::broker::{register_script, test_login_hint};
use crate::browser::{Browser, excerpt, same_origin, trail};
use crate::world::{Citizen, Lab, LabWorld, LoginAttempt, LoginKind};

/// What the browser does to the callback before delivering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    None,
    ReplaceState,
    RemoveState,
    ReplaceCode,
    /// The authorization response's `iss` with a trailing slash (RFC 9207: compared exactly).
    IssTrailingSlash,
    /// The browser keeps the callback and delivers it nowhere (another browser gets it).
    Withhold,
}

/// The headless behaviour a citizen's device gives the broker.
#[must_use]
pub fn behaviour_for(device: &str) -> Behaviour {
    match device {
        "a code display" => Behaviour::CodeDisplay,
        "an audio code reader" => Behaviour::AudioCodeReader,
        "a MitID chip" => Behaviour::Chip,
        "a NemID key card" => Behaviour::NemidKeyCard,
        "a NemID key app" => Behaviour::NemidKeyApp,
        _ => Behaviour::Approve,
    }
}

fn login_url(lab: &Lab, loa: Option<&str>) -> Url {
    let mut url = lab.sp.login_url.clone();
    if let Some(loa) = loa {
        url.query_pairs_mut().append_pair("loa", loa);
    }
    url
}

/// `GET {login}` (asking for `loa`) up to the service's redirect to the broker; answers the
/// authorization request the service built. Records the attempt, with why it stopped if it did.
pub async fn start_login(world: &mut LabWorld, loa: Option<&str>) -> Result<Url, ActionError> {
    let lab = world.lab();
    let url = match std::mem::take(&mut world.login_kind) {
        LoginKind::Private => login_url(&lab, loa),
        LoginKind::Business => lab.sp.business_login_url.clone().ok_or_else(|| {
            ActionError::Unavailable(
                "the target file declares no business_login_path (@needs:business)".into(),
            )
        })?,
    };
    let sp_base = lab.sp.base_url.clone();
    let page = world
        .browser
        .navigate(&url, |next| same_origin(next, &sp_base))
        .await;
    let mut attempt = LoginAttempt::default();
    let outcome = match page {
        Ok(page) if page.is_redirect() => {
            let authorize = page.location.clone().expect("a redirect has a location");
            attempt.authorize = Some(authorize.clone());
            if same_origin(&authorize, &lab.endpoints.issuer) {
                Ok(authorize)
            } else {
                Err(format!(
                    "the login redirected to {authorize}, which is not the lab's broker ({})",
                    lab.endpoints.issuer
                ))
            }
        }
        Ok(page) => Err(format!(
            "the service provider answered its login URL with {} instead of a redirect to the broker: {}",
            page.status,
            excerpt(&page.body)
        )),
        Err(err) => Err(format!(
            "the service provider's login URL {url} did not answer: {err}"
        )),
    };
    attempt.error = outcome.as_ref().err().cloned();
    world.logins.push(attempt);
    outcome.map_err(ActionError::Login)
}

/// Registers the scenario's pending broker script for the next login of `citizen` (keyed to
/// this scenario's own test user) and answers how the citizen's device behaves in it. Shared by
/// the OIDC and the SAML login drivers.
pub async fn script_pending(
    world: &mut LabWorld,
    citizen: &Citizen,
) -> Result<Behaviour, ActionError> {
    let mut pending = std::mem::take(&mut world.pending);
    let behaviour = pending
        .behaviour
        .take()
        .unwrap_or_else(|| behaviour_for(&citizen.devices[0]));
    if !pending.is_empty() {
        register_script(world, &citizen.user_id, pending).await?;
    }
    Ok(behaviour)
}

/// Drives a whole headless login of `alias` at the service provider (asking for `loa`), applying
/// the scenario's pending broker script and delivering the callback as `tamper` says.
///
/// `Err` when the login could not reach the broker; anything after that (the broker refusing
/// the service's request, the service not answering the callback) is recorded in the attempt for
/// the steps to judge.
pub async fn drive_login(
    world: &mut LabWorld,
    alias: &str,
    loa: Option<&str>,
    tamper: Tamper,
) -> Result<(), ActionError> {
    let citizen = super::citizen(world, alias)?;
    world.current = world.citizens.iter().position(|c| c.alias == alias);
    world.requested_loa = loa.map(str::to_owned);
    let lab = world.lab();
    let authorize = match start_login(world, loa).await {
        Ok(authorize) => authorize,
        Err(err) => {
            return Err(ActionError::Login(format!(
                "{err}\n{}",
                trail(&world.browser)
            )));
        }
    };
    let behaviour = script_pending(world, &citizen).await?;
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
        .append_pair("login_hint", &test_login_hint(&citizen.user_id, behaviour));
    if behaviour.is_nemid() {
        // The citizen picks NemID on the broker's page.
        to_broker
            .query_pairs_mut()
            .append_pair("idp_values", "nemid");
    }
    let broker_answer = match world.browser.get(&to_broker).await {
        Ok(page) => page,
        Err(err) => {
            return Err(ActionError::Login(format!(
                "the lab's broker did not answer the authorization request: {err}\n{}",
                trail(&world.browser)
            )));
        }
    };
    let Some(callback) = broker_answer
        .location
        .clone()
        .filter(|_| broker_answer.is_redirect())
    else {
        // The broker refused the request itself (e.g. a redirect_uri it does not know): the
        // service provider's request was wrong.
        last_attempt(world).error = Some(format!(
            "the broker refused the service provider's authorization request with {}: {}",
            broker_answer.status,
            excerpt(&broker_answer.body)
        ));
        return Ok(());
    };
    last_attempt(world).callback = Some(callback.clone());
    if tamper == Tamper::Withhold {
        return Ok(());
    }
    let delivered = tampered(&callback, tamper);
    let landing = deliver(world, &lab, &delivered).await;
    let attempt = last_attempt(world);
    match landing {
        Ok(page) => attempt.landing = Some(page),
        Err(err) => {
            attempt.error = Some(format!(
                "the service provider did not answer the callback: {err}"
            ));
        }
    }
    Ok(())
}

/// A whole headless business (MitID Erhverv) login of `alias` at the service provider's
/// business login, choosing the scenario's company `company` at the broker (by the login's
/// script, as the citizen would on the broker's chooser page).
pub async fn drive_business_login(
    world: &mut LabWorld,
    alias: &str,
    company: &str,
) -> Result<(), ActionError> {
    business_login_for(world, company)?;
    drive_login(world, alias, None, Tamper::None).await
}

/// Makes the next login a business login at the service, for the scenario's company
/// `company`: the citizen chooses it at the broker (by the login's script). Shared by the OIDC
/// and the SAML login drivers.
pub fn business_login_for(world: &mut LabWorld, company: &str) -> Result<(), ActionError> {
    let cvr = super::identity::company_cvr(world, company)?;
    world.pending.organisation = Some(cvr);
    world.login_kind = LoginKind::Business;
    Ok(())
}

fn last_attempt(world: &mut LabWorld) -> &mut LoginAttempt {
    world
        .logins
        .last_mut()
        .expect("start_login recorded the attempt")
}

/// The main browser follows `url` at the service provider through its same-origin redirects.
pub async fn deliver(
    world: &mut LabWorld,
    lab: &Lab,
    url: &Url,
) -> Result<crate::browser::Page, String> {
    let sp_base = lab.sp.base_url.clone();
    world
        .browser
        .navigate(url, |next| same_origin(next, &sp_base))
        .await
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
                (Tamper::IssTrailingSlash, "iss") => Some((k, format!("{v}/"))),
                _ => Some((k, v)),
            }
        })
        .collect();
    let mut url = callback.clone();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url
}

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
pub async fn ask_me(lab: &Lab, browser: &mut Browser) -> Result<MeAnswer, ActionError> {
    match browser.get(&lab.sp.me_url).await {
        Ok(page) => Ok(MeAnswer {
            status: page.status,
            json: page.json(),
            body: page.body,
        }),
        Err(err) => Err(ActionError::Unreachable {
            service: "the service provider's /me",
            url: lab.sp.me_url.to_string(),
            reason: format!("{err}\n{}", trail(browser)),
        }),
    }
}

/// What RP-initiated logout did, for the steps to judge.
#[derive(Debug, Clone)]
pub struct LogoutTrace {
    /// `GET {logout}`, as failure messages name it.
    pub request: String,
    /// The logout endpoint's own answer as the browser recorded it: status and body, or why
    /// there was none.
    pub answer: Option<Result<(u16, String), String>>,
}

/// RP-initiated logout: `GET {logout}` up to the service's redirect away from it; then `/me`
/// (the local session must be gone before the broker is involved: a back-channel call from the
/// broker would otherwise hide a `/logout` that keeps it); then every redirect on (the broker's
/// `end_session_endpoint`, and back). Leaves the notes `me_after_local_logout`,
/// `logout_redirect` (unredacted, for the check of the `id_token_hint`) and `logout_status`.
pub async fn logout(world: &mut LabWorld) -> Result<LogoutTrace, ActionError> {
    let lab = world.lab();
    let url = lab.sp.logout_url.clone().ok_or_else(|| {
        ActionError::Unavailable("the service provider declares no logout endpoint".into())
    })?;
    let issuer = lab.endpoints.issuer.clone();
    let sp_base = lab.sp.base_url.clone();
    let local = world
        .browser
        .navigate(&url, |next| same_origin(next, &sp_base))
        .await
        .map_err(|err| {
            ActionError::Login(format!(
                "the service provider's logout ({url}) did not answer: {err}\n{}",
                trail(&world.browser)
            ))
        })?;
    let answer = world
        .browser
        .exchanges
        .iter()
        .rev()
        .find(|e| e.url == url.as_str())
        .map(|hop| match hop.status {
            Some(status) => Ok((status, hop.response_body.clone().unwrap_or_default())),
            None => Err(hop.error.clone().unwrap_or_default()),
        });
    let me = ask_me(&lab, &mut world.browser).await?;
    world.notes.push((
        "me_after_local_logout".into(),
        format!("{} {}", me.status, excerpt(&me.body)),
    ));
    let next = local.location.clone().filter(|_| local.is_redirect());
    if let Some(next) = &next {
        world
            .notes
            .push(("logout_redirect".into(), next.to_string()));
    }
    let page = match next {
        Some(next) => world
            .browser
            .navigate(&next, |hop| {
                same_origin(hop, &sp_base) || same_origin(hop, &issuer)
            })
            .await
            .map_err(|err| {
                ActionError::Login(format!(
                    "the logout's redirect to {next} did not answer: {err}\n{}",
                    trail(&world.browser)
                ))
            })?,
        None => local,
    };
    world
        .notes
        .push(("logout_status".into(), page.status.to_string()));
    Ok(LogoutTrace {
        request: format!("GET {url}"),
        answer,
    })
}

/// The callback of the scenario's last login.
fn last_callback(world: &LabWorld) -> Result<Url, ActionError> {
    world
        .logins
        .last()
        .and_then(|l| l.callback.clone())
        .ok_or_else(|| ActionError::Login("the last login did not reach the callback".into()))
}

/// Another browser (an attacker's) replays the callback of the last login; it is kept in
/// [`LabWorld::other_browsers`].
pub async fn replay_in_other_browser(world: &mut LabWorld) -> Result<(), ActionError> {
    let lab = world.lab();
    let callback = last_callback(world)?;
    let mut attacker = Browser::new();
    let sp_base = lab.sp.base_url.clone();
    // Whatever the service answers is judged by the steps that follow (/me in that browser).
    let _ = attacker
        .navigate(&callback, |next| same_origin(next, &sp_base))
        .await;
    world.other_browsers.push(attacker);
    Ok(())
}

/// The main browser replays the callback of the last login.
pub async fn replay_in_same_browser(world: &mut LabWorld) -> Result<(), ActionError> {
    let lab = world.lab();
    let callback = last_callback(world)?;
    let _ = deliver(world, &lab, &callback).await;
    Ok(())
}

/// The callback of the last login is delivered to a victim's browser that started a login of its
/// own (login CSRF); the victim's browser is kept in [`LabWorld::other_browsers`].
pub async fn deliver_to_victim(world: &mut LabWorld) -> Result<(), ActionError> {
    let lab = world.lab();
    let callback = last_callback(world)?;
    let sp_base = lab.sp.base_url.clone();
    let mut victim = Browser::new();
    // The victim's own login stops at the service's redirect to the broker: the service now
    // holds a pending login of the victim's browser, with the victim's own state.
    let _ = victim
        .navigate(&lab.sp.login_url, |next| same_origin(next, &sp_base))
        .await;
    let _ = victim
        .navigate(&callback, |next| same_origin(next, &sp_base))
        .await;
    world.other_browsers.push(victim);
    Ok(())
}

/// `GET {base}/services/{id}` (the reference portal's self-services); answers status and body.
pub async fn open_self_service(
    world: &mut LabWorld,
    id: &str,
) -> Result<(u16, String), ActionError> {
    let lab = world.lab();
    let url = lab
        .sp
        .base_url
        .join(&format!("services/{id}"))
        .expect("relative path");
    match world.browser.get(&url).await {
        Ok(page) => Ok((page.status, page.body)),
        Err(err) => Err(ActionError::Unreachable {
            service: "the portal's self-service",
            url: url.to_string(),
            reason: format!("{err}\n{}", trail(&world.browser)),
        }),
    }
}
