//! The token endpoint (authorization code grant only): the form is read, the client
//! authenticated ([`client_auth`](super::client_auth)), the code redeemed once (RFC 6749 §4.1.3,
//! PKCE S256 per RFC 7636) and the access token and ID token issued.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client_auth::{authenticate_client, invalid_grant, invalid_request, token_error};
use super::id_token::mint_id_token;
use super::{global_fault, scripted};
use crate::idp::jose;
use crate::idp::registry::random_token;
use crate::idp::script::Script;
use crate::idp::{AccessGrant, ClientConfig, CodeGrant, SharedState};
use crate::service::{Body, parse_params};

pub async fn token(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Body(body): Body,
) -> Response {
    if let Some(r) = global_fault(&state, "token").await {
        return r;
    }
    match redeem_and_issue(&state, &headers, &body).await {
        Ok(response) | Err(response) => response,
    }
}

/// The endpoint's steps in RFC order; `Err` is the error answer.
async fn redeem_and_issue(
    state: &SharedState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Response> {
    let p = read_form(headers, body)?;
    let client = authenticate_client(state, headers, &p)?;
    match p.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {}
        Some(other) => {
            return Err(token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type `{other}` is not supported"),
            ));
        }
        None => return Err(invalid_request("grant_type is missing")),
    }
    let code = p
        .get("code")
        .ok_or_else(|| invalid_request("code is missing"))?;
    let now = state.now_secs();
    let grant = redeem(state, &client, code, &p, now)?;
    let script = scripted(state, grant.script_id.as_deref(), |r| {
        r.token_endpoint.as_ref()
    })
    .await?;
    Ok(issue(state, &client, code, &grant, script.as_ref(), now))
}

/// The request's form parameters (the endpoint takes only `application/x-www-form-urlencoded`).
fn read_form(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, Response> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(invalid_request(
            "the token request must be application/x-www-form-urlencoded",
        ));
    }
    let text = std::str::from_utf8(body).map_err(|_| invalid_request("the body is not UTF-8"))?;
    parse_params(text).map_err(invalid_request)
}

/// Redeems the code for `client`. Done under one lock so two concurrent requests cannot both
/// use a code; a replayed code revokes the access token issued from it (RFC 6749 §4.1.2).
fn redeem(
    state: &SharedState,
    client: &ClientConfig,
    code: &str,
    p: &HashMap<String, String>,
    now: u64,
) -> Result<CodeGrant, Response> {
    let mut store = state.lock();
    let Some(grant) = store.codes.get_mut(code) else {
        return Err(invalid_grant("unknown authorization code"));
    };
    let script_id = grant.script_id.clone();
    if grant.redeemed {
        if let Some(t) = grant.access_token.take() {
            store.access_tokens.remove(&t);
        }
        if let Some(log) = store.scripts.log_mut(script_id.as_deref()) {
            log.code_replays += 1;
            log.token_requests += 1;
        }
        return Err(invalid_grant(
            "the authorization code was already used; tokens issued from it are revoked",
        ));
    }
    if let Some(log) = store.scripts.log_mut(script_id.as_deref()) {
        log.token_requests += 1;
    }
    let Some(grant) = store.codes.get_mut(code) else {
        return Err(invalid_grant("unknown authorization code"));
    };
    if grant.request.client_id != client.client_id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    if grant.expires_at <= now {
        return Err(invalid_grant("the authorization code has expired"));
    }
    match p.get("redirect_uri") {
        Some(uri) if *uri == grant.request.redirect_uri => {}
        Some(_) => {
            return Err(invalid_grant(
                "redirect_uri differs from the authorization request",
            ));
        }
        None => return Err(invalid_request("redirect_uri is missing")),
    }
    let verifier = p
        .get("code_verifier")
        .ok_or_else(|| invalid_request("code_verifier is missing (PKCE)"))?;
    if !is_code_verifier(verifier) {
        return Err(invalid_request(
            "code_verifier is not 43-128 unreserved characters",
        ));
    }
    if jose::pkce_s256(verifier) != grant.request.code_challenge {
        return Err(invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    grant.redeemed = true;
    Ok(grant.clone())
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn is_code_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Issues (at `now`, when the code was redeemed) the access token and the ID token (with the script's ID token faults) for a redeemed
/// code, and records the access token against the code so a replay can revoke it.
fn issue(
    state: &SharedState,
    client: &ClientConfig,
    code: &str,
    grant: &CodeGrant,
    script: Option<&Script>,
    now: u64,
) -> Response {
    let identity = state
        .lock()
        .registry
        .by_uuid
        .get(&grant.result.uuid)
        .cloned();
    let Some(identity) = identity else {
        return invalid_grant("the identity no longer exists");
    };
    let access_token = random_token(32);
    let faults = script
        .map(|s| s.request.id_token.as_slice())
        .unwrap_or_default();
    let id_token = match mint_id_token(state, client, grant, &identity, &access_token, faults) {
        Ok(t) => t,
        Err(e) => {
            return token_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                e.to_string(),
            );
        }
    };
    let lifetime = state.profile.lifetimes.access_token_seconds;
    {
        let mut store = state.lock();
        store.access_tokens.insert(
            access_token.clone(),
            AccessGrant {
                client_id: client.client_id.clone(),
                scopes: grant.request.scopes.clone(),
                result: grant.result.clone(),
                expires_at: now + lifetime,
                script_id: grant.script_id.clone(),
            },
        );
        if let Some(g) = store.codes.get_mut(code) {
            g.access_token = Some(access_token.clone());
        }
        if let Some(log) = store.scripts.log_mut(grant.script_id.as_deref()) {
            log.tokens_issued += 1;
        }
    }
    let mut response = axum::Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "id_token": id_token,
        "scope": grant.request.scopes.join(" "),
    }))
    .into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
