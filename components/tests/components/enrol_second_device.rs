//! A second phone from the first by QR code + Bluetooth (`idp/ENROLMENT_API.md`, "Second device"):
//! the active app's PIN-approved offer, the new phone's nearby redemption, both apps active after;
//! and the refusals (a swipe instead of the PIN, out of Bluetooth range, a wrong QR code, an
//! offer never approved, malformed bodies).

use mitid_components::cpr::Person;
use mitid_components::idp::admin::{AuthenticatorKind, AuthenticatorState, IdentityView};
use mitid_devices::app::Transaction;
use mitid_devices::rand_core::SeedableRng;
use mitid_devices::{
    AppPolicy, AppRegistration, Authorisation, DeviceRng, EligibilityPolicy, MitidApp, Timestamp,
};
use serde_json::{Value, json};

use crate::cpr_lab::{START, ServicesLab};
use crate::enrol_support::{PHONE, activate, app_registration, check, check_body, passport_of};

const PIN: &str = "246813";

/// A person with MitID and the app active on their first phone (passport route).
async fn person_with_app(lab: &ServicesLab, user_id: &str) -> (Person, MitidApp) {
    let person = lab.adults(1).await.remove(0);
    let (camera, passport) = passport_of(&person);
    let (_, checked) = check(lab, &check_body(PHONE, &camera, &passport, 950)).await;
    let (app, registration) = app_registration(&person, user_id, 21);
    let (status, body) = activate(
        lab,
        checked["enrolment_id"].as_str().expect("id"),
        &registration,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (person, app)
}

/// `POST /app/second-device-offers`: the first app's user asks to add a phone.
async fn open_offer(lab: &ServicesLab, body: &Value) -> (u16, Value) {
    lab.post(&format!("{}/app/second-device-offers", lab.issuer), body)
        .await
}

/// Opens an offer and has the first app answer it with `authorisation`.
async fn approved_offer(
    lab: &ServicesLab,
    app: &mut MitidApp,
    user_id: &str,
    authorisation: Authorisation<'_>,
) -> String {
    let (status, offer) = open_offer(lab, &json!({"user_id": user_id})).await;
    assert_eq!(status, 201, "{offer}");
    let tx: Transaction = serde_json::from_value(offer["transaction"].clone()).expect("tx");
    assert_eq!(tx.action_text, "Activate MitID on a new device");
    let id = offer["offer_id"].as_str().expect("offer_id").to_owned();
    // The offer is among the app's pending requests.
    let (_, pending) = lab
        .get(&format!("{}/app/pending/{user_id}", lab.issuer))
        .await;
    assert!(pending.to_string().contains(&id), "{pending}");
    let approval = app
        .approve(
            &tx,
            &tx.channel_binding,
            authorisation,
            Timestamp::from_unix_secs(START as u64),
            &AppPolicy::default(),
        )
        .expect("approves");
    let (status, body) = lab
        .post(
            &format!("{}/app/approvals/{id}", lab.issuer),
            &json!({"approval": approval}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    id
}

/// The first app's grant for an approved offer: `POST /app/second-device-offers/{offer}/grant`.
async fn post_grant(
    lab: &ServicesLab,
    offer: &str,
    grant: &mitid_devices::ActivationGrant,
) -> (u16, Value) {
    lab.post(
        &format!("{}/app/second-device-offers/{offer}/grant", lab.issuer),
        &json!({ "grant": grant }),
    )
    .await
}

fn new_phone(
    user_id: &str,
    seed: u64,
) -> (MitidApp, mitid_devices::ActivationGrant, AppRegistration) {
    // The new phone's side: its own proof from the scanned code (the broker redeems the real one).
    let t = Timestamp::from_unix_secs(START as u64);
    let policy = AppPolicy::default();
    let mut rng = DeviceRng::seed_from_u64(seed);
    let mut app = MitidApp::install(PHONE, t, &EligibilityPolicy::default()).expect("eligible");
    let mut local = mitid_devices::ActivationGrant::activation_code(user_id, t, &policy, &mut rng);
    let code = local.reveal_code().to_owned();
    let proof = local.redeem(&code, t, &policy).expect("redeems");
    let registration = app
        .activate(&proof, "975312", t, &policy, &mut rng)
        .expect("activates");
    (app, local, registration)
}

async fn nearby(
    lab: &ServicesLab,
    code: &str,
    near: bool,
    registration: &AppRegistration,
) -> (u16, Value) {
    lab.post(
        &format!("{}/app/second-device-activations", lab.issuer),
        &json!({"code": code, "within_bluetooth_range": near, "registration": registration,
                "device_name": "second phone"}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrol_second_device_by_qr_and_bluetooth_keeps_both_apps_active() {
    let lab = ServicesLab::start().await;
    let (person, mut app) = person_with_app(&lab, "to.telefoner").await;
    let policy = AppPolicy::default();
    let t = Timestamp::from_unix_secs(START as u64);
    let mut rng = DeviceRng::seed_from_u64(22);

    let offer = approved_offer(&lab, &mut app, "to.telefoner", Authorisation::Pin(PIN)).await;
    let grant = app
        .offer_second_device("to.telefoner", PIN, t, &policy, &mut rng)
        .expect("offers");
    let qr = grant.reveal_code().to_owned();
    let (status, body) = post_grant(&lab, &offer, &grant).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["expires_in"].as_u64().is_some_and(|s| s > 0), "{body}");

    let (_, _, registration) = new_phone("to.telefoner", 23);
    // Out of Bluetooth range: refused, and the QR code stays usable.
    let (status, body) = nearby(&lab, &qr, false, &registration).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "not_nearby");
    // A wrong QR code is refused.
    let (status, body) = nearby(&lab, "WRONGQRCODE23456", true, &registration).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_code");
    let (status, body) = nearby(&lab, &qr, true, &registration).await;
    assert_eq!(status, 201, "{body}");
    // Single use.
    let (status, _) = nearby(&lab, &qr, true, &registration).await;
    assert_eq!(status, 400);

    let (_, view) = lab
        .get(&format!(
            "{}/admin/identities/by-cpr/{}",
            lab.control,
            person.cpr.compact()
        ))
        .await;
    let view: IdentityView = serde_json::from_value(view).expect("view");
    let apps: Vec<AuthenticatorState> = view
        .authenticators
        .iter()
        .filter(|a| a.kind == AuthenticatorKind::App)
        .map(|a| a.state)
        .collect();
    assert_eq!(
        apps,
        vec![AuthenticatorState::Active, AuthenticatorState::Active]
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrol_second_device_needs_a_pin_approved_offer_and_well_formed_requests() {
    let lab = ServicesLab::start().await;
    let (_, mut app) = person_with_app(&lab, "kun.swipe").await;
    let policy = AppPolicy::default();
    let t = Timestamp::from_unix_secs(START as u64);
    let mut rng = DeviceRng::seed_from_u64(24);
    let grant = app
        .offer_second_device("kun.swipe", PIN, t, &policy, &mut rng)
        .expect("offers");

    // A swipe is not enough.
    let offer = approved_offer(&lab, &mut app, "kun.swipe", Authorisation::Swipe).await;
    let (status, body) = post_grant(&lab, &offer, &grant).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "pin_required");

    // An offer nobody approved.
    let (_, opened) = open_offer(&lab, &json!({"user_id": "kun.swipe"})).await;
    let unapproved = opened["offer_id"].as_str().expect("id").to_owned();
    let (status, body) = post_grant(&lab, &unapproved, &grant).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "not_approved");

    // Unknown users and offers, malformed bodies, an activation-code grant instead of a QR one.
    let (status, _) = open_offer(&lab, &json!({"user_id": "nobody.here"})).await;
    assert_eq!(status, 404);
    let (status, _) = post_grant(&lab, "no-such-offer", &grant).await;
    assert_eq!(status, 404);
    for body in [
        json!({}),
        json!({"user_id": 5}),
        json!({"user_id": "x", "pin": "1"}),
    ] {
        let (status, answer) = open_offer(&lab, &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"], "invalid_request");
    }
    let offer = approved_offer(&lab, &mut app, "kun.swipe", Authorisation::Pin(PIN)).await;
    let (_, code_grant, registration) = new_phone("kun.swipe", 25);
    let (status, body) = post_grant(&lab, &offer, &code_grant).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("grant.route")
    );
    let (status, body) = lab
        .post(
            &format!("{}/app/second-device-activations", lab.issuer),
            &json!({"code": "X", "within_bluetooth_range": true, "registration": registration,
                    "device_name": ""}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("device_name")
    );
    let (status, body) = nearby(&lab, "NOQRCODEOFFERED1", true, &registration).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_code");
    lab.shutdown().await;
}
