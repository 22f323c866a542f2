//! The lab clock over the IdP's control listener: read, freeze at an instant, advance, release;
//! malformed requests get a JSON `invalid_request`, and the IdP's tokens follow the clock.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

use serde_json::{Value, json};

use reqwest::Method;

use super::idp_support::Lab;

fn wall() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn the_clock_freezes_advances_and_releases_over_http() {
    let lab = Lab::start().await;
    let (status, clock) = lab.control_call(Method::GET, "/control/clock", None).await;
    assert_eq!(status, 200);
    assert_eq!(clock["frozen"], false);
    assert!(
        (clock["now"].as_i64().unwrap() - wall()).abs() < 120,
        "{clock}"
    );

    let (status, clock) = lab
        .control_call(
            Method::PUT,
            "/control/clock",
            Some(&json!({"at": "2023-06-04"})),
        )
        .await;
    assert_eq!(status, 200, "{clock}");
    assert_eq!(clock["utc"], "2023-06-04T00:00:00Z");
    assert_eq!(clock["frozen"], true);

    let (_, clock) = lab
        .control_call(
            Method::POST,
            "/control/clock/advance",
            Some(&json!({"seconds": 90_000})),
        )
        .await;
    assert_eq!(clock["utc"], "2023-06-05T01:00:00Z");

    // Tokens are stamped with the lab's time.
    let (code, verifier, _, _) = lab.login("sp-basic", "anna.jensen", &[]).await;
    let claims = lab.id_token_claims(&code, &verifier).await;
    assert_eq!(claims["iat"].as_i64(), clock["now"].as_i64());

    let (_, clock) = lab
        .control_call(
            Method::PUT,
            "/control/clock",
            Some(&json!({"unix": 1_700_000_000})),
        )
        .await;
    assert_eq!(clock["now"], 1_700_000_000);

    let (status, clock) = lab
        .control_call(Method::DELETE, "/control/clock", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(clock["frozen"], false);
    assert!(
        (clock["now"].as_i64().unwrap() - wall()).abs() < 120,
        "{clock}"
    );
}

#[tokio::test]
async fn malformed_clock_requests_get_json_errors() {
    let lab = Lab::start().await;
    for body in [
        json!({}),
        json!({"at": "yesterday"}),
        json!({"at": "2023-06-04", "unix": 1}),
        json!({"unix": -5}),
        json!({"unix": "soon"}),
        json!({"at": "2023-06-04", "zone": "CET"}),
    ] {
        let (status, answer) = lab
            .control_call(Method::PUT, "/control/clock", Some(&body))
            .await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer["error"], "invalid_request", "{body} → {answer}");
    }
    for body in [
        json!({"seconds": i64::MAX}),
        json!({"seconds": 1.5}),
        json!({"days": 1}),
    ] {
        let (status, answer) = lab
            .control_call(Method::POST, "/control/clock/advance", Some(&body))
            .await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer["error"], "invalid_request");
    }
    let r = lab
        .http
        .post(format!("{}/control/clock/advance", lab.control))
        .body("seconds=5")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let answer: Value = r.json().await.unwrap();
    assert!(answer["error"].is_string(), "{answer}");
    let (status, answer) = lab.control_call(Method::POST, "/control/clock", None).await;
    assert_eq!(status, 405, "{answer}");
    // Nothing above moved the clock.
    let (_, clock) = lab.control_call(Method::GET, "/control/clock", None).await;
    assert_eq!(clock["frozen"], false);
}
