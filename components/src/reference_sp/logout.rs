//! Logout: RP-initiated (`GET /logout` ends the local session and sends the browser to the IdP's
//! `end_session_endpoint` with `id_token_hint`) and back-channel (a verified logout token ends
//! the sessions of its `sid` or `sub`, a replayed `jti` is refused).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::idp_client::upstream;
use super::portal::session_of;
use super::validate::{self, Expected, Jws, TokenError};
use super::{Flaw, LOGGED_OUT_PATH, SESSION_COOKIE, Shared, Sp, redirect, set_cookie};
use crate::service::{ApiError, Form, Json};

pub(super) async fn logout(
    State(sp): State<Shared>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some((id, session, _)) = session_of(&sp, &headers) else {
        return Ok(redirect(LOGGED_OUT_PATH, StatusCode::SEE_OTHER, Vec::new()));
    };
    let clear = if sp.flawed(Flaw::LogoutKeepsLocalSession) {
        Vec::new()
    } else {
        sp.store().sessions.remove(&id);
        vec![set_cookie(SESSION_COOKIE, "", Some(0))]
    };
    let provider = sp.provider().await?;
    let Some(end) = provider.end_session_endpoint else {
        return Ok(redirect(LOGGED_OUT_PATH, StatusCode::SEE_OTHER, clear));
    };
    let mut url =
        url::Url::parse(&end).map_err(|e| upstream(format!("end_session_endpoint: {e}")))?;
    {
        let mut pairs = url.query_pairs_mut();
        if let Some(hint) = session
            .id_token
            .as_ref()
            .filter(|_| !sp.flawed(Flaw::LogoutWithoutIdTokenHint))
        {
            pairs.append_pair("id_token_hint", hint);
        }
        pairs
            .append_pair("client_id", &sp.config.client_id)
            .append_pair(
                "post_logout_redirect_uri",
                &sp.config.post_logout_redirect_uri(),
            );
    }
    Ok(redirect(url.as_str(), StatusCode::SEE_OTHER, clear))
}

pub(super) async fn logged_out() -> Json<Value> {
    Json(json!({ "logged_out": true }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LogoutForm {
    logout_token: String,
}

pub(super) async fn backchannel_logout(
    State(sp): State<Shared>,
    Form(form): Form<LogoutForm>,
) -> Result<Json<Value>, ApiError> {
    match end_logout_token_sessions(&sp, &form.logout_token).await {
        Err(refusal) if sp.flawed(Flaw::BackchannelLogout200OnRefusal) => Ok(Json(
            json!({ "sessions_ended": 0, "refused": refusal.to_string() }),
        )),
        other => other,
    }
}

/// Verifies a back-channel logout token and ends the sessions of its `sid`; a token that does
/// not verify is refused (400) and ends nothing.
async fn end_logout_token_sessions(sp: &Sp, token: &str) -> Result<Json<Value>, ApiError> {
    let refuse = |e: TokenError| ApiError::invalid_request(format!("logout_token: {e}"));
    let jws = Jws::parse(token).map_err(refuse)?;
    let provider = sp.provider().await?;
    if !sp.flawed(Flaw::BackchannelLogoutSkipsSignature) {
        sp.verified(&jws)
            .await
            .map_err(|e| ApiError::invalid_request(format!("logout_token: {e}")))?;
    }
    let claims = &jws.claims;
    validate::check_claims(
        claims,
        &Expected {
            issuer: &provider.issuer,
            client_id: &sp.config.client_id,
            nonce: None,
            now: sp.config.clock.now(),
        },
        &sp.config.flaws,
    )
    .map_err(refuse)?;
    validate::check_logout_claims(claims).map_err(refuse)?;
    let sid = claims.get("sid").and_then(Value::as_str);
    let sub = claims.get("sub").and_then(Value::as_str);
    let jti = claims.get("jti").and_then(Value::as_str).map(str::to_owned);
    let mut store = sp.store();
    if let Some(jti) = jti {
        if store.seen_logout_jti.contains(&jti) {
            return Err(ApiError::invalid_request(
                "logout_token: replayed (jti seen before)",
            ));
        }
        store.seen_logout_jti.push_back(jti);
        if store.seen_logout_jti.len() > 10_000 {
            store.seen_logout_jti.pop_front();
        }
    }
    let ended = if sp.flawed(Flaw::IgnoreBackchannelLogout) {
        0
    } else {
        let before = store.sessions.len();
        // A sid ends that SSO session's sessions (of its sub, when both are given); a sub alone
        // ends every session of the person (Back-Channel Logout 1.0 §2.4).
        store.sessions.retain(|_, s| {
            let ends = match (sid, sub) {
                (Some(sid), Some(sub)) => s.sid.as_deref() == Some(sid) && s.sub == sub,
                (Some(sid), None) => s.sid.as_deref() == Some(sid),
                (None, Some(sub)) => s.sub == sub,
                (None, None) => false,
            };
            !ends
        });
        before - store.sessions.len()
    };
    Ok(Json(json!({ "sessions_ended": ended })))
}
