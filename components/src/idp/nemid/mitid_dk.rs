//! MitID.dk's NemID services: "get MitID with NemID" (the citizen proves NemID and gets a MitID
//! app activation code) and "forgot user ID" answered with NemID.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

use axum::extract::State;
use axum::http::StatusCode;
use mitid_devices::nemid::NemidError;
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::admin::calendar_refusal;
use super::{find_identity, now};
use crate::idp::admin::{AddAuthenticatorRequest, AuthenticatorIssued, Ial};
use crate::idp::oidc;
use crate::idp::registry::Identity;
use crate::idp::{IdpState, SharedState};
use crate::nemid_calendar::Milestone;
use crate::service::{ApiError, Json};

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
