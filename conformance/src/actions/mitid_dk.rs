//! MitID.dk's own pages at the broker: getting MitID or a forgotten user ID with NemID (password,
//! then a code of the citizen's own key card), and a new code-display password approved in the app.

use serde_json::{Value, json};

use super::identity::NEMID_PASSWORD;
use super::lab_api::{Reply, issuer_url, post_json, send_json};
use super::{ActionError, app, field};
use crate::world::LabWorld;

const MITID_DK: &str = "MitID.dk";

/// A NemID page of MitID.dk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NemidPage {
    GetMitid,
    ForgotUserId,
}

impl NemidPage {
    fn path(self) -> &'static str {
        match self {
            NemidPage::GetMitid => "mitid-dk/get-mitid-with-nemid",
            NemidPage::ForgotUserId => "mitid-dk/forgot-user-id-with-nemid",
        }
    }
}

/// Posts to one of MitID.dk's pages, as the citizen's browser does (the lab's own client: the
/// pages answer JSON), recorded as evidence with the journey's secrets (password, code) redacted.
async fn post(world: &mut LabWorld, path: &str, body: &Value) -> Result<Reply, ActionError> {
    let url = issuer_url(&world.lab(), path);
    send_json(world, reqwest::Method::POST, &url, Some(body)).await
}

/// The NemID user ID `alias` types on MitID.dk: the CPR number.
fn nemid_user_id(world: &LabWorld, alias: &str) -> Result<String, ActionError> {
    match world.note(&format!("cpr:{alias}")) {
        Some(cpr) => Ok(cpr.to_owned()),
        None => Ok(super::citizen(world, alias)?.user_id),
    }
}

/// The first step on a MitID.dk NemID page: NemID user ID (the CPR number) and password.
pub async fn first_step(
    world: &mut LabWorld,
    page: NemidPage,
    alias: &str,
) -> Result<Reply, ActionError> {
    let user_id = nemid_user_id(world, alias)?;
    post(
        world,
        page.path(),
        &json!({"user_id": user_id, "password": NEMID_PASSWORD}),
    )
    .await
}

/// Both steps of a MitID.dk NemID page: password, then the code of the key number asked from
/// `alias`'s own key card. Answers the second step.
pub async fn with_key_card(
    world: &mut LabWorld,
    page: NemidPage,
    alias: &str,
) -> Result<Reply, ActionError> {
    let what = format!("{alias}'s first step");
    let step = first_step(world, page, alias)
        .await?
        .expect(200, MITID_DK, &what)?;
    let key_number: u16 = field(&step, "key_number", MITID_DK, &what)?
        .parse()
        .map_err(|_| ActionError::Malformed {
            service: MITID_DK,
            what: what.clone(),
            missing: "a numeric key_number",
            answer: step.clone(),
        })?;
    let card: mitid_devices::KeyCard = world
        .note(&format!("nemid:{alias}"))
        .and_then(|n| serde_json::from_str::<Value>(n).ok())
        .and_then(|issued| serde_json::from_value(issued["key_card"].clone()).ok())
        .ok_or_else(|| ActionError::Citizen(format!("{alias} holds no NemID key card")))?;
    let code = card.code_for(key_number).ok_or_else(|| {
        ActionError::Citizen(format!(
            "key number {key_number:04} is not on {alias}'s card"
        ))
    })?;
    let user_id = nemid_user_id(world, alias)?;
    post(
        world,
        page.path(),
        &json!({"user_id": user_id, "password": NEMID_PASSWORD,
                "key_number": key_number, "code": format!("{code:06}")}),
    )
    .await
}

/// MitID.dk's page for a forgotten code-display password: the change is approved in the app on
/// `label` (a swipe), then MitID.dk sets the password the citizen chose. Answers it.
pub async fn change_password(
    world: &mut LabWorld,
    alias: &str,
    label: &str,
) -> Result<String, ActionError> {
    let user_id = super::citizen(world, alias)?.user_id;
    let lab = world.lab();
    let what = format!("a password change for {alias}");
    let change = post_json(
        world,
        &issuer_url(&lab, "mitid-dk/password-changes"),
        &json!({"user_id": user_id}),
    )
    .await?
    .expect(201, MITID_DK, &what)?;
    let change_id = field(&change, "change_id", MITID_DK, &what)?;
    // MitID.dk's change page shows no binding: the one request waiting is the change.
    app::approve_pending(world, alias, label, false, None).await?;
    let password = format!("nyt-kodeord-{}", lab.unique());
    post_json(
        world,
        &issuer_url(
            &lab,
            &format!("mitid-dk/password-changes/{change_id}/password"),
        ),
        &json!({"password": password}),
    )
    .await?
    .expect(200, MITID_DK, &what)?;
    world.devices.set_password(alias, &password);
    Ok(password)
}
