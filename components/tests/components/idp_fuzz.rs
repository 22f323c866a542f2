//! Bounded fuzzing of every public IdP endpoint: malformed input never panics the server and
//! always gets a client error (4xx), never a 5xx. Parameters are drawn from the real parameter
//! names with hostile values, so the checks behind the first one are reached too.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::idp_support::{Lab, REDIRECT};

const KEYS: [&str; 20] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "acr_values",
    "idp_values",
    "idp_params",
    "grant_type",
    "code",
    "code_verifier",
    "client_assertion",
    "client_assertion_type",
    "id_token_hint",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        Just(String::new()),
        Just("sp-basic".to_owned()),
        Just(REDIRECT.to_owned()),
        Just("code".to_owned()),
        Just("openid mitid ssn".to_owned()),
        Just("S256".to_owned()),
        Just("test:anna.jensen:abort".to_owned()),
        Just("{\"loa_value\":[1,2]}".to_owned()),
        Just("authorization_code".to_owned()),
        Just("eyJhbGciOiJub25lIn0.e30.".to_owned()),
        "\\PC{0,30}",
    ]
}

fn params() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned),
            value(),
        ),
        0..10,
    )
}

pub fn runner() -> TestRunner {
    // Bounded: the machine is small and shared; each case is a real HTTP round trip.
    TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    })
}

/// The status of a POST of this form.
pub async fn form_status(
    http: &reqwest::Client,
    url: String,
    form: &impl serde::Serialize,
) -> reqwest::StatusCode {
    http.post(url).form(form).send().await.unwrap().status()
}

/// The status of `body` sent as is, labelled JSON (a fuzzed body is often not JSON at all).
pub async fn raw_json_status(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: &str,
) -> reqwest::StatusCode {
    http.request(method, url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
}

pub fn not_server_error(
    what: &str,
    input: &impl std::fmt::Debug,
    status: reqwest::StatusCode,
) -> Result<(), TestCaseError> {
    prop_assert!(
        status.as_u16() < 500,
        "{what} answered {status} to {input:?}"
    );
    Ok(())
}

#[test]
fn authorize_never_fails_with_a_server_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lab = rt.block_on(Lab::start());
    runner()
        .run(&params(), |p| {
            let status = rt.block_on(async {
                lab.http
                    .get(format!("{}/authorize", lab.issuer))
                    .query(&p)
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
            not_server_error("GET /authorize", &p, status)?;
            let status = rt.block_on(form_status(
                &lab.http,
                format!("{}/authorize", lab.issuer),
                &p,
            ));
            not_server_error("POST /authorize", &p, status)
        })
        .unwrap();
}

#[test]
fn token_answers_every_malformed_request_with_a_4xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lab = rt.block_on(Lab::start());
    let strategy = (params(), prop::option::of("[ -~]{0,60}"), any::<bool>());
    runner()
        .run(&strategy, |(p, basic, raw)| {
            let status = rt.block_on(async {
                let mut request = lab.http.post(format!("{}/token", lab.issuer));
                if let Some(b) = &basic {
                    request = request.header("authorization", format!("Basic {b}"));
                }
                let request = if raw {
                    request
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(
                            p.iter()
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect::<Vec<_>>()
                                .join("&"),
                        )
                } else {
                    request.form(&p)
                };
                request.send().await.unwrap().status()
            });
            prop_assert!(
                status.is_client_error(),
                "POST /token answered {status} to {p:?} basic={basic:?}"
            );
            Ok(())
        })
        .unwrap();
}

#[test]
fn userinfo_logout_and_login_pages_never_fail_with_a_server_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lab = rt.block_on(Lab::start());
    let strategy = (
        params(),
        "[ -~]{0,80}",
        "[a-zA-Z0-9_-]{0,30}",
        "[ -~]{0,200}",
    );
    runner()
        .run(&strategy, |(p, auth, id, body)| {
            let base = lab.issuer.clone();
            rt.block_on(async {
                let s = lab
                    .http
                    .get(format!("{base}/userinfo"))
                    .header("authorization", auth.clone())
                    .send()
                    .await
                    .unwrap()
                    .status();
                prop_assert!(s.is_client_error(), "userinfo {s} for {auth:?}");
                let s = lab
                    .http
                    .get(format!("{base}/logout"))
                    .query(&p)
                    .send()
                    .await
                    .unwrap()
                    .status();
                not_server_error("logout", &p, s)?;
                for path in [
                    format!("/login/{id}"),
                    format!("/login/{id}/status"),
                    format!("/app/pending/{id}"),
                ] {
                    let s = lab
                        .http
                        .get(format!("{base}{path}"))
                        .send()
                        .await
                        .unwrap()
                        .status();
                    not_server_error(&path, &id, s)?;
                }
                for path in ["user", "method", "code", "chip", "cancel"] {
                    let s = lab
                        .http
                        .post(format!("{base}/login/{id}/{path}"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap()
                        .status();
                    prop_assert!(
                        s.is_client_error(),
                        "POST /login/{id}/{path} {s} for {body:?}"
                    );
                }
                let s = raw_json_status(
                    &lab.http,
                    reqwest::Method::POST,
                    format!("{base}/app/approvals/{id}"),
                    &body,
                )
                .await;
                prop_assert!(s.is_client_error(), "POST /app/approvals {s} for {body:?}");
                Ok(())
            })
        })
        .unwrap();
}

#[test]
fn admin_and_control_json_never_fail_with_a_server_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lab = rt.block_on(Lab::start());
    let bodies = prop_oneof![
        "[ -~]{0,200}",
        Just("{\"person\":{\"cpr\":\"x\"},\"name\":\"\",\"date_of_birth\":\"2020-02-30\",\"ial\":\"low\"}".to_owned()),
        Just("{\"match\":{\"test_user\":\"a\"},\"id_token\":[{\"kind\":\"clock_skew\",\"seconds\":-9223372036854775808}]}".to_owned()),
        Just("{\"kind\":\"password\",\"password\":\"x\"}".to_owned()),
    ];
    let paths = prop::sample::select(vec![
        "/admin/identities",
        "/admin/app-activations",
        "/control/clients",
        "/control/scripts",
        "/control/backchannel-logout",
    ]);
    runner()
        .run(&(paths, bodies), |(path, body)| {
            let s = rt.block_on(raw_json_status(
                &lab.http,
                reqwest::Method::POST,
                format!("{}{path}", lab.control),
                &body,
            ));
            not_server_error(path, &body, s)
        })
        .unwrap();
}
