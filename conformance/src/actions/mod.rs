//! # Actions: what the lab does, as typed calls
//!
//! The middle layer of the conformance crate. The [`world`](crate::world) below holds one
//! scenario's state; the [`steps`](crate::steps) above are Gherkin glue that call these actions
//! and judge what they answer. Actions are the only code that speaks HTTP to the lab's components
//! and to the service provider under test, so a journey (create a citizen, log in with the app,
//! call support) has one implementation, used by the Gherkin flows and by anything else that
//! holds a [`LabWorld`] (see [`LabWorld::for_lab`]).
//!
//! Tour, from the wire up:
//! - [`lab_api`]: the lab's own JSON client (not the browser) and what every call answers, a
//!   [`Reply`]; each exchange is recorded as evidence with secrets redacted.
//! - [`broker`]: the broker's control API — scripts of misbehaviour keyed to one test user, what
//!   the service provider asked the broker, key rotation, back-channel logout, logins straight at
//!   a client of the broker.
//! - [`identity`]: the broker's identity admin API — MitID identities, authenticators, NemID.
//! - [`cpr`]: the CPR register — persons, and what a person knows about themselves.
//! - [`citizen_service`] and [`support`]: Borgerservice (proofing, witnesses, P codes) and the
//!   MitID support line with the SMS gateway.
//! - [`nemid`]: NemID orders and temporary passwords; [`mitid_dk`]: MitID.dk's own pages.
//! - [`clock`]: the lab clock every component (and every device of the lab) reads.
//! - [`app`] and [`chip`]: the citizen's devices against the broker — activation, passport
//!   enrolment, second device; [`pages`]: a login through the broker's HTML pages with them.
//! - [`service_provider`]: the lab as the browser at the service provider under test — the
//!   login driver (with a tampered callback when asked), logout, `/me`, replays.
//! - [`nemlogin`]: the lab's NemLog-in IdP and an OIOSAML service provider — the SAML login
//!   driver, scripted wrong responses, replayed responses, single logout.
//!
//! Errors: an action that a caller can react to answers [`ActionError`] — the other side did not
//! answer, refused (with its status and answer), or answered what its API does not promise.
//! Calls whose refusal is itself the verdict a step judges (e.g. "Citizen Service refuses with
//! `witness_too_young`") answer the [`Reply`] and leave the judging to the step.

use serde_json::Value;

use crate::world::{Citizen, LabWorld};

pub mod app;
pub mod broker;
pub mod chip;
pub mod citizen_service;
pub mod clock;
pub mod cpr;
pub mod identity;
pub mod lab_api;
pub mod mitid_dk;
pub mod nemid;
pub mod nemlogin;
pub mod pages;
pub mod service_provider;
pub mod support;

pub use lab_api::Reply;

/// Why an action could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No answer at all (connection refused, timeout).
    #[error("{service} ({url}) did not answer: {reason}")]
    Unreachable {
        service: &'static str,
        url: String,
        reason: String,
    },
    /// An answer with another status than the one that means success.
    #[error("{service} refused {what} with {status}: {answer}")]
    Refused {
        service: &'static str,
        what: String,
        status: u16,
        answer: Value,
    },
    /// An answer whose content is not what the service's API promises.
    #[error("{service}'s answer to {what} lacks {missing}: {answer}")]
    Malformed {
        service: &'static str,
        what: String,
        missing: &'static str,
        answer: Value,
    },
    /// The citizen cannot do it with what they hold or know (no such phone, no password), or
    /// the scenario has no such citizen.
    #[error("{0}")]
    Citizen(String),
    /// The lab runs without the component, or the service provider declares no such endpoint
    /// (scenarios that need one are tagged `@needs:...` and skipped where it is missing).
    #[error("{0}")]
    Unavailable(String),
    /// A device of the lab refused (the app would not approve, the chip would not sign).
    #[error("{0}")]
    Device(String),
    /// A login through the broker's pages or at the service provider stopped before the end.
    #[error("{0}")]
    Login(String),
}

impl ActionError {
    /// The status of a refusal, when the other side answered with one.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            ActionError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The scenario's citizen `alias`.
pub(crate) fn citizen(world: &LabWorld, alias: &str) -> Result<Citizen, ActionError> {
    world
        .citizens
        .iter()
        .find(|c| c.alias == alias)
        .cloned()
        .ok_or_else(|| ActionError::Citizen(format!("no citizen {alias:?} in this scenario")))
}

/// A string field of a service's answer, or [`ActionError::Malformed`].
pub(crate) fn field(
    answer: &Value,
    name: &'static str,
    service: &'static str,
    what: &str,
) -> Result<String, ActionError> {
    answer[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ActionError::Malformed {
            service,
            what: what.to_owned(),
            missing: name,
            answer: answer.clone(),
        })
}
