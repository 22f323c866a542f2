//! Step definitions, one module per actor. A step is a few lines that call the lab's components
//! (through [`broker`]'s control client) or the service provider under test (through
//! [`service_provider`]'s login driver); verdicts come from [`super::checks`].

pub mod broker;
pub mod calendar;
pub mod citizen;
pub mod citizen_service;
pub mod device;
pub mod nemid_services;
pub mod service_provider;
pub mod support;
