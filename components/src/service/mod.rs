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
//! - [`Json`], [`Query`] and [`Form`] are drop-in replacements for axum's extractors whose
//!   rejections (malformed JSON, wrong content type, bad query string, body too large) become
//!   [`ApiError`]s, i.e. JSON `400`/`413`/`415` instead of axum's plain-text bodies.
//!
//! ```no_run
//! use axum::{Router, routing::post};
//! use mitid_components::service::{self, ApiError, Json};
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
//! let router = service::standard("cpr", Router::new().route("/persons/lookup", post(lookup)));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let running = service::spawn(listener, router)?;
//! println!("listening on {}", running.url());
//! running.shutdown().await;
//! # Ok(()) }
//! ```

mod error;
mod extract;

pub use error::ApiError;
pub use extract::{Form, Json, Query};

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Largest request body a lab service accepts unless told otherwise (64 KiB: every API of the
/// lab takes small JSON or form bodies; an OIDC request object fits easily).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// How long [`RunningService::shutdown`] waits for in-flight requests before cutting them off.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// [`standard_with_limit`] with [`DEFAULT_BODY_LIMIT`].
pub fn standard(component: &'static str, router: Router) -> Router {
    standard_with_limit(component, router, DEFAULT_BODY_LIMIT)
}

/// Adds the house rules to a component's router: `GET /health`, a body limit of `body_limit`
/// bytes, and JSON answers for unknown routes (404) and wrong methods (405).
///
/// The router must have its state applied already (`Router<()>`).
pub fn standard_with_limit(component: &'static str, router: Router, body_limit: usize) -> Router {
    router
        .route(
            "/health",
            get(move || async move {
                Json(serde_json::json!({ "status": "ok", "component": component }))
            }),
        )
        .fallback(|| async { ApiError::NotFound("no such route".to_owned()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            reject_declared_oversize(req, next, body_limit)
        }))
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
