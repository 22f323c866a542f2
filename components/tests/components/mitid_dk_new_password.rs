//! A new code-display password on MitID.dk, approved in the MitID app (`idp/ENROLMENT_API.md`,
//! "New password on MitID.dk"): nothing changes before the approval; after it the new password
//! replaces the old one, once; a rejected change, a MitID without a code display and an unknown
//! user are refused.

use mitid_components::cpr::Person;
use mitid_components::idp::admin::{AuthenticatorKind, AuthenticatorState, Ial, IdentityView};
use mitid_devices::app::Transaction;
use mitid_devices::{AppPolicy, Authorisation, MitidApp, Timestamp};
use serde_json::{Value, json};

use crate::cpr_lab::{START, ServicesLab};
use crate::enrol_support::app_by_activation_code;

/// A MitID `user_id` with the app active (returned) and, if `code_display`, a code display and
/// the password "gammelt-kodeord".
async fn citizen(
    lab: &ServicesLab,
    person: &Person,
    user_id: &str,
    code_display: bool,
) -> (String, MitidApp) {
    let identity = lab.identity_for(person, user_id, Ial::Substantial).await;
    let admin = format!(
        "{}/admin/identities/{}/authenticators",
        lab.control, identity.uuid
    );
    let app = app_by_activation_code(lab, &identity.uuid, person, user_id, 31).await;
    if code_display {
        for body in [
            json!({"kind": "code_display"}),
            json!({"kind": "password", "password": "gammelt-kodeord"}),
        ] {
            let (status, issued) = lab.post(&admin, &body).await;
            assert_eq!(status, 201, "{issued}");
        }
    }
    (identity.uuid, app)
}

async fn open_change(lab: &ServicesLab, user_id: &str) -> (u16, Value) {
    lab.post(
        &format!("{}/mitid-dk/password-changes", lab.issuer),
        &json!({"user_id": user_id}),
    )
    .await
}

async fn set_password(lab: &ServicesLab, change: &str, password: &str) -> (u16, Value) {
    lab.post(
        &format!("{}/mitid-dk/password-changes/{change}/password", lab.issuer),
        &json!({"password": password}),
    )
    .await
}

/// The app's answer to the change: a swipe approval, or a rejection.
async fn answer(lab: &ServicesLab, app: &mut MitidApp, change: &Value, approve: bool) {
    let tx: Transaction = serde_json::from_value(change["transaction"].clone()).expect("tx");
    assert_eq!(tx.action_text, "Set a new password on MitID.dk");
    let id = change["change_id"].as_str().expect("change_id");
    let body = if approve {
        let approval = app
            .approve(
                &tx,
                &tx.channel_binding,
                Authorisation::Swipe,
                Timestamp::from_unix_secs(START as u64),
                &AppPolicy::default(),
            )
            .expect("approves");
        json!({"approval": approval})
    } else {
        json!({"rejected": true})
    };
    let (status, body) = lab
        .post(&format!("{}/app/approvals/{id}", lab.issuer), &body)
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The ids of the identity's active passwords.
async fn passwords(lab: &ServicesLab, uuid: &str) -> Vec<String> {
    let (_, view) = lab
        .get(&format!("{}/admin/identities/{uuid}", lab.control))
        .await;
    let view: IdentityView = serde_json::from_value(view).expect("identity view");
    view.authenticators
        .iter()
        .filter(|a| a.kind == AuthenticatorKind::Password && a.state == AuthenticatorState::Active)
        .map(|a| a.authenticator_id.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_approves_a_new_password_that_replaces_the_old_one_once() {
    let lab = ServicesLab::start().await;
    let person = lab.adults(1).await.remove(0);
    let (uuid, mut app) = citizen(&lab, &person, "glemt.kodeord", true).await;
    let old = passwords(&lab, &uuid).await;
    assert_eq!(old.len(), 1);

    let (status, change) = open_change(&lab, "glemt.kodeord").await;
    assert_eq!(status, 201, "{change}");
    let id = change["change_id"].as_str().expect("id").to_owned();
    let (_, pending) = lab
        .get(&format!("{}/app/pending/glemt.kodeord", lab.issuer))
        .await;
    assert!(
        pending.to_string().contains(&id),
        "the app sees it: {pending}"
    );

    let (status, refused) = set_password(&lab, &id, "nyt-kodeord-1").await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (403, Some("not_approved")),
        "{refused}"
    );
    assert_eq!(passwords(&lab, &uuid).await, old, "nothing changed yet");

    answer(&lab, &mut app, &change, true).await;
    let (status, refused) = set_password(&lab, &id, "kort").await;
    assert_eq!(status, 400, "too short: {refused}");
    let (status, set) = set_password(&lab, &id, "nyt-kodeord-1").await;
    assert_eq!(status, 200, "{set}");
    let now = passwords(&lab, &uuid).await;
    assert_eq!(
        now,
        vec![set["authenticator_id"].as_str().expect("id").to_owned()],
        "the new password replaced the old one"
    );
    assert_ne!(now, old);
    let (status, used) = set_password(&lab, &id, "nyt-kodeord-2").await;
    assert_eq!(status, 404, "a change is single use: {used}");
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_changes_unknown_users_and_mitids_without_a_code_display_are_refused() {
    let lab = ServicesLab::start().await;
    let people = lab.adults(2).await;
    let (uuid, mut app) = citizen(&lab, &people[0], "afvist.kodeord", true).await;
    let old = passwords(&lab, &uuid).await;
    let (_, change) = open_change(&lab, "afvist.kodeord").await;
    answer(&lab, &mut app, &change, false).await;
    let id = change["change_id"].as_str().expect("id");
    let (status, refused) = set_password(&lab, id, "nyt-kodeord-1").await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (403, Some("not_approved")),
        "{refused}"
    );
    assert_eq!(passwords(&lab, &uuid).await, old);

    let (status, refused) = open_change(&lab, "ingen.saadan").await;
    assert_eq!(status, 404, "{refused}");
    let _ = citizen(&lab, &people[1], "kun.appen", false).await;
    let (status, refused) = open_change(&lab, "kun.appen").await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (403, Some("no_code_token")),
        "{refused}"
    );
    let (status, refused) = lab
        .post(
            &format!("{}/mitid-dk/password-changes", lab.issuer),
            &json!({"user_id": "afvist.kodeord", "extra": 1}),
        )
        .await;
    assert_eq!(status, 400, "unknown fields: {refused}");
    lab.shutdown().await;
}
