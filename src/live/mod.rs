//! The live driver: `simulate --live`. A sample of the simulated citizens acts for real against
//! the lab's components; everyone else is resolved by the model's own rules.
//!
//! The driver implements the simulator's [`ActionPort`]: the run calls it synchronously inside
//! the event that triggers an action, and it blocks on the real flow. Each journey is the
//! conformance crate's action that the Gherkin steps call (one implementation of each
//! journey), run on a [`LabWorld`] of the citizen's own. Before each action the lab clock is
//! frozen at the simulated instant, so the components judge the flow on the model's day. What
//! the components answered is the outcome the model reacts to; a refusal, an unreachable
//! component or a timeout is a failure, never an error of the run.
//!
//! Between the model's actions the sampled citizens also log in at their routine need rates
//! ([`PolicyRun::routine_logins`]), so the broker sees their everyday traffic. Those logins do
//! not feed back: the model has no routine logins of its own.
//!
//! The run advances in short stretches (to the next routine login or the next midnight), so
//! it can be paced against the wall clock ([`Speed`]) and stopped between two of them: on
//! Ctrl-C or SIGTERM it ends with what it counted so far, marked incomplete, and the
//! components go away as the stack is dropped.
//!
//! With `--target` ([`target`]) the integrator's own service provider takes one sector's
//! logins, and every wrong acceptance or refusal it makes is recorded by requirement.
//!
//! The scenario's incidents are injected for real as the run crosses their windows
//! ([`incidents`]: gates in front of the components, containers stopped or paused, an attacker
//! at the broker); the model resolves the same incidents for the citizens outside the sample.

mod gate;
mod incidents;
mod journeys;
mod report;
mod routine;
pub mod session;
mod target;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use std::time::{Duration, Instant};

use mitid_components::runtime::RuntimeKind;
use mitid_components::runtime::interrupt::{self, Interrupted};
use mitid_conformance::actions::{ActionError, clock};
use mitid_conformance::setup::SetupError;
use mitid_conformance::world::{Lab, LabWorld};
use mitid_devices::{Span, Timestamp};
use mitid_sim::kernel::SimTime;
use mitid_sim::policy::{
    ActionPort, ActionRequest, Failure, LiveSample, Outcome, PolicyError, PolicyOutcome, PolicyRun,
    PolicyScenario, SampleSize, Sector,
};

pub use report::LiveReport;
pub use routine::BATCH as ROUTINE_BATCH;
pub use target::{TargetReport, TargetSpec};

/// What a live run needs besides the scenario and the seed.
#[derive(Debug, Clone, Copy)]
pub struct LiveOptions {
    /// Where the components run.
    pub runtime: RuntimeKind,
    /// How many citizens act for real.
    pub sample: SampleSize,
    /// How simulated time is paced against the wall clock.
    pub speed: Speed,
}

/// How fast simulated time passes in a live run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as the flows go.
    Max,
    /// This many simulated seconds per wall-clock second (86 400: a day a second). Never
    /// faster than the flows go: a stretch whose flows took longer is not made up for by
    /// skipping the next one's pacing.
    Factor(f64),
}

impl std::str::FromStr for Speed {
    type Err = String;

    fn from_str(text: &str) -> Result<Speed, String> {
        if text == "max" {
            return Ok(Speed::Max);
        }
        match text.parse::<f64>() {
            Ok(factor) if factor.is_finite() && factor > 0.0 => Ok(Speed::Factor(factor)),
            _ => Err(format!(
                "`{text}` is neither `max` nor a positive number of simulated seconds per second"
            )),
        }
    }
}

/// Keeps simulated time from running ahead of the wall clock times the factor.
struct Pacer {
    speed: Speed,
    started: Instant,
}

impl Pacer {
    /// Waits until the wall clock has caught up with simulated instant `at`; `Err` as soon as
    /// the process is interrupted while waiting.
    fn wait_for(&self, at: SimTime) -> Result<(), Interrupted> {
        let Speed::Factor(factor) = self.speed else {
            return interrupt::check();
        };
        let due = Duration::from_secs_f64(at.as_millis() as f64 / 1000.0 / factor);
        loop {
            interrupt::check()?;
            let Some(left) = due
                .checked_sub(self.started.elapsed())
                .filter(|d| !d.is_zero())
            else {
                return Ok(());
            };
            // In short naps, so Ctrl-C is heard within a tenth of a second.
            std::thread::sleep(left.min(Duration::from_millis(100)));
        }
    }
}

/// Why a live run could not run (a failed flow is not one of these: it is an outcome).
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The model refused the scenario or a live flag (the message names the field or flag).
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The lab's components did not start.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// No async runtime for the flows.
    #[error("cannot start the runtime the live flows run on: {0}")]
    Runtime(#[from] std::io::Error),
    /// The gates the incidents are injected through did not start.
    #[error("cannot open the gates in front of the components for the incidents: {0}")]
    Gates(std::io::Error),
}

/// A live run: the model's outcome and what the components did, or (stopped by a signal) what
/// they did until then.
pub struct LiveRun {
    /// `None` when the run was interrupted: the model's figures of a run cut short would read
    /// as a finished run's.
    pub outcome: Option<PolicyOutcome>,
    pub report: LiveReport,
    /// The signal that stopped the run before its end.
    pub interrupted: Option<Interrupted>,
    /// Wall time of the simulation itself (the components' start and stop excluded).
    pub driving: Duration,
}

/// Runs `scenario` with `seed`, the sampled citizens' actions as real flows against the
/// components started for the run (stopped when it ends). `progress` gets the fraction of
/// simulated time done.
pub fn run(
    scenario: &PolicyScenario,
    seed: u64,
    options: LiveOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<LiveRun, LiveError> {
    run_with_target(scenario, seed, options, None, progress)
}

/// [`run`], with the integrator's service of `target` (if any) as its sector's service.
pub fn run_with_target(
    scenario: &PolicyScenario,
    seed: u64,
    options: LiveOptions,
    target: Option<&TargetSpec>,
    progress: &mut dyn FnMut(f64),
) -> Result<LiveRun, LiveError> {
    // From here a first Ctrl-C only asks the run to stop (between two stretches), so the
    // components are stopped and the partial report written on the way out.
    interrupt::install();
    let runtime = mitid_conformance::suite::tokio_runtime()?;
    let (reference, injector, lab) = session::start_lab(scenario, seed, options, &runtime)?;
    let target = target
        .map(|spec| {
            runtime.block_on(target::TargetService::start(
                spec,
                scenario.population.start,
                &reference.lab.run_tag,
            ))
        })
        .transpose()?;
    let run = run_against(
        lab,
        runtime,
        scenario,
        seed,
        options,
        (injector, target),
        progress,
    );
    // The components stop only once the run is over.
    drop(reference);
    run
}

/// [`run`] against the components `lab` reaches, the flows on `runtime`.
fn run_against(
    lab: Arc<Lab>,
    runtime: tokio::runtime::Runtime,
    scenario: &PolicyScenario,
    seed: u64,
    options: LiveOptions,
    (injector, target): (Option<incidents::Injector>, Option<target::TargetService>),
    progress: &mut dyn FnMut(f64),
) -> Result<LiveRun, LiveError> {
    let mut driver = Driver::new(lab, scenario);
    driver.injector = injector;
    driver.target = target;
    let live = Rc::new(Live {
        runtime,
        state: RefCell::new(driver),
    });
    let mut run = PolicyRun::with_port(scenario, seed, Port(Rc::clone(&live)))?;
    let sample = run.live_sample(options.sample)?;
    live.state.borrow_mut().sample = Some(sample.clone());

    let days = run.calendar().days;
    let end = SimTime::from_day(days);
    let mut routine = RoutineQueue::new(&run, &sample);
    let pacer = Pacer {
        speed: options.speed,
        started: Instant::now(),
    };
    let mut stopped = None;
    let mut next_midnight = 1;
    loop {
        // The next stretch ends at the next routine login or midnight, whichever comes first:
        // the model's own actions happen inside stretches, at most a day long.
        let midnight = SimTime::from_day(next_midnight.min(days));
        let login = routine.peek_before(midnight.min(end));
        let at = login.unwrap_or(midnight);
        if let Err(signal) = pacer.wait_for(at) {
            stopped = Some(signal);
            break;
        }
        run.advance_to(at)?;
        progress(at.as_millis() as f64 / end.as_millis().max(1) as f64);
        if login.is_none() {
            // Midnight: the day's routine logins are done before the next day begins, and
            // an incident window beginning or ending here starts or stops even when no flow
            // falls in it.
            live.midnight(at);
        }
        if login.is_some() {
            if let Some((at, citizen, sector)) = routine.next_before(end)
                && let Some(view) = run.citizen(citizen)
            {
                live.routine_login(citizen, &view, at, sector);
            }
        } else if next_midnight >= days {
            break;
        } else {
            next_midnight += 1;
        }
    }
    // Routine logins still queued (the last day, or a run stopped between two stretches).
    live.midnight(run.now());
    let tally = run.actions();
    let run_now = run.now();
    let outcome = if stopped.is_some() {
        None
    } else {
        let outcome = run.finish()?;
        progress(1.0);
        Some(outcome)
    };
    // The clock goes back to the wall clock, as after a Gherkin scenario that moved it (the
    // stack stops right after; this matters for a stack that outlives the run).
    let _ = live
        .runtime
        .block_on(clock::release(&live.state.borrow().lab));
    let mut report = {
        let mut driver = live.state.borrow_mut();
        let mut report = driver.tally.report(
            options.runtime,
            scenario,
            &sample,
            tally.resolved,
            tally.diverged,
        );
        if let Some(injector) = driver.injector.take() {
            // Dropped here: whatever is still stopped or paused is started again.
            report.incidents = injector.records();
        }
        report.target = driver.target.as_ref().map(target::TargetService::report);
        report
    };
    if stopped.is_some() {
        report.mark_incomplete(live.state.borrow().instant(run_now).to_string());
    }
    Ok(LiveRun {
        outcome,
        report,
        interrupted: stopped,
        driving: pacer.started.elapsed(),
    })
}

/// The sampled citizens' routine logins, merged in time order.
struct RoutineQueue {
    streams: Vec<(u32, mitid_sim::policy::RoutineLogins)>,
    heads: BTreeMap<(SimTime, u32), Sector>,
}

impl RoutineQueue {
    fn new(run: &PolicyRun<'_>, sample: &LiveSample) -> RoutineQueue {
        let mut queue = RoutineQueue {
            streams: Vec::new(),
            heads: BTreeMap::new(),
        };
        for &citizen in sample.indices() {
            if let Some(mut logins) = run.routine_logins(citizen, SimTime::EPOCH) {
                if let Some((at, sector)) = logins.next() {
                    queue.heads.insert((at, citizen), sector);
                }
                queue.streams.push((citizen, logins));
            }
        }
        queue
    }

    /// When the earliest login is, if before `end`.
    fn peek_before(&self, end: SimTime) -> Option<SimTime> {
        let (&(at, _), _) = self.heads.iter().next()?;
        (at < end).then_some(at)
    }

    /// The earliest login before `end`, and the citizen's next one queued in its place.
    fn next_before(&mut self, end: SimTime) -> Option<(SimTime, u32, Sector)> {
        let (&(at, citizen), &sector) = self.heads.iter().next()?;
        if at >= end {
            return None;
        }
        self.heads.remove(&(at, citizen));
        if let Some((_, stream)) = self.streams.iter_mut().find(|(c, _)| *c == citizen)
            && let Some((next, next_sector)) = stream.next()
        {
            self.heads.insert((next, citizen), next_sector);
        }
        Some((at, citizen, sector))
    }
}

/// The driver and the runtime its flows run on. The run owns a [`Port`] to it and the loop
/// above holds another (for routine logins between events): single-threaded, as the run is.
struct Live {
    runtime: tokio::runtime::Runtime,
    state: RefCell<Driver>,
}

impl Live {
    /// Performs the queued routine logins, then begins or ends the incidents due at `at`.
    fn midnight(&self, at: SimTime) {
        let mut driver = self.state.borrow_mut();
        self.runtime.block_on(async {
            driver.flush_routine_logins().await;
            driver.sync_incidents(at).await;
        });
    }

    /// Queues a routine login; a full queue is performed at once (see [`routine`]).
    fn routine_login(
        &self,
        citizen: u32,
        view: &mitid_sim::policy::CitizenView,
        at: SimTime,
        sector: Sector,
    ) {
        let mut driver = self.state.borrow_mut();
        if driver.queue_routine_login(citizen, view, at, sector) {
            self.runtime.block_on(driver.flush_routine_logins());
        }
    }
}

struct Port(Rc<Live>);

impl ActionPort for Port {
    fn resolve(&mut self, request: &ActionRequest) -> Outcome {
        let live = &*self.0;
        let mut driver = live.state.borrow_mut();
        if !driver
            .sample
            .as_ref()
            .is_some_and(|s| s.contains(request.citizen))
        {
            driver.tally.by_model += 1;
            return request.expected;
        }
        // The citizen's routine logins queued before this action are done first: the action
        // may change what the citizen holds in the lab.
        live.runtime.block_on(async {
            driver.flush_routine_logins_of(request.citizen).await;
            driver.perform(request).await
        })
    }
}

/// A sampled citizen as the lab knows them: their own World (browser, devices, notes).
struct LabCitizen {
    world: LabWorld,
    alias: String,
}

/// The live driver's state.
struct Driver {
    lab: Arc<Lab>,
    /// For what is no citizen's: the broker's clients by sector.
    control: LabWorld,
    clients: HashMap<Sector, serde_json::Value>,
    citizens: HashMap<u32, LabCitizen>,
    /// Set once the run exists (the sample is drawn from it), before its first event.
    sample: Option<LiveSample>,
    start: Timestamp,
    tally: report::Tally,
    /// The scenario's incidents, when it has any.
    injector: Option<incidents::Injector>,
    /// Routine logins waiting for their batch ([`routine`]).
    queued: Vec<routine::QueuedLogin>,
    /// The integrator's service of `--target`, and its routine logins waiting.
    target: Option<target::TargetService>,
    queued_target: Vec<routine::QueuedLogin>,
}

impl Driver {
    fn new(lab: Arc<Lab>, scenario: &PolicyScenario) -> Driver {
        let start = scenario.population.start;
        Driver {
            control: LabWorld::for_lab(Arc::clone(&lab)),
            lab,
            clients: HashMap::new(),
            citizens: HashMap::new(),
            sample: None,
            start: Timestamp::from_ymd(
                chrono::Datelike::year(&start),
                chrono::Datelike::month(&start),
                chrono::Datelike::day(&start),
            ),
            tally: report::Tally::default(),
            injector: None,
            queued: Vec::new(),
            target: None,
            queued_target: Vec::new(),
        }
    }

    /// Begins and ends the incidents for simulated instant `at`. A container that came back
    /// from a stop has lost its state: the citizens and clients are registered again on their
    /// next flow.
    async fn sync_incidents(&mut self, at: SimTime) {
        let Some(injector) = self.injector.as_mut() else {
            return;
        };
        injector.sync(at).await;
        if std::mem::take(&mut injector.state_lost) {
            self.citizens.clear();
            self.clients.clear();
        }
    }

    /// The simulated instant `at` on the lab clock.
    fn instant(&self, at: SimTime) -> Timestamp {
        self.start.plus(Span::from_millis(at.as_millis()))
    }

    /// Freezes the lab clock at `at`: the one clock of the model and the components.
    async fn set_clock(&self, at: SimTime) -> Result<(), ActionError> {
        clock::freeze_at(&self.lab, self.instant(at)).await
    }
}

/// The failure the model sees for an action's error: the other side said no, could not be
/// reached or answered with an error, or did not answer in time.
fn failure_of(err: &ActionError) -> Failure {
    match err {
        ActionError::Unreachable { reason, .. }
            if reason.contains("no answer within") || reason.contains("timed out") =>
        {
            Failure::TimedOut
        }
        ActionError::Unreachable { .. }
        | ActionError::Malformed { .. }
        | ActionError::Unavailable(_) => Failure::Unavailable,
        ActionError::Refused { status, .. } if *status >= 500 => Failure::Unavailable,
        ActionError::Refused { .. }
        | ActionError::Citizen(_)
        | ActionError::Device(_)
        | ActionError::Login(_) => Failure::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mitid_sim::scenario::{self, Overrides, Scenario};

    pub(super) fn live_demo() -> PolicyScenario {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/live-demo.yaml");
        let text = std::fs::read_to_string(file).expect("the live demo scenario");
        match scenario::load(file, &text, &Overrides::default()).expect("it loads") {
            Scenario::Policy(policy) => *policy,
            Scenario::Queue(_) => panic!("the live demo is a policy scenario"),
        }
    }

    #[test]
    fn a_support_line_that_does_not_answer_fails_its_calls_and_the_model_reacts() {
        let scenario = live_demo();
        let runtime = mitid_conformance::suite::tokio_runtime().expect("a runtime");
        let reference =
            mitid_conformance::setup::reference(&[], RuntimeKind::Embedded, "livefault", &runtime)
                .expect("the embedded stack starts");
        // The lab reaches every component but the support line, which it looks for where
        // nothing listens (a port just freed).
        let dead = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port");
        let mut endpoints = reference.lab.endpoints.clone();
        endpoints.support = Some(format!("http://{dead}/").parse().expect("a URL"));
        let mut lab = Lab::new(reference.lab.sp.clone(), endpoints, "livefault".into());
        lab.shared_clock = true;
        let options = LiveOptions {
            runtime: RuntimeKind::Embedded,
            sample: SampleSize::Citizens(100),
            speed: Speed::Max,
        };
        let live = run_against(
            Arc::new(lab),
            runtime,
            &scenario,
            scenario.seed,
            options,
            (None, None),
            &mut |_| {},
        )
        .expect("the run goes on without the support line");
        let report = &live.report;
        let calls = report.by_journey["support_call"];
        assert!(calls.performed > 0, "{report:#?}");
        assert_eq!(calls.failed, calls.performed, "{report:#?}");
        assert_eq!(report.by_component["support"], calls);
        assert!(report.failures_by_cause["unavailable"] >= calls.failed);
        // The other components went on answering.
        assert_eq!(
            report.by_component["citizen-service"].failed, 0,
            "{report:#?}"
        );
        assert!(report.model.diverged_from_model_rules > 0, "{report:#?}");

        let pure = mitid_sim::policy::run_policy(&scenario, scenario.seed, &mut |_| {})
            .expect("the pure run");
        let outcome = live.outcome.as_ref().expect("the run was not interrupted");
        assert_ne!(
            outcome.totals, pure.totals,
            "the failed calls left the model's totals as its own rules made them"
        );
    }
}
