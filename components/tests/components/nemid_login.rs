//! NemID logins at the broker: the admin API issues a key card and a key app, and the citizen logs
//! in over the NemID pages (user ID or CPR + password, then the card's key number answered with
//! its 6-digit code, or the key app's approval) or headlessly; verification is the devices
//! crate's, and the tokens say `idp: nemid` with the NemID PID and amr.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

use std::collections::HashMap;

use chrono::NaiveDate;
use mitid_components::idp::nemid::NemidIssued;
use mitid_components::service::LabClock;
use mitid_devices::NemidKeyApp;
use serde_json::{Value, json};

use super::idp_support::{Lab, REDIRECT, browser, csrf, pkce, redirect_params};

pub const PASSWORD: &str = "Sommer-regn-42";

/// An IdP whose clock stands on `date` (the real date is past every NemID cut-off).
pub async fn lab_on(date: &str) -> Lab {
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    Lab::start_with(|c| c.clock = LabClock::fixed_on(day)).await
}

pub async fn uuid_of(lab: &Lab, user_id: &str) -> String {
    let v = lab
        .get_json(format!(
            "{}/admin/identities/by-user-id/{user_id}",
            lab.control
        ))
        .await;
    v["uuid"].as_str().unwrap().to_owned()
}

/// The admin API's view of the NemID of identity `uuid`.
async fn nemid_view(lab: &Lab, uuid: &str) -> Value {
    lab.get_json(format!("{}/admin/identities/{uuid}/nemid", lab.control))
        .await
}

/// Issues a NemID (key card and key app) to `user_id`.
pub async fn issue_nemid(lab: &Lab, user_id: &str) -> (String, NemidIssued) {
    let uuid = uuid_of(lab, user_id).await;
    let r = lab
        .control_post(
            &format!("/admin/identities/{uuid}/nemid"),
            &json!({"password": PASSWORD, "key_card": true, "key_app": true}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    (uuid, r.json().await.unwrap())
}

/// Starts a NemID login on the pages for `client` with this PKCE challenge; answers the
/// `/authorize` response.
async fn start_pages_with(
    lab: &Lab,
    browser: &reqwest::Client,
    client: &str,
    challenge: &str,
) -> reqwest::Response {
    lab.authorize_in(
        browser,
        &[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", REDIRECT),
            ("scope", "openid mitid nemid.pid"),
            ("state", "nemid-state"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("idp_values", "nemid"),
        ],
    )
    .await
}

/// Starts a NemID login on the pages for `client`; answers the `/authorize` response.
pub async fn start_pages(lab: &Lab, browser: &reqwest::Client, client: &str) -> reqwest::Response {
    let (_, challenge) = pkce();
    start_pages_with(lab, browser, client, &challenge).await
}

/// Starts a NemID login on the pages for `client` and opens the first page: its URL and HTML.
pub async fn open_pages(lab: &Lab, browser: &reqwest::Client, client: &str) -> (String, String) {
    let r = start_pages(lab, browser, client).await;
    let url = r.headers()["location"].to_str().unwrap().to_owned();
    let html = page(browser, &url).await;
    (url, html)
}

/// Posts the credentials form of the NemID login at `url` (`html` is its page); answers the
/// next page.
pub async fn submit_credentials(
    browser: &reqwest::Client,
    url: &str,
    html: &str,
    user_id: &str,
    password: &str,
    method: Option<&str>,
) -> String {
    let csrf = csrf(html);
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("user_id", user_id),
        ("password", password),
    ];
    form.extend(method.map(|m| ("method", m)));
    let r = browser
        .post(format!("{url}/credentials"))
        .form(&form)
        .send()
        .await
        .unwrap();
    r.text().await.unwrap()
}

/// Posts a key-card answer (key number and code) on the NemID login at `url`.
pub async fn submit_key_card(
    browser: &reqwest::Client,
    url: &str,
    html: &str,
    key_number: &str,
    code: &str,
) -> reqwest::Response {
    browser
        .post(format!("{url}/key-card"))
        .form(&[
            ("csrf", csrf(html).as_str()),
            ("key_number", key_number),
            ("code", code),
        ])
        .send()
        .await
        .unwrap()
}

/// Answers the key-card page with the code the card `issued` holds for the key number asked.
pub async fn answer_key_card(
    browser: &reqwest::Client,
    url: &str,
    html: &str,
    issued: &NemidIssued,
) -> reqwest::Response {
    let key = key_number(html);
    let code = issued
        .key_card
        .code_for(key)
        .expect("the key number is on the issued card");
    submit_key_card(
        browser,
        url,
        html,
        &format!("{key:04}"),
        &format!("{code:06}"),
    )
    .await
}

/// The key number the key-card page asks for.
pub fn key_number(html: &str) -> u16 {
    let marker = "id=\"key_number\">";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no key number in {html}"))
        + marker.len();
    html[start..start + 4].parse().unwrap()
}

/// A headless NemID login at `client` with this `login_hint`: the redirect's parameters.
pub async fn headless_nemid(lab: &Lab, client: &str, hint: &str) -> HashMap<String, String> {
    let (_, challenge) = pkce();
    let r = lab
        .authorize(&[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", hint),
        ])
        .await;
    redirect_params(&r)
}

async fn page(browser: &reqwest::Client, url: &str) -> String {
    let r = browser.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test]
async fn key_card_login_over_the_nemid_pages_gives_a_nemid_token() {
    let lab = lab_on("2022-06-01").await;
    let (uuid, issued) = issue_nemid(&lab, "anna.jensen").await;
    // Anna's registry entry came with a PID; issuing NemID keeps it.
    assert_eq!(issued.nemid_pid, "9208-2002-2-123456789012");
    let browser = browser();
    let (verifier, challenge) = pkce();
    let r = start_pages_with(&lab, &browser, "sp-basic", &challenge).await;
    assert_eq!(r.status(), 302);
    let url = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/nemid/", lab.issuer)), "{url}");
    let html = page(&browser, &url).await;
    assert!(html.contains("User ID or CPR number"), "{html}");
    // A wrong password first: the page says so and the login goes on.
    let html = submit_credentials(
        &browser,
        &url,
        &html,
        "0101901234",
        "Vinter-sne-99",
        Some("key_card"),
    )
    .await;
    assert!(html.contains("Wrong user ID or password"), "{html}");
    let html = submit_credentials(
        &browser,
        &url,
        &html,
        "0101901234",
        PASSWORD,
        Some("key_card"),
    )
    .await;
    let r = answer_key_card(&browser, &url, &html, &issued).await;
    let params = redirect_params(&r);
    assert_eq!(params.get("state").map(String::as_str), Some("nemid-state"));
    let claims = lab.id_token_claims(&params["code"], &verifier).await;
    assert_eq!(claims["idp"], "nemid");
    assert_eq!(claims["nemid.pid"], "9208-2002-2-123456789012");
    assert_eq!(claims["amr"], json!(["password", "code_token"]));
    assert_eq!(
        claims["loa"],
        "https://data.gov.dk/concept/core/nsis/Substantial"
    );
    // The pair is used up: the card has one pair fewer.
    let view = nemid_view(&lab, &uuid).await;
    assert_eq!(
        view["key_card_remaining"].as_u64(),
        Some(issued.key_card.len() as u64 - 1)
    );
}

/// Posts the key app's answer to login `login_id` as device `device_id`.
async fn post_approval(
    lab: &Lab,
    device_id: &str,
    login_id: &Value,
    approval: &str,
) -> reqwest::Response {
    lab.http
        .post(format!("{}/nemid-app/{device_id}/approvals", lab.issuer))
        .json(&json!({"login_id": login_id, "approval": approval}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn key_app_login_over_the_nemid_pages_is_approved_by_the_app() {
    let lab = lab_on("2022-06-01").await;
    let (_, issued) = issue_nemid(&lab, "helle.nielsen").await;
    let app: NemidKeyApp = issued.key_app.clone().expect("a key app was asked for");
    let browser = browser();
    let (url, html) = open_pages(&lab, &browser, "sp-basic").await;
    let html = submit_credentials(
        &browser,
        &url,
        &html,
        "helle.nielsen",
        PASSWORD,
        Some("key_app"),
    )
    .await;
    assert!(html.contains("key app"), "{html}");
    let pending = lab
        .get_json(format!(
            "{}/nemid-app/{}/pending",
            lab.issuer, app.device_id
        ))
        .await;
    let item = &pending["pending"][0];
    let hex = item["challenge"].as_str().expect("challenge");
    let mut challenge = [0u8; 32];
    for (i, b) in challenge.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    // A forged approval is refused; the app's own is accepted.
    let forged = post_approval(&lab, &app.device_id, &item["login_id"], &"00".repeat(32)).await;
    assert_eq!(forged.status(), 403);
    let approval = app
        .approve(&challenge)
        .iter()
        .fold(String::new(), |mut s, b| {
            use std::fmt::Write as _;
            let _ = write!(s, "{b:02x}");
            s
        });
    let r = post_approval(&lab, &app.device_id, &item["login_id"], &approval).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = browser.get(&url).send().await.unwrap();
    let params = redirect_params(&r);
    assert!(params.contains_key("code"), "{params:?}");
}

#[tokio::test]
async fn headless_nemid_login_checks_the_card_and_names_nemid() {
    let lab = lab_on("2022-06-01").await;
    let (uuid, issued) = issue_nemid(&lab, "anna.jensen").await;
    let (code, verifier, _, _) = lab
        .login("sp-basic", "anna.jensen:nemid_key_card", &[])
        .await;
    let claims = lab.id_token_claims(&code, &verifier).await;
    assert_eq!(claims["idp"], "nemid");
    assert_eq!(claims["amr"], json!(["password", "code_token"]));
    let (code, verifier, _, _) = lab
        .login("sp-basic", "anna.jensen:nemid_key_app", &[])
        .await;
    let claims = lab.id_token_claims(&code, &verifier).await;
    assert_eq!(claims["amr"], json!(["password", "code_app"]));
    // `idp_values=nemid` with a plain test hint is a key-card login too.
    let (code, verifier, _, _) = lab
        .login("sp-basic", "anna.jensen", &[("idp_values", "nemid")])
        .await;
    assert_eq!(lab.id_token_claims(&code, &verifier).await["idp"], "nemid");
    let view = nemid_view(&lab, &uuid).await;
    assert_eq!(
        view["key_card_remaining"].as_u64(),
        Some(issued.key_card.len() as u64 - 2),
        "two key-card logins used two pairs: {view}"
    );
    // A MitID login of the same person still says mitid.
    let (code, verifier, _, _) = lab.login("sp-basic", "anna.jensen", &[]).await;
    assert_eq!(lab.id_token_claims(&code, &verifier).await["idp"], "mitid");
}

#[tokio::test]
async fn a_person_without_nemid_or_with_a_blocked_nemid_is_refused() {
    let lab = lab_on("2022-06-01").await;
    let params = headless_nemid(&lab, "sp-basic", "test:lars.hansen:nemid_key_card").await;
    assert_eq!(params["error"], "access_denied");
    assert!(
        params["error_description"].starts_with("nemid_unknown_user"),
        "{params:?}"
    );
    // A temporary password on its way blocks NemID until it is used.
    let (uuid, _) = issue_nemid(&lab, "anna.jensen").await;
    let r = lab
        .control_post(
            &format!("/admin/identities/{uuid}/nemid/orders"),
            &json!({"item": "temporary_password", "channel": "support_line"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let params = headless_nemid(&lab, "sp-basic", "test:anna.jensen:nemid_key_card").await;
    assert_eq!(params["error"], "access_denied");
    assert!(
        params["error_description"].starts_with("nemid_blocked"),
        "{params:?}"
    );
}

#[tokio::test]
async fn three_wrong_key_card_codes_end_the_login() {
    let lab = lab_on("2022-06-01").await;
    issue_nemid(&lab, "anna.jensen").await;
    let browser = browser();
    let (url, html) = open_pages(&lab, &browser, "sp-basic").await;
    let mut html = submit_credentials(&browser, &url, &html, "anna.jensen", PASSWORD, None).await;
    let key = format!("{:04}", key_number(&html));
    for attempt in 0..3 {
        let r = submit_key_card(&browser, &url, &html, &key, "1000000").await;
        if attempt < 2 {
            html = r.text().await.unwrap();
            assert!(html.contains("not accepted"), "{html}");
        } else {
            let params = redirect_params(&r);
            assert_eq!(params["error"], "access_denied");
            assert_eq!(params["error_description"], "nemid_authentication_failed");
        }
    }
}
