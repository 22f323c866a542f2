//! What the MitID pages ([`super::login`]) and the NemID pages ([`super::nemid`]) share: a login
//! waiting in a browser, bound to that browser by a cookie and to its own forms by a CSRF token,
//! alive until it expires; and the plain HTML around its forms, as `maud` templates (which
//! escape what they interpolate).
//!
//! Each login kind describes itself once in a [`Pages`] (where its pages live, its cookie, its
//! brand and which map of the store holds it); the checks and their answers (404 page, expiry
//! redirect, 403 pages) are the same code for both.

// Domain names such as MitID and NemID are words here, not code to backtick.
#![allow(clippy::doc_markdown)]
// Loaders return the HTTP answer itself as the error (`Result<_, Response>`), large by nature.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use super::oidc::{self, Authenticated, error_redirect};
use super::registry::{Identity, random_token};
use super::script::AuthRequest;
use super::{IdpState, SharedState, Store};
use crate::service::{cookie, error_page, found};

/// Logins kept before the expired ones are swept out of the store.
const SWEEP_ABOVE: usize = 10_000;
/// Wrong user IDs, passwords or codes allowed in one login before it ends.
pub const MAX_FAILURES: u32 = 3;

/// One login on the HTML pages; `K` is what the login kind keeps of its own steps.
#[derive(Debug, Clone)]
pub struct BrowserLogin<K> {
    pub id: String,
    pub request: AuthRequest,
    /// The browser cookie's value this login belongs to.
    pub browser: String,
    pub csrf: String,
    /// Unix seconds on the lab clock.
    pub expires_at: u64,
    /// The identity, once the citizen has named it.
    pub uuid: Option<String>,
    pub script_id: Option<String>,
    pub failures: u32,
    /// Shown to the citizen on the next page (a wrong answer, a refusal).
    pub message: Option<String>,
    pub at: K,
}

/// One kind of login on the pages.
pub struct Pages<K: 'static> {
    /// Shown in the page title and heading.
    pub brand: &'static str,
    /// Where the pages live (`{path}/{id}`); also the cookie's path.
    pub path: &'static str,
    pub cookie: &'static str,
    /// The 404 page's text for a login that does not exist (any more).
    pub not_found: &'static str,
    /// `error_description` of the `access_denied` redirect when the login has expired.
    pub expired: &'static str,
    /// The kind's own CSS rules (form controls, the large code text).
    pub style: &'static str,
    /// The store's map of these logins, by id.
    pub logins: fn(&mut Store) -> &mut HashMap<String, BrowserLogin<K>>,
    /// The page for where the login stands.
    pub render: fn(&IdpState, &BrowserLogin<K>) -> Response,
    /// How the login ends at the client: `access_denied` with this description (the login is
    /// already removed).
    pub end: fn(&IdpState, &BrowserLogin<K>, &str) -> Response,
    /// `error_description` when the login ends after [`MAX_FAILURES`] wrong answers.
    pub authentication_failed: &'static str,
    /// `error_description` when the citizen cancels.
    pub user_aborted: &'static str,
}

impl<K> BrowserLogin<K> {
    /// The identity the citizen named, if it still exists.
    #[must_use]
    pub fn identity(&self, state: &IdpState) -> Option<Identity> {
        self.uuid
            .as_ref()
            .and_then(|u| state.lock().registry.by_uuid.get(u).cloned())
    }

    /// The login's message to the citizen (nothing without one).
    #[must_use]
    pub fn message_html(&self) -> Markup {
        html! {
            @if let Some(message) = &self.message {
                p.msg { (message) }
            }
        }
    }
}

/// The form every login page posts that carries nothing but the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

/// Ends a login at the client with `access_denied`, recorded in the login's script log.
pub fn deny(
    state: &IdpState,
    req: &AuthRequest,
    script_id: Option<&str>,
    description: &str,
) -> Response {
    oidc::fail(state, req, script_id, "access_denied", description)
}

impl<K: Clone> Pages<K> {
    /// Starts a login at its first step `at`: stores it and sends the browser to its page,
    /// setting the browser cookie (a well-formed one the browser already has is kept).
    pub fn begin(
        &self,
        state: &SharedState,
        headers: &HeaderMap,
        request: AuthRequest,
        script_id: Option<String>,
        at: K,
    ) -> Response {
        let browser = cookie(headers, self.cookie)
            .filter(|b| {
                b.len() == 32
                    && b.bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            })
            .unwrap_or_else(|| random_token(24));
        let id = random_token(16);
        let now = state.now_secs();
        let tx = BrowserLogin {
            id: id.clone(),
            request,
            browser: browser.clone(),
            csrf: random_token(24),
            expires_at: now + state.profile.lifetimes.login_seconds,
            uuid: None,
            script_id,
            failures: 0,
            message: None,
            at,
        };
        {
            let mut store = state.lock();
            let logins = (self.logins)(&mut store);
            if logins.len() > SWEEP_ABOVE {
                logins.retain(|_, t| t.expires_at > now);
            }
            logins.insert(id.clone(), tx);
        }
        let mut response = found(&format!("{}{}/{id}", state.issuer, self.path));
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{}={browser}; Path={}; HttpOnly; SameSite=Lax",
            self.cookie, self.path
        )) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
        response
    }

    /// The login, if it exists, is alive and belongs to this browser. An expired login is
    /// removed and ends at the client with `access_denied`.
    pub fn load(
        &self,
        state: &IdpState,
        headers: &HeaderMap,
        id: &str,
    ) -> Result<BrowserLogin<K>, Response> {
        let tx = (self.logins)(&mut state.lock()).get(id).cloned();
        let Some(tx) = tx else {
            return Err(error_page(
                StatusCode::NOT_FOUND,
                "Login not found",
                self.not_found,
            ));
        };
        if tx.expires_at <= state.now_secs() {
            self.remove(state, id);
            return Err(error_redirect(
                state,
                &tx.request,
                "access_denied",
                self.expired,
            ));
        }
        if cookie(headers, self.cookie).as_deref() != Some(tx.browser.as_str()) {
            return Err(error_page(
                StatusCode::FORBIDDEN,
                "Login belongs to another browser",
                "Start the login again from the service you came from.",
            ));
        }
        Ok(tx)
    }

    /// A form post: the login as [`Pages::load`] finds it, and the form's CSRF token must be
    /// this login's (compared in constant time).
    pub fn load_form(
        &self,
        state: &IdpState,
        headers: &HeaderMap,
        id: &str,
        csrf: &str,
    ) -> Result<BrowserLogin<K>, Response> {
        let tx = self.load(state, headers, id)?;
        let expected = &tx.csrf;
        let same = crate::service::constant_time_eq(csrf.as_bytes(), expected.as_bytes());
        if same {
            Ok(tx)
        } else {
            Err(error_page(
                StatusCode::FORBIDDEN,
                "Form expired",
                "The form was not sent from this login page.",
            ))
        }
    }

    pub fn save(&self, state: &IdpState, tx: &BrowserLogin<K>) {
        (self.logins)(&mut state.lock()).insert(tx.id.clone(), tx.clone());
    }

    /// Keeps the login as it now stands and shows its page.
    pub fn save_and_show(&self, state: &IdpState, tx: &BrowserLogin<K>) -> Response {
        self.save(state, tx);
        (self.render)(state, tx)
    }

    /// The login stays where it is and tells the citizen why.
    pub fn show_message(
        &self,
        state: &IdpState,
        mut tx: BrowserLogin<K>,
        message: &str,
    ) -> Response {
        tx.message = Some(message.to_owned());
        self.save_and_show(state, &tx)
    }

    /// Counts a wrong answer and shows `message`; after [`MAX_FAILURES`] the login ends.
    pub fn failed(&self, state: &IdpState, mut tx: BrowserLogin<K>, message: &str) -> Response {
        tx.failures += 1;
        if tx.failures >= MAX_FAILURES {
            self.remove(state, &tx.id);
            return (self.end)(state, &tx, self.authentication_failed);
        }
        self.show_message(state, tx, message)
    }

    /// The citizen pressed Cancel (a form post like any other): the login ends at the client
    /// with `access_denied`, recorded in the script log.
    pub fn cancel(
        &self,
        state: &IdpState,
        headers: &HeaderMap,
        id: &str,
        csrf: &str,
    ) -> Result<Response, Response> {
        let tx = self.load_form(state, headers, id, csrf)?;
        self.remove(state, id);
        Ok(deny(
            state,
            &tx.request,
            tx.script_id.as_deref(),
            self.user_aborted,
        ))
    }

    /// The citizen is authenticated: the login is removed and the client gets its code.
    pub async fn finish(
        &self,
        state: &SharedState,
        tx: BrowserLogin<K>,
        authenticated: Authenticated,
    ) -> Response {
        self.remove(state, &tx.id);
        let Some(identity) = tx.identity(state) else {
            return (self.end)(state, &tx, "the identity no longer exists");
        };
        oidc::complete(
            state,
            &tx.request,
            &identity,
            authenticated,
            tx.script_id.clone(),
        )
        .await
    }

    pub fn remove(&self, state: &IdpState, id: &str) {
        (self.logins)(&mut state.lock()).remove(id);
    }

    /// A page of this login kind: never cached, never framed, forms only to this site.
    pub fn layout(&self, title: &str, body: &Markup) -> Response {
        let page = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.brand) " – " (title) }
                    // The login kind's own rules are constants of the lab, not input.
                    style {
                        "body{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}"
                        (PreEscaped(self.style))
                        ".msg{color:#a00}"
                    }
                }
                body {
                    main {
                        h1 { (self.brand) }
                        h2 { (title) }
                        (body)
                    }
                }
            }
        };
        let mut response = Html(page.into_string()).into_response();
        let h = response.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
        h.insert(
            "content-security-policy",
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
            ),
        );
        response
    }

    /// A form posting to `{path}/{id}/{action}` with the login's CSRF token.
    pub fn form(&self, tx: &BrowserLogin<K>, action: &str, inner: &Markup, button: &str) -> Markup {
        html! {
            form method="post" action={ (self.path) "/" (tx.id) "/" (action) } {
                input type="hidden" name="csrf" value=(tx.csrf);
                (inner)
                button type="submit" { (button) }
            }
        }
    }

    pub fn cancel_form(&self, tx: &BrowserLogin<K>) -> Markup {
        self.form(tx, "cancel", &html! {}, "Cancel")
    }

    /// A page with one form (after `intro`) and the cancel button.
    pub fn form_page(
        &self,
        tx: &BrowserLogin<K>,
        title: &str,
        intro: &Markup,
        action: &str,
        inner: &Markup,
        button: &str,
    ) -> Response {
        self.layout(
            title,
            &html! {
                (intro)
                (self.form(tx, action, inner, button))
                (self.cancel_form(tx))
            },
        )
    }

    /// A waiting page that reloads itself every 2 s, with a link to reload at once and the
    /// cancel button.
    pub fn waiting_page(&self, tx: &BrowserLogin<K>, title: &str, intro: &Markup) -> Response {
        let mut response = self.layout(
            title,
            &html! {
                (intro)
                p { a href={ (self.path) "/" (tx.id) } { "Update now" } }
                (self.cancel_form(tx))
            },
        );
        response
            .headers_mut()
            .insert("refresh", HeaderValue::from_static("2"));
        response
    }
}
