//! The NemLog-in control API (the lab only): service providers registered by metadata, and
//! scripts that make one login's response wrong. A script is keyed to one test user, never
//! global, so concurrent scenarios cannot hit each other's logins.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::assertion::ResponseFault;
use super::{LogoutRecord, ScriptLog, SharedState};
use crate::idp::registry::random_token;
use crate::saml::metadata;
use crate::saml::privileges::PrivilegeGroup;
use crate::service::{ApiError, Body, Json, Path};

/// `POST /control/service-providers`: the body is the SP's metadata XML.
pub async fn register_service_provider(
    State(state): State<SharedState>,
    Body(body): Body,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::invalid_request("the metadata is not UTF-8 text"))?;
    let sp = metadata::parse(text).map_err(|e| ApiError::invalid_request(e.to_string()))?;
    if sp.signing.is_empty() {
        return Err(ApiError::invalid_request(
            "metadata: no signing certificate (OIOSAML 3 AuthnRequests are signed)",
        ));
    }
    if sp.encryption.is_none() {
        return Err(ApiError::invalid_request(
            "metadata: no encryption certificate (assertions are encrypted to it)",
        ));
    }
    if sp.acs.is_empty() {
        return Err(ApiError::invalid_request(
            "metadata: no AssertionConsumerService with the HTTP-POST binding",
        ));
    }
    let answer = serde_json::json!({
        "entity_id": sp.entity_id,
        "acs": sp.acs,
        "slo": sp.slo,
    });
    state
        .lock()
        .service_providers
        .insert(sp.entity_id.clone(), sp);
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Which login a script applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptMatch {
    pub test_user: String,
}

/// `POST /control/scripts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptRequest {
    #[serde(rename = "match")]
    pub matcher: ScriptMatch,
    /// What is wrong with the response (none: a correct response, only logged).
    #[serde(default)]
    pub fault: Option<ResponseFault>,
    /// In a professional login: the privileges (OIOBPP groups) the assertion carries instead of
    /// those the company grants the employee.
    #[serde(default)]
    pub privileges: Option<Vec<PrivilegeGroup>>,
}

pub async fn add_script(
    State(state): State<SharedState>,
    Json(req): Json<ScriptRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    if req.matcher.test_user.trim().is_empty() {
        return Err(ApiError::invalid_request("match.test_user: empty"));
    }
    let id = random_token(12);
    state.lock().scripts.push(ScriptLog {
        script_id: id.clone(),
        test_user: req.matcher.test_user,
        fault: req.fault,
        privileges: req.privileges,
        matched: false,
        response_id: None,
        in_response_to: None,
        service_provider: None,
        status: None,
    });
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "script_id": id })),
    ))
}

pub async fn get_script(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<ScriptLog>, ApiError> {
    state
        .lock()
        .scripts
        .iter()
        .find(|s| s.script_id == id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no script `{id}`")))
}

pub async fn logouts(State(state): State<SharedState>) -> Json<Vec<LogoutRecord>> {
    Json(state.lock().logouts.clone())
}
