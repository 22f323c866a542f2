//! Every component in this process, on `127.0.0.1` with ephemeral ports.
//!
//! The stack gets a tokio runtime on a thread of its own: callers may be sync (the CLI) or async
//! (tests, the conformance runner) and the stack's lifetime is the [`Stack`] value's. Dropping the
//! stack stops every server and joins the thread, so the ports are free when `drop` returns.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::stack::Worker;
use super::{
    Component, Endpoint, RuntimeError, RuntimeKind, Stack, StackOptions, Wiring, build_routers,
};
use crate::service::{self, RunningService};

/// Starts the default stack ([`Component::in_default_stack`]) of what is built into this crate
/// ([`Component::is_available`]).
pub fn start(options: StackOptions) -> Result<Stack, RuntimeError> {
    let components: Vec<Component> = Component::ALL
        .into_iter()
        .filter(|c| c.in_default_stack() && c.is_available())
        .collect();
    start_components(&components, options)
}

/// Starts the given components, wired to each other.
pub fn start_components(
    components: &[Component],
    options: StackOptions,
) -> Result<Stack, RuntimeError> {
    static STACKS: AtomicU64 = AtomicU64::new(0);
    let run_id = format!(
        "embedded-{}-{}",
        std::process::id(),
        STACKS.fetch_add(1, Ordering::Relaxed)
    );
    let components = components.to_vec();
    let worker_threads = options.worker_threads.max(1);
    let (ready_tx, ready_rx) = mpsc::channel::<Result<Wiring, RuntimeError>>();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let identities = super::test_identities(&options);
    let lab_client = super::LabClient::for_options(&options);

    let thread = std::thread::Builder::new()
        .name(format!("mitid-lab-{run_id}"))
        .spawn(move || -> Result<(), RuntimeError> {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(worker_threads)
                .thread_name("mitid-lab-stack")
                .enable_all()
                .build()
                .map_err(RuntimeError::Runtime)?;
            runtime.block_on(async move {
                let running = match bind_and_spawn(&components, &options).await {
                    Ok(running) => running,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return Ok(());
                    }
                };
                let mut wiring = Wiring::new();
                for (component, endpoint, service) in &running {
                    wiring.set(*component, *endpoint, service.url());
                }
                let _ = ready_tx.send(Ok(wiring));
                // A dropped sender (the Stack vanished without Drop, e.g. leaked) also stops.
                let _ = stop_rx.await;
                shutdown_all(running).await;
                Ok(())
            })
        })
        .map_err(RuntimeError::Runtime)?;

    let mut worker = Worker {
        stop: Some(stop_tx),
        thread: Some(thread),
    };
    match ready_rx.recv() {
        Ok(Ok(wiring)) => Ok(Stack {
            kind: RuntimeKind::Embedded,
            host_urls: wiring.clone(),
            internal_urls: wiring,
            host_overrides: Vec::new(),
            identities,
            lab_client,
            run_id,
            worker: Some(worker),
        }),
        Ok(Err(err)) => {
            let _ = worker.stop();
            Err(err)
        }
        Err(_) => Err(worker.stop().err().unwrap_or(RuntimeError::StackThreadDied)),
    }
}

/// Binds every endpoint first (so each URL is known), builds each component against that
/// wiring, then serves them all.
async fn bind_and_spawn(
    components: &[Component],
    options: &StackOptions,
) -> Result<Vec<(Component, Endpoint, RunningService)>, RuntimeError> {
    let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let mut listeners = Vec::new();
    let mut wiring = Wiring::new();
    for &component in components {
        for &endpoint in component.endpoints() {
            let listener =
                TcpListener::bind(loopback)
                    .await
                    .map_err(|source| RuntimeError::Bind {
                        addr: loopback,
                        source,
                    })?;
            let addr = listener.local_addr().map_err(|source| RuntimeError::Bind {
                addr: loopback,
                source,
            })?;
            wiring.set(component, endpoint, format!("http://{addr}"));
            listeners.push((component, endpoint, listener));
        }
    }
    let mut routers = Vec::new();
    for &component in components {
        for (endpoint, router) in build_routers(component, &wiring, options)? {
            routers.push((component, endpoint, router));
        }
    }
    let mut running = Vec::new();
    for (component, endpoint, listener) in listeners {
        let Some(index) = routers
            .iter()
            .position(|(c, e, _)| *c == component && *e == endpoint)
        else {
            return Err(RuntimeError::BadOption(format!(
                "{component} has no router for its {} endpoint",
                endpoint.name()
            )));
        };
        let (_, _, router) = routers.swap_remove(index);
        let service = service::spawn(listener, router)
            .map_err(|source| RuntimeError::Serve { component, source })?;
        running.push((component, endpoint, service));
    }
    Ok(running)
}

async fn shutdown_all(running: Vec<(Component, Endpoint, RunningService)>) {
    let mut stopping = tokio::task::JoinSet::new();
    for (_, _, service) in running {
        stopping.spawn(service.shutdown());
    }
    while stopping.join_next().await.is_some() {}
}

/// The bound listeners of one component run by [`serve_component`].
#[derive(Debug)]
pub struct ComponentListeners {
    /// The public listener.
    pub public: TcpListener,
    /// The control listener (the IdP's); `None` for the others.
    pub control: Option<TcpListener>,
}

/// Runs one component on already bound listeners until `shutdown` resolves. `wiring` must hold
/// the component's own public URL and its neighbours'. This is what `mitid-lab components
/// serve` (and so each container) runs.
pub async fn serve_component(
    component: Component,
    listeners: ComponentListeners,
    wiring: &Wiring,
    options: &StackOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RuntimeError> {
    let routers = build_routers(component, wiring, options)?;
    let mut public = Some(listeners.public);
    let mut control = listeners.control;
    let mut running = Vec::new();
    for (endpoint, router) in routers {
        let listener = match endpoint {
            Endpoint::Public => public.take(),
            Endpoint::Control => control.take(),
        }
        .ok_or_else(|| {
            RuntimeError::BadOption(format!("{component} needs a {} listener", endpoint.name()))
        })?;
        let service = service::spawn(listener, router)
            .map_err(|source| RuntimeError::Serve { component, source })?;
        running.push((component, endpoint, service));
    }
    shutdown.await;
    shutdown_all(running).await;
    Ok(())
}
