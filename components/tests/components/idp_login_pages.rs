//! The identity admin API and the citizen's HTML login pages, driven like a browser (cookie jar,
//! forms with CSRF tokens), with real device verification: a code display's TOTP code, and the
//! MitID app's signed approval.

use mitid_components::idp::jose::unb64;
use mitid_devices::{OtpSecret, Timestamp, TotpParams};
use serde_json::{Value, json};

use super::idp_support::{Lab, REDIRECT, browser, csrf, pkce, redirect_params};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Starts a login on the pages; returns the login page URL.
async fn start(lab: &Lab, browser: &reqwest::Client, challenge: &str) -> String {
    let r = browser
        .get(format!("{}/authorize", lab.issuer))
        .query(&[
            ("response_type", "code"),
            ("client_id", "sp-basic"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid mitid"),
            ("state", "page-state"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/login/", lab.issuer)),
        "{location}"
    );
    location
}

async fn post_form(
    browser: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser.post(url).form(form).send().await.unwrap()
}

async fn create_person(lab: &Lab, user_id: &str, cpr: &str) -> Value {
    let r = lab
        .control_post(
            "/admin/identities",
            &json!({"person": {"cpr": cpr}, "name": "Mette Frederiksen", "date_of_birth": "1977-11-19",
                    "ial": "substantial", "user_id": user_id}),
        )
        .await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

/// Blocking an identity makes its logins answer `mitid_identity_blocked`; unblocking clears the
/// flag.
async fn assert_block_refuses_logins_until_unblocked(lab: &Lab, uuid: &str) {
    let v: Value = lab
        .control_post(
            &format!("/admin/identities/{uuid}/block"),
            &json!({"reason": "stolen"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["blocked"], true);
    let (_, challenge) = pkce();
    let blocked = lab
        .authorize(&[
            ("response_type", "code"),
            ("client_id", "sp-basic"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", "test:mette.f"),
        ])
        .await;
    assert_eq!(
        redirect_params(&blocked)
            .get("error_description")
            .map(String::as_str),
        Some("mitid_identity_blocked")
    );
    let v: Value = lab
        .control_post(&format!("/admin/identities/{uuid}/unblock"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["blocked"], false);
}

#[tokio::test]
async fn admin_api_creates_finds_and_changes_identities() {
    let lab = Lab::start().await;
    let created = create_person(&lab, "mette.f", "1911771234").await;
    let uuid = created["uuid"].as_str().unwrap();
    for path in [
        format!("/admin/identities/{uuid}"),
        "/admin/identities/by-user-id/METTE.F".into(),
        "/admin/identities/by-cpr/1911771234".into(),
    ] {
        let found: Value = lab
            .http
            .get(format!("{}{path}", lab.control))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(found["uuid"], created["uuid"], "{path}: {found}");
    }
    // A second MitID for the same CPR, or a taken user ID, is a conflict.
    let r = lab
        .control_post("/admin/identities", &json!({"person": {"cpr": "1911771234"}, "name": "X", "date_of_birth": "1977-11-19", "ial": "low"}))
        .await;
    assert_eq!(r.status(), 409);
    let r = lab
        .control_post("/admin/identities", &json!({"person": {"p_code": "87654321"}, "name": "Y", "date_of_birth": "1977-11-19", "ial": "low", "user_id": "mette.f"}))
        .await;
    assert_eq!(r.status(), 409);
    let r = lab
        .control_post("/admin/identities", &json!({"person": {"cpr": "123"}, "name": "Z", "date_of_birth": "1977-11-19", "ial": "low"}))
        .await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text().await.unwrap().contains("person.cpr"),
        "names the field"
    );
    // IAL, then block and unblock.
    let v: Value = lab
        .http
        .put(format!("{}/admin/identities/{uuid}/ial", lab.control))
        .json(&json!({"ial": "high"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["ial"], "high");
    assert_block_refuses_logins_until_unblocked(&lab, uuid).await;
    // Temporary PIN and password reset.
    let pin: Value = lab
        .control_post(
            &format!("/admin/identities/{uuid}/temporary-pin"),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        pin["temporary_pin"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_digit()),
        "{pin}"
    );
    let reset: Value = lab
        .control_post(
            &format!("/admin/identities/{uuid}/password-reset"),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        reset["temporary_password"].as_str().unwrap().len() >= 8,
        "{reset}"
    );
    let r = lab
        .http
        .get(format!("{}/admin/identities/nope", lab.control))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

/// Issues a code display and the password "correct horse" to the identity; returns the code
/// display's TOTP secret.
async fn issue_code_display_and_password(lab: &Lab, uuid: &str) -> OtpSecret {
    let issued: Value = lab
        .control_post(
            &format!("/admin/identities/{uuid}/authenticators"),
            &json!({"kind": "code_display"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(issued["kind"], "code_display", "{issued}");
    let secret = OtpSecret::from_bytes(&unb64(issued["totp_secret"].as_str().unwrap()).unwrap());
    let r = lab
        .control_post(
            &format!("/admin/identities/{uuid}/authenticators"),
            &json!({"kind": "password", "password": "correct horse"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    secret
}

#[tokio::test]
async fn code_display_login_through_the_html_pages() {
    let lab = Lab::start().await;
    let created = create_person(&lab, "mette.f", "1911771234").await;
    let uuid = created["uuid"].as_str().unwrap();
    let secret = issue_code_display_and_password(&lab, uuid).await;

    let b = browser();
    let (verifier, challenge) = pkce();
    let page_url = start(&lab, &b, &challenge).await;
    let html = b.get(&page_url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("User ID"), "{html}");
    let token = csrf(&html);

    // A form without the right CSRF token is refused.
    let r = post_form(
        &b,
        &format!("{page_url}/user"),
        &[("csrf", "forged"), ("user_id", "mette.f")],
    )
    .await;
    assert_eq!(r.status(), 403);
    // Another browser (no cookie) cannot use the login either.
    let r = post_form(
        &browser(),
        &format!("{page_url}/user"),
        &[("csrf", &token), ("user_id", "mette.f")],
    )
    .await;
    assert_eq!(r.status(), 403);

    let html = post_form(
        &b,
        &format!("{page_url}/user"),
        &[("csrf", &token), ("user_id", "mette.f")],
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(html.contains("Code display"), "{html}");
    assert!(
        !html.contains("MitID chip"),
        "only her authenticators: {html}"
    );
    let html = post_form(
        &b,
        &format!("{page_url}/method"),
        &[("csrf", &token), ("method", "code_display")],
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(html.contains("Password"), "{html}");

    let code = TotpParams::default()
        .code_at(&secret, Timestamp::from_unix_secs(now()))
        .unwrap()
        .unwrap();
    let code = format!("{code:06}");
    // Wrong password first: not accepted, the login goes on.
    let html = post_form(
        &b,
        &format!("{page_url}/code"),
        &[
            ("csrf", &token),
            ("code", &code),
            ("password", "wrong horse"),
        ],
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(html.contains("class=\"msg\""), "{html}");
    let r = post_form(
        &b,
        &format!("{page_url}/code"),
        &[
            ("csrf", &token),
            ("code", &code),
            ("password", "correct horse"),
        ],
    )
    .await;
    let p = redirect_params(&r);
    assert_eq!(p.get("state").map(String::as_str), Some("page-state"));
    let tokens: Value = lab
        .redeem("sp-basic", &p["code"], &verifier)
        .await
        .json()
        .await
        .unwrap();
    let claims = super::idp_support::decode(tokens["id_token"].as_str().unwrap()).claims;
    assert_eq!(claims["sub"], json!(uuid));
    assert_eq!(
        claims["amr"],
        json!(["password", "code_token"]),
        "{claims:?}"
    );
}

#[tokio::test]
async fn cancel_on_the_pages_is_mitid_user_aborted() {
    let lab = Lab::start().await;
    let b = browser();
    let (_, challenge) = pkce();
    let page_url = start(&lab, &b, &challenge).await;
    let token = csrf(&b.get(&page_url).send().await.unwrap().text().await.unwrap());
    let r = post_form(&b, &format!("{page_url}/cancel"), &[("csrf", &token)]).await;
    let p = redirect_params(&r);
    assert_eq!(p.get("error").map(String::as_str), Some("access_denied"));
    assert_eq!(
        p.get("error_description").map(String::as_str),
        Some("mitid_user_aborted")
    );
    // Three unknown user IDs end the login, and a script keyed to that login records how it
    // ended (as it does for NemID and for a cancel).
    let r = lab
        .control_post(
            "/control/scripts",
            &json!({"match": {"client_id": "sp-basic", "state": "page-state"}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let script_id = r.json::<Value>().await.unwrap()["script_id"]
        .as_str()
        .expect("script_id")
        .to_owned();
    let page_url = start(&lab, &b, &challenge).await;
    let token = csrf(&b.get(&page_url).send().await.unwrap().text().await.unwrap());
    for _ in 0..2 {
        let r = post_form(
            &b,
            &format!("{page_url}/user"),
            &[("csrf", &token), ("user_id", "no.such.user")],
        )
        .await;
        assert_eq!(r.status(), 200);
    }
    let r = post_form(
        &b,
        &format!("{page_url}/user"),
        &[("csrf", &token), ("user_id", "no.such.user")],
    )
    .await;
    assert_eq!(
        redirect_params(&r)
            .get("error_description")
            .map(String::as_str),
        Some("mitid_authentication_failed")
    );
    let log = lab
        .get_json(format!("{}/control/scripts/{script_id}", lab.control))
        .await;
    assert_eq!(
        log["log"]["authorization_error"],
        json!("access_denied"),
        "{log}"
    );
}

/// Issues an app to the identity and activates it on a phone: the app redeems a proof from a
/// device-side grant, and the IdP checks the real activation code when it stores the
/// registration. Returns the activated app and its policy.
async fn activated_app(
    lab: &Lab,
    uuid: &str,
) -> (mitid_devices::MitidApp, mitid_devices::AppPolicy) {
    use mitid_devices::rand_core::SeedableRng;
    use mitid_devices::{
        ActivationGrant, AppPolicy, DeviceProfile, DeviceRng, EligibilityPolicy, MitidApp,
    };

    let issued: Value = lab
        .control_post(
            &format!("/admin/identities/{uuid}/authenticators"),
            &json!({"kind": "app"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let activation_code = issued["activation_code"]
        .as_str()
        .unwrap_or_else(|| panic!("{issued}"))
        .to_owned();

    // The citizen's phone: the app activates with a proof from a device-side grant (the IdP
    // checks the real activation code below) and yields the registration the IdP stores.
    let mut rng = DeviceRng::seed_from_u64(7);
    let t = Timestamp::from_unix_secs(now());
    let policy = AppPolicy::default();
    let mut app = MitidApp::install(
        DeviceProfile::Android {
            os_major: 14,
            nfc: true,
        },
        t,
        &EligibilityPolicy::default(),
    )
    .unwrap();
    let mut local = ActivationGrant::activation_code("mette.f", t, &policy, &mut rng);
    let code = local.reveal_code().to_owned();
    let proof = local.redeem(&code, t, &policy).unwrap();
    let registration = app
        .activate(&proof, "135790", t, &policy, &mut rng)
        .unwrap();
    // A wrong activation code is refused.
    let r = lab
        .control_post("/admin/app-activations", &json!({"code": "WRONGCODE1", "registration": registration, "device_name": "Mette's phone"}))
        .await;
    assert_eq!(r.status(), 400);
    let r = lab
        .control_post("/admin/app-activations", &json!({"code": activation_code, "registration": registration, "device_name": "Mette's phone"}))
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    (app, policy)
}

#[tokio::test]
async fn app_login_through_the_pages_with_a_signed_approval() {
    use mitid_devices::{Authorisation, Transaction};

    let lab = Lab::start().await;
    let created = create_person(&lab, "mette.f", "1911771234").await;
    let uuid = created["uuid"].as_str().unwrap();
    let (mut app, policy) = activated_app(&lab, uuid).await;

    let b = browser();
    let (verifier, challenge) = pkce();
    let page_url = start(&lab, &b, &challenge).await;
    let token = csrf(&b.get(&page_url).send().await.unwrap().text().await.unwrap());
    post_form(
        &b,
        &format!("{page_url}/user"),
        &[("csrf", &token), ("user_id", "mette.f")],
    )
    .await;
    let r = post_form(
        &b,
        &format!("{page_url}/method"),
        &[("csrf", &token), ("method", "app")],
    )
    .await;
    assert!(
        r.headers().contains_key("refresh"),
        "the waiting page refreshes itself"
    );
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"binding\""), "{html}");

    // The app fetches the pending transaction and approves with a swipe.
    let pending: Value = lab
        .http
        .get(format!("{}/app/pending/mette.f", lab.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let item = &pending["pending"][0];
    let login_id = item["login_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{pending}"))
        .to_owned();
    let tx: Transaction = serde_json::from_value(item["transaction"].clone()).unwrap();
    // What the browser showed is what the app compares with.
    let seen = tx.channel_binding;
    let approval = app
        .approve(
            &tx,
            &seen,
            Authorisation::Swipe,
            Timestamp::from_unix_secs(now()),
            &policy,
        )
        .unwrap();
    // A tampered approval is refused.
    let mut forged = approval;
    forged.signature.0[5] ^= 1;
    let r = lab
        .http
        .post(format!("{}/app/approvals/{login_id}", lab.issuer))
        .json(&json!({"approval": forged}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = lab
        .http
        .post(format!("{}/app/approvals/{login_id}", lab.issuer))
        .json(&json!({"approval": approval}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let r = b.get(&page_url).send().await.unwrap();
    let p = redirect_params(&r);
    let tokens: Value = lab
        .redeem("sp-basic", &p["code"], &verifier)
        .await
        .json()
        .await
        .unwrap();
    let claims = super::idp_support::decode(tokens["id_token"].as_str().unwrap()).claims;
    assert_eq!(claims["sub"], json!(uuid));
    assert_eq!(claims["amr"], json!(["code_app"]), "{claims:?}");
}

#[tokio::test]
async fn chip_login_through_the_pages_after_two_step_activation() {
    use mitid_components::service::LabClock;
    use mitid_devices::chip::{Assertion, AssertionRequest, Chip, ChipTransport, ClientOs};
    use mitid_devices::rand_core::SeedableRng;

    let clock = LabClock::fixed(now() as i64);
    let lab_clock = clock.clone();
    let lab = Lab::start_with(move |c| c.clock = lab_clock).await;
    let created = create_person(&lab, "mette.f", "1911771234").await;
    let uuid = created["uuid"].as_str().unwrap();
    lab.control_post(
        &format!("/admin/identities/{uuid}/authenticators"),
        &json!({"kind": "password", "password": "correct horse"}),
    )
    .await;
    let mut rng = mitid_devices::DeviceRng::seed_from_u64(11);
    let mut chip = Chip::manufacture("CHIP-1", &mut rng);
    let credential = chip.registration("127.0.0.1", Timestamp::from_unix_secs(clock.now() as u64));
    let issued: Value = lab
        .control_post(
            &format!("/admin/identities/{uuid}/authenticators"),
            &json!({"kind": "chip", "credential": credential}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = issued["authenticator_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{issued}"))
        .to_owned();
    let complete = format!("/admin/identities/{uuid}/authenticators/{id}/complete-chip-activation");
    assert_eq!(
        lab.control_post(&complete, &json!({})).await.status(),
        409,
        "second step too early"
    );
    clock
        .advance(25 * 3600)
        .expect("an in-memory clock always moves");
    assert_eq!(lab.control_post(&complete, &json!({})).await.status(), 200);

    let b = browser();
    let (verifier, challenge) = pkce();
    let page_url = start(&lab, &b, &challenge).await;
    let token = csrf(&b.get(&page_url).send().await.unwrap().text().await.unwrap());
    post_form(
        &b,
        &format!("{page_url}/user"),
        &[("csrf", &token), ("user_id", "mette.f")],
    )
    .await;
    let html = post_form(
        &b,
        &format!("{page_url}/method"),
        &[("csrf", &token), ("method", "chip")],
    )
    .await
    .text()
    .await
    .unwrap();
    let start_tag = "<pre id=\"challenge\">";
    let from = html.find(start_tag).unwrap_or_else(|| panic!("{html}")) + start_tag.len();
    let escaped = &html[from..from + html[from..].find("</pre>").unwrap()];
    let request: AssertionRequest =
        serde_json::from_str(&escaped.replace("&quot;", "\"").replace("&amp;", "&")).unwrap();
    let assertion: Assertion = chip
        .assert(&request, ChipTransport::Usb, ClientOs::Desktop, true)
        .unwrap();
    let answer = serde_json::to_string(&assertion).unwrap();
    let r = post_form(
        &b,
        &format!("{page_url}/chip"),
        &[
            ("csrf", &token),
            ("password", "correct horse"),
            ("assertion", &answer),
        ],
    )
    .await;
    let p = redirect_params(&r);
    let tokens: Value = lab
        .redeem("sp-basic", &p["code"], &verifier)
        .await
        .json()
        .await
        .unwrap();
    let claims = super::idp_support::decode(tokens["id_token"].as_str().unwrap()).claims;
    assert_eq!(
        claims["amr"],
        json!(["password", "u2f_token"]),
        "{claims:?}"
    );
    assert_eq!(
        claims["aal"],
        json!("https://data.gov.dk/concept/core/nsis/High"),
        "{claims:?}"
    );
}

#[test]
fn claim_profile_is_data_and_bad_profiles_name_the_field() {
    use mitid_components::idp::profile::{ClaimKey, ClaimProfile, MITID_BROKER_YAML};
    let profile = ClaimProfile::mitid_broker();
    assert_eq!(profile.name(ClaimKey::Cpr), Some("dk.cpr"));
    assert_eq!(profile.lifetimes.id_token_seconds, 300);
    assert_eq!(profile.lifetimes.access_token_seconds, 10_800);
    let renamed = MITID_BROKER_YAML.replace("cpr: dk.cpr", "cpr: ssn.number");
    assert_eq!(
        ClaimProfile::from_yaml(&renamed, "other.yaml")
            .unwrap()
            .name(ClaimKey::Cpr),
        Some("ssn.number")
    );
    let broken = MITID_BROKER_YAML.replace("  cpr: dk.cpr\n", "");
    let err = ClaimProfile::from_yaml(&broken, "broken.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("broken.yaml") && err.contains("scopes.ssn"),
        "{err}"
    );
    let zero = MITID_BROKER_YAML.replace("id_token_seconds: 300", "id_token_seconds: 0");
    let err = ClaimProfile::from_yaml(&zero, "zero.yaml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("lifetimes.id_token_seconds"), "{err}");
    let typo = MITID_BROKER_YAML.replace("idp_values:", "idp_valeus:");
    let err = ClaimProfile::from_yaml(&typo, "typo.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("typo.yaml") && err.contains("idp_valeus") && err.contains("line"),
        "{err}"
    );
}
