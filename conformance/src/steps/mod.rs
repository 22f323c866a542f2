//! Step definitions: Gherkin glue, one module per actor (citizen, device, broker, service
//! provider, Citizen Service, support, NemID services, calendar; NemLog-in with the OIOSAML service
//! provider). A step is a few lines: it calls
//! [`crate::actions`] (the only code that speaks HTTP to the lab and the service provider) and
//! judges what they answer, with the shared verdicts of [`crate::checks`]. No step module imports
//! another (`tests/layering.rs` in this crate holds them to it).

pub mod broker;
pub mod calendar;
pub mod citizen;
pub mod citizen_service;
pub mod device;
pub mod nemid_services;
pub mod nemlogin;
pub mod service_provider;
pub mod support;
