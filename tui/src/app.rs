//! The dashboard's model and its update function.
//!
//! [`App::update`] takes one [`Msg`] (a key, a clock tick, a finished certify run) and changes
//! the model; it does no I/O. What needs the outside world (starting a certify run, quitting)
//! comes back as an [`Effect`] for the runtime to carry out, so the same key sequence always
//! gives the same model: that is what lets demo scripts and tests replay a session without a
//! terminal. Drawing (`view`) reads the model and cannot change it.

use chrono::NaiveDate;
use mitid_conformance::outcome::SuiteReport;

use crate::flows::{FlowStatus, Flows, Lang};
use crate::keys::{self, Action, Key, Scope};
use crate::run::SteppableRun;
use crate::script::Recorded;

mod conformance;
mod palette;
pub use conformance::{CertifyStatus, Conformance, Target, TreeRow};

/// Ticks per second of the runtime's clock (the frame rate is capped at the same rate).
pub const TICKS_PER_SECOND: u32 = 10;

/// Play speeds, in simulated days per second.
pub const SPEEDS: [u32; 5] = [1, 7, 30, 90, 365];

/// A second run of the same scenario with one field changed, kept on the same day as the
/// main run and drawn over it.
pub struct WhatIf {
    /// The change, as `--set` takes it: `calendar.nemid_shutdown=2023-12-31`.
    pub label: String,
    pub run: Box<dyn SteppableRun>,
}

impl std::fmt::Debug for WhatIf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatIf")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// The scenario file and overrides the main run came from (what a what-if re-runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub path: std::path::PathBuf,
    pub overrides: mitid_sim::scenario::Overrides,
}

/// Everything the update function can be told.
#[derive(Debug)]
pub enum Msg {
    Key(Key),
    /// One tick of the runtime's clock ([`TICKS_PER_SECOND`] a second).
    Tick,
    /// A certify run ended: its report, or why it could not run.
    CertifyDone(Result<Box<SuiteReport>, String>),
    /// A what-if run ended: the run, or why it could not run.
    WhatIfDone(Result<WhatIf, String>),
    /// An export or a saved script was written (the file), or why it could not be.
    Exported(Result<std::path::PathBuf, String>),
    /// A journey's recording ended: the recording, or why it could not be made.
    Recorded(Result<Box<mitid_conformance::journey::Recording>, String>),
}

/// What the update asks the runtime to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Run certify against `target`: every requirement, or only `requirement`'s scenarios
    /// (a partial run, `--tags @req:ID`).
    Certify {
        target: Target,
        requirement: Option<String>,
    },
    /// Run the scenario again with `source`'s overrides (one `--set` more), labelled `label`.
    WhatIf {
        source: Source,
        label: String,
    },
    /// Write the screen as text (redacted in presenter mode) to a new file under
    /// `reports/tui/`.
    Export,
    /// Write `text` to the new file `path` (redacted in presenter mode): a saved session.
    Write {
        path: std::path::PathBuf,
        text: String,
    },
    /// Run `journey` on a fresh embedded stack and record it.
    Record {
        journey: mitid_conformance::journey::Journey,
    },
    Quit,
}

/// What one update did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Whether the message meant something here (an unbound key is not consumed).
    pub consumed: bool,
    pub effects: Vec<Effect>,
}

impl Update {
    fn consumed() -> Self {
        Self {
            consumed: true,
            effects: Vec::new(),
        }
    }

    fn ignored() -> Self {
        Self::default()
    }

    fn effect(effect: Effect) -> Self {
        Self {
            consumed: true,
            effects: vec![effect],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Simulation,
    Conformance,
    Flows,
}

impl View {
    #[must_use]
    pub fn scope(self) -> Scope {
        match self {
            View::Simulation => Scope::Simulation,
            View::Conformance => Scope::Conformance,
            View::Flows => Scope::Flows,
        }
    }
}

/// How the municipality table is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Longest mean wait over the closed months first.
    Wait,
    /// Longest wait in the last closed month first.
    LastMonth,
    Name,
}

impl SortKey {
    fn next(self) -> Self {
        match self {
            SortKey::Wait => SortKey::LastMonth,
            SortKey::LastMonth => SortKey::Name,
            SortKey::Name => SortKey::Wait,
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "wait" => Some(SortKey::Wait),
            "month" => Some(SortKey::LastMonth),
            "name" => Some(SortKey::Name),
            _ => None,
        }
    }
}

/// A line of text the keyboard is typing into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// `:` the command palette.
    Palette(String),
    /// `/` the filter of the current view's list.
    Filter(String),
}

/// The palette's commands and their usage, for completion, the status line and the help.
pub const COMMANDS: &[(&str, &str)] = &[
    ("certify", "certify reference|FLAW|FILE.yaml"),
    ("export", "export (screen to reports/tui)"),
    ("goto", "goto YYYY-MM-DD"),
    ("help", "help"),
    ("lang", "lang en|da (narration)"),
    ("presenter", "presenter on|off"),
    ("quit", "quit"),
    ("save", "save FILE (session as a script)"),
    ("rerun", "rerun [REQUIREMENT]"),
    ("sort", "sort wait|month|name"),
    ("speed", "speed DAYS (per second)"),
    ("step", "step N (days)"),
    ("view", "view simulation|conformance|flows"),
    ("whatif", "whatif FIELD=VALUE | whatif off"),
];

/// The dashboard's whole state.
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent switches (playing, help shown, presenter, quitting), not a state machine"
)]
pub struct App {
    pub view: View,
    pub run: Box<dyn SteppableRun>,
    pub playing: bool,
    pub speed: usize,
    /// Tenths of a day owed to the clock while playing (ticks are a tenth of a second).
    play_credit: u32,
    pub sort: SortKey,
    pub sim_filter: String,
    pub conf_filter: String,
    pub prompt: Option<Prompt>,
    pub help: bool,
    pub conformance: Conformance,
    /// One line for the status bar: what the last command did or why it could not.
    pub status: Option<String>,
    pub quit: bool,
    /// Where the main run came from (none for a run handed in directly, e.g. in tests).
    pub source: Option<Source>,
    /// The what-if drawn over the main run, if one was asked for.
    pub whatif: Option<WhatIf>,
    pub flows: Flows,
    pub flow_filter: String,
    /// The language of the Flows view's narration and device texts.
    pub lang: Lang,
    /// Presenter mode: large device drawings, the last key shown, narration notes, and CPR
    /// numbers, codes and tokens redacted on screen and in exports.
    pub presenter: bool,
    /// The last key pressed (shown in presenter mode, so an audience sees what was typed).
    pub last_key: Option<Key>,
    /// The session so far, for `:save FILE` (a demo script that replays it).
    pub session: Vec<Recorded>,
    /// Where in `session` the palette now open was opened (its command is not saved).
    palette_opened_at: usize,
}

impl App {
    /// A dashboard on `run`, opened on the simulation view; `flaws` are the reference service
    /// provider's named flaws (the conformance view's targets).
    #[must_use]
    pub fn new(run: Box<dyn SteppableRun>, flaws: Vec<String>) -> Self {
        Self {
            view: View::Simulation,
            run,
            playing: false,
            speed: 1,
            play_credit: 0,
            sort: SortKey::Wait,
            sim_filter: String::new(),
            conf_filter: String::new(),
            prompt: None,
            help: false,
            conformance: Conformance::new(flaws),
            status: None,
            quit: false,
            source: None,
            whatif: None,
            flows: Flows::default(),
            flow_filter: String::new(),
            lang: Lang::En,
            presenter: false,
            last_key: None,
            session: Vec::new(),
            palette_opened_at: 0,
        }
    }

    /// Closes the next day of the main run, and of the what-if alongside it. A run that fails
    /// (a model bug, never the user's input) stops playing and says why on the status line.
    fn step(&mut self) -> bool {
        let stepped = match self.run.step_day() {
            Ok(stepped) => stepped,
            Err(err) => {
                self.playing = false;
                self.status = Some(format!("the run stopped: {err}"));
                return false;
            }
        };
        if stepped
            && let Some(whatif) = &mut self.whatif
            && let Err(err) = whatif.run.step_day()
        {
            self.status = Some(format!("the what-if {} stopped: {err}", whatif.label));
            self.whatif = None;
        }
        stepped
    }

    /// Days per second at the current speed.
    #[must_use]
    pub fn days_per_second(&self) -> u32 {
        SPEEDS[self.speed]
    }

    /// The current view's filter.
    #[must_use]
    pub fn filter(&self) -> &str {
        match self.view {
            View::Simulation => &self.sim_filter,
            View::Conformance => &self.conf_filter,
            View::Flows => &self.flow_filter,
        }
    }

    fn filter_mut(&mut self) -> &mut String {
        match self.view {
            View::Simulation => &mut self.sim_filter,
            View::Conformance => &mut self.conf_filter,
            View::Flows => &mut self.flow_filter,
        }
    }

    /// The next milestone on or after the day being simulated, if any.
    #[must_use]
    pub fn next_milestone(&self) -> Option<(&str, NaiveDate)> {
        let today = self.run.today();
        let done = self.run.finished();
        self.run
            .milestones()
            .iter()
            .filter(|m| !done && m.date >= today)
            .min_by_key(|m| m.date)
            .map(|m| (m.name.as_str(), m.date))
    }

    /// Applies one message.
    pub fn update(&mut self, msg: Msg) -> Update {
        match &msg {
            Msg::Tick => match self.session.last_mut() {
                Some(Recorded::Wait(ticks)) => *ticks += 1,
                _ => self.session.push(Recorded::Wait(1)),
            },
            Msg::Key(key) => self.session.push(Recorded::Key {
                key: *key,
                typed: self.prompt.is_some(),
            }),
            _ => {}
        }
        match msg {
            Msg::Exported(result) => {
                self.status = Some(match result {
                    Ok(path) if self.presenter => format!("wrote {} (redacted)", path.display()),
                    Ok(path) => format!("wrote {}", path.display()),
                    Err(err) => format!("could not write: {err}"),
                });
                Update::consumed()
            }
            Msg::Tick => self.tick(),
            Msg::CertifyDone(result) => {
                let source = match &self.conformance.status {
                    CertifyStatus::Running {
                        target,
                        requirement: Some(id),
                        ..
                    } => format!("certify {target} --tags @req:{id}"),
                    CertifyStatus::Running { target, .. } => format!("certify {target}"),
                    _ => format!("certify {}", self.conformance.target_label()),
                };
                match result {
                    Ok(report) => {
                        self.conformance.status = CertifyStatus::Idle;
                        self.status = Some(report.decision.headline());
                        self.conformance.show(*report, source);
                    }
                    Err(err) => self.conformance.status = CertifyStatus::Error(err),
                }
                Update::consumed()
            }
            Msg::WhatIfDone(Ok(mut whatif)) => {
                // Catch up to the main run's day, so both are compared on the same date.
                while whatif.run.closed_days().len() < self.run.closed_days().len() {
                    match whatif.run.step_day() {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(err) => {
                            self.status = Some(format!("the what-if could not run: {err}"));
                            return Update::consumed();
                        }
                    }
                }
                self.status = Some(format!(
                    "what-if {} drawn over the run, light lines",
                    whatif.label
                ));
                self.whatif = Some(whatif);
                Update::consumed()
            }
            Msg::Recorded(Ok(recording)) => {
                self.flows.show(&recording);
                let trace = self.flows.trace.as_ref().map_or(0, |t| t.messages.len());
                self.status = Some(format!(
                    "{} recorded: {trace} messages; ←→ step through them",
                    recording.journey.name
                ));
                Update::consumed()
            }
            Msg::Recorded(Err(err)) => {
                self.flows.status = FlowStatus::Error(err);
                Update::consumed()
            }
            Msg::WhatIfDone(Err(err)) => {
                self.status = Some(format!("the what-if could not run: {err}"));
                Update::consumed()
            }
            Msg::Key(key) => self.key(key),
        }
    }

    fn tick(&mut self) -> Update {
        let certifying = if let CertifyStatus::Running { ticks, .. } = &mut self.conformance.status
        {
            *ticks += 1;
            // The elapsed time on screen moves once a second.
            ticks.is_multiple_of(TICKS_PER_SECOND)
        } else {
            false
        };
        let recording = if let FlowStatus::Recording { ticks, .. } = &mut self.flows.status {
            *ticks += 1;
            ticks.is_multiple_of(TICKS_PER_SECOND)
        } else {
            false
        };
        let certifying = certifying || recording;
        if !self.playing {
            return if certifying {
                Update::consumed()
            } else {
                Update::ignored()
            };
        }
        self.play_credit += self.days_per_second();
        while self.play_credit >= TICKS_PER_SECOND {
            self.play_credit -= TICKS_PER_SECOND;
            if !self.step() {
                self.playing = false;
                self.play_credit = 0;
                break;
            }
        }
        Update::consumed()
    }

    fn key(&mut self, key: Key) -> Update {
        if key == Key::Ctrl('c') {
            return self.quit();
        }
        self.last_key = Some(key);
        if let Some(prompt) = self.prompt.take() {
            return self.prompt_key(prompt, key);
        }
        if self.help {
            return match keys::lookup(Scope::Global, key) {
                Some(Action::Help | Action::Back) => {
                    self.help = false;
                    Update::consumed()
                }
                Some(Action::Quit) => self.quit(),
                // The overlay covers the view: keys meant for it are not passed underneath.
                _ => Update::consumed(),
            };
        }
        match keys::lookup(self.view.scope(), key) {
            Some(action) => self.act(action),
            None => Update::ignored(),
        }
    }

    fn quit(&mut self) -> Update {
        self.quit = true;
        Update::effect(Effect::Quit)
    }

    fn act(&mut self, action: Action) -> Update {
        match action {
            Action::ShowSimulation => self.view = View::Simulation,
            Action::ShowConformance => self.view = View::Conformance,
            Action::ShowFlows => self.view = View::Flows,
            Action::Presenter => self.presenter = !self.presenter,
            Action::Language => {
                self.lang = match self.lang {
                    Lang::En => Lang::Da,
                    Lang::Da => Lang::En,
                };
            }
            Action::Record => return self.record(),
            Action::StepForward if self.view == View::Conformance => self.step_exchange(true),
            Action::StepBack if self.view == View::Conformance => self.step_exchange(false),
            Action::StepForward => {
                self.flows.step(true);
            }
            Action::StepBack => {
                self.flows.step(false);
            }
            Action::Evidence => {
                if self.conformance.jump_to_failure(&self.conf_filter) {
                    self.status = None;
                } else {
                    self.status =
                        Some("nothing failed under this row: no exchange decided it".to_owned());
                }
            }
            Action::Rerun => return self.rerun(None),
            Action::Export => return Update::effect(Effect::Export),
            Action::Help => self.help = true,
            Action::Palette => {
                self.palette_opened_at = self.session.len().saturating_sub(1);
                self.prompt = Some(Prompt::Palette(String::new()));
            }
            Action::Filter => self.prompt = Some(Prompt::Filter(self.filter().to_owned())),
            Action::Back => {
                if !self.filter().is_empty() {
                    self.filter_mut().clear();
                } else if self.view == View::Flows && self.flows.trace.is_some() {
                    // Back from a recording to the list of journeys.
                    self.flows.trace = None;
                } else {
                    return Update::ignored();
                }
            }
            Action::Quit => return self.quit(),
            Action::PlayPause => self.playing = !self.playing && !self.run.finished(),
            Action::StepDay => {
                self.playing = false;
                self.step();
            }
            Action::NextMilestone => {
                self.playing = false;
                let target = self
                    .next_milestone()
                    .map_or(self.run.end(), |(_, date)| date);
                self.run_to(target);
            }
            Action::Faster => self.speed = (self.speed + 1).min(SPEEDS.len() - 1),
            Action::Slower => self.speed = self.speed.saturating_sub(1),
            Action::SortTable => self.sort = self.sort.next(),
            Action::Restart => {
                self.playing = false;
                self.play_credit = 0;
                let restarted = self.run.restart().and_then(|()| match &mut self.whatif {
                    Some(whatif) => whatif.run.restart(),
                    None => Ok(()),
                });
                if let Err(err) = restarted {
                    self.status = Some(format!("the run could not restart: {err}"));
                }
            }
            Action::Certify => return self.certify(),
            Action::NextTarget => {
                self.conformance.target =
                    (self.conformance.target + 1) % self.conformance.targets.len();
            }
            Action::Up if self.view == View::Flows => {
                self.flows.selected = self.flows.selected.saturating_sub(1);
            }
            Action::Down if self.view == View::Flows => {
                let rows = self.flows.rows(&self.flow_filter).len();
                self.flows.selected = (self.flows.selected + 1).min(rows.saturating_sub(1));
            }
            Action::Up => {
                self.conformance.selected = self.conformance.selected.saturating_sub(1);
                self.conformance.exchange = None;
            }
            Action::Down => {
                let rows = self.conformance.rows(&self.conf_filter).len();
                self.conformance.selected =
                    (self.conformance.selected + 1).min(rows.saturating_sub(1));
                self.conformance.exchange = None;
            }
            Action::Toggle => self.toggle_selected(),
        }
        Update::consumed()
    }

    /// Closes days until `date` is closed (or the run ends).
    fn run_to(&mut self, date: NaiveDate) {
        while self.run.closed_days().last().is_none_or(|d| d.date < date) {
            if !self.step() {
                break;
            }
        }
    }

    /// Records the selected journey (the list's, under the filter).
    fn record(&mut self) -> Update {
        if matches!(self.flows.status, FlowStatus::Recording { .. }) {
            self.status = Some("a journey is already being recorded".to_owned());
            return Update::consumed();
        }
        let rows = self.flows.rows(&self.flow_filter);
        let Some(journey) = rows
            .get(self.flows.selected)
            .map(|&i| self.flows.journeys[i].clone())
        else {
            self.status = Some("no journey selected".to_owned());
            return Update::consumed();
        };
        self.flows.trace = None;
        self.flows.status = FlowStatus::Recording {
            name: journey.name.clone(),
            ticks: 0,
        };
        Update::effect(Effect::Record { journey })
    }

    fn certify(&mut self) -> Update {
        self.certify_only(None)
    }

    /// Re-runs one requirement (`id`, or the selected row's) on the chosen target.
    fn rerun(&mut self, id: Option<&str>) -> Update {
        let selected = self
            .conformance
            .selection(&self.conf_filter)
            .map(|(id, _)| id.to_owned());
        let Some(id) = id.map(str::to_owned).or(selected) else {
            self.status = Some("no requirement selected: open a report first".to_owned());
            return Update::consumed();
        };
        self.certify_only(Some(id))
    }

    fn certify_only(&mut self, requirement: Option<String>) -> Update {
        if matches!(self.conformance.status, CertifyStatus::Running { .. }) {
            self.status = Some("a certify run is already going".to_owned());
            return Update::consumed();
        }
        self.conformance.status = CertifyStatus::Running {
            target: self.conformance.target_label(),
            requirement: requirement.clone(),
            ticks: 0,
        };
        Update::effect(Effect::Certify {
            target: self.conformance.targets[self.conformance.target].clone(),
            requirement,
        })
    }

    /// Moves through the selected scenario's exchanges (`→` from the scenario row enters them).
    fn step_exchange(&mut self, forward: bool) {
        let count = match self.conformance.selection(&self.conf_filter) {
            Some((_, Some(scenario))) => scenario.evidence.len(),
            _ => return,
        };
        self.conformance.exchange = match (self.conformance.exchange, forward) {
            (_, true) if count == 0 => None,
            (None, true) => Some(0),
            (Some(at), true) => Some((at + 1).min(count - 1)),
            (Some(0) | None, false) => None,
            (Some(at), false) => Some(at - 1),
        };
    }

    fn toggle_selected(&mut self) {
        let rows = self.conformance.rows(&self.conf_filter);
        self.conformance.exchange = None;
        let (Some(TreeRow::Requirement(index) | TreeRow::Scenario(index, _)), Some(report)) = (
            rows.get(self.conformance.selected),
            &self.conformance.report,
        ) else {
            return;
        };
        let id = report.requirements[*index].id.clone();
        if !self.conformance.open.remove(&id) {
            self.conformance.open.insert(id);
        }
        // Keep the selection on the requirement whose scenarios just closed.
        let rows = self.conformance.rows(&self.conf_filter);
        if let Some(at) = rows.iter().position(|r| *r == TreeRow::Requirement(*index)) {
            self.conformance.selected = at;
        }
    }
}
