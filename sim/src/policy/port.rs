//! The action port: every step of a citizen's that a real system would see goes out through it.
//!
//! The model decides *when* a citizen acts and what its own rules expect to come of it; an
//! [`ActionPort`] decides what actually comes of it. [`ModelRules`] answers with the model's
//! expectation, which is the pure simulation. A live driver answers by performing the journey
//! against the lab's components (the broker's login, Citizen Service, the support line) and
//! reporting what they did; the model then reacts to that outcome as it reacts to the same
//! outcome of its own rules (a citizen whose NemID login fails moves on to another route, a
//! failed recovery goes to support, a failed appointment is booked again).
//!
//! # When the port is called
//!
//! * Synchronously, inside the simulation event that triggers the action, with
//!   [`ActionRequest::at`] equal to the run's clock. The run does not advance while the port
//!   works, so a port may block on a real flow.
//! * In the model's own order, which depends only on the scenario, the seed and the outcomes
//!   the port returned: two ports that return the same outcomes see the same requests.
//! * A port's answer never changes the random draws the model makes for other reasons: the
//!   model draws the same numbers whether an action succeeded by its rules or by the port, and
//!   only the reaction to a *different* outcome draws more. So [`ModelRules`] reproduces the
//!   pure run byte for byte.

use crate::kernel::SimTime;

use super::population::{Citizen, MitidKind};
use super::scenario::Sector;

pub use super::model::{AuthenticatorProblem, CallReason, MigrationRoute};

/// The credential a citizen logs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// NemID (key card, key app or temporary password).
    Nemid,
    /// MitID with this authenticator.
    Mitid(MitidKind),
}

/// A self-service way back to a working MitID authenticator (DOMAIN.md, "Recovery routes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryRoute {
    /// Scan the passport or ID card chip in the app and the face.
    Passport,
    /// An activation code from MitID.dk via a second authenticator.
    BackupDevice,
    /// Log in on MitID.dk with NemID (a forgotten user ID).
    Nemid,
}

/// What a Citizen Service appointment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    /// Getting MitID at the counter: identity proven with documents and CPR questions, or with
    /// a P code for someone without a CPR number.
    Enrolment(MigrationRoute),
    /// A new authenticator for a MitID whose authenticator is broken.
    Recovery(AuthenticatorProblem),
}

/// An action a real system would see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A login at a sector's service (a self-service, a bank, a shop). Failing counts as a
    /// failed login.
    SectorLogin {
        /// The service's sector.
        sector: Sector,
        /// What the citizen logs in with.
        credential: Credential,
    },
    /// A NemID login on MitID.dk to start moving to MitID. Failing counts as a failed login;
    /// the citizen then takes the next route open to them.
    NemidMigrationLogin,
    /// A self-service or assisted enrolment finishing: MitID is issued to the citizen. Failing
    /// sends the citizen to Citizen Service (or, abroad, to try again later).
    Enrolment {
        /// The route the citizen took.
        route: MigrationRoute,
        /// The authenticator issued.
        kind: MitidKind,
    },
    /// A Citizen Service appointment the citizen turns up for. Failing means the case was not
    /// done and the citizen books again.
    CitizenServiceAppointment {
        /// What the appointment is for.
        visit: Visit,
    },
    /// A support call an agent answered, ending now. For a recovery call, failing sends the
    /// citizen to Citizen Service; the model does not model what the other calls achieve, so
    /// their outcome changes nothing in it.
    SupportCall {
        /// Why the citizen called.
        reason: CallReason,
    },
    /// A self-service recovery of a broken authenticator, started now. Failing counts as a
    /// failed login when the route is a NemID login; the citizen then tries the next route
    /// (support or Citizen Service in the end).
    Recovery {
        /// The route tried.
        route: RecoveryRoute,
        /// What is wrong with the authenticator.
        problem: AuthenticatorProblem,
    },
}

impl Action {
    /// Whether failing counts as a failed login (see each variant).
    #[must_use]
    pub fn is_login(self) -> bool {
        matches!(
            self,
            Action::SectorLogin { .. }
                | Action::NemidMigrationLogin
                | Action::Recovery {
                    route: RecoveryRoute::Nemid,
                    ..
                }
        )
    }
}

/// Why an action failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The system answered and said no (NemID past a cut-off, a support agent who may not send
    /// a PIN to a changed phone number, a level of assurance too low).
    Refused,
    /// The system could not be reached or answered with an error.
    Unavailable,
    /// The system did not answer in time.
    TimedOut,
}

/// What came of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It worked.
    Succeeded,
    /// It did not.
    Failed(Failure),
}

impl Outcome {
    /// Whether it worked.
    #[must_use]
    pub fn succeeded(self) -> bool {
        self == Outcome::Succeeded
    }
}

/// How many actions a run put to its port, and how many turned out other than the model
/// expected (zero with [`ModelRules`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActionTally {
    /// Actions resolved.
    pub resolved: u64,
    /// Of those, resolved with another outcome than [`ActionRequest::expected`].
    pub diverged: u64,
}

/// One action put to the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionRequest {
    /// When the citizen acts (the run's clock).
    pub at: SimTime,
    /// The citizen's index: stable for the whole run (see [`super::PolicyRun::citizen`]).
    pub citizen: u32,
    /// The citizen's record at the moment of the action.
    pub record: Citizen,
    /// What the citizen does.
    pub action: Action,
    /// What the model's own rules say comes of it.
    pub expected: Outcome,
}

/// Resolves the actions of a policy run (see the module docs for when it is called).
pub trait ActionPort {
    /// What comes of `request`.
    fn resolve(&mut self, request: &ActionRequest) -> Outcome;
}

/// The model's own rules: every action turns out as the model expected when it asked. A run
/// with this port is the pure simulation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelRules;

impl ActionPort for ModelRules {
    #[inline]
    fn resolve(&mut self, request: &ActionRequest) -> Outcome {
        request.expected
    }
}

/// A borrowed port works as the port itself, so a caller can keep ownership and read the
/// port's own records after the run.
impl<P: ActionPort + ?Sized> ActionPort for &mut P {
    #[inline]
    fn resolve(&mut self, request: &ActionRequest) -> Outcome {
        (**self).resolve(request)
    }
}
