//! The code flow end to end over HTTP: discovery, each client authentication method, ES256 and
//! RS256 ID tokens with the claim profile, userinfo, headless behaviours, logout.

use mitid_components::idp::jose::{self, Alg};
use serde_json::{Value, json};

use super::idp_support::{BASIC_SECRET, Lab, POST_SECRET, REDIRECT, decode, redirect_params};

fn nsis(level: &str) -> String {
    format!("https://data.gov.dk/concept/core/nsis/{level}")
}

#[tokio::test]
async fn discovery_names_the_endpoints_and_the_profile() {
    let lab = Lab::start().await;
    let d: Value = lab
        .http
        .get(format!("{}/.well-known/openid-configuration", lab.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], json!(lab.issuer), "{d}");
    assert_eq!(
        d["token_endpoint"],
        json!(format!("{}/token", lab.issuer)),
        "{d}"
    );
    assert_eq!(
        d["code_challenge_methods_supported"],
        json!(["S256"]),
        "{d}"
    );
    for scope in ["openid", "mitid", "ssn", "nemid.pid"] {
        assert!(
            d["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(scope)),
            "{scope} in {d}"
        );
    }
    for claim in ["mitid.uuid", "dk.cpr", "nemid.pid", "loa", "amr"] {
        assert!(
            d["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(claim)),
            "{claim} in {d}"
        );
    }
    let jwks = lab.jwks().await;
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algs, ["ES256", "RS256"], "{jwks}");
}

async fn check_tokens(
    lab: &Lab,
    tokens: &Value,
    client_id: &str,
    nonce: &str,
    alg: &str,
) -> serde_json::Map<String, Value> {
    let id_token = tokens["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no id_token: {tokens}"));
    let jwt = decode(id_token);
    assert_eq!(jwt.alg(), alg, "{:?}", jwt.header);
    jwt.verify_with_jwks(&lab.jwks().await)
        .unwrap_or_else(|e| panic!("signature: {e}: {:?}", jwt.claims));
    let c = jwt.claims.clone();
    assert_eq!(c["iss"], json!(lab.issuer), "{c:?}");
    assert_eq!(c["aud"], json!(client_id), "{c:?}");
    assert_eq!(c["nonce"], json!(nonce), "{c:?}");
    let (iat, exp) = (c["iat"].as_u64().unwrap(), c["exp"].as_u64().unwrap());
    assert_eq!(exp - iat, 300, "ID token lives 5 minutes: {c:?}");
    assert_eq!(
        tokens["expires_in"],
        json!(10_800),
        "access token lives 3 hours: {tokens}"
    );
    assert_eq!(tokens["token_type"], json!("Bearer"));
    let at = tokens["access_token"].as_str().unwrap();
    assert_eq!(c["at_hash"], json!(jose::half_hash(at)), "{c:?}");
    c
}

#[tokio::test]
async fn code_flow_with_client_secret_basic_releases_the_profile_claims() {
    let lab = Lab::start().await;
    let (code, verifier, _, nonce) = lab.login("sp-basic", "anna.jensen", &[]).await;
    let response = lab.redeem("sp-basic", &code, &verifier).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let tokens: Value = response.json().await.unwrap();
    let c = check_tokens(&lab, &tokens, "sp-basic", &nonce, "ES256").await;
    assert_eq!(c["mitid.uuid"], c["sub"], "{c:?}");
    assert_eq!(c["dk.cpr"], json!("0101901234"), "{c:?}");
    assert_eq!(c["mitid.has_cpr"], json!(true), "{c:?}");
    assert_eq!(c["mitid.identity_name"], json!("Anna Jensen"), "{c:?}");
    assert_eq!(c["mitid.date_of_birth"], json!("1990-01-01"), "{c:?}");
    assert_eq!(c["nemid.pid"], json!("9208-2002-2-123456789012"), "{c:?}");
    assert_eq!(c["idp"], json!("mitid"), "{c:?}");
    assert_eq!(c["identity_type"], json!("private"), "{c:?}");
    assert_eq!(c["loa"], json!(nsis("Substantial")), "{c:?}");
    assert_eq!(c["ial"], json!(nsis("Substantial")), "{c:?}");
    assert_eq!(c["aal"], json!(nsis("Substantial")), "{c:?}");
    assert_eq!(c["amr"], json!(["code_app"]), "{c:?}");
    assert!(c["mitid.age"].as_u64().is_some_and(|a| a >= 30), "{c:?}");
    assert!(c["mitid.transaction_id"].as_str().is_some(), "{c:?}");

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
    assert_eq!(info["sub"], c["sub"], "{info}");
    assert_eq!(info["dk.cpr"], json!("0101901234"), "{info}");
}

#[tokio::test]
async fn code_flow_with_client_secret_post_and_rs256() {
    let lab = Lab::start().await;
    let (code, verifier, _, nonce) = lab
        .login("sp-post", "john.smith", &[("scope", "openid mitid")])
        .await;
    let tokens: Value = lab
        .http
        .post(format!("{}/token", lab.issuer))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
            ("client_id", "sp-post"),
            ("client_secret", POST_SECRET),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c = check_tokens(&lab, &tokens, "sp-post", &nonce, "ES256").await;
    assert_eq!(c["mitid.has_cpr"], json!(false), "P-code identity: {c:?}");
    assert!(
        c.get("dk.cpr").is_none(),
        "no CPR without the ssn scope and without a CPR: {c:?}"
    );

    let (code, verifier, _, nonce) = lab.login("sp-rs", "anna.jensen", &[]).await;
    let tokens: Value = lab
        .redeem("sp-rs", &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    check_tokens(&lab, &tokens, "sp-rs", &nonce, "RS256").await;
}

#[tokio::test]
async fn code_flow_with_private_key_jwt() {
    let lab = Lab::start().await;
    let (code, verifier, _, nonce) = lab.login("sp-jwt", "anna.jensen", &[]).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let assertion = jose::sign_jwt(
        &lab.client_key,
        "JWT",
        &json!({"iss": "sp-jwt", "sub": "sp-jwt", "aud": format!("{}/token", lab.issuer),
                "exp": now + 60, "iat": now, "jti": "assertion-1"}),
    )
    .unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let response = lab
        .http
        .post(format!("{}/token", lab.issuer))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    check_tokens(&lab, &tokens, "sp-jwt", &nonce, "ES256").await;

    // The same assertion again (new code) is a replay.
    let (code, verifier, _, _) = lab.login("sp-jwt", "anna.jensen", &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let response = lab
        .http
        .post(format!("{}/token", lab.issuer))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client", "{body}");
}

#[tokio::test]
async fn headless_behaviours_answer_as_named() {
    let lab = Lab::start().await;
    for (behaviour, error, description) in [
        ("abort", "access_denied", "mitid_user_aborted"),
        ("wrong_pin", "access_denied", "mitid_wrong_pin"),
        ("timeout", "access_denied", "mitid_approval_timeout"),
        ("server_error", "server_error", "the MitID broker failed"),
    ] {
        let (_, challenge) = super::idp_support::pkce();
        let hint = format!("test:anna.jensen:{behaviour}");
        let response = lab
            .authorize(&[
                ("response_type", "code"),
                ("client_id", "sp-basic"),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
                ("state", "s1"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("login_hint", &hint),
            ])
            .await;
        let p = redirect_params(&response);
        assert_eq!(
            p.get("error").map(String::as_str),
            Some(error),
            "{behaviour}: {p:?}"
        );
        assert_eq!(
            p.get("error_description").map(String::as_str),
            Some(description),
            "{behaviour}: {p:?}"
        );
        assert_eq!(p.get("state").map(String::as_str), Some("s1"), "{p:?}");
        assert_eq!(p.get("iss"), Some(&lab.issuer), "{p:?}");
    }
    // Authenticator behaviours set amr and aal.
    for (behaviour, amr, aal) in [
        (
            "code_display",
            json!(["password", "code_token"]),
            "Substantial",
        ),
        (
            "audio_code_reader",
            json!(["password", "code_reader"]),
            "Substantial",
        ),
        ("chip", json!(["password", "u2f_token"]), "High"),
        ("app_pin", json!(["code_app_enhanced"]), "High"),
        ("password_only", json!(["password"]), "Low"),
    ] {
        let user = format!("helle.nielsen:{behaviour}");
        let (code, verifier, _, _) = lab.login("sp-basic", &user, &[]).await;
        let tokens: Value = lab
            .redeem("sp-basic", &code, &verifier)
            .await
            .json()
            .await
            .unwrap();
        let c = decode(tokens["id_token"].as_str().unwrap()).claims;
        assert_eq!(c["amr"], amr, "{behaviour}: {c:?}");
        assert_eq!(c["aal"], json!(nsis(aal)), "{behaviour}: {c:?}");
        assert_eq!(c["ial"], json!(nsis("High")), "{behaviour}: {c:?}");
    }
}

#[tokio::test]
async fn requested_loa_is_reached_or_refused() {
    let lab = Lab::start().await;
    // High asked, High identity: the app is used with its PIN.
    let (code, verifier, _, _) = lab
        .login(
            "sp-basic",
            "helle.nielsen",
            &[("acr_values", &nsis("High"))],
        )
        .await;
    let tokens: Value = lab
        .redeem("sp-basic", &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let c = decode(tokens["id_token"].as_str().unwrap()).claims;
    assert_eq!(c["loa"], json!(nsis("High")), "{c:?}");
    assert_eq!(c["acr"], json!(nsis("High")), "{c:?}");
    // High asked of a Substantial identity: refused, no code.
    let (_, challenge) = super::idp_support::pkce();
    let params = json!({"loa_value": nsis("High")}).to_string();
    let response = lab
        .authorize(&[
            ("response_type", "code"),
            ("client_id", "sp-basic"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", "test:anna.jensen"),
            ("idp_params", &params),
        ])
        .await;
    let p = redirect_params(&response);
    assert_eq!(
        p.get("error").map(String::as_str),
        Some("access_denied"),
        "{p:?}"
    );
    assert!(
        p["error_description"].starts_with("mitid_insufficient_loa"),
        "{p:?}"
    );
    assert!(!p.contains_key("code"), "{p:?}");
}

#[tokio::test]
async fn sso_prompt_none_and_logout_with_backchannel() {
    let lab = Lab::start().await;
    let cookie_client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let (_, challenge) = super::idp_support::pkce();
    let base = [
        ("response_type", "code"),
        ("client_id", "sp-basic"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let url = format!("{}/authorize", lab.issuer);
    // prompt=none without a session: login_required.
    let mut params = base.to_vec();
    params.push(("prompt", "none"));
    let r = cookie_client.get(&url).query(&params).send().await.unwrap();
    assert_eq!(
        redirect_params(&r).get("error").map(String::as_str),
        Some("login_required")
    );
    // Log in headlessly: the browser gets an SSO cookie.
    let mut params = base.to_vec();
    params.push(("login_hint", "test:anna.jensen"));
    let r = cookie_client.get(&url).query(&params).send().await.unwrap();
    assert!(redirect_params(&r).contains_key("code"));
    // prompt=none now succeeds by SSO.
    let mut params = base.to_vec();
    params.push(("prompt", "none"));
    let r = cookie_client.get(&url).query(&params).send().await.unwrap();
    let p = redirect_params(&r);
    let code = p
        .get("code")
        .unwrap_or_else(|| panic!("SSO code: {p:?}"))
        .clone();
    let _ = code;
    // RP-initiated logout ends the session and redirects to the registered URI with state.
    let r = cookie_client
        .get(format!("{}/logout", lab.issuer))
        .query(&[
            ("client_id", "sp-basic"),
            ("post_logout_redirect_uri", "http://127.0.0.1:9/bye"),
            ("state", "bye1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "http://127.0.0.1:9/bye?state=bye1");
    // Unregistered post-logout URI: error page, not a redirect.
    let r = cookie_client
        .get(format!("{}/logout", lab.issuer))
        .query(&[
            ("client_id", "sp-basic"),
            ("post_logout_redirect_uri", "http://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // After logout prompt=none fails again.
    let mut params = base.to_vec();
    params.push(("prompt", "none"));
    let r = cookie_client.get(&url).query(&params).send().await.unwrap();
    assert_eq!(
        redirect_params(&r).get("error").map(String::as_str),
        Some("login_required")
    );
}

#[tokio::test]
async fn backchannel_logout_token_reaches_the_client() {
    use std::sync::{Arc, Mutex};
    // A tiny relying-party endpoint that records the logout token.
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/backchannel",
        axum::routing::post(move |body: String| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rp = mitid_components::service::spawn(listener, app).unwrap();
    let rp_url = format!("{}/backchannel", rp.url());
    let lab = Lab::start().await;
    let register = lab
        .control_post(
            "/control/clients",
            &json!({"client_id": "sp-bcl", "client_secret": BASIC_SECRET, "redirect_uris": [REDIRECT],
                    "token_endpoint_auth_method": "client_secret_basic", "backchannel_logout_uri": rp_url}),
        )
        .await;
    assert_eq!(register.status(), 201);
    let (code, verifier, _, _) = lab.login("sp-bcl", "anna.jensen", &[]).await;
    let tokens: Value = lab
        .redeem("sp-bcl", &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let id = decode(tokens["id_token"].as_str().unwrap()).claims;
    let deliveries: Value = lab
        .control_post(
            "/control/backchannel-logout",
            &json!({"user_id": "anna.jensen"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(deliveries[0]["status"], json!(200), "{deliveries}");
    let bodies = received.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let token = bodies[0].strip_prefix("logout_token=").expect("form field");
    let jwt = decode(token);
    jwt.verify_with_jwks(&lab.jwks().await).unwrap();
    assert_eq!(jwt.header["typ"], json!("logout+jwt"));
    assert_eq!(jwt.claims["sid"], id["sid"], "{:?}", jwt.claims);
    assert_eq!(jwt.claims["sub"], id["sub"]);
    assert!(jwt.claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(jwt.claims.get("nonce").is_none());
    rp.shutdown().await;
}

#[tokio::test]
async fn same_seed_same_jwks_and_alg_is_per_client() {
    let a = Lab::start().await;
    let b = Lab::start().await;
    assert_eq!(a.jwks().await, b.jwks().await, "key seed 1 twice");
    let jwks = a.jwks().await;
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("d").is_none()),
        "no private parts: {jwks}"
    );
    let _ = Alg::RS256;
}
