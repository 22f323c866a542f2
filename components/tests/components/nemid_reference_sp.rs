//! The reference SP and NemID identities: a NemID login before the NemID shutdown gives a
//! session; after it, a broker that still lets NemID through (scripted for that one login) does
//! not — except for the `accept-nemid-after-cutoff` flaw, which lets the person in.

// MitID, NemID, IdP and SP are names in these docs, not code.
#![allow(clippy::doc_markdown)]

use mitid_components::idp::admin::Ial;
use mitid_components::reference_sp::Flaw;
use mitid_components::service::RunningService;
use serde_json::{Value, json};

use crate::cpr_lab::{ServicesLab, browser};

/// A NemID key-card login of `user` at `sp` (the SP passes the test hint on to the broker):
/// answers `/me`'s status and body.
async fn nemid_login(sp: &RunningService, user: &str) -> (u16, Value) {
    let b = browser();
    let mut url = format!("{}/login?login_hint=test:{user}:nemid_key_card", sp.url());
    for _ in 0..10 {
        let r = b.get(&url).send().await.expect("GET");
        let Some(location) = r.headers().get("location").and_then(|l| l.to_str().ok()) else {
            break;
        };
        url = reqwest::Url::parse(&url)
            .and_then(|u| u.join(location))
            .expect("location")
            .to_string();
    }
    let r = b
        .get(format!("{}/me", sp.url()))
        .send()
        .await
        .expect("GET /me");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nemid_identities_get_no_session_after_the_shutdown_unless_flawed() {
    let lab = ServicesLab::start().await;
    let people = lab.adults(1).await;
    let identity = lab
        .identity_for(&people[0], "nemid.holder", Ial::Substantial)
        .await;
    let (status, issued) = lab
        .post(
            &format!("{}/admin/identities/{}/nemid", lab.control, identity.uuid),
            &json!({"password": "Noegle-kort-2021", "issued_on": "2021-09-01"}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let correct = lab.sp(&[]).await;
    let flawed = lab.sp(&[Flaw::AcceptNemidAfterCutoff]).await;
    // 1 March 2023: public services still accept NemID.
    let (status, me) = nemid_login(&correct, "nemid.holder").await;
    assert_eq!(status, 200, "a NemID login before the shutdown: {me}");
    // From the shutdown on, the broker is scripted to let each NemID login through anyway.
    lab.clock
        .advance(245 * 86_400)
        .expect("an in-memory clock always moves");
    assert_eq!(lab.clock.today().to_string(), "2023-11-01");
    for (sp, want) in [(&correct, 401), (&flawed, 200)] {
        let (s, body) = lab
            .post(
                &format!("{}/control/scripts", lab.control),
                &json!({"match": {"test_user": "nemid.holder"}, "ignore_nemid_cutoff": true}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        let (status, me) = nemid_login(sp, "nemid.holder").await;
        assert_eq!(status, want, "{}: {me}", sp.url());
    }
    // Without the script the broker itself refuses: neither SP gets a NemID token.
    let (status, _) = nemid_login(&flawed, "nemid.holder").await;
    assert_eq!(status, 401);
    correct.shutdown().await;
    flawed.shutdown().await;
    lab.shutdown().await;
}
