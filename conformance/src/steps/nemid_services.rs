//! NemID at NemID support (phone, orders sent by post) and at Citizen Service (handed over at the
//! counter): new key cards, temporary passwords and new NemID accounts, as the NemID calendar allows
//! them. The orders go to the broker's admin API, which holds the NemID and enforces the calendar.

use cucumber::{then, when};
use mitid_components::idp::admin::Ial;
use serde_json::json;

use crate::actions::clock;
use crate::actions::identity::{APP, Backing, NEMID_PASSWORD, create_citizen, request_nemid};
use crate::actions::nemid::{self, Channel, Item};
use crate::checks::OrFail;
use crate::world::LabWorld;

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
    let kind = if item == "new key card" {
        Item::KeyCard
    } else {
        Item::TemporaryPassword
    };
    let via = if channel == "NemID support" {
        Channel::SupportLine
    } else {
        Channel::CitizenService
    };
    let reply = nemid::order(world, &alias, kind, via).await.or_fail();
    let (status, answer) = (reply.status, reply.body);
    if verdict == "gives" {
        assert_eq!(
            status, 201,
            "{channel} did not give {alias} a {item}: {answer}"
        );
        if channel == "Citizen Service" {
            let today = clock::today(world).await.or_fail().to_string();
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
    let answer = nemid::redeem_temporary_password(world, &alias, &temporary)
        .await
        .or_fail();
    assert_eq!(answer["status"]["state"], "active", "{answer}");
}

#[then(expr = "a new citizen {string} can no longer get NemID with {string}")]
async fn no_new_nemid(world: &mut LabWorld, alias: String, error: String) {
    let citizen = create_citizen(world, &alias, APP, Ial::Substantial, Backing::Cpr, false)
        .await
        .or_fail();
    let reply = request_nemid(world, &citizen.uuid, &json!({ "password": NEMID_PASSWORD }))
        .await
        .or_fail();
    let answer = reply.body;
    assert_eq!(
        (reply.status, answer["error"].as_str()),
        (403, Some(error.as_str())),
        "the broker's answer to a new NemID for {alias}: {answer}"
    );
}
