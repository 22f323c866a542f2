//! The policy scenario: what a planner writes in `scenarios/*.yaml` (`kind: policy`).
//!
//! Every number the model uses lives here as a documented field with a default. Defaults cite
//! `fixtures/digital_adoption.md` (the sourced facts) or DOMAIN.md where a figure exists; the
//! rest are marked *assumption* and are meant to be varied with `--set`.
//!
//! Dates are `chrono::NaiveDate` written as `YYYY-MM-DD`. A calendar date means "from the start
//! of this day the change is in effect".

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::PolicyError;

mod behaviour;
mod calendar;
mod capacities;
mod incidents;
mod population;

pub use behaviour::*;
pub use calendar::*;
pub use capacities::*;
pub use incidents::{
    CALL_TIMEOUT_MS, Incident, IncidentKind, IncidentTarget, OutageMode, kind_name,
};
pub use population::*;

/// Top-level `kind:` of a policy scenario file; the only accepted value is `policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// A whole-population policy run (this module).
    #[default]
    Policy,
}

/// A complete policy scenario (`kind: policy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyScenario {
    /// Always `policy`.
    pub kind: PolicyKind,
    /// Scenario name, used for the output folder and reports.
    pub name: String,
    /// Default seed of the run (the command's `--seed` overrides it). Default 1.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Who lives in the synthetic Denmark and what they hold on the start date.
    #[serde(default)]
    pub population: PopulationConfig,
    /// NemID milestones, the QR rollout and per-sector NemID cut-offs.
    #[serde(default)]
    pub calendar: CalendarConfig,
    /// Citizen Service counters and the support line.
    #[serde(default)]
    pub capacities: CapacitiesConfig,
    /// Login needs, authenticator events and migration decisions.
    #[serde(default)]
    pub behaviour: BehaviourConfig,
    /// What the outcome breaks figures down by.
    #[serde(default)]
    pub outputs: OutputsConfig,
    /// Incidents: components down, slow or failing, attacks (none by default; left out of the
    /// serialized scenario when empty, so scenarios without them read as before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<Incident>,
}

fn default_seed() -> u64 {
    1
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid literal date")
}

/// One step of a step function over age: from `from_age` (inclusive) until the next step's
/// `from_age`, the share is `share`. The first step of a curve must start at age 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeStep {
    /// First age (whole years) this share applies to.
    pub from_age: u8,
    /// Share of people of these ages with the property, 0..=1.
    pub share: f64,
}

/// A share that depends on age, as a step function (`[{from_age: 0, share: 0.1}, ...]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgeCurve(pub Vec<AgeStep>);

impl AgeCurve {
    fn steps(steps: &[(u8, f64)]) -> Self {
        AgeCurve(
            steps
                .iter()
                .map(|&(from_age, share)| AgeStep { from_age, share })
                .collect(),
        )
    }

    /// The share at `age` (the last step whose `from_age <= age`).
    #[must_use]
    pub fn at(&self, age: u8) -> f64 {
        self.0
            .iter()
            .rev()
            .find(|s| s.from_age <= age)
            .map_or(0.0, |s| s.share)
    }

    fn validate(&self, path: &str) -> Result<(), PolicyError> {
        if self.0.is_empty() {
            return Err(PolicyError::invalid(path, "needs at least one step"));
        }
        if self.0[0].from_age != 0 {
            return Err(PolicyError::invalid(
                &format!("{path}[0].from_age"),
                "the first step must start at age 0",
            ));
        }
        for (i, s) in self.0.iter().enumerate() {
            check_share(&format!("{path}[{i}].share"), s.share)?;
            if i > 0 && s.from_age <= self.0[i - 1].from_age {
                return Err(PolicyError::invalid(
                    &format!("{path}[{i}].from_age"),
                    "steps must be in increasing order of age",
                ));
            }
        }
        Ok(())
    }
}

fn check_share(path: &str, v: f64) -> Result<(), PolicyError> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(PolicyError::invalid(
            path,
            format!("must be a share between 0 and 1, got {v}"),
        ))
    }
}

fn check_non_negative(path: &str, v: f64) -> Result<(), PolicyError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(PolicyError::invalid(
            path,
            format!("must be a finite number >= 0, got {v}"),
        ))
    }
}

fn check_positive(path: &str, v: f64) -> Result<(), PolicyError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(PolicyError::invalid(
            path,
            format!("must be a finite number > 0, got {v}"),
        ))
    }
}

fn check_hours(path: &str, hours: &[f64]) -> Result<(), PolicyError> {
    if hours.len() != 7 {
        return Err(PolicyError::invalid(
            path,
            format!("needs 7 numbers (Monday first), got {}", hours.len()),
        ));
    }
    for (i, &h) in hours.iter().enumerate() {
        if !(h.is_finite() && (0.0..=24.0).contains(&h)) {
            return Err(PolicyError::invalid(
                &format!("{path}[{i}]"),
                format!("must be hours 0..=24, got {h}"),
            ));
        }
    }
    Ok(())
}

/// What the outcome breaks figures down by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputsConfig {
    /// Lower bounds of the age bands used for lock-outs and "without eID" by segment.
    /// Default `[0, 15, 30, 45, 65, 80]`.
    pub age_bands: Vec<u8>,
}

impl Default for OutputsConfig {
    fn default() -> Self {
        OutputsConfig {
            age_bands: vec![0, 15, 30, 45, 65, 80],
        }
    }
}

impl OutputsConfig {
    /// Checks the section; errors name the field under `outputs`.
    pub(super) fn validate(&self) -> Result<(), PolicyError> {
        let bands = &self.age_bands;
        if bands.first() != Some(&0) {
            return Err(PolicyError::invalid(
                "outputs.age_bands",
                "must start with 0",
            ));
        }
        if bands.windows(2).any(|w| w[1] <= w[0]) {
            return Err(PolicyError::invalid(
                "outputs.age_bands",
                "must be strictly increasing",
            ));
        }
        Ok(())
    }
}

impl PolicyScenario {
    /// Checks every field, section by section (each section validates itself). The error names
    /// the field path, e.g. `capacities.support.agents_day`.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.name.trim().is_empty() {
            return Err(PolicyError::invalid("name", "must not be empty"));
        }
        self.population.validate()?;
        self.calendar.validate()?;
        self.capacities.validate()?;
        self.behaviour.validate()?;
        self.outputs.validate()?;
        incidents::validate(&self.incidents)
    }
}

/// Monday = 0 .. Sunday = 6.
#[must_use]
pub fn weekday_index(d: NaiveDate) -> usize {
    d.weekday().num_days_from_monday() as usize
}
