//! Bounded fuzzing of the NemID endpoints and the lab clock: hostile JSON and forms never panic
//! the IdP and always get a client error (4xx), never a 5xx; the clock never leaves 1970–9999.

// NemID and IdP are names in these docs, not code.
#![allow(clippy::doc_markdown)]

use proptest::prelude::*;

use super::idp_fuzz::{form_status, not_server_error, raw_json_status, runner};
use super::idp_support::browser;
use super::nemid_login::{PASSWORD, issue_nemid, lab_on, start_pages};

fn json_bodies() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,200}",
        Just("{\"password\":\"\"}".to_owned()),
        Just(format!(
            "{{\"password\":\"{PASSWORD}\",\"issued_on\":\"9999-12-31\"}}"
        )),
        Just(format!(
            "{{\"password\":\"{PASSWORD}\",\"key_card\":false,\"key_app\":false}}"
        )),
        Just("{\"item\":\"key_card\",\"channel\":\"support_line\"}".to_owned()),
        Just("{\"temporary_password\":\"\",\"new_password\":\"\"}".to_owned()),
        Just("{\"at\":\"+275760-09-13T00:00:00Z\"}".to_owned()),
        Just("{\"unix\":-9223372036854775808}".to_owned()),
        Just("{\"seconds\":9223372036854775807}".to_owned()),
        Just("{\"seconds\":-3155760000}".to_owned()),
        Just("{\"sector\":\"\"}".to_owned()),
        Just("{\"login_id\":\"\",\"approval\":\"ÿÿ\"}".to_owned()),
        Just(
            "{\"user_id\":\"0101901234\",\"password\":\"x\",\"key_number\":65535,\"code\":\"-1\"}"
                .to_owned()
        ),
    ]
}

#[test]
fn nemid_json_endpoints_never_fail_with_a_server_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lab = rt.block_on(lab_on("2022-06-01"));
    let (uuid, _) = rt.block_on(issue_nemid(&lab, "anna.jensen"));
    let control_paths = vec![
        format!("/admin/identities/{uuid}/nemid"),
        format!("/admin/identities/{uuid}/nemid/orders"),
        format!("/admin/identities/{uuid}/nemid/temporary-password/redeem"),
        "/control/clock/advance".to_owned(),
        "/control/clock".to_owned(),
        "/control/clients/sp-basic/sector".to_owned(),
    ];
    let public_paths = vec![
        "/nemid-app/some-device/approvals".to_owned(),
        "/mitid-dk/get-mitid-with-nemid".to_owned(),
    ];
    let targets = prop_oneof![
        prop::sample::select(control_paths).prop_map(|p| (true, p)),
        prop::sample::select(public_paths).prop_map(|p| (false, p)),
    ];
    runner()
        .run(&(targets, json_bodies()), |((control, path), body)| {
            let base = if control { &lab.control } else { &lab.issuer };
            let method = if path.ends_with("/sector") || path == "/control/clock" {
                reqwest::Method::PUT
            } else {
                reqwest::Method::POST
            };
            let status = rt.block_on(raw_json_status(
                &lab.http,
                method,
                format!("{base}{path}"),
                &body,
            ));
            not_server_error(&path, &body, status)
        })
        .unwrap();
    // Whatever was sent, the clock still reads as a date.
    let clock = rt.block_on(lab.get_json(format!("{}/control/clock", lab.control)));
    assert!(
        clock["today"].as_str().is_some_and(|d| d.len() == 10),
        "{clock}"
    );
}

#[test]
fn nemid_pages_never_fail_with_a_server_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lab = rt.block_on(lab_on("2022-06-01"));
    rt.block_on(issue_nemid(&lab, "anna.jensen"));
    let browser = browser();
    let page = rt.block_on(async {
        let r = start_pages(&lab, &browser, "sp-basic").await;
        r.headers()["location"].to_str().unwrap().to_owned()
    });
    let forms = prop::collection::vec(
        (
            prop::sample::select(vec![
                "csrf",
                "user_id",
                "password",
                "method",
                "key_number",
                "code",
            ]),
            "[ -~]{0,30}",
        ),
        0..6,
    );
    let actions = prop::sample::select(vec!["credentials", "key-card", "cancel", "unknown"]);
    runner()
        .run(&(actions, forms), |(action, form)| {
            let status = rt.block_on(form_status(&browser, format!("{page}/{action}"), &form));
            not_server_error(action, &form, status)
        })
        .unwrap();
}
