//! The end of a successful authentication: the identity's state and the assurance asked for are
//! checked, the CPR register is asked when the `ssn` scope wants the CPR number, and the SSO
//! session and the single-use authorization code are recorded before the redirect to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use mitid_devices::{Aal, AmrSet, Factor, assess, loa};

use super::{SSO_COOKIE, append_query, error_redirect};
use crate::idp::professional;
use crate::idp::registry::{Identity, random_token, random_uuid};
use crate::idp::script::{AuthRequest, LoginIdp, LoginResult};
use crate::idp::{CodeGrant, IdpState, SharedState, SsoSession};
use crate::service::found;

/// What an authentication established.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub aal: Aal,
    pub amr: AmrSet,
    pub auth_time: Option<u64>,
    pub sid: Option<String>,
    pub idp: LoginIdp,
    /// The company (CVR number) the citizen chose on the pages, in a business login.
    pub organisation: Option<String>,
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
            organisation: None,
        }
    }
}

/// Ends the authorization at the client with `error`, recorded in the login's script log.
pub(in crate::idp) fn fail(
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
#[allow(clippy::too_many_lines)]
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
    let achieved = loa(identity.ial, auth.aal);
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
    // A business login: the company the citizen acts for (chosen, or their only one).
    let professional = if state.profile.asks_for_professional(&req.idp_values) {
        let chosen = professional::chosen(
            state,
            req,
            auth.organisation.as_deref(),
            script_id.as_deref(),
        );
        match professional::choose(identity, chosen.as_deref()) {
            Ok(p) => Some(p),
            Err(description) => {
                return fail(
                    state,
                    req,
                    script_id.as_deref(),
                    "access_denied",
                    description,
                );
            }
        }
    } else {
        None
    };
    let now = state.now_secs();
    let code = random_token(32);
    let sid = auth.sid.clone().unwrap_or_else(|| random_token(16));
    let result = LoginResult {
        uuid: identity.uuid.clone(),
        ial: identity.ial,
        aal: auth.aal,
        loa: achieved,
        amr: auth.amr,
        auth_time: auth.auth_time.unwrap_or(now),
        sid: sid.clone(),
        transaction_id: random_uuid(),
        idp: auth.idp,
        professional,
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

/// Drops expired codes, tokens and replay records once the maps grow (keeps memory bounded
/// under load without a background task).
fn prune(store: &mut crate::idp::Store, now: u64) {
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

/// Records the authorization error in the login's script log (for the control API).
pub(super) fn log_error(state: &IdpState, script_id: Option<&str>, error: &str) {
    if let Some(log) = state.lock().scripts.log_mut(script_id) {
        log.authorization_error = Some(error.to_owned());
    }
}
