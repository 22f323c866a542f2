//! Calling a neighbouring lab service: a JSON-over-HTTP caller with timeouts, and the typed
//! error that says which neighbour failed and how (mapped to 502/504 for the caller).

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::ApiError;

/// Talking to a neighbour failed; `service` names which one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NeighbourError {
    #[error("{service} did not answer in time")]
    Timeout { service: &'static str },
    #[error("{service} could not be reached: {detail}")]
    Unreachable {
        service: &'static str,
        detail: String,
    },
    #[error("{service} answered HTTP {status}: {error}: {description}")]
    Status {
        service: &'static str,
        status: u16,
        error: String,
        description: String,
    },
    #[error("{service} answered something unreadable: {detail}")]
    Garbage {
        service: &'static str,
        detail: String,
    },
}

impl NeighbourError {
    /// The HTTP status the neighbour answered, if it answered one.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The neighbour's machine-readable error code, if it answered one.
    #[must_use]
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Self::Status { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<NeighbourError> for ApiError {
    /// A neighbour's 4xx about the caller's own input (unknown person, bad field) is passed on
    /// as the caller's error; everything else is the neighbour's fault: 502 or 504.
    fn from(e: NeighbourError) -> Self {
        match e {
            NeighbourError::Timeout { service } => ApiError::UpstreamTimeout { service },
            NeighbourError::Status {
                status: 404,
                description,
                ..
            } => ApiError::NotFound(description),
            NeighbourError::Status {
                status: 409,
                description,
                ..
            } => ApiError::Conflict(description),
            other => ApiError::Upstream {
                service: match &other {
                    NeighbourError::Unreachable { service, .. }
                    | NeighbourError::Status { service, .. }
                    | NeighbourError::Garbage { service, .. }
                    | NeighbourError::Timeout { service } => service,
                },
                detail: other.to_string(),
            },
        }
    }
}

/// A small JSON-over-HTTP caller shared by the clients of the CPR register and the IdP admin API.
#[derive(Debug, Clone)]
pub(crate) struct JsonCaller {
    pub(crate) service: &'static str,
    pub(crate) base_url: String,
    pub(crate) http: reqwest::Client,
}

/// Timeout used for calls between lab services unless configured otherwise: generous, because
/// the lab runs on a loaded 2-core machine, yet bounded, so a hung neighbour gives a 504.
pub const DEFAULT_NEIGHBOUR_TIMEOUT: Duration = Duration::from_secs(10);

/// A reqwest client with `timeout` on every call (plain HTTP on loopback; no TLS).
#[must_use]
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .unwrap_or_default()
}

impl JsonCaller {
    pub(crate) fn new(service: &'static str, base_url: &str, http: reqwest::Client) -> Self {
        Self {
            service,
            base_url: base_url.trim_end_matches('/').to_owned(),
            http,
        }
    }

    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, NeighbourError> {
        let service = self.service;
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                NeighbourError::Timeout { service }
            } else {
                NeighbourError::Unreachable {
                    service,
                    detail: e.to_string(),
                }
            }
        };
        let answer = request.send().await.map_err(transport)?;
        let status = answer.status();
        let body = answer.bytes().await.map_err(transport)?;
        if !status.is_success() {
            let parsed: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
            let field = |name: &str| {
                parsed
                    .as_ref()
                    .and_then(|v| v.get(name))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            return Err(NeighbourError::Status {
                service,
                status: status.as_u16(),
                error: field("error").unwrap_or_else(|| "unknown".into()),
                description: field("error_description")
                    .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect()),
            });
        }
        serde_json::from_slice(&body).map_err(|e| NeighbourError::Garbage {
            service,
            detail: e.to_string(),
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}
