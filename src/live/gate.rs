//! The network in front of a component, as a live run's incidents need it: a TCP relay on
//! `127.0.0.1` that the lab's HTTP clients go through (their routes point at it, see
//! `mitid_conformance::browser::set_routes`) and that can refuse, hold, slow down or fail the
//! requests passing through it, or block those coming from abroad.
//!
//! The relay reads each request's first line (HTTP/1.1 without pipelining, which is what the
//! lab's clients send) and decides on it; everything else is copied byte for byte both ways, so
//! with no rule set the component sees exactly the requests it would see without the gate.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mitid_sim::kernel::RandomStreams;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The source address of the lab's citizens living abroad: a denial-of-service protection that blocks
/// foreign traffic recognises them by it (loopback, so it works on any machine).
pub const ABROAD: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// What the gate does to a request a rule matches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Closes the connection without an answer: the component is down.
    Refuse,
    /// Never answers, until the caller gives up: the component is paused.
    Hold,
    /// Waits this long before passing the request on.
    Delay(Duration),
    /// Answers `503` to this share of the requests (drawn from the seed, in request order).
    Errors(f64),
    /// Answers `403` to requests from [`ABROAD`].
    BlockAbroad,
}

/// One rule: a fault, for the requests whose first line contains `only` (every request when
/// `None`), set by incident `owner`.
#[derive(Debug, Clone)]
struct Rule {
    owner: usize,
    only: Option<&'static str>,
    fault: Fault,
}

#[derive(Debug)]
struct State {
    upstream: SocketAddr,
    rules: Vec<Rule>,
    /// Requests seen, the key of the error-rate draws.
    requests: u64,
}

/// A gate in front of one component endpoint.
#[derive(Debug, Clone)]
pub struct Gate {
    state: Arc<Mutex<State>>,
    addr: SocketAddr,
    streams: RandomStreams,
}

impl Gate {
    /// Starts a gate relaying to `upstream`, on the current tokio runtime.
    pub async fn start(upstream: SocketAddr, seed: u64) -> std::io::Result<Gate> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let gate = Gate {
            state: Arc::new(Mutex::new(State {
                upstream,
                rules: Vec::new(),
                requests: 0,
            })),
            addr: listener.local_addr()?,
            streams: RandomStreams::new(seed),
        };
        let serving = gate.clone();
        tokio::spawn(async move {
            while let Ok((client, peer)) = listener.accept().await {
                let gate = serving.clone();
                tokio::spawn(async move { gate.relay(client, peer.ip()).await });
            }
        });
        Ok(gate)
    }

    /// Where the lab reaches the gate.
    #[must_use]
    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}", self.addr)).expect("a socket address is a URL")
    }

    /// Where the gate relays to (a container restarted on another port is followed here).
    pub fn retarget(&self, upstream: SocketAddr) {
        self.lock().upstream = upstream;
    }

    /// Adds incident `owner`'s fault for the requests whose first line contains `only`.
    pub fn set(&self, owner: usize, only: Option<&'static str>, fault: Fault) {
        self.lock().rules.push(Rule { owner, only, fault });
    }

    /// Removes incident `owner`'s faults.
    pub fn clear(&self, owner: usize) {
        self.lock().rules.retain(|rule| rule.owner != owner);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fault for a request starting with `head` from `from`, if any.
    fn judge(&self, head: &[u8], from: IpAddr) -> (Option<Fault>, SocketAddr) {
        let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
        let line = String::from_utf8_lossy(&head[..line_end]);
        let mut state = self.lock();
        state.requests += 1;
        let key = state.requests;
        let fault = state.rules.iter().find_map(|rule| {
            if rule.only.is_some_and(|only| !line.contains(only)) {
                return None;
            }
            match rule.fault {
                Fault::BlockAbroad if from != ABROAD => None,
                Fault::Errors(rate) => {
                    let draw = self.streams.substream("gate-errors", key).uniform();
                    (draw < rate).then_some(rule.fault)
                }
                fault => Some(fault),
            }
        });
        (fault, state.upstream)
    }

    async fn relay(&self, client: TcpStream, from: IpAddr) {
        let mut buf = vec![0_u8; 16 * 1024];
        let (mut client_read, client_write) = client.into_split();
        // Shared with the task copying the component's answers back, so the gate can answer a
        // later request on the same connection itself.
        let client_write = Arc::new(tokio::sync::Mutex::new(client_write));
        let mut upstream: Option<(tokio::net::tcp::OwnedWriteHalf, tokio::task::JoinHandle<()>)> =
            None;
        let result = loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break None,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            if starts_request(chunk) {
                let (fault, target) = self.judge(chunk, from);
                match fault {
                    Some(Fault::Refuse) => break None,
                    Some(Fault::Hold) => {
                        // Read and drop until the caller hangs up, as a frozen process would.
                        while matches!(client_read.read(&mut buf).await, Ok(n) if n > 0) {}
                        break None;
                    }
                    Some(Fault::Delay(wait)) => tokio::time::sleep(wait).await,
                    Some(fault @ (Fault::Errors(_) | Fault::BlockAbroad)) => break Some(fault),
                    None => {}
                }
                if upstream.is_none() {
                    let Ok(stream) = TcpStream::connect(target).await else {
                        break None;
                    };
                    let (mut up_read, up_write) = stream.into_split();
                    let back = Arc::clone(&client_write);
                    let copying = tokio::spawn(async move {
                        let mut buf = vec![0_u8; 16 * 1024];
                        while let Ok(n) = up_read.read(&mut buf).await {
                            if n == 0 || back.lock().await.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = back.lock().await.shutdown().await;
                    });
                    upstream = Some((up_write, copying));
                }
            }
            let Some((up, _)) = upstream.as_mut() else {
                break None;
            };
            if up.write_all(chunk).await.is_err() {
                break None;
            }
        };
        if let Some((_, copying)) = upstream.take() {
            // The previous answer is complete (the caller sent a new request after reading it).
            copying.abort();
        }
        if let Some(fault) = result {
            let (status, why) = if fault == Fault::BlockAbroad {
                (
                    "403 Forbidden",
                    "blocked by the DDoS protection: traffic from abroad",
                )
            } else {
                (
                    "503 Service Unavailable",
                    "error injected by the lab's gate",
                )
            };
            let body = format!(
                "{{\"error\":\"temporarily_unavailable\",\"error_description\":\"{why}\"}}"
            );
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let mut write = client_write.lock().await;
            let _ = write.write_all(answer.as_bytes()).await;
            let _ = write.shutdown().await;
        }
    }
}

/// Whether `chunk` is the start of an HTTP request (a method and a space).
fn starts_request(chunk: &[u8]) -> bool {
    const METHODS: [&[u8]; 7] = [
        b"GET ",
        b"POST ",
        b"PUT ",
        b"DELETE ",
        b"HEAD ",
        b"PATCH ",
        b"OPTIONS ",
    ];
    METHODS.iter().any(|m| chunk.starts_with(m))
}
