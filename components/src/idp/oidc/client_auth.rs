//! Client authentication at the token endpoint: exactly one of `client_secret_basic`,
//! `client_secret_post` or `private_key_jwt` (RFC 7523, with `jti` replay protection), the one the
//! client registered; and the token endpoint's RFC 6749 §5.2 error answers.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::idp::jose::Unverified;
use crate::idp::{ClientAuthMethod, ClientConfig, IdpState};
use crate::service::ApiError;

pub(super) fn token_error(
    status: StatusCode,
    error: &'static str,
    description: impl Into<String>,
) -> Response {
    let mut response = ApiError::oauth(status, error, description).into_response();
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"mitid-lab\""),
        );
    }
    response
}

pub(super) fn invalid_client(description: impl Into<String>) -> Response {
    token_error(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

pub(super) fn invalid_grant(description: impl Into<String>) -> Response {
    token_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

pub(super) fn invalid_request(description: impl Into<String>) -> Response {
    token_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// Authenticates the client by the one method the request used; `Err` is the response.
pub(super) fn authenticate_client(
    state: &IdpState,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> Result<ClientConfig, Response> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("basic")
                .then(|| rest.trim().to_owned())
        });
    let assertion = p.get("client_assertion");
    let post_secret = p.get("client_secret");
    let used = usize::from(basic.is_some())
        + usize::from(assertion.is_some())
        + usize::from(post_secret.is_some());
    if used > 1 {
        return Err(invalid_request(
            "more than one client authentication method was used",
        ));
    }
    if let Some(encoded) = basic {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| invalid_client("Authorization: Basic is not base64 of id:secret"))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| invalid_client("Authorization: Basic has no `:`"))?;
        // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
        let decode = |s: &str| -> String {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let (id, secret) = (decode(id), decode(secret));
        if p.get("client_id").is_some_and(|body_id| *body_id != id) {
            return Err(invalid_request(
                "client_id in the body differs from the Authorization header",
            ));
        }
        return check_secret(state, &id, &secret, ClientAuthMethod::ClientSecretBasic);
    }
    if let Some(secret) = post_secret {
        let id = p
            .get("client_id")
            .ok_or_else(|| invalid_request("client_id is missing"))?;
        return check_secret(state, id, secret, ClientAuthMethod::ClientSecretPost);
    }
    if let Some(assertion) = assertion {
        if p.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return Err(invalid_request(
                "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ));
        }
        return check_assertion(state, assertion, p.get("client_id").map(String::as_str));
    }
    Err(invalid_client("no client authentication"))
}

fn check_secret(
    state: &IdpState,
    id: &str,
    secret: &str,
    method: ClientAuthMethod,
) -> Result<ClientConfig, Response> {
    let client = state
        .lock()
        .clients
        .get(id)
        .cloned()
        .ok_or_else(|| invalid_client("unknown client or wrong secret"))?;
    if client.token_endpoint_auth_method != method {
        return Err(invalid_client(format!(
            "client is registered for {}, not {}",
            client.token_endpoint_auth_method.as_str(),
            method.as_str()
        )));
    }
    let expected = client.client_secret.as_deref().unwrap_or("");
    let same = crate::service::constant_time_eq(expected.as_bytes(), secret.as_bytes());
    if expected.is_empty() || !same {
        return Err(invalid_client("unknown client or wrong secret"));
    }
    Ok(client)
}

fn check_assertion(
    state: &IdpState,
    assertion: &str,
    body_client_id: Option<&str>,
) -> Result<ClientConfig, Response> {
    let jwt = Unverified::parse(assertion)
        .map_err(|e| invalid_client(format!("client_assertion: {e}")))?;
    let claim = |name: &str| {
        jwt.claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let iss = claim("iss").ok_or_else(|| invalid_client("client_assertion has no iss"))?;
    if claim("sub").as_deref() != Some(iss.as_str()) {
        return Err(invalid_client(
            "client_assertion sub must equal iss (the client_id)",
        ));
    }
    if body_client_id.is_some_and(|id| id != iss) {
        return Err(invalid_client(
            "client_id differs from the client_assertion's iss",
        ));
    }
    let client = state
        .lock()
        .clients
        .get(&iss)
        .cloned()
        .ok_or_else(|| invalid_client("unknown client"))?;
    if client.token_endpoint_auth_method != ClientAuthMethod::PrivateKeyJwt {
        return Err(invalid_client(format!(
            "client is registered for {}, not private_key_jwt",
            client.token_endpoint_auth_method.as_str()
        )));
    }
    let jwks = client.jwks.clone().unwrap_or_else(|| json!({"keys": []}));
    jwt.verify_with_jwks(&jwks)
        .map_err(|e| invalid_client(format!("client_assertion: {e}")))?;
    let token_url = state.endpoint("/token");
    let aud_ok = match jwt.claims.get("aud") {
        Some(Value::String(a)) => *a == token_url || *a == state.issuer,
        Some(Value::Array(list)) => list.iter().any(|a| {
            a.as_str()
                .is_some_and(|a| a == token_url || a == state.issuer)
        }),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid_client(
            "client_assertion aud must be the token endpoint or the issuer",
        ));
    }
    let now = state.now_secs();
    let exp = jwt
        .claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid_client("client_assertion has no exp"))?;
    if exp + 30 < now {
        return Err(invalid_client("client_assertion has expired"));
    }
    if exp > now + 3600 {
        return Err(invalid_client("client_assertion lives longer than an hour"));
    }
    let jti = claim("jti").ok_or_else(|| invalid_client("client_assertion has no jti"))?;
    let mut store = state.lock();
    let key = format!("{iss}\u{0}{jti}");
    if store.assertion_ids.contains_key(&key) {
        return Err(invalid_client("client_assertion jti was already used"));
    }
    store.assertion_ids.insert(key, exp + 60);
    Ok(client)
}
