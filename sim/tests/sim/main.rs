//! Integration tests of mitid-sim, one module per behaviour. Failure messages print the inputs,
//! the seed and what came out.

mod event_queues;
mod kernel_ordering;
mod policy_assurance;
mod policy_calendar;
mod policy_calibration;
mod policy_citizen_service;
mod policy_determinism;
mod policy_incidents;
mod policy_interventions;
mod policy_live;
mod policy_population;
mod policy_run;
mod policy_support;
mod queue_scenarios;
mod queue_validation;
mod random_streams;
mod resources;
mod simpy_model;
mod statistics;
