//! The MitID support line and the SMS gateway: the citizen calls, is identified with a passport
//! number and questions from the CPR register, and gets a temporary PIN or their user ID by SMS
//! (read back from the gateway, as the citizen's phone shows it) or a new code-display password.

use mitid_components::cpr::Challenge;
use serde_json::{Value, json};
use url::Url;

use super::lab_api::{Reply, post_json, send_json, service_url};
use super::{ActionError, cpr, field};
use crate::world::{Lab, LabWorld};

const SUPPORT: &str = "MitID support";
const SMS: &str = "the SMS gateway";

fn support_url(lab: &Lab, path: &str) -> Result<Url, ActionError> {
    service_url(lab.endpoints.support.as_ref(), "a support line", path)
}

/// The messages the phone `number` received, oldest first.
async fn inbox(world: &mut LabWorld, number: &str) -> Result<Vec<Value>, ActionError> {
    let lab = world.lab();
    let mut url = service_url(lab.endpoints.sms.as_ref(), "an SMS gateway", "messages")?;
    url.query_pairs_mut().append_pair("to", number);
    let answer = send_json(world, reqwest::Method::GET, &url, None)
        .await?
        .expect(200, SMS, format!("the messages to {number}"))?;
    Ok(answer["messages"].as_array().cloned().unwrap_or_default())
}

/// The SMS messages on `alias`'s phone since their last call to support (all of them when they
/// have not called), oldest first.
pub async fn new_messages(world: &mut LabWorld, alias: &str) -> Result<Vec<Value>, ActionError> {
    let number = cpr::phone_number(world, alias).await?;
    let before: usize = world
        .note(&format!("inbox_before:{alias}"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let messages = inbox(world, &number).await?;
    Ok(messages.into_iter().skip(before).collect())
}

/// The text of the newest SMS from MitID on `alias`'s phone since their call.
pub async fn newest_sms(world: &mut LabWorld, alias: &str) -> Result<String, ActionError> {
    let messages = new_messages(world, alias).await?;
    let last = messages
        .last()
        .ok_or_else(|| ActionError::Citizen(format!("no new SMS reached {alias}'s phone")))?;
    if last["sender"] != json!("MitID") {
        return Err(ActionError::Citizen(format!(
            "the newest SMS on {alias}'s phone is not from MitID: {last}"
        )));
    }
    Ok(last["text"].as_str().unwrap_or_default().to_owned())
}

/// `alias` calls support, gives their passport number and answers the questions (all right or
/// all wrong); answers the support line's verdict on the answers.
pub async fn call(world: &mut LabWorld, alias: &str, right: bool) -> Result<Reply, ActionError> {
    let person = cpr::person_of(world, alias).await?;
    let number = cpr::phone_number(world, alias).await?;
    let before = inbox(world, &number).await?.len();
    world
        .notes
        .push((format!("inbox_before:{alias}"), before.to_string()));
    let lab = world.lab();
    let passport = person
        .passport_number
        .clone()
        .ok_or_else(|| ActionError::Citizen(format!("{alias} has no passport")))?;
    let body = json!({"cpr": person.cpr.compact(), "document_number": passport});
    let what = format!("{alias}'s call");
    let opened = post_json(world, &support_url(&lab, "calls")?, &body)
        .await?
        .expect(201, SUPPORT, &what)?;
    let call_id = field(&opened, "call_id", SUPPORT, &what)?;
    world.notes.push((format!("call:{alias}"), call_id.clone()));
    let challenge: Challenge =
        serde_json::from_value(opened["questions"].clone()).map_err(|_| {
            ActionError::Malformed {
                service: SUPPORT,
                what,
                missing: "CPR questions",
                answer: opened.clone(),
            }
        })?;
    let given = cpr::answers(&person, &challenge, right)?;
    let reply = post_json(
        world,
        &support_url(&lab, &format!("calls/{call_id}/answers"))?,
        &json!({"answers": given}),
    )
    .await?;
    world.remember_desk_answer(reply.status, &reply.body);
    Ok(reply)
}

/// What the caller can ask support for once identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    TemporaryPin,
    UserId,
    PasswordReset,
}

impl Request {
    fn path(self) -> &'static str {
        match self {
            Request::TemporaryPin => "temporary-pin",
            Request::UserId => "user-id",
            Request::PasswordReset => "password-reset",
        }
    }
}

/// `alias` asks support, in the call they made, for `request`; answers support's reply.
pub async fn ask(
    world: &mut LabWorld,
    alias: &str,
    request: Request,
) -> Result<Reply, ActionError> {
    let call_id = world
        .note(&format!("call:{alias}"))
        .map(str::to_owned)
        .ok_or_else(|| ActionError::Citizen(format!("{alias} has not called support")))?;
    let lab = world.lab();
    let reply = post_json(
        world,
        &support_url(&lab, &format!("calls/{call_id}/{}", request.path()))?,
        &json!({}),
    )
    .await?;
    world.remember_desk_answer(reply.status, &reply.body);
    Ok(reply)
}
