//! Keys are data: [`BINDINGS`] is the one registry the key handling, the footer and the `?`
//! help overlay all read, so a key cannot do one thing and be documented as another.

use std::fmt;

/// A key as the dashboard sees it, independent of the terminal library (demo scripts produce
/// the same values as the keyboard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Char(char),
    Enter,
    Esc,
    Tab,
    Backspace,
    Up,
    Down,
    Left,
    Right,
    /// Ctrl with a letter: only Ctrl-C is bound (quit), the rest are ignored.
    Ctrl(char),
}

impl Key {
    /// Parses one token of a demo script: a single character, or a name such as `space`,
    /// `enter`, `esc`, `tab`, `backspace`, `up`, `down`, `left`, `right`, `ctrl-c`.
    #[must_use]
    pub fn parse(token: &str) -> Option<Key> {
        let mut chars = token.chars();
        if let (Some(only), None) = (chars.next(), chars.next()) {
            return Some(Key::Char(only));
        }
        let lower = token.to_ascii_lowercase();
        let key = match lower.as_str() {
            "space" => Key::Char(' '),
            "enter" => Key::Enter,
            "esc" => Key::Esc,
            "tab" => Key::Tab,
            "backspace" => Key::Backspace,
            "up" => Key::Up,
            "down" => Key::Down,
            "left" => Key::Left,
            "right" => Key::Right,
            other => {
                let letter = other.strip_prefix("ctrl-")?;
                let mut letters = letter.chars();
                match (letters.next(), letters.next()) {
                    (Some(c), None) if c.is_ascii_alphabetic() => Key::Ctrl(c),
                    _ => return None,
                }
            }
        };
        Some(key)
    }
}

impl Key {
    /// The key as a demo script writes it (what [`Key::parse`] reads back).
    #[must_use]
    pub fn token(self) -> String {
        match self {
            Key::Char(' ') => "space".to_owned(),
            Key::Char(c) => c.to_string(),
            Key::Enter => "enter".to_owned(),
            Key::Esc => "esc".to_owned(),
            Key::Tab => "tab".to_owned(),
            Key::Backspace => "backspace".to_owned(),
            Key::Up => "up".to_owned(),
            Key::Down => "down".to_owned(),
            Key::Left => "left".to_owned(),
            Key::Right => "right".to_owned(),
            Key::Ctrl(c) => format!("ctrl-{c}"),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Char(' ') => f.write_str("space"),
            Key::Char(c) => write!(f, "{c}"),
            Key::Enter => f.write_str("enter"),
            Key::Esc => f.write_str("esc"),
            Key::Tab => f.write_str("tab"),
            Key::Backspace => f.write_str("bksp"),
            Key::Up => f.write_str("↑"),
            Key::Down => f.write_str("↓"),
            Key::Left => f.write_str("←"),
            Key::Right => f.write_str("→"),
            Key::Ctrl(c) => write!(f, "ctrl-{c}"),
        }
    }
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everywhere (unless a text input has the keyboard).
    Global,
    /// The simulation view.
    Simulation,
    /// The conformance view.
    Conformance,
    /// The Flows (trainer) view.
    Flows,
}

impl Scope {
    /// The help overlay's section title.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::Simulation => "1 Simulation",
            Scope::Conformance => "2 Conformance",
            Scope::Flows => "3 Flows (trainer)",
        }
    }
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ShowSimulation,
    ShowConformance,
    ShowFlows,
    Help,
    Palette,
    Filter,
    Back,
    Quit,
    PlayPause,
    StepDay,
    NextMilestone,
    Faster,
    Slower,
    SortTable,
    Restart,
    Certify,
    NextTarget,
    Up,
    Down,
    Toggle,
    Record,
    StepForward,
    StepBack,
    Language,
    Presenter,
    /// From a requirement to its failed scenario and the exchange that decided it.
    Evidence,
    /// Certify again, only the selected requirement.
    Rerun,
    /// Write the screen to a file (redacted in presenter mode).
    Export,
}

/// One key binding: the key, where it applies, what it does, and its words in the footer and
/// the help.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub key: Key,
    pub scope: Scope,
    pub action: Action,
    /// The footer's word (short).
    pub label: &'static str,
    /// The help overlay's words (at most [`HELP_WIDTH`] characters, so two columns of help fit
    /// an 80-column terminal).
    pub help: &'static str,
    /// Whether the footer shows it (the help always does).
    pub in_footer: bool,
}

const fn bind(
    key: Key,
    scope: Scope,
    action: Action,
    label: &'static str,
    help: &'static str,
    in_footer: bool,
) -> Binding {
    Binding {
        key,
        scope,
        action,
        label,
        help,
        in_footer,
    }
}

/// The longest help text a binding may have.
pub const HELP_WIDTH: usize = 26;

/// Every key binding of the dashboard.
#[rustfmt::skip] // One binding a line reads as the table it is.
pub const BINDINGS: &[Binding] = &[
    bind(Key::Char('1'), Scope::Global, Action::ShowSimulation, "sim", "simulation view", false),
    bind(Key::Char('2'), Scope::Global, Action::ShowConformance, "conf", "conformance view", false),
    bind(Key::Char('3'), Scope::Global, Action::ShowFlows, "flows", "flows (trainer) view", false),
    bind(Key::Char(' '), Scope::Simulation, Action::PlayPause, "play/pause", "play / pause", true),
    bind(Key::Char('.'), Scope::Simulation, Action::StepDay, "step", "step one day", true),
    bind(Key::Char('m'), Scope::Simulation, Action::NextMilestone, "milestone", "run to next milestone", true),
    bind(Key::Char('+'), Scope::Simulation, Action::Faster, "faster", "faster (days/second)", true),
    bind(Key::Char('-'), Scope::Simulation, Action::Slower, "slower", "slower", false),
    bind(Key::Char('s'), Scope::Simulation, Action::SortTable, "sort", "sort: wait, month, name", true),
    bind(Key::Char('0'), Scope::Simulation, Action::Restart, "restart", "restart from day one", false),
    bind(Key::Char('r'), Scope::Conformance, Action::Certify, "run", "run certify on target", true),
    bind(Key::Char('t'), Scope::Conformance, Action::NextTarget, "target", "target: reference, flaws", true),
    bind(Key::Down, Scope::Conformance, Action::Down, "down", "next / previous row", false),
    bind(Key::Char('j'), Scope::Conformance, Action::Down, "down", "next / previous row", false),
    bind(Key::Up, Scope::Conformance, Action::Up, "up", "next / previous row", false),
    bind(Key::Char('k'), Scope::Conformance, Action::Up, "up", "next / previous row", false),
    bind(Key::Enter, Scope::Conformance, Action::Toggle, "open", "open / close scenarios", true),
    bind(Key::Char('e'), Scope::Conformance, Action::Evidence, "evidence", "to the failure's exchange", true),
    bind(Key::Right, Scope::Conformance, Action::StepForward, "exchange", "next / previous exchange", false),
    bind(Key::Left, Scope::Conformance, Action::StepBack, "exchange", "next / previous exchange", false),
    bind(Key::Char('R'), Scope::Conformance, Action::Rerun, "rerun", "re-run this requirement", false),
    bind(Key::Enter, Scope::Flows, Action::Record, "record", "run and record the journey", true),
    bind(Key::Right, Scope::Flows, Action::StepForward, "next", "next message", true),
    bind(Key::Char('l'), Scope::Flows, Action::StepForward, "next", "next message", false),
    bind(Key::Left, Scope::Flows, Action::StepBack, "back", "previous message", true),
    bind(Key::Char('h'), Scope::Flows, Action::StepBack, "back", "previous message", false),
    bind(Key::Down, Scope::Flows, Action::Down, "down", "next journey", false),
    bind(Key::Char('j'), Scope::Flows, Action::Down, "down", "next journey", false),
    bind(Key::Up, Scope::Flows, Action::Up, "up", "previous journey", false),
    bind(Key::Char('k'), Scope::Flows, Action::Up, "up", "previous journey", false),
    bind(Key::Char('d'), Scope::Flows, Action::Language, "dansk/english", "narration: English/dansk", true),
    bind(Key::Char('p'), Scope::Global, Action::Presenter, "presenter", "presenter mode on/off", false),
    bind(Key::Char('x'), Scope::Global, Action::Export, "export", "export the screen", false),
    bind(Key::Char('/'), Scope::Global, Action::Filter, "filter", "filter the list", true),
    bind(Key::Char(':'), Scope::Global, Action::Palette, "cmd", "command palette", true),
    bind(Key::Char('?'), Scope::Global, Action::Help, "help", "this help", true),
    bind(Key::Esc, Scope::Global, Action::Back, "back", "close, clear filter", false),
    bind(Key::Char('q'), Scope::Global, Action::Quit, "quit", "quit", true),
    bind(Key::Ctrl('c'), Scope::Global, Action::Quit, "quit", "quit", false),
];

/// The action bound to `key` in `scope` (a view's own binding wins over a global one).
#[must_use]
pub fn lookup(scope: Scope, key: Key) -> Option<Action> {
    let find = |wanted: Scope| {
        BINDINGS
            .iter()
            .find(|b| b.scope == wanted && b.key == key)
            .map(|b| b.action)
    };
    find(scope).or_else(|| find(Scope::Global))
}

/// The footer's bindings for `scope`: the view's own first, then the global ones.
pub fn footer(scope: Scope) -> impl Iterator<Item = &'static Binding> {
    BINDINGS
        .iter()
        .filter(move |b| b.in_footer && b.scope == scope)
        .chain(
            BINDINGS
                .iter()
                .filter(|b| b.in_footer && b.scope == Scope::Global),
        )
}

/// The help overlay's sections, each binding once per action (a second key for the same action,
/// or for its opposite described in the same words, is shown beside the first).
#[must_use]
pub fn help_sections() -> Vec<(Scope, Vec<(String, &'static str)>)> {
    [
        Scope::Global,
        Scope::Simulation,
        Scope::Conformance,
        Scope::Flows,
    ]
    .into_iter()
    .map(|scope| {
        let mut rows: Vec<(String, &'static str, Action)> = Vec::new();
        for b in BINDINGS.iter().filter(|b| b.scope == scope) {
            // Keys for one action, or for two opposite ones described together, share a row.
            if let Some(row) = rows
                .iter_mut()
                .find(|row| row.2 == b.action || row.1 == b.help)
            {
                row.0 = format!("{} {}", row.0, b.key);
            } else {
                rows.push((b.key.to_string(), b.help, b.action));
            }
        }
        (scope, rows.into_iter().map(|(k, h, _)| (k, h)).collect())
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice_in_one_scope() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                assert!(
                    !(a.key == b.key && a.scope == b.scope),
                    "{} is bound twice in {:?}",
                    a.key,
                    a.scope
                );
            }
        }
    }

    #[test]
    fn a_view_binding_shadows_a_global_one_and_globals_reach_every_view() {
        assert_eq!(
            lookup(Scope::Simulation, Key::Char(' ')),
            Some(Action::PlayPause)
        );
        assert_eq!(lookup(Scope::Conformance, Key::Char(' ')), None);
        assert_eq!(
            lookup(Scope::Conformance, Key::Char('q')),
            Some(Action::Quit)
        );
        assert_eq!(
            lookup(Scope::Simulation, Key::Ctrl('c')),
            Some(Action::Quit)
        );
    }

    #[test]
    fn every_help_text_fits_its_column() {
        for b in BINDINGS {
            assert!(
                b.help.chars().count() <= HELP_WIDTH,
                "{:?} is too long",
                b.help
            );
        }
    }

    #[test]
    fn script_tokens_parse_to_the_keys_the_keyboard_gives() {
        assert_eq!(Key::parse("space"), Some(Key::Char(' ')));
        assert_eq!(Key::parse("m"), Some(Key::Char('m')));
        assert_eq!(Key::parse("ctrl-c"), Some(Key::Ctrl('c')));
        assert_eq!(Key::parse("Enter"), Some(Key::Enter));
        assert_eq!(Key::parse("bogus"), None);
    }

    #[test]
    fn the_help_lists_every_action_of_every_binding() {
        let sections = help_sections();
        for b in BINDINGS {
            let (_, rows) = sections
                .iter()
                .find(|(scope, _)| *scope == b.scope)
                .expect("every scope has a section");
            assert!(
                rows.iter()
                    .any(|(keys, help)| *help == b.help && keys.contains(&b.key.to_string())),
                "{} missing from the help",
                b.key
            );
        }
    }
}
