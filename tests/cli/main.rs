//! Integration tests of the `mitid-lab` binary: one module per behaviour, sharing [`harness`].

mod certify_outside_rp;
mod certify_python_rp;
mod certify_saml;
mod certify_verdicts;
mod exit_codes;
mod harness;
mod nightly_run;
mod outputs;
mod report_in_browser;
mod simulate_errors;
mod simulate_golden;
mod simulate_incidents;
mod simulate_live;
mod simulate_live_target;
mod simulate_policy;
mod simulate_queue;
mod sweep;
mod sweep_stores;
