//! Server plumbing every component shares: serving, limits, health, JSON errors.
//!
//! Every component (IdP, CPR register, Citizen Service, support line, SMS gateway, reference
//! service provider) is an axum [`Router`]. This module turns such a router into a well-behaved
//! lab service, so that no component has to repeat the rules of the house:
//!
//! - [`standard`] wraps a component's router with a `GET /health` route (answering
//!   `{"status":"ok","component":NAME}`), a request body limit (`413` as JSON, checked on the
//!   `Content-Length` header up front and again while extractors buffer the body), a JSON `404`
//!   fallback for unknown routes and a JSON `405` for a known route with the wrong method.
//! - [`serve`] runs a router on an already bound `tokio::net::TcpListener` (bind `127.0.0.1:0` and
//!   read the port from the listener) until a shutdown future resolves, then drains in-flight
//!   requests gracefully. It gives handlers `ConnectInfo<SocketAddr>` (rate limits by peer).
//!   [`spawn`] does the same on a task and hands back a [`RunningService`] to stop it.
//! - [`ApiError`] is the one error type handlers return: one variant per way a request can fail,
//!   each mapped to a status and the OAuth-style body
//!   `{"error": "...", "error_description": "..."}` (RFC 6749 §5.2 shape, also used for non-OAuth
//!   APIs so clients parse one format).
//! - [`Path`], [`Query`], [`Form`], [`Json`] and [`Body`] replace axum's extractors. Each has a
//!   small rejection type ([`PathRejection`], ...) that answers the JSON error shape in the
//!   API's words: the field (`keys[0].y`), the value, what is allowed; never a Rust type name.
//! - [`Routes`] is the router builder every component uses (with [`routing::get`],
//!   [`routing::post`], ... as in `axum::routing`); it keeps the route table that `GET /routes` answers.
//!
//! ```no_run
//! use mitid_components::service::{self, ApiError, Json, Routes, routing::post};
//!
//! #[derive(serde::Deserialize)]
//! struct Lookup { cpr: String }
//!
//! async fn lookup(Json(req): Json<Lookup>) -> Result<Json<serde_json::Value>, ApiError> {
//!     if req.cpr.len() != 10 {
//!         return Err(ApiError::invalid_request("cpr must have 10 digits"));
//!     }
//!     Ok(Json(serde_json::json!({ "cpr": req.cpr })))
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let router = service::standard("cpr", Routes::new().route("/persons/lookup", post(lookup)));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let running = service::spawn(listener, router)?;
//! println!("listening on {}", running.url());
//! running.shutdown().await;
//! # Ok(()) }
//! ```

mod clock;
mod error;
mod extract;
mod http;
mod neighbour;
mod routes;

pub use clock::{ClockError, LabClock};
pub use http::{MAX_PARAMS, MAX_VALUE, constant_time_eq, cookie, error_page, found, parse_params};
pub(crate) use neighbour::JsonCaller;
pub use neighbour::{DEFAULT_NEIGHBOUR_TIMEOUT, NeighbourError, http_client};

pub use error::ApiError;
pub use extract::{
    Body, BodyRejection, Form, FormRejection, Json, JsonRejection, Path, PathRejection, Query,
    QueryRejection, describe_expected, describe_field_error, parse_json,
};
pub use routes::{Route, RouteInfo, RouteTable, Routes};

/// Stand-ins for `axum::routing`'s method functions that record the route table.
pub mod routing {
    pub use super::routes::{delete, get, post, put};
}

use routing::get;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderValue;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Largest request body a lab service accepts unless told otherwise (64 KiB: every API of the
/// lab takes small JSON or form bodies; an OIDC request object fits easily).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// How long [`RunningService::shutdown`] waits for in-flight requests before cutting them off.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// [`standard_with_limit`] with [`DEFAULT_BODY_LIMIT`].
pub fn standard(component: &'static str, routes: Routes) -> Router {
    standard_with_limit(component, routes, DEFAULT_BODY_LIMIT)
}

/// Adds the house rules to a component's routes: `GET /health`, `GET /routes` (the route
/// table), a body limit of `body_limit` bytes, JSON answers for unknown routes (404) and wrong
/// methods (405), a refusal of requests carrying more than one `Authorization` header, and a
/// last guard that turns any plain-text or empty error answer into the JSON error shape.
///
/// The routes must have their state applied already (`Routes<()>`).
pub fn standard_with_limit(component: &'static str, routes: Routes, body_limit: usize) -> Router {
    let routes =
        routes.route(
            "/health",
            get(move || async move {
                Json(serde_json::json!({ "status": "ok", "component": component }))
            }),
        );
    let (served, mut table) = routes.into_parts();
    table.push(RouteInfo {
        path: "/routes".to_owned(),
        methods: vec!["GET".to_owned()],
    });
    let listing = RouteTable {
        component: component.to_owned(),
        routes: table,
    };
    served
        .route(
            "/routes",
            axum::routing::get(move || {
                let listing = listing.clone();
                async move { Json(listing) }
            }),
        )
        .fallback(|| async { ApiError::NotFound("no such route".to_owned()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            reject_declared_oversize(req, next, body_limit)
        }))
        .layer(middleware::from_fn(refuse_repeated_authorization))
        .layer(middleware::from_fn(errors_as_json))
}

/// Two `Authorization` headers leave it open which credential the request means; RFC 6749
/// §2.3 and RFC 6750 §2 allow one method, once. Refused before any handler picks one.
async fn refuse_repeated_authorization(req: Request, next: Next) -> Response {
    if req.headers().get_all(AUTHORIZATION).iter().count() > 1 {
        return ApiError::invalid_request(
            "the request carries more than one Authorization header; send exactly one",
        )
        .into_response();
    }
    next.run(req).await
}

/// The last guard of the house error shape: an error answer that is plain text or has no body
/// (axum's own rejections, a bare status code) becomes `{"error", "error_description"}` with the
/// same status and headers. HTML pages (the IdP's and the reference SP's pages for a browser)
/// and JSON are left as they are. The original text is not echoed: it is written for Rust
/// programmers and may name internal types.
async fn errors_as_json(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let kind = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_ascii_lowercase);
    let keep = kind
        .as_deref()
        .is_some_and(|k| k.starts_with("application/json") || k.starts_with("text/html"));
    if keep {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let replacement = ApiError::for_status(status).into_response();
    parts.headers.remove(CONTENT_LENGTH);
    for (name, value) in replacement.headers() {
        parts.headers.insert(name.clone(), value.clone());
    }
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let (_, body) = replacement.into_parts();
    Response::from_parts(parts, body)
}

/// Refuses a body whose declared length is over the limit before any handler runs, so even
/// handlers that never read the body answer a clean 413.
async fn reject_declared_oversize(req: Request, next: Next, limit: usize) -> Response {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => ApiError::PayloadTooLarge(format!(
            "request body of {length} bytes is larger than the {limit} bytes accepted"
        ))
        .into_response(),
        _ => next.run(req).await,
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting connections and
/// lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// A service running on a task of the current tokio runtime.
#[derive(Debug)]
pub struct RunningService {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Starts [`serve`] on a new task of the current tokio runtime.
///
/// # Panics
/// When called outside a tokio runtime (like `tokio::spawn`).
pub fn spawn(listener: TcpListener, router: Router) -> std::io::Result<RunningService> {
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, router, async move {
        // A dropped sender means the handle is gone: stop as well.
        let _ = stopped.await;
    }));
    Ok(RunningService {
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}

impl RunningService {
    /// The address the service listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` — the base URL, without a trailing slash.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, waits up to [`SHUTDOWN_GRACE`] for in-flight requests, then aborts what
    /// is left. When this returns the listening socket is closed and the port is free.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for RunningService {
    fn drop(&mut self) {
        // Without an explicit shutdown the task would outlive its handle; ask it to stop and make
        // sure it does not linger past the grace period's purpose (the runtime drops it).
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
