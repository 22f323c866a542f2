//! The `calendar` section: NemID milestones, the QR roll-out and the sectors' NemID cut-offs.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::policy::PolicyError;
use mitid_fixtures::nemid_calendar::{Milestone, NemidCalendar};

/// Where a citizen logs in. The six self-services of the seed document plus banks and shops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    /// Change address (borger.dk).
    ChangeAddress,
    /// Apply for childcare.
    Childcare,
    /// See your tax (skat.dk).
    Tax,
    /// Choose a doctor.
    Doctor,
    /// Read Digital Post.
    DigitalPost,
    /// Leave Denmark (report emigration).
    LeaveDenmark,
    /// Net banks and mobile banking.
    Bank,
    /// Online shopping (card payments with NemID/MitID).
    Shop,
}

impl Sector {
    /// All sectors in a fixed order (the model's sector index).
    pub const ALL: [Sector; 8] = [
        Sector::ChangeAddress,
        Sector::Childcare,
        Sector::Tax,
        Sector::Doctor,
        Sector::DigitalPost,
        Sector::LeaveDenmark,
        Sector::Bank,
        Sector::Shop,
    ];

    /// The sector's name in `fixtures/nemid-calendar.yaml`, the vocabulary the components use.
    #[must_use]
    pub const fn calendar_key(self) -> &'static str {
        match self {
            Sector::ChangeAddress => "change_address",
            Sector::Childcare => "childcare",
            Sector::Tax => "tax",
            Sector::Doctor => "doctor",
            Sector::DigitalPost => "digital_post",
            Sector::LeaveDenmark => "leave_denmark",
            Sector::Bank => "bank",
            Sector::Shop => "online_shop",
        }
    }

    /// Position in [`Sector::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        Sector::ALL.iter().position(|&s| s == self).unwrap_or(0)
    }
}

/// The day a sector stops accepting NemID.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectorCutoff {
    /// The sector.
    pub sector: Sector,
    /// From this day NemID logins to the sector fail.
    pub nemid_cutoff: NaiveDate,
}

/// The NemID phase-out calendar. Defaults are DOMAIN.md's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarConfig {
    /// MitID becomes the default on public login pages (DOMAIN.md: 2022-09-22). Reported as a
    /// milestone; the day of the 4.5 million calibration point.
    pub mitid_default_public: NaiveDate,
    /// New key cards and temporary passwords only at Citizen Service (2023-05-30).
    pub key_cards_only_at_citizen_service: NaiveDate,
    /// NemID can no longer be used to get MitID (2023-06-05).
    pub migration_via_nemid_ends: NaiveDate,
    /// NemID support closes; no new NemID is issued (2023-06-30).
    pub nemid_support_closes: NaiveDate,
    /// NemID shut down completely (2023-10-31): from this day no NemID login succeeds.
    pub nemid_shutdown: NaiveDate,
    /// QR code scan required for app logins on a computer (2023-06-06). Citizens with an app on a
    /// phone that cannot scan (no camera use, challenged) fail more logins from this day.
    pub qr_rollout: NaiveDate,
    /// Per-sector NemID cut-offs. Banks and shops 2022-11-01 (DOMAIN.md); the public self-services
    /// are staggered *assumptions* ("fewer and fewer NemID logins over time").
    pub sectors: Vec<SectorCutoff>,
}

impl Default for CalendarConfig {
    /// Every date from `fixtures/nemid-calendar.yaml`, the one home of the NemID calendar.
    fn default() -> Self {
        let calendar = NemidCalendar::builtin();
        CalendarConfig {
            mitid_default_public: calendar.date(Milestone::MitidDefaultPublic),
            key_cards_only_at_citizen_service: calendar.date(Milestone::PostOrdersEnd),
            migration_via_nemid_ends: calendar.date(Milestone::MitidMigrationEnds),
            nemid_support_closes: calendar.date(Milestone::SupportCloses),
            nemid_shutdown: calendar.date(Milestone::Shutdown),
            qr_rollout: calendar.date(Milestone::QrRollout),
            sectors: DEFAULT_SECTOR_ORDER
                .into_iter()
                .map(|sector| SectorCutoff {
                    sector,
                    nemid_cutoff: calendar.cutoff(sector.calendar_key()),
                })
                .collect(),
        }
    }
}

/// The order of the default `calendar.sectors` list (earliest cut-off first).
const DEFAULT_SECTOR_ORDER: [Sector; 8] = [
    Sector::Bank,
    Sector::Shop,
    Sector::Childcare,
    Sector::ChangeAddress,
    Sector::LeaveDenmark,
    Sector::Doctor,
    Sector::Tax,
    Sector::DigitalPost,
];

impl CalendarConfig {
    /// The NemID cut-off of `sector` (never later than the shutdown).
    #[must_use]
    pub fn cutoff(&self, sector: Sector) -> NaiveDate {
        self.sectors
            .iter()
            .find(|c| c.sector == sector)
            .map_or(self.nemid_shutdown, |c| {
                c.nemid_cutoff.min(self.nemid_shutdown)
            })
    }
}

impl CalendarConfig {
    /// Checks the section; errors name the field under `calendar`.
    pub(super) fn validate(&self) -> Result<(), PolicyError> {
        let c = self;
        for (i, cut) in c.sectors.iter().enumerate() {
            if c.sectors[..i].iter().any(|o| o.sector == cut.sector) {
                return Err(PolicyError::invalid(
                    &format!("calendar.sectors[{i}].sector"),
                    "this sector already has a cut-off",
                ));
            }
        }
        if c.migration_via_nemid_ends > c.nemid_shutdown {
            return Err(PolicyError::invalid(
                "calendar.migration_via_nemid_ends",
                "must not be after calendar.nemid_shutdown",
            ));
        }
        Ok(())
    }
}
