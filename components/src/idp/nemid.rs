//! NemID at the broker: credentials issued to a person (key card and/or key app, password, PID),
//! the NemID login (HTML pages under `/nemid/...` and the headless `login_hint=test:<user>:nemid_*`
//! path), the phase-out calendar (per-sector cut-offs, end of post orders, of MitID via NemID, of
//! support, the shutdown), and MitID.dk's "get MitID with NemID".
//!
//! Verification is the devices crate's: the `IdP` keeps a [`NemidAccount`] (password hash, key
//! card record, temporary-password order) and a [`KeyAppRecord`]; the citizen holds the printed
//! [`KeyCard`] and the [`NemidKeyApp`] the admin API hands out. A NemID login yields `idp` =
//! the profile's `nemid_idp_value`, `nemid.pid`, and the `amr`/AAL of `assess` (key card →
//! `code_token`, key app → `code_app`, both with the password: Substantial).
//!
//! Error descriptions (all with `error=access_denied` on the redirect):
//! `nemid_cutoff_passed: ...` (the client's sector refuses NemID from its cut-off),
//! `nemid_shut_down: ...` (from the shutdown), `nemid_unknown_user`, `nemid_blocked: ...`
//! (locked, closed or awaiting a temporary password), `nemid_authentication_failed`,
//! `nemid_user_aborted`.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]
// Handlers return the HTTP answer itself as the error (`Result<_, Response>`), large by nature.
#![allow(clippy::result_large_err, clippy::too_many_lines)]

use std::collections::HashMap;

use crate::service::Routes;
use crate::service::routing::{get, post};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mitid_devices::nemid::{NemidAccount, NemidError, NemidStatus};
use mitid_devices::{Factor, KeyAppRecord, KeyCard, NemidKeyApp, Timestamp};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::admin::{AddAuthenticatorRequest, AuthenticatorIssued, Ial};
pub use super::browser_login::CsrfForm;
use super::browser_login::{BrowserLogin, Pages, deny};
use super::oidc::{self, Authenticated};
use super::registry::{Identity, random_token};
use super::script::{AuthRequest, Behaviour, LoginIdp};
use super::{IdpState, SharedState};
use crate::nemid_calendar::{DEFAULT_SECTOR, Milestone};
use crate::service::{ApiError, Form, Json, Path};

/// Cookie binding a NemID login to the browser that started it.
pub const NEMID_BROWSER_COOKIE: &str = "nemid_browser";

/// A person's NemID at the broker.
#[derive(Debug, Clone)]
pub struct NemidCredentials {
    pub account: NemidAccount,
    pub key_app: Option<KeyAppRecord>,
    /// What the lab's citizen holds, so the headless path can answer as the citizen would.
    pub citizen_card: KeyCard,
    pub citizen_app: Option<NemidKeyApp>,
}

/// Where a NemID login on the pages stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NemidStep {
    Credentials,
    KeyCard { key_number: u16 },
    KeyApp,
}

/// What a NemID login on the pages keeps of its own steps.
#[derive(Debug, Clone)]
pub struct NemidProgress {
    pub step: NemidStep,
    /// The key app's request for this login (what the app approves).
    pub app_challenge: Option<[u8; 32]>,
    /// The key app answered this login's request (verified).
    pub app_approved: bool,
}

/// One NemID login on the HTML pages.
pub type NemidLoginTx = BrowserLogin<NemidProgress>;

/// The NemID pages under `/nemid`, bound to the browser by [`NEMID_BROWSER_COOKIE`].
const PAGES: Pages<NemidProgress> = Pages {
    brand: "NemID",
    path: "/nemid",
    cookie: NEMID_BROWSER_COOKIE,
    not_found: "This NemID login does not exist or has ended.",
    expired: "nemid_login_expired",
    style: "label,input,button,select{display:block;margin:.4rem 0;font-size:1.1rem}.key{font-size:2.5rem;letter-spacing:.4rem}",
    logins: |store| &mut store.nemid.logins,
    render: |_, tx| render(tx),
    end: |state, tx, description| deny(state, &tx.request, tx.script_id.as_deref(), description),
    authentication_failed: "nemid_authentication_failed",
    user_aborted: "nemid_user_aborted",
};

/// NemID state of the broker (one field of the store).
#[derive(Debug, Default)]
pub struct NemidStore {
    /// By MitID identity UUID.
    pub accounts: HashMap<String, NemidCredentials>,
    /// Client id → sector (clients not listed are of [`DEFAULT_SECTOR`]).
    pub client_sectors: HashMap<String, String>,
    pub logins: HashMap<String, NemidLoginTx>,
}

impl NemidStore {
    #[must_use]
    pub fn sector_of(&self, client_id: &str) -> &str {
        self.client_sectors
            .get(client_id)
            .map_or(DEFAULT_SECTOR, String::as_str)
    }
}

/// Public routes: the NemID pages and the key app's endpoints.
pub fn public_routes() -> Routes<SharedState> {
    Routes::new()
        .route("/nemid/{login_id}", get(page))
        .route("/nemid/{login_id}/credentials", post(submit_credentials))
        .route("/nemid/{login_id}/key-card", post(submit_key_card))
        .route("/nemid/{login_id}/cancel", post(cancel))
        .route("/nemid-app/{device_id}/pending", get(app_pending))
        .route("/nemid-app/{device_id}/approvals", post(app_approve))
        .route("/mitid-dk/get-mitid-with-nemid", post(get_mitid_with_nemid))
        .route(
            "/mitid-dk/forgot-user-id-with-nemid",
            post(forgot_user_id_with_nemid),
        )
}

/// Control routes: NemID credentials in the admin API and client sectors.
pub fn control_routes() -> Routes<SharedState> {
    Routes::new()
        .route(
            "/admin/identities/{uuid}/nemid",
            post(issue).get(view_account),
        )
        .route("/admin/identities/{uuid}/nemid/orders", post(order))
        .route(
            "/admin/identities/{uuid}/nemid/temporary-password/redeem",
            post(redeem_temporary_password),
        )
        .route(
            "/control/clients/{client_id}/sector",
            get(get_sector).put(set_sector),
        )
}

fn now(state: &IdpState) -> Timestamp {
    Timestamp::from_unix_secs(state.now_secs())
}

/// Whether the request asked for NemID (`idp_values` names the profile's NemID value first).
#[must_use]
pub fn requested(state: &IdpState, req: &AuthRequest) -> bool {
    state
        .profile
        .nemid_idp_value
        .as_deref()
        .is_some_and(|v| req.idp_values.first().map(String::as_str) == Some(v))
}

/// The calendar's refusal of a NemID login for this request's client today, unless this login's
/// script tells the broker to ignore the calendar.
pub fn cutoff_refusal(
    state: &IdpState,
    req: &AuthRequest,
    script_id: Option<&str>,
) -> Option<String> {
    let store = state.lock();
    if store
        .scripts
        .get(script_id)
        .is_some_and(|s| s.request.ignore_nemid_cutoff)
    {
        return None;
    }
    let sector = store.nemid.sector_of(&req.client_id).to_owned();
    drop(store);
    state
        .nemid_calendar
        .check_login(&sector, state.clock.today())
        .err()
        .map(|refusal| refusal.description())
}

fn blocked_description(status: NemidStatus) -> String {
    match status {
        NemidStatus::Active => "nemid_blocked".into(),
        NemidStatus::AwaitingTemporaryPassword { delivered_on } => format!(
            "nemid_blocked: NemID is blocked until the temporary password (arriving {delivered_on}) is used"
        ),
        NemidStatus::Locked => "nemid_blocked: too many wrong key-card codes".into(),
        NemidStatus::Closed => "nemid_blocked: this NemID is closed".into(),
    }
}

/// The headless NemID login (`login_hint=test:<user>:nemid_key_card|nemid_key_app`): the lab is
/// the citizen and answers with what the citizen holds; the broker checks it for real (a key-card
/// pair is used up, a locked or blocked NemID is refused).
pub async fn headless(
    state: &SharedState,
    req: &AuthRequest,
    identity: &Identity,
    behaviour: Behaviour,
    script_id: Option<String>,
) -> Response {
    if let Some(description) = cutoff_refusal(state, req, script_id.as_deref()) {
        return deny(state, req, script_id.as_deref(), &description);
    }
    let t = now(state);
    let verdict: Result<Factor, String> = {
        let mut store = state.lock();
        match store.nemid.accounts.get_mut(&identity.uuid) {
            None => Err(format!(
                "nemid_unknown_user: `{}` has no NemID",
                identity.user_id
            )),
            Some(creds) => {
                let status = creds.account.status(t, &state.policies.key_card);
                if status == NemidStatus::Active {
                    if behaviour == Behaviour::NemidKeyApp {
                        match (&mut creds.key_app, &creds.citizen_app) {
                            (Some(record), Some(app)) => {
                                let challenge = record.challenge(&mut OsRng);
                                record
                                    .verify(&app.approve(&challenge))
                                    .map(|()| Factor::NemidKeyApp)
                                    .map_err(|e| format!("nemid_authentication_failed: {e}"))
                            }
                            _ => Err("nemid_authentication_failed: no key app is active".into()),
                        }
                    } else {
                        let policy = &state.policies.key_card;
                        let record = &mut creds.account.key_card;
                        record
                            .challenge(t, policy, &mut OsRng)
                            .and_then(|key| {
                                let code = creds.citizen_card.code_for(key).unwrap_or(u32::MAX);
                                record.verify(key, code, t, policy)
                            })
                            .map(|_| Factor::NemidKeyCard)
                            .map_err(|e| format!("nemid_authentication_failed: {e}"))
                    }
                } else {
                    Err(blocked_description(status))
                }
            }
        }
    };
    match verdict {
        Ok(factor) => {
            oidc::complete(
                state,
                req,
                identity,
                Authenticated::assessed(LoginIdp::Nemid, &[Factor::Password, factor]),
                script_id,
            )
            .await
        }
        Err(description) => deny(state, req, script_id.as_deref(), &description),
    }
}

/// Starts a NemID login on the pages (after the calendar check).
pub fn begin(
    state: &SharedState,
    headers: &HeaderMap,
    request: AuthRequest,
    script_id: Option<String>,
) -> Response {
    if let Some(description) = cutoff_refusal(state, &request, script_id.as_deref()) {
        return deny(state, &request, script_id.as_deref(), &description);
    }
    PAGES.begin(
        state,
        headers,
        request,
        script_id,
        NemidProgress {
            step: NemidStep::Credentials,
            app_challenge: None,
            app_approved: false,
        },
    )
}

fn render(tx: &NemidLoginTx) -> Response {
    let message = tx.message_html();
    match &tx.at.step {
        NemidStep::Credentials => PAGES.form_page(
            tx,
            "Log on with NemID",
            &message,
            "credentials",
            "<label for=\"user_id\">User ID or CPR number</label><input id=\"user_id\" name=\"user_id\" autocomplete=\"username\" required>\
             <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <label for=\"method\">Confirm with</label><select id=\"method\" name=\"method\">\
             <option value=\"key_card\">Key card</option><option value=\"key_app\">Key app</option></select>",
            "Next",
        ),
        NemidStep::KeyCard { key_number } => PAGES.form_page(
            tx,
            "Enter the code from your key card",
            &format!(
                "{message}<p>Key number:</p><p class=\"key\" id=\"key_number\">{key_number:04}</p>"
            ),
            "key-card",
            &format!(
                "<input type=\"hidden\" name=\"key_number\" value=\"{key_number:04}\">\
                 <label for=\"code\">Code</label><input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>"
            ),
            "Log on",
        ),
        NemidStep::KeyApp => PAGES.waiting_page(
            tx,
            "Approve in your NemID key app",
            &format!(
                "{message}<p>Open the key app and approve the request. This page updates by itself.</p>"
            ),
        ),
    }
}

async fn finish(state: &SharedState, tx: NemidLoginTx, factor: Factor) -> Response {
    // The calendar may have moved on while the citizen was on the pages.
    if let Some(description) = cutoff_refusal(state, &tx.request, tx.script_id.as_deref()) {
        PAGES.remove(state, &tx.id);
        return deny(state, &tx.request, tx.script_id.as_deref(), &description);
    }
    let authenticated = Authenticated::assessed(LoginIdp::Nemid, &[Factor::Password, factor]);
    PAGES.finish(state, tx, authenticated).await
}

pub async fn page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let tx = PAGES.load(&state, &headers, &id)?;
    if tx.at.step == NemidStep::KeyApp && tx.at.app_approved {
        return Ok(finish(&state, tx, Factor::NemidKeyApp).await);
    }
    Ok(render(&tx))
}

/// The person a NemID user ID names: the broker's user ID, or a CPR number.
fn find_identity(state: &IdpState, user_id: &str) -> Option<Identity> {
    let store = state.lock();
    let digits: String = user_id.chars().filter(char::is_ascii_digit).collect();
    store
        .registry
        .by_user_id(user_id)
        .or_else(|| {
            (digits.len() == 10 && user_id.chars().all(|c| c.is_ascii_digit() || c == '-'))
                .then(|| store.registry.cprs.get(&digits))
                .flatten()
                .and_then(|uuid| store.registry.by_uuid.get(uuid))
        })
        .cloned()
}

#[derive(Debug, Deserialize)]
pub struct CredentialsForm {
    pub csrf: String,
    pub user_id: String,
    pub password: String,
    #[serde(default)]
    pub method: Option<String>,
}

pub async fn submit_credentials(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CredentialsForm>,
) -> Result<Response, Response> {
    let mut tx = PAGES.load_form(&state, &headers, &id, &f.csrf)?;
    if tx.at.step != NemidStep::Credentials {
        return Ok(render(&tx));
    }
    let user_id = f.user_id.trim().to_owned();
    let limited = {
        let mut store = state.lock();
        oidc::rate_limited(
            &state,
            &mut store,
            &format!("user:{}", user_id.to_ascii_lowercase()),
        )
    };
    if limited {
        return Ok(PAGES.show_message(
            &state,
            tx,
            "Too many attempts for this user ID. Try again later.",
        ));
    }
    let Some(identity) = find_identity(&state, &user_id) else {
        return Ok(PAGES.failed(&state, tx, "Wrong user ID or password."));
    };
    let use_app = f.method.as_deref() == Some("key_app");
    if !matches!(f.method.as_deref(), None | Some("key_card" | "key_app")) {
        return Ok(PAGES.show_message(&state, tx, "Choose the key card or the key app."));
    }
    let t = now(&state);
    let step = {
        let mut store = state.lock();
        let Some(creds) = store.nemid.accounts.get_mut(&identity.uuid) else {
            drop(store);
            return Ok(PAGES.failed(&state, tx, "Wrong user ID or password."));
        };
        match creds
            .account
            .check_password(&f.password, t, &state.policies.key_card)
        {
            Ok(()) => {}
            Err(NemidError::WrongPassword) => {
                drop(store);
                return Ok(PAGES.failed(&state, tx, "Wrong user ID or password."));
            }
            Err(_) => {
                let status = creds.account.status(t, &state.policies.key_card);
                drop(store);
                state.lock().nemid.logins.remove(&tx.id);
                return Ok(deny(
                    &state,
                    &tx.request,
                    tx.script_id.as_deref(),
                    &blocked_description(status),
                ));
            }
        }
        if use_app {
            match creds.key_app.as_mut() {
                Some(record) => {
                    tx.at.app_challenge = Some(record.challenge(&mut OsRng));
                    Ok(NemidStep::KeyApp)
                }
                None => Err("This NemID has no key app. Use the key card.".to_owned()),
            }
        } else {
            creds
                .account
                .key_card
                .challenge(t, &state.policies.key_card, &mut OsRng)
                .map(|key_number| NemidStep::KeyCard { key_number })
                .map_err(|e| format!("The key card cannot be used: {e}."))
        }
    };
    match step {
        Ok(step) => {
            tx.uuid = Some(identity.uuid);
            tx.at.step = step;
            tx.message = None;
        }
        Err(message) => tx.message = Some(message),
    }
    Ok(PAGES.save_and_show(&state, &tx))
}

#[derive(Debug, Deserialize)]
pub struct KeyCardForm {
    pub csrf: String,
    pub key_number: String,
    pub code: String,
}

pub async fn submit_key_card(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<KeyCardForm>,
) -> Result<Response, Response> {
    let tx = PAGES.load_form(&state, &headers, &id, &f.csrf)?;
    let (NemidStep::KeyCard { .. }, Some(uuid)) = (tx.at.step.clone(), tx.uuid.clone()) else {
        return Ok(render(&tx));
    };
    let (Ok(key_number), Ok(code)) = (
        f.key_number.trim().parse::<u16>(),
        f.code.trim().parse::<u32>(),
    ) else {
        return Ok(PAGES.failed(
            &state,
            tx,
            "Enter the 6-digit code for the key number shown.",
        ));
    };
    let t = now(&state);
    let verdict = {
        let mut store = state.lock();
        match store.nemid.accounts.get_mut(&uuid) {
            Some(creds) => creds
                .account
                .key_card
                .verify(key_number, code, t, &state.policies.key_card)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            None => Err("this NemID no longer exists".into()),
        }
    };
    Ok(match verdict {
        Ok(()) => finish(&state, tx, Factor::NemidKeyCard).await,
        Err(message) => PAGES.failed(
            &state,
            tx,
            &format!("The code was not accepted: {message}."),
        ),
    })
}

pub async fn cancel(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, Response> {
    PAGES.cancel(&state, &headers, &id, &f.csrf)
}

/// `GET /nemid-app/{device_id}/pending`: the login waiting for this key app, with its challenge.
pub async fn app_pending(
    State(state): State<SharedState>,
    Path(device_id): Path<String>,
) -> Json<Value> {
    let store = state.lock();
    let pending: Vec<Value> = store
        .nemid
        .logins
        .values()
        .filter(|tx| tx.at.step == NemidStep::KeyApp && !tx.at.app_approved)
        .filter_map(|tx| {
            let creds = store.nemid.accounts.get(tx.uuid.as_deref()?)?;
            let record = creds.key_app.as_ref()?;
            (record.device_id == device_id).then(|| {
                json!({
                    "login_id": tx.id,
                    "service": tx.request.client_id,
                    "challenge": tx.at.app_challenge.map(hex::encode),
                })
            })
        })
        .collect();
    Json(json!({ "pending": pending }))
}

fn unhex32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// `POST /nemid-app/{device_id}/approvals` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyAppAnswer {
    pub login_id: String,
    /// Hex of the app's 32-byte approval of the challenge.
    pub approval: String,
}

pub async fn app_approve(
    State(state): State<SharedState>,
    Path(device_id): Path<String>,
    Json(answer): Json<KeyAppAnswer>,
) -> Result<Json<Value>, ApiError> {
    let approval = unhex32(&answer.approval)
        .ok_or_else(|| ApiError::invalid_request("approval: must be 64 hex digits"))?;
    let mut store = state.lock();
    let uuid = store
        .nemid
        .logins
        .get(&answer.login_id)
        .filter(|tx| tx.at.step == NemidStep::KeyApp)
        .and_then(|tx| tx.uuid.clone())
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no NemID login {} is waiting for a key app",
                answer.login_id
            ))
        })?;
    let record = store
        .nemid
        .accounts
        .get_mut(&uuid)
        .and_then(|c| c.key_app.as_mut())
        .filter(|r| r.device_id == device_id)
        .ok_or_else(|| ApiError::Forbidden(format!("key app {device_id} is not this login's")))?;
    record
        .verify(&approval)
        .map_err(|e| ApiError::Forbidden(format!("approval refused: {e}")))?;
    if let Some(tx) = store.nemid.logins.get_mut(&answer.login_id) {
        tx.at.app_approved = true;
    }
    Ok(Json(json!({ "accepted": true })))
}

// ---------------------------------------------------------------------------------------------
// Admin API: NemID credentials

/// `POST /admin/identities/{uuid}/nemid`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueNemidRequest {
    /// The NemID password (4-digit PIN or 6–40 characters, rules of the devices crate).
    pub password: String,
    #[serde(default = "yes")]
    pub key_card: bool,
    #[serde(default)]
    pub key_app: bool,
    /// The NemID PID; generated when absent (and the identity has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    /// `YYYY-MM-DD` the NemID was issued (default today on the lab clock): the lab records
    /// people who got NemID before the calendar ended, so the date is checked against the
    /// calendar, not today, and must not lie in the future.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_on: Option<String>,
}

const fn yes() -> bool {
    true
}

/// What the citizen receives: the printed card and the activated key app.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NemidIssued {
    pub nemid_pid: String,
    pub user_id: String,
    pub key_card: KeyCard,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_app: Option<NemidKeyApp>,
}

/// `GET /admin/identities/{uuid}/nemid`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NemidView {
    pub user_id: String,
    pub nemid_pid: Option<String>,
    pub status: NemidStatus,
    pub key_card_serial: String,
    pub key_card_remaining: u16,
    pub key_app_device: Option<String>,
}

fn calendar_refusal(error: &'static str, description: String) -> ApiError {
    ApiError::oauth(StatusCode::FORBIDDEN, error, description)
}

fn nemid_rule(e: NemidError) -> ApiError {
    match e {
        NemidError::PasswordRule(rule) => ApiError::invalid_request(format!("password: {rule}")),
        NemidError::Closed => ApiError::Conflict("this NemID is closed".into()),
        other => ApiError::Conflict(other.to_string()),
    }
}

fn card_serial() -> String {
    format!("NK-{:08}", OsRng.next_u32() % 100_000_000)
}

pub async fn issue(
    State(state): State<SharedState>,
    Path(uuid): Path<String>,
    Json(req): Json<IssueNemidRequest>,
) -> Result<(StatusCode, Json<NemidIssued>), ApiError> {
    let calendar = &state.nemid_calendar;
    let today = state.clock.today();
    let issued_on = match req.issued_on.as_deref() {
        None => today,
        Some(text) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|d| *d <= today)
            .ok_or_else(|| {
                ApiError::invalid_request(format!(
                    "issued_on: `{text}` is not a YYYY-MM-DD date on or before today ({today})"
                ))
            })?,
    };
    if calendar.reached(Milestone::SupportCloses, issued_on) {
        return Err(calendar_refusal(
            "nemid_not_issued",
            format!(
                "no new NemID is issued from {}",
                calendar.date(Milestone::SupportCloses)
            ),
        ));
    }
    if !req.key_card && !req.key_app {
        return Err(ApiError::invalid_request(
            "key_card, key_app: at least one must be true",
        ));
    }
    if let Some(pid) = &req.pid
        && (pid.is_empty() || pid.len() > 64)
    {
        return Err(ApiError::invalid_request("pid: must be 1–64 characters"));
    }
    let serial = card_serial();
    let mut store = state.lock();
    let identity = store.registry.get_mut(&uuid)?;
    let user_id = identity.user_id.clone();
    let cpr = identity.cpr().map(str::to_owned);
    if store.nemid.accounts.contains_key(&uuid) {
        return Err(ApiError::Conflict(format!(
            "identity {uuid} already has a NemID"
        )));
    }
    let card = KeyCard::issue(serial, &state.policies.key_card, &mut OsRng);
    let account = NemidAccount::new(
        &user_id,
        &req.password,
        cpr.as_deref(),
        card.clone(),
        &state.policies.nemid_password,
        &mut OsRng,
    )
    .map_err(nemid_rule)?;
    let (citizen_app, key_app) = if req.key_app {
        let (app, record) =
            NemidKeyApp::activate(format!("nemid-app-{}", random_token(6)), &mut OsRng);
        (Some(app), Some(record))
    } else {
        (None, None)
    };
    let identity = store.registry.get_mut(&uuid)?;
    let pid = req
        .pid
        .or_else(|| identity.nemid_pid.clone())
        .unwrap_or_else(|| format!("9208-2002-2-{:012}", OsRng.next_u64() % 1_000_000_000_000));
    identity.nemid_pid = Some(pid.clone());
    store.nemid.accounts.insert(
        uuid,
        NemidCredentials {
            account,
            key_app,
            citizen_card: card.clone(),
            citizen_app: citizen_app.clone(),
        },
    );
    Ok((
        StatusCode::CREATED,
        Json(NemidIssued {
            nemid_pid: pid,
            user_id,
            key_card: card,
            key_app: citizen_app,
        }),
    ))
}

pub async fn view_account(
    State(state): State<SharedState>,
    Path(uuid): Path<String>,
) -> Result<Json<NemidView>, ApiError> {
    let t = now(&state);
    let store = state.lock();
    let creds = store
        .nemid
        .accounts
        .get(&uuid)
        .ok_or_else(|| ApiError::NotFound(format!("identity {uuid} has no NemID")))?;
    Ok(Json(NemidView {
        user_id: creds.account.user_id.clone(),
        nemid_pid: store
            .registry
            .by_uuid
            .get(&uuid)
            .and_then(|i| i.nemid_pid.clone()),
        status: creds.account.status(t, &state.policies.key_card),
        key_card_serial: creds.account.key_card.card.serial.clone(),
        key_card_remaining: creds.account.key_card.remaining(),
        key_app_device: creds.key_app.as_ref().map(|r| r.device_id.clone()),
    }))
}

/// What can be ordered for a NemID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NemidItem {
    KeyCard,
    TemporaryPassword,
}

/// Where it is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderChannel {
    /// NemID support by phone; sent by post (3–4 working days).
    SupportLine,
    /// At a Citizen Service counter; handed over at once.
    CitizenService,
}

/// `POST /admin/identities/{uuid}/nemid/orders`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NemidOrder {
    pub item: NemidItem,
    pub channel: OrderChannel,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NemidOrdered {
    pub item: NemidItem,
    pub channel: OrderChannel,
    /// When the citizen has it (today at Citizen Service).
    pub delivered_on: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_card: Option<KeyCard>,
    /// The password printed in the letter (the lab's citizen reads it once delivered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
}

/// The calendar's answer to an order on `channel` today.
fn order_refusal(state: &IdpState, channel: OrderChannel) -> Option<ApiError> {
    let calendar = &state.nemid_calendar;
    let today = state.clock.today();
    let date = |m| calendar.date(m);
    if calendar.reached(Milestone::Shutdown, today) {
        return Some(calendar_refusal(
            "nemid_shut_down",
            format!("NemID was shut down on {}", date(Milestone::Shutdown)),
        ));
    }
    match channel {
        OrderChannel::SupportLine if calendar.reached(Milestone::SupportCloses, today) => {
            Some(calendar_refusal(
                "nemid_support_closed",
                format!("NemID support closed on {}", date(Milestone::SupportCloses)),
            ))
        }
        OrderChannel::SupportLine if calendar.reached(Milestone::PostOrdersEnd, today) => {
            Some(calendar_refusal(
                "nemid_post_orders_ended",
                format!(
                    "from {} key cards and temporary passwords are only issued at Citizen Service",
                    date(Milestone::PostOrdersEnd)
                ),
            ))
        }
        OrderChannel::CitizenService if calendar.reached(Milestone::SupportCloses, today) => {
            Some(calendar_refusal(
                "nemid_not_issued",
                format!(
                    "no new NemID is issued from {}",
                    date(Milestone::SupportCloses)
                ),
            ))
        }
        _ => None,
    }
}

pub async fn order(
    State(state): State<SharedState>,
    Path(uuid): Path<String>,
    Json(req): Json<NemidOrder>,
) -> Result<(StatusCode, Json<NemidOrdered>), ApiError> {
    if !state.lock().nemid.accounts.contains_key(&uuid) {
        return Err(ApiError::NotFound(format!("identity {uuid} has no NemID")));
    }
    if let Some(refusal) = order_refusal(&state, req.channel) {
        return Err(refusal);
    }
    let t = now(&state);
    let serial = card_serial();
    let mut store = state.lock();
    let creds = store
        .nemid
        .accounts
        .get_mut(&uuid)
        .ok_or_else(|| ApiError::NotFound(format!("identity {uuid} has no NemID")))?;
    let post = state
        .policies
        .temporary_password
        .delivery_date(t.date(), OsRng.next_u32());
    let delivered_on = match req.channel {
        OrderChannel::SupportLine => post,
        OrderChannel::CitizenService => t.date(),
    };
    let ordered = match req.item {
        NemidItem::KeyCard => {
            let card = KeyCard::issue(serial, &state.policies.key_card, &mut OsRng);
            creds.account.key_card.replace_card(card.clone());
            creds.citizen_card = card.clone();
            NemidOrdered {
                item: req.item,
                channel: req.channel,
                delivered_on: delivered_on.to_string(),
                key_card: Some(card),
                temporary_password: None,
            }
        }
        NemidItem::TemporaryPassword => {
            creds
                .account
                .order_temporary_password(t, &state.policies.temporary_password, &mut OsRng)
                .map_err(nemid_rule)?;
            let order = creds
                .account
                .temporary_password
                .as_mut()
                .ok_or_else(|| ApiError::Conflict("the order was not placed".into()))?;
            order.delivered_on = delivered_on;
            NemidOrdered {
                item: req.item,
                channel: req.channel,
                delivered_on: delivered_on.to_string(),
                key_card: None,
                temporary_password: Some(order.reveal_code().to_owned()),
            }
        }
    };
    Ok((StatusCode::CREATED, Json(ordered)))
}

/// `POST /admin/identities/{uuid}/nemid/temporary-password/redeem`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemTemporaryPassword {
    pub temporary_password: String,
    pub new_password: String,
}

pub async fn redeem_temporary_password(
    State(state): State<SharedState>,
    Path(uuid): Path<String>,
    Json(req): Json<RedeemTemporaryPassword>,
) -> Result<Json<NemidView>, ApiError> {
    let t = now(&state);
    {
        let mut store = state.lock();
        let cpr = store
            .registry
            .by_uuid
            .get(&uuid)
            .and_then(Identity::cpr)
            .map(str::to_owned);
        let creds = store
            .nemid
            .accounts
            .get_mut(&uuid)
            .ok_or_else(|| ApiError::NotFound(format!("identity {uuid} has no NemID")))?;
        creds
            .account
            .redeem_temporary_password(
                &req.temporary_password,
                &req.new_password,
                cpr.as_deref(),
                t,
                &state.policies.nemid_password,
                &mut OsRng,
            )
            .map_err(|e| match e {
                NemidError::WrongTemporaryPassword => {
                    ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_code", e.to_string())
                }
                other => nemid_rule(other),
            })?;
    }
    view_account(State(state), Path(uuid)).await
}

// ---------------------------------------------------------------------------------------------
// Client sectors

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectorBody {
    pub sector: String,
}

/// Checks a sector name against the calendar.
pub fn check_sector(state: &IdpState, sector: &str) -> Result<(), ApiError> {
    if state.nemid_calendar.knows_sector(sector) {
        Ok(())
    } else {
        let known: Vec<&str> = state
            .nemid_calendar
            .sectors
            .keys()
            .map(String::as_str)
            .collect();
        Err(ApiError::invalid_request(format!(
            "sector: `{sector}` is not in the NemID calendar; known: {}",
            known.join(", ")
        )))
    }
}

pub async fn get_sector(
    State(state): State<SharedState>,
    Path(client_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.lock();
    if !store.clients.contains_key(&client_id) {
        return Err(ApiError::NotFound(format!("no client `{client_id}`")));
    }
    let sector = store.nemid.sector_of(&client_id).to_owned();
    let cutoff = state.nemid_calendar.cutoff(&sector).to_string();
    Ok(Json(
        json!({"client_id": client_id, "sector": sector, "nemid_cutoff": cutoff}),
    ))
}

pub async fn set_sector(
    State(state): State<SharedState>,
    Path(client_id): Path<String>,
    Json(body): Json<SectorBody>,
) -> Result<Json<Value>, ApiError> {
    check_sector(&state, &body.sector)?;
    {
        let mut store = state.lock();
        if !store.clients.contains_key(&client_id) {
            return Err(ApiError::NotFound(format!("no client `{client_id}`")));
        }
        store
            .nemid
            .client_sectors
            .insert(client_id.clone(), body.sector);
    }
    get_sector(State(state), Path(client_id)).await
}

// ---------------------------------------------------------------------------------------------
// MitID.dk: get MitID with NemID

/// `POST /mitid-dk/get-mitid-with-nemid`: the citizen proves NemID (user ID or CPR, password and
/// one key-card answer) and gets a MitID app activation code; the identity is raised to IAL
/// Substantial. Refused from the calendar's `mitid_migration_ends`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetMitidWithNemid {
    pub user_id: String,
    pub password: String,
    /// Step 2: the key number the first call answered with, and the card's code for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_number: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// Where a MitID.dk page's NemID proof (user ID or CPR, password, one key-card answer) stands.
enum NemidProof {
    /// Password right; the page asks for the code of this key number.
    KeyCardAsked(u16),
    /// Password and key-card code right.
    Proven(Box<Identity>),
}

/// Checks a MitID.dk page's NemID proof (`GetMitidWithNemid`'s fields), counting the attempts
/// against the user ID like a NemID login.
fn prove_nemid(state: &IdpState, req: &GetMitidWithNemid) -> Result<NemidProof, ApiError> {
    let refused = || {
        ApiError::oauth(
            StatusCode::FORBIDDEN,
            "access_denied",
            "wrong NemID user ID, password or code",
        )
    };
    let identity = find_identity(state, req.user_id.trim()).ok_or_else(refused)?;
    let t = now(state);
    let mut store = state.lock();
    if oidc::rate_limited(
        state,
        &mut store,
        &format!("user:{}", identity.user_id.to_ascii_lowercase()),
    ) {
        return Err(ApiError::oauth(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            "too many attempts for this user ID; try again later",
        ));
    }
    let creds = store
        .nemid
        .accounts
        .get_mut(&identity.uuid)
        .ok_or_else(refused)?;
    creds
        .account
        .check_password(&req.password, t, &state.policies.key_card)
        .map_err(|e| match e {
            NemidError::WrongPassword => refused(),
            other => ApiError::oauth(
                StatusCode::FORBIDDEN,
                "access_denied",
                format!("nemid_blocked: {other}"),
            ),
        })?;
    let policy = &state.policies.key_card;
    let (Some(key_number), Some(code)) = (req.key_number, req.code.as_deref()) else {
        let key_number = creds
            .account
            .key_card
            .challenge(t, policy, &mut OsRng)
            .map_err(|e| ApiError::Conflict(format!("the key card cannot be used: {e}")))?;
        return Ok(NemidProof::KeyCardAsked(key_number));
    };
    let code: u32 = code
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid_request("code: must be the 6 digits from the key card"))?;
    creds
        .account
        .key_card
        .verify(key_number, code, t, policy)
        .map_err(|e| {
            ApiError::oauth(
                StatusCode::FORBIDDEN,
                "access_denied",
                format!("nemid_authentication_failed: {e}"),
            )
        })?;
    Ok(NemidProof::Proven(Box::new(identity)))
}

fn key_card_step(key_number: u16) -> (StatusCode, Json<Value>) {
    (
        StatusCode::OK,
        Json(json!({"step": "key_card", "key_number": format!("{key_number:04}")})),
    )
}

pub async fn get_mitid_with_nemid(
    State(state): State<SharedState>,
    Json(req): Json<GetMitidWithNemid>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let calendar = &state.nemid_calendar;
    if calendar.reached(Milestone::MitidMigrationEnds, state.clock.today()) {
        return Err(calendar_refusal(
            "nemid_migration_ended",
            format!(
                "NemID can no longer be used to get MitID (from {}); go to Citizen Service",
                calendar.date(Milestone::MitidMigrationEnds)
            ),
        ));
    }
    let identity = match prove_nemid(&state, &req)? {
        NemidProof::KeyCardAsked(key_number) => return Ok(key_card_step(key_number)),
        NemidProof::Proven(identity) => identity,
    };
    let t = now(&state);
    state.lock().registry.get_mut(&identity.uuid)?.ial = Ial::Substantial;
    let issued = state.lock().registry.add_authenticator(
        &identity.uuid,
        AddAuthenticatorRequest::App,
        t,
        &state.policies,
        &state.rp_id,
    )?;
    let AuthenticatorIssued::App {
        authenticator_id,
        activation_code,
        expires_in,
    } = issued
    else {
        return Err(ApiError::Conflict("the MitID app was not issued".into()));
    };
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "uuid": identity.uuid,
            "user_id": identity.user_id,
            "ial": "substantial",
            "authenticator_id": authenticator_id,
            "activation_code": activation_code,
            "expires_in": expires_in,
        })),
    ))
}

/// `POST /mitid-dk/forgot-user-id-with-nemid`: a citizen who forgot the MitID user ID logs in to
/// MitID.dk with NemID (same body and key-card step as `get-mitid-with-nemid`) and is told it.
/// Only while NemID works: refused from the calendar's `shutdown`.
pub async fn forgot_user_id_with_nemid(
    State(state): State<SharedState>,
    Json(req): Json<GetMitidWithNemid>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let calendar = &state.nemid_calendar;
    if calendar.reached(Milestone::Shutdown, state.clock.today()) {
        return Err(calendar_refusal(
            "nemid_shut_down",
            format!(
                "NemID was shut down on {}; find the user ID with the passport in the app or call support",
                calendar.date(Milestone::Shutdown)
            ),
        ));
    }
    match prove_nemid(&state, &req)? {
        NemidProof::KeyCardAsked(key_number) => Ok(key_card_step(key_number)),
        NemidProof::Proven(identity) => {
            Ok((StatusCode::OK, Json(json!({"user_id": identity.user_id}))))
        }
    }
}
