//! Reactivating the app with a passport and a face scan (new phone, forgotten PIN, forgotten user
//! ID): the check tells the existing user ID, the new app is active, the old app is revoked and
//! can no longer approve, and the identity keeps its UUID and IAL.

use mitid_components::idp::admin::{AuthenticatorKind, AuthenticatorState, Ial, IdentityView};

use crate::cpr_lab::ServicesLab;
use crate::enrol_support::{
    PHONE, activate, app_by_activation_code, app_registration, check, check_body, passport_of,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrol_reactivation_tells_the_user_id_and_revokes_the_old_app() {
    let lab = ServicesLab::start().await;
    let person = lab.adults(1).await.remove(0);
    let identity = lab.identity_for(&person, "gammel.bruger", Ial::High).await;
    // The old phone's app, activated with an activation code.
    app_by_activation_code(&lab, &identity.uuid, &person, "gammel.bruger", 8).await;

    // The citizen forgot the user ID: the passport check tells it.
    let (camera, passport) = passport_of(&person);
    let (status, checked) = check(&lab, &check_body(PHONE, &camera, &passport, 930)).await;
    assert_eq!(status, 201, "{checked}");
    assert_eq!(checked["user_id"], "gammel.bruger");
    let enrolment = checked["enrolment_id"].as_str().expect("id").to_owned();

    // A registration for another user ID is refused, naming the field.
    let (_, wrong) = app_registration(&person, "someone.else", 9);
    let (status, body) = activate(&lab, &enrolment, &wrong).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("registration.user_id")
    );

    let (_, registration) = app_registration(&person, "gammel.bruger", 10);
    let (status, done) = activate(&lab, &enrolment, &registration).await;
    assert_eq!(status, 201, "{done}");
    assert_eq!(done["created"], false);
    assert_eq!(done["revoked_apps"], 1);
    assert_eq!(done["uuid"], identity.uuid.as_str());
    assert_eq!(done["ial"], "high", "in-person proofing is kept");

    let (_, view) = lab
        .get(&format!(
            "{}/admin/identities/{}",
            lab.control, identity.uuid
        ))
        .await;
    let view: IdentityView = serde_json::from_value(view).expect("identity view");
    let apps: Vec<(Option<String>, AuthenticatorState)> = view
        .authenticators
        .iter()
        .filter(|a| a.kind == AuthenticatorKind::App)
        .map(|a| (a.label.clone(), a.state))
        .collect();
    assert_eq!(
        apps,
        vec![
            (Some("old phone".into()), AuthenticatorState::Revoked),
            (Some("new phone".into()), AuthenticatorState::Active),
        ]
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrol_reactivation_raises_ial_low_to_substantial_and_expires_after_ten_minutes() {
    let lab = ServicesLab::start().await;
    let person = lab.adults(1).await.remove(0);
    lab.identity_for(&person, "lav.bruger", Ial::Low).await;
    let (camera, passport) = passport_of(&person);
    let (_, checked) = check(&lab, &check_body(PHONE, &camera, &passport, 930)).await;
    let late = checked["enrolment_id"].as_str().expect("id").to_owned();
    let (_, checked) = check(&lab, &check_body(PHONE, &camera, &passport, 930)).await;
    let in_time = checked["enrolment_id"].as_str().expect("id").to_owned();
    let (_, registration) = app_registration(&person, "lav.bruger", 12);
    let (status, done) = activate(&lab, &in_time, &registration).await;
    assert_eq!(status, 201, "{done}");
    assert_eq!(done["ial"], "substantial");

    lab.clock
        .advance(601)
        .expect("an in-memory clock always moves");
    let (status, body) = activate(&lab, &late, &registration).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "enrolment_expired");
    lab.shutdown().await;
}
