//! The citizen: who they are (a MitID identity created for this scenario only) and what they do
//! at the service provider (log in, abort, log out, step up).

use cucumber::{given, then, when};
use mitid_components::idp::admin::{CreateIdentityRequest, Ial, PersonRef};
use mitid_components::idp::script::Behaviour;
use serde_json::{Value, json};

use super::broker::control;
use super::service_provider::{Tamper, drive_login};
use crate::world::{Citizen, Lab, LabWorld};

/// Creates a MitID identity no other scenario uses, backed by a fresh person in the CPR register
/// when the lab runs one (the broker checks CPR numbers against it), else by a CPR-shaped number
/// of the lab's own.
pub async fn create_citizen(
    world: &mut LabWorld,
    alias: &str,
    device: &str,
    ial: Ial,
    with_cpr: bool,
    nemid: bool,
) {
    let lab = world.lab();
    let n = lab.unique();
    let user_id = user_id_for(&lab, alias, n);
    let (person, name, date_of_birth) = if with_cpr {
        let (cpr, name, born) = person_for(world, &lab, alias, n).await;
        (PersonRef::Cpr(cpr), name, born)
    } else {
        // P codes are 8 digits, valid 60 days, one use: one per citizen of the run.
        (
            PersonRef::PCode(format!("{:08}", 10_000_000 + n % 90_000_000)),
            format!("{alias} Testesen"),
            "1990-05-17".to_owned(),
        )
    };
    let request = CreateIdentityRequest {
        person,
        name,
        date_of_birth,
        ial,
        user_id: Some(user_id.clone()),
        nemid_pid: nemid.then(|| format!("9208-2002-2-{n:012}")),
    };
    let (body, status, answer) = create_identity(world, &request).await;
    assert_eq!(
        status, 201,
        "the broker refused to create {alias}'s MitID ({body}): {answer}"
    );
    let uuid = answer["uuid"]
        .as_str()
        .expect("uuid in the answer")
        .to_owned();
    world.citizens.push(Citizen {
        alias: alias.to_owned(),
        user_id,
        uuid,
        devices: vec![device.to_owned()],
    });
    world.current = Some(world.citizens.len() - 1);
}

/// `POST admin/identities` at the broker: the body sent, the status and the answer.
pub(super) async fn create_identity(
    world: &mut LabWorld,
    request: &CreateIdentityRequest,
) -> (Value, u16, Value) {
    let body = serde_json::to_value(request).expect("identity requests serialise");
    let (status, answer) = control(
        world,
        reqwest::Method::POST,
        "admin/identities",
        Some(&body),
    )
    .await;
    (body, status, answer)
}

/// `POST admin/identities/{uuid}/nemid` at the broker: a NemID for that identity.
pub(super) async fn request_nemid(world: &mut LabWorld, uuid: &str, body: &Value) -> (u16, Value) {
    control(
        world,
        reqwest::Method::POST,
        &format!("admin/identities/{uuid}/nemid"),
        Some(body),
    )
    .await
}

/// `POST admin/identities/{uuid}/authenticators` at the broker for citizen `alias`: a new
/// authenticator of the body's `kind`.
pub(super) async fn add_authenticator(
    world: &mut LabWorld,
    alias: &str,
    body: &Value,
) -> (u16, Value) {
    let uuid = world.citizen_named(alias).uuid.clone();
    control(
        world,
        reqwest::Method::POST,
        &format!("admin/identities/{uuid}/authenticators"),
        Some(body),
    )
    .await
}

/// `alias` + run tag + counter, within the broker's 6–20 characters of `A-Za-z0-9._-`.
pub(super) fn user_id_for(lab: &Lab, alias: &str, n: u64) -> String {
    let stem: String = alias
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(6)
        .collect::<String>()
        .to_lowercase();
    let stem = if stem.is_empty() {
        "citizen".to_owned()
    } else {
        stem
    };
    let tag: String = lab.run_tag.chars().take(5).collect();
    format!("{stem}.{tag}.{n}")
}

/// A person for a new citizen: from the CPR register when there is one.
async fn person_for(
    world: &mut LabWorld,
    lab: &Lab,
    alias: &str,
    n: u64,
) -> (String, String, String) {
    if let Some(cpr_url) = lab.endpoints.cpr.clone() {
        let url = cpr_url.join("persons").expect("relative path");
        let answer: Value = match lab.http.post(url.clone()).json(&json!({})).send().await {
            Ok(response) if response.status().as_u16() == 201 => {
                response.json().await.unwrap_or(Value::Null)
            }
            Ok(response) => panic!(
                "the CPR register refused a new person at {url}: {}",
                response.status()
            ),
            Err(err) => panic!("the CPR register ({url}) did not answer: {err}"),
        };
        let cpr = answer["cpr"]
            .as_str()
            .expect("cpr in the CPR register's answer")
            .replace('-', "");
        let name = format!(
            "{} {}",
            answer["given_name"].as_str().unwrap_or(alias),
            answer["surname"].as_str().unwrap_or("Testesen")
        );
        let born = answer["birth_date"]
            .as_str()
            .unwrap_or("1980-01-01")
            .to_owned();
        world.notes.push((format!("cpr:{alias}"), cpr.clone()));
        return (cpr, name, born);
    }
    // Without a register: a CPR-shaped number born 1950-1999 (century digit 0-3), unique per n.
    let day = 1 + n % 28;
    let month = 1 + (n / 28) % 12;
    let year = 50 + (n / 336) % 50;
    let serial = n % 4000;
    let cpr = format!("{day:02}{month:02}{year:02}{serial:04}");
    world.notes.push((format!("cpr:{alias}"), cpr.clone()));
    (
        cpr,
        format!("{alias} Testesen"),
        format!("19{year:02}-{month:02}-{day:02}"),
    )
}

/// The headless behaviour a citizen's device gives the broker.
#[must_use]
pub fn behaviour_for(device: &str) -> Behaviour {
    match device {
        "a code display" => Behaviour::CodeDisplay,
        "an audio code reader" => Behaviour::AudioCodeReader,
        "a MitID chip" => Behaviour::Chip,
        "a NemID key card" => Behaviour::NemidKeyCard,
        "a NemID key app" => Behaviour::NemidKeyApp,
        _ => Behaviour::Approve,
    }
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
    create_citizen(world, &alias, &device, ial, true, false).await;
}

#[given(expr = "a citizen {string} without a CPR number, identified with a P code")]
async fn citizen_without_cpr(world: &mut LabWorld, alias: String) {
    create_citizen(
        world,
        &alias,
        "the MitID app",
        Ial::Substantial,
        false,
        false,
    )
    .await;
}

#[given(regex = r#"^a citizen "([^"]+)" with (a NemID key card|a NemID key app)$"#)]
async fn citizen_with_nemid(world: &mut LabWorld, alias: String, device: String) {
    create_citizen(world, &alias, &device, Ial::Substantial, true, true).await;
    issue_nemid(world, &alias, NEMID_ISSUED_ON).await;
}

/// When the lab's NemID holders got their NemID: before every milestone of the calendar, so the
/// broker records them whatever its clock says (it issues no new NemID after support closes).
pub const NEMID_ISSUED_ON: &str = "2021-09-01";
/// The NemID password of the lab's citizens (the devices crate's rules: 6–40 characters).
pub const NEMID_PASSWORD: &str = "Noegle-kort-2021";

/// Issues `alias` a NemID (key card and key app) at the broker; answers what the citizen holds.
pub async fn issue_nemid(world: &mut LabWorld, alias: &str, issued_on: &str) -> Value {
    let uuid = world.citizen_named(alias).uuid.clone();
    let body = json!({
        "password": NEMID_PASSWORD,
        "key_card": true,
        "key_app": true,
        "issued_on": issued_on,
    });
    let (status, answer) = request_nemid(world, &uuid, &body).await;
    assert_eq!(
        status, 201,
        "the broker refused to issue {alias} a NemID: {answer}"
    );
    world
        .notes
        .push((format!("nemid:{alias}"), answer.to_string()));
    answer
}

#[given(expr = "{string} has logged in once before the rotation")]
async fn logged_in_before(world: &mut LabWorld, alias: String) {
    drive_login(world, &alias, None, Tamper::None).await;
    let lab = world.lab();
    let uuid = world.citizen_named(&alias).uuid.clone();
    crate::checks::session_for(&lab, &mut world.browser, &alias, &uuid).await;
}

#[when(
    regex = r#"^"([^"]+)" logs in to the service provider(?: asking for LoA (low|substantial|high))?$"#
)]
async fn logs_in(world: &mut LabWorld, alias: String, loa: String) {
    let loa = (!loa.is_empty()).then_some(loa);
    drive_login(world, &alias, loa.as_deref(), Tamper::None).await;
}

#[when(expr = "{string} logs in to the service provider in a new browser")]
async fn logs_in_new_browser(world: &mut LabWorld, alias: String) {
    let old = std::mem::take(&mut world.browser);
    world.other_browsers.push(old);
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

#[when(expr = "{string} starts {int} login(s) at the service provider")]
async fn starts_logins(world: &mut LabWorld, alias: String, count: usize) {
    for _ in 0..count {
        super::service_provider::start_login(world, &alias, None).await;
    }
}

#[when(expr = "{string} steps up to LoA {word}")]
async fn steps_up(world: &mut LabWorld, alias: String, loa: String) {
    drive_login(world, &alias, Some(&loa), Tamper::None).await;
}

// The citizen's name only selects the step: the scenario's browser is already theirs.
#[when(regex = r#"^"[^"]+" logs out at the service provider$"#)]
async fn logs_out(world: &mut LabWorld) {
    super::service_provider::logout(world).await;
}

#[then(regex = r#"^"([^"]+)" can log in with (NemID|MitID) at the (bank|public site)$"#)]
async fn can_log_in_at(world: &mut LabWorld, alias: String, idp: String, client: String) {
    let behaviour = if idp == "NemID" {
        Behaviour::NemidKeyCard
    } else {
        Behaviour::Approve
    };
    match super::broker::login_at_client(world, &alias, &client, behaviour).await {
        super::broker::BrokerLogin::Claims(claims) => {
            assert_eq!(
                claims.get("idp").and_then(Value::as_str),
                Some(idp.to_lowercase().as_str()),
                "the ID token of {alias}'s login at the {client}: {}",
                Value::Object(claims.clone())
            );
            if idp == "NemID" {
                assert!(
                    claims.get("nemid.pid").is_some(),
                    "a NemID login carries the NemID PID: {}",
                    Value::Object(claims.clone())
                );
            }
        }
        super::broker::BrokerLogin::Refused(error, description) => panic!(
            "the broker refused {alias}'s {idp} login at the {client}: {error}: {description}"
        ),
    }
}

#[given(expr = "a citizen {string} who has only NemID")]
async fn citizen_with_only_nemid(world: &mut LabWorld, alias: String) {
    // The broker's registry entry of a NemID holder who has not got MitID yet: no authenticator,
    // identity assurance Low until MitID is obtained.
    create_citizen(world, &alias, "a NemID key card", Ial::Low, true, true).await;
    issue_nemid(world, &alias, NEMID_ISSUED_ON).await;
}

/// Posts to one of MitID.dk's NemID pages at the broker (`mitid-dk/{page}`).
async fn mitid_dk(world: &mut LabWorld, page: &str, body: &Value) -> (u16, Value) {
    let lab = world.lab();
    let url = lab
        .endpoints
        .issuer
        .join(&format!("mitid-dk/{page}"))
        .expect("relative");
    let response = lab
        .http
        .post(url.clone())
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("MitID.dk at the broker ({url}) did not answer: {e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The NemID user ID `alias` types on MitID.dk: the CPR number.
fn nemid_user_id(world: &LabWorld, alias: &str) -> String {
    world
        .note(&format!("cpr:{alias}"))
        .map_or_else(|| world.citizen_named(alias).user_id.clone(), str::to_owned)
}

/// The first step on a MitID.dk NemID page: NemID user ID (the CPR number) and password.
async fn mitid_dk_first_step(world: &mut LabWorld, page: &str, alias: &str) -> (u16, Value) {
    let user_id = nemid_user_id(world, alias);
    mitid_dk(
        world,
        page,
        &json!({"user_id": user_id, "password": NEMID_PASSWORD}),
    )
    .await
}

/// Both steps of a MitID.dk NemID page: password, then the code of the key number asked from
/// `alias`'s own key card. Answers the second step.
async fn mitid_dk_with_key_card(world: &mut LabWorld, page: &str, alias: &str) -> (u16, Value) {
    let (status, step) = mitid_dk_first_step(world, page, alias).await;
    assert_eq!(status, 200, "MitID.dk's first step for {alias}: {step}");
    let key_number: u16 = step["key_number"]
        .as_str()
        .and_then(|k| k.parse().ok())
        .unwrap_or_else(|| panic!("no key number in {step}"));
    let card: mitid_devices::KeyCard = world
        .note(&format!("nemid:{alias}"))
        .and_then(|n| serde_json::from_str::<Value>(n).ok())
        .and_then(|issued| serde_json::from_value(issued["key_card"].clone()).ok())
        .unwrap_or_else(|| panic!("{alias} holds no NemID key card"));
    let code = card
        .code_for(key_number)
        .unwrap_or_else(|| panic!("key number {key_number:04} is not on {alias}'s card"));
    let user_id = nemid_user_id(world, alias);
    mitid_dk(
        world,
        page,
        &json!({"user_id": user_id, "password": NEMID_PASSWORD,
                "key_number": key_number, "code": format!("{code:06}")}),
    )
    .await
}

#[when(expr = "{string} gets MitID with NemID on MitID.dk")]
async fn gets_mitid_with_nemid(world: &mut LabWorld, alias: String) {
    let (status, mitid) = mitid_dk_with_key_card(world, "get-mitid-with-nemid", &alias).await;
    assert_eq!(status, 201, "MitID.dk did not give {alias} MitID: {mitid}");
    world
        .notes
        .push((format!("mitid via nemid:{alias}"), mitid.to_string()));
}

#[when(regex = r#"^"([^"]+)" logs in on MitID\.dk with NemID to find (?:her|his|their) user ID$"#)]
async fn finds_user_id_with_nemid(world: &mut LabWorld, alias: String) {
    let (status, told) = mitid_dk_with_key_card(world, "forgot-user-id-with-nemid", &alias).await;
    assert_eq!(
        status, 200,
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
    let (status, answer) = mitid_dk_first_step(world, "forgot-user-id-with-nemid", &alias).await;
    assert_eq!(
        (status, answer["error"].as_str()),
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
    let uuid = world.citizen_named(&alias).uuid.clone();
    let (status, identity) = control(
        world,
        reqwest::Method::GET,
        &format!("admin/identities/{uuid}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{identity}");
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
    let (status, answer) = mitid_dk_first_step(world, "get-mitid-with-nemid", &alias).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some(error.as_str())),
        "MitID.dk's answer to {alias}: {answer}"
    );
}
