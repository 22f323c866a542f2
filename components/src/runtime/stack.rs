//! [`Stack`]: a running set of components, whichever way they run.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::{Component, Endpoint, LabClient, RuntimeError, TestIdentity, Wiring};

/// How a [`Stack`] runs its components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    /// In this process.
    Embedded,
    /// One Docker container per component.
    Containers,
}

/// A running set of components. Dropping it stops them (and, for containers, removes every
/// container and the network) before `drop` returns.
#[derive(Debug)]
pub struct Stack {
    pub(super) kind: RuntimeKind,
    /// URLs as this process reaches them.
    pub(super) host_urls: Wiring,
    /// URLs as the components reach each other (the IdP's issuer is in here).
    pub(super) internal_urls: Wiring,
    /// Internal host name → host-reachable address, for host-side clients.
    pub(super) host_overrides: Vec<(String, SocketAddr)>,
    pub(super) identities: Vec<TestIdentity>,
    pub(super) lab_client: LabClient,
    pub(super) run_id: String,
    pub(super) worker: Option<Worker>,
}

/// The thread that owns the stack's tokio runtime and everything running on it.
#[derive(Debug)]
pub(super) struct Worker {
    pub(super) stop: Option<oneshot::Sender<()>>,
    pub(super) thread: Option<JoinHandle<Result<(), RuntimeError>>>,
}

impl Worker {
    /// Asks the worker to stop and waits until it has.
    pub(super) fn stop(&mut self) -> Result<(), RuntimeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(RuntimeError::StackThreadDied),
            None => Ok(()),
        }
    }
}

impl Stack {
    /// How the components run.
    #[must_use]
    pub fn kind(&self) -> RuntimeKind {
        self.kind
    }

    /// Identifier of this run (container names and labels carry it).
    #[must_use]
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The public URL of `component` as this process reaches it (no trailing slash).
    ///
    /// # Panics
    /// If `component` is not part of this stack ([`Stack::components`]).
    #[must_use]
    pub fn url(&self, component: Component) -> &str {
        self.endpoint_url(component, Endpoint::Public)
    }

    /// The IdP's control API URL as this process reaches it.
    ///
    /// # Panics
    /// If the IdP is not part of this stack.
    #[must_use]
    pub fn idp_control_url(&self) -> &str {
        self.endpoint_url(Component::Idp, Endpoint::Control)
    }

    /// The URL of one endpoint as this process reaches it.
    ///
    /// # Panics
    /// If the stack has no such endpoint.
    #[must_use]
    pub fn endpoint_url(&self, component: Component, endpoint: Endpoint) -> &str {
        self.host_urls.get(component, endpoint).unwrap_or_else(|| {
            panic!(
                "the {} endpoint of {component} is not part of this stack (running: {:?})",
                endpoint.name(),
                self.components()
            )
        })
    }

    /// The IdP's issuer: its public URL as the components see it. Equal to
    /// [`Stack::url`]`(Idp)` when embedded; a container host name with containers.
    ///
    /// # Panics
    /// If the IdP is not part of this stack.
    #[must_use]
    pub fn issuer(&self) -> &str {
        self.internal_urls
            .get(Component::Idp, Endpoint::Public)
            .unwrap_or_else(|| {
                panic!(
                    "the IdP is not part of this stack (running: {:?})",
                    self.components()
                )
            })
    }

    /// URLs as this process reaches them.
    #[must_use]
    pub fn host_urls(&self) -> &Wiring {
        &self.host_urls
    }

    /// URLs as the components reach each other.
    #[must_use]
    pub fn internal_urls(&self) -> &Wiring {
        &self.internal_urls
    }

    /// Host names the components use for each other that this process must map to a local
    /// address: pass each to `reqwest::ClientBuilder::resolve` so redirects to the IdP's issuer
    /// (a container name) reach its mapped port. Empty when embedded.
    #[must_use]
    pub fn host_overrides(&self) -> &[(String, SocketAddr)] {
        &self.host_overrides
    }

    /// The components running, in start order.
    #[must_use]
    pub fn components(&self) -> Vec<Component> {
        let mut running: Vec<Component> = Vec::new();
        for (component, _, _) in self.host_urls.iter() {
            if !running.contains(&component) {
                running.push(component);
            }
        }
        running.sort_by_key(|c| Component::ALL.iter().position(|x| x == c));
        running
    }

    /// The persons the lab can log in as.
    #[must_use]
    pub fn identities(&self) -> &[TestIdentity] {
        &self.identities
    }

    /// The OIDC client the lab itself is registered with at the IdP.
    #[must_use]
    pub fn lab_client(&self) -> &LabClient {
        &self.lab_client
    }

    /// Stops every component and waits until all are gone (ports free, containers and network
    /// removed). Dropping the stack does the same but cannot report errors.
    pub fn shutdown(mut self) -> Result<(), RuntimeError> {
        match self.worker.take() {
            Some(mut worker) => worker.stop(),
            None => Ok(()),
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(mut worker) = self.worker.take()
            && let Err(err) = worker.stop()
        {
            eprintln!(
                "mitid-lab: stopping the {:?} stack {}: {err}",
                self.kind, self.run_id
            );
        }
    }
}
