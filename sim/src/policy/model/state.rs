//! The model's per-citizen state, typed: status flags, migration routes, authenticator problems
//! and call reasons. Each is a `#[repr(u8)]` enum so the [`Citizen`] record stays 12 bytes and an
//! event 8; the record stores the bytes and [`CitizenState`] reads and writes them by type.

use crate::policy::population::Citizen;

/// Model state flags in [`Citizen::status`]; a citizen may carry several at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Status {
    /// Has decided to get MitID and is on the way (the [`Route`] is in `Citizen::route`).
    Pending = 1,
    /// Holds MitID but cannot use it (the [`Problem`] is in `Citizen::route`).
    MitidDown = 2,
    /// Has a support call scheduled, queued or in progress.
    InCall = 4,
    /// The pending `Decide` event is a login that failed after a cut-off.
    Forced = 8,
    /// Held NemID but it broke and was not repaired (key card used up, no support).
    NemidLost = 16,
}

/// How a citizen gets MitID (`Citizen::route` while the citizen is pending). Public as
/// [`crate::policy::MigrationRoute`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Route {
    /// On MitID.dk, logged in with NemID.
    ViaNemid = 1,
    /// In the app, with the passport or ID card chip and a face scan.
    AppPassport = 2,
    /// Helped by the citizen's bank.
    Bank = 3,
    /// With a witness who has had MitID for a while.
    Witness = 4,
    /// At Citizen Service, with documents and questions from the CPR register.
    CitizenService = 5,
    /// At Citizen Service with a P code (no CPR number).
    PCode = 6,
}

impl Route {
    #[cfg(test)]
    const ALL: [Route; 6] = [
        Route::ViaNemid,
        Route::AppPassport,
        Route::Bank,
        Route::Witness,
        Route::CitizenService,
        Route::PCode,
    ];

    fn from_byte(b: u8) -> Option<Route> {
        Some(match b {
            1 => Route::ViaNemid,
            2 => Route::AppPassport,
            3 => Route::Bank,
            4 => Route::Witness,
            5 => Route::CitizenService,
            6 => Route::PCode,
            _ => return None,
        })
    }
}

/// Why a MitID holder's authenticator does not work (`Citizen::route` while their MitID is
/// down). Public as [`crate::policy::AuthenticatorProblem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Problem {
    /// The phone with the app is lost or broken.
    LostPhone = 1,
    /// The app's PIN is forgotten.
    ForgotPin = 2,
    /// The password of a code display or audio code reader is forgotten.
    ForgotPassword = 3,
    /// The MitID user ID is forgotten.
    ForgotUserId = 4,
    /// Locked out for good: a new authenticator is needed.
    Blocked = 5,
    /// Locked out for a while: it lifts by itself.
    Suspended = 6,
}

impl Problem {
    #[cfg(test)]
    const ALL: [Problem; 6] = [
        Problem::LostPhone,
        Problem::ForgotPin,
        Problem::ForgotPassword,
        Problem::ForgotUserId,
        Problem::Blocked,
        Problem::Suspended,
    ];

    fn from_byte(b: u8) -> Option<Problem> {
        Some(match b {
            1 => Problem::LostPhone,
            2 => Problem::ForgotPin,
            3 => Problem::ForgotPassword,
            4 => Problem::ForgotUserId,
            5 => Problem::Blocked,
            6 => Problem::Suspended,
            _ => return None,
        })
    }
}

/// Why someone calls support. Public as [`crate::policy::CallReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Reason {
    /// Help with getting MitID.
    MigrationHelp = 1,
    /// A broken authenticator.
    Recovery = 2,
    /// Confused by the app's QR login after its roll-out.
    Qr = 3,
}

/// A `NemID` calendar rule that starts during the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum NemidRule {
    /// New key cards only at Citizen Service: a used-up key card is not replaced.
    KeyCardsOnlyAtCitizenService = 0,
    /// `NemID` support closes: a credential problem is not fixed.
    SupportClosed = 1,
}

/// Typed access to the model's bytes in a [`Citizen`].
pub(super) trait CitizenState {
    /// Carries the flag.
    fn is(&self, s: Status) -> bool;
    /// Carries any of the flags.
    fn is_any(&self, s: &[Status]) -> bool;
    fn set(&mut self, s: Status);
    fn clear(&mut self, s: Status);
    /// The migration route (meaningful while [`Status::Pending`]).
    fn route(&self) -> Option<Route>;
    /// The authenticator problem (meaningful while [`Status::MitidDown`]).
    fn problem(&self) -> Option<Problem>;
    fn set_route(&mut self, r: Route);
    fn set_problem(&mut self, p: Problem);
    /// Neither on a route nor with a problem.
    fn clear_episode(&mut self);
}

impl CitizenState for Citizen {
    #[inline]
    fn is(&self, s: Status) -> bool {
        self.status & s as u8 != 0
    }

    #[inline]
    fn is_any(&self, s: &[Status]) -> bool {
        s.iter().any(|&s| self.is(s))
    }

    #[inline]
    fn set(&mut self, s: Status) {
        self.status |= s as u8;
    }

    #[inline]
    fn clear(&mut self, s: Status) {
        self.status &= !(s as u8);
    }

    #[inline]
    fn route(&self) -> Option<Route> {
        Route::from_byte(self.route)
    }

    #[inline]
    fn problem(&self) -> Option<Problem> {
        Problem::from_byte(self.route)
    }

    #[inline]
    fn set_route(&mut self, r: Route) {
        self.route = r as u8;
    }

    #[inline]
    fn set_problem(&mut self, p: Problem) {
        self.route = p as u8;
    }

    #[inline]
    fn clear_episode(&mut self) {
        self.route = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_flags_are_distinct_bits() {
        for r in Route::ALL {
            assert_eq!(Route::from_byte(r as u8), Some(r));
        }
        for p in Problem::ALL {
            assert_eq!(Problem::from_byte(p as u8), Some(p));
        }
        assert_eq!(Route::from_byte(0), None);
        assert_eq!(Problem::from_byte(0), None);
        let flags = [
            Status::Pending,
            Status::MitidDown,
            Status::InCall,
            Status::Forced,
            Status::NemidLost,
        ];
        let all = flags.iter().fold(0u8, |acc, &s| {
            assert_eq!((s as u8).count_ones(), 1);
            assert_eq!(acc & s as u8, 0, "{s:?} shares a bit");
            acc | s as u8
        });
        assert_eq!(all.count_ones(), 5);
        assert_eq!(std::mem::size_of::<Reason>(), 1);
        assert_eq!(std::mem::size_of::<NemidRule>(), 1);
    }
}
