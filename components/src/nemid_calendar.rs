//! The NemID phase-out calendar as data (`fixtures/nemid-calendar.yaml`): the milestones of
//! DOMAIN.md and the day each sector of service providers stops accepting NemID logins.
//!
//! One source for every date: the `IdP` (which NemID logins, orders and migrations it still
//! allows), the reference service provider (which NemID identities it still lets in) and the
//! conformance steps all read this calendar against their `LabClock`.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The calendar the lab ships.
pub const NEMID_CALENDAR_YAML: &str = include_str!("../../fixtures/nemid-calendar.yaml");
const BUILTIN_FILE: &str = "fixtures/nemid-calendar.yaml";

/// The sector a service provider belongs to when none is configured.
pub const DEFAULT_SECTOR: &str = "public";

/// The milestones the lab's components act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    /// Banks, mobile banking and online shops refuse NemID.
    PrivateSectorCutoff,
    /// Key cards and temporary passwords can no longer be ordered by post (via the support line).
    PostOrdersEnd,
    /// NemID can no longer be used to get MitID.
    MitidMigrationEnds,
    /// NemID support closes; no new NemID (key card, temporary password) is issued.
    SupportCloses,
    /// NemID is shut down: every NemID login is refused.
    Shutdown,
}

impl Milestone {
    pub const ALL: [Milestone; 5] = [
        Milestone::PrivateSectorCutoff,
        Milestone::PostOrdersEnd,
        Milestone::MitidMigrationEnds,
        Milestone::SupportCloses,
        Milestone::Shutdown,
    ];

    /// The id used in the fixture.
    #[must_use]
    pub const fn id(self) -> &'static str {
        match self {
            Milestone::PrivateSectorCutoff => "private_sector_cutoff",
            Milestone::PostOrdersEnd => "post_orders_end",
            Milestone::MitidMigrationEnds => "mitid_migration_ends",
            Milestone::SupportCloses => "support_closes",
            Milestone::Shutdown => "shutdown",
        }
    }
}

/// One milestone of the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MilestoneEntry {
    pub id: Milestone,
    /// First day the change applies.
    pub date: NaiveDate,
    pub what: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMilestone {
    id: Milestone,
    date: String,
    what: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    milestones: Vec<RawMilestone>,
    sectors: BTreeMap<String, String>,
}

/// A calendar that does not load, naming the file and the field.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("NemID calendar {file}: {detail}")]
    Parse { file: String, detail: String },
    #[error("NemID calendar {file}: field `{field}`: {detail}")]
    Invalid {
        file: String,
        field: String,
        detail: String,
    },
}

/// The loaded, checked calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NemidCalendar {
    /// In date order.
    pub milestones: Vec<MilestoneEntry>,
    /// Sector → first day its NemID logins are refused.
    pub sectors: BTreeMap<String, NaiveDate>,
}

/// Why a NemID login is refused on a given day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutoffPassed {
    pub sector: String,
    pub cutoff: NaiveDate,
    /// The whole of NemID is shut down (not just this sector's logins).
    pub shut_down: bool,
}

impl CutoffPassed {
    /// The OAuth `error_description` the `IdP` answers with (documented in `CONTROL_API.md`).
    #[must_use]
    pub fn description(&self) -> String {
        if self.shut_down {
            format!(
                "nemid_shut_down: NemID was shut down on {}; log in with MitID",
                self.cutoff
            )
        } else {
            format!(
                "nemid_cutoff_passed: services of sector `{}` refuse NemID from {}; log in with MitID",
                self.sector, self.cutoff
            )
        }
    }
}

impl fmt::Display for CutoffPassed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description())
    }
}

fn parse_date(text: &str, file: &str, field: &str) -> Result<NaiveDate, CalendarError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| CalendarError::Invalid {
        file: file.to_owned(),
        field: field.to_owned(),
        detail: format!("`{text}` is not a YYYY-MM-DD date: {e}"),
    })
}

impl NemidCalendar {
    /// The calendar the lab ships.
    ///
    /// # Panics
    /// Never in a built crate: the fixture is compiled in and checked by a test.
    #[must_use]
    pub fn builtin() -> NemidCalendar {
        NemidCalendar::from_yaml(NEMID_CALENDAR_YAML, BUILTIN_FILE)
            .unwrap_or_else(|e| panic!("built-in NemID calendar is broken: {e}"))
    }

    /// Parses and checks a calendar; `file` names it in errors (serde's text carries the line).
    pub fn from_yaml(text: &str, file: &str) -> Result<NemidCalendar, CalendarError> {
        let raw: RawCalendar = serde_yaml::from_str(text).map_err(|e| CalendarError::Parse {
            file: file.to_owned(),
            detail: e.to_string(),
        })?;
        let invalid = |field: String, detail: String| CalendarError::Invalid {
            file: file.to_owned(),
            field,
            detail,
        };
        let mut milestones = Vec::with_capacity(raw.milestones.len());
        for (i, m) in raw.milestones.into_iter().enumerate() {
            let date = parse_date(&m.date, file, &format!("milestones[{i}].date"))?;
            if milestones.iter().any(|e: &MilestoneEntry| e.id == m.id) {
                return Err(invalid(
                    format!("milestones[{i}].id"),
                    format!("`{}` is listed twice", m.id.id()),
                ));
            }
            milestones.push(MilestoneEntry {
                id: m.id,
                date,
                what: m.what,
            });
        }
        for needed in Milestone::ALL {
            if !milestones.iter().any(|e| e.id == needed) {
                return Err(invalid(
                    "milestones".into(),
                    format!("milestone `{}` is missing", needed.id()),
                ));
            }
        }
        milestones.sort_by_key(|m| m.date);
        let shutdown = milestones
            .iter()
            .find(|m| m.id == Milestone::Shutdown)
            .map(|m| m.date)
            .unwrap_or_default();
        let mut sectors = BTreeMap::new();
        for (name, date) in raw.sectors {
            let field = format!("sectors.{name}");
            let date = parse_date(&date, file, &field)?;
            if date > shutdown {
                return Err(invalid(
                    field,
                    format!("{date} is after the shutdown on {shutdown}"),
                ));
            }
            sectors.insert(name, date);
        }
        if !sectors.contains_key(DEFAULT_SECTOR) {
            return Err(invalid(
                "sectors".into(),
                format!("the default sector `{DEFAULT_SECTOR}` is missing"),
            ));
        }
        Ok(NemidCalendar {
            milestones,
            sectors,
        })
    }

    /// The first day of `milestone`.
    #[must_use]
    pub fn date(&self, milestone: Milestone) -> NaiveDate {
        self.milestones
            .iter()
            .find(|m| m.id == milestone)
            .map(|m| m.date)
            .unwrap_or_default()
    }

    /// Whether `milestone` has been reached on `today`.
    #[must_use]
    pub fn reached(&self, milestone: Milestone, today: NaiveDate) -> bool {
        today >= self.date(milestone)
    }

    /// Whether `sector` is one the calendar knows.
    #[must_use]
    pub fn knows_sector(&self, sector: &str) -> bool {
        self.sectors.contains_key(sector)
    }

    /// The first day `sector` refuses NemID (an unknown sector: the shutdown).
    #[must_use]
    pub fn cutoff(&self, sector: &str) -> NaiveDate {
        self.sectors
            .get(sector)
            .copied()
            .unwrap_or_else(|| self.date(Milestone::Shutdown))
    }

    /// `Ok` when a NemID login at a service of `sector` is still accepted on `today`.
    pub fn check_login(&self, sector: &str, today: NaiveDate) -> Result<(), CutoffPassed> {
        let shutdown = self.date(Milestone::Shutdown);
        if today >= shutdown {
            return Err(CutoffPassed {
                sector: sector.to_owned(),
                cutoff: shutdown,
                shut_down: true,
            });
        }
        let cutoff = self.cutoff(sector);
        if today >= cutoff {
            return Err(CutoffPassed {
                sector: sector.to_owned(),
                cutoff,
                shut_down: false,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn builtin_calendar_has_the_domain_dates() {
        let c = NemidCalendar::builtin();
        assert_eq!(c.date(Milestone::PrivateSectorCutoff), day("2022-11-01"));
        assert_eq!(c.date(Milestone::PostOrdersEnd), day("2023-05-30"));
        assert_eq!(c.date(Milestone::MitidMigrationEnds), day("2023-06-05"));
        assert_eq!(c.date(Milestone::SupportCloses), day("2023-06-30"));
        assert_eq!(c.date(Milestone::Shutdown), day("2023-10-31"));
        assert_eq!(c.cutoff("bank"), day("2022-11-01"));
        assert_eq!(c.cutoff("public"), day("2023-10-31"));
    }

    #[test]
    fn logins_are_refused_from_the_cutoff_day_on() {
        let c = NemidCalendar::builtin();
        assert!(c.check_login("bank", day("2022-10-31")).is_ok());
        let refused = c.check_login("bank", day("2022-11-01")).unwrap_err();
        assert!(!refused.shut_down);
        assert!(refused.description().starts_with("nemid_cutoff_passed"));
        assert!(c.check_login("public", day("2023-10-30")).is_ok());
        let refused = c.check_login("public", day("2023-10-31")).unwrap_err();
        assert!(refused.shut_down);
        assert!(refused.description().starts_with("nemid_shut_down"));
    }

    #[test]
    fn a_bad_calendar_names_the_field() {
        let text = NEMID_CALENDAR_YAML.replace("bank: 2022-11-01", "bank: 2022-13-01");
        let err = NemidCalendar::from_yaml(&text, "x.yaml").unwrap_err();
        assert!(
            err.to_string().contains("x.yaml: field `sectors.bank`"),
            "{err}"
        );
        let text = NEMID_CALENDAR_YAML.replace("id: shutdown", "id: support_closes");
        let err = NemidCalendar::from_yaml(&text, "x.yaml").unwrap_err();
        assert!(err.to_string().contains("milestones[4].id"), "{err}");
        let text = NEMID_CALENDAR_YAML.replace("public: 2023-10-31", "public: 2024-01-01");
        let err = NemidCalendar::from_yaml(&text, "x.yaml").unwrap_err();
        assert!(err.to_string().contains("after the shutdown"), "{err}");
    }
}
