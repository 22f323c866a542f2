//! The MitID support line and the SMS gateway: the citizen calls, is identified with a passport
//! number and questions from the CPR register, and gets a temporary PIN or their user ID by SMS
//! (read back from the gateway, as the citizen's phone shows it) or a new code-display password.

use cucumber::{given, then, when};
use mitid_components::cpr::Challenge;
use serde_json::{Value, json};
use url::Url;

use super::citizen_service::{
    answers, assert_refused, cpr_url, person_of, post_json, remember_answer, send_json,
};
use crate::world::{Lab, LabWorld};

fn support_url(lab: &Lab, path: &str) -> Url {
    lab.endpoints
        .support
        .as_ref()
        .expect("the lab runs without a support line (@needs:services)")
        .join(path)
        .expect("relative path")
}

/// The messages the phone `number` received, oldest first.
async fn inbox(world: &mut LabWorld, number: &str) -> Vec<Value> {
    let lab = world.lab();
    let mut url = lab
        .endpoints
        .sms
        .as_ref()
        .expect("the lab runs without an SMS gateway (@needs:services)")
        .join("messages")
        .expect("relative path");
    url.query_pairs_mut().append_pair("to", number);
    let (status, answer) = send_json(world, reqwest::Method::GET, &url, None).await;
    assert_eq!(
        status, 200,
        "the SMS gateway did not list messages: {answer}"
    );
    answer["messages"].as_array().cloned().unwrap_or_default()
}

async fn phone_number(world: &mut LabWorld, alias: &str) -> String {
    person_of(world, alias)
        .await
        .phone_number
        .unwrap_or_else(|| panic!("{alias} has no phone number in the CPR register"))
}

/// The newest SMS from MitID on `alias`'s phone that arrived during this call.
async fn newest_sms(world: &mut LabWorld, alias: &str) -> String {
    let number = phone_number(world, alias).await;
    let before: usize = world
        .note(&format!("inbox_before:{alias}"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let messages = inbox(world, &number).await;
    assert!(
        messages.len() > before,
        "no new SMS reached {alias}'s phone {number}: {messages:?}"
    );
    let last = messages.last().expect("checked above");
    assert_eq!(last["sender"], json!("MitID"), "{last}");
    last["text"].as_str().unwrap_or_default().to_owned()
}

/// Opens a call and answers the questions; answers the support line's verdict on the answers.
async fn call(world: &mut LabWorld, alias: &str, right: bool) -> (u16, Value) {
    let person = person_of(world, alias).await;
    let number = phone_number(world, alias).await;
    let before = inbox(world, &number).await.len();
    world
        .notes
        .push((format!("inbox_before:{alias}"), before.to_string()));
    let lab = world.lab();
    let body = json!({
        "cpr": person.cpr.compact(),
        "document_number": person.passport_number.clone().expect("a passport"),
    });
    let (status, opened) = post_json(world, &support_url(&lab, "calls"), &body).await;
    assert_eq!(status, 201, "support did not take the call: {opened}");
    let call_id = opened["call_id"].as_str().expect("call_id").to_owned();
    world.notes.push((format!("call:{alias}"), call_id.clone()));
    let challenge: Challenge =
        serde_json::from_value(opened["questions"].clone()).expect("CPR questions");
    let given = answers(&person, &challenge, right);
    let answer = post_json(
        world,
        &support_url(&lab, &format!("calls/{call_id}/answers")),
        &json!({"answers": given}),
    )
    .await;
    remember_answer(world, answer.0, &answer.1);
    answer
}

async fn ask(world: &mut LabWorld, alias: &str, what: &str) -> (u16, Value) {
    let call_id = world
        .note(&format!("call:{alias}"))
        .unwrap_or_else(|| panic!("{alias} has not called support"))
        .to_owned();
    let lab = world.lab();
    let answer = post_json(
        world,
        &support_url(&lab, &format!("calls/{call_id}/{what}")),
        &json!({}),
    )
    .await;
    remember_answer(world, answer.0, &answer.1);
    answer
}

#[given(regex = r#"^"([^"]+)" changed (?:her|his|their) phone number today$"#)]
async fn changed_phone(world: &mut LabWorld, alias: String) {
    let cpr = world
        .note(&format!("cpr:{alias}"))
        .expect("a registered person")
        .to_owned();
    let lab = world.lab();
    let n = lab.unique();
    let number = format!("+4529{:06}", n % 1_000_000);
    let (status, answer) = send_json(
        world,
        reqwest::Method::PUT,
        &cpr_url(&lab, &format!("persons/{cpr}/phone")),
        Some(&json!({"phone_number": number})),
    )
    .await;
    assert_eq!(
        status, 200,
        "the CPR register refused the new number: {answer}"
    );
}

#[when(
    regex = r#"^"([^"]+)" calls MitID support with (?:her|his|their) passport number and answers the CPR questions (right|wrong)$"#
)]
async fn calls_support(world: &mut LabWorld, alias: String, how: String) {
    let (status, answer) = call(world, &alias, how == "right").await;
    if how == "right" {
        assert_eq!(status, 200, "support did not identify the caller: {answer}");
        assert_eq!(answer["identified"], json!(true), "{answer}");
    }
}

#[when(regex = r#"^support sends "([^"]+)" a temporary PIN by SMS$"#)]
async fn sends_pin(world: &mut LabWorld, alias: String) {
    let (status, answer) = ask(world, &alias, "temporary-pin").await;
    assert_eq!(status, 200, "support sent no temporary PIN: {answer}");
}

#[when(regex = r#"^"([^"]+)" asks support for a temporary PIN by SMS$"#)]
async fn asks_pin(world: &mut LabWorld, alias: String) {
    ask(world, &alias, "temporary-pin").await;
}

#[when(regex = r#"^support sends "([^"]+)" (?:her|his|their) user ID by SMS$"#)]
async fn sends_user_id(world: &mut LabWorld, alias: String) {
    let (status, answer) = ask(world, &alias, "user-id").await;
    assert_eq!(status, 200, "support sent no user ID: {answer}");
}

#[when(regex = r#"^support resets the password of "([^"]+)"$"#)]
async fn resets_password(world: &mut LabWorld, alias: String) {
    let (status, answer) = ask(world, &alias, "password-reset").await;
    assert_eq!(status, 200, "support reset no password: {answer}");
    let password = answer["temporary_password"]
        .as_str()
        .expect("a temporary password")
        .to_owned();
    world.devices.set_password(&alias, &password);
}

#[then(expr = "support refuses with {string}")]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn support_refuses(world: &mut LabWorld, reason: String) {
    assert_refused(world, "support", &reason);
}

#[when(
    regex = r#"^"([^"]+)" activates the app on (?:her|his|their) (phone|new phone) with the temporary PIN from the SMS$"#
)]
async fn activates_with_sms_pin(world: &mut LabWorld, alias: String, label: String) {
    let text = newest_sms(world, &alias).await;
    let pin: String = text
        .split("PIN is ")
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(!pin.is_empty(), "no temporary PIN in the SMS {text:?}");
    let (status, answer) = super::device::activate_with_code(world, &alias, &label, &pin).await;
    assert_eq!(
        status, 201,
        "the temporary PIN did not activate the app: {answer}"
    );
}

#[then(regex = r#"^"([^"]+)" reads (?:her|his|their) user ID in the SMS$"#)]
async fn reads_user_id(world: &mut LabWorld, alias: String) {
    let text = newest_sms(world, &alias).await;
    let told = text.strip_prefix("Your MitID user ID is ").map_or_else(
        || panic!("the SMS does not tell a user ID: {text:?}"),
        |rest| rest.strip_suffix('.').unwrap_or(rest),
    );
    let user_id = world.citizen_named(&alias).user_id.clone();
    assert_eq!(told, user_id, "the SMS names another user ID");
    world.devices.forgotten_user_ids.retain(|a| *a != alias);
}

#[then(regex = r#"^no SMS reached "([^"]+)"$"#)]
async fn no_sms(world: &mut LabWorld, alias: String) {
    let number = phone_number(world, &alias).await;
    let before: usize = world
        .note(&format!("inbox_before:{alias}"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let messages = inbox(world, &number).await;
    assert_eq!(
        messages.len(),
        before,
        "support must not send anything: {messages:?}"
    );
}
