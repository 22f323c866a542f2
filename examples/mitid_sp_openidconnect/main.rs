//! A MitID service provider written the way an integrator would write one: an ordinary axum web
//! app whose login is the `openidconnect` crate's standard code flow (discovery, PKCE S256, state,
//! nonce, ID-token verification by the library, userinfo), configured from the `target.yaml` that
//! `mitid-lab certify init` writes. Nothing in it knows about the conformance suite; the MitID rules
//! it enforces (level of assurance, accounts keyed on the MitID UUID, NemID refused after its
//! shutdown) are the application's own.
//!
//! ```sh
//! mitid-lab certify init --base-url http://127.0.0.1:8080 --logout --backchannel-logout --step-up
//! cargo run --example mitid_sp_openidconnect -- --config target.yaml
//! mitid-lab certify --target http://127.0.0.1:8080 --config target.yaml
//! ```

// Domain names (MitID, NemID, CPR, LoA) and claim names are words in these docs, not code.
#![allow(clippy::doc_markdown)]

mod claims;
mod config;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Parser;
use openidconnect::core::{CoreAuthPrompt, CoreAuthenticationFlow, CoreGenderClaim};
use openidconnect::{
    AccessTokenHash, AuthenticationContextClass, AuthorizationCode, ClaimsVerificationError,
    ClientId, ClientSecret, CsrfToken, EndSessionUrl, IdTokenClaims, IssuerUrl, JsonWebTokenType,
    LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope,
    SignatureVerificationError, TokenResponse, UserInfoClaims,
};
use serde::Deserialize;

use claims::{
    LogoutToken, LogoutTokenClaims, MitIdClaims, MitIdClient, MitIdIdToken, MitIdIdTokenClaims,
};
use config::{Args, load_target, path_of};

/// This service's NemID cut-off: a public-sector service accepted NemID until NemID shut down on
/// 31 October 2023 (banks and online shops stopped on 1 November 2022), so from that day (Danish
/// time) a login the broker presents as NemID must not give a session.
const NEMID_CUTOFF_UNIX: i64 = 1_698_706_800; // 2023-10-31T00:00:00+01:00

/// How far ahead of our clock a token's `iat` may be (clock skew between us and the broker).
const ALLOWED_CLOCK_SKEW_SECS: i64 = 60;

/// A login started at the broker must come back within this time.
const PENDING_LOGIN_LIFETIME: Duration = Duration::from_secs(600);

const SESSION_COOKIE: &str = "mitid_sp_session";
const LOGIN_COOKIE: &str = "mitid_sp_login";
const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Levels of assurance (NSIS), in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Loa {
    Low,
    Substantial,
    High,
}

impl Loa {
    fn from_query(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "low" => Some(Self::Low),
            "substantial" => Some(Self::Substantial),
            "high" => Some(Self::High),
            _ => None,
        }
    }

    /// The broker's `loa` claim: the NSIS concept URI (or its last segment).
    fn from_claim(value: &str) -> Option<Self> {
        Self::from_query(value.rsplit('/').next().unwrap_or(value))
    }

    fn uri(self) -> &'static str {
        match self {
            Self::Low => "https://data.gov.dk/concept/core/nsis/Low",
            Self::Substantial => "https://data.gov.dk/concept/core/nsis/Substantial",
            Self::High => "https://data.gov.dk/concept/core/nsis/High",
        }
    }
}

/// A login sent to the broker and not yet back, bound to the browser by the login cookie.
struct PendingLogin {
    state: CsrfToken,
    nonce: Nonce,
    pkce_verifier: PkceCodeVerifier,
    loa: Loa,
    started: Instant,
}

/// A signed-in browser.
#[derive(Clone)]
struct Session {
    sub: String,
    loa: Option<String>,
    mitid_uuid: Option<String>,
    cpr: Option<String>,
    name: Option<String>,
    idp: Option<String>,
    broker_sid: Option<String>,
    id_token: String,
}

/// An account of this service: keyed on `sub` (the MitID UUID), never on the CPR number, which a
/// person may not have and which is personal data rather than an identifier.
struct Account {
    logins: u64,
}

#[derive(Default)]
struct Store {
    pending: HashMap<String, PendingLogin>,
    sessions: HashMap<String, Session>,
    accounts: HashMap<String, Account>,
}

/// The broker as discovery describes it; refetched when a token names a key we do not know.
struct Provider {
    client: MitIdClient,
    end_session: Option<EndSessionUrl>,
}

struct Settings {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect: RedirectUrl,
    post_logout_redirect: PostLogoutRedirectUrl,
    secure_cookies: bool,
}

struct App {
    settings: Settings,
    http: reqwest::Client,
    provider: tokio::sync::RwLock<Option<Arc<Provider>>>,
    store: Mutex<Store>,
}

/// A login or request this service refuses, shown to the browser as an error page.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    fn bad_gateway(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, message)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        eprintln!("refused ({}): {}", self.status, self.message);
        let body = maud::html! {
            (maud::DOCTYPE)
            title { "Login failed" }
            h1 { "Login failed" }
            p { (self.message) }
            p { a href="/" { "Back" } }
        }
        .into_string();
        (
            self.status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("HTTP: {0}")]
struct HttpError(String);

/// The `openidconnect` HTTP client contract over plain reqwest. Redirects are not followed (the
/// library's advice: a redirecting endpoint must not send our credentials elsewhere).
async fn send(
    http: reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| HttpError(e.to_string()))?;
    let mut builder = axum::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| HttpError(e.to_string()))?
        .to_vec();
    builder.body(body).map_err(|e| HttpError(e.to_string()))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

impl App {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn http_client(
        &self,
    ) -> impl Fn(
        openidconnect::HttpRequest,
    ) -> std::pin::Pin<
        Box<dyn Future<Output = Result<openidconnect::HttpResponse, HttpError>> + Send>,
    > + '_ {
        move |request| Box::pin(send(self.http.clone(), request))
    }

    /// Discovery (metadata and JWKS) happens on first use, so the service starts even while the
    /// broker is down.
    async fn provider(&self) -> Result<Arc<Provider>, Refusal> {
        if let Some(provider) = self.provider.read().await.as_ref() {
            return Ok(provider.clone());
        }
        self.discover().await
    }

    async fn discover(&self) -> Result<Arc<Provider>, Refusal> {
        let metadata = ProviderMetadataWithLogout::discover_async(
            self.settings.issuer.clone(),
            &self.http_client(),
        )
        .await
        .map_err(|e| Refusal::bad_gateway(format!("the MitID broker is unavailable: {e}")))?;
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        let client = MitIdClient::from_provider_metadata(
            metadata,
            self.settings.client_id.clone(),
            Some(self.settings.client_secret.clone()),
        )
        .set_redirect_uri(self.settings.redirect.clone());
        let provider = Arc::new(Provider {
            client,
            end_session,
        });
        *self.provider.write().await = Some(provider.clone());
        Ok(provider)
    }

    /// Verifies an ID token with the library; when it names a key we do not have, the broker may
    /// have rotated its keys, so discovery runs once more before the token is refused.
    async fn verify_id_token(
        &self,
        id_token: &MitIdIdToken,
        nonce: &Nonce,
    ) -> Result<(MitIdIdTokenClaims, Arc<Provider>), Refusal> {
        let mut provider = self.provider().await?;
        let mut refreshed = false;
        loop {
            let now = unix_now();
            let verifier = provider
                .client
                .id_token_verifier()
                .set_issue_time_verifier_fn(move |iat| {
                    if iat.timestamp() > now + ALLOWED_CLOCK_SKEW_SECS {
                        Err(format!("issued in the future ({iat})"))
                    } else {
                        Ok(())
                    }
                });
            let outcome = id_token.claims(&verifier, nonce).cloned();
            drop(verifier);
            match outcome {
                Ok(claims) => return Ok((claims, provider)),
                Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                )) if !refreshed => {
                    refreshed = true;
                    provider = self.discover().await?;
                }
                Err(e) => return Err(Refusal::forbidden(format!("invalid ID token: {e}"))),
            }
        }
    }

    async fn verify_logout_token(
        &self,
        token: &LogoutToken,
    ) -> Result<IdTokenClaims<LogoutTokenClaims, CoreGenderClaim>, Refusal> {
        let mut provider = self.provider().await?;
        let mut refreshed = false;
        let jose_types = ["JWT", "logout+jwt"]
            .into_iter()
            .filter_map(|typ| JsonWebTokenType::new(typ.to_owned()).normalize().ok())
            .collect::<Vec<_>>();
        loop {
            let verifier = provider
                .client
                .id_token_verifier()
                .set_allowed_jose_types(jose_types.clone());
            // A logout token must not carry a nonce (it would be mistaken for an ID token).
            let no_nonce = |nonce: Option<&Nonce>| match nonce {
                Some(_) => Err("a logout token must not contain a nonce".to_owned()),
                None => Ok(()),
            };
            let outcome = token.claims(&verifier, no_nonce).cloned();
            drop(verifier);
            match outcome {
                Ok(claims) => return Ok(claims),
                Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                )) if !refreshed => {
                    refreshed = true;
                    provider = self.discover().await?;
                }
                Err(e) => {
                    return Err(Refusal::bad_request(format!("invalid logout token: {e}")));
                }
            }
        }
    }

    fn session_of(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let id = cookie(headers, SESSION_COOKIE)?;
        let session = self.store().sessions.get(&id)?.clone();
        Some((id, session))
    }

    fn cookie_header(&self, name: &str, value: &str, max_age: Option<u64>) -> String {
        let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if let Some(seconds) = max_age {
            let _ = write!(text, "; Max-Age={seconds}");
        }
        if self.settings.secure_cookies {
            text.push_str("; Secure");
        }
        text
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn redirect(location: &str, cookies: &[String]) -> Response {
    let mut response = Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, "no-store");
    for cookie in cookies {
        response = response.header(header::SET_COOKIE, cookie);
    }
    response
        .body(axum::body::Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn home(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let session = app.session_of(&headers);
    let page = maud::html! {
        (maud::DOCTYPE)
        title { "Example service" }
        p {
            @if let Some((_, session)) = &session {
                "Signed in as " (session.name.as_deref().unwrap_or(&session.sub)) "."
            } @else {
                "Not signed in. " a href="/login" { "Log in with MitID" }
            }
        }
    };
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.into_string(),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    loa: Option<String>,
}

async fn login(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Result<Response, Refusal> {
    let loa = match query.loa.as_deref() {
        None | Some("") => Loa::Substantial,
        Some(text) => Loa::from_query(text).ok_or_else(|| {
            Refusal::bad_request(format!(
                "unknown level of assurance {text:?} (low, substantial, high)"
            ))
        })?,
    };
    let provider = app.provider().await?;
    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = provider
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("mitid".to_owned()))
        .add_scope(Scope::new("ssn".to_owned()))
        .add_auth_context_value(AuthenticationContextClass::new(loa.uri().to_owned()))
        .set_pkce_challenge(pkce_challenge);
    // Someone already signed in who asks again (e.g. for a higher level) must authenticate
    // afresh: the broker's single sign-on would otherwise hand back the old authentication.
    if app.session_of(&headers).is_some() {
        request = request
            .add_prompt(CoreAuthPrompt::Login)
            .set_max_age(Duration::ZERO);
    }
    let (url, state, nonce) = request.url();
    let login_id = CsrfToken::new_random().secret().clone();
    {
        let mut store = app.store();
        store
            .pending
            .retain(|_, pending| pending.started.elapsed() < PENDING_LOGIN_LIFETIME);
        store.pending.insert(
            login_id.clone(),
            PendingLogin {
                state,
                nonce,
                pkce_verifier,
                loa,
                started: Instant::now(),
            },
        );
    }
    let login_cookie = app.cookie_header(
        LOGIN_COOKIE,
        &login_id,
        Some(PENDING_LOGIN_LIFETIME.as_secs()),
    );
    Ok(redirect(url.as_str(), &[login_cookie]))
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    /// RFC 9207: the issuer of the authorization response (the broker advertises it).
    iss: Option<String>,
}

async fn callback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    // Whatever happens, the login this browser started is over.
    let pending = cookie(&headers, LOGIN_COOKIE).and_then(|id| app.store().pending.remove(&id));
    let clear_login = app.cookie_header(LOGIN_COOKIE, "", Some(0));
    match finish_login(&app, pending, query).await {
        Ok(session) => {
            let session_id = CsrfToken::new_random().secret().clone();
            let previous = cookie(&headers, SESSION_COOKIE);
            {
                let mut store = app.store();
                // A new login (or step-up) gets a new session id; the old one ends.
                if let Some(previous) = previous {
                    store.sessions.remove(&previous);
                }
                store
                    .accounts
                    .entry(session.sub.clone())
                    .or_insert(Account { logins: 0 })
                    .logins += 1;
                store.sessions.insert(session_id.clone(), session);
            }
            let session_cookie = app.cookie_header(SESSION_COOKIE, &session_id, None);
            redirect("/", &[clear_login, session_cookie])
        }
        Err(refusal) => {
            let mut response = refusal.into_response();
            if let Ok(value) = clear_login.parse() {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
    }
}

/// The authorization response belongs to this browser's login (`state`) and comes from the
/// broker (RFC 9207 §2.4: `iss` compared exactly as strings; a trailing slash is another issuer).
fn check_response(app: &App, pending: &PendingLogin, query: &CallbackQuery) -> Result<(), Refusal> {
    if query.state.as_deref() != Some(pending.state.secret().as_str()) {
        return Err(Refusal::bad_request(
            "the login answer does not belong to this login (state)",
        ));
    }
    match query.iss.as_deref() {
        Some(iss) if iss != app.settings.issuer.as_str() => Err(Refusal::bad_request(
            "the login answer comes from another issuer (iss)",
        )),
        _ => Ok(()),
    }
}

async fn finish_login(
    app: &App,
    pending: Option<PendingLogin>,
    query: CallbackQuery,
) -> Result<Session, Refusal> {
    let pending = pending.ok_or_else(|| {
        Refusal::bad_request("no login in progress in this browser (expired or already finished)")
    })?;
    check_response(app, &pending, &query)?;
    if let Some(error) = query.error {
        let detail = query.error_description.unwrap_or_default();
        let message = if detail == "mitid_user_aborted" {
            "You cancelled the MitID login.".to_owned()
        } else {
            format!("MitID login failed: {error} {detail}")
        };
        return Err(Refusal::new(StatusCode::UNAUTHORIZED, message));
    }
    let code = query
        .code
        .ok_or_else(|| Refusal::bad_request("the login answer carries no code"))?;

    let provider = app.provider().await?;
    let tokens = provider
        .client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| Refusal::bad_gateway(format!("broker has no token endpoint: {e}")))?
        .set_pkce_verifier(pending.pkce_verifier)
        .request_async(&app.http_client())
        .await
        .map_err(|e| Refusal::bad_gateway(format!("token request failed: {e}")))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| Refusal::bad_gateway("the broker returned no ID token"))?;
    let (claims, provider) = app.verify_id_token(id_token, &pending.nonce).await?;

    if let Some(expected) = claims.access_token_hash() {
        let verifier = provider.client.id_token_verifier();
        let alg = id_token
            .signing_alg()
            .map_err(|e| Refusal::forbidden(format!("invalid ID token: {e}")))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| Refusal::forbidden(format!("invalid ID token: {e}")))?;
        let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key)
            .map_err(|e| Refusal::forbidden(format!("invalid ID token: {e}")))?;
        if actual != *expected {
            return Err(Refusal::forbidden(
                "the access token does not match the ID token (at_hash)",
            ));
        }
    }

    let mitid = claims.additional_claims();
    let loa = mitid.loa.as_deref().and_then(Loa::from_claim);
    if loa < Some(pending.loa) {
        return Err(Refusal::forbidden(format!(
            "the login was at level {:?}, this service asked for {:?}",
            mitid.loa, pending.loa
        )));
    }
    if mitid
        .idp
        .as_deref()
        .is_some_and(|idp| idp.eq_ignore_ascii_case("nemid"))
        && unix_now() >= NEMID_CUTOFF_UNIX
    {
        return Err(Refusal::forbidden(
            "NemID was shut down on 31 October 2023; please log in with MitID",
        ));
    }

    // Userinfo only after the ID token is verified, and only for the same person.
    let mut info_claims = MitIdClaims::default();
    let mut name = mitid.identity_name.clone();
    if let Ok(request) = provider.client.user_info(
        tokens.access_token().clone(),
        Some(claims.subject().clone()),
    ) {
        let info: UserInfoClaims<MitIdClaims, CoreGenderClaim> = request
            .request_async(&app.http_client())
            .await
            .map_err(|e| Refusal::bad_gateway(format!("userinfo failed: {e}")))?;
        if info.subject() != claims.subject() {
            return Err(Refusal::forbidden("userinfo names another person"));
        }
        info_claims = info.additional_claims().clone();
        if name.is_none() {
            name = info
                .name()
                .and_then(|names| names.get(None))
                .map(|name| name.as_str().to_owned());
        }
    }

    Ok(Session {
        sub: claims.subject().as_str().to_owned(),
        loa: mitid.loa.clone(),
        mitid_uuid: mitid.mitid_uuid.clone().or(info_claims.mitid_uuid),
        cpr: mitid.cpr.clone().or(info_claims.cpr),
        name: name.or(info_claims.identity_name),
        idp: mitid.idp.clone(),
        broker_sid: mitid.sid.clone(),
        id_token: id_token.to_string(),
    })
}

async fn me(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match app.session_of(&headers) {
        Some((_, session)) => {
            let logins = app
                .store()
                .accounts
                .get(&session.sub)
                .map_or(0, |account| account.logins);
            axum::Json(serde_json::json!({
                "sub": session.sub,
                "mitid_uuid": session.mitid_uuid,
                "cpr": session.cpr,
                "loa": session.loa,
                "name": session.name,
                "idp": session.idp,
                // The local account's id (the contract's `account`): keyed on sub.
                "account": session.sub,
                "account_logins": logins,
            }))
            .into_response()
        }
        None => (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": "not signed in"})),
        )
            .into_response(),
    }
}

async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let clear_session = app.cookie_header(SESSION_COOKIE, "", Some(0));
    let Some((id, session)) = app.session_of(&headers) else {
        return redirect("/", &[clear_session]);
    };
    app.store().sessions.remove(&id);
    let end_session = app
        .provider()
        .await
        .ok()
        .and_then(|provider| provider.end_session.clone());
    let Some(end_session) = end_session else {
        return redirect("/", &[clear_session]);
    };
    let mut request = LogoutRequest::from(end_session)
        .set_client_id(app.settings.client_id.clone())
        .set_post_logout_redirect_uri(app.settings.post_logout_redirect.clone());
    if let Ok(id_token) = session.id_token.parse::<MitIdIdToken>() {
        request = request.set_id_token_hint(&id_token);
    }
    redirect(request.http_get_url().as_str(), &[clear_session])
}

#[derive(Debug, Deserialize)]
struct BackchannelLogoutForm {
    logout_token: String,
}

/// OpenID Connect Back-Channel Logout 1.0: the broker tells us a person's session at the broker
/// ended; every session of ours that came from it ends too.
async fn backchannel_logout(
    State(app): State<Arc<App>>,
    Form(form): Form<BackchannelLogoutForm>,
) -> Response {
    let token: LogoutToken = match form.logout_token.parse() {
        Ok(token) => token,
        Err(e) => return logout_error(&format!("malformed logout token: {e}")),
    };
    let claims = match app.verify_logout_token(&token).await {
        Ok(claims) => claims,
        Err(refusal) => return logout_error(&refusal.message),
    };
    let extra = claims.additional_claims();
    if !extra.events.contains_key(BACKCHANNEL_LOGOUT_EVENT) {
        return logout_error("the logout token lacks the back-channel logout event");
    }
    let sub = claims.subject().as_str();
    let ended = {
        let mut store = app.store();
        let before = store.sessions.len();
        // With a sid, the broker session it names ends; sessions for which the broker gave no
        // sid can only be matched by the person.
        store.sessions.retain(|_, session| {
            let ends = match (extra.sid.as_deref(), session.broker_sid.as_deref()) {
                (Some(sid), Some(ours)) => sid == ours,
                _ => session.sub == sub,
            };
            !ends
        });
        before - store.sessions.len()
    };
    eprintln!("back-channel logout for {sub}: {ended} session(s) ended");
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response()
}

fn logout_error(message: &str) -> Response {
    eprintln!("back-channel logout refused: {message}");
    (
        StatusCode::BAD_REQUEST,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({"error": "invalid_request", "error_description": message})),
    )
        .into_response()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let target = load_target(&args.config)?;
    let base = url::Url::parse(&target.service_provider.base_url)
        .with_context(|| format!("{}: service_provider.base_url", args.config.display()))?;
    let listen = if let Some(listen) = args.listen {
        listen
    } else {
        let host = base.host_str().unwrap_or("127.0.0.1");
        let port = base.port_or_known_default().unwrap_or(8080);
        tokio::net::lookup_host((host, port))
            .await?
            .next()
            .with_context(|| format!("cannot resolve {host}"))?
    };
    let base_text = target.service_provider.base_url.trim_end_matches('/');
    let settings = Settings {
        issuer: IssuerUrl::new(format!("http://{}", target.broker.listen))?,
        client_id: ClientId::new(target.client.client_id.clone()),
        client_secret: ClientSecret::new(target.client.client_secret.clone()),
        redirect: RedirectUrl::new(target.client.redirect_uri.clone())?,
        post_logout_redirect: PostLogoutRedirectUrl::new(format!("{base_text}/"))?,
        secure_cookies: base.scheme() == "https",
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(10))
        .build()?;
    let app = Arc::new(App {
        settings,
        http,
        provider: tokio::sync::RwLock::new(None),
        store: Mutex::new(Store::default()),
    });

    let callback_path = path_of(&target.client.redirect_uri)?;
    let sp = &target.service_provider;
    let paths = [
        Some(&sp.login_path),
        Some(&sp.me_path),
        Some(&callback_path),
    ];
    let optional = [sp.logout_path.as_ref(), sp.backchannel_logout_path.as_ref()];
    if let Some(bad) = paths
        .into_iter()
        .chain(optional)
        .flatten()
        .find(|p| !p.starts_with('/'))
    {
        bail!(
            "{}: path {bad:?} must start with '/'",
            args.config.display()
        );
    }
    let mut router = axum::Router::new()
        .route("/", get(home))
        .route(&sp.login_path, get(login))
        .route(&callback_path, get(callback))
        .route(&sp.me_path, get(me));
    if let Some(path) = &sp.logout_path {
        router = router.route(path, get(logout));
    }
    if let Some(path) = &sp.backchannel_logout_path {
        router = router.route(path, post(backchannel_logout));
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    println!(
        "example service provider listening on http://{} (issuer {})",
        listener.local_addr()?,
        app.settings.issuer.as_str()
    );
    axum::serve(listener, router.with_state(app)).await?;
    Ok(())
}
