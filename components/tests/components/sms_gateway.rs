//! The SMS gateway: records what it delivers, per phone; drops or fails on demand.

// MitID, IdP and CPR are names in these docs, not code.
#![allow(clippy::doc_markdown)]

use mitid_components::service::LabClock;
use mitid_components::sms::{SmsClient, SmsConfig, SmsError, SmsGateway};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::cpr_lab::{START, http, spawn};

async fn gateway() -> mitid_components::service::RunningService {
    spawn(SmsGateway::new(SmsConfig {
        clock: LabClock::fixed(START),
    }))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_recorded_per_phone_and_drop_and_fail_modes_work() {
    let gw = gateway().await;
    let client = SmsClient::new(gw.url(), http());
    let first = client
        .send("20 11 22 33", "MitID", "hello Anna")
        .await
        .expect("delivered");
    client
        .send("+4540000001", "MitID", "hello Bo")
        .await
        .expect("delivered");
    let list: Value = http()
        .get(format!("{}/messages?to=%2B4520112233", gw.url()))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    let messages = list["messages"].as_array().expect("array");
    assert_eq!(messages.len(), 1, "{list}");
    assert_eq!(messages[0]["text"], "hello Anna");
    assert_eq!(messages[0]["message_id"], first.message_id.as_str());
    assert_eq!(messages[0]["sent_at"], START);

    let set = |mode: Value| {
        let url = format!("{}/control/mode", gw.url());
        async move {
            http()
                .put(url)
                .json(&mode)
                .send()
                .await
                .expect("PUT")
                .status()
                .as_u16()
        }
    };
    assert_eq!(set(json!({"mode": "drop", "remaining": 1})).await, 200);
    let dropped = client.send("20112233", "MitID", "lost").await;
    assert!(
        matches!(dropped, Err(SmsError::NotDelivered(_))),
        "{dropped:?}"
    );
    client
        .send("20112233", "MitID", "after drop")
        .await
        .expect("mode reverted to deliver after 1");
    assert_eq!(set(json!({"mode": "fail"})).await, 200);
    let failed = client.send("20112233", "MitID", "down").await;
    assert!(
        matches!(failed, Err(SmsError::Refused { status: 503, .. })),
        "{failed:?}"
    );
    assert_eq!(set(json!({"mode": "deliver"})).await, 200);

    let texts: Vec<String> = http()
        .get(format!("{}/messages?to=20112233", gw.url()))
        .send()
        .await
        .expect("GET")
        .json::<Value>()
        .await
        .expect("json")["messages"]
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        texts,
        ["hello Anna", "after drop"],
        "dropped and failed messages never reach the phone"
    );
    gw.shutdown().await;
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

    #[test]
    fn malformed_requests_get_json_4xx(
        to in "[ -~]{0,20}",
        body in prop_oneof![
            Just("{".to_owned()),
            Just("{\"to\": \"+4520112233\", \"sender\": \"\", \"text\": \"x\"}".to_owned()),
            Just("{\"to\": \"+4520112233\", \"sender\": \"MitID\", \"text\": \"\"}".to_owned()),
            Just("{\"mode\": \"explode\"}".to_owned()),
            Just("{\"mode\": \"drop\", \"remaining\": 0}".to_owned()),
            "[ -~]{0,60}",
        ],
    ) {
        runtime().block_on(async {
            let gw = gateway().await;
            let client = http();
            let base = gw.url();
            let encoded: String = url::form_urlencoded::byte_serialize(to.as_bytes()).collect();
            let requests = [
                client.post(format!("{base}/messages")).header("content-type", "application/json").body(body.clone()),
                client.put(format!("{base}/control/mode")).header("content-type", "application/json").body(body.clone()),
                client.get(format!("{base}/messages?to={encoded}")),
            ];
            for request in requests {
                let r = request.send().await.expect("send");
                let status = r.status().as_u16();
                let text = r.text().await.expect("body");
                prop_assert!(status < 500, "status {status} for to {to:?} body {body:?}: {text}");
                if status >= 400 {
                    let json: Value = serde_json::from_str(&text)
                        .map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {text}")))?;
                    prop_assert!(json["error"].is_string(), "{text}");
                }
            }
            gw.shutdown().await;
            Ok(())
        })?;
    }
}
