//! The support line: identify a caller, send a temporary PIN or the user ID by SMS (with the
//! 5-day phone rule), reset the code-display password, and report a failing SMS gateway.

// MitID, IdP and CPR are names in these docs, not code.
#![allow(clippy::doc_markdown)]

use std::time::Duration;

use mitid_components::cpr::{Challenge, Person};
use mitid_components::idp::admin::Ial;
use mitid_components::service::LabClock;
use mitid_components::support::{SupportConfig, SupportLine};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::cpr_lab::{START, ServicesLab, http, right_answers, spawn, wrong_answers};

async fn identified_call(lab: &ServicesLab, person: &Person) -> String {
    let (s, opened) = lab
        .post(
            &format!("{}/calls", lab.support),
            &json!({"cpr": person.cpr.to_string(), "document_number": person.passport_number}),
        )
        .await;
    assert_eq!(s, 201, "{opened}");
    let challenge: Challenge =
        serde_json::from_value(opened["questions"].clone()).expect("questions");
    let id = opened["call_id"].as_str().expect("id").to_owned();
    let (s, v) = lab
        .post(
            &format!("{}/calls/{id}/answers", lab.support),
            &json!({"answers": right_answers(person, &challenge)}),
        )
        .await;
    assert_eq!((s, v["identified"].as_bool()), (200, Some(true)), "{v}");
    id
}

async fn messages(lab: &ServicesLab, phone: &str) -> Vec<String> {
    let encoded: String = url::form_urlencoded::byte_serialize(phone.as_bytes()).collect();
    let (s, list) = lab.get(&format!("{}/messages?to={encoded}", lab.sms)).await;
    assert_eq!(s, 200, "{list}");
    list["messages"]
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identified_caller_gets_pin_and_user_id_by_sms_and_a_new_password() {
    let lab = ServicesLab::start().await;
    let person = lab.adults(1).await.remove(0);
    let phone = person.phone_number.clone().expect("adults() have phones");
    let identity = lab
        .identity_for(&person, "caller.one", Ial::Substantial)
        .await;
    let call = identified_call(&lab, &person).await;
    let (s, sent) = lab
        .post(
            &format!("{}/calls/{call}/temporary-pin", lab.support),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{sent}");
    assert!(
        sent["to"].as_str().unwrap_or("").contains('*'),
        "the number is masked: {sent}"
    );
    let (s, _) = lab
        .post(&format!("{}/calls/{call}/user-id", lab.support), &json!({}))
        .await;
    assert_eq!(s, 200);
    let texts = messages(&lab, &phone).await;
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[0].contains("temporary MitID PIN"), "{texts:?}");
    assert!(texts[1].contains(&identity.user_id), "{texts:?}");
    let (s, reset) = lab
        .post(
            &format!("{}/calls/{call}/password-reset", lab.support),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{reset}");
    assert!(
        reset["temporary_password"]
            .as_str()
            .is_some_and(|p| !p.is_empty()),
        "{reset}"
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_must_be_identified_and_recent_phone_changes_block_the_pin() {
    let lab = ServicesLab::start().await;
    let people = lab.adults(2).await;
    let person = &people[0];
    lab.identity_for(person, "caller.two", Ial::Substantial)
        .await;
    // Someone else's passport number.
    let (s, e) = lab
        .post(
            &format!("{}/calls", lab.support),
            &json!({"cpr": person.cpr.to_string(), "document_number": people[1].passport_number}),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    // Wrong answers end the call; nothing can be sent on it.
    let (_, opened) = lab
        .post(
            &format!("{}/calls", lab.support),
            &json!({"cpr": person.cpr.to_string(), "document_number": person.passport_number}),
        )
        .await;
    let challenge: Challenge =
        serde_json::from_value(opened["questions"].clone()).expect("questions");
    let id = opened["call_id"].as_str().expect("id");
    let (s, _) = lab
        .post(
            &format!("{}/calls/{id}/answers", lab.support),
            &json!({"answers": wrong_answers(person, &challenge)}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = lab
        .post(
            &format!("{}/calls/{id}/temporary-pin", lab.support),
            &json!({}),
        )
        .await;
    assert_eq!(s, 404, "the failed call is over");

    // A phone number changed 2 days ago: no PIN by SMS; after 5 days: yes.
    let (s, _) = lab
        .send(
            reqwest::Method::PUT,
            &format!("{}/persons/{}/phone", lab.cpr, person.cpr),
            &json!({"phone_number": "+4571717171"}),
        )
        .await;
    assert_eq!(s, 200);
    lab.clock
        .advance(2 * 86_400)
        .expect("an in-memory clock always moves");
    let call = identified_call(&lab, person).await;
    let (s, e) = lab
        .post(
            &format!("{}/calls/{call}/temporary-pin", lab.support),
            &json!({}),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    assert!(
        e["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("phone_recently_changed"),
        "{e}"
    );
    assert!(messages(&lab, "+4571717171").await.is_empty());
    lab.clock
        .advance(3 * 86_400 + 1)
        .expect("an in-memory clock always moves");
    let call = identified_call(&lab, person).await;
    let (s, sent) = lab
        .post(
            &format!("{}/calls/{call}/temporary-pin", lab.support),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{sent}");
    assert_eq!(messages(&lab, "+4571717171").await.len(), 1);
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropping_or_failing_sms_gateway_is_reported() {
    let lab = ServicesLab::start().await;
    let person = lab.adults(1).await.remove(0);
    lab.identity_for(&person, "caller.three", Ial::Substantial)
        .await;

    // The lab's own gateway, told to drop the next message.
    let (s, _) = lab
        .send(
            reqwest::Method::PUT,
            &format!("{}/control/mode", lab.sms),
            &json!({"mode": "drop", "remaining": 1}),
        )
        .await;
    assert_eq!(s, 200);
    let call = identified_call(&lab, &person).await;
    let (s, e) = lab
        .post(
            &format!("{}/calls/{call}/temporary-pin", lab.support),
            &json!({}),
        )
        .await;
    assert_eq!(s, 502, "{e}");
    assert!(
        e["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("not delivered"),
        "{e}"
    );

    // wiremock gateways: one failing, one hanging.
    let failing = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .mount(&failing)
        .await;
    let hanging = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(202).set_delay(Duration::from_secs(30)))
        .mount(&hanging)
        .await;
    for (sms_url, status, code) in [
        (failing.uri(), 502, "upstream_error"),
        (hanging.uri(), 504, "upstream_timeout"),
    ] {
        let mut config = SupportConfig::new(lab.cpr.clone(), lab.control.clone(), sms_url.clone());
        config.clock = LabClock::fixed(START);
        config.http_timeout = Duration::from_secs(3);
        let support = spawn(SupportLine::new(config)).await;
        let (s, opened) = lab
            .post(
                &format!("{}/calls", support.url()),
                &json!({"cpr": person.cpr.to_string(), "document_number": person.passport_number}),
            )
            .await;
        assert_eq!(s, 201, "{opened}");
        let challenge: Challenge =
            serde_json::from_value(opened["questions"].clone()).expect("questions");
        let id = opened["call_id"].as_str().expect("id");
        let (s, _) = lab
            .post(
                &format!("{}/calls/{id}/answers", support.url()),
                &json!({"answers": right_answers(&person, &challenge)}),
            )
            .await;
        assert_eq!(s, 200);
        let r = http()
            .post(format!("{}/calls/{id}/user-id", support.url()))
            .send()
            .await
            .expect("POST");
        assert_eq!(r.status().as_u16(), status, "SMS gateway {sms_url}");
        let body: Value = r.json().await.expect("JSON");
        assert_eq!(body["error"], code, "{body}");
        support.shutdown().await;
    }
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_calls_get_json_4xx() {
    let lab = ServicesLab::start().await;
    for (path, body) in [
        ("/calls", "{"),
        ("/calls", "{\"cpr\": \"x\", \"document_number\": \"1\"}"),
        (
            "/calls",
            "{\"cpr\": \"0101901231\", \"document_number\": \"\"}",
        ),
        ("/calls/nope/answers", "{\"answers\": {}}"),
        ("/calls/nope/temporary-pin", ""),
        ("/calls/nope/user-id", ""),
        ("/calls/%ff/password-reset", ""),
    ] {
        let r = lab
            .http
            .post(format!("{}{path}", lab.support))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST");
        let status = r.status().as_u16();
        let json: Value = r
            .json()
            .await
            .unwrap_or_else(|e| panic!("POST {path} {body}: not JSON: {e}"));
        assert!(
            (400..500).contains(&status),
            "POST {path} {body}: {status} {json}"
        );
        assert!(json["error"].is_string(), "{json}");
    }
    lab.shutdown().await;
}

/// JSON bodies that are nearly a support request: the right field names with wrong types, odd or
/// huge strings, unknown fields, and arbitrary nested JSON.
fn hostile_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        proptest::arbitrary::any::<bool>().prop_map(Value::from),
        proptest::arbitrary::any::<i64>().prop_map(Value::from),
        proptest::arbitrary::any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::from),
        Just(Value::from("0101901231")),
        Just(Value::from("010190-1231")),
        Just(Value::from("\u{0}\u{202e}\u{fffd}")),
        // Huge, but under the 64 KiB body limit so the handler itself sees it.
        (1usize..60_000).prop_map(|n| Value::from("9".repeat(n))),
    ];
    let any_json = leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        (any_json.clone(), any_json.clone())
            .prop_map(|(cpr, document)| json!({"cpr": cpr, "document_number": document})),
        (any_json.clone(), any_json.clone()).prop_map(
            |(cpr, extra)| json!({"cpr": cpr, "document_number": "X1234567", "extra": extra})
        ),
        any_json
            .clone()
            .prop_map(|answers| json!({"answers": answers})),
        prop::collection::btree_map("\\PC{0,20}", any_json.clone(), 0..6)
            .prop_map(|answers| json!({"answers": answers})),
        any_json,
    ]
}

/// Raw request bodies: hostile JSON, or bytes that are not JSON (or not UTF-8) at all.
fn hostile_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        hostile_json().prop_map(|v| v.to_string().into_bytes()),
        "[ -~]{0,80}".prop_map(String::into_bytes),
        prop::collection::vec(proptest::arbitrary::any::<u8>(), 0..200),
        Just(b"{".to_vec()),
        Just(b"{\"cpr\": \"0101901231\", \"document_number\": ".to_vec()),
        Just(Vec::new()),
    ]
}

/// Call ids: unknown, percent-encoded arbitrary text, path tricks, huge, or the lab's one real
/// (not yet identified) call.
fn hostile_call_id(real: String) -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{1,40}".prop_map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect()),
        "call-[0-9a-f]{24}",
        Just("%ff".to_owned()),
        Just("%00".to_owned()),
        Just("..".to_owned()),
        Just("%2e%2e%2fcalls".to_owned()),
        (1usize..4_000).prop_map(|n| "c".repeat(n)),
        Just(real),
    ]
}

/// Every public support endpoint, fed malformed input with a healthy CPR register, IdP and SMS
/// gateway behind it: always a 4xx with a JSON error body, never a panic or a 5xx.
#[test]
fn every_support_endpoint_answers_malformed_input_with_a_json_4xx() {
    // One lab for all cases (starting the CPR register, IdP and gateway per case would dominate);
    // bounded because every case is real HTTP round trips on a small shared machine.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let lab = rt.block_on(ServicesLab::start());
    let person = rt.block_on(lab.adults(1)).remove(0);
    let (s, opened) = rt.block_on(lab.post(
        &format!("{}/calls", lab.support),
        &json!({"cpr": person.cpr.to_string(), "document_number": person.passport_number}),
    ));
    assert_eq!(s, 201, "{opened}");
    let real = opened["call_id"].as_str().expect("call_id").to_owned();
    let content_types = prop::sample::select(vec![
        Some("application/json"),
        Some("text/plain"),
        Some("application/json; charset=latin1"),
        None,
    ]);
    let strategy = (hostile_call_id(real), hostile_body(), content_types);
    // A fresh connection per request: a handler that refuses a body without reading it (wrong
    // content type) lets hyper close the connection, and a pooled client can race that close and
    // report IncompleteMessage for the next request, which is about keep-alive, not the answer.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(id, body, content_type)| {
            rt.block_on(async {
                let paths = [
                    "/calls".to_owned(),
                    format!("/calls/{id}/answers"),
                    format!("/calls/{id}/temporary-pin"),
                    format!("/calls/{id}/user-id"),
                    format!("/calls/{id}/password-reset"),
                ];
                for path in &paths {
                    for method in [reqwest::Method::POST, reqwest::Method::GET] {
                        let mut request = client
                            .request(method.clone(), format!("{}{path}", lab.support))
                            .body(body.clone());
                        if let Some(ct) = content_type {
                            request = request.header("content-type", ct);
                        }
                        let r = request.send().await.expect("send");
                        let status = r.status().as_u16();
                        let text = r.text().await.expect("body");
                        let shown = String::from_utf8_lossy(&body);
                        let shown: String = shown.chars().take(300).collect();
                        prop_assert!(
                            (400..500).contains(&status),
                            "{method} {path} ({content_type:?}) body {shown:?}: {status} {text}"
                        );
                        let json: Value = serde_json::from_str(&text).map_err(|e| {
                            TestCaseError::fail(format!(
                                "{method} {path} body {shown:?}: {status} not JSON ({e}): {text}"
                            ))
                        })?;
                        prop_assert!(
                            json["error"].is_string(),
                            "{method} {path} body {shown:?}: {status} {text}"
                        );
                    }
                }
                Ok(())
            })
        })
        .unwrap_or_else(|e| panic!("support line fuzz: {e}"));
    rt.block_on(lab.shutdown());
}
