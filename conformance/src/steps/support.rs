//! The MitID support line and the SMS gateway: the citizen calls, is identified with a passport
//! number and questions from the CPR register, and gets a temporary PIN or their user ID by SMS
//! (read back from the gateway, as the citizen's phone shows it) or a new code-display password.

use cucumber::{given, then, when};
use serde_json::json;

use crate::actions::support::{self, Request};
use crate::actions::{app, cpr};
use crate::checks::{self, OrFail};
use crate::world::LabWorld;

/// `alias` asks support for `request` in their call; answers status and body.
async fn ask(world: &mut LabWorld, alias: &str, request: Request) -> (u16, serde_json::Value) {
    let reply = support::ask(world, alias, request).await.or_fail();
    (reply.status, reply.body)
}

#[given(regex = r#"^"([^"]+)" changed (?:her|his|their) phone number today$"#)]
async fn changed_phone(world: &mut LabWorld, alias: String) {
    cpr::change_phone(world, &alias).await.or_fail();
}

#[when(
    regex = r#"^"([^"]+)" calls MitID support with (?:her|his|their) passport number and answers the CPR questions (right|wrong)$"#
)]
async fn calls_support(world: &mut LabWorld, alias: String, how: String) {
    let reply = support::call(world, &alias, how == "right").await.or_fail();
    let answer = reply.body;
    if how == "right" {
        assert_eq!(
            reply.status, 200,
            "support did not identify the caller: {answer}"
        );
        assert_eq!(answer["identified"], json!(true), "{answer}");
    }
}

#[when(regex = r#"^support sends "([^"]+)" a temporary PIN by SMS$"#)]
async fn sends_pin(world: &mut LabWorld, alias: String) {
    let (status, answer) = ask(world, &alias, Request::TemporaryPin).await;
    assert_eq!(status, 200, "support sent no temporary PIN: {answer}");
}

#[when(regex = r#"^"([^"]+)" asks support for a temporary PIN by SMS$"#)]
async fn asks_pin(world: &mut LabWorld, alias: String) {
    ask(world, &alias, Request::TemporaryPin).await;
}

#[when(regex = r#"^support sends "([^"]+)" (?:her|his|their) user ID by SMS$"#)]
async fn sends_user_id(world: &mut LabWorld, alias: String) {
    let (status, answer) = ask(world, &alias, Request::UserId).await;
    assert_eq!(status, 200, "support sent no user ID: {answer}");
}

#[when(regex = r#"^support resets the password of "([^"]+)"$"#)]
async fn resets_password(world: &mut LabWorld, alias: String) {
    let (status, answer) = ask(world, &alias, Request::PasswordReset).await;
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
    checks::desk_refused(world, "support", &reason);
}

#[when(
    regex = r#"^"([^"]+)" activates the app on (?:her|his|their) (phone|new phone) with the temporary PIN from the SMS$"#
)]
async fn activates_with_sms_pin(world: &mut LabWorld, alias: String, label: String) {
    let text = support::newest_sms(world, &alias).await.or_fail();
    let pin: String = text
        .split("PIN is ")
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(!pin.is_empty(), "no temporary PIN in the SMS {text:?}");
    let reply = app::activate_with_code(world, &alias, &label, &pin)
        .await
        .or_fail();
    let answer = reply.body;
    assert_eq!(
        reply.status, 201,
        "the temporary PIN did not activate the app: {answer}"
    );
}

#[then(regex = r#"^"([^"]+)" reads (?:her|his|their) user ID in the SMS$"#)]
async fn reads_user_id(world: &mut LabWorld, alias: String) {
    let text = support::newest_sms(world, &alias).await.or_fail();
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
    let messages = support::new_messages(world, &alias).await.or_fail();
    assert!(
        messages.is_empty(),
        "support must not send anything: {messages:?}"
    );
}
