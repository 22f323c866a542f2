//! MitID.dk's "forgot the code display / audio reader password": a new password approved in the
//! MitID app. Served on the PUBLIC listener next to the other `/mitid-dk/...` pages. Contract:
//! `ENROLMENT_API.md`, section "New password on MitID.dk".
//!
//! 1. MitID.dk opens a change for the user ID (`POST /mitid-dk/password-changes`); the broker
//!    answers a transaction "Set a new password on MitID.dk" and lists it among the app's pending
//!    requests (`GET /app/pending/{user_id}`).
//! 2. The citizen approves it in the app (`POST /app/approvals/{change_id}`, as a login): the
//!    broker verifies the signature against the identity's registered apps.
//! 3. MitID.dk sets the new password (`POST /mitid-dk/password-changes/{change_id}/password`),
//!    which replaces the old one, as the admin API's `password` authenticator does.

use axum::extract::State;
use axum::http::StatusCode;
use mitid_devices::Timestamp;
use mitid_devices::app::{ChannelBinding, ChannelBindingKind, Transaction};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};

use super::SharedState;
use super::admin::{AddAuthenticatorRequest, AuthenticatorIssued, AuthenticatorKind};
use super::login::PendingApproval;
use super::registry::random_token;
use crate::service::{ApiError, Json, Path};

/// `POST /mitid-dk/password-changes`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeRequest {
    pub user_id: String,
}

/// Answer of `POST /mitid-dk/password-changes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChangeOpened {
    pub change_id: String,
    /// What the app approves (`POST /app/approvals/{change_id}`).
    pub transaction: Transaction,
}

/// `POST /mitid-dk/password-changes/{change_id}/password`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    /// 8–128 characters, the admin API's password rules.
    pub password: String,
}

/// Answer of `POST /mitid-dk/password-changes/{change_id}/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChanged {
    pub authenticator_id: String,
}

/// The action text of a change's transaction (what the app shows before the approval).
pub const CHANGE_ACTION: &str = "Set a new password on MitID.dk";

fn refused(error: &'static str, description: impl Into<String>) -> ApiError {
    ApiError::oauth(StatusCode::FORBIDDEN, error, description)
}

/// `POST /mitid-dk/password-changes`: the citizen asks MitID.dk for a new password.
pub async fn open_change(
    State(state): State<SharedState>,
    Json(req): Json<PasswordChangeRequest>,
) -> Result<(StatusCode, Json<PasswordChangeOpened>), ApiError> {
    let mut store = state.lock();
    let identity = store
        .registry
        .by_user_id(req.user_id.trim())
        .ok_or_else(|| ApiError::not_found(format!("no MitID with user ID `{}`", req.user_id)))?;
    if identity.blocked.is_some() {
        return Err(refused("identity_blocked", "this MitID is blocked"));
    }
    let active = |kinds: &[AuthenticatorKind]| {
        identity
            .authenticators
            .iter()
            .any(|a| !a.revoked && kinds.contains(&a.kind))
    };
    // The password belongs to a code display or audio reader; without one there is none to renew.
    if !active(&[
        AuthenticatorKind::CodeDisplay,
        AuthenticatorKind::AudioCodeReader,
    ]) {
        return Err(refused(
            "no_code_token",
            "this MitID has no code display or audio code reader whose password could be renewed",
        ));
    }
    if !identity.has_active_app() {
        return Err(refused(
            "no_active_app",
            "a new password on MitID.dk is approved in an active MitID app; call support instead",
        ));
    }
    let user_id = identity.user_id.to_ascii_lowercase();
    let binding = ChannelBinding::generate(ChannelBindingKind::AppSwitch, &mut OsRng);
    let transaction = Transaction::new(&user_id, "MitID.dk", CHANGE_ACTION, binding, &mut OsRng);
    let change_id = random_token(18);
    // One open change per identity: a new one replaces the unanswered old one.
    store
        .pending_app
        .retain(|_, p| !(p.user_id == user_id && p.transaction.action_text == CHANGE_ACTION));
    store.pending_app.insert(
        change_id.clone(),
        PendingApproval {
            user_id,
            transaction: transaction.clone(),
            result: None,
        },
    );
    Ok((
        StatusCode::CREATED,
        Json(PasswordChangeOpened {
            change_id,
            transaction,
        }),
    ))
}

/// `POST /mitid-dk/password-changes/{change_id}/password`: after the app's approval, the new
/// password replaces the old one.
pub async fn set_password(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Json(req): Json<NewPassword>,
) -> Result<Json<PasswordChanged>, ApiError> {
    let t = Timestamp::from_unix_secs(state.now_secs());
    let mut store = state.lock();
    let change = store
        .pending_app
        .get(&id)
        .filter(|p| p.transaction.action_text == CHANGE_ACTION)
        .cloned()
        .ok_or_else(|| ApiError::not_found("no such password change"))?;
    match change.result {
        None => {
            return Err(refused(
                "not_approved",
                "approve the new password in the MitID app first",
            ));
        }
        Some(Err(reason)) => {
            store.pending_app.remove(&id);
            return Err(refused("not_approved", reason));
        }
        Some(Ok(_)) => {}
    }
    let uuid = store
        .registry
        .uuid_by_user_id(&change.user_id)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::not_found("the MitID is gone"))?;
    let issued = store.registry.add_authenticator(
        &uuid,
        AddAuthenticatorRequest::Password {
            password: req.password,
        },
        t,
        &state.policies,
        &state.rp_id,
    )?;
    store.pending_app.remove(&id);
    let AuthenticatorIssued::Password { authenticator_id } = issued else {
        return Err(ApiError::Conflict("no password was set".into()));
    };
    Ok(Json(PasswordChanged { authenticator_id }))
}
