//! The NemID calendar at the broker, moved over the control API's lab clock: a bank's NemID
//! logins end on 2022-11-01 while a public site's go on until the shutdown; orders by post end on
//! 2023-05-30, MitID via NemID on 2023-06-05, support and new NemID on 2023-06-30.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};

use super::idp_support::{Lab, REDIRECT, browser, pkce, redirect_params};
use super::nemid_login::{
    PASSWORD, answer_key_card, headless_nemid, issue_nemid, lab_on, open_pages, start_pages,
    submit_credentials, uuid_of,
};

pub async fn set_clock(lab: &Lab, date: &str) {
    let (status, clock) = lab
        .control_call(Method::PUT, "/control/clock", Some(&json!({ "at": date })))
        .await;
    assert_eq!(status, 200, "{clock}");
}

async fn set_sector(lab: &Lab, client: &str, sector: &str) {
    let (status, answer) = lab
        .control_call(
            Method::PUT,
            &format!("/control/clients/{client}/sector"),
            Some(&json!({ "sector": sector })),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
}

/// A headless NemID key-card login of Anna at `client`: the redirect's parameters.
async fn nemid_login(lab: &Lab, client: &str) -> HashMap<String, String> {
    headless_nemid(lab, client, "test:anna.jensen:nemid_key_card").await
}

#[tokio::test]
async fn a_bank_refuses_nemid_from_2022_11_01_while_a_public_site_goes_on() {
    let lab = lab_on("2022-10-31").await;
    issue_nemid(&lab, "anna.jensen").await;
    set_sector(&lab, "sp-post", "bank").await;
    assert!(nemid_login(&lab, "sp-post").await.contains_key("code"));
    let (_, clock) = lab
        .control_call(
            Method::POST,
            "/control/clock/advance",
            Some(&json!({ "seconds": 86_400 })),
        )
        .await;
    assert_eq!(clock["today"], "2022-11-01");
    let bank = nemid_login(&lab, "sp-post").await;
    assert_eq!(bank["error"], "access_denied");
    assert!(
        bank["error_description"].starts_with(
            "nemid_cutoff_passed: services of sector `bank` refuse NemID from 2022-11-01"
        ),
        "{bank:?}"
    );
    assert!(nemid_login(&lab, "sp-basic").await.contains_key("code"));
    // The NemID pages are refused at once for the bank, offered for the public site.
    let browser = browser();
    let r = start_pages(&lab, &browser, "sp-post").await;
    assert_eq!(redirect_params(&r)["error"], "access_denied");
    let r = start_pages(&lab, &browser, "sp-basic").await;
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{}/nemid/", lab.issuer)));
    // From the shutdown no sector accepts NemID.
    set_clock(&lab, "2023-10-31").await;
    let public = nemid_login(&lab, "sp-basic").await;
    assert!(
        public["error_description"].starts_with("nemid_shut_down"),
        "{public:?}"
    );
    // A MitID login is not affected by the NemID calendar.
    let (code, _, _, _) = lab.login("sp-post", "anna.jensen", &[]).await;
    assert!(!code.is_empty());
}

#[tokio::test]
async fn a_script_makes_the_broker_ignore_the_calendar_for_one_login() {
    let lab = lab_on("2024-01-01").await;
    // A NemID issued back in 2022 (no new NemID is issued in 2024).
    let uuid = uuid_of(&lab, "anna.jensen").await;
    let r = lab
        .control_post(
            &format!("/admin/identities/{uuid}/nemid"),
            &json!({"password": PASSWORD, "issued_on": "2022-03-01"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = lab
        .control_post(
            "/control/scripts",
            &json!({"match": {"test_user": "anna.jensen"}, "ignore_nemid_cutoff": true}),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert!(nemid_login(&lab, "sp-basic").await.contains_key("code"));
    // The script matched once: the next login meets the calendar again.
    assert!(
        nemid_login(&lab, "sp-basic").await["error_description"].starts_with("nemid_shut_down")
    );
}

async fn order(lab: &Lab, uuid: &str, item: &str, channel: &str) -> (u16, Value) {
    let r = lab
        .control_post(
            &format!("/admin/identities/{uuid}/nemid/orders"),
            &json!({ "item": item, "channel": channel }),
        )
        .await;
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn orders_move_to_citizen_service_then_stop_with_support() {
    let lab = lab_on("2023-05-29").await;
    let (uuid, _) = issue_nemid(&lab, "anna.jensen").await;
    let (status, card) = order(&lab, &uuid, "key_card", "support_line").await;
    assert_eq!(status, 201, "{card}");
    assert!(card["delivered_on"].as_str().unwrap() > "2023-05-29");
    set_clock(&lab, "2023-05-30").await;
    let (status, refused) = order(&lab, &uuid, "temporary_password", "support_line").await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (403, Some("nemid_post_orders_ended"))
    );
    let (status, letter) = order(&lab, &uuid, "temporary_password", "citizen_service").await;
    assert_eq!(status, 201, "{letter}");
    assert_eq!(letter["delivered_on"], "2023-05-30");
    // Handed over at the counter: usable at once, and it unblocks NemID.
    let r = lab
        .control_post(
            &format!("/admin/identities/{uuid}/nemid/temporary-password/redeem"),
            &json!({"temporary_password": letter["temporary_password"], "new_password": "Efter-aar-2023"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    set_clock(&lab, "2023-06-30").await;
    let (status, refused) = order(&lab, &uuid, "key_card", "support_line").await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (403, Some("nemid_support_closed"))
    );
    let (status, refused) = order(&lab, &uuid, "key_card", "citizen_service").await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (403, Some("nemid_not_issued"))
    );
    let helle = uuid_of(&lab, "helle.nielsen").await;
    let r = lab
        .control_post(
            &format!("/admin/identities/{helle}/nemid"),
            &json!({ "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status(), 403);
}

async fn get_mitid(lab: &Lab, body: &Value) -> (u16, Value) {
    lab.call(
        Method::POST,
        format!("{}/mitid-dk/get-mitid-with-nemid", lab.issuer),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn nemid_gets_mitid_until_2023_06_05() {
    let lab = lab_on("2023-06-04").await;
    let (uuid, issued) = issue_nemid(&lab, "lars.hansen").await;
    let (status, step) = get_mitid(
        &lab,
        &json!({"user_id": "0303703456", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{step}");
    let key: u16 = step["key_number"].as_str().unwrap().parse().unwrap();
    let code = issued.key_card.code_for(key).unwrap();
    let (status, mitid) = get_mitid(
        &lab,
        &json!({"user_id": "0303703456", "password": PASSWORD, "key_number": key, "code": format!("{code:06}")}),
    )
    .await;
    assert_eq!(status, 201, "{mitid}");
    assert_eq!(mitid["uuid"], uuid.as_str());
    assert!(
        mitid["activation_code"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
    let identity = lab
        .get_json(format!("{}/admin/identities/{uuid}", lab.control))
        .await;
    assert_eq!(identity["ial"], "substantial");
    set_clock(&lab, "2023-06-05").await;
    let (status, refused) = get_mitid(
        &lab,
        &json!({"user_id": "0303703456", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (403, Some("nemid_migration_ended"))
    );
}

/// `prompt=none` at `client` in `browser` (single sign-on only): the redirect's parameters.
async fn silent_login(
    lab: &Lab,
    browser: &reqwest::Client,
    client: &str,
) -> HashMap<String, String> {
    let (_, challenge) = pkce();
    let r = lab
        .authorize_in(
            browser,
            &[
                ("response_type", "code"),
                ("client_id", client),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("prompt", "none"),
            ],
        )
        .await;
    redirect_params(&r)
}

#[tokio::test]
async fn a_nemid_session_is_not_reused_after_the_cutoff() {
    let lab = lab_on("2022-10-31").await;
    let (_, issued) = issue_nemid(&lab, "anna.jensen").await;
    set_sector(&lab, "sp-post", "bank").await;
    // A NemID login on the pages leaves a single sign-on session in the browser.
    let browser = browser();
    let (url, html) = open_pages(&lab, &browser, "sp-basic").await;
    let html = submit_credentials(&browser, &url, &html, "anna.jensen", PASSWORD, None).await;
    let r = answer_key_card(&browser, &url, &html, &issued).await;
    assert!(redirect_params(&r).contains_key("code"));
    assert!(
        silent_login(&lab, &browser, "sp-post")
            .await
            .contains_key("code")
    );
    set_clock(&lab, "2022-11-01").await;
    assert_eq!(
        silent_login(&lab, &browser, "sp-post").await["error"],
        "login_required",
        "the bank's cut-off ends the NemID session there"
    );
    assert!(
        silent_login(&lab, &browser, "sp-basic")
            .await
            .contains_key("code")
    );
}
