//! Logout: RP-initiated logout (`id_token_hint`, registered `post_logout_redirect_uri`) ends the
//! SSO session, and every client in it with a back-channel logout URI gets a logout token.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{SSO_COOKIE, append_query};
use crate::idp::jose::{self, Unverified};
use crate::idp::registry::random_token;
use crate::idp::{ClientConfig, IdpState, SharedState, SsoSession};
use crate::service::{Body, cookie, error_page, found, parse_params};

pub async fn logout_get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    logout(state, headers, query.unwrap_or_default()).await
}

pub async fn logout_post(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Body(body): Body,
) -> Response {
    match std::str::from_utf8(&body) {
        Ok(text) => logout(state, headers, text.to_owned()).await,
        Err(_) => error_page(
            StatusCode::BAD_REQUEST,
            "Invalid logout request",
            "The form is not UTF-8.",
        ),
    }
}

/// The claims of an ID token this `IdP` issued (signature checked against current and previous
/// keys; expiry ignored, as OIDC RP-initiated logout allows).
fn own_id_token(state: &IdpState, token: &str) -> Option<Map<String, Value>> {
    let jwt = Unverified::parse(token).ok()?;
    let keys = state.keys();
    let list: Vec<Value> = keys
        .current
        .values()
        .chain(keys.previous.iter())
        .map(|k| k.public_jwk())
        .collect();
    drop(keys);
    jwt.verify_with_jwks(&json!({ "keys": list })).ok()?;
    (jwt.claims.get("iss").and_then(Value::as_str) == Some(state.issuer.as_str()))
        .then_some(jwt.claims)
}

async fn logout(state: SharedState, headers: HeaderMap, raw: String) -> Response {
    let p = match parse_params(&raw) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, "Invalid logout request", &e),
    };
    let hint = match p.get("id_token_hint") {
        Some(t) => match own_id_token(&state, t) {
            Some(claims) => Some(claims),
            None => {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "Invalid logout request",
                    "id_token_hint is not an ID token issued by this MitID broker.",
                );
            }
        },
        None => None,
    };
    let hint_client = hint.as_ref().and_then(|c| match c.get("aud") {
        Some(Value::String(a)) => Some(a.clone()),
        Some(Value::Array(list)) => list.first().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    });
    let client_id = p.get("client_id").cloned().or(hint_client.clone());
    if let (Some(a), Some(b)) = (p.get("client_id"), &hint_client)
        && a != b
    {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid logout request",
            "client_id does not match id_token_hint.",
        );
    }
    let redirect = match p.get("post_logout_redirect_uri") {
        Some(uri) => {
            let client = client_id
                .as_ref()
                .and_then(|id| state.lock().clients.get(id).cloned());
            match client {
                Some(c) if c.post_logout_redirect_uris.iter().any(|u| u == uri) => {
                    Some(uri.clone())
                }
                _ => {
                    return error_page(
                        StatusCode::BAD_REQUEST,
                        "Invalid logout request",
                        "post_logout_redirect_uri is not registered for this service.",
                    );
                }
            }
        }
        None => None,
    };
    let sid = hint
        .as_ref()
        .and_then(|c| c.get("sid"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| cookie(&headers, SSO_COOKIE));
    if let Some(sid) = sid {
        end_session(&state, &sid).await;
    }
    let mut response = match redirect {
        Some(uri) => {
            let target = match p.get("state") {
                Some(s) => append_query(&uri, &[("state", s)]),
                None => uri,
            };
            found(&target)
        }
        None => Html(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>MitID – logged out</title></head>\
             <body><main><h1>You are logged out</h1></main></body></html>",
        )
        .into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SSO_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// One back-channel logout delivery.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct LogoutDelivery {
    pub client_id: String,
    pub uri: String,
    /// HTTP status the client answered, if it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// Ends an SSO session and sends a logout token to every client in it that registered a
/// back-channel logout URI.
pub async fn end_session(state: &IdpState, sid: &str) -> Vec<LogoutDelivery> {
    let session = state.lock().sessions.remove(sid);
    let Some(session) = session else {
        return Vec::new();
    };
    let mut deliveries = Vec::new();
    let mut clients: Vec<String> = session.clients.iter().cloned().collect();
    clients.sort();
    for client_id in clients {
        let client = state.lock().clients.get(&client_id).cloned();
        let Some(client) = client else { continue };
        let Some(uri) = client.backchannel_logout_uri.clone() else {
            continue;
        };
        let delivery = match logout_token(state, &client, &session) {
            Ok(token) => match state
                .http
                .post(&uri)
                .form(&[("logout_token", token)])
                .send()
                .await
            {
                Ok(r) => LogoutDelivery {
                    client_id: client_id.clone(),
                    uri,
                    status: Some(r.status().as_u16()),
                    error: None,
                },
                Err(e) => LogoutDelivery {
                    client_id: client_id.clone(),
                    uri,
                    status: None,
                    error: Some(e.to_string()),
                },
            },
            Err(e) => LogoutDelivery {
                client_id: client_id.clone(),
                uri,
                status: None,
                error: Some(e.to_string()),
            },
        };
        deliveries.push(delivery);
    }
    deliveries
}

fn logout_token(
    state: &IdpState,
    client: &ClientConfig,
    session: &SsoSession,
) -> Result<String, jose::JoseError> {
    let key = state
        .signing_key(client.id_token_signed_response_alg)
        .ok_or_else(|| {
            jose::JoseError::UnknownKey(client.id_token_signed_response_alg.to_string())
        })?;
    let now = state.now_secs();
    let claims = json!({
        "iss": state.issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + 120,
        "jti": random_token(16),
        "sub": session.uuid,
        "sid": session.sid,
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    jose::sign_jwt(&key, "logout+jwt", &claims)
}
