//! MitID.dk's "forgot user ID" with NemID: the NemID password and one key-card code tell the
//! MitID user ID; a wrong code tells nothing; from the NemID shutdown (2023-10-31) it is refused.

use reqwest::Method;
use serde_json::{Value, json};

use super::idp_support::Lab;
use super::nemid_calendar_refusals::set_clock;
use super::nemid_login::{PASSWORD, issue_nemid, lab_on};

async fn forgot_user_id(lab: &Lab, body: &Value) -> (u16, Value) {
    lab.call(
        Method::POST,
        format!("{}/mitid-dk/forgot-user-id-with-nemid", lab.issuer),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn nemid_tells_the_mitid_user_id_until_the_shutdown() {
    // NemID is issued while support is open, then the clock moves to the day before the shutdown.
    let lab = lab_on("2023-06-01").await;
    let (_, issued) = issue_nemid(&lab, "lars.hansen").await;
    set_clock(&lab, "2023-10-30").await;
    let first = json!({"user_id": "0303703456", "password": PASSWORD});

    let (status, refused) = forgot_user_id(
        &lab,
        &json!({"user_id": "0303703456", "password": "not-the-password"}),
    )
    .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (403, Some("access_denied")),
        "{refused}"
    );
    assert!(refused.get("user_id").is_none(), "{refused}");

    let (status, step) = forgot_user_id(&lab, &first).await;
    assert_eq!(
        (status, step["step"].as_str()),
        (200, Some("key_card")),
        "{step}"
    );
    assert!(
        step.get("user_id").is_none(),
        "not before the key card: {step}"
    );
    let key: u16 = step["key_number"].as_str().unwrap().parse().unwrap();
    let code = issued.key_card.code_for(key).unwrap();
    let wrong = (code + 1) % 1_000_000;
    let (status, refused) = forgot_user_id(
        &lab,
        &json!({"user_id": "0303703456", "password": PASSWORD, "key_number": key, "code": format!("{wrong:06}")}),
    )
    .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (403, Some("access_denied")),
        "{refused}"
    );
    assert!(refused.get("user_id").is_none(), "{refused}");

    let (_, step) = forgot_user_id(&lab, &first).await;
    let key: u16 = step["key_number"].as_str().unwrap().parse().unwrap();
    let code = issued.key_card.code_for(key).unwrap();
    let (status, told) = forgot_user_id(
        &lab,
        &json!({"user_id": "0303703456", "password": PASSWORD, "key_number": key, "code": format!("{code:06}")}),
    )
    .await;
    assert_eq!(
        (status, told["user_id"].as_str()),
        (200, Some("lars.hansen")),
        "{told}"
    );

    set_clock(&lab, "2023-10-31").await;
    let (status, refused) = forgot_user_id(&lab, &first).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (403, Some("nemid_shut_down")),
        "{refused}"
    );
}
