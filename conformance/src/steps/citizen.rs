//! The citizen: who they are (a MitID identity created for this scenario only) and what they do
//! at the service provider (log in, abort, log out, step up).

use cucumber::{given, then, when};
use mitid_components::idp::admin::Ial;
use mitid_components::idp::script::Behaviour;
use serde_json::Value;

use crate::actions::identity::{self, APP, Backing, NEMID_ISSUED_ON, create_citizen, issue_nemid};
use crate::actions::mitid_dk::{self, NemidPage};
use crate::actions::service_provider::{self, Tamper};
use crate::checks::{self, OrFail};
use crate::world::LabWorld;

/// Drives a headless login; a login that cannot reach the broker fails the step.
async fn drive_login(world: &mut LabWorld, alias: &str, loa: Option<&str>, tamper: Tamper) {
    service_provider::drive_login(world, alias, loa, tamper)
        .await
        .or_fail();
}

fn ial_named(name: &str) -> Ial {
    match name {
        "Low" => Ial::Low,
        "High" => Ial::High,
        _ => Ial::Substantial,
    }
}

#[given(
    regex = r#"^a citizen "([^"]+)" with (the MitID app|a code display|an audio code reader|a MitID chip)(?: and identity assurance (Low|Substantial|High))?$"#
)]
async fn citizen_with(world: &mut LabWorld, alias: String, device: String, ial: String) {
    let ial = if ial.is_empty() {
        Ial::Substantial
    } else {
        ial_named(&ial)
    };
    create_citizen(world, &alias, &device, ial, Backing::Cpr, false)
        .await
        .or_fail();
}

#[given(expr = "a citizen {string} without a CPR number, identified with a P code")]
async fn citizen_without_cpr(world: &mut LabWorld, alias: String) {
    create_citizen(world, &alias, APP, Ial::Substantial, Backing::PCode, false)
        .await
        .or_fail();
}

#[given(regex = r#"^a citizen "([^"]+)" with (a NemID key card|a NemID key app)$"#)]
async fn citizen_with_nemid(world: &mut LabWorld, alias: String, device: String) {
    create_citizen(world, &alias, &device, Ial::Substantial, Backing::Cpr, true)
        .await
        .or_fail();
    issue_nemid(world, &alias, NEMID_ISSUED_ON).await.or_fail();
}

#[given(expr = "{string} has logged in once before the rotation")]
async fn logged_in_before(world: &mut LabWorld, alias: String) {
    drive_login(world, &alias, None, Tamper::None).await;
    let lab = world.lab();
    let uuid = world.citizen_named(&alias).uuid.clone();
    checks::session_for(&lab, &mut world.browser, &alias, &uuid).await;
}

#[when(
    regex = r#"^"([^"]+)" logs in to the service provider(?: asking for LoA (low|substantial|high))?$"#
)]
async fn logs_in(world: &mut LabWorld, alias: String, loa: String) {
    let loa = (!loa.is_empty()).then_some(loa);
    drive_login(world, &alias, loa.as_deref(), Tamper::None).await;
}

#[given(expr = "{string} acts for the company {string}")]
async fn acts_for(world: &mut LabWorld, alias: String, company: String) {
    identity::act_for(world, &alias, &[&company])
        .await
        .or_fail();
}

#[given(expr = "{string} acts for the companies {string} and {string}")]
async fn acts_for_two(world: &mut LabWorld, alias: String, first: String, second: String) {
    identity::act_for(world, &alias, &[&first, &second])
        .await
        .or_fail();
}

#[when(
    regex = r#"^"([^"]+)" logs in to the service provider for the company "([^"]+)"( in a new browser)?$"#
)]
async fn logs_in_for_company(world: &mut LabWorld, alias: String, company: String, new: String) {
    if !new.is_empty() {
        world.new_browser();
    }
    service_provider::drive_business_login(world, &alias, &company)
        .await
        .or_fail();
}

#[when(expr = "{string} logs in to the service provider in a new browser")]
async fn logs_in_new_browser(world: &mut LabWorld, alias: String) {
    world.new_browser();
    drive_login(world, &alias, None, Tamper::None).await;
}

#[when(
    regex = r#"^"([^"]+)" logs in to the service provider but (the browser replaces the callback's state|the browser removes the callback's state|the browser replaces the callback's code|the browser adds a trailing slash to the callback's iss|the browser keeps the callback|enters a wrong PIN until blocked|never approves in the app)$"#
)]
async fn logs_in_but(world: &mut LabWorld, alias: String, how: String) {
    let tamper = match how.as_str() {
        "the browser replaces the callback's state" => Tamper::ReplaceState,
        "the browser removes the callback's state" => Tamper::RemoveState,
        "the browser replaces the callback's code" => Tamper::ReplaceCode,
        "the browser adds a trailing slash to the callback's iss" => Tamper::IssTrailingSlash,
        "the browser keeps the callback" => Tamper::Withhold,
        "enters a wrong PIN until blocked" => {
            world.pending.behaviour = Some(Behaviour::WrongPin);
            Tamper::None
        }
        _ => {
            world.pending.behaviour = Some(Behaviour::Timeout);
            Tamper::None
        }
    };
    drive_login(world, &alias, None, tamper).await;
}

#[when(expr = "{string} aborts the login at the service provider")]
async fn aborts(world: &mut LabWorld, alias: String) {
    world.pending.behaviour = Some(Behaviour::Abort);
    drive_login(world, &alias, None, Tamper::None).await;
}

#[when(expr = "{string} logs in to the service provider with NemID")]
async fn logs_in_with_nemid(world: &mut LabWorld, alias: String) {
    // A real NemID login at the broker: password + a key-card pair of the citizen's card, checked
    // by the broker against its record (the browser asks for it with `idp_values=nemid`).
    let device = world.citizen_named(&alias).devices[0].clone();
    world.pending.behaviour = Some(if device == "a NemID key app" {
        Behaviour::NemidKeyApp
    } else {
        Behaviour::NemidKeyCard
    });
    world.pending.record = true;
    drive_login(world, &alias, None, Tamper::None).await;
}

// The citizen's name only selects the step: the scenario's browser is already theirs.
#[when(regex = r#"^"[^"]+" starts (\d+) logins? at the service provider$"#)]
async fn starts_logins(world: &mut LabWorld, count: usize) {
    for _ in 0..count {
        // Each attempt is recorded, answered or not: the steps that follow judge them.
        let _ = service_provider::start_login(world, None).await;
    }
}

#[when(expr = "{string} steps up to LoA {word}")]
async fn steps_up(world: &mut LabWorld, alias: String, loa: String) {
    drive_login(world, &alias, Some(&loa), Tamper::None).await;
}

// The citizen's name only selects the step: the scenario's browser is already theirs.
#[when(regex = r#"^"[^"]+" logs out at the service provider$"#)]
async fn logs_out(world: &mut LabWorld) {
    let trace = service_provider::logout(world).await.or_fail();
    if let Some(answer) = &trace.answer {
        checks::declared_endpoint_exists(
            "logout endpoint",
            crate::target::OptionalFeature::RpInitiatedLogout,
            &trace.request,
            answer
                .as_ref()
                .map(|(status, body)| (*status, body.as_str()))
                .map_err(String::as_str),
        );
    }
}

#[given(expr = "a citizen {string} who has only NemID")]
async fn citizen_with_only_nemid(world: &mut LabWorld, alias: String) {
    // The broker's registry entry of a NemID holder who has not got MitID yet: no authenticator,
    // identity assurance Low until MitID is obtained.
    create_citizen(
        world,
        &alias,
        "a NemID key card",
        Ial::Low,
        Backing::Cpr,
        true,
    )
    .await
    .or_fail();
    issue_nemid(world, &alias, NEMID_ISSUED_ON).await.or_fail();
}

#[when(expr = "{string} gets MitID with NemID on MitID.dk")]
async fn gets_mitid_with_nemid(world: &mut LabWorld, alias: String) {
    let reply = mitid_dk::with_key_card(world, NemidPage::GetMitid, &alias)
        .await
        .or_fail();
    let mitid = reply.body;
    assert_eq!(
        reply.status, 201,
        "MitID.dk did not give {alias} MitID: {mitid}"
    );
    world
        .notes
        .push((format!("mitid via nemid:{alias}"), mitid.to_string()));
}

#[when(regex = r#"^"([^"]+)" logs in on MitID\.dk with NemID to find (?:her|his|their) user ID$"#)]
async fn finds_user_id_with_nemid(world: &mut LabWorld, alias: String) {
    let reply = mitid_dk::with_key_card(world, NemidPage::ForgotUserId, &alias)
        .await
        .or_fail();
    let told = reply.body;
    assert_eq!(
        reply.status, 200,
        "MitID.dk did not tell {alias} the user ID: {told}"
    );
    world
        .notes
        .push((format!("user id via nemid:{alias}"), told.to_string()));
}

#[then(regex = r#"^MitID\.dk told "([^"]+)" (?:her|his|their) user ID$"#)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn mitid_dk_told_user_id(world: &mut LabWorld, alias: String) {
    let told: Value = world
        .note(&format!("user id via nemid:{alias}"))
        .and_then(|n| serde_json::from_str(n).ok())
        .unwrap_or_else(|| panic!("{alias} did not ask MitID.dk for the user ID"));
    let user_id = world.citizen_named(&alias).user_id.clone();
    assert_eq!(
        told["user_id"].as_str(),
        Some(user_id.as_str()),
        "MitID.dk named another user ID"
    );
    world.devices.forgotten_user_ids.retain(|a| *a != alias);
}

#[then(regex = r#"^MitID\.dk refuses to tell "([^"]+)" (?:her|his|their) user ID with "([^"]+)"$"#)]
async fn mitid_dk_refuses_user_id(world: &mut LabWorld, alias: String, error: String) {
    let reply = mitid_dk::first_step(world, NemidPage::ForgotUserId, &alias)
        .await
        .or_fail();
    let answer = reply.body;
    assert_eq!(
        (reply.status, answer["error"].as_str()),
        (403, Some(error.as_str())),
        "MitID.dk's answer to {alias}: {answer}"
    );
    assert!(answer.get("user_id").is_none(), "{answer}");
}

#[then(expr = "{string} has a MitID at identity assurance Substantial with an app activation code")]
async fn has_mitid_from_nemid(world: &mut LabWorld, alias: String) {
    let got: Value = world
        .note(&format!("mitid via nemid:{alias}"))
        .and_then(|n| serde_json::from_str(n).ok())
        .unwrap_or_else(|| panic!("{alias} did not get MitID with NemID"));
    assert!(
        got["activation_code"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "no activation code in {got}"
    );
    let identity = identity::identity_of(world, &alias).await.or_fail();
    assert_eq!(
        identity["ial"], "substantial",
        "{alias}'s MitID: {identity}"
    );
    assert!(
        identity["authenticators"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["kind"] == "app")),
        "{alias}'s MitID has an app waiting for activation: {identity}"
    );
}

#[then(expr = "MitID.dk refuses {string} MitID with NemID with {string}")]
async fn mitid_dk_refuses(world: &mut LabWorld, alias: String, error: String) {
    let reply = mitid_dk::first_step(world, NemidPage::GetMitid, &alias)
        .await
        .or_fail();
    let answer = reply.body;
    assert_eq!(
        (reply.status, answer["error"].as_str()),
        (403, Some(error.as_str())),
        "MitID.dk's answer to {alias}: {answer}"
    );
}
