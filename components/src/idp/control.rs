//! The control API (control listener only): client registration, per-login scripts of
//! misbehaviour, key rotation, endpoint faults, IdP-initiated back-channel logout.
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | POST | `/control/clients` | [`ClientConfig`] (`client_id`/`client_secret` may be empty: generated) | 201 the stored client |
//! | GET | `/control/clients/{id}` | | 200 client |
//! | POST | `/control/scripts` | [`ScriptRequest`] | 201 `{"script_id"}` |
//! | GET | `/control/scripts/{id}` | | 200 `{"script_id", "script", "log"}` ([`ScriptLog`]) |
//! | POST | `/control/keys/rotate` | `{"keep_previous": bool}` | 200 `{"generation", "kids"}` |
//! | PUT / DELETE | `/control/faults/{endpoint}` | [`EndpointFault`] | 204 |
//! | GET | `/control/logins/{login_id}` | | 200 login on the HTML pages (channel binding, step) |
//! | POST | `/control/backchannel-logout` | `{"sid"}` or `{"user_id"}` | 200 deliveries |
//!
//! Scripts are keyed to one login: `match` is `{"client_id", "state"}`, `{"test_user"}` or
//! `{"login_id"}`. Endpoint faults and key rotation are global (the JWKS is global by nature):
//! conformance scenarios that use them run `@serial`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::oidc::{LogoutDelivery, end_session};
use super::registry::random_token;
use super::script::{Script, ScriptLog, ScriptRequest};
use super::{ClientAuthMethod, ClientConfig, EndpointFault, SharedState};
use crate::service::{ApiError, Json, Path};

/// Endpoints a global fault can be set on.
pub const FAULT_ENDPOINTS: [&str; 5] = ["discovery", "jwks", "authorize", "token", "userinfo"];

/// Checks a client registration; the error names the field.
pub fn check_client(client: &ClientConfig) -> Result<(), String> {
    if client.client_id.is_empty() || client.client_id.len() > 200 {
        return Err("client_id: must be 1–200 characters".into());
    }
    // The id appears in paths (`/control/clients/{client_id}`) and logs: unreserved URL
    // characters only, and never a dot segment.
    if !client
        .client_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | ':'))
        || client.client_id.contains("..")
    {
        return Err(format!(
            "client_id: {:?} may hold only letters, digits and - . _ ~ : (no `/`, no `..`)",
            client.client_id
        ));
    }
    if client.redirect_uris.is_empty() {
        return Err("redirect_uris: at least one is needed".into());
    }
    for uri in client
        .redirect_uris
        .iter()
        .chain(&client.post_logout_redirect_uris)
        .chain(&client.backchannel_logout_uri)
    {
        let parsed =
            url::Url::parse(uri).map_err(|e| format!("`{uri}` is not an absolute URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.fragment().is_some() {
            return Err(format!("`{uri}` must be http(s) without a fragment"));
        }
    }
    match client.token_endpoint_auth_method {
        ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost => {
            if client.client_secret.as_deref().is_none_or(|s| s.len() < 16) {
                return Err(
                    "client_secret: at least 16 characters are needed for client_secret_*".into(),
                );
            }
        }
        ClientAuthMethod::PrivateKeyJwt => {
            let keys = client
                .jwks
                .as_ref()
                .and_then(|j| j.get("keys"))
                .and_then(Value::as_array);
            if keys.is_none_or(Vec::is_empty) {
                return Err(
                    "jwks: a JWK Set with at least one key is needed for private_key_jwt".into(),
                );
            }
        }
    }
    if let Some(keys) = client
        .jwks
        .as_ref()
        .and_then(|j| j.get("keys"))
        .and_then(Value::as_array)
    {
        for (i, jwk) in keys.iter().enumerate() {
            super::jose::check_public_jwk(jwk).map_err(|e| format!("jwks.keys[{i}]: {e}"))?;
        }
    }
    Ok(())
}

/// `POST /control/clients` body: a [`ClientConfig`] whose id and secret may be left out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterClient {
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: ClientAuthMethod,
    #[serde(default)]
    pub jwks: Option<Value>,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub id_token_signed_response_alg: Option<super::jose::Alg>,
    /// Sector in the `NemID` calendar (`bank`, `public`, ...): when its `NemID` logins end.
    #[serde(default)]
    pub sector: Option<String>,
}

pub async fn register_client(
    State(state): State<SharedState>,
    Json(req): Json<RegisterClient>,
) -> Result<(StatusCode, Json<ClientConfig>), ApiError> {
    let needs_secret = req.token_endpoint_auth_method != ClientAuthMethod::PrivateKeyJwt;
    let client = ClientConfig {
        client_id: req
            .client_id
            .unwrap_or_else(|| format!("client-{}", random_token(9))),
        client_secret: req
            .client_secret
            .or_else(|| needs_secret.then(|| random_token(24))),
        redirect_uris: req.redirect_uris,
        token_endpoint_auth_method: req.token_endpoint_auth_method,
        jwks: req.jwks,
        backchannel_logout_uri: req.backchannel_logout_uri,
        post_logout_redirect_uris: req.post_logout_redirect_uris,
        id_token_signed_response_alg: req
            .id_token_signed_response_alg
            .unwrap_or(super::jose::Alg::ES256),
    };
    check_client(&client).map_err(ApiError::InvalidRequest)?;
    if let Some(sector) = &req.sector {
        super::nemid::check_sector(&state, sector)?;
    }
    let mut store = state.lock();
    if store.clients.contains_key(&client.client_id) {
        return Err(ApiError::Conflict(format!(
            "client `{}` exists",
            client.client_id
        )));
    }
    store
        .clients
        .insert(client.client_id.clone(), client.clone());
    if let Some(sector) = req.sector {
        store
            .nemid
            .client_sectors
            .insert(client.client_id.clone(), sector);
    }
    Ok((StatusCode::CREATED, Json(client)))
}

pub async fn get_client(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<ClientConfig>, ApiError> {
    state
        .lock()
        .clients
        .get(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no client `{id}`")))
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScriptCreated {
    pub script_id: String,
}

pub async fn add_script(
    State(state): State<SharedState>,
    Json(req): Json<ScriptRequest>,
) -> Result<(StatusCode, Json<ScriptCreated>), ApiError> {
    let m = &req.matcher;
    let ways = usize::from(m.client_id.is_some() || m.state.is_some())
        + usize::from(m.test_user.is_some())
        + usize::from(m.login_id.is_some());
    if ways != 1 {
        return Err(ApiError::invalid_request(
            "match: give exactly one of {client_id, state}, {test_user} or {login_id}",
        ));
    }
    if m.client_id.is_some() != m.state.is_some() {
        return Err(ApiError::invalid_request(
            "match: client_id and state go together",
        ));
    }
    if m.login_id.is_some() && req.user_id.is_some() {
        return Err(ApiError::invalid_request(
            "user_id: a login already on the HTML pages is authenticated by the citizen there",
        ));
    }
    let id = random_token(12);
    let mut store = state.lock();
    if let (Some(client), Some(s)) = (&m.client_id, &m.state) {
        if !store.clients.contains_key(client) {
            return Err(ApiError::invalid_request(format!(
                "match.client_id: no client `{client}`"
            )));
        }
        let key = (client.clone(), s.clone());
        if store.scripts.by_client_state.contains_key(&key) {
            return Err(ApiError::Conflict(
                "a script for this client and state is already pending".into(),
            ));
        }
        store.scripts.by_client_state.insert(key, id.clone());
    } else if let Some(user) = &m.test_user {
        let key = user.to_ascii_lowercase();
        if store.scripts.by_test_user.contains_key(&key) {
            return Err(ApiError::Conflict(format!(
                "a script for test user `{user}` is already pending"
            )));
        }
        store.scripts.by_test_user.insert(key, id.clone());
    } else if let Some(login) = &m.login_id {
        if !store.logins.contains_key(login) {
            return Err(ApiError::invalid_request(format!(
                "match.login_id: no login `{login}`"
            )));
        }
        store.scripts.by_login.insert(login.clone(), id.clone());
        // A login on the pages already exists: attach at once.
        if let Some(tx) = store.logins.get_mut(login) {
            tx.script_id = Some(id.clone());
        }
        store.scripts.by_login.remove(login);
    }
    let mut script = Script {
        id: id.clone(),
        request: req,
        log: ScriptLog::default(),
        calls: Vec::new(),
        last_active: None,
    };
    if script.request.matcher.login_id.is_some() {
        script.log.matched = true;
    }
    store.scripts.by_id.insert(id.clone(), script);
    Ok((StatusCode::CREATED, Json(ScriptCreated { script_id: id })))
}

pub async fn get_script(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.lock();
    let script = store
        .scripts
        .by_id
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no script `{id}`")))?;
    Ok(Json(json!({
        "script_id": script.id,
        "script": script.request,
        "log": script.log,
    })))
}

/// `GET /control/scripts/{id}/calls`: the service provider's token, userinfo and JWKS calls in
/// this script's login, oldest first, as the broker saw and answered them.
pub async fn get_script_calls(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<super::calls::BrokerCall>>, ApiError> {
    let store = state.lock();
    let script = store
        .scripts
        .by_id
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no script `{id}`")))?;
    Ok(Json(script.calls.clone()))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    #[serde(default)]
    pub keep_previous: bool,
}

pub async fn rotate_keys(
    State(state): State<SharedState>,
    Json(req): Json<RotateRequest>,
) -> Result<Json<Value>, ApiError> {
    let st = state.clone();
    // RSA key generation takes a while: off the async workers.
    let generation = tokio::task::spawn_blocking(move || st.rotate_keys(req.keep_previous))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let keys = state.keys();
    let kids: Vec<&str> = keys.current.values().map(|k| k.kid.as_str()).collect();
    Ok(Json(json!({ "generation": generation, "kids": kids })))
}

fn check_endpoint(endpoint: &str) -> Result<(), ApiError> {
    if FAULT_ENDPOINTS.contains(&endpoint) {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!(
            "no endpoint `{endpoint}`; faults can be set on {}",
            FAULT_ENDPOINTS.join(", ")
        )))
    }
}

pub async fn set_fault(
    State(state): State<SharedState>,
    Path(endpoint): Path<String>,
    Json(fault): Json<EndpointFault>,
) -> Result<StatusCode, ApiError> {
    check_endpoint(&endpoint)?;
    if fault.delay_ms > 120_000 {
        return Err(ApiError::invalid_request("delay_ms: at most 120000"));
    }
    if let Some(status) = fault.status
        && !(400..=599).contains(&status)
    {
        return Err(ApiError::invalid_request("status: must be 400–599"));
    }
    state.lock().faults.insert(endpoint, fault);
    Ok(StatusCode::NO_CONTENT)
}

pub async fn clear_fault(
    State(state): State<SharedState>,
    Path(endpoint): Path<String>,
) -> Result<StatusCode, ApiError> {
    check_endpoint(&endpoint)?;
    state.lock().faults.remove(&endpoint);
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_login(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.lock();
    let tx = store
        .logins
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no login `{id}`")))?;
    Ok(Json(tx.control_view()))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackchannelRequest {
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
}

/// Ends sessions the way a citizen logging out elsewhere would: by `sid`, or every session of a
/// user. Answers what each client's back-channel endpoint said.
pub async fn backchannel_logout(
    State(state): State<SharedState>,
    Json(req): Json<BackchannelRequest>,
) -> Result<Json<Vec<LogoutDelivery>>, ApiError> {
    let sids: Vec<String> = match (&req.sid, &req.user_id) {
        (Some(sid), None) => vec![sid.clone()],
        (None, Some(user)) => {
            let store = state.lock();
            let uuid = store
                .registry
                .uuid_by_user_id(user)
                .ok_or_else(|| ApiError::NotFound(format!("no user `{user}`")))?
                .to_owned();
            store
                .sessions
                .values()
                .filter(|s| s.uuid == uuid)
                .map(|s| s.sid.clone())
                .collect()
        }
        _ => {
            return Err(ApiError::invalid_request(
                "give exactly one of sid or user_id",
            ));
        }
    };
    let mut deliveries = Vec::new();
    for sid in sids {
        deliveries.extend(end_session(&state, &sid).await);
    }
    Ok(Json(deliveries))
}
