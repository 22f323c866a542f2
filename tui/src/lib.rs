//! # mitid-tui — the lab's terminal dashboard (`mitid-lab tui`)
//!
//! Planners watch a policy run unfold day by day; integrators run `certify` and read the
//! results as a tree by requirement. Keyboard first, in the spirit of k9s and lazygit.
//!
//! Tour:
//! - [`run`]: the simulator's steppable `PolicyRun` as the simulation view drives it
//!   ([`run::SteppableRun`], [`run::ScenarioRun`]).
//! - [`live`]: the live mode's figures (`--live`): the flows the lab's components performed
//!   and failed for the sampled citizens, beside the model's figures. The live run itself is
//!   the binary's ([`run_with`] takes how to open it).
//! - [`keys`]: the one key registry behind the bindings, the footer and the `?` help.
//! - [`app`]: the model and its update function (no I/O: effects go back to the runtime).
//! - [`flows`]: the Flows (trainer) view's model — a journey recorded by the conformance crate,
//!   read as a sequence of messages, the citizen's device, tokens, narration in English and
//!   Danish, and presenter mode's redaction.
//! - [`view`]: drawing, from the model only.
//! - [`script`]: demo scripts that replay a session, and a session saved as one.
//! - [`export`]: what the dashboard writes (the screen, a saved session), redacted in presenter
//!   mode.
//! - `terminal`: the tui-realm shell (terminal, event listener, ticks) that runs it all.
//!
//! The dashboard computes nothing the simulator or the conformance crate already gives: the
//! figures are the run's [`mitid_sim::policy::DayRow`]s, the verdicts are the
//! [`mitid_conformance::outcome::SuiteReport`]'s.

pub mod app;
pub mod export;
pub mod flows;
pub mod keys;
pub mod live;
pub mod run;
pub mod script;
mod terminal;
pub mod view;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use mitid_conformance::outcome::SuiteReport;
use mitid_sim::policy::PolicyScenario;
use mitid_sim::scenario::{self, Overrides, Scenario};
use tuirealm::ratatui::layout::Size;
use tuirealm::terminal::{TerminalAdapter as _, TestTerminalAdapter};
use tuirealm::testing::buffer_to_string;

use crate::app::{App, Effect, Msg};
use crate::run::{ScenarioRun, SteppableRun};
use crate::script::{Event, Script};

/// The scenario the dashboard opens when none is named.
pub const DEFAULT_SCENARIO: &str = "scenarios/demo-100k.yaml";

/// What `mitid-lab tui` was asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The policy scenario (default [`DEFAULT_SCENARIO`], or the script's).
    pub scenario: Option<PathBuf>,
    pub seed: Option<u64>,
    pub population: Option<u32>,
    /// `--set FIELD=VALUE` overrides, as `simulate` takes them.
    pub sets: Vec<String>,
    /// An earlier certify run's folder (its `report.json` is shown in the conformance view).
    pub report: Option<PathBuf>,
    /// A target file (`certify init` writes one): the conformance view's target.
    pub target_config: Option<PathBuf>,
    /// A demo script to replay.
    pub script: Option<PathBuf>,
    /// The Flows view's narration language.
    pub lang: flows::Lang,
    /// Start in presenter mode.
    pub presenter: bool,
}

/// Why the dashboard could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error(
        "mitid-lab tui needs an interactive terminal (stdin and stdout a TTY); without one use `mitid-lab simulate SCENARIO` for the figures or `mitid-lab certify --target reference` for conformance"
    )]
    NoTerminal,
    /// A file the user named is wrong: the message names file, line and field.
    #[error("{0}")]
    BadInput(String),
    #[error("the policy run failed: {0}")]
    Simulation(#[from] mitid_sim::policy::PolicyError),
    /// The live mode's components or driver could not start.
    #[error("the live run could not start: {0}")]
    Live(Box<dyn std::error::Error + Send + Sync>),
    #[error("the terminal failed: {0}")]
    Terminal(String),
    /// SIGTERM or SIGINT from outside: the terminal was restored first.
    #[error(transparent)]
    Interrupted(#[from] mitid_components::runtime::interrupt::Interrupted),
}

impl TuiError {
    /// Whether the user's input is at fault (exit code 2), rather than the lab.
    #[must_use]
    pub fn is_bad_input(&self) -> bool {
        matches!(self, TuiError::NoTerminal | TuiError::BadInput(_))
    }
}

/// How the dashboard's main run is opened from its loaded scenario and seed, before its first
/// day: the model alone ([`model_run`]), or a live run the binary drives. `say` is told what
/// takes time.
pub type OpenRun<'a> = dyn FnMut(PolicyScenario, u64, &mut dyn FnMut(&str)) -> Result<Box<dyn SteppableRun>, TuiError>
    + 'a;

/// The model's own run of `policy` with `seed`: [`OpenRun`] without live mode.
pub fn model_run(
    policy: PolicyScenario,
    seed: u64,
    _say: &mut dyn FnMut(&str),
) -> Result<Box<dyn SteppableRun>, TuiError> {
    Ok(Box::new(ScenarioRun::new(policy, seed)?))
}

/// Starts the dashboard on this process's terminal and runs it until the user quits.
pub fn run(options: &Options) -> Result<(), TuiError> {
    run_with(options, &mut model_run)
}

/// [`run`], its main run opened by `open` (the binary's live mode).
pub fn run_with(options: &Options, open: &mut OpenRun<'_>) -> Result<(), TuiError> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(TuiError::NoTerminal);
    }
    let (app, events) = prepare_with(options, &mut |line| eprintln!("{line}"), open)?;
    terminal::run(app, events)
}

/// Loads everything the dashboard shows, before any terminal is touched: the script, the
/// scenario (its run opened before the first day), an earlier report. `say` is told what
/// takes time.
pub fn prepare(
    options: &Options,
    say: &mut dyn FnMut(&str),
) -> Result<(App, Vec<Event>), TuiError> {
    prepare_with(options, say, &mut model_run)
}

/// [`prepare`], the main run opened by `open`.
pub fn prepare_with(
    options: &Options,
    say: &mut dyn FnMut(&str),
    open: &mut OpenRun<'_>,
) -> Result<(App, Vec<Event>), TuiError> {
    let script = match &options.script {
        Some(path) => {
            let file = path.display().to_string();
            let text = read(path)?;
            Some(Script::parse(&file, &text).map_err(|err| TuiError::BadInput(err.to_string()))?)
        }
        None => None,
    };
    let events = match &script {
        Some(script) => script
            .events()
            .map_err(|(field, message)| TuiError::BadInput(format!("{field}: {message}")))?,
        None => Vec::new(),
    };
    let scenario_path = options
        .scenario
        .clone()
        .or_else(|| script.as_ref().map(|s| s.scenario.clone()))
        // The default is found from any directory of a checkout, as certify finds its features.
        .unwrap_or_else(|| mitid_conformance::suite::project_path(DEFAULT_SCENARIO));
    let overrides = Overrides {
        sets: options.sets.clone(),
        population: options
            .population
            .or(script.as_ref().and_then(|s| s.population)),
        seed: options.seed.or(script.as_ref().and_then(|s| s.seed)),
    };
    let policy = load_policy(&scenario_path, &overrides)?;
    say(&format!(
        "synthesising {} ({} citizens, seed {})…",
        policy.name, policy.population.size, policy.seed
    ));
    let seed = policy.seed;
    let run = open(policy, seed, say).map_err(|err| match err {
        TuiError::Simulation(err) => run_error(&scenario_path.display().to_string(), err),
        other => other,
    })?;
    let mut app = App::new(run, flaw_names());
    app.source = Some(app::Source {
        path: scenario_path,
        overrides,
    });
    app.lang = options.lang;
    app.presenter = options.presenter;
    // The trainer's journeys; a broken flows file is the checkout's trouble, said in the view
    // rather than keeping the planner's and integrator's views from opening.
    match mitid_conformance::journey::journeys(&mitid_conformance::journey::flows_root()) {
        Ok(journeys) => app.flows = flows::Flows::new(journeys),
        Err(err) => app.flows.status = flows::FlowStatus::Error(err.to_string()),
    }
    if let Some(path) = &options.target_config {
        // Checked now, so a mistake is named before the terminal is taken; read again at each
        // run, so an edit between runs counts.
        target_file(path)?;
        app.conformance.choose_file(path.clone());
        app.view = app::View::Conformance;
    }
    if let Some(dir) = &options.report {
        let (report, source) = load_report(dir)?;
        app.conformance.show(report, source);
        app.view = app::View::Conformance;
    }
    Ok((app, events))
}

/// Opens the policy scenario at `path` (with `overrides`) as a run before its first day: the
/// population is synthesised, no day simulated. `say` is told what takes time.
pub fn open_run(
    path: &Path,
    overrides: &Overrides,
    say: &mut dyn FnMut(&str),
) -> Result<ScenarioRun, TuiError> {
    let policy = load_policy(path, overrides)?;
    say(&format!(
        "synthesising {} ({} citizens, seed {})…",
        policy.name, policy.population.size, policy.seed
    ));
    let seed = policy.seed;
    ScenarioRun::new(policy, seed).map_err(|err| run_error(&path.display().to_string(), err))
}

/// A model error of the scenario in `file`: the user's input when it names a field.
fn run_error(file: &str, err: mitid_sim::policy::PolicyError) -> TuiError {
    match err.field_path() {
        Some(_) => TuiError::BadInput(format!("{file}: {err}")),
        None => TuiError::Simulation(err),
    }
}

/// Loads the policy scenario at `path` with `overrides`; a mistake names the file, line and
/// field.
pub fn load_policy(path: &Path, overrides: &Overrides) -> Result<PolicyScenario, TuiError> {
    let file = path.display().to_string();
    let text = read(path)?;
    let policy = match scenario::load(&file, &text, overrides)
        .map_err(|err| TuiError::BadInput(err.to_string()))?
    {
        Scenario::Policy(policy) => policy,
        Scenario::Queue(_) => {
            return Err(TuiError::BadInput(format!(
                "{file}: a queue validation scenario; the dashboard shows policy scenarios (kind: policy), e.g. {DEFAULT_SCENARIO}"
            )));
        }
    };
    Ok(*policy)
}

/// Reads and checks a target file as `certify --config` does; a mistake names the file, line
/// and field.
pub fn target_file(path: &Path) -> Result<mitid_conformance::target::Target, TuiError> {
    let text = read(path)?;
    let bad = |err: mitid_conformance::target::TargetError| TuiError::BadInput(err.to_string());
    mitid_conformance::target::TargetFile::parse(&text, path)
        .map_err(bad)?
        .validate(&text, path, None)
        .map_err(bad)
}

fn read(path: &Path) -> Result<String, TuiError> {
    std::fs::read_to_string(path)
        .map_err(|err| TuiError::BadInput(format!("{}: cannot read: {err}", path.display())))
}

/// The reference service provider's named flaws (the conformance view's targets).
#[must_use]
pub fn flaw_names() -> Vec<String> {
    mitid_components::reference_sp::FlawCatalogue::embedded()
        .names()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// Reads `DIR/report.json` of an earlier certify run; answers the report and where it came from.
pub fn load_report(dir: &Path) -> Result<(SuiteReport, String), TuiError> {
    let path = dir.join(mitid_conformance::report::JSON_FILE);
    let text = read(&path)?;
    let report: SuiteReport = serde_json::from_str(&text).map_err(|err| {
        TuiError::BadInput(format!(
            "{}:{}:{}: not a certify report.json: {err}",
            path.display(),
            err.line(),
            err.column()
        ))
    })?;
    Ok((report, path.display().to_string()))
}

/// Replays `events` into `app` without a terminal; answers the effects the app asked for (a
/// certify run is not started here: tests and headless replays see it asked for).
pub fn replay(app: &mut App, events: &[Event]) -> Vec<Effect> {
    let mut effects = Vec::new();
    for event in events {
        match *event {
            Event::Key(key) => effects.extend(app.update(Msg::Key(key)).effects),
            Event::Wait(ticks) => {
                for _ in 0..ticks {
                    effects.extend(app.update(Msg::Tick).effects);
                }
            }
        }
        if app.quit {
            break;
        }
    }
    effects
}

/// What playing the simulation costs, tick by tick: the update (the days the tick closes, the
/// model's work) and the whole frame drawn after it.
#[derive(Debug, Clone, Default)]
pub struct PlayTimes {
    /// Days closed while measuring.
    pub days: usize,
    /// One per tick.
    pub update: Vec<std::time::Duration>,
    /// One per tick (the loop draws at most every other tick; every one is drawn here).
    pub draw: Vec<std::time::Duration>,
}

/// Plays `app`'s run from where it stands at its current speed, drawing each tick's frame on a
/// `width` x `height` in-memory terminal, until the run ends or `max_ticks` have passed.
///
/// # Panics
/// Only if the in-memory test terminal cannot be created or drawn, which it always can.
pub fn measure_play(app: &mut App, width: u16, height: u16, max_ticks: usize) -> PlayTimes {
    let mut adapter = TestTerminalAdapter::new(Size::new(width, height))
        .expect("an in-memory terminal can always be created");
    let before = app.run.closed_days().len();
    let mut times = PlayTimes::default();
    if !app.playing {
        app.update(Msg::Key(keys::Key::Char(' ')));
    }
    while app.playing && times.update.len() < max_ticks {
        let started = std::time::Instant::now();
        app.update(Msg::Tick);
        times.update.push(started.elapsed());
        let started = std::time::Instant::now();
        adapter
            .draw(|frame| view::draw(frame, app))
            .expect("an in-memory terminal can always be drawn");
        times.draw.push(started.elapsed());
    }
    times.days = app.run.closed_days().len() - before;
    times
}

/// The dashboard drawn on a `width` x `height` test terminal, as plain text, one line per row
/// (for snapshots and the README's screenshot).
///
/// # Panics
/// Only if the in-memory test terminal cannot be created or drawn, which it always can.
#[must_use]
pub fn render_to_string(app: &App, width: u16, height: u16) -> String {
    let mut adapter = TestTerminalAdapter::new(Size::new(width, height))
        .expect("an in-memory terminal can always be created");
    let frame = adapter
        .draw(|frame| view::draw(frame, app))
        .expect("an in-memory terminal can always be drawn");
    buffer_to_string(frame.buffer)
}
