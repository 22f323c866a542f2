//! Talking to the IdP: discovery (cached), the JWKS (refetched once when a `kid` is unknown,
//! unless the SP is started with the flaw that never refreshes it), the code exchange with
//! `client_secret_basic`, and userinfo. Every failure is an [`ApiError`] naming the IdP.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::validate::{Jws, TokenError};
use super::{Flaw, Provider, Sp};
use crate::service::ApiError;

pub(super) fn upstream(detail: impl fmt::Display) -> ApiError {
    ApiError::Upstream {
        service: "idp",
        detail: detail.to_string(),
    }
}

pub(super) fn transport(e: &reqwest::Error) -> ApiError {
    if e.is_timeout() {
        ApiError::UpstreamTimeout { service: "idp" }
    } else {
        upstream(e)
    }
}

impl Sp {
    pub(super) async fn fetch_json(&self, url: &str) -> Result<Value, ApiError> {
        let answer = self.http.get(url).send().await.map_err(|e| transport(&e))?;
        if !answer.status().is_success() {
            return Err(upstream(format!("{url} answered HTTP {}", answer.status())));
        }
        answer
            .json::<Value>()
            .await
            .map_err(|e| upstream(format!("{url}: {e}")))
    }

    async fn discover(&self) -> Result<Provider, ApiError> {
        let url = format!("{}/.well-known/openid-configuration", self.config.issuer);
        let doc = self.fetch_json(&url).await?;
        let field = |name: &str| -> Result<String, ApiError> {
            doc.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| upstream(format!("discovery document has no {name}")))
        };
        let issuer = field("issuer")?;
        if issuer.trim_end_matches('/') != self.config.issuer {
            return Err(upstream(format!(
                "discovery issuer {issuer:?} is not the configured {:?}",
                self.config.issuer
            )));
        }
        let jwks_uri = field("jwks_uri")?;
        let jwks = self.fetch_json(&jwks_uri).await?;
        Ok(Provider {
            issuer,
            authorization_endpoint: field("authorization_endpoint")?,
            token_endpoint: field("token_endpoint")?,
            userinfo_endpoint: field("userinfo_endpoint")?,
            end_session_endpoint: doc
                .get("end_session_endpoint")
                .and_then(Value::as_str)
                .map(str::to_owned),
            jwks_uri,
            jwks,
        })
    }

    pub(super) async fn provider(&self) -> Result<Provider, ApiError> {
        let mut cached = self.provider.lock().await;
        if let Some(p) = cached.as_ref() {
            return Ok(p.clone());
        }
        let fresh = self.discover().await?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    /// Verifies a JWS against the cached JWKS, refetching it once when the `kid` is unknown
    /// (the IdP rotated its keys) — unless the SP never refreshes.
    pub(super) async fn verified(&self, jws: &Jws) -> Result<(), ApiError> {
        let provider = self.provider().await?;
        match jws.verify(&provider.jwks, &self.config.flaws) {
            Err(TokenError::UnknownKey(_)) if !self.flawed(Flaw::NeverRefreshJwks) => {
                let rotated_keys = self.fetch_json(&provider.jwks_uri).await?;
                jws.verify(&rotated_keys, &self.config.flaws)
                    .map_err(login_refused)?;
                if let Some(p) = self.provider.lock().await.as_mut() {
                    p.jwks = rotated_keys;
                }
                Ok(())
            }
            other => other.map_err(login_refused),
        }
    }
}

pub(super) fn login_refused(e: impl fmt::Display) -> ApiError {
    ApiError::Unauthorized(format!("login refused: {e}"))
}

pub(super) async fn exchange_code(
    sp: &Sp,
    provider: &Provider,
    code: &str,
    verifier: Option<&str>,
) -> Result<Value, ApiError> {
    let redirect_uri = sp.config.redirect_uri();
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &redirect_uri),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    // client_secret_basic: id and secret form-urlencoded, then Base64 (RFC 6749 §2.3.1).
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let basic = STANDARD.encode(format!(
        "{}:{}",
        enc(&sp.config.client_id),
        enc(&sp.config.client_secret)
    ));
    let answer = sp
        .http
        .post(&provider.token_endpoint)
        .header("authorization", format!("Basic {basic}"))
        .form(&form)
        .send()
        .await
        .map_err(|e| transport(&e))?;
    let status = answer.status();
    let body: Value = answer
        .json()
        .await
        .map_err(|e| upstream(format!("token endpoint: {e}")))?;
    if !status.is_success() {
        return Err(login_refused(format!(
            "token endpoint answered {status}: {}",
            body.get("error").and_then(Value::as_str).unwrap_or("?")
        )));
    }
    Ok(body)
}

pub(super) async fn fetch_userinfo(
    sp: &Sp,
    provider: &Provider,
    access_token: &str,
) -> Result<Value, ApiError> {
    let answer = sp
        .http
        .get(&provider.userinfo_endpoint)
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|e| transport(&e))?;
    if !answer.status().is_success() {
        return Err(login_refused(format!(
            "userinfo answered {}",
            answer.status()
        )));
    }
    let body: Value = answer
        .json()
        .await
        .map_err(|e| upstream(format!("userinfo: {e}")))?;
    if body.is_object() {
        Ok(body)
    } else {
        Err(upstream("userinfo is not a JSON object"))
    }
}
