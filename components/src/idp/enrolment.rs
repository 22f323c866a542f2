//! Getting MitID — or reactivating the app on a new phone or after a forgotten PIN — with a
//! passport (or ID card) chip read by NFC in the app plus a face scan. App-facing, so it lives on
//! the PUBLIC listener next to `/app/pending` and `/app/approvals`. Contract: `ENROLMENT_API.md`.
//!
//! Two calls, because the app only learns the user ID once the passport is checked (a citizen who
//! forgot it sees it here):
//! 1. `POST /app/enrolments` with the camera's MRZ reading, the chip reading, the face-match score
//!    and the phone's profile. The `IdP` finds the passport holder in the CPR register (the lab's
//!    stand-in for the passport register), and runs the devices crate's passport procedure
//!    ([`mitid_devices::app::passport_reactivation`]) against the document registered to them:
//!    NFC-capable phone, MRZ check digits, chip access key, chip authenticity, the registered
//!    passport, and the face score against `AppPolicy::face_match_threshold_permille` (default
//!    900‰). Answers a single-use enrolment id and the person's existing user ID, if any.
//! 2. `POST /app/enrolments/{id}/activation` with the app's [`AppRegistration`] (made by
//!    `MitidApp::activate` for that user ID). A person without MitID gets a new identity at IAL
//!    Substantial with the chosen user ID; a person with MitID gets the app reactivated — and every
//!    other app of theirs revoked, because this is the route for a citizen whose app is lost or
//!    locked (new phone, forgotten PIN). Adding a second phone while the first still works goes
//!    through an activation code or QR + Bluetooth instead, which revokes nothing.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use mitid_devices::app::{ActivationRoute, AppRegistration, MrzReading, Passport, PassportError};
use mitid_devices::{DeviceProfile, Timestamp};
use serde::{Deserialize, Serialize};

use super::SharedState;
use super::admin::{AuthenticatorKind, CreateIdentityRequest, Ial, PersonRef};
use super::registry::{Authenticator, AuthenticatorData, Identity, random_token, random_uuid};
use crate::cpr::CprClient;
use crate::service::NeighbourError;
use crate::service::{ApiError, Json, Path};

/// How long a checked passport may wait for the app's activation (seconds).
pub const ENROLMENT_TTL_SECS: u64 = 600;
/// Checked passports waiting at once, at most (bounded memory; the oldest go first).
const MAX_PENDING: usize = 10_000;

/// `POST /app/enrolments`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassportCheckRequest {
    /// The phone the app runs on (passport reading needs NFC: iPhone 7+ or Android with NFC).
    pub device: DeviceProfile,
    /// What the camera read from the passport's MRZ.
    pub camera_mrz: MrzReading,
    /// What the chip gave over NFC once opened with the MRZ key.
    pub passport: Passport,
    /// How well the face scan matched the chip photo, 0–1000‰.
    pub face_match_permille: u16,
}

/// Answer of `POST /app/enrolments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassportChecked {
    /// Single use, valid `expires_in` seconds: the app activates with it.
    pub enrolment_id: String,
    /// The person's existing MitID user ID (shown to a citizen who forgot it); `None` when the
    /// person has no MitID yet and chooses one.
    pub user_id: Option<String>,
    /// The passport holder's name from the CPR register.
    pub name: String,
    pub expires_in: u64,
}

/// `POST /app/enrolments/{id}/activation`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentActivationRequest {
    /// From `MitidApp::activate`: its `user_id` is the existing user ID, or the one the citizen
    /// chose for a new MitID (6–20 of `A-Za-z0-9._-`).
    pub registration: AppRegistration,
    /// Shown in the registry ("Anna's new phone"), 1–100 characters.
    pub device_name: String,
}

/// Answer of `POST /app/enrolments/{id}/activation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentCompleted {
    pub uuid: String,
    pub user_id: String,
    pub authenticator_id: String,
    pub ial: Ial,
    /// True when a new MitID was created, false when an existing one was reactivated.
    pub created: bool,
    /// Other apps of this MitID revoked by the reactivation.
    pub revoked_apps: usize,
}

/// A passport that passed the checks, waiting for the app's registration.
#[derive(Debug, Clone)]
pub struct PendingEnrolment {
    cpr: String,
    name: String,
    date_of_birth: String,
    existing_uuid: Option<String>,
    expires_at: u64,
    issued_at: u64,
}

/// Checked passports by enrolment id.
pub type PendingEnrolments = HashMap<String, PendingEnrolment>;

/// A passport check's refusal with its own error code (403), so the app can tell the citizen what
/// went wrong.
fn refused(error: &'static str, description: impl Into<String>) -> ApiError {
    ApiError::oauth(StatusCode::FORBIDDEN, error, description)
}

fn passport_refusal(e: &PassportError) -> ApiError {
    let code = match e {
        PassportError::Device(_) => "device_ineligible",
        PassportError::MrzMisread => "mrz_misread",
        PassportError::AccessDenied => "chip_access_denied",
        PassportError::ChipUnreadable => "chip_unreadable",
        PassportError::ChipNotAuthentic => "chip_not_authentic",
        PassportError::NotRegisteredDocument => "document_not_registered",
        PassportError::FaceMismatch { .. } => "face_mismatch",
    };
    refused(code, e.to_string())
}

/// The person holding passport `number` in the CPR register, and their registered passport.
async fn passport_holder(
    state: &super::IdpState,
    number: &str,
) -> Result<(crate::cpr::Person, String), ApiError> {
    let cpr_url = state.cpr_url.clone().ok_or_else(|| {
        ApiError::Unavailable("this IdP has no CPR register to check passports against".to_owned())
    })?;
    let register = CprClient::new(&cpr_url, state.http.clone());
    let holder = match register.by_document(number).await {
        Ok(person) => person,
        Err(NeighbourError::Status { status: 404, .. }) => {
            return Err(refused(
                "document_unknown",
                "the passport register knows no passport with that number",
            ));
        }
        Err(other) => return Err(other.into()),
    };
    let Some(registered) = holder.passport_number.clone() else {
        return Err(refused(
            "document_not_registered",
            "that number is a driving licence, not a passport; the app reads passports and ID cards",
        ));
    };
    Ok((holder, registered))
}

fn now(state: &super::IdpState) -> Timestamp {
    Timestamp::from_unix_secs(state.now_secs())
}

/// `POST /app/enrolments`: checks a passport and face scan against the CPR register.
pub async fn check_passport(
    State(state): State<SharedState>,
    Json(req): Json<PassportCheckRequest>,
) -> Result<(StatusCode, Json<PassportChecked>), ApiError> {
    if req.face_match_permille > 1000 {
        return Err(ApiError::invalid_request(format!(
            "field face_match_permille: {} is above 1000",
            req.face_match_permille
        )));
    }
    let number = req.passport.mrz.document_number.trim();
    if number.is_empty() || number.len() > 20 {
        return Err(ApiError::invalid_request(
            "field passport.mrz.document_number: 1–20 characters",
        ));
    }
    let (holder, registered) = passport_holder(&state, number).await?;
    let t = now(&state);
    // The procedure's proof names a user; the real user ID is settled at activation.
    mitid_devices::app::passport_reactivation(
        "enrolment",
        &req.device,
        &req.camera_mrz,
        &req.passport,
        &registered,
        req.face_match_permille,
        t,
        (&state.policies.app, &state.policies.eligibility),
    )
    .map_err(|e| passport_refusal(&e))?;
    let born = holder.birth_date.format("%y%m%d").to_string();
    if req.passport.mrz.date_of_birth != born {
        return Err(refused(
            "birth_date_mismatch",
            "the chip's date of birth is not the passport holder's registered one",
        ));
    }
    let cpr = holder.cpr.compact();
    let existing = {
        let store = state.lock();
        store
            .registry
            .cprs
            .get(&cpr)
            .and_then(|uuid| store.registry.by_uuid.get(uuid))
            .map(|identity| {
                (
                    identity.uuid.clone(),
                    identity.user_id.clone(),
                    identity.blocked.clone(),
                )
            })
    };
    if let Some((_, _, Some(reason))) = &existing {
        return Err(refused(
            "identity_blocked",
            format!("this MitID is blocked ({reason}); contact MitID support"),
        ));
    }
    let enrolment_id = random_token(18);
    let now_secs = t.unix_secs();
    let pending = PendingEnrolment {
        cpr,
        name: holder.full_name(),
        date_of_birth: holder.birth_date.to_string(),
        existing_uuid: existing.as_ref().map(|(uuid, _, _)| uuid.clone()),
        expires_at: now_secs + ENROLMENT_TTL_SECS,
        issued_at: now_secs,
    };
    remember(&state, enrolment_id.clone(), pending.clone(), now_secs);
    Ok((
        StatusCode::CREATED,
        Json(PassportChecked {
            enrolment_id,
            user_id: existing.map(|(_, user_id, _)| user_id),
            name: pending.name,
            expires_in: ENROLMENT_TTL_SECS,
        }),
    ))
}

/// Keeps a checked passport for the activation, forgetting expired ones (and the oldest when full).
fn remember(
    state: &super::IdpState,
    enrolment_id: String,
    pending: PendingEnrolment,
    now_secs: u64,
) {
    {
        let mut store = state.lock();
        let waiting = &mut store.enrolments;
        waiting.retain(|_, p| p.expires_at > now_secs);
        if waiting.len() >= MAX_PENDING
            && let Some(oldest) = waiting
                .iter()
                .min_by_key(|(_, p)| p.issued_at)
                .map(|(id, _)| id.clone())
        {
            waiting.remove(&oldest);
        }
        waiting.insert(enrolment_id, pending);
    }
}

/// The name the citizen gave the phone, trimmed: 1–100 printable characters.
pub(super) fn checked_device_name(raw: &str) -> Result<&str, ApiError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_request(
            "field device_name: 1–100 printable characters",
        ));
    }
    Ok(name)
}

/// Adds the app that `registration` describes to `identity`, activated now by `route` under
/// the identity's user ID; answers the new authenticator's id.
pub(super) fn add_activated_app(
    identity: &mut Identity,
    mut registration: AppRegistration,
    route: ActivationRoute,
    activated_at: Timestamp,
    device_name: &str,
) -> String {
    registration.user_id.clone_from(&identity.user_id);
    registration.activated_at = activated_at;
    registration.route = route;
    let authenticator_id = random_token(9);
    identity.authenticators.push(Authenticator {
        id: authenticator_id.clone(),
        kind: AuthenticatorKind::App,
        revoked: false,
        data: AuthenticatorData::App {
            registration: Some(registration),
            device_name: Some(device_name.to_owned()),
        },
    });
    authenticator_id
}

/// `POST /app/enrolments/{id}/activation`: creates the MitID or reactivates the app.
pub async fn activate(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Json(req): Json<EnrolmentActivationRequest>,
) -> Result<(StatusCode, Json<EnrolmentCompleted>), ApiError> {
    let device_name = checked_device_name(&req.device_name)?;
    let t = now(&state);
    let mut store = state.lock();
    let pending = store
        .enrolments
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("no such enrolment (or it was already used)"))?;
    if t.unix_secs() >= pending.expires_at {
        store.enrolments.remove(&id);
        return Err(refused(
            "enrolment_expired",
            format!("the passport check is valid {ENROLMENT_TTL_SECS} s; scan the passport again"),
        ));
    }
    let registration = req.registration;
    let (uuid, created) = if let Some(uuid) = &pending.existing_uuid {
        let identity = store.registry.get_mut(uuid)?;
        if !identity.user_id.eq_ignore_ascii_case(&registration.user_id) {
            return Err(ApiError::invalid_request(format!(
                "field registration.user_id: `{}` is not this MitID's user ID",
                registration.user_id
            )));
        }
        (uuid.clone(), false)
    } else {
        let uuid = random_uuid();
        store.registry.create(
            CreateIdentityRequest {
                person: PersonRef::Cpr(pending.cpr.clone()),
                name: pending.name.clone(),
                date_of_birth: pending.date_of_birth.clone(),
                ial: Ial::Substantial,
                user_id: Some(registration.user_id.clone()),
                nemid_pid: None,
            },
            uuid.clone(),
        )?;
        (uuid, true)
    };
    store.enrolments.remove(&id);
    let revoked_apps = store.registry.revoke_apps(&uuid)?;
    let identity = store.registry.get_mut(&uuid)?;
    // Passport + face proves identity at Substantial; a High identity keeps its in-person proofing.
    identity.ial = identity.ial.max(Ial::Substantial);
    let authenticator_id = add_activated_app(
        identity,
        registration,
        ActivationRoute::Passport,
        t,
        device_name,
    );
    let answer = EnrolmentCompleted {
        uuid,
        user_id: identity.user_id.clone(),
        authenticator_id,
        ial: identity.ial,
        created,
        revoked_apps,
    };
    Ok((StatusCode::CREATED, Json(answer)))
}
