//! Small HTTP helpers of the lab's browser-facing and OAuth endpoints: form parameters with
//! the OAuth rules, cookies, the error page and the 302 redirect.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, html};

/// Most parameters an authorization or token request may carry.
pub const MAX_PARAMS: usize = 64;
/// Longest single parameter value accepted (state, nonce, hints, `idp_params`).
pub const MAX_VALUE: usize = 4096;

/// Parses `application/x-www-form-urlencoded` text; a repeated parameter is an error
/// (RFC 6749 §3.1), as is anything beyond the size limits.
pub fn parse_params(raw: &str) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if out.len() >= MAX_PARAMS {
            return Err(format!("more than {MAX_PARAMS} parameters"));
        }
        if v.len() > MAX_VALUE {
            return Err(format!("parameter `{k}` is longer than {MAX_VALUE} bytes"));
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("parameter `{k}` is repeated"));
        }
    }
    Ok(out)
}

/// Reads one cookie from the request.
#[must_use]
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A page for errors that must not be redirected (bad client or redirect URI).
#[must_use]
pub fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "MitID – " (title) } }
            body {
                main {
                    h1 { (title) }
                    p { (detail) }
                    p { "The service that sent you here is not set up correctly; you have not been logged in." }
                }
            }
        }
    };
    let mut response = (status, Html(page.into_string())).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 302 to `location` (what browsers and OAuth clients expect from an authorization endpoint).
#[must_use]
pub fn found(location: &str) -> Response {
    let mut response = Redirect::to(location).into_response();
    *response.status_mut() = StatusCode::FOUND;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Compares two secrets without an early exit (`subtle`), so timing does not reveal how much
/// of a client secret or CSRF token matched. Different lengths are simply unequal.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.ct_eq(b))
}
