//! NemID at NemID support (phone, orders sent by post) and at Citizen Service (handed over at the
//! counter): new key cards, temporary passwords and new NemID accounts, as the NemID calendar allows
//! them. The orders go to the broker's admin API, which holds the NemID and enforces the calendar.

use cucumber::{then, when};
use serde_json::{Value, json};

use super::broker::control;
use super::citizen::{NEMID_PASSWORD, create_citizen, request_nemid};
use crate::world::LabWorld;
use mitid_components::idp::admin::Ial;

/// Orders `item` for `alias` through `channel`; answers the broker's status and body.
async fn order(world: &mut LabWorld, alias: &str, item: &str, channel: &str) -> (u16, Value) {
    let uuid = world.citizen_named(alias).uuid.clone();
    let item = if item == "new key card" {
        "key_card"
    } else {
        "temporary_password"
    };
    let channel = if channel == "NemID support" {
        "support_line"
    } else {
        "citizen_service"
    };
    let body = json!({ "item": item, "channel": channel });
    control(
        world,
        reqwest::Method::POST,
        &format!("admin/identities/{uuid}/nemid/orders"),
        Some(&body),
    )
    .await
}

#[then(
    regex = r#"^(NemID support|Citizen Service) (gives|refuses) "([^"]+)" a (new key card|temporary password)(?: with "([^"]+)")?$"#
)]
async fn nemid_order(
    world: &mut LabWorld,
    channel: String,
    verdict: String,
    alias: String,
    item: String,
    error: String,
) {
    let (status, answer) = order(world, &alias, &item, &channel).await;
    if verdict == "gives" {
        assert_eq!(
            status, 201,
            "{channel} did not give {alias} a {item}: {answer}"
        );
        if channel == "Citizen Service" {
            let today = super::calendar::lab_today(world).await.to_string();
            assert_eq!(
                answer["delivered_on"].as_str(),
                Some(today.as_str()),
                "Citizen Service hands it over at the counter: {answer}"
            );
        }
        if let Some(password) = answer["temporary_password"].as_str() {
            world
                .notes
                .push((format!("temporary password:{alias}"), password.to_owned()));
        }
    } else {
        assert_eq!(
            (status, answer["error"].as_str()),
            (403, Some(error.as_str())),
            "{channel}'s answer to {alias}'s order of a {item}: {answer}"
        );
    }
}

#[when(expr = "{string} sets a new NemID password with the temporary password")]
async fn redeems_temporary_password(world: &mut LabWorld, alias: String) {
    let temporary = world
        .note(&format!("temporary password:{alias}"))
        .unwrap_or_else(|| panic!("{alias} has no temporary password"))
        .to_owned();
    let uuid = world.citizen_named(&alias).uuid.clone();
    let body = json!({"temporary_password": temporary, "new_password": NEMID_PASSWORD});
    let (status, answer) = control(
        world,
        reqwest::Method::POST,
        &format!("admin/identities/{uuid}/nemid/temporary-password/redeem"),
        Some(&body),
    )
    .await;
    assert_eq!(status, 200, "{alias}'s temporary password: {answer}");
    assert_eq!(answer["status"]["state"], "active", "{answer}");
}

#[then(expr = "a new citizen {string} can no longer get NemID with {string}")]
async fn no_new_nemid(world: &mut LabWorld, alias: String, error: String) {
    create_citizen(
        world,
        &alias,
        "the MitID app",
        Ial::Substantial,
        true,
        false,
    )
    .await;
    let uuid = world.citizen_named(&alias).uuid.clone();
    let (status, answer) =
        request_nemid(world, &uuid, &json!({ "password": NEMID_PASSWORD })).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some(error.as_str())),
        "the broker's answer to a new NemID for {alias}: {answer}"
    );
}
