//! The admin API's handlers over the registry (contract in `ADMIN_API.md`): each turns one
//! HTTP request into a registry call and the identity's view.

use crate::idp::admin::{
    AddAuthenticatorRequest, AppActivated, AppActivationRequest, AppsRevoked, AuthenticatorIssued,
    BlockRequest, CreateIdentityRequest, IdentityView, PasswordReset, PasswordResetRequest,
    SetIalRequest, TemporaryPinIssued,
};
use crate::idp::admin::{OrganisationsView, SetOrganisationsRequest};
use crate::idp::{IdpState, SharedState};
use crate::service::{ApiError, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use mitid_devices::Timestamp;

use super::{AuthenticatorData, Identity, random_token, random_uuid};

fn now(state: &IdpState) -> Timestamp {
    Timestamp::from_unix_secs(state.now_secs())
}

fn view(state: &IdpState, uuid: &str) -> Result<Json<IdentityView>, ApiError> {
    let store = state.lock();
    store
        .registry
        .by_uuid
        .get(uuid)
        .map(|i| Json(i.view(now(state), &state.policies)))
        .ok_or_else(|| ApiError::NotFound(format!("no identity with uuid {uuid}")))
}

pub async fn create_identity(
    State(state): State<SharedState>,
    Json(req): Json<CreateIdentityRequest>,
) -> Result<(StatusCode, Json<IdentityView>), ApiError> {
    let uuid = random_uuid();
    let t = now(&state);
    let mut store = state.lock();
    let identity = store.registry.create(req, uuid)?;
    Ok((StatusCode::CREATED, Json(identity.view(t, &state.policies))))
}

pub async fn get_identity(
    State(state): State<SharedState>,
    Path(uuid): Path<String>,
) -> Result<Json<IdentityView>, ApiError> {
    view(&state, &uuid)
}

pub async fn get_by_user_id(
    State(state): State<SharedState>,
    Path(user_id): Path<String>,
) -> Result<Json<IdentityView>, ApiError> {
    let uuid = state
        .lock()
        .registry
        .uuid_by_user_id(&user_id)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::NotFound(format!("no identity with user ID `{user_id}`")))?;
    view(&state, &uuid)
}

pub async fn get_by_cpr(
    State(state): State<SharedState>,
    Path(cpr): Path<String>,
) -> Result<Json<IdentityView>, ApiError> {
    let uuid = state
        .lock()
        .registry
        .cprs
        .get(&cpr)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no MitID for CPR {cpr}")))?;
    view(&state, &uuid)
}

fn organisations_view(identity: &Identity) -> Json<OrganisationsView> {
    Json(OrganisationsView {
        uuid: identity.uuid.clone(),
        organisations: identity.professional.clone(),
    })
}

pub async fn get_organisations(
    State(state): State<SharedState>,
    Path(uuid): Path<String>,
) -> Result<Json<OrganisationsView>, ApiError> {
    Ok(organisations_view(state.lock().registry.get_mut(&uuid)?))
}

pub async fn set_organisations(
    State(state): State<SharedState>,
    Path(uuid): Path<String>,
    Json(req): Json<SetOrganisationsRequest>,
) -> Result<Json<OrganisationsView>, ApiError> {
    let mut store = state.lock();
    let identity = store
        .registry
        .set_organisations(&uuid, &req.organisations, &state.cvr)?;
    Ok(organisations_view(identity))
}

pub async fn set_ial(
    State(state): State<SharedState>,
    Path(uuid): Path<String>,
    Json(req): Json<SetIalRequest>,
) -> Result<Json<IdentityView>, ApiError> {
    state.lock().registry.get_mut(&uuid)?.ial = req.ial;
    view(&state, &uuid)
}

pub async fn add_authenticator(
    State(state): State<SharedState>,
    Path(uuid): Path<String>,
    Json(req): Json<AddAuthenticatorRequest>,
) -> Result<(StatusCode, Json<AuthenticatorIssued>), ApiError> {
    let t = now(&state);
    let issued =
        state
            .lock()
            .registry
            .add_authenticator(&uuid, req, t, &state.policies, &state.rp_id)?;
    Ok((StatusCode::CREATED, Json(issued)))
}

pub async fn complete_chip_activation(
    State(state): State<SharedState>,
    Path((uuid, id)): Path<(String, String)>,
) -> Result<Json<IdentityView>, ApiError> {
    let t = now(&state);
    {
        let mut store = state.lock();
        let identity = store.registry.get_mut(&uuid)?;
        let a = identity
            .authenticators
            .iter_mut()
            .find(|a| a.id == id)
            .ok_or_else(|| ApiError::NotFound(format!("no authenticator {id}")))?;
        let AuthenticatorData::Chip(credential) = &mut a.data else {
            return Err(ApiError::invalid_request(format!(
                "authenticator {id} is not a chip"
            )));
        };
        credential
            .complete_activation(t, &state.policies.chip)
            .map_err(|e| ApiError::Conflict(e.to_string()))?;
    }
    view(&state, &uuid)
}

pub async fn activate_app(
    State(state): State<SharedState>,
    Json(req): Json<AppActivationRequest>,
) -> Result<(StatusCode, Json<AppActivated>), ApiError> {
    let t = now(&state);
    let done = state
        .lock()
        .registry
        .activate_app(req, t, &state.policies)?;
    Ok((StatusCode::CREATED, Json(done)))
}

pub async fn temporary_pin(
    State(state): State<SharedState>,
    Path(uuid): Path<String>,
) -> Result<(StatusCode, Json<TemporaryPinIssued>), ApiError> {
    let t = now(&state);
    let issued = state
        .lock()
        .registry
        .issue_temporary_pin(&uuid, t, &state.policies)?;
    Ok((StatusCode::CREATED, Json(issued)))
}

pub async fn password_reset(
    State(state): State<SharedState>,
    Path(uuid): Path<String>,
    Json(req): Json<PasswordResetRequest>,
) -> Result<Json<PasswordReset>, ApiError> {
    let (password, temporary) = if let Some(p) = req.new_password {
        (p, None)
    } else {
        let p = random_token(9);
        (p.clone(), Some(p))
    };
    let t = now(&state);
    state.lock().registry.add_authenticator(
        &uuid,
        AddAuthenticatorRequest::Password { password },
        t,
        &state.policies,
        &state.rp_id,
    )?;
    Ok(Json(PasswordReset {
        temporary_password: temporary,
    }))
}

pub async fn block(
    State(state): State<SharedState>,
    Path(uuid): Path<String>,
    Json(req): Json<BlockRequest>,
) -> Result<Json<IdentityView>, ApiError> {
    state.lock().registry.get_mut(&uuid)?.blocked = Some(req.reason);
    view(&state, &uuid)
}

/// `POST /admin/identities/{uuid}/apps/revoke`: the citizen's phone is lost or replaced.
pub async fn revoke_apps(
    State(state): State<SharedState>,
    Path(uuid): Path<String>,
) -> Result<Json<AppsRevoked>, ApiError> {
    let revoked_apps = state.lock().registry.revoke_apps(&uuid)?;
    Ok(Json(AppsRevoked { revoked_apps }))
}

pub async fn unblock(
    State(state): State<SharedState>,
    Path(uuid): Path<String>,
) -> Result<Json<IdentityView>, ApiError> {
    state.lock().registry.get_mut(&uuid)?.blocked = None;
    view(&state, &uuid)
}
