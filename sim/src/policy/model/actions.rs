//! What a real system would see, put to the run's [`ActionPort`](crate::policy::ActionPort):
//! one helper per action, each saying what the model's rules expect, and the model's reaction
//! when the port's outcome is a failure. The handlers call these at the moment the citizen acts.

use crate::kernel::SimTime;
use crate::policy::PolicyError;
use crate::policy::population::{Citizen, MitidKind, traits};
use crate::policy::port::{
    Action, ActionRequest, Credential, Failure, Outcome, RecoveryRoute, Visit,
};
use crate::policy::scenario::Sector;

use super::state::{CitizenState as _, Problem, Reason, Route, Status};
use super::{Ev, Model, days, need_key};

impl Model<'_> {
    /// Puts `action` of citizen `c` to the port, tallies the answer and counts a failed login
    /// when a login failed.
    fn resolve(&mut self, c: u32, now: SimTime, action: Action, expected: Outcome) -> Outcome {
        // An incident in its window turns what the rules expect into a failure, which the
        // port's caller reacts to like any other (see `policy::incidents`).
        let expected = if self.incidents.is_empty() {
            expected
        } else {
            let z = self.citizens[c as usize];
            self.incidents.expected(c, &z, now, action, expected)
        };
        let outcome = match &mut self.port {
            None => expected,
            Some(port) => port.resolve(&ActionRequest {
                at: now,
                citizen: c,
                record: self.citizens[c as usize],
                action,
                expected,
            }),
        };
        self.actions.resolved += 1;
        if outcome != expected {
            self.actions.diverged += 1;
        }
        if !outcome.succeeded() && action.is_login() {
            self.today.failed_logins += 1;
            self.totals.failed_logins += 1;
        }
        outcome
    }

    /// A NemID login at `sector` after its cut-off, which the model expects refused. `None`
    /// when the decision that carried it was not the one scheduled as a failed login (a
    /// citizen with two decisions pending); then the sector the citizen needs most among those
    /// already refusing NemID stands in. Whether the login failed.
    pub(super) fn nemid_sector_login_failed(
        &mut self,
        c: u32,
        sector: Option<Sector>,
        now: SimTime,
    ) -> bool {
        let z = self.citizens[c as usize];
        let sector = sector.unwrap_or_else(|| self.most_needed_refusing(&z, now.day()));
        let action = Action::SectorLogin {
            sector,
            credential: Credential::Nemid,
        };
        !self
            .resolve(c, now, action, Outcome::Failed(Failure::Refused))
            .succeeded()
    }

    /// The sector `z` needs most often among those refusing NemID on `day` (any sector they
    /// need if none refuses yet; ties go to the first in [`Sector::ALL`]).
    fn most_needed_refusing(&self, z: &Citizen, day: u32) -> Sector {
        let rates = self.need_rates[need_key(z)];
        let refusing = |s: usize| self.cal.sector_cutoff[s] <= day;
        let pick = |only_refusing: bool| {
            (0..rates.len())
                .filter(|&s| rates[s] > 0.0 && (!only_refusing || refusing(s)))
                .fold(None, |best: Option<usize>, s| match best {
                    Some(b) if rates[b] >= rates[s] => Some(b),
                    _ => Some(s),
                })
        };
        Sector::ALL[pick(true).or_else(|| pick(false)).unwrap_or(0)]
    }

    /// The NemID login on MitID.dk that starts moving to MitID. Whether it worked.
    pub(super) fn nemid_migration_login(&mut self, c: u32, now: SimTime) -> bool {
        self.resolve(c, now, Action::NemidMigrationLogin, Outcome::Succeeded)
            .succeeded()
    }

    /// The end of a self-service or assisted enrolment. Whether MitID was issued; if not, the
    /// citizen turns to Citizen Service (the model's route of last resort), or, living abroad
    /// and so out of its reach, gives up for now and decides again later.
    pub(super) fn enrolment_done(&mut self, c: u32, now: SimTime) -> Result<bool, PolicyError> {
        let z = self.citizens[c as usize];
        let Some(route) = z.route() else {
            return Ok(true);
        };
        let action = Action::Enrolment {
            route,
            kind: MitidKind::issued_for(z.traits),
        };
        if self.resolve(c, now, action, Outcome::Succeeded).succeeded() {
            return Ok(true);
        }
        if z.has(traits::ABROAD) {
            let zc = &mut self.citizens[c as usize];
            zc.clear(Status::Pending);
            zc.clear_episode();
            let at = now + days(self.sc.behaviour.migration.reconsider_days);
            if at < self.end {
                self.at(at, Ev::Decide(c, None))?;
            }
        } else {
            self.citizens[c as usize].set_route(if z.has(traits::NO_CPR) {
                Route::PCode
            } else {
                Route::CitizenService
            });
            self.citizen_service_request(c, now, true)?;
        }
        Ok(false)
    }

    /// Whether the Citizen Service case of an appointment the citizen turned up for was done.
    /// An appointment about nothing any more (the citizen got there another way) is no action.
    pub(super) fn appointment_held(&mut self, c: u32, now: SimTime) -> bool {
        let z = self.citizens[c as usize];
        let visit = if z.is(Status::Pending) {
            z.route().map(Visit::Enrolment)
        } else if z.is(Status::MitidDown) {
            z.problem().map(Visit::Recovery)
        } else {
            None
        };
        let Some(visit) = visit else {
            return true;
        };
        self.resolve(
            c,
            now,
            Action::CitizenServiceAppointment { visit },
            Outcome::Succeeded,
        )
        .succeeded()
    }

    /// An answered support call ending now; `helps` is whether the model's rules say the agent
    /// solves the citizen's problem. Whether it did.
    pub(super) fn support_call_done(
        &mut self,
        c: u32,
        reason: Reason,
        helps: bool,
        now: SimTime,
    ) -> bool {
        let expected = if helps {
            Outcome::Succeeded
        } else {
            Outcome::Failed(Failure::Refused)
        };
        self.resolve(c, now, Action::SupportCall { reason }, expected)
            .succeeded()
    }

    /// A self-service recovery by `route` of `problem`, started now. Whether it worked.
    pub(super) fn recovery_done(
        &mut self,
        c: u32,
        route: RecoveryRoute,
        problem: Problem,
        now: SimTime,
    ) -> bool {
        self.resolve(
            c,
            now,
            Action::Recovery { route, problem },
            Outcome::Succeeded,
        )
        .succeeded()
    }
}
