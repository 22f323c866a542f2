//! The `calendar` section: NemID milestones, the QR roll-out and the sectors' NemID cut-offs.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::date;
use crate::policy::PolicyError;

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
    fn default() -> Self {
        let cut = |sector, y, m, d| SectorCutoff {
            sector,
            nemid_cutoff: date(y, m, d),
        };
        CalendarConfig {
            mitid_default_public: date(2022, 9, 22),
            key_cards_only_at_citizen_service: date(2023, 5, 30),
            migration_via_nemid_ends: date(2023, 6, 5),
            nemid_support_closes: date(2023, 6, 30),
            nemid_shutdown: date(2023, 10, 31),
            qr_rollout: date(2023, 6, 6),
            sectors: vec![
                cut(Sector::Bank, 2022, 11, 1),
                cut(Sector::Shop, 2022, 11, 1),
                cut(Sector::Childcare, 2023, 3, 31),
                cut(Sector::ChangeAddress, 2023, 4, 30),
                cut(Sector::LeaveDenmark, 2023, 4, 30),
                cut(Sector::Doctor, 2023, 5, 31),
                cut(Sector::Tax, 2023, 6, 30),
                cut(Sector::DigitalPost, 2023, 10, 31),
            ],
        }
    }
}

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
