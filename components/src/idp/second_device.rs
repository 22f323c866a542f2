//! A second phone activated from the first by QR code + Bluetooth: the active app shows a QR
//! code, the new phone scans it and must be within Bluetooth range. App-facing (PUBLIC listener).
//! Contract: `ENROLMENT_API.md`, section "Second device".
//!
//! 1. The active app asks for an offer (`POST /app/second-device-offers`); the broker answers a
//!    transaction "Activate MitID on a new device" and lists it among the app's pending requests.
//! 2. The app approves it with the PIN (`POST /app/approvals/{offer_id}`, as a login): the
//!    broker verifies the signature against the identity's registered apps.
//! 3. The app hands over the QR grant it made (`MitidApp::offer_second_device`, which asks the
//!    PIN again) at `POST /app/second-device-offers/{offer_id}/grant`; only a PIN approval counts.
//! 4. The new app sends the scanned code, whether it is within Bluetooth range and its
//!    registration (`POST /app/second-device-activations`); the broker redeems the grant the way
//!    the devices crate does (`ActivationGrant::redeem_nearby`). The first app stays active.

use axum::extract::State;
use axum::http::StatusCode;
use mitid_devices::app::{
    ActivationGrant, ActivationRoute, AppRegistration, ChannelBinding, ChannelBindingKind,
    GrantError, Transaction,
};
use mitid_devices::{AppConfirmation, Timestamp};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};

use super::SharedState;
use super::admin::AppActivated;
use super::enrolment::{add_activated_app, checked_device_name};
use super::login::PendingApproval;
use super::registry::{PendingActivation, random_token};
use crate::service::{ApiError, Json, Path};

/// `POST /app/second-device-offers`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferRequest {
    /// The user ID of the identity in the active app.
    pub user_id: String,
}

/// Answer of `POST /app/second-device-offers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferOpened {
    pub offer_id: String,
    /// What the active app approves with the PIN (`POST /app/approvals/{offer_id}`).
    pub transaction: Transaction,
}

/// `POST /app/second-device-offers/{offer_id}/grant`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferGrant {
    /// From `MitidApp::offer_second_device`: the QR code's one-time secret and its validity.
    pub grant: ActivationGrant,
}

/// Answer of `POST /app/second-device-offers/{offer_id}/grant`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferReady {
    /// Seconds the QR code can still be scanned.
    pub expires_in: u64,
}

/// `POST /app/second-device-activations`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearbyActivationRequest {
    /// What the new phone's camera read from the QR code.
    pub code: String,
    /// Whether the new phone found the active one over Bluetooth.
    pub within_bluetooth_range: bool,
    /// From `MitidApp::activate` on the new phone, for the same user ID.
    pub registration: AppRegistration,
    /// 1–100 characters.
    pub device_name: String,
}

/// The action text of an offer's transaction (what the active app shows before the PIN).
pub const OFFER_ACTION: &str = "Activate MitID on a new device";

fn now(state: &super::IdpState) -> Timestamp {
    Timestamp::from_unix_secs(state.now_secs())
}

fn refused(error: &'static str, description: impl Into<String>) -> ApiError {
    ApiError::oauth(StatusCode::FORBIDDEN, error, description)
}

/// `POST /app/second-device-offers`: the active app asks to show a QR code.
pub async fn open_offer(
    State(state): State<SharedState>,
    Json(req): Json<OfferRequest>,
) -> Result<(StatusCode, Json<OfferOpened>), ApiError> {
    let mut store = state.lock();
    let identity = store
        .registry
        .by_user_id(&req.user_id)
        .ok_or_else(|| ApiError::not_found(format!("no MitID with user ID `{}`", req.user_id)))?;
    if identity.blocked.is_some() {
        return Err(refused("identity_blocked", "this MitID is blocked"));
    }
    if !identity.has_active_app() {
        return Err(refused(
            "no_active_app",
            "only an active MitID app can offer a second device",
        ));
    }
    let user_id = identity.user_id.clone();
    let binding = ChannelBinding::generate(ChannelBindingKind::AppSwitch, &mut OsRng);
    let transaction = Transaction::new(&user_id, "MitID", OFFER_ACTION, binding, &mut OsRng);
    let offer_id = random_token(18);
    // One open offer per identity: a new one replaces the unanswered old one.
    let key = user_id.to_ascii_lowercase();
    store
        .pending_app
        .retain(|_, p| !(p.user_id == key && p.transaction.action_text == OFFER_ACTION));
    store.pending_app.insert(
        offer_id.clone(),
        PendingApproval {
            user_id: user_id.to_ascii_lowercase(),
            transaction: transaction.clone(),
            result: None,
        },
    );
    Ok((
        StatusCode::CREATED,
        Json(OfferOpened {
            offer_id,
            transaction,
        }),
    ))
}

/// `POST /app/second-device-offers/{offer_id}/grant`: the PIN-approved app hands over its QR grant.
pub async fn accept_grant(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Json(req): Json<OfferGrant>,
) -> Result<(StatusCode, Json<OfferReady>), ApiError> {
    let t = now(&state);
    let mut store = state.lock();
    let offer = store
        .pending_app
        .get(&id)
        .filter(|p| p.transaction.action_text == OFFER_ACTION)
        .cloned()
        .ok_or_else(|| ApiError::not_found("no such second-device offer"))?;
    match offer.result {
        None => {
            return Err(refused(
                "not_approved",
                "approve the offer in the app with the PIN first",
            ));
        }
        Some(Err(reason)) => {
            store.pending_app.remove(&id);
            return Err(refused("not_approved", reason));
        }
        Some(Ok(AppConfirmation::Pin | AppConfirmation::PinSingleIdentity)) => {}
        Some(Ok(_)) => {
            return Err(refused(
                "pin_required",
                "a second device needs the PIN, not a swipe or biometrics",
            ));
        }
    }
    let grant = req.grant;
    if grant.route != ActivationRoute::QrBluetooth {
        return Err(ApiError::invalid_request(format!(
            "field grant.route: a second device is offered by QR + Bluetooth, not {:?}",
            grant.route
        )));
    }
    if !grant.user_id.eq_ignore_ascii_case(&offer.user_id) {
        return Err(ApiError::invalid_request(
            "field grant.user_id: not the user ID that approved the offer",
        ));
    }
    let longest = state.policies.app.activation_code_validity.as_secs();
    if grant.redeemed
        || grant.expires_at <= t
        || grant.expires_at.unix_secs() > t.unix_secs() + longest
    {
        return Err(ApiError::invalid_request(
            "field grant: already used, expired, or valid longer than an activation code may be",
        ));
    }
    let uuid = store
        .registry
        .uuid_by_user_id(&offer.user_id)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::not_found("the MitID is gone"))?;
    store.pending_app.remove(&id);
    let expires_in = grant.expires_at.unix_secs().saturating_sub(t.unix_secs());
    store
        .registry
        .activations
        .entry(offer.user_id)
        .or_default()
        .push(PendingActivation {
            uuid,
            authenticator_id: None,
            grant,
        });
    Ok((StatusCode::CREATED, Json(OfferReady { expires_in })))
}

/// `POST /app/second-device-activations`: the new phone redeems the scanned QR code nearby.
pub async fn activate_nearby(
    State(state): State<SharedState>,
    Json(req): Json<NearbyActivationRequest>,
) -> Result<(StatusCode, Json<AppActivated>), ApiError> {
    let device_name = checked_device_name(&req.device_name)?;
    let t = now(&state);
    let key = req.registration.user_id.to_ascii_lowercase();
    let mut store = state.lock();
    let pending = store.registry.activations.get_mut(&key).ok_or_else(|| {
        ApiError::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_code",
            "no QR code is offered for this user ID",
        )
    })?;
    let mut last = None;
    let mut redeemed = None;
    for (index, p) in pending.iter_mut().enumerate() {
        if p.grant.route != ActivationRoute::QrBluetooth {
            continue;
        }
        match p.grant.redeem_nearby(
            &req.code,
            req.within_bluetooth_range,
            t,
            &state.policies.app,
        ) {
            Ok(_) => {
                redeemed = Some(index);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(index) = redeemed else {
        return Err(match last {
            Some(GrantError::NotNearby) => refused(
                "not_nearby",
                "the new phone is not within Bluetooth range of the active one",
            ),
            Some(e) => ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_code", e.to_string()),
            None => ApiError::oauth(
                StatusCode::BAD_REQUEST,
                "invalid_code",
                "no QR code is offered for this user ID",
            ),
        });
    };
    let offered = pending.remove(index);
    let identity = store.registry.get_mut(&offered.uuid)?;
    let authenticator_id = add_activated_app(
        identity,
        req.registration,
        ActivationRoute::QrBluetooth,
        t,
        device_name,
    );
    Ok((
        StatusCode::CREATED,
        Json(AppActivated {
            authenticator_id,
            uuid: offered.uuid,
        }),
    ))
}
