//! The login: `GET /login` starts the code flow (PKCE S256, `state`, `nonce`, `acr_values`) and
//! `GET /callback` finishes it in protocol order: the pending login, the IdP's answer, the code
//! exchange, the ID token ([`validate`](super::validate)), userinfo, the NemID calendar, the
//! account and the session. Each named [`Flaw`] switches off exactly its check.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::idp_client::{exchange_code, fetch_userinfo, login_refused, upstream};
use super::portal::session_of;
use super::validate::{self, Expected, Jws};
use super::{
    Account, BUSINESS_IDP_VALUE, BUSINESS_SCOPE, CVR_CLAIM, Flaw, LOGIN_COOKIE, LOGIN_TTL, Loa,
    LoginTxn, MAX_ENTRIES, NEMID_IDP_VALUE, PROFESSIONAL_ID_CLAIM, PROFESSIONAL_IDENTITY_TYPE,
    SESSION_COOKIE, Session, Shared, Sp, random_token, redirect, safe_return_to, set_cookie,
};
use crate::service::{ApiError, Query, cookie};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginQuery {
    loa: Option<String>,
    return_to: Option<String>,
    login_hint: Option<String>,
    prompt: Option<String>,
    /// `professional`: a business (MitID Erhverv) login ([`super::BUSINESS_LOGIN_PATH`]).
    identity: Option<String>,
}

pub(super) async fn login(
    State(sp): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let loa = match q.loa.as_deref() {
        None => Loa::Substantial,
        Some(text) => Loa::from_uri_or_name(text).map_err(|_| {
            ApiError::invalid_request("parameter loa: must be low, substantial or high")
        })?,
    };
    let return_to = safe_return_to(q.return_to.as_deref())?;
    let business = business_login(q.identity.as_deref())?;
    if q.login_hint.as_ref().is_some_and(|h| h.len() > 256) {
        return Err(ApiError::invalid_request("parameter login_hint: too long"));
    }
    let prompt = match q.prompt.as_deref() {
        None | Some("login" | "none" | "consent") => q.prompt.clone(),
        Some(_) => {
            return Err(ApiError::invalid_request(
                "parameter prompt: must be login, none or consent",
            ));
        }
    };
    if sp.flawed(Flaw::StepUpReusesSession)
        && let Some(id) = cookie(&headers, SESSION_COOKIE)
        && let Some(session) = sp.store().sessions.get_mut(&id)
    {
        session.loa = session.loa.max(loa);
        return Ok(redirect(&return_to, StatusCode::SEE_OTHER, Vec::new()));
    }
    let provider = sp.provider().await?;
    let now = sp.config.clock.now();
    let txn = LoginTxn {
        state: if sp.flawed(Flaw::FixedState) {
            "reference-sp-state".to_owned()
        } else {
            random_token(24)
        },
        nonce: if sp.flawed(Flaw::FixedNonce) {
            "reference-sp-nonce".to_owned()
        } else {
            random_token(24)
        },
        code_verifier: (!sp.flawed(Flaw::NoPkce)).then(|| random_token(48)),
        loa,
        return_to,
        created: now,
    };
    let mut url = url::Url::parse(&provider.authorization_endpoint)
        .map_err(|e| upstream(format!("authorization_endpoint: {e}")))?;
    {
        let mut pairs = url.query_pairs_mut();
        pairs
            .append_pair("response_type", "code")
            .append_pair("client_id", &sp.config.client_id)
            .append_pair("redirect_uri", &sp.config.redirect_uri())
            .append_pair("scope", &sent_scope(&sp, business))
            .append_pair("state", &txn.state)
            .append_pair("nonce", &txn.nonce)
            .append_pair("acr_values", loa.uri());
        if let Some(verifier) = &txn.code_verifier {
            pairs
                .append_pair("code_challenge", &validate::pkce_challenge(verifier))
                .append_pair("code_challenge_method", "S256");
        }
        if business {
            pairs.append_pair("idp_values", BUSINESS_IDP_VALUE);
        }
        if let Some(hint) = &q.login_hint {
            pairs.append_pair("login_hint", hint);
        }
        // Stepping up from an existing session needs a fresh authentication.
        let stepping_up = session_of(&sp, &headers).is_some_and(|(_, s, _)| s.loa < loa);
        match (&prompt, stepping_up) {
            (Some(p), _) => {
                pairs.append_pair("prompt", p);
            }
            (None, true) => {
                pairs.append_pair("prompt", "login");
            }
            (None, false) => {}
        }
    }
    let txn_id = random_token(24);
    {
        let mut store = sp.store();
        store.logins.retain(|_, t| now - t.created < LOGIN_TTL);
        store.login_order.retain(|id| id != &txn_id);
        store.logins.insert(txn_id.clone(), txn);
        store.login_order.push_back(txn_id.clone());
        while store.login_order.len() > MAX_ENTRIES {
            if let Some(old) = store.login_order.pop_front() {
                store.logins.remove(&old);
            }
        }
    }
    Ok(redirect(
        url.as_str(),
        StatusCode::FOUND,
        vec![set_cookie(LOGIN_COOKIE, &txn_id, Some(LOGIN_TTL))],
    ))
}

/// Whether `identity` asks for a business (MitID Erhverv) login.
fn business_login(identity: Option<&str>) -> Result<bool, ApiError> {
    match identity {
        None => Ok(false),
        Some("professional") => Ok(true),
        Some(_) => Err(ApiError::invalid_request(
            "parameter identity: must be professional",
        )),
    }
}

/// The scope the SP asks for.
fn sent_scope(sp: &Sp, business: bool) -> String {
    if business {
        return format!("{} {BUSINESS_SCOPE}", sent_scope(sp, false));
    }
    if sp.flawed(Flaw::ScopeWithoutOpenid) {
        sp.config
            .scope
            .split(' ')
            .filter(|s| *s != "openid")
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        sp.config.scope.clone()
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

/// The key of the person's local account: the MitID UUID (`sub`), which stays with the person
/// whatever happens to their CPR number (changed, or never had one). A business login is the
/// person acting for a company: its account is keyed on the persistent professional id (one per
/// person and company), never on `sub` (the person's private account) nor on the CVR number
/// (every employee of the company).
fn account_key(sp: &Sp, sub: &str, cpr: Option<&str>, claims: &Value) -> String {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or("");
    if text("identity_type") == PROFESSIONAL_IDENTITY_TYPE
        && !sp.flawed(Flaw::BusinessLoginAsPrivate)
    {
        return if sp.flawed(Flaw::BusinessAccountsKeyedOnCvr) {
            format!("cvr:{}", text(CVR_CLAIM))
        } else if sp.flawed(Flaw::OneBusinessAccountPerPerson) {
            format!("business-of:{sub}")
        } else {
            format!("professional:{}", text(PROFESSIONAL_ID_CLAIM))
        };
    }
    if sp.flawed(Flaw::AccountsKeyedOnCpr) {
        format!("cpr:{}", cpr.unwrap_or(""))
    } else if sp.flawed(Flaw::AccountsKeyedOnCprWhenPresent)
        && let Some(cpr) = cpr
    {
        format!("cpr:{cpr}")
    } else if sp.flawed(Flaw::NewAccountPerLogin) {
        format!("login:{}", random_token(12))
    } else {
        format!("sub:{sub}")
    }
}

// The login's checks read best in protocol order, one after the other.
#[allow(clippy::too_many_lines)]
pub(super) async fn callback(
    State(sp): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let txn_id = if sp.flawed(Flaw::GlobalStateTable) {
        // The mistake: any pending login with this state, whichever browser started it.
        let store = sp.store();
        store
            .logins
            .iter()
            .find(|(_, t)| q.state.as_deref() == Some(t.state.as_str()))
            .map(|(id, _)| id.clone())
            .or_else(|| cookie(&headers, LOGIN_COOKIE))
    } else {
        cookie(&headers, LOGIN_COOKIE)
    }
    .ok_or_else(|| ApiError::invalid_request("no login in progress in this browser"))?;
    let txn = sp
        .store()
        .logins
        .get(&txn_id)
        .cloned()
        .ok_or_else(|| ApiError::invalid_request("unknown or finished login"))?;
    let state_ok = q.state.as_deref() == Some(txn.state.as_str());
    if !state_ok && !sp.flawed(Flaw::SkipStateCheck) {
        return Err(ApiError::invalid_request(
            "state does not match the login in progress",
        ));
    }
    if let Some(error) = &q.error {
        if sp.flawed(Flaw::IgnoreIdpErrors) {
            return Ok(assume_login_succeeded(&sp, &headers, &txn));
        }
        sp.store().logins.remove(&txn_id);
        return Err(ApiError::Unauthorized(format!(
            "the IdP ended the login: {error}: {}",
            q.error_description.as_deref().unwrap_or("")
        )));
    }
    let code = q
        .code
        .as_deref()
        .ok_or_else(|| ApiError::invalid_request("parameter code is missing"))?;
    let provider = sp.provider().await?;
    if let Some(iss) = &q.iss
        && !validate::same_issuer(iss, &provider.issuer, &sp.config.flaws)
        && !sp.flawed(Flaw::SkipIssuerCheck)
    {
        // RFC 9207: an authorization response from another issuer is a mix-up attack.
        return Err(login_refused(format!("iss {iss:?} in the callback")));
    }
    // Consume before the exchange so two parallel replays cannot both succeed.
    if !sp.flawed(Flaw::AcceptReplayedCallback) {
        sp.store().logins.remove(&txn_id);
    }
    let tokens = exchange_code(&sp, &provider, code, txn.code_verifier.as_deref()).await?;
    let id_token = tokens
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or_else(|| login_refused("token response has no id_token"))?;
    let jws = Jws::parse(id_token).map_err(login_refused)?;
    sp.verified(&jws).await?;
    let claims = jws.claims.clone();
    validate::check_claims(
        &claims,
        &Expected {
            issuer: &provider.issuer,
            client_id: &sp.config.client_id,
            nonce: Some(&txn.nonce),
            now: sp.config.clock.now(),
        },
        &sp.config.flaws,
    )
    .map_err(login_refused)?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let loa = claims
        .get("loa")
        .or_else(|| claims.get("acr"))
        .and_then(Value::as_str)
        .and_then(|text| Loa::from_uri_or_name(text).ok());
    if !sp.flawed(Flaw::AcceptLowerLoa) && loa.is_none_or(|l| l < txn.loa) {
        return Err(login_refused(format!(
            "LoA {loa:?} is below the {:?} asked for",
            txn.loa
        )));
    }
    // The broker names a NemID login in the `idp` claim; past the sector's cut-off (or the
    // shutdown) such an identity gets no session, whatever the broker let through.
    if !sp.flawed(Flaw::AcceptNemidAfterCutoff)
        && claims.get("idp").and_then(Value::as_str) == Some(NEMID_IDP_VALUE)
        && let Err(refusal) = sp
            .config
            .nemid_calendar
            .check_login(&sp.config.sector, sp.config.clock.today())
    {
        return Err(login_refused(format!("NemID identity refused: {refusal}")));
    }
    let loa = loa
        .unwrap_or(txn.loa)
        .max(if sp.flawed(Flaw::AcceptLowerLoa) {
            txn.loa
        } else {
            Loa::Low
        });
    let access_token = tokens
        .get("access_token")
        .and_then(Value::as_str)
        .ok_or_else(|| login_refused("token response has no access_token"))?;
    let userinfo = fetch_userinfo(&sp, &provider, access_token).await?;
    let userinfo_sub = userinfo.get("sub").and_then(Value::as_str).unwrap_or("");
    if userinfo_sub != sub && !sp.flawed(Flaw::SkipUserinfoSubCheck) {
        return Err(login_refused(format!(
            "userinfo sub {userinfo_sub:?} differs from the ID token's"
        )));
    }
    let mut merged = claims.clone();
    if let (Some(m), Some(u)) = (merged.as_object_mut(), userinfo.as_object()) {
        for (k, v) in u {
            if k != "sub" {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    let cpr = merged
        .get("dk.cpr")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let name = merged
        .get("mitid.identity_name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let key = account_key(&sp, &sub, cpr.as_deref(), &merged);
    let session_id = random_token(24);
    {
        let mut store = sp.store();
        let next = store.accounts.len() + 1;
        let account = store
            .accounts
            .entry(key.clone())
            .or_insert_with(|| Account {
                id: format!("acct-{next}"),
                sub: sub.clone(),
                cpr: cpr.clone(),
                name: name.clone(),
            });
        // The register's data of the person as of this login (a CPR number can change).
        account.cpr.clone_from(&cpr);
        account.name.clone_from(&name);
        // A new session id at every login (no session fixation); the old one ends.
        if let Some(old) = cookie(&headers, SESSION_COOKIE) {
            store.sessions.remove(&old);
        }
        store.sessions.insert(
            session_id.clone(),
            Session {
                account_key: key,
                loa,
                claims: merged,
                id_token: Some(id_token.to_owned()),
                sid: claims.get("sid").and_then(Value::as_str).map(str::to_owned),
                sub,
            },
        );
        store.session_order.push_back(session_id.clone());
        while store.session_order.len() > MAX_ENTRIES {
            if let Some(old) = store.session_order.pop_front() {
                store.sessions.remove(&old);
            }
        }
    }
    let mut cookies = vec![set_cookie(SESSION_COOKIE, &session_id, None)];
    if !sp.flawed(Flaw::AcceptReplayedCallback) {
        cookies.push(set_cookie(LOGIN_COOKIE, "", Some(0)));
    }
    Ok(redirect(&txn.return_to, StatusCode::SEE_OTHER, cookies))
}

/// The `IgnoreIdpErrors` mistake: the return from the IdP is taken as success, so an existing
/// session is raised to the LoA asked for, or an anonymous one is opened.
fn assume_login_succeeded(sp: &Sp, headers: &HeaderMap, txn: &LoginTxn) -> Response {
    let mut store = sp.store();
    if let Some(id) = cookie(headers, SESSION_COOKIE)
        && let Some(session) = store.sessions.get_mut(&id)
    {
        session.loa = session.loa.max(txn.loa);
        return redirect(&txn.return_to, StatusCode::SEE_OTHER, Vec::new());
    }
    let key = "anonymous".to_owned();
    store
        .accounts
        .entry(key.clone())
        .or_insert_with(|| Account {
            id: "acct-anonymous".into(),
            sub: String::new(),
            cpr: None,
            name: None,
        });
    let session_id = random_token(24);
    store.sessions.insert(
        session_id.clone(),
        Session {
            account_key: key,
            loa: txn.loa,
            claims: json!({}),
            id_token: None,
            sid: None,
            sub: String::new(),
        },
    );
    redirect(
        &txn.return_to,
        StatusCode::SEE_OTHER,
        vec![set_cookie(SESSION_COOKIE, &session_id, None)],
    )
}
