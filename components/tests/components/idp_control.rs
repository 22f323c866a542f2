//! The control API: each scripted misbehaviour produces the bad token it names (decoded and
//! checked here), scripts are keyed to one login, key rotation and endpoint faults work.

use hmac::Mac;
use mitid_components::idp::jose::Unverified;
use serde_json::{Value, json};

use super::idp_support::{Lab, REDIRECT, decode, pkce, redirect_params};

/// Runs one scripted login for `client` (keyed by client + state) and returns the token response.
async fn scripted(lab: &Lab, client: &str, script: Value) -> (Value, String, String) {
    let state = format!("state-{}", super::idp_support::rand_text());
    let mut body = script;
    body["match"] = json!({"client_id": client, "state": state});
    if body.get("user_id").is_none() {
        body["user_id"] = json!("anna.jensen");
    }
    let r = lab.control_post("/control/scripts", &body).await;
    assert_eq!(r.status(), 201, "script accepted: {body}");
    let script_id = r.json::<Value>().await.unwrap()["script_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (verifier, challenge) = pkce();
    let response = lab
        .authorize(&[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", REDIRECT),
            ("scope", "openid mitid"),
            ("state", &state),
            ("nonce", "the-nonce"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            (
                "acr_values",
                "https://data.gov.dk/concept/core/nsis/Substantial",
            ),
        ])
        .await;
    let p = redirect_params(&response);
    let code = p
        .get("code")
        .unwrap_or_else(|| panic!("scripted login gave no code: {p:?} for {body}"));
    let tokens: Value = lab
        .redeem(client, code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    (tokens, script_id, state)
}

async fn id_token_with(lab: &Lab, fault: Value) -> Unverified {
    let (tokens, _, _) = scripted(lab, "sp-basic", json!({"id_token": [fault]})).await;
    decode(
        tokens["id_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no id_token: {tokens}")),
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The `hs256_public_key` fault's token verifies as HMAC keyed with the published ES256 key's
/// PEM (what a confused verifier does).
async fn assert_hs256_keyed_with_published_pem(lab: &Lab, jwks: &Value) {
    let (tokens, _, _) = scripted(
        lab,
        "sp-basic",
        json!({"id_token": [{"kind": "hs256_public_key"}]}),
    )
    .await;
    let token = tokens["id_token"].as_str().unwrap();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let es = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alg"] == "ES256")
        .unwrap();
    let x = mitid_components::idp::jose::unb64(es["x"].as_str().unwrap()).unwrap();
    let y = mitid_components::idp::jose::unb64(es["y"].as_str().unwrap()).unwrap();
    let mut sec1 = vec![4u8];
    sec1.extend(x);
    sec1.extend(y);
    let key = p256::PublicKey::from_sec1_bytes(&sec1).unwrap();
    let pem =
        p256::pkcs8::EncodePublicKey::to_public_key_pem(&key, p256::pkcs8::LineEnding::LF).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(pem.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    assert_eq!(
        mitid_components::idp::jose::b64(&mac.finalize().into_bytes()),
        sig,
        "HMAC over the standard PEM of the published key"
    );
}

#[tokio::test]
async fn each_id_token_fault_produces_the_token_it_names() {
    let lab = Lab::start().await;
    let jwks = lab.jwks().await;

    let t = id_token_with(&lab, json!({"kind": "foreign_key"})).await;
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == t.header["kid"]),
        "published kid"
    );
    assert!(
        t.verify_with_jwks(&jwks).is_err(),
        "must not verify with the published key"
    );

    let t = id_token_with(&lab, json!({"kind": "alg_none"})).await;
    assert_eq!(t.alg(), "none");

    let t = id_token_with(&lab, json!({"kind": "hs256_public_key"})).await;
    assert_eq!(t.alg(), "HS256");
    assert_hs256_keyed_with_published_pem(&lab, &jwks).await;

    let t = id_token_with(&lab, json!({"kind": "bad_signature"})).await;
    assert!(t.verify_with_jwks(&jwks).is_err());

    let t = id_token_with(&lab, json!({"kind": "wrong_iss"})).await;
    assert_ne!(t.claims["iss"], json!(lab.issuer));
    assert!(t.verify_with_jwks(&jwks).is_ok(), "otherwise valid");

    let t = id_token_with(&lab, json!({"kind": "wrong_aud", "aud": "someone-else"})).await;
    assert_eq!(t.claims["aud"], json!("someone-else"));

    let t = id_token_with(&lab, json!({"kind": "extra_aud_without_azp"})).await;
    assert_eq!(
        t.claims["aud"].as_array().map(Vec::len),
        Some(2),
        "{:?}",
        t.claims
    );
    assert!(t.claims.get("azp").is_none());

    let t = id_token_with(&lab, json!({"kind": "expired"})).await;
    assert!(
        t.claims["exp"].as_u64().unwrap() + 300 <= now() + 5,
        "{:?}",
        t.claims
    );

    let t = id_token_with(&lab, json!({"kind": "future_iat"})).await;
    assert!(
        t.claims["iat"].as_u64().unwrap() >= now() + 3000,
        "{:?}",
        t.claims
    );

    let t = id_token_with(&lab, json!({"kind": "clock_skew", "seconds": -120})).await;
    let iat = t.claims["iat"].as_u64().unwrap();
    assert!(iat + 100 < now() && iat + 200 > now(), "{:?}", t.claims);

    let t = id_token_with(&lab, json!({"kind": "missing_nonce"})).await;
    assert!(t.claims.get("nonce").is_none());

    let t = id_token_with(&lab, json!({"kind": "wrong_nonce"})).await;
    assert!(t.claims["nonce"] != json!("the-nonce"), "{:?}", t.claims);

    let t = id_token_with(&lab, json!({"kind": "missing_sub"})).await;
    assert!(t.claims.get("sub").is_none());

    let t = id_token_with(&lab, json!({"kind": "lower_loa"})).await;
    assert_eq!(
        t.claims["loa"],
        json!("https://data.gov.dk/concept/core/nsis/Low"),
        "asked Substantial"
    );
    assert_eq!(
        t.claims["acr"],
        json!("https://data.gov.dk/concept/core/nsis/Low")
    );

    let t = id_token_with(&lab, json!({"kind": "omit_kid"})).await;
    assert!(t.header.get("kid").is_none());
    assert!(t.verify_with_jwks(&jwks).is_ok(), "right key, no kid");

    let t = id_token_with(&lab, json!({"kind": "unknown_kid"})).await;
    assert!(t.verify_with_jwks(&jwks).is_err());

    let t = id_token_with(
        &lab,
        json!({"kind": "set_claims", "claims": {"idp": "nemid", "mitid.uuid": null}}),
    )
    .await;
    assert_eq!(t.claims["idp"], json!("nemid"));
    assert!(t.claims.get("mitid.uuid").is_none());
}

#[tokio::test]
async fn userinfo_faults_and_script_log() {
    let lab = Lab::start().await;
    let (tokens, script_id, _) = scripted(
        &lab,
        "sp-basic",
        json!({"userinfo": [{"kind": "sub_mismatch"}]}),
    )
    .await;
    let id = decode(tokens["id_token"].as_str().unwrap());
    let info: Value = lab
        .http
        .get(format!("{}/userinfo", lab.issuer))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(info["sub"], id.claims["sub"], "{info}");
    let log: Value = lab
        .http
        .get(format!("{}/control/scripts/{script_id}", lab.control))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["log"]["matched"], json!(true), "{log}");
    assert_eq!(log["log"]["tokens_issued"], json!(1), "{log}");
    assert_eq!(log["log"]["userinfo_requests"], json!(1), "{log}");
}

#[tokio::test]
async fn scripts_are_keyed_to_one_login_never_global() {
    let lab = Lab::start().await;
    let state = "keyed-state";
    let r = lab
        .control_post(
            "/control/scripts",
            &json!({"match": {"client_id": "sp-basic", "state": state}, "user_id": "anna.jensen",
                    "id_token": [{"kind": "alg_none"}]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    // Another login (different state) of the same client is not affected.
    let (code, verifier, _, _) = lab.login("sp-basic", "anna.jensen", &[]).await;
    let tokens: Value = lab
        .redeem("sp-basic", &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(decode(tokens["id_token"].as_str().unwrap()).alg(), "ES256");
    // A test-user script applies to that user's next headless login only.
    let r = lab
        .control_post(
            "/control/scripts",
            &json!({"match": {"test_user": "john.smith"}, "behaviour": "abort"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let (_, challenge) = pkce();
    let params = [
        ("response_type", "code"),
        ("client_id", "sp-basic"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("login_hint", "test:john.smith"),
    ];
    let first = redirect_params(&lab.authorize(&params).await);
    assert_eq!(
        first.get("error_description").map(String::as_str),
        Some("mitid_user_aborted"),
        "{first:?}"
    );
    let second = redirect_params(&lab.authorize(&params).await);
    assert!(second.contains_key("code"), "script used once: {second:?}");
    // Bad scripts are refused with the field named.
    let r = lab
        .control_post(
            "/control/scripts",
            &json!({"match": {}, "user_id": "anna.jensen"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = lab
        .control_post(
            "/control/scripts",
            &json!({"match": {"test_user": "x"}, "id_token": [{"kind": "teleport"}]}),
        )
        .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn token_endpoint_fault_per_login_and_global_faults() {
    let lab = Lab::start().await;
    let state = "failing-token";
    lab.control_post(
        "/control/scripts",
        &json!({"match": {"client_id": "sp-basic", "state": state}, "user_id": "anna.jensen",
                "token_endpoint": {"status": 503}}),
    )
    .await;
    let (verifier, challenge) = pkce();
    let p = redirect_params(
        &lab.authorize(&[
            ("response_type", "code"),
            ("client_id", "sp-basic"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", state),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .await,
    );
    let r = lab.redeem("sp-basic", &p["code"], &verifier).await;
    assert_eq!(r.status(), 503);

    let put = lab
        .http
        .put(format!("{}/control/faults/jwks", lab.control))
        .json(&json!({"status": 500}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    let r = lab
        .http
        .get(format!("{}/jwks", lab.issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    lab.http
        .delete(format!("{}/control/faults/jwks", lab.control))
        .send()
        .await
        .unwrap();
    let r = lab
        .http
        .get(format!("{}/jwks", lab.issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = lab
        .http
        .put(format!("{}/control/faults/coffee", lab.control))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn key_rotation_changes_the_kid_and_can_keep_the_old_key() {
    let lab = Lab::start().await;
    let before = lab.jwks().await;
    let (tokens, _, _) = scripted(&lab, "sp-basic", json!({})).await;
    let old_token = tokens["id_token"].as_str().unwrap().to_owned();
    let r = lab
        .control_post("/control/keys/rotate", &json!({"keep_previous": true}))
        .await;
    assert_eq!(r.status(), 200);
    let kept = lab.jwks().await;
    assert_eq!(kept["keys"].as_array().unwrap().len(), 4, "{kept}");
    decode(&old_token)
        .verify_with_jwks(&kept)
        .expect("old token still verifies while the old key is kept");
    let (tokens, _, _) = scripted(&lab, "sp-basic", json!({})).await;
    let new = decode(tokens["id_token"].as_str().unwrap());
    assert!(
        !before["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == new.header["kid"]),
        "new kid"
    );
    new.verify_with_jwks(&kept).unwrap();
    lab.control_post("/control/keys/rotate", &json!({})).await;
    let after = lab.jwks().await;
    assert_eq!(after["keys"].as_array().unwrap().len(), 2, "{after}");
    assert!(decode(&old_token).verify_with_jwks(&after).is_err());
}

#[tokio::test]
async fn client_registration_checks_its_fields() {
    let lab = Lab::start().await;
    let r = lab
        .control_post("/control/clients", &json!({"redirect_uris": ["http://127.0.0.1:5/cb"], "token_endpoint_auth_method": "client_secret_post"}))
        .await;
    assert_eq!(r.status(), 201);
    let c: Value = r.json().await.unwrap();
    assert!(
        c["client_id"].as_str().unwrap().starts_with("client-"),
        "{c}"
    );
    assert!(c["client_secret"].as_str().unwrap().len() >= 16, "{c}");
    for bad in [
        json!({"redirect_uris": [], "token_endpoint_auth_method": "client_secret_post"}),
        json!({"redirect_uris": ["not a url"], "token_endpoint_auth_method": "client_secret_post"}),
        json!({"redirect_uris": ["http://x/cb#frag"], "token_endpoint_auth_method": "client_secret_post"}),
        json!({"redirect_uris": ["http://x/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
        json!({"redirect_uris": ["http://x/cb"], "token_endpoint_auth_method": "magic"}),
    ] {
        let r = lab.control_post("/control/clients", &bad).await;
        assert_eq!(r.status(), 400, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{body}");
    }
    // A client's key and id are checked too, and the error names the member at fault.
    let key = |x: &str, y: &str| {
        json!({"redirect_uris": ["http://x/cb"], "token_endpoint_auth_method": "private_key_jwt",
               "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": x, "y": y}]}})
    };
    let a32 = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
    for (bad, names) in [
        (key(a32, "!!"), "jwks.keys[0]: `y` is not base64url"),
        (
            key(a32, a32),
            "jwks.keys[0]: `x` and `y` do not name a point on the P-256 curve",
        ),
        (key(a32, "AQ"), "jwks.keys[0]: `y` must encode 32 bytes"),
        (
            json!({"client_id": "../x", "redirect_uris": ["http://x/cb"], "token_endpoint_auth_method": "client_secret_post"}),
            "client_id: \"../x\"",
        ),
        (
            json!({"client_id": "a/b", "redirect_uris": ["http://x/cb"], "token_endpoint_auth_method": "client_secret_post"}),
            "client_id: \"a/b\"",
        ),
    ] {
        let r = lab.control_post("/control/clients", &bad).await;
        assert_eq!(r.status(), 400, "{bad}");
        let body: Value = r.json().await.unwrap();
        let text = body["error_description"].as_str().unwrap_or_default();
        assert!(
            text.contains(names),
            "{bad}: {text:?} does not say {names:?}"
        );
    }
}

/// `GET /control/scripts/{id}/calls`: the service provider's token, userinfo and JWKS calls in
/// the script's login, each with what the broker answered; another login's calls are not there.
#[tokio::test]
async fn a_script_records_the_service_providers_calls_and_the_answers() {
    let lab = Lab::start().await;
    let (tokens, script_id, _) = scripted(
        &lab,
        "sp-basic",
        json!({"id_token": [{"kind": "alg_none"}]}),
    )
    .await;
    let (other_tokens, other_id, _) = scripted(&lab, "sp-basic", json!({})).await;
    let access = tokens["access_token"].as_str().expect("an access token");
    let userinfo = lab
        .http
        .get(format!("{}/userinfo", lab.issuer))
        .bearer_auth(access)
        .send()
        .await
        .expect("userinfo answers");
    assert_eq!(userinfo.status(), 200);
    let _ = lab.jwks().await;
    let (status, calls) = lab
        .control_call(
            reqwest::Method::GET,
            &format!("/control/scripts/{script_id}/calls"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{calls}");
    let paths: Vec<&str> = calls
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["path"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(paths, ["/token", "/userinfo", "/jwks"], "{calls}");
    let token = &calls[0];
    assert_eq!(token["method"], "POST");
    assert_eq!(token["status"], 200);
    let served: Value =
        serde_json::from_str(token["response_body"].as_str().expect("a body")).expect("JSON");
    assert_eq!(
        served["id_token"], tokens["id_token"],
        "what the broker served"
    );
    assert!(
        token["request_body"]
            .as_str()
            .is_some_and(|b| b.contains("grant_type=authorization_code")),
        "{token}"
    );
    // The other login made only its token call (and the JWKS fetch, which names no login).
    let (_, other) = lab
        .control_call(
            reqwest::Method::GET,
            &format!("/control/scripts/{other_id}/calls"),
            None,
        )
        .await;
    let other_paths: Vec<&str> = other
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["path"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(other_paths, ["/token", "/jwks"], "{other}");
    assert!(other_tokens["id_token"].is_string());
    let (status, _) = lab
        .control_call(reqwest::Method::GET, "/control/scripts/nope/calls", None)
        .await;
    assert_eq!(status, 404);
}
