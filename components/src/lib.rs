//! # mitid-components — the lab's real services
//!
//! (doc tour written with the crate)

pub mod citizen_service;
pub mod cpr;
pub mod idp;
pub mod nemid_calendar;
pub mod reference_sp;
pub mod runtime;
pub mod service;
pub mod sms;
pub mod support;
