//! Citizen Service through its API: booking, proofing (documents + questions, witness rules),
//! issuing MitID at IAL High, P codes, and failing neighbours (wiremock CPR register).

// MitID, IdP and CPR are names in these docs, not code.
#![allow(clippy::doc_markdown)]

use std::time::Duration;

use mitid_components::citizen_service::{CitizenService, CitizenServiceConfig};
use mitid_components::cpr::Challenge;
use mitid_components::service::LabClock;
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::cpr_lab::{START, ServicesLab, http, right_answers, spawn, wrong_answers};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_refuses_closed_hours_full_slots_and_double_booking() {
    let lab = ServicesLab::start().await;
    let book = |start: &str, cpr: &str| {
        let body =
            json!({"municipality_code": 101, "start": start, "cpr": cpr, "purpose": "MitID"});
        let url = format!("{}/appointments", lab.citizen);
        let lab = &lab;
        async move { lab.post(&url, &body).await }
    };
    let people = lab.adults(3).await;
    let cpr = |i: usize| people[i].cpr.to_string();
    let (s, a) = book("2023-03-01T10:00:00", &cpr(0)).await;
    assert_eq!(s, 201, "{a}");
    let (s, e) = book("2023-03-01T10:00:00", &cpr(0)).await;
    assert_eq!(s, 409, "same person, same time: {e}");
    let (s, _) = book("2023-03-01T10:00:00", &cpr(1)).await;
    assert_eq!(s, 201, "second desk");
    let (s, e) = book("2023-03-01T10:00:00", &cpr(2)).await;
    assert_eq!(s, 409, "two desks, slot full: {e}");
    let (s, e) = book("2023-03-04T11:00:00", &cpr(2)).await;
    assert_eq!(s, 400, "Saturday: {e}");
    assert!(
        e["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("closed"),
        "{e}"
    );
    let (s, e) = book("2023-03-01T15:00:00", &cpr(2)).await;
    assert_eq!(s, 400, "after closing: {e}");
    let (s, e) = book("2023-03-01T10:07:00", &cpr(2)).await;
    assert_eq!(s, 400, "off the grid: {e}");
    let (s, e) = book("2023-02-28T10:00:00", &cpr(2)).await;
    assert_eq!(s, 400, "in the past: {e}");
    // Cancelling frees the desk.
    let id = a["appointment_id"].as_str().expect("id");
    let r = lab
        .http
        .delete(format!("{}/appointments/{id}", lab.citizen))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(r.status(), 204);
    let (s, _) = book("2023-03-01T10:00:00", &cpr(2)).await;
    assert_eq!(s, 201, "freed desk");
    let (s, slots) = lab
        .get(&format!(
            "{}/counters/101/slots?date=2023-03-01",
            lab.citizen
        ))
        .await;
    assert_eq!(s, 200);
    let first = &slots["slots"][0];
    assert_eq!(
        first["start"], "2023-03-01T10:15:00",
        "10:00 is full: {slots}"
    );
    lab.shutdown().await;
}

pub async fn proofing(lab: &ServicesLab, cpr: &str) -> String {
    let (s, p) = lab
        .post(&format!("{}/proofing", lab.citizen), &json!({"cpr": cpr}))
        .await;
    assert_eq!(s, 201, "{p}");
    p["proofing_id"].as_str().expect("id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_and_questions_prove_identity_and_issue_mitid_at_high() {
    let lab = ServicesLab::start().await;
    let person = lab.adults(1).await.remove(0);
    let id = proofing(&lab, &person.cpr.to_string()).await;
    let base = format!("{}/proofing/{id}", lab.citizen);
    let (s, e) = lab
        .post(
            &format!("{base}/issue"),
            &json!({"authenticators": ["app"]}),
        )
        .await;
    assert_eq!(s, 403, "nothing proven yet: {e}");
    let (s, e) = lab
        .post(
            &format!("{base}/document"),
            &json!({"kind": "passport", "number": "999999999"}),
        )
        .await;
    assert_eq!(s, 403, "someone else's passport: {e}");
    let passport = person
        .passport_number
        .clone()
        .expect("adults() have passports");
    let (s, v) = lab
        .post(
            &format!("{base}/document"),
            &json!({"kind": "passport", "number": passport}),
        )
        .await;
    assert_eq!(
        (s, v["document_verified"].as_bool()),
        (200, Some(true)),
        "{v}"
    );
    // Wrong answers fail; the questions can be asked again.
    let (s, c) = lab.post(&format!("{base}/questions"), &json!({})).await;
    assert_eq!(s, 201, "{c}");
    let challenge: Challenge = serde_json::from_value(c).expect("challenge");
    let (s, e) = lab
        .post(
            &format!("{base}/answers"),
            &json!({"answers": wrong_answers(&person, &challenge)}),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    let (_, c) = lab.post(&format!("{base}/questions"), &json!({})).await;
    let challenge: Challenge = serde_json::from_value(c).expect("challenge");
    let (s, v) = lab
        .post(
            &format!("{base}/answers"),
            &json!({"answers": right_answers(&person, &challenge)}),
        )
        .await;
    assert_eq!((s, v["proven"].as_bool()), (200, Some(true)), "{v}");
    let (s, issued) = lab
        .post(
            &format!("{base}/issue"),
            &json!({"authenticators": ["app", "code_display"], "user_id": "proofed.person"}),
        )
        .await;
    assert_eq!(s, 201, "{issued}");
    assert_eq!(issued["identity"]["ial"], "high", "{issued}");
    assert_eq!(issued["existing"], false);
    assert_eq!(
        issued["authenticators"].as_array().map(Vec::len),
        Some(2),
        "{issued}"
    );
    let (s, view) = lab
        .get(&format!(
            "{}/admin/identities/by-cpr/{}",
            lab.control,
            person.cpr.compact()
        ))
        .await;
    assert_eq!(
        (s, view["ial"].as_str()),
        (200, Some("high")),
        "the IdP has the identity at High: {view}"
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witness_rules_age_mitid_age_and_three_in_120_days() {
    let lab = ServicesLab::start().await;
    let people = lab.adults(6).await;
    let witness = &people[0];
    let witness_cpr = witness.cpr.to_string();
    lab.identity_for(
        witness,
        "the.witness",
        mitid_components::idp::admin::Ial::High,
    )
    .await;
    let vouch = |subject: usize| {
        let lab = &lab;
        let cpr = people[subject].cpr.to_string();
        let witness_cpr = witness_cpr.clone();
        async move {
            let id = proofing(lab, &cpr).await;
            lab.post(
                &format!("{}/proofing/{id}/witness", lab.citizen),
                &json!({"witness_cpr": witness_cpr}),
            )
            .await
        }
    };
    let (s, e) = vouch(1).await;
    assert_eq!(
        s, 403,
        "Citizen Service has no record of the witness's MitID date: {e}"
    );
    let (s, _) = lab
        .post(
            &format!("{}/control/mitid-issued", lab.citizen),
            &json!({"cpr": witness_cpr, "issued_at": START - 20 * 86_400}),
        )
        .await;
    assert_eq!(s, 204);
    let (s, e) = vouch(1).await;
    assert_eq!(s, 403, "MitID only 20 days old: {e}");
    assert!(
        e["error_description"].as_str().unwrap_or("").contains("30"),
        "{e}"
    );
    lab.clock
        .advance(11 * 86_400)
        .expect("an in-memory clock always moves");
    for subject in 1..=3 {
        let (s, v) = vouch(subject).await;
        assert_eq!(
            (s, v["proven"].as_bool()),
            (200, Some(true)),
            "witnessing {subject}: {v}"
        );
    }
    let (s, e) = vouch(4).await;
    assert_eq!(s, 403, "a fourth witnessing within 120 days: {e}");
    lab.clock
        .advance(121 * 86_400)
        .expect("an in-memory clock always moves");
    let (s, v) = vouch(4).await;
    assert_eq!(s, 200, "after 120 days the witness may vouch again: {v}");

    // A minor cannot witness.
    let (s, child) = lab
        .post(
            &format!("{}/persons", lab.cpr),
            &json!({"birth_date": "2008-01-01"}),
        )
        .await;
    assert_eq!(s, 201);
    let id = proofing(&lab, &people[5].cpr.to_string()).await;
    let (s, e) = lab
        .post(
            &format!("{}/proofing/{id}/witness", lab.citizen),
            &json!({"witness_cpr": child["cpr"]}),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    assert!(
        e["error_description"].as_str().unwrap_or("").contains("18"),
        "{e}"
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p_codes_refuse_birth_dates_no_person_can_have() {
    let lab = ServicesLab::start().await;
    for date in ["9999-12-31", "-0001-01-01", "1879-12-31", "0001-01-01"] {
        let (s, e) = lab
            .post(&format!("{}/p-codes", lab.citizen), &json!({"name": "John Smith", "date_of_birth": date, "passport_number": "GB1234567"}))
            .await;
        assert_eq!(s, 400, "{date}: {e}");
        let text = e["error_description"].as_str().unwrap_or_default();
        assert!(
            text.contains("`date_of_birth`"),
            "{date}: {text:?} names no field"
        );
    }
    let (s, p) = lab
        .post(&format!("{}/p-codes", lab.citizen), &json!({"name": "Old Person", "date_of_birth": "1900-01-01", "passport_number": "GB1234567"}))
        .await;
    assert_eq!(s, 201, "an old but possible birth date: {p}");
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p_codes_allow_three_attempts_once_for_60_days() {
    let lab = ServicesLab::start().await;
    let issue = || async {
        let (s, p) = lab
            .post(&format!("{}/p-codes", lab.citizen), &json!({"name": "John Smith", "date_of_birth": "1985-03-04", "passport_number": "GB1234567"}))
            .await;
        assert_eq!(s, 201, "{p}");
        assert_eq!(p["p_code"].as_str().map(str::len), Some(8), "{p}");
        (
            p["p_code_id"].as_str().expect("id").to_owned(),
            p["p_code"].as_str().expect("code").to_owned(),
        )
    };
    let redeem = |id: String, code: String, user: &'static str| {
        let lab = &lab;
        async move {
            lab.post(
                &format!("{}/p-codes/{id}/redeem", lab.citizen),
                &json!({"code": code, "user_id": user}),
            )
            .await
        }
    };
    let (id, code) = issue().await;
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let (s, e) = redeem(id.clone(), wrong.into(), "john.smith1").await;
    assert_eq!(s, 400, "{e}");
    let (s, identity) = redeem(id.clone(), code.clone(), "john.smith1").await;
    assert_eq!(s, 201, "{identity}");
    assert_eq!(identity["person"]["p_code"], code.as_str(), "{identity}");
    let (s, e) = redeem(id, code, "john.smith2").await;
    assert_eq!(s, 403, "one use: {e}");

    let (id, code) = issue().await;
    for _ in 0..3 {
        redeem(id.clone(), wrong.into(), "john.smith3").await;
    }
    let (s, e) = redeem(id, code, "john.smith3").await;
    assert_eq!(s, 403, "void after 3 wrong attempts: {e}");

    let (id, code) = issue().await;
    lab.clock
        .advance(61 * 86_400)
        .expect("an in-memory clock always moves");
    let (s, e) = redeem(id, code, "john.smith4").await;
    assert_eq!(s, 403, "expired after 60 days: {e}");
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_or_slow_cpr_register_gives_a_proper_error() {
    let failing = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&failing)
        .await;
    let slow = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&slow)
        .await;
    let garbage = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>"))
        .mount(&garbage)
        .await;
    for (cpr_url, timeout, status, code) in [
        (failing.uri(), 10, 502, "upstream_error"),
        (slow.uri(), 2, 504, "upstream_timeout"),
        (garbage.uri(), 10, 502, "upstream_error"),
        ("http://127.0.0.1:9".to_owned(), 10, 502, "upstream_error"),
    ] {
        let mut config = CitizenServiceConfig::new(cpr_url.clone(), "http://127.0.0.1:9");
        config.clock = LabClock::fixed(START);
        config.http_timeout = Duration::from_secs(timeout);
        let service = spawn(CitizenService::new(config)).await;
        let r = http()
            .post(format!("{}/proofing", service.url()))
            .json(&json!({"cpr": "0101901231"}))
            .send()
            .await
            .expect("POST");
        assert_eq!(r.status().as_u16(), status, "CPR register at {cpr_url}");
        let body: Value = r.json().await.expect("JSON error body");
        assert_eq!(body["error"], code, "CPR register at {cpr_url}: {body}");
        service.shutdown().await;
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn malformed_requests_get_json_4xx(
        segment in "[a-zA-Z0-9%\\-._~]{1,20}",
        body in prop_oneof![
            Just("{".to_owned()),
            Just("{\"municipality_code\": 101, \"start\": \"yesterday\", \"purpose\": \"x\"}".to_owned()),
            Just("{\"municipality_code\": 9999, \"start\": \"2023-03-01T10:00:00\", \"name\": \"A\", \"purpose\": \"x\"}".to_owned()),
            Just("{\"cpr\": \"not a cpr\"}".to_owned()),
            Just("{\"name\": \"\", \"date_of_birth\": \"1990-01-01\", \"passport_number\": \"X\"}".to_owned()),
            Just("{\"authenticators\": [\"rocket\"]}".to_owned()),
            "[ -~]{0,60}",
        ],
    ) {
        runtime().block_on(async {
            let mut config = CitizenServiceConfig::new("http://127.0.0.1:9", "http://127.0.0.1:9");
            config.clock = LabClock::fixed(START);
            config.http_timeout = Duration::from_secs(5);
            let service = spawn(CitizenService::new(config)).await;
            let client = http();
            let base = service.url();
            let json_post = |path: String| client.post(format!("{base}{path}")).header("content-type", "application/json").body(body.clone());
            let requests = [
                client.get(format!("{base}/counters/{segment}")),
                client.get(format!("{base}/counters/101/slots?date={segment}")),
                client.get(format!("{base}/appointments/{segment}")),
                json_post("/appointments".into()),
                json_post("/proofing".into()),
                json_post(format!("/proofing/{segment}/witness")),
                json_post(format!("/proofing/{segment}/issue")),
                json_post("/p-codes".into()),
                json_post(format!("/p-codes/{segment}/redeem")),
            ];
            for request in requests {
                let r = request.send().await.expect("send");
                let status = r.status().as_u16();
                let text = r.text().await.expect("body");
                // No neighbours run here, so a well-formed request may end in 502: never a 500.
                prop_assert!(status != 500 && status >= 200, "status {status} for {segment:?} / {body:?}: {text}");
                if status >= 400 {
                    let json: Value = serde_json::from_str(&text)
                        .map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {text}")))?;
                    prop_assert!(json["error"].is_string(), "{text}");
                }
            }
            service.shutdown().await;
            Ok(())
        })?;
    }
}
