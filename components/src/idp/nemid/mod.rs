//! NemID at the broker: credentials issued to a person (key card and/or key app, password, PID),
//! the NemID login (HTML pages under `/nemid/...` and the headless `login_hint=test:<user>:nemid_*`
//! path), the phase-out calendar (per-sector cut-offs, end of post orders, of MitID via NemID, of
//! support, the shutdown), and MitID.dk's "get MitID with NemID".
//!
//! This module holds the login; [`admin`] the NemID admin API and the clients' sectors;
//! [`mitid_dk`] MitID.dk's NemID services.
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
use axum::http::HeaderMap;
use axum::response::Response;
use maud::html;
use mitid_devices::nemid::{NemidAccount, NemidError, NemidStatus};
use mitid_devices::{Factor, KeyAppRecord, KeyCard, NemidKeyApp, Timestamp};
use rand_core::OsRng;
use serde::Deserialize;
use serde_json::{Value, json};

pub use super::browser_login::CsrfForm;
use super::browser_login::{BrowserLogin, Pages, deny};
use super::oidc::{self, Authenticated};
use super::registry::Identity;
use super::script::{AuthRequest, Behaviour, LoginIdp};
use super::{IdpState, SharedState};
use crate::nemid_calendar::DEFAULT_SECTOR;
use crate::service::{ApiError, Form, Json, Path};

pub mod admin;
pub mod mitid_dk;

pub use admin::{
    IssueNemidRequest, NemidIssued, NemidItem, NemidOrder, NemidOrdered, NemidView, OrderChannel,
    RedeemTemporaryPassword, SectorBody, check_sector, get_sector, issue, order,
    redeem_temporary_password, set_sector, view_account,
};
pub use mitid_dk::{GetMitidWithNemid, forgot_user_id_with_nemid, get_mitid_with_nemid};

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
            &html! {
                label for="user_id" { "User ID or CPR number" }
                input id="user_id" name="user_id" autocomplete="username" required;
                label for="password" { "Password" }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                label for="method" { "Confirm with" }
                select id="method" name="method" {
                    option value="key_card" { "Key card" }
                    option value="key_app" { "Key app" }
                }
            },
            "Next",
        ),
        NemidStep::KeyCard { key_number } => {
            let key_number = format!("{key_number:04}");
            PAGES.form_page(
                tx,
                "Enter the code from your key card",
                &html! {
                    (message)
                    p { "Key number:" }
                    p class="key" id="key_number" { (key_number) }
                },
                "key-card",
                &html! {
                    input type="hidden" name="key_number" value=(key_number);
                    label for="code" { "Code" }
                    input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required;
                },
                "Log on",
            )
        }
        NemidStep::KeyApp => PAGES.waiting_page(
            tx,
            "Approve in your NemID key app",
            &html! {
                (message)
                p { "Open the key app and approve the request. This page updates by itself." }
            },
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
