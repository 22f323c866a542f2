//! The MitID app (and the code displays) the citizens hold, against the broker: installing and
//! activating the app (activation code, temporary PIN, passport and face, QR code from a second
//! device), approving what waits for it, and being handed a code display.
//!
//! The devices are the devices crate's state machines with real keys and real TOTP codes, and
//! they read the lab clock ([`clock::now`]), as the broker that checks them does.

use mitid_components::cpr::Person;
use mitid_components::idp::admin::Ial;
use mitid_components::idp::jose::unb64;
use mitid_devices::app::{MrzReading, Passport, passport_reactivation};
use mitid_devices::code_token::CodeDisplay;
use mitid_devices::{
    ActivationGrant, ActivationProof, AppPolicy, AppRegistration, Authorisation, EligibilityPolicy,
    MitidApp, OtpSecret, Span, Timestamp, Transaction,
};
use serde_json::{Value, json};

use super::lab_api::{BROKER, Reply, control, issuer_url, post_json};
use super::{ActionError, clock, cpr, field, identity};
use crate::world::devices::{CodeToken, NFC_PHONE, Phone};
use crate::world::{Citizen, LabWorld};

/// A PIN the app accepts (6 digits, not a run, not one digit), different per activation.
fn new_pin(world: &LabWorld) -> String {
    let n = world.lab().unique();
    format!("{:06}", 135_790 + (n * 7919) % 800_000)
}

fn no_phone(alias: &str, label: &str) -> ActionError {
    ActionError::Citizen(format!("{alias} has no {label} with the MitID app"))
}

/// Installs the app on `label` for `alias` (replacing an earlier phone of that name).
fn install(
    world: &mut LabWorld,
    alias: &str,
    label: &str,
    now: Timestamp,
) -> Result<(), ActionError> {
    let app = MitidApp::install(NFC_PHONE, now, &EligibilityPolicy::default())
        .map_err(|e| ActionError::Device(format!("the lab's phone cannot install the app: {e}")))?;
    world
        .devices
        .phones
        .retain(|p| !(p.owner == alias && p.label == label));
    world.devices.phones.push(Phone {
        owner: alias.to_owned(),
        label: label.to_owned(),
        app,
        pin: String::new(),
    });
    Ok(())
}

/// The app activates the proof's user ID with a fresh key and a new PIN. The proof is the device's
/// own (the broker checks the real code or passport on its side).
fn activate_locally(
    world: &mut LabWorld,
    alias: &str,
    label: &str,
    proof: &ActivationProof,
    now: Timestamp,
) -> Result<AppRegistration, ActionError> {
    let pin = new_pin(world);
    let mut rng = world.devices.rng();
    let phone = world
        .devices
        .phone_mut(alias, label)
        .ok_or_else(|| no_phone(alias, label))?;
    let registration = phone
        .app
        .activate(proof, &pin, now, &AppPolicy::default(), &mut rng)
        .map_err(|e| ActionError::Device(format!("{alias}'s app did not activate: {e}")))?;
    phone.pin = pin;
    Ok(registration)
}

/// The app on `label` (installed if need be) activated on a grant of its own making: what it
/// sends the broker, which checks the real code or QR grant on its side.
fn registered_on_own_proof(
    world: &mut LabWorld,
    alias: &str,
    label: &str,
    now: Timestamp,
) -> Result<AppRegistration, ActionError> {
    if world.devices.phone(alias, label).is_none() {
        install(world, alias, label, now)?;
    }
    let user_id = super::citizen(world, alias)?.user_id;
    let policy = AppPolicy::default();
    let mut rng = world.devices.rng();
    let mut local = ActivationGrant::activation_code(&user_id, now, &policy, &mut rng);
    let typed = local.reveal_code().to_owned();
    let proof = local
        .redeem(&typed, now, &policy)
        .map_err(|e| ActionError::Device(format!("the app's own grant did not redeem: {e}")))?;
    activate_locally(world, alias, label, &proof, now)
}

/// Activates the app on `label` with an activation code or temporary PIN the citizen received;
/// answers the broker's reply (a refusal is a verdict some scenarios judge).
pub async fn activate_with_code(
    world: &mut LabWorld,
    alias: &str,
    label: &str,
    code: &str,
) -> Result<Reply, ActionError> {
    let now = clock::now(&world.lab()).await?;
    // The app's side of the code: it proves nothing to the broker, which redeems the real code.
    let registration = registered_on_own_proof(world, alias, label, now)?;
    let body = json!({"code": code, "registration": registration, "device_name": format!("{alias}'s {label}")});
    control(
        world,
        reqwest::Method::POST,
        "admin/app-activations",
        Some(&body),
    )
    .await
}

/// The passport of a registered person, as its chip holds it.
pub fn passport_of(person: &Person) -> Result<Passport, ActionError> {
    let number = person
        .passport_number
        .clone()
        .ok_or_else(|| ActionError::Citizen(format!("{} has no passport", person.full_name())))?;
    Ok(Passport {
        mrz: MrzReading::of(
            &number,
            &person.birth_date.format("%y%m%d").to_string(),
            "330615",
        ),
        chip_authentic: true,
        chip_readable: true,
    })
}

/// The notes of the broker's last answer to an enrolment (passport check, QR code scan).
pub const ENROLMENT_STATUS: &str = "enrolment_status";
pub const ENROLMENT_ANSWER: &str = "enrolment_answer";

fn remember_enrolment(world: &mut LabWorld, reply: &Reply) {
    world
        .notes
        .push((ENROLMENT_STATUS.into(), reply.status.to_string()));
    world
        .notes
        .push((ENROLMENT_ANSWER.into(), reply.body.to_string()));
}

/// The app (installed afresh on `label`) scans `alias`'s passport and face, the face matching
/// `face_match_permille`; answers the broker's passport check.
pub async fn passport_check(
    world: &mut LabWorld,
    alias: &str,
    label: &str,
    face_match_permille: u16,
) -> Result<Reply, ActionError> {
    let lab = world.lab();
    install(world, alias, label, clock::now(&lab).await?)?;
    let person = cpr::person_of(world, alias).await?;
    let passport = passport_of(&person)?;
    let body = json!({
        "device": NFC_PHONE,
        "camera_mrz": passport.mrz,
        "passport": passport,
        "face_match_permille": face_match_permille,
    });
    let reply = post_json(world, &issuer_url(&lab, "app/enrolments"), &body).await?;
    remember_enrolment(world, &reply);
    Ok(reply)
}

/// The whole passport route: check, then activate the app for the user ID the broker names (or
/// a new one the citizen chooses). Registers the citizen when a new MitID was created.
pub async fn enrol_with_passport(
    world: &mut LabWorld,
    alias: &str,
    label: &str,
) -> Result<(), ActionError> {
    let what = format!("{alias}'s passport and face scan");
    let checked = passport_check(world, alias, label, 962)
        .await?
        .expect(201, BROKER, &what)?;
    let enrolment_id = field(&checked, "enrolment_id", BROKER, &what)?;
    let lab = world.lab();
    let user_id = if let Some(existing) = checked["user_id"].as_str() {
        world.devices.forgotten_user_ids.retain(|a| a != alias);
        existing.to_owned()
    } else {
        identity::user_id_for(&lab, alias, lab.unique())
    };
    let person = cpr::person_of(world, alias).await?;
    let passport = passport_of(&person)?;
    let number = passport.mrz.document_number.clone();
    let now = clock::now(&lab).await?;
    let proof = passport_reactivation(
        &user_id,
        &NFC_PHONE,
        &passport.mrz,
        &passport,
        &number,
        962,
        now,
        (&AppPolicy::default(), &EligibilityPolicy::default()),
    )
    .map_err(|e| ActionError::Device(format!("the app's own passport procedure failed: {e}")))?;
    let registration = activate_locally(world, alias, label, &proof, now)?;
    let body = json!({"registration": registration, "device_name": format!("{alias}'s {label}")});
    let done = post_json(
        world,
        &issuer_url(&lab, &format!("app/enrolments/{enrolment_id}/activation")),
        &body,
    )
    .await?
    .expect(201, BROKER, format!("the activation of {alias}'s app"))?;
    world.notes.push((
        format!("revoked_apps:{alias}"),
        done["revoked_apps"].to_string(),
    ));
    if done["created"] == json!(true) {
        world.citizens.push(Citizen {
            alias: alias.to_owned(),
            user_id: done["user_id"].as_str().unwrap_or_default().to_owned(),
            uuid: done["uuid"].as_str().unwrap_or_default().to_owned(),
            devices: vec![identity::APP.to_owned()],
        });
        world.current = Some(world.citizens.len() - 1);
    }
    Ok(())
}

/// The app on `label` fetches what waits for `alias`'s approval (a login, a password change)
/// and signs it with the PIN (`with_pin`) or a swipe. With `shown`, the channel binding the
/// browser shows (the 4-digit code or QR payload), the app approves the request that carries it,
/// as the citizen compares the two; without, the one request waiting.
pub async fn approve_pending(
    world: &mut LabWorld,
    alias: &str,
    label: &str,
    with_pin: bool,
    shown: Option<&str>,
) -> Result<(), ActionError> {
    let user_id = super::citizen(world, alias)?.user_id;
    let lab = world.lab();
    let pending_url = issuer_url(&lab, &format!("app/pending/{user_id}"));
    let unreachable = |e: reqwest::Error| ActionError::Unreachable {
        service: BROKER,
        url: pending_url.to_string(),
        reason: e.to_string(),
    };
    let pending: Value = lab
        .http
        .get(pending_url.clone())
        .send()
        .await
        .map_err(unreachable)?
        .json()
        .await
        .map_err(unreachable)?;
    let mut waiting = Vec::new();
    for item in pending["pending"].as_array().into_iter().flatten() {
        let tx: Transaction =
            serde_json::from_value(item["transaction"].clone()).map_err(|_| {
                ActionError::Malformed {
                    service: BROKER,
                    what: format!("what waits for {alias}'s app"),
                    missing: "a transaction",
                    answer: item.clone(),
                }
            })?;
        let login_id = item["login_id"].as_str().unwrap_or_default().to_owned();
        waiting.push((login_id, tx));
    }
    // The broker lists what waits in no particular order: an earlier login the citizen walked
    // away from may still be there, and only the binding tells them apart.
    let chosen = match shown {
        Some(shown) => waiting
            .into_iter()
            .find(|(_, tx)| tx.channel_binding.display_text() == shown),
        None => waiting.pop(),
    };
    let (login_id, tx) = chosen.ok_or_else(|| {
        ActionError::Login(format!(
            "no login waits for {alias}'s app{}: {pending}",
            shown.map_or_else(String::new, |s| format!(" with the code {s}"))
        ))
    })?;
    let now = clock::now(&lab).await?;
    let phone = world
        .devices
        .phone_mut(alias, label)
        .ok_or_else(|| no_phone(alias, label))?;
    let pin = phone.pin.clone();
    let authorisation = if with_pin {
        Authorisation::Pin(&pin)
    } else {
        Authorisation::Swipe
    };
    let approval = phone
        .app
        .approve(
            &tx,
            &tx.channel_binding,
            authorisation,
            now,
            &AppPolicy::default(),
        )
        .map_err(|e| ActionError::Device(format!("{alias}'s app on the {label} refused: {e}")))?;
    let reply = post_json(
        world,
        &issuer_url(&lab, &format!("app/approvals/{login_id}")),
        &json!({"approval": approval}),
    )
    .await?;
    if reply.status == 200 {
        Ok(())
    } else {
        // Worded for the steps that expect it: "refused the approval".
        Err(ActionError::Login(format!(
            "the broker refused the approval from {alias}'s {label} ({}): {}",
            reply.status, reply.body
        )))
    }
}

/// A citizen `alias` with MitID at `ial` (from the CPR register, with passport and phone) and the
/// app activated on their phone with an activation code.
pub async fn citizen_with_app_on_phone(
    world: &mut LabWorld,
    alias: &str,
    ial: Ial,
) -> Result<(), ActionError> {
    cpr::registered_person(world, alias).await?;
    identity::mitid_for(world, alias, ial).await?;
    let code = identity::new_app_activation_code(world, alias).await?;
    activate_with_code(world, alias, "phone", &code)
        .await?
        .expect(201, BROKER, format!("the activation of {alias}'s app"))?;
    Ok(())
}

/// Gives `alias` a code display (or audio code reader, `kind`) and `password` through the admin
/// API.
pub async fn issue_code_token(
    world: &mut LabWorld,
    alias: &str,
    kind: &str,
    password: &str,
) -> Result<(), ActionError> {
    let issued = identity::add_authenticator(world, alias, &json!({"kind": kind})).await?;
    remember_code_token(world, alias, &issued).await?;
    identity::set_password(world, alias, password).await
}

/// The device the citizen is handed for an issued code display / audio reader (the broker's
/// answer describing it).
pub async fn remember_code_token(
    world: &mut LabWorld,
    alias: &str,
    issued: &Value,
) -> Result<(), ActionError> {
    let kind = issued["kind"].as_str().unwrap_or("code_display").to_owned();
    let secret = field(issued, "totp_secret", BROKER, "a code display")?;
    let secret = unb64(&secret).map_err(|_| ActionError::Malformed {
        service: BROKER,
        what: "a code display".into(),
        missing: "a base64url TOTP secret",
        answer: issued.clone(),
    })?;
    let device = CodeDisplay::from_secret(
        issued["serial"].as_str().unwrap_or("CD"),
        OtpSecret::from_bytes(&secret),
        clock::now(&world.lab()).await?,
        Span::from_days(3650),
    );
    world.devices.tokens.push(CodeToken {
        owner: alias.to_owned(),
        kind,
        device,
    });
    Ok(())
}

/// The active app on `label` offers a second device: the broker's offer, approved with the PIN,
/// then the QR grant the app made. Leaves the QR code in the note `qr:<alias>`.
pub async fn offer_second_device(
    world: &mut LabWorld,
    alias: &str,
    label: &str,
) -> Result<(), ActionError> {
    let user_id = super::citizen(world, alias)?.user_id;
    let lab = world.lab();
    let what = format!("a second device for {alias}");
    let offer = post_json(
        world,
        &issuer_url(&lab, "app/second-device-offers"),
        &json!({"user_id": user_id}),
    )
    .await?
    .expect(201, BROKER, &what)?;
    let offer_id = field(&offer, "offer_id", BROKER, &what)?;
    let tx: Transaction = serde_json::from_value(offer["transaction"].clone()).map_err(|_| {
        ActionError::Malformed {
            service: BROKER,
            what: what.clone(),
            missing: "a transaction",
            answer: offer.clone(),
        }
    })?;
    let now = clock::now(&lab).await?;
    let mut rng = world.devices.rng();
    let phone = world
        .devices
        .phone_mut(alias, label)
        .ok_or_else(|| no_phone(alias, label))?;
    let pin = phone.pin.clone();
    let policy = AppPolicy::default();
    let approval = phone
        .app
        .approve(
            &tx,
            &tx.channel_binding,
            Authorisation::Pin(&pin),
            now,
            &policy,
        )
        .map_err(|e| {
            ActionError::Device(format!(
                "{alias}'s {label} refused to approve the offer: {e}"
            ))
        })?;
    let grant = phone
        .app
        .offer_second_device(&user_id, &pin, now, &policy, &mut rng)
        .map_err(|e| ActionError::Device(format!("{alias}'s {label} made no QR code: {e}")))?;
    post_json(
        world,
        &issuer_url(&lab, &format!("app/approvals/{offer_id}")),
        &json!({"approval": approval}),
    )
    .await?
    .expect(200, BROKER, format!("the approval of {what}"))?;
    post_json(
        world,
        &issuer_url(&lab, &format!("app/second-device-offers/{offer_id}/grant")),
        &json!({"grant": grant}),
    )
    .await?
    .expect(201, BROKER, format!("the QR grant of {what}"))?;
    world
        .notes
        .push((format!("qr:{alias}"), grant.reveal_code().to_owned()));
    Ok(())
}

/// `alias` scans the QR code they were shown with their new phone, `nearby` or out of Bluetooth
/// range; answers the broker's reply (out of range, a refusal is the verdict).
pub async fn scan_qr(
    world: &mut LabWorld,
    alias: &str,
    nearby: bool,
) -> Result<Reply, ActionError> {
    let code = world
        .note(&format!("qr:{alias}"))
        .map(str::to_owned)
        .ok_or_else(|| ActionError::Citizen(format!("{alias} was shown no QR code")))?;
    let lab = world.lab();
    // The new app's own proof of the scan (the broker redeems the real QR grant).
    let registration = registered_on_own_proof(world, alias, "new phone", clock::now(&lab).await?)?;
    let reply = post_json(
        world,
        &issuer_url(&lab, "app/second-device-activations"),
        &json!({"code": code, "within_bluetooth_range": nearby, "registration": registration,
                "device_name": format!("{alias}'s new phone")}),
    )
    .await?;
    remember_enrolment(world, &reply);
    Ok(reply)
}
