//! How a valid authorization request is answered: by a control-API script, by a headless test
//! login (`login_hint=test:<user>[:<behaviour>]`), by the single sign-on session, with
//! `login_required` for `prompt=none`, or by the HTML login pages; the per-person rate limit
//! applies first.

use axum::http::HeaderMap;
use axum::response::Response;
use mitid_devices::{Aal, AppConfirmation, Factor, Loa, loa};

use super::code_grant::{Authenticated, complete, fail, log_error};
use super::{SSO_COOKIE, error_redirect};
use crate::idp::registry::Identity;
use crate::idp::script::{AuthRequest, Behaviour, LoginIdp};
use crate::idp::{IdpState, SharedState, SsoSession};
use crate::service::cookie;

/// Counts a login attempt against `key`; false when the window is full (the attempt is refused
/// and, importantly, not counted against the person's authenticators).
pub fn rate_limited(state: &IdpState, store: &mut crate::idp::Store, key: &str) -> bool {
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
#[allow(clippy::too_many_lines)]
pub(super) async fn start_login(
    state: SharedState,
    headers: HeaderMap,
    req: AuthRequest,
) -> Response {
    let test_hint = req
        .login_hint
        .as_deref()
        .and_then(|h| h.strip_prefix("test:"))
        // `:cvr=<cvr>` at the end chooses the company of a business login (read there).
        .map(|rest| crate::idp::professional::split_hint(rest).0)
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
                || crate::idp::nemid::cutoff_refusal(&state, &req, script_id.as_deref()).is_none())
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
    if crate::idp::nemid::requested(&state, &req) {
        return crate::idp::nemid::begin(&state, &headers, req, script_id);
    }
    if let Some(session) = usable_session {
        let ial = state
            .lock()
            .registry
            .by_uuid
            .get(&session.uuid)
            .map(|i| i.ial);
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
    crate::idp::login::begin(&state, &headers, req, script_id)
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
            organisation: None,
        },
        script_id,
    )
    .await
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
        || (behaviour == Behaviour::Approve && crate::idp::nemid::requested(state, req))
    {
        let behaviour = if behaviour.is_nemid() {
            behaviour
        } else {
            Behaviour::NemidKeyCard
        };
        return crate::idp::nemid::headless(state, req, &identity, behaviour, script_id).await;
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
