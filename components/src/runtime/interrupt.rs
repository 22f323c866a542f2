//! The process's one record of "stop": the first SIGINT (Ctrl-C) or SIGTERM.
//!
//! Work that can be interrupted (the conformance suite, the container runtime while it starts,
//! `components up`) reads this flag and winds down through its normal error path, so whoever
//! owns a staging folder or a set of containers removes it on the way out: an interruption ends
//! in cleanup and exit code 130, never in a verdict. A second signal ends the process at once
//! (exit 130) for work that is stuck somewhere that does not look at the flag; containers such
//! an exit leaves are swept by the next start (they carry the dead process's id).

use std::sync::OnceLock;

use tokio::sync::watch;

/// The work stopped because the user (or a supervisor) sent SIGINT or SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted by {signal}")]
pub struct Interrupted {
    /// `SIGINT` or `SIGTERM`.
    pub signal: &'static str,
}

/// `None` until the first signal, then its name. A watch channel, so a waiter that subscribes
/// after the signal still sees it.
fn state() -> &'static watch::Sender<Option<&'static str>> {
    static STATE: OnceLock<watch::Sender<Option<&'static str>>> = OnceLock::new();
    STATE.get_or_init(|| watch::channel(None).0)
}

/// Starts watching for SIGINT and SIGTERM (once per process; later calls do nothing).
///
/// From then on the signals no longer end the process by themselves: the first one only sets
/// the flag, the second exits with 130.
pub fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        // The watcher registers the handlers on its own runtime and reports back before
        // `install` returns, so a signal right after `install` is caught rather than killing the
        // process. (A plain channel: `install` may be called from inside another runtime.)
        let (registered_tx, registered_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
        let watcher = std::thread::Builder::new()
            .name("mitid-lab-signals".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = registered_tx.send(Err(err));
                        return;
                    }
                };
                runtime.block_on(async move {
                    use tokio::signal::unix::{SignalKind, signal};
                    let (mut interrupt, mut terminate) = match (
                        signal(SignalKind::interrupt()),
                        signal(SignalKind::terminate()),
                    ) {
                        (Ok(interrupt), Ok(terminate)) => (interrupt, terminate),
                        (Err(err), _) | (_, Err(err)) => {
                            let _ = registered_tx.send(Err(err));
                            return;
                        }
                    };
                    let _ = registered_tx.send(Ok(()));
                    loop {
                        let name = tokio::select! {
                            _ = interrupt.recv() => "SIGINT",
                            _ = terminate.recv() => "SIGTERM",
                        };
                        if state().borrow().is_some() {
                            eprintln!("mitid-lab: second {name}: stopping now");
                            std::process::exit(130);
                        }
                        state().send_replace(Some(name));
                    }
                });
            });
        let registered = match watcher {
            Ok(_) => registered_rx
                .recv()
                .unwrap_or_else(|_| Err(std::io::Error::other("the signal watcher ended"))),
            Err(err) => Err(err),
        };
        if let Err(err) = registered {
            eprintln!("mitid-lab: cannot watch for Ctrl-C: {err}");
        }
    });
}

/// The signal that interrupted the process, if one did.
#[must_use]
pub fn interrupted() -> Option<Interrupted> {
    (*state().borrow()).map(|signal| Interrupted { signal })
}

/// `Err` once the process has been interrupted: for a check between two steps of work.
pub fn check() -> Result<(), Interrupted> {
    interrupted().map_or(Ok(()), Err)
}

/// Resolves when the process is interrupted (at once if it already was); never without
/// [`install`].
pub async fn wait() -> Interrupted {
    let mut receiver = state().subscribe();
    let signal = match receiver.wait_for(Option::is_some).await {
        Ok(seen) => *seen,
        // The sender lives in a static and is never dropped.
        Err(_) => None,
    };
    match signal {
        Some(signal) => Interrupted { signal },
        None => std::future::pending().await,
    }
}

/// Blocks the calling (non-async) thread until the process is interrupted.
#[must_use]
pub fn wait_blocking() -> Interrupted {
    let mut receiver = state().subscribe();
    loop {
        if let Some(signal) = *receiver.borrow_and_update() {
            return Interrupted { signal };
        }
        // A watch receiver has no blocking wait; the flag is checked often enough for a person.
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
