//! Integration tests of mitid-components: one binary, one module per behaviour.
//!
//! Every test binds its servers on `127.0.0.1:0` and uses generous timeouts: the machine is a
//! loaded 2-core box shared with other builds.

mod citizen_service_flows;
mod citizen_service_new_phone;
mod cpr_lab;
mod cpr_register;
mod cvr_register;
mod enrol_malformed;
mod enrol_new_mitid;
mod enrol_reactivation;
mod enrol_refusals;
mod enrol_second_device;
mod enrol_support;
mod idp_clock_api;
mod idp_control;
mod idp_flow;
mod idp_fuzz;
mod idp_login_pages;
mod idp_oidc_client;
mod idp_professional;
mod idp_security;
mod idp_support;
mod mitid_dk_new_password;
mod nemid_calendar_refusals;
mod nemid_forgot_user_id;
mod nemid_fuzz;
mod nemid_login;
mod nemid_malformed;
mod nemid_reference_sp;
mod nemlogin_saml;
mod reference_sp_flaws;
mod route_fuzz;
mod runtime_embedded;
mod service_plumbing;
mod sms_gateway;
mod support_line;
