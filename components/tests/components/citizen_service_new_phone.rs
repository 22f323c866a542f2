//! A lost or new phone reactivated at Citizen Service: after proofing with the passport and the
//! CPR questions, the counter issues a new app to the existing MitID; the old phone's app is
//! revoked (as with the passport reactivation) and the activation code handed over activates the
//! app on the new phone.

// MitID and CPR are names in these docs, not code.
#![allow(clippy::doc_markdown)]

use mitid_components::cpr::{Challenge, Person};
use mitid_components::idp::admin::{AuthenticatorKind, AuthenticatorState, Ial, IdentityView};
use serde_json::{Value, json};

use crate::citizen_service_flows::proofing;
use crate::cpr_lab::{ServicesLab, right_answers};
use crate::enrol_support::{app_by_activation_code, app_registration};

/// Proofing at the counter with the passport and the right CPR answers, then a new app issued.
async fn app_at_the_counter(lab: &ServicesLab, person: &Person) -> (u16, Value) {
    let id = proofing(lab, &person.cpr.to_string()).await;
    let base = format!("{}/proofing/{id}", lab.citizen);
    let passport = person.passport_number.clone().expect("a passport");
    let (status, body) = lab
        .post(
            &format!("{base}/document"),
            &json!({"kind": "passport", "number": passport}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, challenge) = lab.post(&format!("{base}/questions"), &json!({})).await;
    let challenge: Challenge = serde_json::from_value(challenge).expect("challenge");
    let (status, body) = lab
        .post(
            &format!("{base}/answers"),
            &json!({"answers": right_answers(person, &challenge)}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    lab.post(
        &format!("{base}/issue"),
        &json!({"authenticators": ["app"]}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_app_at_the_counter_revokes_the_lost_phone_and_activates_the_new_one() {
    let lab = ServicesLab::start().await;
    let person = lab.adults(1).await.remove(0);
    let identity = lab
        .identity_for(&person, "mistet.telefon", Ial::Substantial)
        .await;
    app_by_activation_code(&lab, &identity.uuid, &person, "mistet.telefon", 21).await;

    let (status, reissued) = app_at_the_counter(&lab, &person).await;
    assert_eq!(status, 201, "{reissued}");
    assert_eq!(reissued["existing"], true, "{reissued}");
    assert_eq!(reissued["revoked_apps"], 1, "the lost phone: {reissued}");
    assert_eq!(reissued["identity"]["uuid"], identity.uuid.as_str());
    assert_eq!(reissued["identity"]["ial"], "high", "{reissued}");
    let code = reissued["authenticators"][0]["activation_code"].clone();
    assert!(code.as_str().is_some_and(|c| !c.is_empty()), "{reissued}");

    let (_, new_phone) = app_registration(&person, "mistet.telefon", 22);
    let (status, body) = lab
        .post(
            &format!("{}/admin/app-activations", lab.control),
            &json!({"code": code, "registration": new_phone, "device_name": "new phone"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

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

    // The admin route on its own: nothing left to revoke but the new phone.
    let (status, revoked) = lab
        .post(
            &format!(
                "{}/admin/identities/{}/apps/revoke",
                lab.control, identity.uuid
            ),
            &json!(null),
        )
        .await;
    assert_eq!(
        (status, revoked["revoked_apps"].as_u64()),
        (200, Some(1)),
        "{revoked}"
    );
    let (status, missing) = lab
        .post(
            &format!("{}/admin/identities/no-such-uuid/apps/revoke", lab.control),
            &json!(null),
        )
        .await;
    assert_eq!(status, 404, "{missing}");
    lab.shutdown().await;
}
