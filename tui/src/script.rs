//! Demo scripts (`--script FILE`): a scenario, a seed and keystrokes with pauses, replayed as
//! if typed. One format serves a trainer's rehearsed demo, a bug report and a test fixture.
//!
//! ```yaml
//! scenario: scenarios/demo-100k.yaml
//! seed: 100
//! population: 5000        # optional: fewer citizens for a quick demo
//! steps:
//!   - keys: m             # space-separated keys: a character or space, enter, esc, tab,
//!   - pause: 1.5          #   backspace, up, down, left, right, ctrl-c; pause in seconds
//!   - text: speed 30      # characters typed one by one (e.g. into the palette)
//! ```
//!
//! The file is read by the same loader as scenarios, so a mistake is named by file, line and
//! field.

use std::path::PathBuf;

use mitid_sim::scenario::{ScenarioDocument, ScenarioError};
use serde::{Deserialize, Serialize};

use crate::app::TICKS_PER_SECOND;
use crate::keys::Key;

/// A demo script as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// The scenario file, relative to the working directory.
    pub scenario: PathBuf,
    /// The run's seed (default: the scenario's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// `population.size` for this demo (default: the scenario's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population: Option<u32>,
    /// What happens, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// One step: exactly one of its fields.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<f64>,
}

/// What the runtime replays: a key, or a number of clock ticks to let pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Key(Key),
    Wait(u32),
}

/// One thing that happened in a session, as the dashboard records it for `:save`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A key; `typed` when it went into the palette or a filter (saved as `text`).
    Key { key: Key, typed: bool },
    /// Clock ticks that passed.
    Wait(u32),
}

impl Script {
    /// The script that replays `session` on `scenario`: keys typed into the palette or a
    /// filter become `text` steps, other keys `keys` steps, time between them `pause`s.
    #[must_use]
    pub fn recorded(
        scenario: PathBuf,
        seed: Option<u64>,
        population: Option<u32>,
        session: &[Recorded],
    ) -> Script {
        let mut steps: Vec<Step> = Vec::new();
        for event in session {
            let last = steps.last_mut();
            match *event {
                Recorded::Wait(ticks) => {
                    let seconds = f64::from(ticks) / f64::from(TICKS_PER_SECOND);
                    match last {
                        Some(Step {
                            pause: Some(pause), ..
                        }) => *pause += seconds,
                        _ => steps.push(Step {
                            pause: Some(seconds),
                            ..Step::default()
                        }),
                    }
                }
                Recorded::Key {
                    key: Key::Char(c),
                    typed: true,
                } => match last {
                    Some(Step {
                        text: Some(text), ..
                    }) => text.push(c),
                    _ => steps.push(Step {
                        text: Some(c.to_string()),
                        ..Step::default()
                    }),
                },
                Recorded::Key { key, .. } => match last {
                    Some(Step {
                        keys: Some(keys), ..
                    }) => {
                        keys.push(' ');
                        keys.push_str(&key.token());
                    }
                    _ => steps.push(Step {
                        keys: Some(key.token()),
                        ..Step::default()
                    }),
                },
            }
        }
        // Tenths of a second, as the clock counts them (sums of tenths drift in binary).
        for step in &mut steps {
            if let Some(pause) = &mut step.pause {
                *pause = (*pause * 10.0).round() / 10.0;
            }
        }
        Script {
            scenario,
            seed,
            population,
            steps,
        }
    }

    /// The script as YAML, under a comment saying how to replay it.
    #[must_use]
    pub fn to_yaml(&self) -> String {
        let body = serde_yaml::to_string(self).unwrap_or_default();
        format!("# A dashboard session: replay it with `mitid-lab tui --script FILE`.\n{body}")
    }

    /// Parses and checks a script; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, ScenarioError> {
        let document = ScenarioDocument::parse(file, text)?;
        let script: Script = document.load(&[])?;
        script
            .events()
            .map_err(|(field, message)| document.invalid(&field, &message, &[]))?;
        Ok(script)
    }

    /// The script's steps as keys and waits; an error names the step's field and what is wrong.
    pub fn events(&self) -> Result<Vec<Event>, (String, String)> {
        let mut events = Vec::new();
        for (index, step) in self.steps.iter().enumerate() {
            match (&step.keys, &step.text, step.pause) {
                (Some(keys), None, None) => {
                    for token in keys.split_whitespace() {
                        let key = Key::parse(token).ok_or_else(|| {
                            (
                                format!("steps[{index}].keys"),
                                format!("`{token}` is not a key: give a character or one of space, enter, esc, tab, backspace, up, down, left, right, ctrl-c"),
                            )
                        })?;
                        events.push(Event::Key(key));
                    }
                }
                (None, Some(text), None) => {
                    events.extend(text.chars().map(|c| Event::Key(Key::Char(c))));
                }
                (None, None, Some(seconds))
                    if seconds.is_finite() && (0.0..=3600.0).contains(&seconds) =>
                {
                    events.push(Event::Wait(
                        (seconds * f64::from(TICKS_PER_SECOND)).round() as u32
                    ));
                }
                (None, None, Some(seconds)) => {
                    return Err((
                        format!("steps[{index}].pause"),
                        format!("{seconds} is not a pause: give seconds from 0 to 3600"),
                    ));
                }
                _ => {
                    return Err((
                        format!("steps[{index}]"),
                        "a step is exactly one of `keys`, `text` or `pause`".to_owned(),
                    ));
                }
            }
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_becomes_keys_and_ticks_in_order() {
        let script = Script::parse(
            "demo.yaml",
            "scenario: s.yaml\nsteps:\n  - keys: m space\n  - pause: 0.5\n  - text: ab\n",
        )
        .expect("valid script");
        assert_eq!(
            script.events().expect("valid steps"),
            vec![
                Event::Key(Key::Char('m')),
                Event::Key(Key::Char(' ')),
                Event::Wait(5),
                Event::Key(Key::Char('a')),
                Event::Key(Key::Char('b')),
            ]
        );
    }

    #[test]
    fn a_recorded_session_saves_as_a_script_that_replays_it() {
        let key = |key, typed| Recorded::Key { key, typed };
        let session = [
            Recorded::Wait(3),
            Recorded::Wait(2),
            key(Key::Char('m'), false),
            key(Key::Char(' '), false),
            Recorded::Wait(15),
            key(Key::Char(':'), false),
            key(Key::Char('s'), true),
            key(Key::Char(' '), true),
            key(Key::Char('9'), true),
            key(Key::Backspace, true),
            key(Key::Enter, true),
        ];
        let script = Script::recorded("s.yaml".into(), Some(7), None, &session);
        let yaml = script.to_yaml();
        let again = Script::parse("saved.yaml", &yaml).expect("the saved script parses");
        assert_eq!(again, script);
        let replayed: Vec<Event> = again.events().expect("valid steps");
        let expected: Vec<Event> = session.iter().fold(Vec::new(), |mut events, recorded| {
            match (*recorded, events.last_mut()) {
                (Recorded::Wait(n), Some(Event::Wait(m))) => *m += n,
                (Recorded::Wait(n), _) => events.push(Event::Wait(n)),
                (Recorded::Key { key, .. }, _) => events.push(Event::Key(key)),
            }
            events
        });
        assert_eq!(replayed, expected, "{yaml}");
    }

    #[test]
    fn a_bad_key_is_named_by_file_line_and_field() {
        let err = Script::parse(
            "demo.yaml",
            "scenario: s.yaml\nsteps:\n  - pause: 1\n  - keys: m bogus\n",
        )
        .expect_err("bogus is no key");
        let text = err.to_string();
        assert!(text.starts_with("demo.yaml:4: steps[1].keys"), "{text}");
        assert!(text.contains("`bogus` is not a key"), "{text}");
    }

    #[test]
    fn a_step_with_two_things_or_an_unknown_field_is_refused() {
        let two = Script::parse(
            "d.yaml",
            "scenario: s.yaml\nsteps:\n  - keys: m\n    pause: 1\n",
        )
        .expect_err("two fields in one step");
        assert!(two.to_string().contains("exactly one of"), "{two}");
        let unknown =
            Script::parse("d.yaml", "scenario: s.yaml\nspeed: 3\n").expect_err("no such field");
        assert!(
            unknown.to_string().starts_with("d.yaml:2: speed"),
            "{unknown}"
        );
    }
}
