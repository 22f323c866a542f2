//! The scenario's incidents, really injected while a live run crosses their windows.
//!
//! Every component endpoint the lab's clients reach sits behind a [`Gate`] (the lab's routes
//! point at it), so a window can begin and end at any simulated instant:
//!
//! | kind | embedded | containers |
//! |---|---|---|
//! | `outage` (`idp`, `citizen_service`, `support`) | the gate refuses (down) or holds (paused) the calls | the container is stopped (down) or paused; started or unpaused at the end when `restart` |
//! | `outage` of `nemid` | the gate refuses or holds the broker's NemID requests | the same (NemID lives in the broker) |
//! | `latency` | the gate delays every call | the same |
//! | `error_rate` | the gate answers 503 to that share of the calls | the same |
//! | `cpr_lockout_attack` | before each flow of a victim, an attacker sends the broker login requests with the victim's identity until its attempt limit locks the victim out | the same |
//! | `geo_block` | the gate in front of the broker answers 403 to the citizens abroad (their browsers use [`gate::ABROAD`] as source address) | the same |
//!
//! A stopped container comes back without its in-memory state (no backup): the driver then
//! registers its citizens and clients again on their next flow. Whatever is still stopped or
//! paused when the injector is dropped (the run ended, Ctrl-C) is started again, so the stack's
//! own teardown finds running containers to remove.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use mitid_components::runtime::containers::{CONTROL_PORT, PUBLIC_PORT, container_name};
use mitid_components::runtime::{Component, Endpoint, Stack};
use mitid_sim::kernel::SimTime;
use mitid_sim::policy::calendar::day_index;
use mitid_sim::policy::incidents::lockout_victim;
use mitid_sim::policy::population::Citizen;
use mitid_sim::policy::{Incident, IncidentKind, IncidentTarget, OutageMode, PolicyScenario};
use serde::Serialize;
use url::Url;

use super::gate::{self, Fault, Gate};

/// What a container outage did to a container, so it can be undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    Paused,
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Pending,
    Active,
    Over,
}

struct Plan {
    incident: Incident,
    from: SimTime,
    until: SimTime,
    phase: Phase,
    /// The container it stopped or paused, if any.
    held: Option<(Component, Held)>,
    record: IncidentRecord,
}

/// One incident as `live.json` shows it: its window and what was done to the components.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentRecord {
    pub name: String,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<&'static str>,
    /// The window, as the scenario gives it (first day, first day back to normal).
    pub from: chrono::NaiveDate,
    pub until: chrono::NaiveDate,
    /// The window in day indices of the run (for the charts), clamped to the run.
    pub from_day: u32,
    pub until_day: u32,
    /// How it was injected, one line per step taken.
    pub injected: Vec<String>,
    /// Flows of the window that the incident touched and that failed.
    pub flows_failed: u64,
}

/// The incidents of a live run and the gates they act through.
pub struct Injector {
    seed: u64,
    plans: Vec<Plan>,
    gates: BTreeMap<(Component, Endpoint), Gate>,
    /// Each gate by the host URL of the endpoint it stands in front of.
    by_host: Vec<(Url, Url)>,
    /// The run id of a container stack (containers are paused and stopped there).
    containers: Option<String>,
    /// Set when a restarted container lost its state: the driver registers its citizens again.
    pub state_lost: bool,
}

impl Injector {
    /// Gates in front of every endpoint of `stack`, and the lab's routes through them. Must run
    /// on the tokio runtime the flows run on (the gates serve on it).
    pub async fn start(
        stack: &Stack,
        routes: &[(Url, Url)],
        scenario: &PolicyScenario,
        seed: u64,
    ) -> std::io::Result<Injector> {
        let mut gates = BTreeMap::new();
        let mut through_gates = Vec::new();
        let mut by_host = Vec::new();
        for (component, endpoint, internal) in stack.internal_urls().iter() {
            let host = stack
                .host_urls()
                .get(component, endpoint)
                .unwrap_or(internal);
            let Some(upstream) = socket_of(host) else {
                continue;
            };
            let gate = Gate::start(upstream, seed).await?;
            if let Ok(host) = Url::parse(host) {
                by_host.push((host, gate.url()));
            }
            if let Ok(internal) = Url::parse(internal) {
                through_gates.push((internal, gate.url()));
            }
            gates.insert((component, endpoint), gate);
        }
        // The lab's clients built from here on go through the gates; the rest of the routes
        // (none today) are kept.
        let mut all: Vec<(Url, Url)> = routes
            .iter()
            .filter(|(internal, _)| {
                !through_gates
                    .iter()
                    .any(|(g, _)| g.origin() == internal.origin())
            })
            .cloned()
            .collect();
        all.extend(through_gates);
        mitid_conformance::browser::set_routes(&all);
        let start = scenario.population.start;
        let days = day_index(start, scenario.population.end) + 1;
        let plans = scenario
            .incidents
            .iter()
            .map(|incident| Plan {
                from: SimTime::from_day(day_index(start, incident.from)),
                until: SimTime::from_day(day_index(start, incident.until)),
                phase: Phase::Pending,
                held: None,
                record: IncidentRecord {
                    name: incident.name.clone(),
                    kind: mitid_sim::policy::scenario::kind_name(incident.kind),
                    component: incident.component.map(IncidentTarget::name),
                    from: incident.from,
                    until: incident.until,
                    from_day: day_index(start, incident.from).min(days),
                    until_day: day_index(start, incident.until).min(days),
                    injected: Vec::new(),
                    flows_failed: 0,
                },
                incident: incident.clone(),
            })
            .collect();
        Ok(Injector {
            seed,
            plans,
            gates,
            by_host,
            containers: (stack.kind() == mitid_components::runtime::RuntimeKind::Containers)
                .then(|| stack.run_id().to_owned()),
            state_lost: false,
        })
    }

    /// `url` through the gate in front of its endpoint when it names an endpoint by its host
    /// address (the lab's own control URL does in containers; routes only map the names the
    /// components use): a restarted container's new host port is then the gate's to follow.
    pub fn gated(&self, url: &Url) -> Url {
        let Some((_, gate)) = self
            .by_host
            .iter()
            .find(|(host, _)| host.origin() == url.origin())
        else {
            return url.clone();
        };
        let mut through = url.clone();
        // A gate's URL is `http://127.0.0.1:port`: host and port always set.
        let _ = through.set_host(gate.host_str());
        let _ = through.set_port(gate.port());
        through
    }

    /// Begins the incidents whose window has begun by `at` and ends those whose window is over.
    pub async fn sync(&mut self, at: SimTime) {
        for i in 0..self.plans.len() {
            let plan = &self.plans[i];
            if plan.phase == Phase::Pending && at >= plan.from {
                if at < plan.until {
                    self.begin(i).await;
                    self.plans[i].phase = Phase::Active;
                } else {
                    // The run crossed the whole window between two flows: nothing to inject.
                    self.plans[i].phase = Phase::Over;
                }
            }
            if self.plans[i].phase == Phase::Active && at >= self.plans[i].until {
                self.end(i).await;
                self.plans[i].phase = Phase::Over;
            }
        }
    }

    /// Whether citizen `c` (record `z`) is a victim of a CPR lock-out attack under way.
    pub fn under_attack(&self, c: u32, z: &Citizen) -> bool {
        self.plans.iter().enumerate().any(|(i, plan)| {
            plan.phase == Phase::Active && lockout_victim(self.seed, i, &plan.incident, c, z)
        })
    }

    /// Counts a failed flow against the incidents under way that touch `targets`.
    pub fn failed(&mut self, targets: &[IncidentTarget], at: SimTime) {
        for plan in &mut self.plans {
            let touches = match plan.incident.component {
                Some(target) => targets.contains(&target),
                None => targets.contains(&IncidentTarget::Idp),
            };
            if plan.phase == Phase::Active && at >= plan.from && at < plan.until && touches {
                plan.record.flows_failed += 1;
            }
        }
    }

    /// The incidents as `live.json` shows them.
    pub fn records(&self) -> Vec<IncidentRecord> {
        self.plans.iter().map(|p| p.record.clone()).collect()
    }

    /// The gates of `target`'s component, with the part of the traffic that is `target`'s.
    fn gates_of(&self, target: IncidentTarget) -> Vec<(Gate, Option<&'static str>)> {
        let (component, only) = match target {
            IncidentTarget::Idp => (Component::Idp, None),
            // NemID lives in the broker: its pages, its key app and the headless NemID logins
            // (`login_hint=test:<user>:nemid_key_card`) all carry the word.
            IncidentTarget::Nemid => (Component::Idp, Some("nemid")),
            IncidentTarget::CitizenService => (Component::CitizenService, None),
            IncidentTarget::Support => (Component::Support, None),
        };
        self.gates
            .iter()
            .filter(|((c, _), _)| *c == component)
            .map(|(_, gate)| (gate.clone(), only))
            .collect()
    }

    async fn begin(&mut self, i: usize) {
        let incident = self.plans[i].incident.clone();
        let mut steps = Vec::new();
        match incident.kind {
            IncidentKind::Outage => {
                let target = incident.component.unwrap_or(IncidentTarget::Idp);
                let mode = incident.mode.unwrap_or_default();
                let container = match (&self.containers, target) {
                    (Some(run_id), IncidentTarget::Idp) => Some((run_id.clone(), Component::Idp)),
                    (Some(run_id), IncidentTarget::CitizenService) => {
                        Some((run_id.clone(), Component::CitizenService))
                    }
                    (Some(run_id), IncidentTarget::Support) => {
                        Some((run_id.clone(), Component::Support))
                    }
                    _ => None,
                };
                if let Some((run_id, component)) = container {
                    let name = container_name(&run_id, component);
                    let (verb, held) = match mode {
                        OutageMode::Down => ("stop", Held::Stopped),
                        OutageMode::Paused => ("pause", Held::Paused),
                    };
                    steps.push(match docker(&[verb, name.as_str()]).await {
                        Ok(()) => {
                            self.plans[i].held = Some((component, held));
                            format!("docker {verb} {name}")
                        }
                        Err(err) => format!("docker {verb} {name} failed: {err}"),
                    });
                } else {
                    let fault = match mode {
                        OutageMode::Down => Fault::Refuse,
                        OutageMode::Paused => Fault::Hold,
                    };
                    for (gate, only) in self.gates_of(target) {
                        gate.set(i, only, fault);
                        steps.push(format!("gate {}: {fault:?}{}", gate.url(), filter(only)));
                    }
                }
            }
            IncidentKind::Latency | IncidentKind::ErrorRate => {
                let target = incident.component.unwrap_or(IncidentTarget::Idp);
                let fault = if incident.kind == IncidentKind::Latency {
                    Fault::Delay(Duration::from_millis(incident.latency_ms.unwrap_or(0)))
                } else {
                    Fault::Errors(incident.error_rate.unwrap_or(0.0))
                };
                for (gate, only) in self.gates_of(target) {
                    gate.set(i, only, fault);
                    steps.push(format!("gate {}: {fault:?}{}", gate.url(), filter(only)));
                }
            }
            IncidentKind::GeoBlock => {
                if let Some(gate) = self.gates.get(&(Component::Idp, Endpoint::Public)) {
                    gate.set(i, None, Fault::BlockAbroad);
                    steps.push(format!(
                        "gate {}: 403 to {} (citizens abroad)",
                        gate.url(),
                        gate::ABROAD
                    ));
                }
            }
            IncidentKind::CprLockoutAttack => steps.push(
                "an attacker exhausts each victim's login attempts at the broker before their flows"
                    .to_owned(),
            ),
        }
        self.plans[i].record.injected.extend(steps);
    }

    async fn end(&mut self, i: usize) {
        for gate in self.gates.values() {
            gate.clear(i);
        }
        let restart = self.plans[i].incident.restarts();
        if let Some((component, held)) = self.plans[i].held {
            if held == Held::Stopped && !restart {
                self.plans[i]
                    .record
                    .injected
                    .push("left stopped: the scenario does not restart it".to_owned());
                return;
            }
            self.plans[i].held = None;
            let step = self.release(component, held).await;
            self.plans[i].record.injected.push(step);
        } else {
            self.plans[i]
                .record
                .injected
                .push("gate cleared".to_owned());
        }
    }

    /// Starts or unpauses `component`'s container again and points its gates at it.
    async fn release(&mut self, component: Component, held: Held) -> String {
        let Some(run_id) = self.containers.clone() else {
            return String::new();
        };
        let name = container_name(&run_id, component);
        let verb = match held {
            Held::Paused => "unpause",
            Held::Stopped => "start",
        };
        if let Err(err) = docker(&[verb, name.as_str()]).await {
            return format!("docker {verb} {name} failed: {err}");
        }
        if held == Held::Stopped {
            // A started container gets new host ports, and comes back empty.
            self.state_lost = true;
            for ((c, endpoint), gate) in &self.gates {
                if *c != component {
                    continue;
                }
                let port = match endpoint {
                    Endpoint::Public => PUBLIC_PORT,
                    Endpoint::Control => CONTROL_PORT,
                };
                if let Some(addr) = mapped_port(&name, port).await {
                    gate.retarget(addr);
                }
            }
            wait_healthy(&self.gates, component).await;
        }
        format!("docker {verb} {name}")
    }
}

impl Drop for Injector {
    fn drop(&mut self) {
        // A paused or stopped container would outlive the stack's teardown (or block it).
        let Some(run_id) = self.containers.clone() else {
            return;
        };
        for plan in &self.plans {
            if let Some((component, held)) = plan.held {
                let verb = match held {
                    Held::Paused => "unpause",
                    Held::Stopped => "start",
                };
                let _ = std::process::Command::new("docker")
                    .args([verb, &container_name(&run_id, component)])
                    .output();
            }
        }
    }
}

fn filter(only: Option<&str>) -> String {
    only.map(|o| format!(" (requests naming `{o}`)"))
        .unwrap_or_default()
}

fn socket_of(url: &str) -> Option<SocketAddr> {
    let url = Url::parse(url).ok()?;
    url.socket_addrs(|| None).ok()?.into_iter().next()
}

/// Runs `docker ARGS` off the runtime's threads.
async fn docker(args: &[&str]) -> Result<(), String> {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new("docker")
            .args(&args)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Where the host reaches `port` of container `name` (`docker port`).
async fn mapped_port(name: &str, port: u16) -> Option<SocketAddr> {
    let name = name.to_owned();
    let text = tokio::task::spawn_blocking(move || {
        std::process::Command::new("docker")
            .args(["port", &name, &format!("{port}/tcp")])
            .output()
            .ok()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
    })
    .await
    .ok()??;
    let mapped: u16 = text
        .lines()
        .next()?
        .rsplit(':')
        .next()?
        .trim()
        .parse()
        .ok()?;
    Some(SocketAddr::from(([127, 0, 0, 1], mapped)))
}

/// Waits (at most half a minute) until `component` answers `/health` through its gate again.
async fn wait_healthy(gates: &BTreeMap<(Component, Endpoint), Gate>, component: Component) {
    let Some(gate) = gates.get(&(component, Endpoint::Public)) else {
        return;
    };
    let Ok(health) = gate.url().join("/health") else {
        return;
    };
    let client = reqwest::Client::new();
    for _ in 0..150 {
        if client
            .get(health.clone())
            .timeout(Duration::from_secs(1))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
