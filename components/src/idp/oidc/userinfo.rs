//! The userinfo endpoint: the access token's claims, changed by the login's scripted userinfo
//! faults.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::claims::profile_claims;
use super::{global_fault, scripted};
use crate::idp::SharedState;
use crate::idp::registry::random_uuid;
use crate::idp::script::UserinfoFault;
use crate::service::ApiError;

fn bearer_error(error: &'static str, description: &str) -> Response {
    let mut response =
        ApiError::oauth(StatusCode::UNAUTHORIZED, error, description).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "Bearer error=\"{error}\", error_description=\"{description}\""
    )) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

pub async fn userinfo(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    if let Some(r) = global_fault(&state, "userinfo").await {
        return r;
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    let Some(token) = token else {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"mitid-lab\""),
        );
        return response;
    };
    let now = state.now_secs();
    let grant = {
        let mut store = state.lock();
        let grant = store.access_tokens.get(&token).cloned();
        if let Some(g) = &grant
            && let Some(log) = store.scripts.log_mut(g.script_id.as_deref())
        {
            log.userinfo_requests += 1;
        }
        grant
    };
    let Some(grant) = grant.filter(|g| g.expires_at > now) else {
        return bearer_error(
            "invalid_token",
            "the access token is unknown, revoked or expired",
        );
    };
    let script = match scripted(&state, grant.script_id.as_deref(), |r| {
        r.userinfo_endpoint.as_ref()
    })
    .await
    {
        Ok(script) => script,
        Err(scripted_answer) => return scripted_answer,
    };
    let identity = state
        .lock()
        .registry
        .by_uuid
        .get(&grant.result.uuid)
        .cloned();
    let Some(identity) = identity else {
        return bearer_error("invalid_token", "the identity no longer exists");
    };
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(identity.uuid));
    claims.extend(profile_claims(
        &state,
        &grant.scopes,
        &identity,
        &grant.result,
    ));
    for fault in script.iter().flat_map(|s| s.request.userinfo.iter()) {
        match fault {
            UserinfoFault::SubMismatch => {
                claims.insert("sub".into(), json!(random_uuid()));
            }
            UserinfoFault::SetClaims { claims: set } => {
                for (k, v) in set {
                    if v.is_null() {
                        claims.remove(k);
                    } else {
                        claims.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }
    let mut response = axum::Json(Value::Object(claims)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
