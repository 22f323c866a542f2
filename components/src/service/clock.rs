//! The clock the register, Citizen Service and the support line read "now" from.
//!
//! Rules such as "a witness has had MitID for more than 30 days" or "no temporary PIN within 5
//! days of a phone-number change" need time to pass in tests without waiting, so the services
//! never read the wall clock directly: they share one `LabClock`, which either follows the wall
//! clock with an adjustable offset or stands still at a chosen instant until advanced.
//!
//! The embedded components hold clones of one in-memory clock. Components in separate
//! processes (one container each) cannot share memory, so they share a *clock file* instead
//! ([`LabClock::file`]): a file on a volume every container mounts, holding the clock's state.
//! Every read of "now" reads the file and every move rewrites it (a temporary file renamed over
//! it, so a reader sees the old state or the new one, never half of one). The broker's control
//! API moves the clock it holds, whichever kind it is, so one `PUT /control/clock` moves every
//! component in both runtimes.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, NaiveDateTime};

#[derive(Debug)]
struct Inner {
    frozen: AtomicBool,
    /// Frozen: the instant (unix seconds). Running: the offset added to the wall clock.
    value: AtomicI64,
}

/// Where a clock keeps its state.
#[derive(Debug)]
enum Source {
    Memory(Inner),
    File(PathBuf),
}

/// The clock's state as the clock file holds it: `frozen <unix seconds>` or `running <offset>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    frozen: bool,
    value: i64,
}

impl State {
    const WALL: State = State {
        frozen: false,
        value: 0,
    };

    fn parse(text: &str) -> Option<State> {
        let (kind, value) = text.trim().split_once(' ')?;
        let value = value.parse().ok()?;
        match kind {
            "frozen" => Some(State {
                frozen: true,
                value,
            }),
            "running" => Some(State {
                frozen: false,
                value,
            }),
            _ => None,
        }
    }

    fn render(self) -> String {
        let kind = if self.frozen { "frozen" } else { "running" };
        format!("{kind} {}\n", self.value)
    }
}

/// A shared clock file could not be written (moving the clock failed; it still says what it
/// said before).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the lab clock file {path}: {source}")]
pub struct ClockError {
    path: PathBuf,
    source: std::io::Error,
}

/// A cloneable handle on one shared clock (unix seconds, UTC).
#[derive(Debug, Clone)]
pub struct LabClock {
    inner: Arc<Source>,
}

impl Default for LabClock {
    fn default() -> Self {
        Self::system()
    }
}

impl LabClock {
    /// Follows the wall clock.
    #[must_use]
    pub fn system() -> Self {
        Self {
            inner: Arc::new(Source::Memory(Inner {
                frozen: AtomicBool::new(false),
                value: AtomicI64::new(0),
            })),
        }
    }

    /// Stands still at `unix_seconds` until advanced.
    #[must_use]
    pub fn fixed(unix_seconds: i64) -> Self {
        Self {
            inner: Arc::new(Source::Memory(Inner {
                frozen: AtomicBool::new(true),
                value: AtomicI64::new(unix_seconds),
            })),
        }
    }

    /// The clock whose state is in the file at `path`, shared with every process that reads
    /// the same file. A missing file is the wall clock (nobody has moved it yet).
    #[must_use]
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self {
            inner: Arc::new(Source::File(path.into())),
        }
    }

    /// The clock file this clock reads, if it is one.
    #[must_use]
    pub fn file_path(&self) -> Option<&Path> {
        match &*self.inner {
            Source::File(path) => Some(path),
            Source::Memory(_) => None,
        }
    }

    fn state(&self) -> State {
        match &*self.inner {
            // Value first: a reader between the two stores of a move sees the wall clock
            // shifted, never 1970 (see `freeze_at`).
            Source::Memory(inner) => State {
                value: inner.value.load(Ordering::SeqCst),
                frozen: inner.frozen.load(Ordering::SeqCst),
            },
            Source::File(path) => read_state(path),
        }
    }

    fn set(&self, state: State) -> Result<(), ClockError> {
        match &*self.inner {
            Source::Memory(inner) => {
                // Value first: a reader between the two stores sees the wall clock shifted,
                // never 1970.
                inner.value.store(state.value, Ordering::SeqCst);
                inner.frozen.store(state.frozen, Ordering::SeqCst);
                Ok(())
            }
            Source::File(path) => write_state(path, state),
        }
    }

    /// Stands still at midnight UTC starting `date`.
    #[must_use]
    pub fn fixed_on(date: NaiveDate) -> Self {
        Self::fixed(
            date.and_hms_opt(0, 0, 0)
                .map_or(0, |t| t.and_utc().timestamp()),
        )
    }

    /// Now, in unix seconds.
    #[must_use]
    pub fn now(&self) -> i64 {
        let state = self.state();
        if state.frozen {
            state.value
        } else {
            let wall = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            wall + state.value
        }
    }

    /// Moves the clock forward (or back, with a negative number) by `seconds`.
    pub fn advance(&self, seconds: i64) -> Result<(), ClockError> {
        if let Source::Memory(inner) = &*self.inner {
            inner.value.fetch_add(seconds, Ordering::SeqCst);
            return Ok(());
        }
        // One writer (the broker's control API) moves a file clock, so read-then-write is
        // not racing another move.
        let state = self.state();
        self.set(State {
            value: state.value.saturating_add(seconds),
            ..state
        })
    }

    /// Stands still at `unix_seconds` from now on (until advanced or released).
    pub fn freeze_at(&self, unix_seconds: i64) -> Result<(), ClockError> {
        self.set(State {
            frozen: true,
            value: unix_seconds,
        })
    }

    /// Follows the wall clock again, without offset.
    pub fn release(&self) -> Result<(), ClockError> {
        if let Source::Memory(inner) = &*self.inner {
            // Frozen flag first: a reader in between sees the old instant, never 1970.
            inner.frozen.store(false, Ordering::SeqCst);
            inner.value.store(0, Ordering::SeqCst);
            return Ok(());
        }
        self.set(State::WALL)
    }

    /// Whether the clock stands still.
    #[must_use]
    pub fn is_frozen(&self) -> bool {
        self.state().frozen
    }

    /// Now as a UTC date-time.
    #[must_use]
    pub fn now_utc(&self) -> NaiveDateTime {
        DateTime::from_timestamp(self.now(), 0)
            .unwrap_or_default()
            .naive_utc()
    }

    /// Today's date (UTC).
    #[must_use]
    pub fn today(&self) -> NaiveDate {
        self.now_utc().date()
    }
}

/// The state in a clock file. A file nobody wrote yet is the wall clock; one that does not
/// parse (nothing the lab writes) is reported once and read as the wall clock, as a component
/// whose clock file vanished would do.
fn read_state(path: &Path) -> State {
    match std::fs::read_to_string(path) {
        Ok(text) => State::parse(&text).unwrap_or_else(|| {
            static REPORTED: std::sync::Once = std::sync::Once::new();
            REPORTED.call_once(|| {
                eprintln!(
                    "lab clock file {}: {text:?} is not `frozen SECONDS` or `running OFFSET`; following the wall clock",
                    path.display()
                );
            });
            State::WALL
        }),
        Err(_) => State::WALL,
    }
}

/// Writes `state` next to `path` and renames it over `path`: readers in other processes see the
/// whole old state or the whole new one.
fn write_state(path: &Path, state: State) -> Result<(), ClockError> {
    let error = |source| ClockError {
        path: path.to_owned(),
        source,
    };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, state.render()).map_err(error)?;
    std::fs::rename(&temporary, path).map_err(|source| {
        let _ = std::fs::remove_file(&temporary);
        error(source)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_advanced_and_clones_share_it() {
        let clock = LabClock::fixed_on(NaiveDate::from_ymd_opt(2023, 6, 1).unwrap());
        let other = clock.clone();
        let start = clock.now();
        assert_eq!(other.now(), start);
        other.advance(86_400 * 31).unwrap();
        assert_eq!(clock.now(), start + 86_400 * 31);
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2023, 7, 2).unwrap());
    }

    #[test]
    fn two_clocks_on_one_file_are_one_clock() {
        let dir = std::env::temp_dir().join(format!("lab-clock-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("now");
        let _ = std::fs::remove_file(&path);
        // Two processes' views of the same file (the broker's and a neighbour's).
        let broker = LabClock::file(&path);
        let neighbour = LabClock::file(&path);
        assert!(!neighbour.is_frozen(), "no file yet: the wall clock");
        let june = NaiveDate::from_ymd_opt(2023, 6, 1).unwrap();
        let noon = june.and_hms_opt(12, 0, 0).unwrap().and_utc().timestamp();
        broker.freeze_at(noon).unwrap();
        assert!(neighbour.is_frozen());
        assert_eq!(neighbour.now(), noon);
        broker.advance(86_400).unwrap();
        assert_eq!(
            neighbour.today(),
            NaiveDate::from_ymd_opt(2023, 6, 2).unwrap()
        );
        broker.release().unwrap();
        assert!(!neighbour.is_frozen());
        assert!(neighbour.today() > june, "back on the wall clock");
        std::fs::write(&path, "garbage").unwrap();
        assert!(
            !neighbour.is_frozen(),
            "an unreadable file reads as the wall clock"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_clock_file_that_cannot_be_written_says_so_and_keeps_its_state() {
        let clock = LabClock::file("/nonexistent-lab-clock-dir/now");
        let err = clock.freeze_at(0).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent-lab-clock-dir/now"),
            "{err}"
        );
        assert!(!clock.is_frozen());
    }
}
