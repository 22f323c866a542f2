//! The JSON error every lab service answers with.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One way a request to a lab service can fail.
///
/// Each variant maps to one status and one `error` code; the `Display` text becomes
/// `error_description`. The body is always `{"error": CODE, "error_description": TEXT}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// A parameter is missing, duplicated or malformed (400 `invalid_request`).
    #[error("{0}")]
    InvalidRequest(String),
    /// The body is not the JSON or form the route expects (400 `invalid_request`).
    #[error("malformed request body: {0}")]
    MalformedBody(String),
    /// The query string does not parse into the route's parameters (400 `invalid_request`).
    #[error("malformed query string: {0}")]
    MalformedQuery(String),
    /// The body's content type is not the one the route reads (415 `unsupported_media_type`).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is larger than the service accepts (413 `payload_too_large`).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The caller did not prove who it is (401 `unauthorized`).
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is known but may not do this (403 `access_denied`).
    #[error("{0}")]
    Forbidden(String),
    /// No such route or no such thing (404 `not_found`).
    #[error("{0}")]
    NotFound(String),
    /// The route exists with another method (405 `method_not_allowed`).
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The request clashes with the current state, e.g. a slot already booked (409 `conflict`).
    #[error("{0}")]
    Conflict(String),
    /// A rate limit was hit (429 `too_many_requests`, with `Retry-After`).
    #[error("{message}")]
    TooManyRequests {
        /// What was limited.
        message: String,
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// A neighbouring service answered with an error or garbage (502 `upstream_error`).
    #[error("{service} failed: {detail}")]
    Upstream {
        /// Which neighbour (`cpr`, `sms`, ...).
        service: &'static str,
        /// What went wrong, for the log and the caller.
        detail: String,
    },
    /// A neighbouring service did not answer in time (504 `upstream_timeout`).
    #[error("{service} did not answer in time")]
    UpstreamTimeout {
        /// Which neighbour.
        service: &'static str,
    },
    /// The service is deliberately or temporarily not serving (503 `temporarily_unavailable`).
    #[error("{0}")]
    Unavailable(String),
    /// A bug or broken invariant on our side (500 `server_error`).
    #[error("{0}")]
    Internal(String),
    /// An OAuth 2.0 / OpenID Connect protocol error with its registered code (`invalid_grant`,
    /// `invalid_client`, `unsupported_grant_type`, ...), for endpoints whose callers parse them.
    #[error("{description}")]
    OAuth {
        /// The HTTP status (400, or 401 for `invalid_client`).
        status: StatusCode,
        /// The registered error code.
        error: &'static str,
        /// Human-readable detail.
        description: String,
    },
}

impl ApiError {
    /// Shorthand for [`ApiError::InvalidRequest`].
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::InvalidRequest(description.into())
    }

    /// Shorthand for [`ApiError::NotFound`].
    pub fn not_found(description: impl Into<String>) -> Self {
        Self::NotFound(description.into())
    }

    /// Shorthand for [`ApiError::OAuth`].
    pub fn oauth(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self::OAuth {
            status,
            error,
            description: description.into(),
        }
    }

    /// The house error for a bare status code, for answers that came without a body of ours
    /// (see `errors_as_json` in the service module).
    #[must_use]
    pub fn for_status(status: StatusCode) -> Self {
        let reason = status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase();
        match status {
            StatusCode::BAD_REQUEST => Self::InvalidRequest("the request is malformed".to_owned()),
            StatusCode::UNAUTHORIZED => Self::Unauthorized("authentication is required".to_owned()),
            StatusCode::FORBIDDEN => Self::Forbidden("not allowed".to_owned()),
            StatusCode::NOT_FOUND => Self::NotFound("no such resource".to_owned()),
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge(
                "the request body is larger than this service accepts".to_owned(),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType(
                "the body's content type is not accepted here".to_owned(),
            ),
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable(reason),
            s if s.is_server_error() => Self::OAuth {
                status: s,
                error: "server_error",
                description: reason,
            },
            s => Self::OAuth {
                status: s,
                error: "invalid_request",
                description: reason,
            },
        }
    }

    /// The HTTP status this error is answered with.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) | Self::MalformedBody(_) | Self::MalformedQuery(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Upstream { .. } => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::OAuth { status, .. } => *status,
        }
    }

    /// The machine-readable `error` code of the body.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) | Self::MalformedBody(_) | Self::MalformedQuery(_) => {
                "invalid_request"
            }
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "access_denied",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Upstream { .. } => "upstream_error",
            Self::UpstreamTimeout { .. } => "upstream_timeout",
            Self::Unavailable(_) => "temporarily_unavailable",
            Self::Internal(_) => "server_error",
            Self::OAuth { error, .. } => error,
        }
    }

    /// The JSON body: `{"error": ..., "error_description": ...}`.
    #[must_use]
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.code(), "error_description": self.to_string() })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        let headers = response.headers_mut();
        // Error bodies may echo request detail; never let a proxy or browser cache them
        // (RFC 6749 §5.1 asks the same of token responses).
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Self::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}
