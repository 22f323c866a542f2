//! The rules the IdP itself must get right, each refused with the right OAuth error.

use serde_json::{Value, json};

use super::idp_support::{BASIC_SECRET, Lab, REDIRECT, pkce, redirect_params};

fn base(challenge: &str) -> Vec<(&str, &str)> {
    vec![
        ("response_type", "code"),
        ("client_id", "sp-basic"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "st"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("login_hint", "test:anna.jensen"),
    ]
}

fn with<'a>(
    mut params: Vec<(&'a str, &'a str)>,
    key: &'a str,
    value: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    params.retain(|(k, _)| *k != key);
    if let Some(v) = value {
        params.push((key, v));
    }
    params
}

#[tokio::test]
async fn bad_client_or_redirect_uri_gets_an_error_page_never_a_redirect() {
    let lab = Lab::start().await;
    let (_, challenge) = pkce();
    for (key, value) in [
        ("client_id", Some("nobody")),
        ("client_id", None),
        ("redirect_uri", Some("http://evil.example/callback")),
        ("redirect_uri", Some("http://127.0.0.1:9/callback/")),
        ("redirect_uri", Some("http://127.0.0.1:9/callback?x=1")),
        ("redirect_uri", Some("HTTP://127.0.0.1:9/callback")),
        ("redirect_uri", None),
    ] {
        let params = with(base(&challenge), key, value);
        let r = lab.authorize(&params).await;
        assert_eq!(
            r.status(),
            400,
            "{key}={value:?} must not redirect: {:?}",
            r.headers()
        );
        assert!(r.headers().get("location").is_none(), "{key}={value:?}");
        let text = r.text().await.unwrap();
        assert!(
            text.contains("<html"),
            "an HTML page for the citizen: {text}"
        );
    }
}

/// Each malformed authorization request, with the OAuth error its redirect must carry.
fn malformed_authorization_requests(challenge: &str) -> Vec<(Vec<(&str, &str)>, &'static str)> {
    vec![
        (
            with(base(challenge), "response_type", Some("token")),
            "unsupported_response_type",
        ),
        (
            with(base(challenge), "response_type", None),
            "invalid_request",
        ),
        (
            with(base(challenge), "scope", Some("mitid")),
            "invalid_scope",
        ),
        (
            with(base(challenge), "scope", Some("openid admin")),
            "invalid_scope",
        ),
        (
            with(base(challenge), "code_challenge", None),
            "invalid_request",
        ),
        (
            with(base(challenge), "code_challenge_method", Some("plain")),
            "invalid_request",
        ),
        (
            with(base(challenge), "code_challenge_method", None),
            "invalid_request",
        ),
        (
            with(base(challenge), "code_challenge", Some("short")),
            "invalid_request",
        ),
        (
            with(base(challenge), "prompt", Some("none login")),
            "invalid_request",
        ),
        (
            with(base(challenge), "prompt", Some("sometimes")),
            "invalid_request",
        ),
        (
            with(base(challenge), "max_age", Some("-1")),
            "invalid_request",
        ),
        (
            with(
                base(challenge),
                "acr_values",
                Some("https://example.com/gold"),
            ),
            "invalid_request",
        ),
        (
            with(base(challenge), "idp_params", Some("{not json")),
            "invalid_request",
        ),
        (
            with(
                base(challenge),
                "idp_params",
                Some("{\"loa_value\": \"ultra\"}"),
            ),
            "invalid_request",
        ),
        (
            with(base(challenge), "idp_params", Some("{\"unknown\": 1}")),
            "invalid_request",
        ),
        (
            with(base(challenge), "idp_values", Some("nemid-forever")),
            "invalid_request",
        ),
        (
            with(base(challenge), "response_mode", Some("fragment")),
            "invalid_request",
        ),
        (
            with(base(challenge), "request", Some("eyJ.x.y")),
            "request_not_supported",
        ),
        (
            with(
                base(challenge),
                "login_hint",
                Some("test:anna.jensen:dance"),
            ),
            "invalid_request",
        ),
        (
            with(base(challenge), "login_hint", Some("test:nobody.here")),
            "access_denied",
        ),
    ]
}

#[tokio::test]
async fn malformed_authorization_requests_redirect_with_the_right_error() {
    let lab = Lab::start().await;
    let (_, challenge) = pkce();
    for (params, error) in malformed_authorization_requests(&challenge) {
        let r = lab.authorize(&params).await;
        let p = redirect_params(&r);
        assert_eq!(
            p.get("error").map(String::as_str),
            Some(error),
            "{params:?} → {p:?}"
        );
        assert_eq!(
            p.get("state").map(String::as_str),
            Some("st"),
            "{params:?} → {p:?}"
        );
        assert!(!p.contains_key("code"), "{params:?} → {p:?}");
    }
    // A repeated parameter: RFC 6749 §3.1.
    let url = format!(
        "{}/authorize?response_type=code&client_id=sp-basic&redirect_uri={}&scope=openid&scope=mitid&state=st&code_challenge={challenge}&code_challenge_method=S256",
        lab.issuer,
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    let r = lab.http.get(url).send().await.unwrap();
    assert_eq!(
        r.status(),
        400,
        "repeated parameter: error page (the redirect cannot be trusted)"
    );
}

async fn token_error(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    assert_eq!(
        r.headers()["content-type"],
        "application/json",
        "status {status}"
    );
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn codes_are_single_use_and_a_replay_revokes_the_tokens() {
    let lab = Lab::start().await;
    let (code, verifier, _, _) = lab.login("sp-basic", "anna.jensen", &[]).await;
    let first: Value = lab
        .redeem("sp-basic", &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let access = first["access_token"].as_str().unwrap().to_owned();
    let (status, body) = token_error(lab.redeem("sp-basic", &code, &verifier).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let r = lab
        .http
        .get(format!("{}/userinfo", lab.issuer))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "the first access token is revoked after the replay"
    );
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn pkce_redirect_uri_and_client_binding_are_enforced() {
    let lab = Lab::start().await;
    // Wrong verifier.
    let (code, _, _, _) = lab.login("sp-basic", "anna.jensen", &[]).await;
    let (other_verifier, _) = pkce();
    let (s, b) = token_error(lab.redeem("sp-basic", &code, &other_verifier).await).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "{b}"
    );
    // Missing verifier.
    let (code, _, _, _) = lab.login("sp-basic", "anna.jensen", &[]).await;
    let r = lab
        .http
        .post(format!("{}/token", lab.issuer))
        .basic_auth("sp-basic", Some(BASIC_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    let (s, b) = token_error(r).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_request")),
        "{b}"
    );
    // Different redirect_uri.
    let (code, verifier, _, _) = lab.login("sp-basic", "anna.jensen", &[]).await;
    let r = lab
        .http
        .post(format!("{}/token", lab.issuer))
        .basic_auth("sp-basic", Some(BASIC_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/other"),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    let (s, b) = token_error(r).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "{b}"
    );
    // Code of another client (sp-rs shares the secret but not the code).
    let (code, verifier, _, _) = lab.login("sp-basic", "anna.jensen", &[]).await;
    let (s, b) = token_error(lab.redeem("sp-rs", &code, &verifier).await).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "{b}"
    );
}

#[tokio::test]
async fn client_authentication_is_required_and_must_match_the_registration() {
    let lab = Lab::start().await;
    let (code, verifier, _, _) = lab.login("sp-basic", "anna.jensen", &[]).await;
    let url = format!("{}/token", lab.issuer);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    // Wrong secret.
    let r = lab
        .http
        .post(&url)
        .basic_auth("sp-basic", Some("wrong-secret-0000000"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("www-authenticate"));
    let (s, b) = token_error(r).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_client")),
        "{b}"
    );
    // No authentication.
    let (s, b) = token_error(lab.http.post(&url).form(&form).send().await.unwrap()).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_client")),
        "{b}"
    );
    // Registered for basic, used post.
    let mut post = form.to_vec();
    post.push(("client_id", "sp-basic"));
    post.push(("client_secret", BASIC_SECRET));
    let (s, b) = token_error(lab.http.post(&url).form(&post).send().await.unwrap()).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_client")),
        "{b}"
    );
    // Two methods at once.
    let (s, b) = token_error(
        lab.http
            .post(&url)
            .basic_auth("sp-basic", Some(BASIC_SECRET))
            .form(&post)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_request")),
        "{b}"
    );
    // The code is still good after all the refused attempts.
    let r = lab.redeem("sp-basic", &code, &verifier).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn malformed_token_requests_get_rfc6749_errors() {
    let lab = Lab::start().await;
    let url = format!("{}/token", lab.issuer);
    let (s, b) = token_error(
        lab.http
            .post(&url)
            .basic_auth("sp-basic", Some(BASIC_SECRET))
            .form(&[("grant_type", "password")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("unsupported_grant_type")),
        "{b}"
    );
    let (s, b) = token_error(
        lab.http
            .post(&url)
            .basic_auth("sp-basic", Some(BASIC_SECRET))
            .form(&[("grant_type", "authorization_code"), ("code", "nonsense")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "{b}"
    );
    let (s, b) = token_error(
        lab.http
            .post(&url)
            .basic_auth("sp-basic", Some(BASIC_SECRET))
            .json(&json!({"grant_type": "authorization_code"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_request")),
        "JSON body: {b}"
    );
    let (s, b) = token_error(
        lab.http
            .post(&url)
            .basic_auth("sp-basic", Some(BASIC_SECRET))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=authorization_code&grant_type=authorization_code")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_request")),
        "repeated: {b}"
    );
    let big = "x".repeat(200_000);
    let r = lab
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type={big}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413, "bounded request size");
}

#[tokio::test]
async fn rate_limit_per_user_id_and_cpr_refuses_the_excess_only() {
    let lab = Lab::start_with(|c| {
        c.rate_limit = mitid_components::idp::RateLimit {
            max_attempts: 3,
            window_seconds: 3600,
        };
    })
    .await;
    let (_, challenge) = pkce();
    // An attacker floods logins naming Anna's CPR.
    let mut refused = 0;
    for _ in 0..6 {
        let params = json!({"cpr_hint": "0101901234"}).to_string();
        let mut p = with(base(&challenge), "login_hint", None);
        p.push(("idp_params", &params));
        let r = lab.authorize(&p).await;
        if r.status() == 302
            && redirect_params(&r).get("error").map(String::as_str)
                == Some("temporarily_unavailable")
        {
            refused += 1;
        }
    }
    assert_eq!(refused, 3, "3 allowed, 3 refused");
    // Anna's own login by user ID is also limited while the CPR window is full (the attack is
    // throttled), but her authenticators were never touched: no lock shows in the registry.
    let view: Value = lab
        .http
        .get(format!(
            "{}/admin/identities/by-user-id/anna.jensen",
            lab.control
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["blocked"], json!(false), "{view}");
    // Another person is not affected.
    let (code, _, _, _) = lab.login("sp-basic", "john.smith", &[]).await;
    assert!(!code.is_empty());
}

#[tokio::test]
async fn cpr_register_outage_gives_an_oidc_error_not_a_hang() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let cpr = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(30)))
        .mount(&cpr)
        .await;
    let cpr_url = cpr.uri();
    let lab = Lab::start_with(|c| {
        c.cpr_url = Some(cpr_url);
        c.outbound_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let (_, challenge) = pkce();
    let p = with(base(&challenge), "scope", Some("openid ssn"));
    let r = lab.authorize(&p).await;
    let q = redirect_params(&r);
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("temporarily_unavailable"),
        "{q:?}"
    );
    // Without the ssn scope the register is not needed.
    let r = lab.authorize(&base(&challenge)).await;
    assert!(redirect_params(&r).contains_key("code"));

    let failing = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&failing)
        .await;
    let failing_url = failing.uri();
    let lab = Lab::start_with(|c| c.cpr_url = Some(failing_url)).await;
    let r = lab.authorize(&p).await;
    assert_eq!(
        redirect_params(&r).get("error").map(String::as_str),
        Some("temporarily_unavailable")
    );
}

#[tokio::test]
async fn control_and_admin_routes_are_not_on_the_public_listener() {
    let lab = Lab::start().await;
    for path in ["/admin/identities", "/control/clients", "/control/scripts"] {
        let r = lab
            .http
            .post(format!("{}{path}", lab.issuer))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
}
