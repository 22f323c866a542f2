//! Read access for a [`PolicyRun`](crate::policy::PolicyRun) between events: pure reads of
//! the model's state, never a draw or a change.

use crate::kernel::SimTime;
use crate::policy::calendar::NemidCalendar;
use crate::policy::outcome::DayRow;
use crate::policy::population::MitidKind;
use crate::policy::port::ActionTally;
use crate::policy::run::{CitizenView, Stage};
use crate::policy::scenario::PolicyScenario;

use super::state::{CitizenState as _, Status};
use super::{Model, need_key};

impl<'a> Model<'a> {
    pub(crate) fn scenario(&self) -> &'a PolicyScenario {
        self.sc
    }

    pub(crate) fn calendar(&self) -> &NemidCalendar {
        &self.cal
    }

    /// The end of the run: the midnight after its last day.
    pub(crate) fn end(&self) -> SimTime {
        self.end
    }

    pub(crate) fn events_delivered(&self) -> u64 {
        self.sched.delivered()
    }

    pub(crate) fn closed_days(&self) -> &[DayRow] {
        &self.rows
    }

    pub(crate) fn actions(&self) -> ActionTally {
        self.actions
    }

    pub(crate) fn citizen_count(&self) -> usize {
        self.citizens.len()
    }

    /// Citizen `i`'s routine login needs per day by sector index, if there is such a citizen.
    pub(crate) fn need_rates_of(&self, i: u32) -> Option<[f64; 8]> {
        let z = self.citizens.get(i as usize)?;
        Some(self.need_rates[need_key(z)])
    }

    /// Citizen `i` as seen on `day`, if there is one.
    pub(crate) fn citizen_view(&self, i: u32, day: u32) -> Option<CitizenView> {
        let z = *self.citizens.get(i as usize)?;
        let mitid = MitidKind::from_u8(z.mitid);
        let stage = if z.is(Status::Pending) {
            z.route().map_or(Stage::WithoutMitid, Stage::GettingMitid)
        } else if z.is(Status::MitidDown) {
            z.problem().map_or(Stage::MitidWorks, Stage::MitidDown)
        } else if mitid == MitidKind::None {
            Stage::WithoutMitid
        } else {
            Stage::MitidWorks
        };
        Some(CitizenView {
            record: z,
            mitid,
            stage,
            in_call: z.is(Status::InCall),
            nemid_usable: self.nemid_usable(&z, day),
        })
    }
}
