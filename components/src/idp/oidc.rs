//! The `OpenID` Connect endpoints: discovery, JWKS, authorization, token, userinfo, logout.
//!
//! Authorization requests are validated in the order RFC 6749 §4.1.2.1 asks: a missing or
//! unknown `client_id` or a `redirect_uri` that is not registered *exactly* gets an error page
//! (never a redirect: no open redirector); every later problem is a redirect to the client with
//! `error`, `error_description`, `state` and `iss`. The token endpoint answers RFC 6749 §5.2 JSON.

// Handlers return the HTTP answer itself as the error (`Result<_, Response>`), which is large by
// nature; and each endpoint reads best as one function in the order of its RFC's checks.
#![allow(clippy::result_large_err, clippy::too_many_lines)]

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use mitid_devices::{Aal, AmrSet, AppConfirmation, Factor, Ial, Loa, assess, loa};
use serde_json::{Map, Value, json};

use super::admin;
use super::jose::{self, Alg, Signature, Unverified};
use super::profile::ClaimKey;
use super::registry::{Identity, random_token, random_uuid};
use super::script::{
    AuthRequest, Behaviour, IdTokenFault, IdpParams, LoginIdp, LoginResult, UserinfoFault,
};
use super::{
    AccessGrant, ClientAuthMethod, ClientConfig, CodeGrant, IdpState, SharedState, SsoSession,
};
use crate::service::{ApiError, Body, cookie, error_page, found, parse_params};

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

/// Waits and/or answers an error as the fault says; `None` means carry on.
pub async fn apply_fault(fault: &super::EndpointFault) -> Option<Response> {
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

// ---------------------------------------------------------------------------------------------
// Authorization endpoint

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

/// Counts a login attempt against `key`; false when the window is full (the attempt is refused
/// and, importantly, not counted against the person's authenticators).
pub fn rate_limited(state: &IdpState, store: &mut super::Store, key: &str) -> bool {
    let now = state.now_secs();
    let limit = state.rate_limit;
    let times = store.attempts.entry(key.to_owned()).or_default();
    while times
        .front()
        .is_some_and(|t| now.saturating_sub(*t) >= limit.window_seconds)
    {
        times.pop_front();
    }
    if times.len() >= limit.max_attempts as usize {
        return true;
    }
    times.push_back(now);
    false
}

/// After validation: scripted or headless answer, SSO, `prompt=none`, or the HTML pages.
async fn start_login(state: SharedState, headers: HeaderMap, req: AuthRequest) -> Response {
    let test_hint = req
        .login_hint
        .as_deref()
        .and_then(|h| h.strip_prefix("test:"))
        .map(|rest| {
            let mut parts = rest.splitn(2, ':');
            (
                parts.next().unwrap_or("").to_owned(),
                parts.next().map(str::to_owned),
            )
        });
    let (script_id, scripted_user, scripted_behaviour) = {
        let mut store = state.lock();
        let mut found = req
            .state
            .as_deref()
            .and_then(|s| store.scripts.take_client_state(&req.client_id, s));
        if found.is_none()
            && let Some((user, _)) = &test_hint
        {
            found = store.scripts.take_test_user(user);
        }
        match store
            .scripts
            .get(found.as_deref())
            .map(|s| (s.request.user_id.clone(), s.request.behaviour))
        {
            Some((user, behaviour)) => {
                if let Some(log) = store.scripts.log_mut(found.as_deref()) {
                    log.matched = true;
                }
                (found, user, behaviour)
            }
            None => (None, None, None),
        }
    };

    // Who is named by hints: rate limits apply per user ID and per CPR before anything else.
    let hinted_user = scripted_user
        .clone()
        .or_else(|| test_hint.as_ref().map(|(u, _)| u.clone()));
    {
        let mut store = state.lock();
        let mut keys = Vec::new();
        if let Some(user) = &hinted_user {
            keys.push(format!("user:{}", user.to_ascii_lowercase()));
        }
        if let Some(cpr) = &req.idp_params.cpr_hint {
            keys.push(format!("cpr:{cpr}"));
        }
        if let Some(cpr) = hinted_user
            .as_deref()
            .and_then(|u| store.registry.by_user_id(u))
            .and_then(Identity::cpr)
            .map(str::to_owned)
        {
            keys.push(format!("cpr:{cpr}"));
        }
        keys.dedup();
        for key in keys {
            if rate_limited(&state, &mut store, &key) {
                drop(store);
                log_error(&state, script_id.as_deref(), "temporarily_unavailable");
                return error_redirect(
                    &state,
                    &req,
                    "temporarily_unavailable",
                    "too many login attempts for this person; try again later",
                );
            }
        }
    }

    let now = state.now_secs();
    let forced = req.prompt.iter().any(|p| p == "login");
    // Single sign-on: an existing session that is fresh and strong enough.
    let session =
        cookie(&headers, SSO_COOKIE).and_then(|sid| state.lock().sessions.get(&sid).cloned());
    let usable_session = session.filter(|s| {
        !forced
            && req
                .max_age
                .is_none_or(|m| now.saturating_sub(s.auth_time) <= m)
            && hinted_user.is_none()
            // A NemID session is only reused while the calendar still allows NemID here.
            && (s.idp != LoginIdp::Nemid
                || super::nemid::cutoff_refusal(&state, &req, script_id.as_deref()).is_none())
    });
    if req.prompt.iter().any(|p| p == "none") {
        let Some(session) = usable_session else {
            log_error(&state, script_id.as_deref(), "login_required");
            return error_redirect(
                &state,
                &req,
                "login_required",
                "no MitID session; the citizen must log in",
            );
        };
        return reuse_session(&state, &req, &session, script_id).await;
    }

    if let Some(user) = hinted_user {
        let behaviour = scripted_behaviour
            .or_else(|| {
                test_hint
                    .as_ref()
                    .and_then(|(_, b)| b.as_deref())
                    .and_then(Behaviour::parse)
            })
            .unwrap_or_default();
        if let Some((_, Some(text))) = &test_hint
            && Behaviour::parse(text).is_none()
            && scripted_behaviour.is_none()
        {
            return error_redirect(
                &state,
                &req,
                "invalid_request",
                &format!("login_hint behaviour `{text}` is unknown"),
            );
        }
        return headless(&state, &req, &user, behaviour, script_id).await;
    }
    if super::nemid::requested(&state, &req) {
        return super::nemid::begin(&state, &headers, req, script_id);
    }
    if let Some(session) = usable_session {
        let ial = state
            .lock()
            .registry
            .by_uuid
            .get(&session.uuid)
            .map(|i| to_devices_ial(i.ial));
        let strong_enough = ial.is_some_and(|ial| {
            let reached = loa(ial, session.aal);
            req.requested_loa.is_none_or(|want| reached.satisfies(want))
                && req
                    .requested_aal
                    .is_none_or(|want| session.aal.rank() >= want.rank())
        });
        if strong_enough {
            return reuse_session(&state, &req, &session, script_id).await;
        }
    }
    super::login::begin(&state, &headers, req, script_id)
}

fn log_error(state: &IdpState, script_id: Option<&str>, error: &str) {
    if let Some(log) = state.lock().scripts.log_mut(script_id) {
        log.authorization_error = Some(error.to_owned());
    }
}

async fn reuse_session(
    state: &SharedState,
    req: &AuthRequest,
    session: &SsoSession,
    script_id: Option<String>,
) -> Response {
    let identity = state.lock().registry.by_uuid.get(&session.uuid).cloned();
    let Some(identity) = identity else {
        return error_redirect(
            state,
            req,
            "login_required",
            "the session's identity is gone",
        );
    };
    // A session re-used by SSO keeps the strength of its original login.
    complete(
        state,
        req,
        &identity,
        Authenticated {
            aal: session.aal,
            amr: session.amr,
            auth_time: Some(session.auth_time),
            sid: Some(session.sid.clone()),
            idp: session.idp,
        },
        script_id,
    )
    .await
}

/// What an authentication established.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub aal: Aal,
    pub amr: AmrSet,
    pub auth_time: Option<u64>,
    pub sid: Option<String>,
    pub idp: LoginIdp,
}

impl Authenticated {
    /// A fresh login at `idp` with `factors`, assessed for its AAL and `amr`.
    #[must_use]
    pub fn assessed(idp: LoginIdp, factors: &[Factor]) -> Self {
        let assessment = assess(factors);
        Self {
            aal: assessment.aal,
            amr: assessment.amr,
            auth_time: None,
            sid: None,
            idp,
        }
    }
}

async fn headless(
    state: &SharedState,
    req: &AuthRequest,
    user_id: &str,
    behaviour: Behaviour,
    script_id: Option<String>,
) -> Response {
    let identity = state.lock().registry.by_user_id(user_id).cloned();
    let Some(identity) = identity else {
        log_error(state, script_id.as_deref(), "access_denied");
        return error_redirect(
            state,
            req,
            "access_denied",
            &format!("unknown_user: no MitID with user ID `{user_id}`"),
        );
    };
    if behaviour.is_nemid()
        || (behaviour == Behaviour::Approve && super::nemid::requested(state, req))
    {
        let behaviour = if behaviour.is_nemid() {
            behaviour
        } else {
            Behaviour::NemidKeyCard
        };
        return super::nemid::headless(state, req, &identity, behaviour, script_id).await;
    }
    let wants_high = req.requested_loa == Some(Loa::High) || req.requested_aal == Some(Aal::High);
    let factors: Vec<Factor> = match behaviour {
        Behaviour::Approve if wants_high => {
            vec![Factor::MitidApp(AppConfirmation::PinSingleIdentity)]
        }
        Behaviour::Approve => vec![Factor::MitidApp(AppConfirmation::Swipe)],
        Behaviour::AppPin => vec![Factor::MitidApp(AppConfirmation::PinSingleIdentity)],
        Behaviour::CodeDisplay => vec![Factor::Password, Factor::CodeDisplay],
        Behaviour::AudioCodeReader => vec![Factor::Password, Factor::AudioCodeReader],
        Behaviour::Chip => vec![Factor::Password, Factor::Chip],
        Behaviour::PasswordOnly => vec![Factor::Password],
        // Handled above, by the NemID module.
        Behaviour::NemidKeyCard => vec![Factor::Password, Factor::NemidKeyCard],
        Behaviour::NemidKeyApp => vec![Factor::Password, Factor::NemidKeyApp],
        Behaviour::Abort => {
            return fail(
                state,
                req,
                script_id.as_deref(),
                "access_denied",
                "mitid_user_aborted",
            );
        }
        Behaviour::WrongPin => {
            return fail(
                state,
                req,
                script_id.as_deref(),
                "access_denied",
                "mitid_wrong_pin",
            );
        }
        Behaviour::Timeout => {
            return fail(
                state,
                req,
                script_id.as_deref(),
                "access_denied",
                "mitid_approval_timeout",
            );
        }
        Behaviour::ServerError => {
            return fail(
                state,
                req,
                script_id.as_deref(),
                "server_error",
                "the MitID broker failed",
            );
        }
    };
    complete(
        state,
        req,
        &identity,
        Authenticated::assessed(LoginIdp::Mitid, &factors),
        script_id,
    )
    .await
}

/// Ends the authorization at the client with `error`, recorded in the login's script log.
pub(super) fn fail(
    state: &IdpState,
    req: &AuthRequest,
    script_id: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    log_error(state, script_id, error);
    error_redirect(state, req, error, description)
}

/// Looks the person up in the CPR register; `Err` is the OIDC error to answer.
async fn check_cpr(state: &IdpState, cpr: &str) -> Result<(), (&'static str, String)> {
    let Some(base) = &state.cpr_url else {
        return Ok(());
    };
    match state.http.get(format!("{base}/persons/{cpr}")).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) if r.status() == StatusCode::NOT_FOUND => Err((
            "access_denied",
            "cpr_person_not_found: the CPR register does not know this person".into(),
        )),
        Ok(r) => Err((
            "temporarily_unavailable",
            format!(
                "the CPR register answered {}; try again later",
                r.status().as_u16()
            ),
        )),
        Err(e) if e.is_timeout() => Err((
            "temporarily_unavailable",
            "the CPR register did not answer in time".into(),
        )),
        Err(_) => Err((
            "temporarily_unavailable",
            "the CPR register cannot be reached".into(),
        )),
    }
}

/// Finishes a successful authentication: checks, SSO session, code, redirect.
pub async fn complete(
    state: &SharedState,
    req: &AuthRequest,
    identity: &Identity,
    auth: Authenticated,
    script_id: Option<String>,
) -> Response {
    if identity.blocked.is_some() {
        return fail(
            state,
            req,
            script_id.as_deref(),
            "access_denied",
            "mitid_identity_blocked",
        );
    }
    let ial = to_devices_ial(identity.ial);
    let achieved = loa(ial, auth.aal);
    if let Some(want) = req.requested_loa
        && !achieved.satisfies(want)
    {
        return fail(
            state,
            req,
            script_id.as_deref(),
            "access_denied",
            &format!(
                "mitid_insufficient_loa: the login reached {achieved} but {want} was requested"
            ),
        );
    }
    if let Some(want) = req.requested_aal
        && auth.aal.rank() < want.rank()
    {
        return fail(
            state,
            req,
            script_id.as_deref(),
            "access_denied",
            "mitid_insufficient_aal",
        );
    }
    if req.scopes.iter().any(|s| s == "ssn")
        && let Some(cpr) = identity.cpr()
        && let Err((error, description)) = check_cpr(state, cpr).await
    {
        return fail(state, req, script_id.as_deref(), error, &description);
    }
    let now = state.now_secs();
    let code = random_token(32);
    let sid = auth.sid.clone().unwrap_or_else(|| random_token(16));
    let result = LoginResult {
        uuid: identity.uuid.clone(),
        ial,
        aal: auth.aal,
        loa: achieved,
        amr: auth.amr,
        auth_time: auth.auth_time.unwrap_or(now),
        sid: sid.clone(),
        transaction_id: random_uuid(),
        idp: auth.idp,
    };
    {
        let mut store = state.lock();
        prune(&mut store, now);
        store
            .sessions
            .entry(sid.clone())
            .or_insert_with(|| SsoSession {
                sid: sid.clone(),
                uuid: identity.uuid.clone(),
                auth_time: result.auth_time,
                aal: result.aal,
                amr: result.amr,
                idp: result.idp,
                clients: std::collections::HashSet::new(),
            })
            .clients
            .insert(req.client_id.clone());
        store.codes.insert(
            code.clone(),
            CodeGrant {
                request: req.clone(),
                result,
                expires_at: now + state.profile.lifetimes.authorization_code_seconds,
                redeemed: false,
                script_id: script_id.clone(),
                access_token: None,
            },
        );
        if let Some(log) = store.scripts.log_mut(script_id.as_deref()) {
            log.code_issued = true;
        }
    }
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &req.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &state.issuer));
    let mut response = found(&append_query(&req.redirect_uri, &pairs));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SSO_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax"
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[must_use]
pub fn to_devices_ial(ial: admin::Ial) -> Ial {
    match ial {
        admin::Ial::Low => Ial::Low,
        admin::Ial::Substantial => Ial::Substantial,
        admin::Ial::High => Ial::High,
    }
}

/// Drops expired codes, tokens and replay records once the maps grow (keeps memory bounded
/// under load without a background task).
fn prune(store: &mut super::Store, now: u64) {
    if store.codes.len() > 10_000 {
        // Redeemed codes are kept until expiry so a replay is still recognised.
        store.codes.retain(|_, c| c.expires_at + 600 > now);
    }
    if store.access_tokens.len() > 50_000 {
        store.access_tokens.retain(|_, t| t.expires_at > now);
    }
    if store.assertion_ids.len() > 10_000 {
        store.assertion_ids.retain(|_, exp| *exp > now);
    }
    if store.attempts.len() > 50_000 {
        store.attempts.retain(|_, v| {
            !v.is_empty() && v.back().is_some_and(|t| now.saturating_sub(*t) < 3600)
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens

fn claim_value(
    state: &IdpState,
    key: ClaimKey,
    identity: &Identity,
    result: &LoginResult,
) -> Option<Value> {
    Some(match key {
        ClaimKey::Uuid => json!(identity.uuid),
        ClaimKey::DateOfBirth => json!(identity.date_of_birth),
        ClaimKey::Age => {
            let born =
                chrono::NaiveDate::parse_from_str(&identity.date_of_birth, "%Y-%m-%d").ok()?;
            json!(state.clock.today().years_since(born).unwrap_or(0))
        }
        ClaimKey::IdentityName => json!(identity.name),
        ClaimKey::IalIdentityAssuranceLevel | ClaimKey::Ial => json!(result.ial.uri()),
        ClaimKey::TransactionId => json!(result.transaction_id),
        ClaimKey::HasCpr => json!(identity.cpr().is_some()),
        ClaimKey::Cpr => json!(identity.cpr()?),
        ClaimKey::NemidPid => json!(identity.nemid_pid.as_ref()?),
        ClaimKey::Idp => match result.idp {
            LoginIdp::Nemid => json!(state.profile.nemid_idp_value.as_deref().unwrap_or("nemid")),
            LoginIdp::Mitid => json!(
                state
                    .profile
                    .idp_values
                    .first()
                    .map_or("mitid", String::as_str)
            ),
        },
        ClaimKey::IdentityType => json!(state.profile.identity_type_person),
        ClaimKey::Loa => json!(result.loa.uri()),
        ClaimKey::Aal => json!(result.aal.uri()),
        ClaimKey::Amr => json!(
            result
                .amr
                .iter()
                .map(mitid_devices::Amr::as_str)
                .collect::<Vec<_>>()
        ),
    })
}

/// The profile's claims for the granted scopes.
fn profile_claims(
    state: &IdpState,
    scopes: &[String],
    identity: &Identity,
    result: &LoginResult,
) -> Map<String, Value> {
    let mut claims = Map::new();
    for key in state.profile.keys_for(scopes.iter().map(String::as_str)) {
        if let (Some(name), Some(value)) = (
            state.profile.name(key),
            claim_value(state, key, identity, result),
        ) {
            claims.insert(name.to_owned(), value);
        }
    }
    claims
}

fn token_error(
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

fn invalid_client(description: impl Into<String>) -> Response {
    token_error(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

fn invalid_grant(description: impl Into<String>) -> Response {
    token_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

fn invalid_request(description: impl Into<String>) -> Response {
    token_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// Authenticates the client by the one method the request used; `Err` is the response.
fn authenticate_client(
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

pub async fn token(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Body(body): Body,
) -> Response {
    if let Some(r) = global_fault(&state, "token").await {
        return r;
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return invalid_request("the token request must be application/x-www-form-urlencoded");
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return invalid_request("the body is not UTF-8");
    };
    let p = match parse_params(text) {
        Ok(p) => p,
        Err(e) => return invalid_request(e),
    };
    let client = match authenticate_client(&state, &headers, &p) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match p.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {}
        Some(other) => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type `{other}` is not supported"),
            );
        }
        None => return invalid_request("grant_type is missing"),
    }
    let Some(code) = p.get("code") else {
        return invalid_request("code is missing");
    };
    let now = state.now_secs();
    // Redeem under the lock so two concurrent requests cannot both use one code.
    let grant = {
        let mut store = state.lock();
        let Some(grant) = store.codes.get_mut(code) else {
            return invalid_grant("unknown authorization code");
        };
        let script_id = grant.script_id.clone();
        if grant.redeemed {
            let revoked = grant.access_token.take();
            if let Some(t) = revoked {
                store.access_tokens.remove(&t);
            }
            if let Some(log) = store.scripts.log_mut(script_id.as_deref()) {
                log.code_replays += 1;
                log.token_requests += 1;
            }
            return invalid_grant(
                "the authorization code was already used; tokens issued from it are revoked",
            );
        }
        if let Some(log) = store.scripts.log_mut(script_id.as_deref()) {
            log.token_requests += 1;
        }
        let Some(grant) = store.codes.get_mut(code) else {
            return invalid_grant("unknown authorization code");
        };
        if grant.request.client_id != client.client_id {
            return invalid_grant("the code was issued to another client");
        }
        if grant.expires_at <= now {
            return invalid_grant("the authorization code has expired");
        }
        match p.get("redirect_uri") {
            Some(uri) if *uri == grant.request.redirect_uri => {}
            Some(_) => return invalid_grant("redirect_uri differs from the authorization request"),
            None => return invalid_request("redirect_uri is missing"),
        }
        let Some(verifier) = p.get("code_verifier") else {
            return invalid_request("code_verifier is missing (PKCE)");
        };
        if !(43..=128).contains(&verifier.len())
            || !verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        {
            return invalid_request("code_verifier is not 43-128 unreserved characters");
        }
        if jose::pkce_s256(verifier) != grant.request.code_challenge {
            return invalid_grant("code_verifier does not match the code_challenge");
        }
        grant.redeemed = true;
        grant.clone()
    };
    let script = state
        .lock()
        .scripts
        .get(grant.script_id.as_deref())
        .cloned();
    if let Some(fault) = script
        .as_ref()
        .and_then(|s| s.request.token_endpoint.clone())
        && let Some(r) = apply_fault(&fault).await
    {
        return r;
    }
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
        .as_ref()
        .map(|s| s.request.id_token.clone())
        .unwrap_or_default();
    let id_token = match mint_id_token(&state, &client, &grant, &identity, &access_token, &faults) {
        Ok(t) => t,
        Err(e) => {
            return token_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                e.to_string(),
            );
        }
    };
    {
        let mut store = state.lock();
        store.access_tokens.insert(
            access_token.clone(),
            AccessGrant {
                client_id: client.client_id.clone(),
                scopes: grant.request.scopes.clone(),
                result: grant.result.clone(),
                expires_at: now + state.profile.lifetimes.access_token_seconds,
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
        "expires_in": state.profile.lifetimes.access_token_seconds,
        "id_token": id_token,
        "scope": grant.request.scopes.join(" "),
    }))
    .into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// How an ID token's signature is made (the honest way or a scripted fault).
enum How {
    Real,
    Foreign,
    None,
    Hmac,
    Corrupt,
}

/// Builds and signs the ID token, applying the login's scripted faults.
pub fn mint_id_token(
    state: &IdpState,
    client: &ClientConfig,
    grant: &CodeGrant,
    identity: &Identity,
    access_token: &str,
    faults: &[IdTokenFault],
) -> Result<String, jose::JoseError> {
    let now = state.now_secs();
    let result = &grant.result;
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(state.issuer));
    claims.insert("sub".into(), json!(identity.uuid));
    claims.insert("aud".into(), json!(client.client_id));
    claims.insert(
        "exp".into(),
        json!(now + state.profile.lifetimes.id_token_seconds),
    );
    claims.insert("iat".into(), json!(now));
    claims.insert("auth_time".into(), json!(result.auth_time));
    if let Some(nonce) = &grant.request.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.insert("sid".into(), json!(result.sid));
    claims.insert("at_hash".into(), json!(jose::half_hash(access_token)));
    if grant.request.acr_requested {
        claims.insert("acr".into(), json!(result.loa.uri()));
    }
    claims.extend(profile_claims(
        state,
        &grant.request.scopes,
        identity,
        result,
    ));

    let key = state
        .signing_key(client.id_token_signed_response_alg)
        .ok_or_else(|| {
            jose::JoseError::UnknownKey(client.id_token_signed_response_alg.to_string())
        })?;
    let mut header = json!({"alg": key.alg.as_str(), "kid": key.kid, "typ": "JWT"});
    let mut how = How::Real;
    for fault in faults {
        match fault {
            IdTokenFault::ForeignKey => how = How::Foreign,
            IdTokenFault::AlgNone => how = How::None,
            IdTokenFault::Hs256PublicKey => how = How::Hmac,
            IdTokenFault::BadSignature => how = How::Corrupt,
            IdTokenFault::WrongIss { iss } => {
                claims.insert(
                    "iss".into(),
                    json!(
                        iss.clone()
                            .unwrap_or_else(|| format!("{}/not-the-issuer", state.issuer))
                    ),
                );
            }
            IdTokenFault::WrongAud { aud } => {
                claims.insert(
                    "aud".into(),
                    json!(aud.clone().unwrap_or_else(|| "some-other-client".into())),
                );
            }
            IdTokenFault::ExtraAudWithoutAzp => {
                claims.insert(
                    "aud".into(),
                    json!([client.client_id, "another-relying-party"]),
                );
                claims.remove("azp");
            }
            IdTokenFault::Expired { seconds } => {
                let ago = seconds.unwrap_or(600);
                let exp = now.saturating_sub(ago);
                claims.insert("exp".into(), json!(exp));
                claims.insert(
                    "iat".into(),
                    json!(exp.saturating_sub(state.profile.lifetimes.id_token_seconds)),
                );
            }
            IdTokenFault::FutureIat { seconds } => {
                let iat = now + seconds.unwrap_or(3600);
                claims.insert("iat".into(), json!(iat));
                claims.insert(
                    "exp".into(),
                    json!(iat + state.profile.lifetimes.id_token_seconds),
                );
            }
            IdTokenFault::ClockSkew { seconds } => {
                for name in ["iat", "exp", "auth_time"] {
                    if let Some(v) = claims.get(name).and_then(Value::as_u64) {
                        claims.insert(name.into(), json!(v.saturating_add_signed(*seconds)));
                    }
                }
            }
            IdTokenFault::MissingNonce => {
                claims.remove("nonce");
            }
            IdTokenFault::WrongNonce => {
                claims.insert("nonce".into(), json!(format!("not-{}", random_token(8))));
            }
            IdTokenFault::MissingSub => {
                claims.remove("sub");
            }
            IdTokenFault::LowerLoa => {
                let asked = grant.request.requested_loa.unwrap_or(result.loa);
                let lower = Loa::from_rank(asked.rank().saturating_sub(1));
                let lower_aal = Aal::from_rank(lower.rank());
                for key in [ClaimKey::Loa] {
                    if let Some(name) = state.profile.name(key) {
                        claims.insert(name.into(), json!(lower.uri()));
                    }
                }
                if let Some(name) = state.profile.name(ClaimKey::Aal) {
                    claims.insert(name.into(), json!(lower_aal.uri()));
                }
                if claims.contains_key("acr") {
                    claims.insert("acr".into(), json!(lower.uri()));
                }
            }
            IdTokenFault::OmitKid => {
                if let Some(h) = header.as_object_mut() {
                    h.remove("kid");
                }
            }
            IdTokenFault::UnknownKid => {
                header["kid"] = json!(format!("unknown-{}", random_token(6)));
            }
            IdTokenFault::SetClaims { claims: set } => {
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
    let claims = Value::Object(claims);
    match how {
        How::Real => jose::compact(&header, &claims, &Signature::Key(&key)),
        How::Foreign => {
            let foreign = super::foreign_key(state.key_seed, key.alg)?;
            jose::compact(&header, &claims, &Signature::Key(&foreign))
        }
        How::None => {
            header["alg"] = json!("none");
            if let Some(h) = header.as_object_mut() {
                h.remove("kid");
            }
            jose::compact(&header, &claims, &Signature::None)
        }
        How::Hmac => {
            header["alg"] = json!("HS256");
            let pem = key.public_pem();
            jose::compact(&header, &claims, &Signature::Hmac(pem.as_bytes()))
        }
        How::Corrupt => {
            let token = jose::compact(&header, &claims, &Signature::Key(&key))?;
            let (input, sig) = token.rsplit_once('.').unwrap_or((&token, ""));
            let mut bytes = jose::unb64(sig)?;
            if let Some(last) = bytes.last_mut() {
                *last ^= 0x01;
            }
            Ok(format!("{input}.{}", jose::b64(&bytes)))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Userinfo

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
    let script = state
        .lock()
        .scripts
        .get(grant.script_id.as_deref())
        .cloned();
    if let Some(fault) = script
        .as_ref()
        .and_then(|s| s.request.userinfo_endpoint.clone())
        && let Some(r) = apply_fault(&fault).await
    {
        return r;
    }
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

// ---------------------------------------------------------------------------------------------
// Logout

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
