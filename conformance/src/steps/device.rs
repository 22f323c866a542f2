//! The citizen's devices: phones with the MitID app, code displays and chips, as the devices crate
//! models them. They read passports, scan faces, enter activation codes and approve logins on the
//! broker's HTML pages (see [`crate::actions::app`] and [`crate::actions::pages`]): the journeys'
//! logins go through the pages with these devices, not through the broker's headless test mode.

use cucumber::{given, then, when};
use mitid_components::idp::admin::Ial;
use serde_json::{Value, json};

use crate::actions::app::{self, ENROLMENT_ANSWER, ENROLMENT_STATUS};
use crate::actions::identity::{self, NEMID_ISSUED_ON};
use crate::actions::pages::{self, PageMethod};
use crate::actions::{ActionError, chip, cpr, mitid_dk};
use crate::checks::{self, OrFail, trail};
use crate::world::LabWorld;

/// A login through the broker's pages that must succeed; `what` names it in the failure.
async fn must_log_in(
    world: &mut LabWorld,
    alias: &str,
    loa: Option<&str>,
    method: PageMethod<'_>,
    what: &str,
) {
    if let Err(error) = pages::login(world, alias, loa, method).await {
        panic!(
            "{alias}'s login with {what} failed: {error}\n{}",
            trail(&world.browser)
        );
    }
}

#[given(regex = r#"^a citizen "([^"]+)" with the MitID app on (?:her|his|their) phone$"#)]
async fn given_app_on_phone(world: &mut LabWorld, alias: String) {
    app::citizen_with_app_on_phone(world, &alias, Ial::Substantial)
        .await
        .or_fail();
}

#[given(
    regex = r#"^a citizen "([^"]+)" with the MitID app on (?:her|his|their) phone and a code display$"#
)]
async fn given_app_and_code_display(world: &mut LabWorld, alias: String) {
    app::citizen_with_app_on_phone(world, &alias, Ial::Substantial)
        .await
        .or_fail();
    app::issue_code_token(world, &alias, "code_display", "kodeord-til-kodeviser")
        .await
        .or_fail();
}

#[given(
    regex = r#"^a citizen "([^"]+)" with the MitID app on (?:her|his|their) phone and a NemID key card$"#
)]
async fn given_app_and_nemid(world: &mut LabWorld, alias: String) {
    app::citizen_with_app_on_phone(world, &alias, Ial::Substantial)
        .await
        .or_fail();
    identity::issue_nemid(world, &alias, NEMID_ISSUED_ON)
        .await
        .or_fail();
}

#[given(
    regex = r#"^a citizen "([^"]+)" with (a code display|an audio code reader) and a password$"#
)]
async fn given_code_token(world: &mut LabWorld, alias: String, device: String) {
    cpr::registered_person(world, &alias).await.or_fail();
    identity::mitid_for(world, &alias, Ial::Substantial)
        .await
        .or_fail();
    let kind = if device == "a code display" {
        "code_display"
    } else {
        "audio_code_reader"
    };
    app::issue_code_token(world, &alias, kind, "mit-gamle-kodeord")
        .await
        .or_fail();
}

#[when(
    regex = r#"^"([^"]+)" scans (?:her|his|their) passport and face with the MitID app on (?:her|his|their) (phone|new phone)$"#
)]
async fn scans_passport(world: &mut LabWorld, alias: String, label: String) {
    app::enrol_with_passport(world, &alias, &label)
        .await
        .or_fail();
}

#[when(
    regex = r#"^"([^"]+)" scans (?:her|his|their) passport with the MitID app but the face scan matches only (\d+)‰$"#
)]
async fn scans_passport_bad_face(world: &mut LabWorld, alias: String, permille: u16) {
    // The refusal is judged by the step that follows.
    app::passport_check(world, &alias, "phone", permille)
        .await
        .or_fail();
}

#[then(expr = "the app shows the refusal {string}")]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn app_refused(world: &mut LabWorld, error: String) {
    let status = world.note(ENROLMENT_STATUS).unwrap_or("none").to_owned();
    let answer: Value =
        serde_json::from_str(world.note(ENROLMENT_ANSWER).unwrap_or("null")).unwrap_or_default();
    assert!(
        status == "403" && answer["error"] == json!(error),
        "the broker should refuse with 403 {error}; it answered {status}: {answer}"
    );
}

#[when(regex = r#"^"([^"]+)" forgets (?:her|his|their) app PIN$"#)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn forgets_pin(world: &mut LabWorld, alias: String) {
    for phone in world.devices.phones.iter_mut().filter(|p| p.owner == alias) {
        phone.pin.clear();
    }
}

#[when(
    regex = r#"^"([^"]+)" forgets (?:her|his|their) user ID and loses (?:her|his|their) phone$"#
)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn forgets_user_id(world: &mut LabWorld, alias: String) {
    world.devices.forgotten_user_ids.push(alias.clone());
    if let Some(phone) = world
        .devices
        .phones
        .iter_mut()
        .find(|p| p.owner == alias && p.label == "phone")
    {
        "old phone".clone_into(&mut phone.label);
    }
}

#[when(regex = r#"^"([^"]+)" forgets (?:her|his|their) user ID$"#)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn forgets_only_user_id(world: &mut LabWorld, alias: String) {
    world.devices.forgotten_user_ids.push(alias.clone());
}

#[when(regex = r#"^"([^"]+)" gets a new phone$"#)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn gets_new_phone(world: &mut LabWorld, alias: String) {
    let phone = world
        .devices
        .phones
        .iter_mut()
        .find(|p| p.owner == alias && p.label == "phone")
        .unwrap_or_else(|| panic!("{alias} has no phone yet"));
    "old phone".clone_into(&mut phone.label);
}

#[when(
    regex = r#"^"([^"]+)" activates the app on (?:her|his|their) (phone|new phone) with the activation code (?:from Citizen Service|from MitID\.dk)$"#
)]
async fn activates_with_code(world: &mut LabWorld, alias: String, label: String) {
    let code = world
        .note(&format!("activation_code:{alias}"))
        .unwrap_or_else(|| panic!("{alias} was given no activation code"))
        .to_owned();
    app::activate_with_code(world, &alias, &label, &code)
        .await
        .or_fail()
        .expect(201, "the broker", "the activation code")
        .or_fail();
}

#[when(
    regex = r#"^"([^"]+)" orders an activation code on MitID\.dk after logging in with (?:her|his|their) code display$"#
)]
async fn orders_activation_code(world: &mut LabWorld, alias: String) {
    // MitID.dk is a service provider like any other: the citizen proves the code display works
    // with a real login, then MitID.dk has the broker issue an activation code for a new app.
    must_log_in(
        world,
        &alias,
        None,
        PageMethod::Code { password: None },
        "the code display at MitID.dk",
    )
    .await;
    let code = identity::new_app_activation_code(world, &alias)
        .await
        .or_fail();
    world.notes.push((format!("activation_code:{alias}"), code));
}

#[when(
    regex = r#"^"([^"]+)" logs in to the service provider with the app on (?:her|his|their) (phone|new phone|old phone)( using (?:her|his|their) PIN)?(?: asking for LoA (low|substantial|high))?$"#
)]
async fn logs_in_with_app(
    world: &mut LabWorld,
    alias: String,
    label: String,
    pin: String,
    loa: String,
) {
    let loa = (!loa.is_empty()).then_some(loa);
    // High needs the PIN (a swipe only earns Substantial).
    let with_pin = !pin.is_empty() || loa.as_deref() == Some("high");
    must_log_in(
        world,
        &alias,
        loa.as_deref(),
        PageMethod::App {
            label: &label,
            pin: with_pin,
        },
        "the app",
    )
    .await;
}

#[when(
    regex = r#"^"([^"]+)" logs in to the service provider with (?:her|his|their) (?:code display|audio code reader)(?: and the temporary password)?$"#
)]
async fn logs_in_with_code(world: &mut LabWorld, alias: String) {
    must_log_in(
        world,
        &alias,
        None,
        PageMethod::Code { password: None },
        "the code device",
    )
    .await;
}

#[when(
    regex = r#"^"([^"]+)" sets a new password on MitID\.dk and approves it with the app on (?:her|his|their) (phone|new phone)$"#
)]
async fn new_password_on_mitid_dk(world: &mut LabWorld, alias: String, label: String) {
    // MitID.dk's own page for a forgotten code-display password: the change is approved in the
    // app (a swipe), then MitID.dk sets the password the citizen chose.
    mitid_dk::change_password(world, &alias, &label)
        .await
        .or_fail();
}

#[then(
    regex = r#"^logging in with (?:her|his|their) (?:code display|audio code reader) and the old password is refused for "([^"]+)"$"#
)]
async fn old_password_refused(world: &mut LabWorld, alias: String) {
    let old = world
        .devices
        .passwords
        .iter()
        .filter(|(o, _)| *o == alias)
        .rev()
        .nth(1)
        .map(|(_, p)| p.clone())
        .expect("an earlier password");
    let result = pages::login(
        world,
        &alias,
        None,
        PageMethod::Code {
            password: Some(&old),
        },
    )
    .await;
    match result {
        Err(ActionError::Login(error)) if error.contains("refused") => {}
        Err(error) => panic!("the old password should be refused; the login ended with: {error}"),
        Ok(()) => panic!("the old password should be refused; the login succeeded with it"),
    }
}

#[then(regex = r#"^the app on "([^"]+)"'s old phone can no longer approve a login$"#)]
async fn old_phone_refused(world: &mut LabWorld, alias: String) {
    let result = pages::login(
        world,
        &alias,
        None,
        PageMethod::App {
            label: "old phone",
            pin: false,
        },
    )
    .await;
    match result {
        Err(ActionError::Login(error)) if error.contains("refused the approval") => {}
        Err(error) => panic!(
            "the old phone's approval should be refused by the broker; the login ended with: {error}\n{}",
            trail(&world.browser)
        ),
        Ok(()) => panic!(
            "the old phone's approval should be refused by the broker; the login succeeded with it\n{}",
            trail(&world.browser)
        ),
    }
    checks::world_has_no_session(world).await;
}

#[then(regex = r#"^the app showed "([^"]+)" (?:her|his|their) user ID$"#)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn app_showed_user_id(world: &mut LabWorld, alias: String) {
    let answer: Value =
        serde_json::from_str(world.note(ENROLMENT_ANSWER).unwrap_or("null")).unwrap_or_default();
    let user_id = world.citizen_named(&alias).user_id.clone();
    assert_eq!(
        answer["user_id"],
        json!(user_id),
        "the passport check should name {alias}'s user ID"
    );
}

#[then(regex = r#"^"([^"]+)" has MitID at identity assurance (Low|Substantial|High)$"#)]
async fn has_mitid_at(world: &mut LabWorld, alias: String, ial: String) {
    let view = identity::identity_of(world, &alias).await.or_fail();
    assert_eq!(
        view["ial"],
        json!(ial.to_lowercase()),
        "{alias}'s MitID: {view}"
    );
}

#[then(regex = r#"^"([^"]+)" has no MitID$"#)]
async fn has_no_mitid(world: &mut LabWorld, alias: String) {
    let cpr = cpr::cpr_of(world, &alias).or_fail();
    let reply = identity::identity_by_cpr(world, &cpr).await.or_fail();
    assert_eq!(
        reply.status, 404,
        "{alias} should have no MitID: {}",
        reply.body
    );
}

#[then(expr = "the session shows identity assurance {string}")]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn session_ial(world: &mut LabWorld, ial: String) {
    let (_, json) = world.last_me.clone().expect("a session check ran first");
    let json = json.unwrap_or_default();
    let reported = json.get("ial").and_then(Value::as_str).unwrap_or("");
    assert!(
        reported
            .to_ascii_lowercase()
            .ends_with(&ial.to_ascii_lowercase()),
        "/me should report ial {ial:?} (or its NSIS URI), it answered {json}"
    );
}

#[then(expr = "the session shows a MitID without CPR number")]
fn session_without_cpr(world: &mut LabWorld) {
    let (_, json) = world.last_me.clone().expect("a session check ran first");
    let json = json.unwrap_or_default();
    assert_eq!(
        json.get("has_cpr"),
        Some(&json!(false)),
        "/me should report has_cpr false: {json}"
    );
}

#[given(regex = r#"^a citizen "([^"]+)" with a MitID chip activated in two steps a day apart$"#)]
async fn given_chip(world: &mut LabWorld, alias: String) {
    cpr::registered_person(world, &alias).await.or_fail();
    identity::mitid_for(world, &alias, Ial::High)
        .await
        .or_fail();
    identity::set_password(world, &alias, "chip-kodeord-1")
        .await
        .or_fail();
    chip::activate(world, &alias, 25)
        .await
        .or_fail()
        .expect(200, "the broker", "the chip's second step")
        .or_fail();
}

#[then(
    regex = r#"^a second chip's activation for "([^"]+)" completed within 24 hours is refused$"#
)]
async fn chip_too_early(world: &mut LabWorld, alias: String) {
    let reply = chip::activate(world, &alias, 2).await.or_fail();
    assert_eq!(
        reply.status, 409,
        "the second step must wait 24 hours: {}",
        reply.body
    );
}

#[when(
    regex = r#"^"([^"]+)" logs in to the service provider with (?:her|his|their) MitID chip(?: asking for LoA (low|substantial|high))?$"#
)]
async fn logs_in_with_chip(world: &mut LabWorld, alias: String, loa: String) {
    let loa = (!loa.is_empty()).then_some(loa);
    must_log_in(world, &alias, loa.as_deref(), PageMethod::Chip, "the chip").await;
}

#[when(
    regex = r#"^"([^"]+)" shows a QR code for a new device on (?:her|his|their) (phone|old phone)$"#
)]
async fn shows_qr(world: &mut LabWorld, alias: String, label: String) {
    app::offer_second_device(world, &alias, &label)
        .await
        .or_fail();
}

#[when(
    regex = r#"^"([^"]+)" scans the QR code with (?:her|his|their) new phone (nearby|out of Bluetooth range)$"#
)]
async fn scans_qr(world: &mut LabWorld, alias: String, range: String) {
    let nearby = range == "nearby";
    let reply = app::scan_qr(world, &alias, nearby).await.or_fail();
    if nearby {
        assert_eq!(
            reply.status, 201,
            "the broker refused the scanned QR code: {}",
            reply.body
        );
    }
}
