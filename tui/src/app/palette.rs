//! The prompts of the dashboard: the `/` filter and the `:` command palette with its
//! completion. Kept apart from the key and tick handling in `app.rs` because the palette's
//! commands are the longest part of the update function.

use chrono::NaiveDate;

use super::{App, COMMANDS, Effect, Prompt, SPEEDS, SortKey, Target, Update, View};
use crate::flows::Lang;
use crate::keys::Key;
use crate::script::Script;

impl App {
    pub(super) fn prompt_key(&mut self, prompt: Prompt, key: Key) -> Update {
        match prompt {
            Prompt::Filter(mut text) => match key {
                Key::Esc => {
                    self.filter_mut().clear();
                    self.conformance.selected = 0;
                }
                Key::Enter => {}
                Key::Backspace => {
                    text.pop();
                    self.set_filter(&text);
                    self.prompt = Some(Prompt::Filter(text));
                }
                Key::Char(c) => {
                    text.push(c);
                    self.set_filter(&text);
                    self.prompt = Some(Prompt::Filter(text));
                }
                _ => self.prompt = Some(Prompt::Filter(text)),
            },
            Prompt::Palette(mut text) => match key {
                Key::Esc => {}
                Key::Enter => return self.command(&text),
                Key::Tab => self.prompt = Some(Prompt::Palette(self.complete(&text))),
                Key::Backspace => {
                    text.pop();
                    self.prompt = Some(Prompt::Palette(text));
                }
                Key::Char(c) => {
                    text.push(c);
                    self.prompt = Some(Prompt::Palette(text));
                }
                _ => self.prompt = Some(Prompt::Palette(text)),
            },
        }
        Update::consumed()
    }

    pub(super) fn set_filter(&mut self, text: &str) {
        text.clone_into(self.filter_mut());
        self.conformance.selected = 0;
        self.flows.selected = 0;
    }

    /// What the palette offers for the word being typed in `text`.
    #[must_use]
    pub fn completions(&self, text: &str) -> Vec<String> {
        let (command, arg) = match text.split_once(' ') {
            Some((command, arg)) => (command, Some(arg)),
            None => (text, None),
        };
        match arg {
            None => COMMANDS
                .iter()
                .map(|(name, _)| (*name).to_owned())
                .filter(|name| name.starts_with(command))
                .collect(),
            Some(arg) => {
                let words: Vec<String> = match command {
                    "certify" => self.conformance.targets.iter().map(Target::word).collect(),
                    "rerun" => self
                        .conformance
                        .report
                        .iter()
                        .flat_map(|r| r.requirements.iter().map(|q| q.id.clone()))
                        .collect(),
                    "view" => vec![
                        "simulation".to_owned(),
                        "conformance".to_owned(),
                        "flows".to_owned(),
                    ],
                    "lang" => vec!["en".to_owned(), "da".to_owned()],
                    "presenter" => vec!["on".to_owned(), "off".to_owned()],
                    "sort" => vec!["wait".to_owned(), "month".to_owned(), "name".to_owned()],
                    "goto" => self
                        .run
                        .milestones()
                        .iter()
                        .map(|m| m.date.to_string())
                        .collect(),
                    _ => Vec::new(),
                };
                words.into_iter().filter(|w| w.starts_with(arg)).collect()
            }
        }
    }

    /// `text` extended by the longest prefix every completion shares (a command gets its space).
    pub(super) fn complete(&self, text: &str) -> String {
        let options = self.completions(text);
        let Some(first) = options.first() else {
            return text.to_owned();
        };
        let common = options.iter().fold(first.clone(), |common, option| {
            common
                .chars()
                .zip(option.chars())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect()
        });
        match text.split_once(' ') {
            None if options.len() == 1 => format!("{common} "),
            None => common,
            Some((command, _)) => format!("{command} {common}"),
        }
    }

    #[allow(
        clippy::too_many_lines,
        reason = "one arm per palette command, read as the table it is"
    )]
    pub(super) fn command(&mut self, text: &str) -> Update {
        let mut words = text.split_whitespace();
        let command = words.next().unwrap_or_default();
        let arg = words.next();
        let result: Result<Update, String> = match (command, arg) {
            ("quit" | "q", None) => Ok(self.quit()),
            ("help", None) => {
                self.help = true;
                Ok(Update::consumed())
            }
            ("view", Some(name)) if "simulation".starts_with(name) => {
                self.view = View::Simulation;
                Ok(Update::consumed())
            }
            ("view", Some(name)) if "conformance".starts_with(name) => {
                self.view = View::Conformance;
                Ok(Update::consumed())
            }
            ("view", Some(name)) if "flows".starts_with(name) => {
                self.view = View::Flows;
                Ok(Update::consumed())
            }
            ("lang", Some(code)) => Lang::parse(code)
                .map(|lang| {
                    self.lang = lang;
                    Update::consumed()
                })
                .ok_or_else(|| format!("lang {code}: give en or da")),
            ("presenter", Some(state @ ("on" | "off"))) => {
                self.presenter = state == "on";
                Ok(Update::consumed())
            }
            ("presenter", _) => Err("presenter on|off".to_owned()),
            ("sort", Some(key)) => SortKey::parse(key)
                .map(|key| {
                    self.sort = key;
                    Update::consumed()
                })
                .ok_or_else(|| format!("sort {key}: give wait, month or name")),
            ("speed", Some(days)) => match days.parse::<u32>() {
                Ok(days) => {
                    // The nearest offered speed at or below what was asked.
                    self.speed = SPEEDS.iter().rposition(|s| *s <= days).unwrap_or(0);
                    Ok(Update::consumed())
                }
                Err(_) => Err(format!("speed {days}: give days per second, e.g. speed 30")),
            },
            ("step", Some(days)) => match days.parse::<u32>() {
                Ok(days) => {
                    self.playing = false;
                    for _ in 0..days {
                        if !self.step() {
                            break;
                        }
                    }
                    Ok(Update::consumed())
                }
                Err(_) => Err(format!("step {days}: give a number of days")),
            },
            ("goto", Some(date)) => match date.parse::<NaiveDate>() {
                Ok(date) if date >= self.run.today() => {
                    self.playing = false;
                    self.run_to(date);
                    Ok(Update::consumed())
                }
                Ok(date) => Err(format!(
                    "goto {date}: that day is already closed (0 restarts)"
                )),
                Err(_) => Err(format!("goto {date}: give a date as YYYY-MM-DD")),
            },
            ("certify", target) => {
                let wanted = target.unwrap_or("reference");
                let known = self
                    .conformance
                    .targets
                    .iter()
                    .position(|t| t.word() == wanted);
                let is_file = std::path::Path::new(wanted).extension().is_some_and(|ext| {
                    ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml")
                });
                match known {
                    Some(index) => {
                        self.conformance.target = index;
                        self.view = View::Conformance;
                        Ok(self.certify())
                    }
                    // A target file is read when the run starts: a mistake in it comes back
                    // as the run's error, naming the file, line and field.
                    None if is_file => {
                        self.conformance.choose_file(wanted.into());
                        self.view = View::Conformance;
                        Ok(self.certify())
                    }
                    None => Err(format!(
                        "certify {wanted}: no such target; give reference, one of the flaws (tab completes) or a target file (.yaml)"
                    )),
                }
            }
            ("rerun", id) => {
                let known = id.is_none_or(|id| {
                    self.conformance
                        .report
                        .as_ref()
                        .is_some_and(|r| r.requirements.iter().any(|q| q.id == id))
                });
                if known {
                    self.view = View::Conformance;
                    Ok(self.rerun(id))
                } else {
                    Err(format!(
                        "rerun {}: no such requirement in the report on screen (tab completes)",
                        id.unwrap_or_default()
                    ))
                }
            }
            ("export", None) => Ok(Update::effect(Effect::Export)),
            ("save", Some(file)) => match &self.source {
                Some(source) => {
                    // The session up to the palette that asked for the save.
                    let session = &self.session[..self.palette_opened_at.min(self.session.len())];
                    let script = Script::recorded(
                        source.path.clone(),
                        source.overrides.seed,
                        source.overrides.population,
                        session,
                    );
                    Ok(Update::effect(Effect::Write {
                        path: file.into(),
                        text: script.to_yaml(),
                    }))
                }
                None => Err("save: this run was not loaded from a scenario file".to_owned()),
            },
            ("whatif", Some("off")) => {
                self.whatif = None;
                Ok(Update::consumed())
            }
            ("whatif", Some(set)) if set.contains('=') => match &self.source {
                Some(source) => {
                    let mut source = source.clone();
                    source.overrides.sets.push(set.to_owned());
                    self.status = Some(format!("running the what-if {set}…"));
                    return Update::effect(Effect::WhatIf {
                        source,
                        label: set.to_owned(),
                    });
                }
                None => Err("whatif: this run was not loaded from a scenario file".to_owned()),
            },
            ("whatif", _) => {
                Err("whatif FIELD=VALUE, e.g. whatif calendar.nemid_shutdown=2023-12-31".to_owned())
            }
            ("", None) => Ok(Update::consumed()),
            _ => Err(format!(
                "{text}: unknown command; tab completes, ? lists the keys"
            )),
        };
        match result {
            Ok(update) => {
                self.status = None;
                update
            }
            Err(message) => {
                self.status = Some(message);
                Update::consumed()
            }
        }
    }
}
