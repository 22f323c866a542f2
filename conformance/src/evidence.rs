//! Evidence: the HTTP exchanges of one scenario, with secrets redacted before they are stored.
//!
//! Redaction happens when an exchange is recorded, not when a report is written, so no code path
//! (a panic message, a debug print, a report) can leak a code, a token, a client secret or a
//! session cookie. What stays is what an integrator needs to see why a scenario failed: methods,
//! URLs with their non-secret parameters (state, nonce, `redirect_uri`, ...), statuses, header names
//! and the start of each body.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Hands out [`Exchange::seq`]: one counter for the process, so exchanges recorded by different
/// recorders (a scenario's browsers, the lab's API client) sort back into the order they began.
static NEXT_SEQ: AtomicU64 = AtomicU64::new(1);

/// Query, form and JSON names whose values are secrets.
const SECRET_NAMES: &[&str] = &[
    "code",
    "code_verifier",
    "client_secret",
    "client_assertion",
    "access_token",
    "id_token",
    "id_token_hint",
    "refresh_token",
    "logout_token",
    "password",
    "pin",
    "temporary_pin",
    "temporary_password",
    "totp_secret",
    "activation_code",
];

/// Headers whose values are secrets.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];

/// How much of a body an exchange keeps: enough to read an error page or a JSON answer.
const BODY_EXCERPT: usize = 1500;

/// Who made the request: the lab's browser, or the lab itself (the broker's control API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Browser,
    Lab,
    /// The service provider's own call to the broker (token, userinfo, JWKS), as the broker
    /// recorded it.
    ServiceProvider,
}

/// One HTTP request and its answer, redacted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exchange {
    pub actor: Actor,
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    /// `None` when no answer came (connection refused, timeout): then `error` says why.
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    /// When the request began, as a place in the process's order of requests (not a time, so
    /// it does not vary from machine to machine and stays out of reports). Evidence read back
    /// from a `report.json` has 0 throughout and keeps its stored order.
    #[serde(skip)]
    pub seq: u64,
}

impl Exchange {
    /// A request on its way: no answer yet. `url` and `request_body` are already redacted.
    #[must_use]
    pub fn request(
        actor: Actor,
        method: &reqwest::Method,
        url: String,
        request_body: Option<String>,
    ) -> Exchange {
        Exchange {
            actor,
            method: method.to_string(),
            url,
            request_headers: Vec::new(),
            request_body,
            status: None,
            response_headers: Vec::new(),
            response_body: None,
            error: None,
            seq: NEXT_SEQ.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// A one-line summary for step failure messages.
    #[must_use]
    pub fn line(&self) -> String {
        match (self.status, &self.error) {
            (Some(status), _) => format!("{} {} -> {status}", self.method, self.url),
            (None, Some(error)) => format!("{} {} -> no answer: {error}", self.method, self.url),
            (None, None) if self.actor == Actor::ServiceProvider => format!(
                "service provider: {} {} -> the broker had not answered (held, or the service gave up)",
                self.method, self.url
            ),
            (None, None) => format!("{} {} -> no answer", self.method, self.url),
        }
    }
}

/// A token response as evidence: the ID token shown decoded (header and claims: what the broker
/// served, e.g. `alg` `none` or a foreign `iss`) with its signature withheld, every other secret
/// redacted.
#[must_use]
pub fn show_token_response(body: &str) -> String {
    let Ok(mut json) = serde_json::from_str::<serde_json::Value>(body) else {
        return redact_body(body);
    };
    let decoded = json
        .get("id_token")
        .and_then(serde_json::Value::as_str)
        .and_then(|token| mitid_components::idp::jose::Unverified::parse(token).ok());
    redact_json(&mut json);
    if let Some(token) = decoded {
        // After redaction (which would withhold the whole token): the header first, where a
        // tampered `alg` or `kid` shows.
        let mut claims = serde_json::Value::Object(token.claims);
        redact_json(&mut claims);
        json["id_token"] = serde_json::Value::String(format!(
            "[JWT header {} claims {} signature withheld]",
            serde_json::Value::Object(token.header),
            claims
        ));
    }
    excerpt(&json.to_string(), BODY_EXCERPT * 2)
}

/// Redacts secret query parameters of a URL (keeps the rest readable).
#[must_use]
pub fn redact_url(url: &str) -> String {
    let Some((base, rest)) = url.split_once('?') else {
        return url.to_owned();
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    let mut out = format!("{base}?{}", redact_pairs(query));
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(&redact_pairs(fragment));
    }
    out
}

/// Redacts `name=value` pairs of a query string or form body whose name is a secret.
#[must_use]
pub fn redact_pairs(pairs: &str) -> String {
    pairs
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_name(name) => format!("{name}=[redacted]"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn is_secret_name(name: &str) -> bool {
    SECRET_NAMES
        .iter()
        .any(|secret| secret.eq_ignore_ascii_case(name))
}

/// Redacts a header value when the header carries a secret. Cookies keep their names and
/// attributes (`HttpOnly`, `SameSite`) because requirements are judged on them.
#[must_use]
pub fn redact_header(name: &str, value: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower == "location" {
        // A redirect carries the authorization code (the broker's callback) or tokens.
        return redact_jwts(&redact_url(value));
    }
    if !SECRET_HEADERS.contains(&lower.as_str()) {
        return redact_jwts(value);
    }
    match lower.as_str() {
        "set-cookie" => {
            let mut parts = value.split(';');
            let first = parts.next().unwrap_or_default();
            let cookie_name = first.split_once('=').map_or(first, |(n, _)| n);
            let attributes: Vec<&str> = parts.collect();
            if attributes.is_empty() {
                format!("{cookie_name}=[redacted]")
            } else {
                format!("{cookie_name}=[redacted];{}", attributes.join(";"))
            }
        }
        "cookie" => value
            .split(';')
            .map(|c| {
                let c = c.trim();
                let name = c.split_once('=').map_or(c, |(n, _)| n);
                format!("{name}=[redacted]")
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => {
            let scheme = value.split_whitespace().next().unwrap_or("");
            format!("{scheme} [redacted]")
        }
    }
}

/// Redacts a body: JSON secrets by name, form secrets by name, and any JWT anywhere in text.
/// Keeps at most [`BODY_EXCERPT`] characters.
pub fn redact_body(body: &str) -> String {
    let redacted = if let Ok(mut json) = serde_json::from_str::<serde_json::Value>(body) {
        redact_json(&mut json);
        json.to_string()
    } else if body.contains('=') && !body.contains(char::is_whitespace) && !body.contains('<') {
        redact_pairs(body)
    } else {
        redact_jwts(body)
    };
    excerpt(&redacted, BODY_EXCERPT)
}

fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (name, item) in map.iter_mut() {
                // Numbers too: a NemID key card's codes are JSON numbers.
                if is_secret_name(name) && (item.is_string() || item.is_number()) {
                    *item = serde_json::Value::String("[redacted]".into());
                } else {
                    redact_json(item);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::String(text) => *text = redact_jwts(text),
        _ => {}
    }
}

/// Replaces every compact JWS/JWT (`eyJ...` with two dots) in free text.
#[must_use]
pub fn redact_jwts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("eyJ") {
        out.push_str(&rest[..start]);
        let candidate = &rest[start..];
        let end = candidate
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .unwrap_or(candidate.len());
        let token = &candidate[..end];
        if token.matches('.').count() == 2 {
            out.push_str("[redacted JWT]");
        } else {
            out.push_str(token);
        }
        rest = &candidate[end..];
    }
    out.push_str(rest);
    out
}

/// Redacts secrets in free text (a failure message that quotes a URL, a query or a form):
/// every `name=value` whose name is a secret, wherever it stands, and every JWT.
#[must_use]
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(eq) = rest.find('=') {
        let before = &rest[..eq];
        let name_start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let name = &before[name_start..];
        out.push_str(before);
        out.push('=');
        rest = &rest[eq + 1..];
        if is_secret_name(name) {
            let end = rest
                .find(|c: char| {
                    c.is_whitespace() || matches!(c, '&' | '#' | '"' | '\'' | ')' | ',' | '>' | ';')
                })
                .unwrap_or(rest.len());
            if end > 0 && !rest[..end].starts_with("[redacted") {
                out.push_str("[redacted]");
                rest = &rest[end..];
            }
        }
    }
    out.push_str(rest);
    redact_jwts(&out)
}

fn excerpt(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}… [{} more characters]", text.chars().count() - max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_tokens_never_survive_redaction() {
        let url = "http://sp/cb?code=SECRETCODE&state=abc";
        assert_eq!(redact_url(url), "http://sp/cb?code=[redacted]&state=abc");
        let body = r#"{"id_token":"eyJa.eyJb.c","token_type":"Bearer","note":"x eyJh.eyJi.sig y"}"#;
        let out = redact_body(body);
        assert!(
            !out.contains("eyJa.eyJb.c") && !out.contains("eyJh.eyJi.sig"),
            "{out}"
        );
        assert!(out.contains("Bearer"), "{out}");
        let card = redact_body(r#"{"key_card":{"pairs":[{"key_number":17,"code":834201}]}}"#);
        assert!(
            !card.contains("834201") && card.contains("17"),
            "a key card's numeric code survived: {card}"
        );
        let cookie = redact_header("Set-Cookie", "sid=abcdef; HttpOnly; SameSite=Lax");
        assert_eq!(cookie, "sid=[redacted]; HttpOnly; SameSite=Lax");
        assert_eq!(
            redact_header("Authorization", "Basic dXNlcjpwYXNz"),
            "Basic [redacted]"
        );
        assert_eq!(
            redact_header("Location", "http://sp/cb?state=s&code=SECRETCODE"),
            "http://sp/cb?state=s&code=[redacted]"
        );
        assert_eq!(
            redact_text(
                "the broker's callback was http://sp/cb?code=abc-123&state=s; error_code=7, code=[redacted]"
            ),
            "the broker's callback was http://sp/cb?code=[redacted]&state=s; error_code=7, code=[redacted]"
        );
        assert_eq!(
            redact_pairs("grant_type=authorization_code&code=x&client_secret=y"),
            "grant_type=authorization_code&code=[redacted]&client_secret=[redacted]"
        );
    }
}
