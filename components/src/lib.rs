//! # mitid-components — the lab's real services
//!
//! The services a MitID login touches, each a real HTTP server (an axum router), so the lab can
//! run them in this process, in containers, or put an integrator's own service in the place of
//! one of them. Every component is built the same way: `X::new(config) -> Router`, wrapped by
//! [`service::standard`].
//!
//! ## The components and who calls whom
//!
//! ```text
//!   browser / service provider ──► idp (public)        ◄── reference_sp (an OIDC client)
//!                                   │  OIDC, MitID and NemID login pages, app endpoints
//!                                   ▼
//!                                  cpr  (ssn scope: CPR number of the person)
//!
//!   citizen_service ──► cpr, idp (control: identity admin API)
//!   support         ──► cpr, idp (control), sms
//!   conformance suite, live driver ──► every component's public API, idp (control) to script it
//! ```
//!
//! - [`idp`]: the MitID broker. An OpenID Connect provider (authorize, token, userinfo, logout,
//!   discovery, JWKS), the MitID and NemID login pages, the app's endpoints, and a control
//!   listener (identity admin API, scripts that make one login misbehave, faults, key rotation,
//!   the lab clock) that service providers never see.
//! - [`cpr`]: the CPR register, a seeded synthetic population; [`cpr::CprClient`] is how the
//!   others read it.
//! - [`cvr`]: the synthetic CVR register (companies from `fixtures/companies.csv`), who acts for
//!   which company, and the professional identities of business (MitID Erhverv) logins; the CPR
//!   register answers its lookups and the IdP issues its logins.
//! - [`citizen_service`]: Borgerservice counters: appointments, identity proofing, P codes.
//! - [`support`]: the MitID support line: identify a caller, send a temporary PIN or user ID.
//! - [`sms`]: the SMS gateway the support line sends through (can be told to drop or fail).
//! - [`reference_sp`]: a borger.dk-like service provider, correct by default or started with
//!   named flaws, which the conformance suite must catch.
//! - [`nemlogin`]: the lab's NemLog-in, an OIOSAML 3 identity provider for public services. It
//!   authenticates nobody itself: it is an OIDC client of [`idp`] (same citizens, devices, pages
//!   and headless mode) and turns the broker's answer into an encrypted, signed SAML assertion;
//!   its control API scripts one wrong response per login.
//! - [`reference_saml_sp`]: a public self-service behind NemLog-in, correct by default or
//!   started with named SAML flaws (`fixtures/requirements/saml-flaws.yaml`).
//! - [`saml`]: what both SAML sides share: vocabulary, bindings, metadata, and the XML security
//!   module (signatures through libxmlsec1, assertion encryption, the wrapping variants).
//! - [`nemid_calendar`]: the NemID phase-out calendar (`fixtures/nemid-calendar.yaml`), read by
//!   the IdP and the reference SP against the lab clock.
//!
//! ## The shared plumbing
//!
//! [`service`] is what every component stands on: serving and graceful shutdown, the house
//! rules of [`service::standard`] (`/health`, `/routes`, body limit, JSON 404/405, one
//! `Authorization` header), the one error type [`service::ApiError`] and the extractors whose
//! rejections speak the API's language, the lab clock [`service::LabClock`] shared by all
//! components of a run, the caller of neighbouring services with its typed
//! [`service::NeighbourError`], and small HTTP helpers (form parameters, cookies, HTML escaping).
//! Arrows point one way: components use `service` and `mitid-devices`; `service` uses neither.
//!
//! ## Running them
//!
//! [`runtime`] knows every component's name and neighbours and starts the whole set, wired
//! together: [`runtime::embedded`] on loopback in this process, [`runtime::containers`] as
//! Docker containers from a locally built image. Both hand back a [`runtime::Stack`] with every
//! URL and the test identities.

pub mod citizen_service;
pub mod cpr;
pub mod cvr;
pub mod idp;
pub mod nemid_calendar;
pub mod nemlogin;
pub mod reference_saml_sp;
pub mod reference_sp;
pub mod runtime;
pub mod saml;
pub mod service;
pub mod sms;
pub mod support;
