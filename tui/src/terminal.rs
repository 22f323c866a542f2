//! The tui-realm shell: the terminal (raw mode, alternate screen, restored on exit and on a
//! panic), the event listener (keyboard and a 10 Hz tick), and the loop that feeds the model,
//! carries out its effects and redraws at a capped frame rate only when something changed.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use mitid_components::runtime::RuntimeKind;
use mitid_components::runtime::interrupt;
use mitid_conformance::catalogue::Catalogue;
use mitid_conformance::outcome::SuiteReport;
use mitid_conformance::runner::Features;
use mitid_conformance::suite::{self, SP_FEATURES};
use tuirealm::application::{Application, PollStrategy};
use tuirealm::command::{Cmd, CmdResult};
use tuirealm::component::{AppComponent, Component};
use tuirealm::event::{Event, Key as RealmKey, KeyEvent, KeyModifiers, NoUserEvent};
use tuirealm::listener::EventListenerCfg;
use tuirealm::props::{AttrValue, Attribute, QueryResult};
use tuirealm::ratatui::Frame;
use tuirealm::ratatui::crossterm::cursor::Show;
use tuirealm::ratatui::crossterm::execute;
use tuirealm::ratatui::crossterm::terminal::{Clear, ClearType, size};
use tuirealm::ratatui::layout::Rect;
use tuirealm::state::State;
use tuirealm::terminal::{CrosstermTerminalAdapter, TerminalAdapter as _};

use crate::TuiError;
use crate::app::{App, Effect, Msg, TICKS_PER_SECOND, Target, WhatIf};
use crate::keys::Key;
use crate::script::Event as ScriptEvent;

/// At most this many frames a second: a playing simulation changes every tick, typing faster.
const MAX_FPS: u64 = 20;

/// What a worker thread hands back to the loop.
enum Background {
    Certified(Result<Box<SuiteReport>, String>),
    Recorded(Result<Box<mitid_conformance::journey::Recording>, String>),
}

impl Background {
    fn into_msg(self) -> Msg {
        match self {
            Background::Certified(report) => Msg::CertifyDone(report),
            Background::Recorded(recording) => Msg::Recorded(recording),
        }
    }
}

/// What the keyboard component tells the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UiMsg {
    Key(Key),
    Tick,
    Redraw,
}

/// The one focused component: it turns terminal events into the model's keys and ticks. The
/// drawing is the model's ([`crate::view::draw`]), so this component paints nothing itself.
struct Keyboard;

impl Component for Keyboard {
    fn view(&mut self, _frame: &mut Frame, _area: Rect) {}

    fn query(&self, _attr: Attribute) -> Option<QueryResult<'_>> {
        None
    }

    fn attr(&mut self, _attr: Attribute, _value: AttrValue) {}

    fn state(&self) -> State {
        State::None
    }

    fn perform(&mut self, _cmd: Cmd) -> CmdResult {
        CmdResult::NoChange
    }
}

impl AppComponent<UiMsg, NoUserEvent> for Keyboard {
    fn on(&mut self, ev: &Event<NoUserEvent>) -> Option<UiMsg> {
        match ev {
            Event::Keyboard(key) => to_key(*key).map(UiMsg::Key),
            Event::Tick => Some(UiMsg::Tick),
            Event::WindowResize(..) | Event::FocusGained => Some(UiMsg::Redraw),
            _ => None,
        }
    }
}

fn to_key(event: KeyEvent) -> Option<Key> {
    let key = match event.code {
        RealmKey::Char(c) if event.modifiers.contains(KeyModifiers::CONTROL) => {
            Key::Ctrl(c.to_ascii_lowercase())
        }
        RealmKey::Char(c) => Key::Char(c),
        RealmKey::Enter => Key::Enter,
        RealmKey::Esc => Key::Esc,
        RealmKey::Tab => Key::Tab,
        RealmKey::Backspace => Key::Backspace,
        RealmKey::Up => Key::Up,
        RealmKey::Down => Key::Down,
        RealmKey::Left => Key::Left,
        RealmKey::Right => Key::Right,
        _ => return None,
    };
    Some(key)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Id {
    Keyboard,
}

/// Runs the dashboard until the user (or the script) quits.
#[allow(
    clippy::too_many_lines,
    reason = "the event loop, read top to bottom: input, effects, drawing"
)]
pub(crate) fn run(mut app: App, script: Vec<ScriptEvent>) -> Result<(), TuiError> {
    let failed = |what: &str| {
        let what = what.to_owned();
        move |err: tuirealm::terminal::TerminalError| TuiError::Terminal(format!("{what}: {err}"))
    };
    // SIGTERM (and SIGINT from outside the terminal) only sets a flag from now on: the loop
    // sees it and leaves through the same restore as `q`.
    interrupt::install();
    let mut adapter =
        CrosstermTerminalAdapter::new().map_err(failed("cannot open the terminal"))?;
    quiet_worker_panics();
    adapter
        .enable_raw_mode()
        .map_err(failed("cannot enter raw mode"))?;
    adapter
        .enter_alternate_screen()
        .map_err(failed("cannot enter the alternate screen"))?;
    // Cleared directly: ratatui's own clear first asks the terminal where its cursor is, and a
    // terminal that does not answer (some emulators, a pty under test) makes that fail.
    execute!(std::io::stdout(), Clear(ClearType::All))
        .map_err(|err| TuiError::Terminal(format!("cannot clear the screen: {err}")))?;

    let tick = Duration::from_millis(1000 / u64::from(TICKS_PER_SECOND));
    let mut realm: Application<Id, UiMsg, NoUserEvent> = Application::init(
        EventListenerCfg::default()
            .crossterm_input_listener(Duration::from_millis(10), 16)
            .tick_interval(tick),
    );
    realm
        .mount(Id::Keyboard, Box::new(Keyboard), Vec::new())
        .and_then(|()| realm.active(&Id::Keyboard))
        .map_err(|err| TuiError::Terminal(err.to_string()))?;

    let (done_tx, done_rx) = mpsc::channel();
    let mut script = script.into_iter().peekable();
    let mut waiting = 0_u32;
    let frame_interval = Duration::from_millis(1000 / MAX_FPS);
    let mut last_draw: Option<Instant> = None;
    let mut dirty = true;
    let mut stopped = None;
    loop {
        if let Some(signal) = interrupt::interrupted() {
            stopped = Some(signal);
            break;
        }
        let mut msgs = Vec::new();
        // The script types first (until its next pause), as if the keys had been pressed.
        while waiting == 0 {
            match script.next() {
                Some(ScriptEvent::Key(key)) => msgs.push(Msg::Key(key)),
                Some(ScriptEvent::Wait(ticks)) => waiting = ticks,
                None => break,
            }
        }
        for ui in realm
            .tick(PollStrategy::UpTo(32, Duration::from_millis(10)))
            .map_err(|err| TuiError::Terminal(err.to_string()))?
        {
            match ui {
                UiMsg::Key(key) => msgs.push(Msg::Key(key)),
                UiMsg::Tick => {
                    waiting = waiting.saturating_sub(1);
                    msgs.push(Msg::Tick);
                }
                UiMsg::Redraw => dirty = true,
            }
        }
        msgs.extend(done_rx.try_iter().map(Background::into_msg));
        let mut msgs: std::collections::VecDeque<Msg> = msgs.into();
        while let Some(msg) = msgs.pop_front() {
            let update = app.update(msg);
            dirty |= update.consumed;
            for effect in update.effects {
                match effect {
                    Effect::Quit => {}
                    // The receiver is gone only when the dashboard has quit.
                    Effect::Certify {
                        target,
                        requirement,
                    } => {
                        let tx = done_tx.clone();
                        std::thread::spawn(move || {
                            let done = certify(&target, requirement.as_deref()).map(Box::new);
                            let _ = tx.send(Background::Certified(done));
                        });
                    }
                    Effect::Write { path, text } => {
                        let written = crate::export::write_new(&path, &text, app.presenter);
                        msgs.push_back(Msg::Exported(written.map(|()| path)));
                    }
                    Effect::Export => {
                        let (width, height) = size().map_err(|err| {
                            TuiError::Terminal(format!("cannot read the terminal's size: {err}"))
                        })?;
                        let screen = crate::render_to_string(&app, width, height);
                        msgs.push_back(Msg::Exported(crate::export::write_screen(
                            std::path::Path::new(crate::export::EXPORT_DIR),
                            &screen,
                            app.presenter,
                        )));
                    }
                    Effect::Record { journey } => {
                        let tx = done_tx.clone();
                        std::thread::spawn(move || {
                            let done = mitid_conformance::journey::record(&journey)
                                .map(Box::new)
                                .map_err(|err| err.to_string());
                            let _ = tx.send(Background::Recorded(done));
                        });
                    }
                    // Built here, not on a worker: a run is stepped where it was built (the
                    // model is not `Send`). Building synthesises the population and closes no
                    // day; the what-if then catches up to the main run's day.
                    Effect::WhatIf { source, label } => {
                        let run = crate::open_run(&source.path, &source.overrides, &mut |_| {});
                        msgs.push_back(Msg::WhatIfDone(
                            run.map(|run| WhatIf {
                                label,
                                run: Box::new(run),
                            })
                            .map_err(|err| err.to_string()),
                        ));
                    }
                }
            }
        }
        if app.quit {
            break;
        }
        if dirty && last_draw.is_none_or(|at| at.elapsed() >= frame_interval) {
            adapter
                .draw(|frame| crate::view::draw(frame, &app))
                .map_err(failed("cannot draw"))?;
            last_draw = Some(Instant::now());
            dirty = false;
        }
    }
    adapter
        .restore()
        .map_err(|err| TuiError::Terminal(format!("cannot restore the terminal: {err}")))?;
    // The cursor ratatui hid while drawing; its own drop would show it too, but only after
    // the adapter is gone.
    let _ = execute!(std::io::stdout(), Show);
    match stopped {
        Some(signal) => Err(TuiError::Interrupted(signal)),
        None => Ok(()),
    }
}

/// `certify` as the CLI runs it: the reference service provider (with a flaw) on the embedded
/// components, or the service a target file describes; every requirement, or `requirement`'s
/// scenarios alone (`--tags @req:ID`, a partial run).
fn certify(target: &Target, requirement: Option<&str>) -> Result<SuiteReport, String> {
    let catalogue = Catalogue::embedded();
    let tags = requirement.map(|id| format!("@req:{id}"));
    let features = Features::load(
        &[suite::project_path(SP_FEATURES)],
        &catalogue,
        tags.as_deref(),
    )
    .map_err(|err| err.to_string())?;
    let run_id = format!("tui-{}", suite::run_tag());
    let flaws = match target {
        Target::Reference => Vec::new(),
        Target::Flaw(name) => vec![name.clone()],
        Target::File(path) => {
            let target = crate::target_file(path).map_err(|err| err.to_string())?;
            return suite::certify_external(&target, &features, &catalogue, &run_id, None)
                .map_err(|err| err.to_string());
        }
    };
    suite::certify_reference(
        &flaws,
        RuntimeKind::Embedded,
        &features,
        &catalogue,
        &run_id,
        None,
    )
    .map_err(|err| err.to_string())
}

/// A certify run's steps fail by panicking on worker threads (cucumber turns that into the
/// verdict). The terminal adapter's panic hook would restore the terminal on any thread's
/// panic and print over the dashboard; only the dashboard's own thread may do that.
fn quiet_worker_panics() {
    let restore_and_report = std::panic::take_hook();
    let ui_thread = std::thread::current().id();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == ui_thread {
            let _ = execute!(std::io::stdout(), Show);
            restore_and_report(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_keys_become_the_dashboards_keys() {
        let key = |code, modifiers| to_key(KeyEvent::new(code, modifiers));
        assert_eq!(
            key(RealmKey::Char('m'), KeyModifiers::NONE),
            Some(Key::Char('m'))
        );
        assert_eq!(
            key(RealmKey::Char('C'), KeyModifiers::CONTROL),
            Some(Key::Ctrl('c'))
        );
        assert_eq!(key(RealmKey::Esc, KeyModifiers::NONE), Some(Key::Esc));
        assert_eq!(key(RealmKey::Function(1), KeyModifiers::NONE), None);
    }
}
