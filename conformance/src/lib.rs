//! # The conformance runner: the Gherkin suite that certifies MitID service providers
//!
//! `mitid-lab certify` and `mitid-lab run` use this crate; so does the `conformance` test. The
//! suite is cucumber used as a library: features under `features/` are parsed and checked by
//! [`runner::Features`], run concurrently by [`runner::run`] with one [`world::LabWorld`] per
//! scenario, weighed against the requirement catalogue by [`outcome::SuiteReport`] and written by
//! [`report`].
//!
//! Tour:
//! - [`catalogue`]: the requirements (`fixtures/requirements/sp.yaml`) — id, title, MUST/SHOULD.
//! - [`target`]: the integrator's `target.yaml` (client, redirect URI, paths), with errors naming
//!   file, line and field.
//!
//! Three layers that only call down:
//! - [`world`]: the state of one scenario ([`world::LabWorld`], made by cucumber or by
//!   [`world::LabWorld::for_lab`] outside it) and the [`world::Lab`] a run shares (system under
//!   test, lab endpoints); [`browser`]: the lab's browser, recording [`evidence`] with secrets
//!   redacted.
//! - [`actions`]: typed clients of the lab's components and of the service provider — the only
//!   code that speaks HTTP to them — answering typed errors ([`actions::ActionError`]).
//! - [`steps`]: Gherkin glue, one module per actor, a few lines each; no step module imports
//!   another. [`checks`]: the shared verdicts ("no session exists") every scenario uses.
//!
//! Around them:
//! - [`schedule`]: which scenario starts when (`@slow` first and overlapping, `@serial` alone).
//! - [`outcome`]: PASSED / FAILED / WARNING (a SHOULD not met) / SKIPPED.
//! - [`report`]: JUnit XML, JSON, Markdown, self-contained HTML.
//! - [`oiosaml`]: the same suite for an OIOSAML service provider behind the lab's NemLog-in
//!   (SAML catalogue, target file with the service's metadata, the reference SAML SP's self-check).
//! - [`journey`]: one citizen journey of `features/flows/` run alone and recorded (the
//!   dashboard's trainer view steps through it).

#![allow(
    clippy::missing_panics_doc,
    reason = "a cucumber step fails by panicking with its message (that is the step's verdict), and the rest are poisoned-lock expects; a Panics section on every step and check would repeat that"
)]

pub mod actions;
pub mod browser;
pub mod catalogue;
pub mod checks;
pub mod evidence;
pub mod journey;
pub mod oiosaml;
pub mod outcome;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod setup;
pub mod steps;
pub mod suite;
pub mod target;
pub mod world;
