//! The `incidents` section: things going wrong for a window of days — a component down or
//! paused, latency or an error rate injected, a CPR lock-out attack on the broker, a DDoS
//! protection that shuts out citizens abroad.
//!
//! The pure model turns each incident into outcomes of the actions it touches (see
//! `model::incidents`); a live run really injects it into the components. A scenario without
//! incidents runs exactly as before.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{check_positive, check_share};
use crate::policy::PolicyError;

/// What kind of incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// `component` is down (`mode: down`, calls are refused) or paused (`mode: paused`, calls
    /// get no answer) for the window.
    Outage,
    /// Every call to `component` takes `latency_ms` longer.
    Latency,
    /// A share `error_rate` of the calls to `component` fail with a server error.
    ErrorRate,
    /// Attackers send repeated login requests with victims' CPR numbers to the broker, which
    /// locks the victims out: a share `victims_share` of the citizens with a CPR number cannot
    /// log in through the broker for the window, told to try again later (DOMAIN.md, autumn
    /// 2022).
    CprLockoutAttack,
    /// A DDoS protection in front of the broker blocks traffic from abroad: citizens living
    /// abroad cannot log in through it for the window (DOMAIN.md).
    GeoBlock,
}

/// The part of the lab an outage, latency or error rate hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentTarget {
    /// The MitID broker: every login, enrolment and recovery (NemID logins pass through it too).
    Idp,
    /// NemID: NemID logins at services and on MitID.dk (MitID logins are untouched).
    Nemid,
    /// Citizen Service counters.
    CitizenService,
    /// The MitID support line.
    Support,
}

impl IncidentTarget {
    /// The name written in scenarios and reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            IncidentTarget::Idp => "idp",
            IncidentTarget::Nemid => "nemid",
            IncidentTarget::CitizenService => "citizen_service",
            IncidentTarget::Support => "support",
        }
    }
}

/// How a component is out during an outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageMode {
    /// Stopped: calls are refused at once.
    #[default]
    Down,
    /// Frozen: calls are accepted and never answered, so callers time out.
    Paused,
}

/// One incident of the `incidents` list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// A short name for reports, unique in the scenario.
    pub name: String,
    /// Where the facts come from (a replay of a real incident cites its source).
    #[serde(default)]
    pub source: String,
    /// What goes wrong.
    pub kind: IncidentKind,
    /// First day of the window (from its start).
    pub from: NaiveDate,
    /// First day back to normal (the window ends at its start); after `from`.
    pub until: NaiveDate,
    /// What an `outage`, `latency` or `error_rate` hits; not set for the attacks.
    #[serde(default)]
    pub component: Option<IncidentTarget>,
    /// `outage` only: down (default) or paused.
    #[serde(default)]
    pub mode: Option<OutageMode>,
    /// `outage` only: whether the lab starts the component again at the end of the window
    /// (default true). A live run leaves a component that is not restarted out to the end.
    #[serde(default)]
    pub restart: Option<bool>,
    /// `latency` only: milliseconds added to every call, > 0.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// `error_rate` only: the share of calls that fail, 0 < rate <= 1.
    #[serde(default)]
    pub error_rate: Option<f64>,
    /// `cpr_lockout_attack` only: the share of citizens with a CPR number locked out,
    /// 0 < share <= 1.
    #[serde(default)]
    pub victims_share: Option<f64>,
}

/// How long a call waits before the lab calls the other side unresponsive (the conformance
/// browser's timeout): added latency at least this long turns every call into a timeout.
pub const CALL_TIMEOUT_MS: u64 = 20_000;

impl Incident {
    /// Whether the window ends with the component started again (outages only).
    #[must_use]
    pub fn restarts(&self) -> bool {
        self.restart.unwrap_or(true)
    }

    /// Checks one incident; errors name the field under `incidents[index]`.
    fn validate(&self, index: usize) -> Result<(), PolicyError> {
        let at = |field: &str| format!("incidents[{index}].{field}");
        if self.name.trim().is_empty() {
            return Err(PolicyError::invalid(&at("name"), "must not be empty"));
        }
        if self.until <= self.from {
            return Err(PolicyError::invalid(
                &at("until"),
                format!("must be after `from` ({})", self.from),
            ));
        }
        let kind = self.kind;
        let wants_component = matches!(
            kind,
            IncidentKind::Outage | IncidentKind::Latency | IncidentKind::ErrorRate
        );
        match (wants_component, self.component) {
            (true, None) => {
                return Err(PolicyError::invalid(
                    &at("component"),
                    "says what the incident hits: idp, nemid, citizen_service or support",
                ));
            }
            (false, Some(_)) => {
                return Err(PolicyError::invalid(
                    &at("component"),
                    "an attack always hits the broker; leave `component` out",
                ));
            }
            _ => {}
        }
        // Each kind's own field is required, every other kind's is refused, so a typo in the
        // kind is not silently a different incident.
        let own = |field: &str, set: bool, own_kind: IncidentKind| -> Result<(), PolicyError> {
            match (kind == own_kind, set) {
                (true, false) if own_kind != IncidentKind::Outage => Err(PolicyError::invalid(
                    &at(field),
                    "is required for this kind",
                )),
                (false, true) => Err(PolicyError::invalid(
                    &at(field),
                    format!("only applies to kind `{}`", kind_name(own_kind)),
                )),
                _ => Ok(()),
            }
        };
        own("mode", self.mode.is_some(), IncidentKind::Outage)?;
        own("restart", self.restart.is_some(), IncidentKind::Outage)?;
        own(
            "latency_ms",
            self.latency_ms.is_some(),
            IncidentKind::Latency,
        )?;
        own(
            "error_rate",
            self.error_rate.is_some(),
            IncidentKind::ErrorRate,
        )?;
        own(
            "victims_share",
            self.victims_share.is_some(),
            IncidentKind::CprLockoutAttack,
        )?;
        if let Some(ms) = self.latency_ms {
            check_positive(&at("latency_ms"), ms as f64)?;
        }
        for (field, share) in [
            ("error_rate", self.error_rate),
            ("victims_share", self.victims_share),
        ] {
            if let Some(share) = share {
                check_share(&at(field), share)?;
                if share <= 0.0 {
                    return Err(PolicyError::invalid(&at(field), "must be above 0"));
                }
            }
        }
        Ok(())
    }
}

/// The name of `kind` as written in scenarios.
#[must_use]
pub fn kind_name(kind: IncidentKind) -> &'static str {
    match kind {
        IncidentKind::Outage => "outage",
        IncidentKind::Latency => "latency",
        IncidentKind::ErrorRate => "error_rate",
        IncidentKind::CprLockoutAttack => "cpr_lockout_attack",
        IncidentKind::GeoBlock => "geo_block",
    }
}

/// Checks the `incidents` list; errors name the field, e.g. `incidents[1].until`.
pub(super) fn validate(incidents: &[Incident]) -> Result<(), PolicyError> {
    for (i, incident) in incidents.iter().enumerate() {
        incident.validate(i)?;
        if incidents[..i].iter().any(|o| o.name == incident.name) {
            return Err(PolicyError::invalid(
                &format!("incidents[{i}].name"),
                "another incident already has this name",
            ));
        }
    }
    Ok(())
}
