//! # MitID support line
//!
//! Constructor: [`SupportLine::new`]`(`[`SupportConfig`]`) -> Router`. The config names the CPR
//! register, the IdP's control listener (identity admin API) and the SMS gateway; each call to
//! them has a timeout, and a neighbour that fails, times out or drops the SMS gives the caller a
//! JSON 502/504 saying so — support never claims to have sent what did not arrive.
//!
//! A call: the caller gives their CPR number and a passport or driving-licence number; support
//! checks the document belongs to that person and asks questions generated from the CPR
//! register. Once identified, the agent can send a temporary PIN by SMS (refused while the phone
//! number changed less than 5 days ago — `mitid_devices` `AppPolicy::phone_change_quarantine`),
//! tell a forgotten user ID by SMS, or reset the code-display password.
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | POST | `/calls` | [`CallRequest`] | 201 [`CallOpened`] with the CPR questions; 403 document mismatch |
//! | POST | `/calls/{id}/answers` | `{"answers": {...}}` | 200 [`CallView`]; 403 when wrong (the call ends) |
//! | POST | `/calls/{id}/temporary-pin` | | 200 [`SmsSent`]; 403 `phone_recently_changed` / `no_phone`; 502/504 SMS failure |
//! | POST | `/calls/{id}/user-id` | | 200 [`SmsSent`] |
//! | POST | `/calls/{id}/password-reset` | | 200 `{"temporary_password"}` read out by the agent |
//!
//! "Now" is the shared [`LabClock`].

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::service::Routes;
use crate::service::routing::post;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use mitid_devices::policy::AppPolicy;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::citizen_service::IdpAdminClient;
use crate::cpr::{Challenge, CprClient, CprNumber, Person};
use crate::idp::admin::IdentityView;
use crate::service::{self, ApiError, Json, Path};
use crate::service::{LabClock, http_client};
use crate::sms::SmsClient;

/// An identified call stays usable this long (seconds).
pub const CALL_TTL: i64 = 30 * 60;
/// Sender name on support's SMS.
pub const SMS_SENDER: &str = "MitID";
const MAX_CALLS: usize = 50_000;

/// Configuration of the support line.
#[derive(Debug, Clone)]
pub struct SupportConfig {
    pub cpr_url: String,
    /// IdP control listener (identity admin API).
    pub idp_admin_url: String,
    pub sms_url: String,
    pub clock: LabClock,
    pub http_timeout: Duration,
    pub app_policy: AppPolicy,
}

impl SupportConfig {
    #[must_use]
    pub fn new(
        cpr_url: impl Into<String>,
        idp_admin_url: impl Into<String>,
        sms_url: impl Into<String>,
    ) -> Self {
        Self {
            cpr_url: cpr_url.into(),
            idp_admin_url: idp_admin_url.into(),
            sms_url: sms_url.into(),
            clock: LabClock::system(),
            http_timeout: crate::service::DEFAULT_NEIGHBOUR_TIMEOUT,
            app_policy: AppPolicy::default(),
        }
    }
}

/// `POST /calls`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    pub cpr: String,
    /// Passport or driving-licence number.
    pub document_number: String,
}

/// Answer of `POST /calls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallOpened {
    pub call_id: String,
    pub questions: Challenge,
}

/// Where a call stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallView {
    pub call_id: String,
    pub identified: bool,
}

/// An SMS support sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsSent {
    pub message_id: String,
    /// The number it went to, with all but the last two digits masked.
    pub to: String,
}

#[derive(Debug, Clone)]
struct Call {
    cpr: CprNumber,
    challenge_id: Option<String>,
    identified: bool,
    opened: i64,
}

#[derive(Debug)]
struct Line {
    config: SupportConfig,
    cpr: CprClient,
    idp: IdpAdminClient,
    sms: SmsClient,
    calls: Mutex<(HashMap<String, Call>, VecDeque<String>)>,
}

type Shared = Arc<Line>;

/// The support line service.
#[derive(Debug, Clone, Copy)]
pub struct SupportLine;

impl SupportLine {
    /// The service's router (with [`crate::service::standard`]).
    // The integrator-facing constructor convention of every component: `X::new(config) -> Router`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(config: SupportConfig) -> Router {
        let http = http_client(config.http_timeout);
        let line = Arc::new(Line {
            cpr: CprClient::new(&config.cpr_url, http.clone()),
            idp: IdpAdminClient::new(&config.idp_admin_url, http.clone()),
            sms: SmsClient::new(config.sms_url.clone(), http),
            calls: Mutex::new((HashMap::new(), VecDeque::new())),
            config,
        });
        let router = Routes::new()
            .route("/calls", post(open_call))
            .route("/calls/{id}/answers", post(answer))
            .route("/calls/{id}/temporary-pin", post(temporary_pin))
            .route("/calls/{id}/user-id", post(tell_user_id))
            .route("/calls/{id}/password-reset", post(password_reset))
            .with_state(line);
        service::standard("support", router)
    }
}

impl Line {
    fn calls(&self) -> std::sync::MutexGuard<'_, (HashMap<String, Call>, VecDeque<String>)> {
        // Single inserts/updates only: a panic cannot leave a call half-written.
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The identified call's person, or why not.
    fn identified(&self, id: &str) -> Result<CprNumber, ApiError> {
        let now = self.config.clock.now();
        let calls = self.calls();
        let call = calls
            .0
            .get(id)
            .filter(|c| now - c.opened < CALL_TTL)
            .ok_or_else(|| ApiError::not_found("no such call (or it ended)"))?;
        if call.identified {
            Ok(call.cpr)
        } else {
            Err(ApiError::Forbidden(
                "not_identified: answer the CPR questions first".into(),
            ))
        }
    }

    async fn identity(&self, cpr: &CprNumber) -> Result<IdentityView, ApiError> {
        self.idp
            .by_cpr(&cpr.compact())
            .await?
            .ok_or_else(|| ApiError::not_found("the caller has no MitID"))
    }
}

fn mask(phone: &str) -> String {
    let keep = phone.len().saturating_sub(2);
    phone
        .char_indices()
        .map(|(i, c)| if i >= 3 && i < keep { '*' } else { c })
        .collect()
}

async fn open_call(
    State(line): State<Shared>,
    Json(req): Json<CallRequest>,
) -> Result<(StatusCode, Json<CallOpened>), ApiError> {
    let cpr: CprNumber = req
        .cpr
        .parse()
        .map_err(|e| ApiError::invalid_request(format!("field cpr: {e}")))?;
    let number = req.document_number.trim();
    if number.is_empty() || number.len() > 20 {
        return Err(ApiError::invalid_request(
            "field document_number: 1–20 characters",
        ));
    }
    let person: Person = line.cpr.person(&cpr).await?;
    let matches = [&person.passport_number, &person.driving_licence_number]
        .into_iter()
        .flatten()
        .any(|d| d == number);
    if !matches {
        return Err(ApiError::Forbidden(
            "document_mismatch: no passport or driving licence with that number for this CPR number"
                .into(),
        ));
    }
    let questions = line.cpr.open_questions(&cpr, None).await?;
    let mut id_bytes = [0u8; 12];
    OsRng.fill_bytes(&mut id_bytes);
    let call_id = format!("call-{}", hex::encode(id_bytes));
    let mut calls = line.calls();
    calls.0.insert(
        call_id.clone(),
        Call {
            cpr,
            challenge_id: Some(questions.challenge_id.clone()),
            identified: false,
            opened: line.config.clock.now(),
        },
    );
    calls.1.push_back(call_id.clone());
    while calls.1.len() > MAX_CALLS {
        if let Some(old) = calls.1.pop_front() {
            calls.0.remove(&old);
        }
    }
    Ok((StatusCode::CREATED, Json(CallOpened { call_id, questions })))
}

/// Answers to CPR questions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    pub answers: BTreeMap<String, String>,
}

async fn answer(
    State(line): State<Shared>,
    Path(id): Path<String>,
    Json(req): Json<Answers>,
) -> Result<Json<CallView>, ApiError> {
    let challenge = {
        let mut calls = line.calls();
        let call = calls
            .0
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found("no such call (or it ended)"))?;
        call.challenge_id
            .take()
            .ok_or_else(|| ApiError::Conflict("the questions were already answered".into()))?
    };
    let verdict = line.cpr.answer(&challenge, &req.answers).await?;
    let mut calls = line.calls();
    if verdict.passed {
        if let Some(call) = calls.0.get_mut(&id) {
            call.identified = true;
        }
        Ok(Json(CallView {
            call_id: id,
            identified: true,
        }))
    } else {
        calls.0.remove(&id);
        Err(ApiError::Forbidden(format!(
            "questions_failed: {} of {} answers right; the call cannot be identified",
            verdict.correct, verdict.asked
        )))
    }
}

async fn temporary_pin(
    State(line): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<SmsSent>, ApiError> {
    let cpr = line.identified(&id)?;
    let person = line.cpr.person(&cpr).await?;
    let phone = person
        .phone_number
        .clone()
        .ok_or_else(|| ApiError::Forbidden("no_phone: no phone number is registered".into()))?;
    let quarantine = line.config.app_policy.phone_change_quarantine.as_secs() as i64;
    if let Some(changed) = person.phone_changed_at {
        let until = changed + quarantine;
        if line.config.clock.now() < until {
            return Err(ApiError::Forbidden(format!(
                "phone_recently_changed: the phone number changed less than {} days ago; no PIN by SMS until unix time {until}",
                quarantine / 86_400
            )));
        }
    }
    let identity = line.identity(&cpr).await?;
    let pin = line.idp.temporary_pin(&identity.uuid).await?;
    let text = format!(
        "Your temporary MitID PIN is {}. Use it to activate the MitID app. MitID support will never ask you for it.",
        pin.temporary_pin
    );
    let receipt = line.sms.send(&phone, SMS_SENDER, &text).await?;
    Ok(Json(SmsSent {
        message_id: receipt.message_id,
        to: mask(&phone),
    }))
}

async fn tell_user_id(
    State(line): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<SmsSent>, ApiError> {
    let cpr = line.identified(&id)?;
    let person = line.cpr.person(&cpr).await?;
    let phone = person
        .phone_number
        .clone()
        .ok_or_else(|| ApiError::Forbidden("no_phone: no phone number is registered".into()))?;
    let identity = line.identity(&cpr).await?;
    let text = format!("Your MitID user ID is {}.", identity.user_id);
    let receipt = line.sms.send(&phone, SMS_SENDER, &text).await?;
    Ok(Json(SmsSent {
        message_id: receipt.message_id,
        to: mask(&phone),
    }))
}

async fn password_reset(
    State(line): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let cpr = line.identified(&id)?;
    let identity = line.identity(&cpr).await?;
    let reset = line.idp.password_reset(&identity.uuid).await?;
    let password = reset.temporary_password.ok_or_else(|| ApiError::Upstream {
        service: "idp",
        detail: "password reset answered without a temporary password".into(),
    })?;
    Ok(Json(serde_json::json!({ "temporary_password": password })))
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn phone_numbers_are_masked_but_the_last_two_digits() {
        assert_eq!(mask("+4520123456"), "+45******56");
    }
}
