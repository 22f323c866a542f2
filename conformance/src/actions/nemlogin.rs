//! The lab's NemLog-in IdP and an OIOSAML service provider under test, with the lab as the
//! browser: the SAML login driver, scripts of wrong responses, replays, logout.
//!
//! A SAML login: `GET {login}` → the service's redirect to NemLog-in's `/saml/sso` with its
//! signed `AuthnRequest` (read, then the browser adds `login_hint=test:<user>:<behaviour>`) →
//! NemLog-in → the broker (headless `MitID` login) → NemLog-in's callback, which answers the
//! auto-submitting form → the browser posts `SAMLResponse` to the service's ACS and follows the
//! service's same-origin redirects. Every attempt is recorded in [`LabWorld::logins`]; how the
//! service answered is for the steps to judge.

use mitid_components::cvr::{CvrRegister, ProfessionalIdentity};
use mitid_components::nemlogin::assertion::{self, ResponseFault};
use mitid_components::saml::binding::{self, RedirectMessage};
use mitid_components::saml::privileges::PrivilegeGroup;
use serde_json::{Value, json};
use url::Url;

use super::ActionError;
use super::broker::test_login_hint;
use super::lab_api::{Reply, json_call};
use crate::browser::{Browser, Page, excerpt, same_origin, trail};
use crate::evidence::redact_body;
use crate::world::{Lab, LabWorld, LoginAttempt, LoginKind, SamlSide};

pub const NEMLOGIN: &str = "NemLog-in";

/// The run's SAML side, or why there is none (an OIDC run).
pub fn side(lab: &Lab) -> Result<&SamlSide, ActionError> {
    lab.saml.as_ref().ok_or_else(|| {
        ActionError::Unavailable(
            "this run has no NemLog-in: the SAML steps need `certify --protocol oiosaml`".into(),
        )
    })
}

/// Calls NemLog-in's control listener (JSON in and out); the exchange goes into the evidence.
async fn control(
    world: &mut LabWorld,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Reply, ActionError> {
    let lab = world.lab();
    let url = side(&lab)?
        .control
        .join(path)
        .expect("control paths are relative");
    let shown = body.map(|b| redact_body(&b.to_string()));
    let (status, text, mut exchange) = json_call(&lab, method, &url, body, shown).await?;
    exchange.response_body = Some(redact_body(&text));
    world.broker_log.push(exchange);
    Ok(Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    })
}

/// Scripts NemLog-in's next response for `user_id`: wrong as `fault` says (none: a correct one,
/// only logged), carrying `privileges` if given. Answers the script's id.
pub async fn script(
    world: &mut LabWorld,
    user_id: &str,
    fault: Option<ResponseFault>,
    privileges: Option<Vec<PrivilegeGroup>>,
) -> Result<String, ActionError> {
    let body = json!({"match": {"test_user": user_id}, "fault": fault, "privileges": privileges});
    let reply = control(world, reqwest::Method::POST, "control/scripts", Some(&body))
        .await?
        .expect(201, NEMLOGIN, "a response script")?;
    super::field(&reply, "script_id", NEMLOGIN, "a response script")
}

/// What NemLog-in logged of the login of script `id` (status, response ID).
pub async fn script_log(world: &mut LabWorld, id: &str) -> Result<Value, ActionError> {
    control(
        world,
        reqwest::Method::GET,
        &format!("control/scripts/{id}"),
        None,
    )
    .await?
    .expect(200, NEMLOGIN, "the log of a response script")
}

/// Privileges for the scenario's company `company`: the service's demanded one, or (if
/// `granted` is false) another privilege instead; the next professional login carries them.
pub fn grant(world: &mut LabWorld, company: &str, granted: bool) -> Result<(), ActionError> {
    let lab = world.lab();
    let demanded = side(&lab)?.required_privilege.clone().ok_or_else(|| {
        ActionError::Unavailable(
            "the target file names no business_privilege (@needs:business)".into(),
        )
    })?;
    let cvr = super::identity::company_cvr(world, company)?;
    let privilege = if granted {
        demanded
    } else {
        format!("{demanded}:not-this-one")
    };
    world
        .saml_privileges
        .get_or_insert_with(Vec::new)
        .push(PrivilegeGroup {
            cvr,
            privileges: vec![privilege],
        });
    Ok(())
}

/// The company's CVR number and the persistent `NameID` NemLog-in issues `alias` acting for the
/// scenario's company `company` (the broker derives the professional identity from the person
/// and the company, so the lab knows it without asking).
pub fn professional_name_id(
    world: &mut LabWorld,
    alias: &str,
    company: &str,
) -> Result<(String, String), ActionError> {
    let uuid = super::citizen(world, alias)?.uuid;
    let cvr = super::identity::company_cvr(world, company)?;
    let register = CvrRegister::embedded()
        .map_err(|e| ActionError::Citizen(format!("the lab's CVR register: {e}")))?;
    let company = register
        .get(&cvr)
        .ok_or_else(|| ActionError::Citizen(format!("no company {cvr} in the CVR register")))?;
    let professional = ProfessionalIdentity::mint(&uuid, company);
    Ok((
        cvr,
        assertion::professional_name_id(&professional.persistent_professional_id),
    ))
}

/// The logout requests NemLog-in received, in order.
pub async fn logouts(world: &mut LabWorld) -> Result<Vec<Value>, ActionError> {
    let reply = control(world, reqwest::Method::GET, "control/logouts", None)
        .await?
        .expect(200, NEMLOGIN, "the logouts received")?;
    Ok(reply.as_array().cloned().unwrap_or_default())
}

/// The SAML message a redirect URL carries (its raw query read by the HTTP-Redirect binding).
pub fn redirect_message(url: &Url) -> Result<RedirectMessage, String> {
    binding::read_redirect(url.query().unwrap_or_default()).map_err(|e| e.to_string())
}

/// `GET {login}` (asking for `loa`) up to the service's redirect to NemLog-in; answers the SSO
/// request the service built. Records the attempt, with why it stopped if it did.
async fn start_login(world: &mut LabWorld, loa: Option<&str>) -> Result<Url, ActionError> {
    let lab = world.lab();
    let nemlogin = side(&lab)?.nemlogin.clone();
    let mut url = match std::mem::take(&mut world.login_kind) {
        LoginKind::Private => lab.sp.login_url.clone(),
        LoginKind::Business => lab.sp.business_login_url.clone().ok_or_else(|| {
            ActionError::Unavailable(
                "the target file declares no business_login_path (@needs:business)".into(),
            )
        })?,
    };
    if let Some(loa) = loa {
        url.query_pairs_mut().append_pair("loa", loa);
    }
    let sp_base = lab.sp.base_url.clone();
    let page = world
        .browser
        .navigate(&url, |next| same_origin(next, &sp_base))
        .await;
    let mut attempt = LoginAttempt::default();
    let outcome = match page {
        Ok(page) if page.is_redirect() => {
            let sso = page.location.clone().expect("a redirect has a location");
            attempt.authorize = Some(sso.clone());
            if same_origin(&sso, &nemlogin) {
                Ok(sso)
            } else {
                Err(format!(
                    "the login redirected to {sso}, which is not the lab's NemLog-in ({nemlogin})"
                ))
            }
        }
        Ok(page) => Err(format!(
            "the service provider answered its login URL with {} instead of a redirect to NemLog-in: {}",
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

/// Drives a whole headless SAML login of `alias` at the service provider (asking for `loa`),
/// with the scenario's pending NemLog-in fault and privileges, and its pending broker script
/// (a `NemID` login let through, the company chosen in a business login).
///
/// `Err` when the login could not reach NemLog-in; anything after that (NemLog-in refusing the
/// service's request, the service refusing the response) is recorded for the steps to judge.
pub async fn drive_login(
    world: &mut LabWorld,
    alias: &str,
    loa: Option<&str>,
) -> Result<(), ActionError> {
    let citizen = super::citizen(world, alias)?;
    world.current = world.citizens.iter().position(|c| c.alias == alias);
    world.requested_loa = loa.map(str::to_owned);
    let lab = world.lab();
    let sso = match start_login(world, loa).await {
        Ok(sso) => sso,
        Err(err) => {
            return Err(ActionError::Login(format!(
                "{err}\n{}",
                trail(&world.browser)
            )));
        }
    };
    let behaviour = super::service_provider::script_pending(world, &citizen).await?;
    let fault = world.saml_fault.take();
    let privileges = world.saml_privileges.take();
    // A script without a fault still logs what NemLog-in answered (a NemID login's steps read it).
    world.saml_script = if fault.is_some() || privileges.is_some() || behaviour.is_nemid() {
        Some(script(world, &citizen.user_id, fault, privileges).await?)
    } else {
        None
    };
    let mut to_nemlogin = sso.clone();
    to_nemlogin
        .query_pairs_mut()
        .append_pair("login_hint", &test_login_hint(&citizen.user_id, behaviour));
    if behaviour.is_nemid() {
        // The citizen picks NemID on the login page.
        to_nemlogin
            .query_pairs_mut()
            .append_pair("idp_values", "nemid");
    }
    // NemLog-in → the broker → NemLog-in's callback: followed to the page that is no redirect.
    let nemlogin = side(&lab)?.nemlogin.clone();
    let issuer = lab.endpoints.issuer.clone();
    let page = world
        .browser
        .navigate(&to_nemlogin, |next| {
            same_origin(next, &nemlogin) || same_origin(next, &issuer)
        })
        .await
        .map_err(|err| {
            ActionError::Login(format!(
                "NemLog-in did not answer the service's request: {err}\n{}",
                trail(&world.browser)
            ))
        })?;
    let Some((action, fields)) = binding::read_form(&page.body) else {
        last_attempt(world).error = Some(format!(
            "NemLog-in answered the service's request with {} and no response form (it refused the request): {}",
            page.status,
            excerpt(&page.body)
        ));
        return Ok(());
    };
    let Ok(action) = Url::parse(&action) else {
        last_attempt(world).error = Some(format!("NemLog-in's form posts to {action:?}"));
        return Ok(());
    };
    world.saml_post = Some((action.clone(), fields.clone()));
    let landing = post_response(&mut world.browser, &lab, &action, &fields).await;
    let attempt = last_attempt(world);
    match landing {
        Ok(page) => attempt.landing = Some(page),
        Err(err) => {
            attempt.error = Some(format!(
                "the service provider did not answer the posted SAML response: {err}"
            ));
        }
    }
    Ok(())
}

/// A whole headless business (`MitID` Erhverv) SAML login of `alias` at the service's business
/// login, choosing the scenario's company `company` at the broker (by the login's script).
pub async fn drive_business_login(
    world: &mut LabWorld,
    alias: &str,
    company: &str,
) -> Result<(), ActionError> {
    super::service_provider::business_login_for(world, company)?;
    drive_login(world, alias, None).await
}

fn last_attempt(world: &mut LabWorld) -> &mut LoginAttempt {
    world
        .logins
        .last_mut()
        .expect("start_login recorded the attempt")
}

/// `browser` posts the response form to the service's ACS and follows the service's own
/// redirects.
async fn post_response(
    browser: &mut Browser,
    lab: &Lab,
    action: &Url,
    fields: &[(String, String)],
) -> Result<Page, String> {
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let page = browser.post_form(action, &form).await?;
    let sp_base = lab.sp.base_url.clone();
    match page.location.clone() {
        Some(next) if page.is_redirect() && same_origin(&next, &sp_base) => {
            browser
                .navigate(&next, |url| same_origin(url, &sp_base))
                .await
        }
        _ => Ok(page),
    }
}

/// Another browser (an attacker who captured the posted form) posts the last response again;
/// it becomes the scenario's newest other browser.
pub async fn replay_in_other_browser(world: &mut LabWorld) -> Result<(), ActionError> {
    let lab = world.lab();
    let (action, fields) = world.saml_post.clone().ok_or_else(|| {
        ActionError::Login("no SAML response was posted in this scenario to replay".into())
    })?;
    let mut thief = Browser::new();
    let answer = post_response(&mut thief, &lab, &action, &fields).await;
    world.other_browsers.push(thief);
    answer.map(drop).map_err(ActionError::Login)
}

/// What a SAML logout did: the service's answer to `GET {logout}`, `/me` right after it, and
/// where the browser was sent.
#[derive(Debug, Clone)]
pub struct SamlLogoutTrace {
    pub status: u16,
    pub me_after: u16,
    pub redirect: Option<Url>,
}

/// `GET {logout}` in the main browser; `/me` is asked before the browser follows the redirect
/// (so the local session is judged on its own), then the browser goes through NemLog-in's SLO
/// and back to the service.
pub async fn logout(world: &mut LabWorld) -> Result<SamlLogoutTrace, ActionError> {
    let lab = world.lab();
    let url = lab.sp.logout_url.clone().ok_or_else(|| {
        ActionError::Unavailable("the target file declares no logout_path (@needs:logout)".into())
    })?;
    let page = world
        .browser
        .get(&url)
        .await
        .map_err(|e| ActionError::Login(format!("GET {url} did not answer: {e}")))?;
    let me_after = super::service_provider::ask_me(&lab, &mut world.browser)
        .await?
        .status;
    let redirect = page.location.clone().filter(|_| page.is_redirect());
    if let Some(next) = &redirect {
        let nemlogin = side(&lab)?.nemlogin.clone();
        let sp_base = lab.sp.base_url.clone();
        // The service's own answer to NemLog-in's LogoutResponse is not judged here.
        let _ = world
            .browser
            .navigate(next, |u| {
                same_origin(u, &nemlogin) || same_origin(u, &sp_base)
            })
            .await;
    }
    Ok(SamlLogoutTrace {
        status: page.status,
        me_after,
        redirect,
    })
}
