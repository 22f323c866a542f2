//! Shared pieces of the app-enrolment tests (`idp/ENROLMENT_API.md`): the citizen's phone and
//! passport as the devices crate models them, and the two enrolment calls.

use mitid_components::cpr::Person;
use mitid_devices::app::{MrzReading, Passport, passport_reactivation};
use mitid_devices::rand_core::SeedableRng;
use mitid_devices::{
    AppPolicy, AppRegistration, DeviceProfile, DeviceRng, EligibilityPolicy, MitidApp, Timestamp,
};
use serde_json::{Value, json};

use crate::cpr_lab::{START, ServicesLab};

/// An Android phone with NFC: can read passport chips.
pub const PHONE: DeviceProfile = DeviceProfile::Android {
    os_major: 14,
    nfc: true,
};

/// The person's passport as its chip holds it, and the camera's (correct) MRZ reading of it.
pub fn passport_of(person: &Person) -> (MrzReading, Passport) {
    let number = person
        .passport_number
        .clone()
        .expect("a person with a passport");
    let mrz = MrzReading::of(
        &number,
        &person.birth_date.format("%y%m%d").to_string(),
        "330101",
    );
    let passport = Passport {
        mrz: mrz.clone(),
        chip_authentic: true,
        chip_readable: true,
    };
    (mrz, passport)
}

/// The body of `POST /app/enrolments`.
pub fn check_body(
    device: DeviceProfile,
    camera: &MrzReading,
    passport: &Passport,
    face: u16,
) -> Value {
    json!({"device": device, "camera_mrz": camera, "passport": passport, "face_match_permille": face})
}

pub async fn check(lab: &ServicesLab, body: &Value) -> (u16, Value) {
    lab.post(&format!("{}/app/enrolments", lab.issuer), body)
        .await
}

/// The phone's app activated for `user_id` after a passport scan: what the app sends the IdP.
pub fn app_registration(person: &Person, user_id: &str, seed: u64) -> (MitidApp, AppRegistration) {
    let t = Timestamp::from_unix_secs(START as u64);
    let policy = AppPolicy::default();
    let mut rng = DeviceRng::seed_from_u64(seed);
    let mut app = MitidApp::install(PHONE, t, &EligibilityPolicy::default()).expect("eligible");
    let (camera, passport) = passport_of(person);
    let number = passport.mrz.document_number.clone();
    let proof = passport_reactivation(
        user_id,
        &PHONE,
        &camera,
        &passport,
        &number,
        960,
        t,
        (&policy, &EligibilityPolicy::default()),
    )
    .expect("the app's own passport procedure passes");
    let registration = app
        .activate(&proof, "246813", t, &policy, &mut rng)
        .expect("activates");
    (app, registration)
}

/// An app for an existing MitID the ordinary way (issued through the admin API, activated with
/// its activation code): the phone the citizen had before losing it or forgetting something.
pub async fn app_by_activation_code(
    lab: &ServicesLab,
    uuid: &str,
    person: &Person,
    user_id: &str,
    seed: u64,
) -> MitidApp {
    let (status, issued) = lab
        .post(
            &format!("{}/admin/identities/{uuid}/authenticators", lab.control),
            &json!({"kind": "app"}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let (app, registration) = app_registration(person, user_id, seed);
    let (status, body) = lab
        .post(
            &format!("{}/admin/app-activations", lab.control),
            &json!({"code": issued["activation_code"], "registration": registration, "device_name": "old phone"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    app
}

pub async fn activate(
    lab: &ServicesLab,
    enrolment_id: &str,
    registration: &AppRegistration,
) -> (u16, Value) {
    lab.post(
        &format!("{}/app/enrolments/{enrolment_id}/activation", lab.issuer),
        &json!({"registration": registration, "device_name": "new phone"}),
    )
    .await
}

/// The error code of a refusal, asserting the status.
pub fn error_of(status: u16, body: &Value, expected_status: u16) -> String {
    assert_eq!(status, expected_status, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "a refusal explains itself: {body}"
    );
    body["error"].as_str().unwrap_or_default().to_owned()
}
