//! Citizen Service (Borgerservice): booking an appointment, proving identity with a passport and
//! questions from the CPR register or with a witness, issuing MitID at IAL High, and P codes for
//! people without a CPR number. The calls are [`crate::actions::citizen_service`]'s.

use cucumber::{given, then, when};
use serde_json::Value;

use crate::actions::citizen_service::{self as office, foreign_passport_note};
use crate::actions::{clock, cpr, identity};
use crate::checks::{self, OrFail};
use crate::world::{DESK_ANSWER, LabWorld};

#[given(regex = r#"^a person "([^"]+)" in the CPR register with a passport and no MitID$"#)]
async fn person_without_mitid(world: &mut LabWorld, alias: String) {
    cpr::registered_person(world, &alias).await.or_fail();
}

#[given(regex = r#"^a witness "([^"]+)" who has had MitID for (\d+) days$"#)]
async fn witness(world: &mut LabWorld, alias: String, days: i64) {
    office::witness_with_mitid_for(world, &alias, days, None)
        .await
        .or_fail();
}

#[given(regex = r#"^a witness "([^"]+)" aged (\d+) who has had MitID for (\d+) days$"#)]
async fn young_witness(world: &mut LabWorld, alias: String, age: i32, days: i64) {
    office::witness_with_mitid_for(world, &alias, days, Some(age))
        .await
        .or_fail();
}

#[given(regex = r#"^"([^"]+)" has already witnessed for (\d+) people$"#)]
async fn already_witnessed(world: &mut LabWorld, witness: String, count: u32) {
    for i in 0..count {
        let other = format!("{witness}'s acquaintance {i}");
        cpr::registered_person(world, &other).await.or_fail();
        let reply = office::vouch(world, &other, &witness).await.or_fail();
        assert_eq!(
            reply.status, 200,
            "{witness} could not witness for {other}: {}",
            reply.body
        );
    }
}

#[when(regex = r#"^"([^"]+)" books an appointment at Citizen Service$"#)]
async fn books(world: &mut LabWorld, alias: String) {
    office::book_appointment(world, &alias).await.or_fail();
}

#[when(regex = r#"^"([^"]+)" shows (?:her|his|their) passport at Citizen Service$"#)]
async fn shows_passport(world: &mut LabWorld, alias: String) {
    office::show_passport(world, &alias).await.or_fail();
}

#[when(regex = r#"^"([^"]+)" answers the CPR questions (right|wrong) at Citizen Service$"#)]
async fn answers_at_counter(world: &mut LabWorld, alias: String, how: String) {
    let reply = office::answer_questions(world, &alias, how == "right")
        .await
        .or_fail();
    if how == "right" {
        assert_eq!(
            reply.status, 200,
            "the right answers were refused: {}",
            reply.body
        );
    }
}

#[when(
    regex = r#"^"([^"]+)" comes to Citizen Service with "([^"]+)" as (?:her|his|their) witness$"#
)]
async fn comes_with_witness(world: &mut LabWorld, alias: String, witness: String) {
    // Whatever the desk answers is judged by the step that follows.
    office::vouch(world, &alias, &witness).await.or_fail();
}

#[then(expr = "Citizen Service refuses with {string}")]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn office_refuses(world: &mut LabWorld, reason: String) {
    checks::desk_refused(world, "Citizen Service", &reason);
}

#[when(
    regex = r#"^Citizen Service issues MitID to "([^"]+)" with (the MitID app|a code display)$"#
)]
async fn issues(world: &mut LabWorld, alias: String, device: String) {
    let code_display = device == "a code display";
    let reply = office::issue(world, &alias, code_display).await.or_fail();
    let answer = reply.body;
    assert_eq!(
        reply.status, 201,
        "Citizen Service did not issue MitID: {answer}"
    );
    office::take_issued(world, &alias, &answer).await.or_fail();
}

#[then(regex = r#"^Citizen Service refuses to issue MitID to "([^"]+)" with "([^"]+)"$"#)]
async fn refuses_to_issue(world: &mut LabWorld, alias: String, reason: String) {
    office::issue(world, &alias, false).await.or_fail();
    checks::desk_refused(world, "Citizen Service", &reason);
}

#[then(regex = r#"^Citizen Service revoked the app on "([^"]+)"'s (?:lost|old) phone$"#)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn office_revoked_old_app(world: &mut LabWorld, alias: String) {
    let answer: Value = world
        .note(DESK_ANSWER)
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or_default();
    assert_eq!(
        (
            answer["existing"].as_bool(),
            answer["revoked_apps"].as_u64()
        ),
        (Some(true), Some(1)),
        "Citizen Service's answer to {alias}'s new app: {answer}"
    );
}

#[given(regex = r#"^a person "([^"]+)" without a CPR number, with a foreign passport$"#)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn foreign_person(world: &mut LabWorld, alias: String) {
    let n = world.lab().unique();
    world
        .notes
        .push((foreign_passport_note(&alias), format!("ZX{n:07}")));
}

#[when(regex = r#"^Citizen Service hands "([^"]+)" a P code$"#)]
async fn hands_p_code(world: &mut LabWorld, alias: String) {
    office::hand_p_code(world, &alias).await.or_fail();
}

/// `alias` redeems the P code they were handed.
async fn redeem(world: &mut LabWorld, alias: &str) -> (u16, Value) {
    let code = office::p_code_of(world, alias).or_fail();
    let reply = office::redeem_p_code(world, alias, &code).await.or_fail();
    (reply.status, reply.body)
}

#[when(regex = r#"^"([^"]+)" redeems the P code for MitID$"#)]
async fn redeems(world: &mut LabWorld, alias: String) {
    let (status, identity) = redeem(world, &alias).await;
    assert_eq!(status, 201, "the P code was not accepted: {identity}");
    identity::adopt_identity(world, &alias, &identity);
    // The new MitID gets its app like any other: an activation code for the phone.
    let code = identity::new_app_activation_code(world, &alias)
        .await
        .or_fail();
    world.notes.push((format!("activation_code:{alias}"), code));
}

#[then(regex = r#"^the P code of "([^"]+)" cannot be used again$"#)]
async fn p_code_spent(world: &mut LabWorld, alias: String) {
    let (status, answer) = redeem(world, &alias).await;
    assert_eq!(status, 403, "a used P code must be refused: {answer}");
    assert!(
        answer["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("p_code")),
        "{answer}"
    );
}

#[when(regex = r#"^"([^"]+)" types a wrong P code (\d+) times$"#)]
async fn wrong_p_codes(world: &mut LabWorld, alias: String, times: u32) {
    let right = office::p_code_of(world, &alias).or_fail();
    // Another 8-digit code: the right one with its first digit changed.
    let first = right
        .chars()
        .next()
        .and_then(|c| c.to_digit(10))
        .unwrap_or(0);
    let wrong = format!("{}{}", (first + 1) % 10, &right[1..]);
    for attempt in 1..=times {
        let reply = office::redeem_p_code(world, &alias, &wrong).await.or_fail();
        assert!(
            reply.status == 400 || reply.status == 403,
            "wrong P code {attempt} must be refused: {} {}",
            reply.status,
            reply.body
        );
    }
}

/// Moves the lab clock every component shares (only in `@serial` scenarios; the runner puts it
/// back afterwards).
#[when(regex = r"^(\d+) days pass$")]
async fn days_pass(world: &mut LabWorld, days: i64) {
    clock::advance_days(world, days).await.or_fail();
}
