//! Malformed requests to the NemID endpoints (admin API, sectors, key app, MitID.dk) get a JSON
//! error naming the problem, never a panic or an HTML page.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

use serde_json::json;

use super::nemid_login::{PASSWORD, issue_nemid, lab_on, uuid_of};

#[tokio::test]
async fn malformed_nemid_admin_requests_get_json_errors() {
    let lab = lab_on("2022-06-01").await;
    let uuid = uuid_of(&lab, "anna.jensen").await;
    let issue = format!("{}/admin/identities/{uuid}/nemid", lab.control);
    let post = reqwest::Method::POST;
    for (body, status, needle) in [
        (json!({}), 400, "password"),
        (json!({"password": "1234"}), 400, "password"),
        (json!({"password": "ab"}), 400, "password"),
        (
            json!({"password": PASSWORD, "key_card": false}),
            400,
            "key_card",
        ),
        (json!({"password": PASSWORD, "pin": 1}), 400, "pin"),
        (
            json!({"password": PASSWORD, "issued_on": "2030-01-01"}),
            400,
            "issued_on",
        ),
        (
            json!({"password": PASSWORD, "issued_on": "soon"}),
            400,
            "issued_on",
        ),
    ] {
        let (got, answer) = lab.call(post.clone(), issue.clone(), Some(&body)).await;
        assert_eq!(got, status, "{body} → {answer}");
        assert_eq!(answer["error"], "invalid_request");
        assert!(
            answer["error_description"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{body} → {answer}"
        );
    }
    let (got, answer) = lab
        .call(
            post.clone(),
            format!("{}/admin/identities/no-such-uuid/nemid", lab.control),
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!((got, answer["error"].as_str()), (404, Some("not_found")));
    issue_nemid(&lab, "anna.jensen").await;
    let (got, answer) = lab
        .call(
            post.clone(),
            issue.clone(),
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!((got, answer["error"].as_str()), (409, Some("conflict")));
    let orders = format!("{}/admin/identities/{uuid}/nemid/orders", lab.control);
    for body in [
        json!({"item": "key_ring", "channel": "support_line"}),
        json!({"item": "key_card"}),
        json!({"item": "key_card", "channel": "pigeon"}),
    ] {
        let (got, answer) = lab.call(post.clone(), orders.clone(), Some(&body)).await;
        assert_eq!(got, 400, "{body} → {answer}");
    }
    let redeem = format!(
        "{}/admin/identities/{uuid}/nemid/temporary-password/redeem",
        lab.control
    );
    // No temporary password was ever posted to this person, so any value is refused as a
    // conflict (not as a wrong password).
    let (got, answer) = lab
        .call(
            post.clone(),
            redeem,
            Some(&json!({"temporary_password": "never-posted-7731", "new_password": PASSWORD})),
        )
        .await;
    assert_eq!(
        (got, answer["error"].as_str()),
        (409, Some("conflict")),
        "{answer}"
    );
}

#[tokio::test]
async fn malformed_sector_key_app_and_migration_requests_get_json_errors() {
    let lab = lab_on("2022-06-01").await;
    let put = reqwest::Method::PUT;
    let sector = format!("{}/control/clients/sp-basic/sector", lab.control);
    let (got, answer) = lab
        .call(
            put.clone(),
            sector.clone(),
            Some(&json!({"sector": "casino"})),
        )
        .await;
    assert_eq!(got, 400);
    assert!(
        answer["error_description"]
            .as_str()
            .unwrap()
            .contains("casino")
    );
    let (got, _) = lab
        .call(put.clone(), sector.clone(), Some(&json!({"sectr": "bank"})))
        .await;
    assert_eq!(got, 400);
    let (got, _) = lab
        .call(
            put,
            format!("{}/control/clients/nobody/sector", lab.control),
            Some(&json!({"sector": "bank"})),
        )
        .await;
    assert_eq!(got, 404);
    let (got, answer) = lab.call(reqwest::Method::GET, sector, None).await;
    assert_eq!((got, answer["sector"].as_str()), (200, Some("public")));
    let (got, _) = lab.call(reqwest::Method::POST,
        format!("{}/control/clients", lab.control),
        Some(&json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "client_secret_basic", "sector": "casino"})),
    )
    .await;
    assert_eq!(got, 400);

    let approvals = format!("{}/nemid-app/some-device/approvals", lab.issuer);
    for body in [
        json!({"login_id": "x", "approval": "zz"}),
        json!({"login_id": "x"}),
        json!({"login_id": "x", "approval": "00".repeat(32), "extra": 1}),
    ] {
        let (got, answer) = lab
            .call(reqwest::Method::POST, approvals.clone(), Some(&body))
            .await;
        assert_eq!(got, 400, "{body} → {answer}");
        assert_eq!(answer["error"], "invalid_request");
    }
    let (got, _) = lab
        .call(
            reqwest::Method::POST,
            approvals,
            Some(&json!({"login_id": "no-such-login", "approval": "00".repeat(32)})),
        )
        .await;
    assert_eq!(got, 404);

    let migrate = format!("{}/mitid-dk/get-mitid-with-nemid", lab.issuer);
    for (body, status) in [
        (json!({"user_id": "anna.jensen"}), 400),
        (
            json!({"user_id": "anna.jensen", "password": PASSWORD, "key_number": "one"}),
            400,
        ),
        (json!({"user_id": "nobody.here", "password": PASSWORD}), 403),
    ] {
        let (got, answer) = lab
            .call(reqwest::Method::POST, migrate.clone(), Some(&body))
            .await;
        assert_eq!(got, status, "{body} → {answer}");
        assert!(answer["error"].is_string());
    }
    // A page of a login that does not exist is a plain 404, not a panic.
    let r = lab
        .http
        .get(format!("{}/nemid/unknown-login", lab.issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
