//! The `OpenID` Connect endpoints of the `MitID` broker, one module per concern:
//!
//! - this module: discovery, JWKS, and what every endpoint shares (the SSO cookie's name, the
//!   error redirect, the control API's endpoint faults);
//! - [`authorize`]: the authorization request, validated in the order RFC 6749 §4.1.2.1 asks: a
//!   missing or unknown `client_id` or a `redirect_uri` that is not registered *exactly* gets an
//!   error page (never a redirect: no open redirector); every later problem is a redirect to the
//!   client with `error`, `error_description`, `state` and `iss`;
//! - [`respond`]: how a valid request is answered (script, headless test login, single sign-on,
//!   `prompt=none`, or the HTML login pages), with the per-person rate limit;
//! - [`code_grant`]: the end of a successful authentication: the assurance checks, the SSO
//!   session and the authorization code;
//! - [`client_auth`]: the token endpoint's client authentication (`client_secret_basic`,
//!   `client_secret_post`, `private_key_jwt`) and its RFC 6749 §5.2 errors;
//! - [`token`]: the token endpoint: the code is redeemed (PKCE, single use) and tokens issued;
//! - [`id_token`]: the ID token, minted honestly, then changed by the login's scripted faults
//!   (one small named condition per [`IdTokenFault`](crate::idp::script::IdTokenFault));
//! - [`claims`]: the profile's claims for the granted scopes (ID token and userinfo);
//! - [`userinfo`] and [`logout`] (RP-initiated and back-channel logout).

// Handlers return the HTTP answer itself as the error (`Result<_, Response>`), which is large by
// nature.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mitid_devices::Loa;
use serde_json::{Value, json};

use super::jose::Alg;
use super::script::AuthRequest;
use super::{IdpState, SharedState};
use crate::service::{ApiError, found};

pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod code_grant;
pub mod id_token;
pub mod logout;
pub mod respond;
pub mod token;
pub mod userinfo;

pub use authorize::{authorize_get, authorize_post};
pub(in crate::idp) use code_grant::fail;
pub use code_grant::{Authenticated, complete};
pub use id_token::mint_id_token;
pub use logout::{LogoutDelivery, end_session, logout_get, logout_post};
pub use respond::rate_limited;
pub use token::token;
pub use userinfo::userinfo;

pub const SSO_COOKIE: &str = "mitid_sso";

// ---------------------------------------------------------------------------------------------
// Small helpers

fn append_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    let query = serializer.finish();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}

/// The redirect carrying an authorization error back to a validated redirect URI.
#[must_use]
pub fn error_redirect(
    state: &IdpState,
    req: &AuthRequest,
    error: &str,
    description: &str,
) -> Response {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(s) = &req.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &state.issuer));
    found(&append_query(&req.redirect_uri, &pairs))
}

/// Applies a global endpoint fault (`PUT /control/faults/{endpoint}`), if one is set.
async fn global_fault(state: &IdpState, endpoint: &str) -> Option<Response> {
    let fault = state.lock().faults.get(endpoint).cloned()?;
    apply_fault(&fault).await
}

/// The script of a login (cloned, `None` when unscripted) for an endpoint that serves it, with
/// the fault the script sets for that endpoint (`fault_of`) applied first: `Err` is the
/// scripted answer that replaces the endpoint's own.
async fn scripted(
    state: &IdpState,
    script_id: Option<&str>,
    fault_of: impl Fn(&crate::idp::script::ScriptRequest) -> Option<&crate::idp::EndpointFault>,
) -> Result<Option<crate::idp::script::Script>, Response> {
    let script = state.lock().scripts.get(script_id).cloned();
    let fault = script.as_ref().and_then(|s| fault_of(&s.request).cloned());
    if let Some(fault) = fault
        && let Some(response) = apply_fault(&fault).await
    {
        return Err(response);
    }
    Ok(script)
}

/// Waits and/or answers an error as the fault says; `None` means carry on.
pub async fn apply_fault(fault: &crate::idp::EndpointFault) -> Option<Response> {
    if fault.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
    }
    let status = StatusCode::from_u16(fault.status?).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some(
        ApiError::oauth(
            status,
            "server_error",
            "failure scripted by the lab's control API",
        )
        .into_response(),
    )
}

// ---------------------------------------------------------------------------------------------
// Discovery and JWKS

pub async fn discovery(State(state): State<SharedState>) -> Response {
    if let Some(r) = global_fault(&state, "discovery").await {
        return r;
    }
    let claims: Vec<&str> = [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "sid",
    ]
    .into_iter()
    .chain(state.profile.claims.values().map(String::as_str))
    .collect();
    axum::Json(json!({
        "issuer": state.issuer,
        "authorization_endpoint": state.endpoint("/authorize"),
        "token_endpoint": state.endpoint("/token"),
        "userinfo_endpoint": state.endpoint("/userinfo"),
        "jwks_uri": state.endpoint("/jwks"),
        "end_session_endpoint": state.endpoint("/logout"),
        "scopes_supported": state.profile.scope_names().collect::<Vec<_>>(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": claims,
        "acr_values_supported": [Loa::Low.uri(), Loa::Substantial.uri(), Loa::High.uri()],
        "prompt_values_supported": ["none", "login"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
    }))
    .into_response()
}

pub async fn jwks(State(state): State<SharedState>) -> Response {
    if let Some(r) = global_fault(&state, "jwks").await {
        return r;
    }
    let keys = state.keys();
    let mut list: Vec<Value> = [Alg::ES256, Alg::RS256]
        .iter()
        .filter_map(|alg| keys.current.get(alg))
        .map(|k| k.public_jwk())
        .collect();
    list.extend(keys.previous.iter().map(|k| k.public_jwk()));
    axum::Json(json!({ "keys": list })).into_response()
}
