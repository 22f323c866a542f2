//! The authorization endpoint: the request is read (GET query or POST form) and validated; a
//! valid one is handed to [`respond`](super::respond).
//!
//! Until the client and its redirect URI are known, a problem is an error page (never a redirect:
//! no open redirector); after that, a problem goes back to the client as an error redirect.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use mitid_devices::{Aal, Loa};

use super::respond::start_login;
use super::{error_redirect, global_fault};
use crate::idp::script::{AuthRequest, IdpParams};
use crate::idp::{IdpState, SharedState};
use crate::service::{Body, error_page, parse_params};

pub async fn authorize_get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    authorize(state, headers, query.unwrap_or_default()).await
}

pub async fn authorize_post(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Body(body): Body,
) -> Response {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid login request",
            "POST to the authorization endpoint must be application/x-www-form-urlencoded.",
        );
    }
    match std::str::from_utf8(&body) {
        Ok(text) => authorize(state, headers, text.to_owned()).await,
        Err(_) => error_page(
            StatusCode::BAD_REQUEST,
            "Invalid login request",
            "The form is not UTF-8.",
        ),
    }
}

/// An authorization request that failed after the redirect URI was validated.
struct Refusal(&'static str, String);

fn refuse(error: &'static str, description: impl Into<String>) -> Refusal {
    Refusal(error, description.into())
}

async fn authorize(state: SharedState, headers: HeaderMap, raw: String) -> Response {
    if let Some(r) = global_fault(&state, "authorize").await {
        return r;
    }
    let params = match parse_params(&raw) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, "Invalid login request", &e),
    };
    let Some(client_id) = params.get("client_id") else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid login request",
            "client_id is missing.",
        );
    };
    let client = state.lock().clients.get(client_id).cloned();
    let Some(client) = client else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Unknown service",
            &format!("No service with client_id `{client_id}` is registered."),
        );
    };
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid login request",
            "redirect_uri is missing.",
        );
    };
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid login request",
            "The redirect_uri is not registered for this service.",
        );
    }
    // From here on errors go back to the client.
    let partial = AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        state: params.get("state").cloned(),
        nonce: None,
        scopes: Vec::new(),
        code_challenge: String::new(),
        prompt: Vec::new(),
        max_age: None,
        login_hint: None,
        requested_loa: None,
        requested_aal: None,
        acr_requested: false,
        idp_params: IdpParams::default(),
        idp_values: Vec::new(),
    };
    let request = match validate(&state, &params, partial.clone()) {
        Ok(r) => r,
        Err(Refusal(error, description)) => {
            return error_redirect(&state, &partial, error, &description);
        }
    };
    start_login(state, headers, request).await
}

// One check after another, in the order of the RFC's checks: it reads best unbroken.
#[allow(clippy::too_many_lines)]
fn validate(
    state: &IdpState,
    p: &HashMap<String, String>,
    mut req: AuthRequest,
) -> Result<AuthRequest, Refusal> {
    if p.contains_key("request") || p.contains_key("request_uri") {
        return Err(refuse(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    match p.get("response_type").map(String::as_str) {
        Some("code") => {}
        Some(other) => {
            return Err(refuse(
                "unsupported_response_type",
                format!("response_type `{other}` is not supported; use `code`"),
            ));
        }
        None => return Err(refuse("invalid_request", "response_type is missing")),
    }
    if let Some(mode) = p.get("response_mode")
        && mode != "query"
    {
        return Err(refuse(
            "invalid_request",
            format!("response_mode `{mode}` is not supported"),
        ));
    }
    let scope = p
        .get("scope")
        .ok_or_else(|| refuse("invalid_request", "scope is missing"))?;
    let scopes: Vec<String> = scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(refuse("invalid_scope", "scope must include `openid`"));
    }
    if let Some(unknown) = scopes
        .iter()
        .find(|s| !state.profile.scopes.contains_key(s.as_str()))
    {
        return Err(refuse(
            "invalid_scope",
            format!("scope `{unknown}` is not offered"),
        ));
    }
    req.scopes = scopes;
    let challenge = p.get("code_challenge").ok_or_else(|| {
        refuse(
            "invalid_request",
            "code_challenge is missing: PKCE (S256) is required",
        )
    })?;
    match p.get("code_challenge_method").map(String::as_str) {
        Some("S256") => {}
        Some(other) => {
            return Err(refuse(
                "invalid_request",
                format!("code_challenge_method `{other}` is not supported; use S256"),
            ));
        }
        None => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method is missing; use S256",
            ));
        }
    }
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(refuse(
            "invalid_request",
            "code_challenge is not a base64url SHA-256 value",
        ));
    }
    req.code_challenge.clone_from(challenge);
    req.nonce = p.get("nonce").cloned();
    if let Some(prompt) = p.get("prompt") {
        let values: Vec<String> = prompt
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(bad) = values
            .iter()
            .find(|v| !matches!(v.as_str(), "none" | "login" | "consent" | "select_account"))
        {
            return Err(refuse(
                "invalid_request",
                format!("prompt value `{bad}` is unknown"),
            ));
        }
        if values.iter().any(|v| v == "none") && values.len() > 1 {
            return Err(refuse(
                "invalid_request",
                "prompt=none cannot be combined with other values",
            ));
        }
        req.prompt = values;
    }
    if let Some(max_age) = p.get("max_age") {
        req.max_age = Some(max_age.parse::<u64>().map_err(|_| {
            refuse(
                "invalid_request",
                format!("max_age `{max_age}` is not a number of seconds"),
            )
        })?);
    }
    req.login_hint = p.get("login_hint").cloned();
    if let Some(values) = p.get("idp_values") {
        for v in values.split(' ').filter(|s| !s.is_empty()) {
            if !state.profile.idp_values.iter().any(|known| known == v) {
                return Err(refuse(
                    "invalid_request",
                    format!("idp_values `{v}` is not offered"),
                ));
            }
            req.idp_values.push(v.to_owned());
        }
    }
    if let Some(raw) = p.get("idp_params") {
        req.idp_params = serde_json::from_str(raw)
            .map_err(|e| refuse("invalid_request", format!("idp_params is not valid: {e}")))?;
    }
    let mut wanted: Option<Loa> = None;
    if let Some(acr) = p.get("acr_values") {
        for v in acr.split(' ').filter(|s| !s.is_empty()) {
            let level = Loa::from_uri_or_name(v)
                .map_err(|e| refuse("invalid_request", format!("acr_values: {e}")))?;
            // Several acceptable levels: the weakest listed is what the client accepts.
            wanted =
                Some(wanted.map_or(level, |w| if level.rank() < w.rank() { level } else { w }));
        }
        req.acr_requested = wanted.is_some();
    }
    if let Some(v) = &req.idp_params.loa_value {
        let level = Loa::from_uri_or_name(v)
            .map_err(|e| refuse("invalid_request", format!("idp_params.loa_value: {e}")))?;
        wanted = Some(wanted.map_or(level, |w| if level.rank() > w.rank() { level } else { w }));
    }
    if let Some(v) = &req.idp_params.aal_value {
        req.requested_aal = Some(
            Aal::from_uri_or_name(v)
                .map_err(|e| refuse("invalid_request", format!("idp_params.aal_value: {e}")))?,
        );
    }
    req.requested_loa = wanted;
    if let Some(cpr) = &req.idp_params.cpr_hint
        && (cpr.len() != 10 || !cpr.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(refuse(
            "invalid_request",
            "idp_params.cpr_hint is not 10 digits",
        ));
    }
    Ok(req)
}
