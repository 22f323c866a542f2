//! Business (MitID Erhverv) logins at the broker over HTTP: `idp_values=mitid_erhverv`, the
//! company chosen by test hint, script or default, the professional claims, and the refusals.

// MitID, IdP and CVR are names in these docs, not code.
#![allow(clippy::doc_markdown)]

use mitid_components::cvr::CvrRegister;
use serde_json::{Value, json};

use super::idp_support::{Lab, REDIRECT, pkce, redirect_params};

/// A lab whose Anna acts for the register's first two companies; answers their CVR numbers.
async fn lab() -> (Lab, [String; 2]) {
    let companies = CvrRegister::embedded().unwrap().companies().to_vec();
    let cvrs = [companies[0].cvr.clone(), companies[1].cvr.clone()];
    let for_anna = cvrs.to_vec();
    let lab = Lab::start_with(move |config| {
        config
            .organisations
            .insert("anna.jensen".to_owned(), for_anna);
    })
    .await;
    (lab, cvrs)
}

const BUSINESS: [(&str, &str); 2] = [
    ("idp_values", "mitid_erhverv"),
    ("scope", "openid mitid ssn nemlogin"),
];

async fn claims(lab: &Lab, hint: &str, extra: &[(&str, &str)]) -> serde_json::Map<String, Value> {
    let (code, verifier, _, _) = lab.login("sp-basic", hint, extra).await;
    lab.id_token_claims(&code, &verifier).await
}

#[tokio::test]
async fn a_business_login_carries_the_chosen_company_and_the_person_stays_the_sub() {
    let (lab, [first, second]) = lab().await;
    let private = claims(&lab, "anna.jensen", &[("scope", "openid mitid nemlogin")]).await;
    assert_eq!(private["identity_type"], json!("private"), "{private:?}");
    assert_eq!(private["idp"], json!("mitid"), "{private:?}");
    assert!(
        !private.keys().any(|k| k.starts_with("nemlogin.")),
        "a private login names no company: {private:?}"
    );

    let default = claims(&lab, "anna.jensen", &BUSINESS).await;
    assert_eq!(
        default["identity_type"],
        json!("professional"),
        "{default:?}"
    );
    assert_eq!(default["idp"], json!("mitid_erhverv"), "{default:?}");
    assert_eq!(
        default["nemlogin.cvr"],
        json!(first),
        "the first company by default"
    );
    assert_eq!(default["sub"], private["sub"], "the sub stays the person's");
    assert_eq!(default["mitid.uuid"], private["mitid.uuid"]);
    let professional_id = default["nemlogin.persistent_professional_id"]
        .as_str()
        .expect("a persistent professional id");
    assert!(professional_id.starts_with("urn:uuid:"), "{default:?}");
    assert_ne!(Some(professional_id), private["sub"].as_str());
    assert!(default["nemlogin.org_name"].is_string(), "{default:?}");
    assert!(
        default["nemlogin.privileges"]
            .as_array()
            .is_some_and(|p| !p.is_empty()),
        "{default:?}"
    );

    let hinted = format!("anna.jensen:approve:cvr={second}");
    let other = claims(&lab, &hinted, &BUSINESS).await;
    assert_eq!(other["nemlogin.cvr"], json!(second), "{other:?}");
    assert_ne!(
        other["nemlogin.persistent_professional_id"],
        default["nemlogin.persistent_professional_id"],
        "one professional id per company"
    );
    let again = claims(&lab, &format!("anna.jensen:cvr={first}"), &BUSINESS).await;
    assert_eq!(
        again["nemlogin.persistent_professional_id"],
        default["nemlogin.persistent_professional_id"],
        "the same person and company: the same professional id"
    );
}

#[tokio::test]
async fn a_script_chooses_the_company() {
    let (lab, [_, second]) = lab().await;
    let r = lab
        .control_post(
            "/control/scripts",
            &json!({"match": {"test_user": "anna.jensen"}, "organisation": second}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let scripted = claims(&lab, "anna.jensen", &BUSINESS).await;
    assert_eq!(scripted["nemlogin.cvr"], json!(second), "{scripted:?}");
}

async fn refusal(lab: &Lab, hint: &str) -> (Option<String>, Option<String>) {
    let (_, challenge) = pkce();
    let hint = format!("test:{hint}");
    let response = lab
        .authorize(&[
            ("response_type", "code"),
            ("client_id", "sp-basic"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid nemlogin"),
            ("state", "st-business"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("idp_values", "mitid_erhverv"),
            ("login_hint", &hint),
        ])
        .await;
    let location = redirect_params(&response);
    (
        location.get("error").cloned(),
        location.get("error_description").cloned(),
    )
}

#[tokio::test]
async fn a_person_without_a_company_or_naming_another_company_is_refused() {
    let (lab, _) = lab().await;
    assert_eq!(
        refusal(&lab, "helle.nielsen").await,
        (
            Some("access_denied".to_owned()),
            Some("mitid_erhverv_no_professional_identity".to_owned())
        )
    );
    assert_eq!(
        refusal(&lab, "anna.jensen:approve:cvr=13748136").await,
        (
            Some("access_denied".to_owned()),
            Some("mitid_erhverv_organisation_not_available".to_owned())
        )
    );
}

#[tokio::test]
async fn on_the_pages_a_person_acting_for_two_companies_chooses_one() {
    use super::idp_login_pages::{create_person, issue_code_display_and_password, now, post_form};
    use super::idp_support::{browser, csrf};
    use mitid_devices::{Timestamp, TotpParams};

    let (lab, [_, second]) = lab().await;
    let created = create_person(&lab, "mette.f", "1911771234").await;
    let uuid = created["uuid"].as_str().unwrap().to_owned();
    let companies = CvrRegister::embedded().unwrap().companies().to_vec();
    let (status, _) = lab
        .control_call(
            reqwest::Method::PUT,
            &format!("/admin/identities/{uuid}/organisations"),
            Some(&json!({"organisations": [companies[0].cvr, second]})),
        )
        .await;
    assert_eq!(status, 200);
    let secret = issue_code_display_and_password(&lab, &uuid).await;

    let b = browser();
    let (verifier, challenge) = pkce();
    let r = b
        .get(format!("{}/authorize", lab.issuer))
        .query(&[
            ("response_type", "code"),
            ("client_id", "sp-basic"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid mitid nemlogin"),
            ("state", "business-page"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("idp_values", "mitid_erhverv"),
        ])
        .send()
        .await
        .unwrap();
    let page_url = r.headers()["location"].to_str().unwrap().to_owned();
    let html = b.get(&page_url).send().await.unwrap().text().await.unwrap();
    let token = csrf(&html);
    let user = [("csrf", token.as_str()), ("user_id", "mette.f")];
    post_form(&b, &format!("{page_url}/user"), &user).await;
    let method = [("csrf", token.as_str()), ("method", "code_display")];
    post_form(&b, &format!("{page_url}/method"), &method).await;
    let code = TotpParams::default()
        .code_at(&secret, Timestamp::from_unix_secs(now()))
        .unwrap()
        .unwrap();
    let code = format!("{code:06}");
    let answer = [
        ("csrf", token.as_str()),
        ("code", code.as_str()),
        ("password", "correct horse"),
    ];
    let r = post_form(&b, &format!("{page_url}/code"), &answer).await;
    assert_eq!(
        r.status(),
        200,
        "authenticated: the chooser, not yet the client"
    );
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&companies[0].cvr) && html.contains(&second),
        "both companies offered: {html}"
    );
    let wrong = [("csrf", token.as_str()), ("cvr", "13748136")];
    let html = post_form(&b, &format!("{page_url}/organisation"), &wrong)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("class=\"msg\""),
        "a company not offered: {html}"
    );
    let choice = [("csrf", token.as_str()), ("cvr", second.as_str())];
    let r = post_form(&b, &format!("{page_url}/organisation"), &choice).await;
    let p = redirect_params(&r);
    let claims = lab.id_token_claims(&p["code"], &verifier).await;
    assert_eq!(claims["nemlogin.cvr"], json!(second), "{claims:?}");
    assert_eq!(claims["identity_type"], json!("professional"), "{claims:?}");
    assert_eq!(claims["sub"], json!(uuid));
}
