//! The policy model: a synthetic Denmark living through the move from NemID to MitID.
//!
//! * [`scenario`] — the `kind: policy` YAML as typed, documented, validated Rust
//!   ([`PolicyScenario`]).
//! * [`fixtures`] — the embedded municipality and age fixtures.
//! * [`population`] — population synthesis into compact [`population::Citizen`] records.
//! * [`calendar`] — the scenario's dates turned into simulation instants and per-day lookups.
//! * [`citizen_service`] — Borgerservice appointment books per municipality.
//! * The support line is the kernel's [`crate::resources::CallCentre`], driven from `model`.
//! * `model` — citizens' behaviour: the handlers of every event.
//! * [`PolicyRun`] — a run as an object to advance, read and finish; [`run_policy`] runs one
//!   through.
//! * [`port`] — the [`ActionPort`] every action a real system would see goes out through;
//!   [`ModelRules`] resolves them by the model's own rules.
//! * [`incidents`] — the scenario's incidents in the model: which actions fail in a window.
//! * [`live`] — a live run's sample of citizens and their routine logins.
//! * [`outcome`] — what a run returns ([`PolicyOutcome`], one [`DayRow`] per day).
//!
//! Everything is deterministic: the same scenario and seed give an identical [`PolicyOutcome`].

// The docs here are prose about MitID, NemID, MitID.dk and the like: product names, not code
// identifiers, so they are not put in backticks.
#![allow(clippy::doc_markdown)]

pub mod calendar;
pub mod citizen_service;
pub mod fixtures;
pub mod incidents;
pub mod live;
mod model;
pub mod outcome;
pub mod population;
pub mod port;
mod run;
pub mod scenario;

pub use live::{LiveSample, NeedRates, RoutineLogins, SampleSize};
pub use outcome::{
    DayRow, IncidentFigures, Milestone, MonthLoad, MunicipalityLoad, PolicyOutcome, RunTotals,
};
pub use port::{
    Action, ActionPort, ActionRequest, ActionTally, AuthenticatorProblem, CallReason, Credential,
    Failure, MigrationRoute, ModelRules, Outcome, RecoveryRoute, Visit,
};
pub use run::{CitizenView, EventKind, ModelEvent, PolicyRun, Stage, Step};
pub use scenario::{
    AgeCurve, AgeStep, AuthenticatorEventRates, BehaviourConfig, CalendarConfig, CapacitiesConfig,
    CapacitySurge, CitizenServiceCapacity, ExtraCounters, HazardPeriod, Incident, IncidentKind,
    IncidentTarget, LoginNeedRate, MigrationBehaviour, MunicipalityCapacity, NemidBehaviour,
    OutageMode, OutputsConfig, PolicyKind, PolicyScenario, PopulationConfig, Sector, SectorCutoff,
    SegmentShares, SupportCapacity,
};

use crate::kernel::ScheduleError;

/// Why a policy run could not be set up or completed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// A scenario field is invalid; `path` is its dotted address, e.g.
    /// `capacities.support.agents_day`.
    #[error("{path}: {message}")]
    Invalid {
        /// Dotted field path.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// An embedded fixture could not be parsed (a build problem, not a user error).
    #[error("{fixture} line {line}: {message}")]
    Fixture {
        /// The fixture file.
        fixture: &'static str,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The model asked the kernel for an impossible schedule (a bug in the model).
    #[error("the model scheduled an impossible event: {0}")]
    Schedule(#[from] ScheduleError),
}

impl PolicyError {
    /// An [`PolicyError::Invalid`] for field `path`.
    #[must_use]
    pub fn invalid(path: &str, message: impl Into<String>) -> Self {
        PolicyError::Invalid {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    /// The field path, for errors about a scenario field.
    #[must_use]
    pub fn field_path(&self) -> Option<&str> {
        match self {
            PolicyError::Invalid { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// Runs `scenario` with `seed` (the scenario's own `seed` field is ignored here: the caller
/// decides, usually `--seed` or the file's value). `progress` is called with the fraction of
/// simulated days done (0..=1), once per simulated day.
pub fn run_policy(
    scenario: &PolicyScenario,
    seed: u64,
    progress: &mut dyn FnMut(f64),
) -> Result<PolicyOutcome, PolicyError> {
    let mut run = PolicyRun::new(scenario, seed)?;
    let days = f64::from(run.calendar().days);
    while let Step::DayClosed(_) = run.step_day()? {
        progress(f64::from(run.today()) / days);
    }
    run.finish()
}
