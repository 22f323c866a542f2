//! The CPR register through its HTTP API: lookups, determinism, proofing questions, malformed
//! input.

// MitID, IdP and CPR are names in these docs, not code.
#![allow(clippy::doc_markdown)]

use mitid_components::cpr::{Challenge, CprConfig, CprNumber, CprRegister, Person};
use mitid_components::service::LabClock;
use proptest::prelude::*;
use serde_json::json;

use crate::cpr_lab::{SEED, START, http, right_answers, spawn, wrong_answers};

async fn register() -> mitid_components::service::RunningService {
    spawn(CprRegister::new(CprConfig {
        seed: SEED,
        population: 200,
        clock: LabClock::fixed(START),
        ..CprConfig::default()
    }))
    .await
}

async fn page(client: &reqwest::Client, url: &str) -> serde_json::Value {
    let r = client.get(url).send().await.expect("GET");
    assert_eq!(r.status(), 200, "GET {url}");
    r.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_gives_the_same_register_and_numbers_are_consistent() {
    let a = register().await;
    let b = register().await;
    let client = http();
    let pa = page(&client, &format!("{}/persons?limit=200", a.url())).await;
    let pb = page(&client, &format!("{}/persons?limit=200", b.url())).await;
    assert_eq!(pa, pb, "seed {SEED} must give byte-identical registers");
    assert_eq!(pa["total"], 200);
    let persons: Vec<Person> = serde_json::from_value(pa["persons"].clone()).expect("persons");
    for p in &persons {
        assert_eq!(p.cpr.birth_date(), p.birth_date, "{p:?}");
        assert_eq!(p.cpr.sex(), p.sex, "{p:?}");
        let looked_up = page(&client, &format!("{}/persons/{}", a.url(), p.cpr)).await;
        assert_eq!(
            serde_json::from_value::<Person>(looked_up).expect("person"),
            *p
        );
    }
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_answer_json_errors() {
    let reg = register().await;
    let client = http();
    for (path, status) in [
        ("/persons/310290-1234", 400),
        ("/persons/abc", 400),
        ("/persons/0101010001", 404),
        ("/persons?limit=0", 400),
        ("/persons?bogus=1", 400),
        ("/persons/by-document/000", 404),
    ] {
        let r = client
            .get(format!("{}{path}", reg.url()))
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status().as_u16(), status, "GET {path}");
        let body: serde_json::Value = r
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: not JSON: {e}"));
        assert!(body["error"].is_string(), "GET {path}: {body}");
    }
    reg.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_hide_answers_check_them_and_are_single_use() {
    let reg = register().await;
    let client = http();
    let persons: Vec<Person> = serde_json::from_value(
        page(
            &client,
            &format!("{}/persons?limit=5&min_age=20", reg.url()),
        )
        .await["persons"]
            .clone(),
    )
    .expect("persons");
    let person = &persons[0];
    let open = |count: usize| {
        let client = client.clone();
        let url = format!("{}/questions", reg.url());
        let cpr = person.cpr.to_string();
        async move {
            let r = client
                .post(url)
                .json(&json!({"cpr": cpr, "count": count}))
                .send()
                .await
                .expect("POST");
            assert_eq!(r.status(), 201);
            let text = r.text().await.expect("body");
            let challenge: Challenge = serde_json::from_str(&text).expect("challenge");
            (text, challenge)
        }
    };
    let (raw, challenge) = open(3).await;
    assert_eq!(challenge.questions.len(), 3);
    assert!(
        !raw.contains("answer"),
        "the challenge must not carry answers: {raw}"
    );
    let answer = |id: String, answers| {
        let client = client.clone();
        let url = format!("{}/questions/{id}/answers", reg.url());
        async move {
            let r = client
                .post(url)
                .json(&json!({ "answers": answers }))
                .send()
                .await
                .expect("POST");
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.expect("json"),
            )
        }
    };
    let right = right_answers(person, &challenge);
    let (status, verdict) = answer(challenge.challenge_id.clone(), right.clone()).await;
    assert_eq!(
        (status, verdict["passed"].as_bool()),
        (200, Some(true)),
        "{verdict}"
    );
    let (status, again) = answer(challenge.challenge_id.clone(), right).await;
    assert_eq!(status, 404, "a challenge is single use: {again}");

    let (_, challenge) = open(3).await;
    let (status, verdict) = answer(
        challenge.challenge_id.clone(),
        wrong_answers(person, &challenge),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(verdict["passed"], false, "{verdict}");
    assert_eq!(verdict["correct"], 0, "{verdict}");
    reg.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_changes_are_dated_by_the_clock_and_new_persons_can_be_added() {
    let clock = LabClock::fixed(START);
    let reg = spawn(CprRegister::new(CprConfig {
        seed: 3,
        population: 10,
        clock: clock.clone(),
        ..CprConfig::default()
    }))
    .await;
    let client = http();
    let r = client
        .post(format!("{}/persons", reg.url()))
        .json(&json!({"birth_date": "2010-06-15", "sex": "female", "has_phone": false}))
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 201);
    let child: Person = r.json().await.expect("person");
    assert_eq!(child.cpr.birth_date().to_string(), "2010-06-15");
    assert!(
        child.cpr.compact().as_bytes()[6] >= b'4',
        "born 2010 needs a 7th digit of 4–9: {}",
        child.cpr
    );
    assert_eq!(child.phone_number, None);
    clock
        .advance(3600)
        .expect("an in-memory clock always moves");
    let r = client
        .put(format!("{}/persons/{}/phone", reg.url(), child.cpr))
        .json(&json!({"phone_number": "31 22 33 44"}))
        .send()
        .await
        .expect("PUT");
    assert_eq!(r.status(), 200);
    let changed: Person = r.json().await.expect("person");
    assert_eq!(changed.phone_number.as_deref(), Some("+4531223344"));
    assert_eq!(changed.phone_changed_at, Some(START + 3600));
    let r = client
        .put(format!("{}/persons/{}/phone", reg.url(), child.cpr))
        .json(&json!({"phone_number": "12"}))
        .send()
        .await
        .expect("PUT");
    assert_eq!(r.status(), 400);
    reg.shutdown().await;
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever arrives on a public endpoint, the register answers 4xx JSON, never a panic.
    #[test]
    fn malformed_requests_get_json_4xx(
        segment in "[a-zA-Z0-9%\\-._~]{0,30}",
        body in prop_oneof![
            Just("{".to_owned()),
            Just("[]".to_owned()),
            Just("{\"cpr\": 5}".to_owned()),
            Just("{\"cpr\": \"0101\", \"count\": 99}".to_owned()),
            Just("{\"birth_date\": \"1700-01-01\"}".to_owned()),
            Just("{\"answers\": {\"q1\": 3}}".to_owned()),
            "[ -~]{0,80}",
        ],
    ) {
        let rt = runtime();
        rt.block_on(async {
            let reg = register().await;
            let client = http();
            let base = reg.url();
            let requests = [
                client.get(format!("{base}/persons/{segment}")),
                client.get(format!("{base}/persons?limit={segment}")),
                client.post(format!("{base}/persons")).header("content-type", "application/json").body(body.clone()),
                client.put(format!("{base}/persons/{segment}/phone")).header("content-type", "application/json").body(body.clone()),
                client.post(format!("{base}/questions")).header("content-type", "application/json").body(body.clone()),
                client.post(format!("{base}/questions/{segment}/answers")).header("content-type", "application/json").body(body.clone()),
            ];
            for request in requests {
                let r = request.send().await.expect("send");
                let status = r.status().as_u16();
                let text = r.text().await.expect("body");
                // A random body can be a valid PersonRequest ({}), which rightly gives 201.
                prop_assert!(status < 500, "status {status} for segment {segment:?} body {body:?}: {text}");
                if status >= 400 {
                    let json: serde_json::Value = serde_json::from_str(&text)
                        .map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {text}")))?;
                    prop_assert!(json["error"].is_string(), "{text}");
                }
            }
            reg.shutdown().await;
            Ok(())
        })?;
    }
}

#[test]
fn cpr_numbers_round_trip_through_display() {
    let n: CprNumber = "0101901231".parse().expect("valid");
    assert_eq!(n.to_string(), "010190-1231");
    assert_eq!(n.to_string().parse::<CprNumber>().expect("reparse"), n);
}
