//! The service provider's own calls to the broker (token, userinfo, JWKS), recorded per scripted
//! login, so a report can show what the broker served and what the service asked for.
//!
//! A middleware on the public listener: the token request names its login by the code, a
//! userinfo request by the access token; a JWKS request names no login, so it is recorded on
//! every scripted login active in the last [`JWKS_WINDOW`] (the service fetches keys right after
//! a token it cannot verify with the keys it has). A call is recorded when it arrives and
//! completed when the broker answers, so a call the broker holds (a scripted hang) or the caller
//! gave up on shows as unanswered. Raw: the control API is the lab's; the lab redacts what it
//! puts in its reports.

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::SharedState;

/// Endpoints whose calls are recorded.
const RECORDED: [&str; 3] = ["/token", "/userinfo", "/jwks"];
/// A JWKS fetch is put on the scripted logins active this recently.
pub const JWKS_WINDOW: Duration = Duration::from_secs(10);
/// Calls kept per script (a misbehaving service cannot grow the broker's memory).
const MAX_CALLS: usize = 50;
/// Bodies larger than this are not buffered for the record (token and userinfo are small).
const MAX_BODY: usize = 256 * 1024;

/// One call of the service provider to the broker, as the broker saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerCall {
    pub method: String,
    /// Path and query, e.g. `/token`.
    pub path: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    /// `None` while the broker has not answered (held by a script, or the caller gave up).
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
}

/// Records calls to [`RECORDED`] endpoints on the scripts of the logins they belong to.
pub async fn record(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if !RECORDED.contains(&path.as_str()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({
                "error": "invalid_request",
                "error_description": format!("the request body could not be read (at most {MAX_BODY} bytes)"),
            })),
        )
            .into_response();
    };
    let scripts = scripts_of(&state, &path, &parts.headers, &bytes);
    if scripts.is_empty() {
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    }
    let call = BrokerCall {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| path.clone(), ToString::to_string),
        request_headers: headers_of(&parts.headers),
        request_body: (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned()),
        ..BrokerCall::default()
    };
    let slots: Vec<(String, usize)> = {
        let mut store = state.lock();
        scripts
            .into_iter()
            .filter_map(|id| {
                let script = store.scripts.by_id.get_mut(&id)?;
                if path != "/jwks" {
                    script.last_active = Some(Instant::now());
                }
                (script.calls.len() < MAX_CALLS).then(|| {
                    script.calls.push(call.clone());
                    (id, script.calls.len() - 1)
                })
            })
            .collect()
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_else(|_| Bytes::new());
    {
        let mut store = state.lock();
        for (id, index) in &slots {
            if let Some(recorded) = store
                .scripts
                .by_id
                .get_mut(id)
                .and_then(|s| s.calls.get_mut(*index))
            {
                recorded.status = Some(parts.status.as_u16());
                recorded.response_headers = headers_of(&parts.headers);
                recorded.response_body =
                    (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The scripts a call belongs to.
fn scripts_of(state: &SharedState, path: &str, headers: &HeaderMap, body: &[u8]) -> Vec<String> {
    let store = state.lock();
    match path {
        "/token" => url::form_urlencoded::parse(body)
            .find(|(k, _)| k == "code")
            .and_then(|(_, code)| store.codes.get(code.as_ref())?.script_id.clone())
            .into_iter()
            .collect(),
        "/userinfo" => bearer(headers, body)
            .and_then(|token| store.access_tokens.get(&token)?.script_id.clone())
            .into_iter()
            .collect(),
        _ => store
            .scripts
            .by_id
            .values()
            .filter(|s| s.last_active.is_some_and(|at| at.elapsed() <= JWKS_WINDOW))
            .map(|s| s.id.clone())
            .collect(),
    }
}

/// The access token of a userinfo request (header, or form body as RFC 6750 §2.2 allows).
fn bearer(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned())
        .or_else(|| {
            url::form_urlencoded::parse(body)
                .find(|(k, _)| k == "access_token")
                .map(|(_, v)| v.into_owned())
        })
}

fn headers_of(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}
