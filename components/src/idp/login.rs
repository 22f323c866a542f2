//! The citizen's login pages (plain HTML forms that work in any browser, no script needed) and
//! the endpoints the `MitID` app talks to.
//!
//! Flow: `/authorize` → `GET /login/{id}` (user ID) → choose an authenticator →
//! - app: the page shows the channel binding (4-digit code, or the QR payload from 6 June 2023 on)
//!   and refreshes itself; the app fetches `GET /app/pending/{user_id}`, signs the transaction and
//!   posts `POST /app/approvals/{id}`; the next refresh completes the login;
//! - code display / audio code reader: code + password;
//! - chip: password + the chip's assertion over the shown challenge.
//!
//! Every form carries a CSRF token bound to the login, and the login is bound to the browser by
//! a cookie set at `/authorize`: a form posted from another site or browser is refused.

// Handlers return the HTTP answer itself as the error (`Result<_, Response>`), large by nature;
// the page renderer is one match over the login's steps.
#![allow(clippy::result_large_err, clippy::too_many_lines)]

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use mitid_devices::app::{
    Approval, ChannelBinding, ChannelBindingKind, LoginPlatform, Transaction,
};
use mitid_devices::chip::{Assertion, AssertionRequest};
use mitid_devices::{Factor, Timestamp};
use rand_core::OsRng;
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::AuthenticatorKind;
pub use super::browser_login::CsrfForm;
use super::browser_login::{BrowserLogin, Pages, deny};
use super::oidc::{self, Authenticated, error_redirect};
use super::professional;
use super::registry::{AuthenticatorData, Identity};
use super::script::{AuthRequest, LoginIdp};
use super::{IdpState, SharedState};
use crate::service::{ApiError, Form, Json, Path};

pub const BROWSER_COOKIE: &str = "mitid_browser";

/// Where a login on the pages stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    UserId,
    ChooseMethod,
    AppWaiting,
    Code(AuthenticatorKind),
    Chip,
    /// Authenticated, in a business login: which of their companies the citizen acts for.
    ChooseOrganisation,
}

/// What a MitID login on the pages keeps of its own steps.
#[derive(Debug, Clone)]
pub struct MitidProgress {
    pub step: Step,
    pub binding: Option<ChannelBinding>,
    pub chip_request: Option<AssertionRequest>,
    /// What the authentication established, kept while the citizen chooses a company.
    pub authenticated: Option<Authenticated>,
}

/// One login on the HTML pages.
pub type LoginTx = BrowserLogin<MitidProgress>;

impl LoginTx {
    /// What the control API shows of a login (the lab's device reads the binding here).
    #[must_use]
    pub fn control_view(&self) -> Value {
        json!({
            "login_id": self.id,
            "client_id": self.request.client_id,
            "state": self.request.state,
            "step": format!("{:?}", self.at.step),
            "channel_binding": self.at.binding.map(|b| b.display_text()),
            "chip_request": self.at.chip_request,
            "failures": self.failures,
        })
    }
}

/// An app approval waiting for the device.
#[derive(Debug, Clone)]
pub struct PendingApproval {
    pub user_id: String,
    pub transaction: Transaction,
    pub result: Option<Result<mitid_devices::AppConfirmation, String>>,
}

fn timestamp(state: &IdpState) -> Timestamp {
    Timestamp::from_unix_secs(state.now_secs())
}

/// The MitID pages under `/login`, bound to the browser by [`BROWSER_COOKIE`].
const PAGES: Pages<MitidProgress> = Pages {
    brand: "MitID",
    path: "/login",
    cookie: BROWSER_COOKIE,
    not_found: "This login does not exist or has ended.",
    expired: "mitid_login_expired",
    style: "label,input,button{display:block;margin:.4rem 0;font-size:1.1rem}.code{font-size:2.5rem;letter-spacing:.4rem}",
    logins: |store| &mut store.logins,
    render,
    end: |state, tx, description| deny(state, &tx.request, tx.script_id.as_deref(), description),
    authentication_failed: "mitid_authentication_failed",
    user_aborted: "mitid_user_aborted",
};

/// Starts a login on the pages: stores it and sends the browser there.
pub fn begin(
    state: &SharedState,
    headers: &HeaderMap,
    request: AuthRequest,
    script_id: Option<String>,
) -> Response {
    PAGES.begin(
        state,
        headers,
        request,
        script_id,
        MitidProgress {
            step: Step::UserId,
            binding: None,
            chip_request: None,
            authenticated: None,
        },
    )
}

fn render(state: &IdpState, tx: &LoginTx) -> Response {
    let reference = tx
        .request
        .idp_params
        .reference_text
        .clone()
        .unwrap_or_else(|| format!("Log on to {}", tx.request.client_id));
    let header_text = html! {
        p { (reference) }
        (tx.message_html())
    };
    match &tx.at.step {
        Step::UserId => PAGES.form_page(
            tx,
            "Log on",
            &header_text,
            "user",
            &html! {
                label for="user_id" { "User ID" }
                input id="user_id" name="user_id" autocomplete="username" required;
            },
            "Continue",
        ),
        Step::ChooseMethod => {
            let id = tx.identity(state);
            let options: Vec<Markup> = [
                (AuthenticatorKind::App, "MitID app"),
                (AuthenticatorKind::CodeDisplay, "Code display"),
                (AuthenticatorKind::AudioCodeReader, "Audio code reader"),
                (AuthenticatorKind::Chip, "MitID chip"),
            ]
            .into_iter()
            .filter(|(kind, _)| {
                id.as_ref().is_some_and(|i| {
                    i.authenticators
                        .iter()
                        .any(|a| a.kind == *kind && !a.revoked && usable(&a.data))
                })
            })
            .map(|(kind, label)| {
                let value = serde_json::to_value(kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                PAGES.form(
                    tx,
                    "method",
                    &html! { input type="hidden" name="method" value=(value); },
                    label,
                )
            })
            .collect();
            PAGES.layout(
                "Choose how to log on",
                &html! {
                    (header_text)
                    @for option in &options { (option) }
                    @if options.is_empty() {
                        p { "This MitID has no active authenticator. Contact MitID support." }
                    }
                    (PAGES.cancel_form(tx))
                },
            )
        }
        Step::AppWaiting => {
            let binding = tx.at.binding.map(|b| {
                let text = b.display_text();
                if b.kind() == ChannelBindingKind::FourDigitCode {
                    html! {
                        p { "Check that the app shows this code:" }
                        p class="code" id="binding" { (text) }
                    }
                } else {
                    html! {
                        p { "Scan this code with the MitID app:" }
                        p class="code" id="binding" { code { (text) } }
                    }
                }
            });
            PAGES.waiting_page(
                tx,
                "Open your MitID app",
                &html! {
                    (header_text)
                    @if let Some(binding) = &binding { (binding) }
                    p { "Approve the request in the app. This page updates by itself." }
                },
            )
        }
        Step::Code(kind) => {
            let what = if *kind == AuthenticatorKind::AudioCodeReader {
                "the code read aloud by your audio code reader"
            } else {
                "the code shown on your code display"
            };
            PAGES.form_page(
                tx,
                "Enter code and password",
                &header_text,
                "code",
                &html! {
                    label for="code" { "Enter " (what) }
                    input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required;
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                },
                "Log on",
            )
        }
        Step::ChooseOrganisation => {
            let organisations = tx
                .identity(state)
                .map(|i| i.professional)
                .unwrap_or_default();
            PAGES.layout(
                "Choose who you log on for",
                &html! {
                    (header_text)
                    @for org in &organisations {
                        (PAGES.form(
                            tx,
                            "organisation",
                            &html! { input type="hidden" name="cvr" value=(org.cvr); },
                            &format!("{} (CVR {})", org.org_name, org.cvr),
                        ))
                    }
                    (PAGES.cancel_form(tx))
                },
            )
        }
        Step::Chip => {
            let challenge = tx
                .at
                .chip_request
                .as_ref()
                .map(|r| serde_json::to_string(r).unwrap_or_default())
                .unwrap_or_default();
            PAGES.form_page(
                tx,
                "Use your MitID chip",
                &html! {
                    (header_text)
                    p { "Connect your chip and press its button. Challenge:" }
                    pre id="challenge" { (challenge) }
                },
                "chip",
                &html! {
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" required;
                    label for="assertion" { "Chip answer" }
                    textarea id="assertion" name="assertion" rows="6" required {}
                },
                "Log on",
            )
        }
    }
}

/// The citizen is authenticated. A business login of a person acting for several companies
/// first stops at the chooser page, unless its script or test hint already chose one.
async fn finish(state: &SharedState, mut tx: LoginTx, authenticated: Authenticated) -> Response {
    let choosing = state.profile.asks_for_professional(&tx.request.idp_values)
        && tx.identity(state).is_some_and(|i| i.professional.len() > 1)
        && professional::chosen(state, &tx.request, None, tx.script_id.as_deref()).is_none();
    if choosing {
        tx.at.step = Step::ChooseOrganisation;
        tx.at.authenticated = Some(authenticated);
        return PAGES.save_and_show(state, &tx);
    }
    PAGES.finish(state, tx, authenticated).await
}

#[derive(Debug, Deserialize)]
pub struct OrganisationForm {
    pub csrf: String,
    pub cvr: String,
}

/// `POST /login/{id}/organisation`: the company the citizen chose on the chooser page.
pub async fn choose_organisation(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<OrganisationForm>,
) -> Result<Response, Response> {
    let tx = PAGES.load_form(&state, &headers, &id, &f.csrf)?;
    let (Step::ChooseOrganisation, Some(mut authenticated)) =
        (tx.at.step.clone(), tx.at.authenticated.clone())
    else {
        return Ok(render(&state, &tx));
    };
    let acts_for = tx
        .identity(&state)
        .is_some_and(|i| i.professional.iter().any(|p| p.cvr == f.cvr));
    if !acts_for {
        return Ok(PAGES.show_message(&state, tx, "Choose one of the companies listed."));
    }
    authenticated.organisation = Some(f.cvr);
    Ok(PAGES.finish(&state, tx, authenticated).await)
}

fn usable(data: &AuthenticatorData) -> bool {
    match data {
        AuthenticatorData::App { registration, .. } => registration.is_some(),
        AuthenticatorData::Chip(c) => c.is_active(),
        AuthenticatorData::CodeToken(_) | AuthenticatorData::Password { .. } => true,
    }
}

pub async fn page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let tx = PAGES.load(&state, &headers, &id)?;
    if tx.at.step == Step::AppWaiting {
        let outcome = state
            .lock()
            .pending_app
            .get(&id)
            .and_then(|p| p.result.clone());
        match outcome {
            Some(Ok(confirmation)) => {
                state.lock().pending_app.remove(&id);
                let authenticated =
                    Authenticated::assessed(LoginIdp::Mitid, &[Factor::MitidApp(confirmation)]);
                return Ok(finish(&state, tx, authenticated).await);
            }
            Some(Err(reason)) => {
                state.lock().pending_app.remove(&id);
                state.lock().logins.remove(&id);
                return Ok(error_redirect(
                    &state,
                    &tx.request,
                    "access_denied",
                    &reason,
                ));
            }
            None => {}
        }
    }
    Ok(render(&state, &tx))
}

#[derive(Debug, Deserialize)]
pub struct UserForm {
    pub csrf: String,
    pub user_id: String,
}

pub async fn submit_user(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<UserForm>,
) -> Result<Response, Response> {
    let mut tx = PAGES.load_form(&state, &headers, &id, &f.csrf)?;
    if tx.at.step != Step::UserId {
        return Ok(render(&state, &tx));
    }
    let user_id = f.user_id.trim().to_owned();
    let limited = {
        let mut store = state.lock();
        let cpr = store
            .registry
            .by_user_id(&user_id)
            .and_then(Identity::cpr)
            .map(str::to_owned);
        oidc::rate_limited(
            &state,
            &mut store,
            &format!("user:{}", user_id.to_ascii_lowercase()),
        ) || cpr.is_some_and(|c| oidc::rate_limited(&state, &mut store, &format!("cpr:{c}")))
    };
    if limited {
        return Ok(PAGES.show_message(
            &state,
            tx,
            "Too many attempts for this user ID. Try again later.",
        ));
    }
    let found_identity = state.lock().registry.by_user_id(&user_id).cloned();
    let Some(identity) = found_identity else {
        return Ok(PAGES.failed(&state, tx, "Unknown user ID."));
    };
    if let Some(hint) = &tx.request.idp_params.uuid_hint
        && *hint != identity.uuid
    {
        return Ok(PAGES.failed(
            &state,
            tx,
            "This user ID is not the one the service asked for.",
        ));
    }
    tx.uuid = Some(identity.uuid.clone());
    tx.at.step = Step::ChooseMethod;
    tx.message = None;
    Ok(PAGES.save_and_show(&state, &tx))
}

#[derive(Debug, Deserialize)]
pub struct MethodForm {
    pub csrf: String,
    pub method: AuthenticatorKind,
}

pub async fn choose_method(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<MethodForm>,
) -> Result<Response, Response> {
    let mut tx = PAGES.load_form(&state, &headers, &id, &f.csrf)?;
    let Some(identity) = tx
        .identity(&state)
        .filter(|_| tx.at.step == Step::ChooseMethod)
    else {
        return Ok(render(&state, &tx));
    };
    let has = identity
        .authenticators
        .iter()
        .any(|a| a.kind == f.method && !a.revoked && usable(&a.data));
    if !has {
        return Ok(PAGES.show_message(
            &state,
            tx,
            "That authenticator is not active for this MitID.",
        ));
    }
    let now = timestamp(&state);
    match f.method {
        AuthenticatorKind::App => {
            let kind =
                ChannelBindingKind::required(LoginPlatform::Computer, now, &state.policies.app);
            let binding = ChannelBinding::generate(kind, &mut OsRng);
            let reference = tx
                .request
                .idp_params
                .reference_text
                .clone()
                .unwrap_or_else(|| format!("Log on to {}", tx.request.client_id));
            let action = tx
                .request
                .idp_params
                .action_text
                .clone()
                .unwrap_or_else(|| "Log on".into());
            let transaction =
                Transaction::new(&identity.user_id, &reference, &action, binding, &mut OsRng);
            state.lock().pending_app.insert(
                tx.id.clone(),
                PendingApproval {
                    user_id: identity.user_id.to_ascii_lowercase(),
                    transaction,
                    result: None,
                },
            );
            tx.at.binding = Some(binding);
            tx.at.step = Step::AppWaiting;
        }
        AuthenticatorKind::CodeDisplay | AuthenticatorKind::AudioCodeReader => {
            tx.at.step = Step::Code(f.method);
        }
        AuthenticatorKind::Chip => {
            let origin = state.issuer.clone();
            tx.at.chip_request = Some(AssertionRequest::new(&state.rp_id, &origin, &mut OsRng));
            tx.at.step = Step::Chip;
        }
        AuthenticatorKind::Password => {
            tx.message = Some("A password alone is not enough to log on.".into());
        }
    }
    tx.message = tx
        .message
        .filter(|_| f.method == AuthenticatorKind::Password);
    Ok(PAGES.save_and_show(&state, &tx))
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    pub csrf: String,
    pub code: String,
    pub password: String,
}

pub async fn submit_code(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CodeForm>,
) -> Result<Response, Response> {
    let tx = PAGES.load_form(&state, &headers, &id, &f.csrf)?;
    let Step::Code(kind) = tx.at.step.clone() else {
        return Ok(render(&state, &tx));
    };
    let Some(uuid) = tx.uuid.clone() else {
        return Ok(render(&state, &tx));
    };
    let now = timestamp(&state);
    let verdict = {
        let mut store = state.lock();
        let Some(identity) = store.registry.by_uuid.get_mut(&uuid) else {
            return Ok(error_redirect(
                &state,
                &tx.request,
                "access_denied",
                "the identity no longer exists",
            ));
        };
        let password_ok = identity.password_matches(&f.password);
        let mut last = Err("Wrong code or password.".to_owned());
        for a in identity
            .authenticators
            .iter_mut()
            .filter(|a| a.kind == kind && !a.revoked)
        {
            if let AuthenticatorData::CodeToken(record) = &mut a.data {
                if !password_ok {
                    // Without the password the code is not tried, so it is not used up.
                    break;
                }
                match record.verify_typed(&f.code, now, &state.policies.code_token) {
                    Ok(_) => {
                        last = Ok(());
                        break;
                    }
                    Err(e) => last = Err(format!("The code was not accepted: {e}.")),
                }
            }
        }
        last
    };
    match verdict {
        Ok(()) => {
            let device = if kind == AuthenticatorKind::AudioCodeReader {
                Factor::AudioCodeReader
            } else {
                Factor::CodeDisplay
            };
            let authenticated =
                Authenticated::assessed(LoginIdp::Mitid, &[Factor::Password, device]);
            Ok(finish(&state, tx, authenticated).await)
        }
        Err(message) => Ok(PAGES.failed(&state, tx, &message)),
    }
}

#[derive(Debug, Deserialize)]
pub struct ChipForm {
    pub csrf: String,
    pub password: String,
    pub assertion: String,
}

pub async fn submit_chip(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ChipForm>,
) -> Result<Response, Response> {
    let tx = PAGES.load_form(&state, &headers, &id, &f.csrf)?;
    let (Step::Chip, Some(request), Some(uuid)) = (
        tx.at.step.clone(),
        tx.at.chip_request.clone(),
        tx.uuid.clone(),
    ) else {
        return Ok(render(&state, &tx));
    };
    let Ok(assertion) = serde_json::from_str::<Assertion>(&f.assertion) else {
        return Ok(PAGES.failed(&state, tx, "The chip answer could not be read."));
    };
    let verdict = {
        let mut store = state.lock();
        let Some(identity) = store.registry.by_uuid.get_mut(&uuid) else {
            return Ok(error_redirect(
                &state,
                &tx.request,
                "access_denied",
                "the identity no longer exists",
            ));
        };
        if identity.password_matches(&f.password) {
            let mut last = Err("The chip answer was not accepted.".to_owned());
            for a in identity
                .authenticators
                .iter_mut()
                .filter(|a| a.kind == AuthenticatorKind::Chip && !a.revoked)
            {
                if let AuthenticatorData::Chip(credential) = &mut a.data {
                    if credential.credential_id != assertion.credential_id {
                        continue;
                    }
                    last = credential
                        .verify(&request, &assertion, &state.policies.chip)
                        .map(|_| ())
                        .map_err(|e| format!("The chip answer was not accepted: {e}."));
                    break;
                }
            }
            last
        } else {
            Err("Wrong password.".to_owned())
        }
    };
    match verdict {
        Ok(()) => {
            let authenticated =
                Authenticated::assessed(LoginIdp::Mitid, &[Factor::Password, Factor::Chip]);
            Ok(finish(&state, tx, authenticated).await)
        }
        Err(message) => Ok(PAGES.failed(&state, tx, &message)),
    }
}

pub async fn cancel(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, Response> {
    let ended = PAGES.cancel(&state, &headers, &id, &f.csrf)?;
    state.lock().pending_app.remove(&id);
    Ok(ended)
}

/// `GET /login/{id}/status`: JSON for pages or tools that poll.
pub async fn status(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match PAGES.load(&state, &headers, &id) {
        Ok(tx) => {
            let approved = state
                .lock()
                .pending_app
                .get(&id)
                .map(|p| p.result.is_some());
            axum::Json(json!({"step": format!("{:?}", tx.at.step), "app_answered": approved}))
                .into_response()
        }
        Err(r) => r,
    }
}

/// `GET /app/pending/{user_id}`: the approvals waiting for this user's app.
pub async fn app_pending(
    State(state): State<SharedState>,
    Path(user_id): Path<String>,
) -> Json<Value> {
    let key = user_id.to_ascii_lowercase();
    let store = state.lock();
    let pending: Vec<Value> = store
        .pending_app
        .iter()
        .filter(|(_, p)| p.user_id == key && p.result.is_none())
        .map(|(id, p)| json!({"login_id": id, "transaction": p.transaction}))
        .collect();
    Json(json!({ "pending": pending }))
}

/// `POST /app/approvals/{login_id}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppAnswer {
    /// The signed approval, or absent when the citizen rejected in the app.
    #[serde(default)]
    pub approval: Option<Approval>,
    #[serde(default)]
    pub rejected: bool,
}

pub async fn app_approve(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Json(answer): Json<AppAnswer>,
) -> Result<Json<Value>, ApiError> {
    let mut store = state.lock();
    let Some(pending) = store.pending_app.get(&id).cloned() else {
        return Err(ApiError::NotFound(format!(
            "no approval pending for login {id}"
        )));
    };
    if pending.result.is_some() {
        return Err(ApiError::Conflict("this login was already answered".into()));
    }
    let result = if answer.rejected {
        Err("mitid_user_aborted".to_owned())
    } else {
        let approval = answer.approval.ok_or_else(|| {
            ApiError::invalid_request("approval: missing (or set rejected: true)")
        })?;
        let registrations: Vec<_> = store
            .registry
            .by_user_id(&pending.user_id)
            .map(|i| {
                i.authenticators
                    .iter()
                    .filter(|a| !a.revoked)
                    .filter_map(|a| match &a.data {
                        AuthenticatorData::App {
                            registration: Some(r),
                            ..
                        } => Some(r.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut verdict = Err(ApiError::Forbidden(
            "no active app is registered for this user".into(),
        ));
        for registration in &registrations {
            match registration.verify(&pending.transaction, &approval) {
                Ok(confirmation) => {
                    verdict = Ok(confirmation);
                    break;
                }
                Err(e) => verdict = Err(ApiError::Forbidden(format!("approval refused: {e}"))),
            }
        }
        Ok(verdict?)
    };
    let accepted = result.is_ok();
    if let Some(p) = store.pending_app.get_mut(&id) {
        p.result = Some(result);
    }
    Ok(Json(json!({ "accepted": accepted })))
}
