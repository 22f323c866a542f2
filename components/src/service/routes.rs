//! A component's router together with its route table.
//!
//! axum cannot list the routes of a built `Router`, yet the lab wants that list: `GET /routes`
//! on every component answers it, and the route-table-driven fuzz test walks it, so a new route
//! is covered the day it is added. [`Routes`] is a thin builder around `Router` that records each
//! path and the methods registered on it; [`get`], [`post`], [`put`] and [`delete`] stand in for
//! `axum::routing`'s functions of the same names, so a component's route list reads as before.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;
use serde::{Deserialize, Serialize};

/// One path of a component and the methods it answers (`HEAD` is implied by `GET`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteInfo {
    /// The axum path template, e.g. `/persons/{cpr}`.
    pub path: String,
    /// Upper-case method names, in registration order.
    pub methods: Vec<String>,
}

/// The answer of `GET /routes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    /// The component's name (as in `/health`).
    pub component: String,
    /// Every route, including `/health` and `/routes`.
    pub routes: Vec<RouteInfo>,
}

/// A method router that remembers which methods it has.
#[must_use]
pub struct Route<S> {
    methods: Vec<Method>,
    inner: MethodRouter<S>,
}

/// A router and the table of what it routes.
#[must_use]
pub struct Routes<S = ()> {
    router: Router<S>,
    table: Vec<RouteInfo>,
}

macro_rules! method_functions {
    ($($name:ident => $method:ident),*) => {
        $(
            #[doc = concat!("Routes `", stringify!($method), "` requests to `handler`.")]
            pub fn $name<H, T, S>(handler: H) -> Route<S>
            where
                H: Handler<T, S>,
                T: 'static,
                S: Clone + Send + Sync + 'static,
            {
                Route {
                    methods: vec![Method::$method],
                    inner: axum::routing::$name(handler),
                }
            }
        )*

        impl<S: Clone + Send + Sync + 'static> Route<S> {
            $(
                #[doc = concat!("Also routes `", stringify!($method), "` requests to `handler`.")]
                pub fn $name<H, T>(mut self, handler: H) -> Self
                where
                    H: Handler<T, S>,
                    T: 'static,
                {
                    self.methods.push(Method::$method);
                    self.inner = self.inner.$name(handler);
                    self
                }
            )*
        }
    };
}

method_functions!(get => GET, post => POST, put => PUT, delete => DELETE);

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    /// No routes yet.
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    /// Adds `route` at `path` (same rules as `axum::Router::route`).
    pub fn route(mut self, path: &str, route: Route<S>) -> Self {
        self.table.push(RouteInfo {
            path: path.to_owned(),
            methods: route.methods.iter().map(ToString::to_string).collect(),
        });
        self.router = self.router.route(path, route.inner);
        self
    }

    /// Adds every route of `other`.
    pub fn merge(mut self, other: Routes<S>) -> Self {
        self.table.extend(other.table);
        self.router = self.router.merge(other.router);
        self
    }

    /// Applies the state, like `axum::Router::with_state`.
    pub fn with_state<S2>(self, state: S) -> Routes<S2> {
        Routes {
            router: self.router.with_state(state),
            table: self.table,
        }
    }

    /// Changes the router without changing its routes, e.g. to add a middleware layer.
    pub fn map_router(mut self, change: impl FnOnce(Router<S>) -> Router<S>) -> Self {
        self.router = change(self.router);
        self
    }

    /// The routes so far.
    #[must_use]
    pub fn table(&self) -> &[RouteInfo] {
        &self.table
    }

    /// The router and its table.
    pub fn into_parts(self) -> (Router<S>, Vec<RouteInfo>) {
        (self.router, self.table)
    }
}
