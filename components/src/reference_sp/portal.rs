//! The portal's own pages: the start page, `GET /me` and the self-services, each refusing a
//! session whose LoA is too low (with the step-up login URL) or a person without CPR where the
//! service needs one.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Html;
use maud::{DOCTYPE, html};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Account, Loa, SELF_SERVICES, SESSION_COOKIE, Session, Shared, Sp};
use crate::service::{ApiError, Json, Path, cookie};

pub(super) async fn portal(State(sp): State<Shared>, headers: HeaderMap) -> Html<String> {
    let who = session_of(&sp, &headers).map(|(_, s, a)| (a.name.unwrap_or(s.sub), s.loa));
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "Reference portal" } }
            body {
                h1 { "Reference self-service portal" }
                @match &who {
                    Some((name, loa)) => p {
                        "Logged in as " (name) " at LoA " (format!("{loa:?}")) ". "
                        a href="/logout" { "Log out" }
                    },
                    None => p { a href="/login" { "Log in with MitID" } },
                }
                ul {
                    @for s in SELF_SERVICES {
                        li {
                            a href={ "/services/" (s.id) } { (s.title) }
                            " (LoA " (format!("{:?}", s.required_loa))
                            @if s.requires_cpr { ", CPR number needed" }
                            ")"
                        }
                    }
                }
            }
        }
    };
    Html(page.into_string())
}

pub(super) fn session_of(sp: &Sp, headers: &HeaderMap) -> Option<(String, Session, Account)> {
    let id = cookie(headers, SESSION_COOKIE)?;
    let store = sp.store();
    let session = store.sessions.get(&id)?.clone();
    let account = store.accounts.get(&session.account_key)?.clone();
    Some((id, session, account))
}

/// Answer of `GET /me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// The account's MitID UUID (`sub`).
    pub sub: String,
    pub mitid_uuid: Option<String>,
    pub cpr: Option<String>,
    pub has_cpr: Option<bool>,
    pub name: Option<String>,
    pub loa: Loa,
    pub ial: Option<String>,
    pub aal: Option<String>,
    pub amr: Vec<String>,
    /// The portal's own identifier of the local account the session belongs to (the integrator
    /// contract's `account`): the same for the same person at every login, never shared.
    pub account: String,
    /// `professional` in a business (MitID Erhverv) session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_type: Option<String>,
    /// The company of a business session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvr: Option<String>,
}

pub(super) async fn me(State(sp): State<Shared>, headers: HeaderMap) -> Result<Json<Me>, ApiError> {
    let (_, session, account) = session_of(&sp, &headers)
        .ok_or_else(|| ApiError::Unauthorized("no session; log in at /login".into()))?;
    let c = &session.claims;
    let text = |name: &str| c.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(Json(Me {
        sub: account.sub.clone(),
        mitid_uuid: text("mitid.uuid")
            .or_else(|| (!account.sub.is_empty()).then(|| account.sub.clone())),
        cpr: account.cpr.clone(),
        has_cpr: c.get("mitid.has_cpr").and_then(Value::as_bool),
        name: account.name.clone(),
        loa: session.loa,
        ial: text("ial"),
        aal: text("aal"),
        amr: c
            .get("amr")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        account: account.id,
        identity_type: text("identity_type"),
        cvr: text(super::CVR_CLAIM),
    }))
}

pub(super) async fn list_services() -> Json<Value> {
    Json(json!({ "services": SELF_SERVICES }))
}

pub(super) async fn use_service(
    State(sp): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let service = SELF_SERVICES
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no self-service {id:?}")))?;
    let login_url = format!(
        "/login?loa={}&return_to=/services/{}",
        format!("{:?}", service.required_loa).to_lowercase(),
        service.id
    );
    let Some((_, session, account)) = session_of(&sp, &headers) else {
        return Err(ApiError::Unauthorized(format!("log in first: {login_url}")));
    };
    if session.loa < service.required_loa {
        return Err(ApiError::Forbidden(format!(
            "insufficient_loa: {} needs LoA {:?}, the session has {:?}; step up at {login_url}",
            service.title, service.required_loa, session.loa
        )));
    }
    if service.requires_cpr && account.cpr.is_none() {
        return Err(ApiError::Forbidden(format!(
            "cpr_required: {} needs a MitID with a CPR number",
            service.title
        )));
    }
    Ok(Json(json!({
        "service": service.id,
        "title": service.title,
        "account": account.id,
        "sub": account.sub,
        "loa": session.loa,
        "status": "ready",
    })))
}
