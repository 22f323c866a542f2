//! The NemID side of the admin API (credentials issued to a person, orders of a new key card or
//! temporary password, redeeming a temporary password) and the clients' sectors in the NemID
//! calendar.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

use axum::extract::State;
use axum::http::StatusCode;
use mitid_devices::nemid::{NemidAccount, NemidError, NemidStatus};
use mitid_devices::{KeyCard, NemidKeyApp};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{NemidCredentials, now};
use crate::idp::registry::{Identity, random_token};
use crate::idp::{IdpState, SharedState};
use crate::nemid_calendar::Milestone;
use crate::service::{ApiError, Json, Path};

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

pub(super) fn calendar_refusal(error: &'static str, description: String) -> ApiError {
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
