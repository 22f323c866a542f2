//! Getting MitID in the app with a passport and a face scan: a person without MitID ends with a
//! new identity at IAL Substantial and an active app, and the enrolment id is single use.

use mitid_components::idp::admin::{AuthenticatorKind, AuthenticatorState, Ial, IdentityView};

use crate::cpr_lab::ServicesLab;
use crate::enrol_support::{PHONE, activate, app_registration, check, check_body, passport_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrol_with_passport_creates_mitid_at_substantial_with_an_active_app() {
    let lab = ServicesLab::start().await;
    let person = lab.adults(1).await.remove(0);
    let (camera, passport) = passport_of(&person);
    let (status, checked) = check(&lab, &check_body(PHONE, &camera, &passport, 955)).await;
    assert_eq!(status, 201, "{checked}");
    assert!(checked["user_id"].is_null(), "no MitID yet: {checked}");
    assert_eq!(checked["name"], person.full_name());
    let enrolment = checked["enrolment_id"].as_str().expect("id").to_owned();

    let (_, registration) = app_registration(&person, "ny.borger.1", 3);
    let (status, done) = activate(&lab, &enrolment, &registration).await;
    assert_eq!(status, 201, "{done}");
    assert_eq!(done["created"], true);
    assert_eq!(done["ial"], "substantial");
    assert_eq!(done["user_id"], "ny.borger.1");

    let (status, view) = lab
        .get(&format!(
            "{}/admin/identities/by-cpr/{}",
            lab.control,
            person.cpr.compact()
        ))
        .await;
    assert_eq!(status, 200, "{view}");
    let view: IdentityView = serde_json::from_value(view).expect("identity view");
    assert_eq!(view.ial, Ial::Substantial);
    assert_eq!(view.name, person.full_name());
    assert_eq!(view.date_of_birth, person.birth_date.to_string());
    let apps: Vec<_> = view
        .authenticators
        .iter()
        .filter(|a| a.kind == AuthenticatorKind::App)
        .collect();
    assert_eq!(apps.len(), 1, "{view:?}");
    assert_eq!(apps[0].state, AuthenticatorState::Active);
    assert_eq!(apps[0].label.as_deref(), Some("new phone"));

    // The enrolment id is spent.
    let (status, again) = activate(&lab, &enrolment, &registration).await;
    assert_eq!(status, 404, "{again}");
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrol_new_mitid_with_a_taken_user_id_is_a_conflict_and_the_enrolment_stays_usable() {
    let lab = ServicesLab::start().await;
    let people = lab.adults(2).await;
    lab.identity_for(&people[0], "taken.user", Ial::Substantial)
        .await;
    let (camera, passport) = passport_of(&people[1]);
    let (_, checked) = check(&lab, &check_body(PHONE, &camera, &passport, 950)).await;
    let enrolment = checked["enrolment_id"].as_str().expect("id").to_owned();
    let (_, taken) = app_registration(&people[1], "taken.user", 4);
    let (status, body) = activate(&lab, &enrolment, &taken).await;
    assert_eq!(status, 409, "{body}");
    let (_, free) = app_registration(&people[1], "free.user", 5);
    let (status, body) = activate(&lab, &enrolment, &free).await;
    assert_eq!(status, 201, "{body}");
    lab.shutdown().await;
}
