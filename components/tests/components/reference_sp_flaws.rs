//! The reference SP logging in against the real IdP (headless `login_hint=test:<user>` mode),
//! `/me` before and after, logout, and one test per flaw: the flawed SP accepts what the correct
//! one refuses (or, for `never-refresh-jwks`, refuses what it must accept).

// MitID, IdP and CPR are names in these docs, not code.
#![allow(clippy::doc_markdown)]

use mitid_components::idp::admin::{Ial, PersonRef};
use mitid_components::reference_sp::Flaw;
use mitid_components::service::RunningService;
use serde_json::{Value, json};

use crate::cpr_lab::{ServicesLab, browser};

/// Follows redirects by hand; returns every URL visited and the final status.
async fn follow(
    browser: &reqwest::Client,
    start: &str,
    edit: impl Fn(&str) -> String,
) -> (Vec<String>, u16) {
    let mut url = start.to_owned();
    let mut visited = Vec::new();
    for _ in 0..10 {
        visited.push(url.clone());
        let r = browser
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = r.status().as_u16();
        let Some(location) = r.headers().get("location").and_then(|l| l.to_str().ok()) else {
            return (visited, status);
        };
        let next = reqwest::Url::parse(&url)
            .and_then(|u| u.join(location))
            .expect("location")
            .to_string();
        url = edit(&next);
    }
    panic!("redirect loop: {visited:?}");
}

async fn me(browser: &reqwest::Client, sp: &RunningService) -> (u16, Value) {
    let r = browser
        .get(format!("{}/me", sp.url()))
        .send()
        .await
        .expect("GET /me");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn login(sp: &RunningService, hint: &str, loa: &str) -> (reqwest::Client, Vec<String>, u16) {
    let b = browser();
    let (visited, status) = follow(
        &b,
        &format!("{}/login?loa={loa}&login_hint=test:{hint}", sp.url()),
        str::to_owned,
    )
    .await;
    (b, visited, status)
}

async fn script(lab: &ServicesLab, user: &str, body: Value) -> String {
    let mut body = body;
    body["match"] = json!({ "test_user": user });
    let (s, r) = lab
        .post(&format!("{}/control/scripts", lab.control), &body)
        .await;
    assert_eq!(s, 201, "script {body}: {r}");
    r["script_id"].as_str().expect("script id").to_owned()
}

struct Users {
    lab: ServicesLab,
}

impl Users {
    async fn start() -> Users {
        let lab = ServicesLab::start().await;
        let people = lab.adults(2).await;
        lab.identity_for(&people[0], "borger.one", Ial::High).await;
        lab.identity_for(&people[1], "borger.two", Ial::Substantial)
            .await;
        lab.identity(
            PersonRef::PCode("11112222".into()),
            "Ann Smith",
            "nocpr.one",
            Ial::Substantial,
        )
        .await;
        lab.identity(
            PersonRef::PCode("33334444".into()),
            "Bob Jones",
            "nocpr.two",
            Ial::Substantial,
        )
        .await;
        Users { lab }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correct_sp_logs_in_shows_me_steps_up_and_logs_out() {
    let Users { lab } = Users::start().await;
    let sp = lab.sp(&[]).await;
    let b = browser();
    assert_eq!(me(&b, &sp).await.0, 401, "no session before login");
    let (visited, status) = follow(
        &b,
        &format!(
            "{}/login?loa=substantial&login_hint=test:borger.one",
            sp.url()
        ),
        str::to_owned,
    )
    .await;
    assert_eq!(status, 200, "visited {visited:?}");
    let authorize = &visited[1];
    for param in [
        "code_challenge=",
        "code_challenge_method=S256",
        "state=",
        "nonce=",
        "acr_values=",
    ] {
        assert!(
            authorize.contains(param),
            "authorization request lacks {param}: {authorize}"
        );
    }
    let (s, who) = me(&b, &sp).await;
    assert_eq!(s, 200, "{who}");
    assert_eq!(who["loa"], "substantial", "{who}");
    assert!(who["sub"].as_str().is_some_and(|s| !s.is_empty()), "{who}");
    assert_eq!(who["sub"], who["mitid_uuid"], "{who}");
    assert!(who["cpr"].is_string(), "borger.one has a CPR number: {who}");
    // Leaving Denmark needs High: 403 until a step-up.
    let r = b
        .get(format!("{}/services/leave-denmark", sp.url()))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 403);
    let (_, status) = follow(
        &b,
        &format!(
            "{}/login?loa=high&login_hint=test:borger.one:app_pin",
            sp.url()
        ),
        str::to_owned,
    )
    .await;
    assert_eq!(status, 200);
    let (_, who_high) = me(&b, &sp).await;
    assert_eq!(who_high["loa"], "high", "{who_high}");
    assert_eq!(
        who_high["account"], who["account"],
        "same account after step-up"
    );
    let r = b
        .get(format!("{}/services/leave-denmark", sp.url()))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 200);
    // RP-initiated logout goes through the IdP and back.
    let (visited, status) = follow(&b, &format!("{}/logout", sp.url()), str::to_owned).await;
    assert!(
        visited.iter().any(|u| u.starts_with(&lab.issuer)),
        "logout visits the IdP: {visited:?}"
    );
    assert_eq!(status, 200, "{visited:?}");
    assert_eq!(me(&b, &sp).await.0, 401, "no session after logout");
    sp.shutdown().await;
    lab.shutdown().await;
}

/// Logs in at a correct and a flawed SP after scripting the same misbehaviour for each login;
/// returns the `/me` statuses (correct, flawed).
async fn compare(
    lab: &ServicesLab,
    flaw: Flaw,
    user: &str,
    loa: &str,
    misbehaviour: Value,
) -> (u16, u16) {
    let correct = lab.sp(&[]).await;
    let flawed = lab.sp(&[flaw]).await;
    let mut statuses = Vec::new();
    for sp in [&correct, &flawed] {
        script(lab, user, misbehaviour.clone()).await;
        let (b, visited, _) = login(sp, user, loa).await;
        let (status, body) = me(&b, sp).await;
        eprintln!("{flaw}: {} → /me {status} {body} via {visited:?}", sp.url());
        statuses.push(status);
    }
    correct.shutdown().await;
    flawed.shutdown().await;
    (statuses[0], statuses[1])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_flaw_accepts_what_the_correct_sp_refuses() {
    let Users { lab } = Users::start().await;
    let cases = [
        (
            Flaw::SkipSignatureCheck,
            json!({"id_token": [{"kind": "foreign_key"}]}),
        ),
        (
            Flaw::AcceptAlgNone,
            json!({"id_token": [{"kind": "alg_none"}]}),
        ),
        (
            Flaw::AcceptAnyKey,
            json!({"id_token": [{"kind": "hs256_public_key"}]}),
        ),
        (
            Flaw::SkipIssuerCheck,
            json!({"id_token": [{"kind": "wrong_iss"}]}),
        ),
        (
            Flaw::SkipAudienceCheck,
            json!({"id_token": [{"kind": "wrong_aud"}]}),
        ),
        (
            Flaw::SkipAzpCheck,
            json!({"id_token": [{"kind": "extra_aud_without_azp"}]}),
        ),
        (
            Flaw::SkipExpiryCheck,
            json!({"id_token": [{"kind": "expired"}]}),
        ),
        (
            Flaw::SkipIssuedAtCheck,
            json!({"id_token": [{"kind": "future_iat"}]}),
        ),
        (
            Flaw::SkipNonceCheck,
            json!({"id_token": [{"kind": "wrong_nonce"}]}),
        ),
        (
            Flaw::AcceptLowerLoa,
            json!({"id_token": [{"kind": "lower_loa"}]}),
        ),
        (
            Flaw::SkipUserinfoSubCheck,
            json!({"userinfo": [{"kind": "sub_mismatch"}]}),
        ),
    ];
    let mut failures = Vec::new();
    for (flaw, misbehaviour) in cases {
        let (correct, flawed) = compare(
            &lab,
            flaw,
            "borger.two",
            "substantial",
            misbehaviour.clone(),
        )
        .await;
        if (correct, flawed) != (401, 200) {
            failures.push(format!(
                "{flaw} with {misbehaviour}: correct SP /me {correct}, flawed SP /me {flawed}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "expected correct 401 / flawed 200:\n{}",
        failures.join("\n")
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_flaws_state_errors_replay_pkce() {
    let Users { lab } = Users::start().await;
    // skip-state-check: a callback whose state was tampered with.
    for (flaws, want) in [(vec![], 401), (vec![Flaw::SkipStateCheck], 200)] {
        let sp = lab.sp(&flaws).await;
        let b = browser();
        let tamper = |u: &str| {
            if u.contains("/callback?") {
                let parsed = reqwest::Url::parse(u).expect("url");
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let value = if k == "state" {
                            "forged".to_owned()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), value)
                    })
                    .collect();
                let mut out = parsed.clone();
                out.query_pairs_mut().clear().extend_pairs(pairs);
                out.to_string()
            } else {
                u.to_owned()
            }
        };
        follow(
            &b,
            &format!("{}/login?login_hint=test:borger.two", sp.url()),
            tamper,
        )
        .await;
        assert_eq!(me(&b, &sp).await.0, want, "flaws {flaws:?}: forged state");
        sp.shutdown().await;
    }
    // ignore-idp-errors: the citizen aborts.
    for (flaws, want) in [(vec![], 401), (vec![Flaw::IgnoreIdpErrors], 200)] {
        let sp = lab.sp(&flaws).await;
        let (b, visited, _) = login(&sp, "borger.two:abort", "substantial").await;
        assert!(
            visited.iter().any(|u| u.contains("error=access_denied")),
            "{visited:?}"
        );
        assert_eq!(me(&b, &sp).await.0, want, "flaws {flaws:?}: aborted login");
        sp.shutdown().await;
    }
    // accept-replayed-callback: the same callback URL again; the IdP sees a code replay only
    // from the flawed SP.
    for (flaws, replays) in [(vec![], 0), (vec![Flaw::AcceptReplayedCallback], 1)] {
        let sp = lab.sp(&flaws).await;
        let id = script(&lab, "borger.two", json!({})).await;
        let (b, visited, _) = login(&sp, "borger.two", "substantial").await;
        let callback = visited
            .iter()
            .find(|u| u.contains("/callback?"))
            .expect("callback")
            .clone();
        b.get(&callback).send().await.expect("replay");
        let (_, log) = lab
            .get(&format!("{}/control/scripts/{id}", lab.control))
            .await;
        assert_eq!(
            log["log"]["code_replays"], replays,
            "flaws {flaws:?}: {log}"
        );
        sp.shutdown().await;
    }
    // no-pkce: no code challenge in the authorization request, and the IdP refuses it.
    let sp = lab.sp(&[Flaw::NoPkce]).await;
    let (b, visited, _) = login(&sp, "borger.two", "substantial").await;
    assert!(!visited[1].contains("code_challenge"), "{visited:?}");
    assert_eq!(me(&b, &sp).await.0, 401);
    sp.shutdown().await;
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_jwks_and_backchannel_flaws() {
    let Users { lab } = Users::start().await;
    // accounts-keyed-on-cpr: two people without CPR share one account.
    for (flaws, same) in [(vec![], false), (vec![Flaw::AccountsKeyedOnCpr], true)] {
        let sp = lab.sp(&flaws).await;
        let (a, _, _) = login(&sp, "nocpr.one", "substantial").await;
        let (b, _, _) = login(&sp, "nocpr.two", "substantial").await;
        let (sa, ma) = me(&a, &sp).await;
        let (sb, mb) = me(&b, &sp).await;
        assert_eq!((sa, sb), (200, 200), "{ma} {mb}");
        assert_eq!(
            ma["account"] == mb["account"],
            same,
            "flaws {flaws:?}: {ma} vs {mb}"
        );
        sp.shutdown().await;
    }
    // never-refresh-jwks: after a key rotation only the correct SP still logs people in.
    let correct = lab.sp(&[]).await;
    let flawed = lab.sp(&[Flaw::NeverRefreshJwks]).await;
    for sp in [&correct, &flawed] {
        let (b, _, _) = login(sp, "borger.two", "substantial").await;
        assert_eq!(me(&b, sp).await.0, 200, "before rotation");
    }
    let (s, r) = lab
        .post(
            &format!("{}/control/keys/rotate", lab.control),
            &json!({"keep_previous": false}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (b, _, _) = login(&correct, "borger.two", "substantial").await;
    assert_eq!(
        me(&b, &correct).await.0,
        200,
        "correct SP refetches the JWKS"
    );
    let (b, _, _) = login(&flawed, "borger.two", "substantial").await;
    assert_eq!(me(&b, &flawed).await.0, 401, "flawed SP never refetches");
    correct.shutdown().await;
    flawed.shutdown().await;
    // ignore-backchannel-logout: the IdP ends the SSO session; only the correct SP ends its own.
    for (flaws, want) in [(vec![], 401), (vec![Flaw::IgnoreBackchannelLogout], 200)] {
        let sp = lab.sp(&flaws).await;
        let (b, _, _) = login(&sp, "borger.one", "substantial").await;
        assert_eq!(me(&b, &sp).await.0, 200);
        let (s, deliveries) = lab
            .post(
                &format!("{}/control/backchannel-logout", lab.control),
                &json!({"user_id": "borger.one"}),
            )
            .await;
        assert_eq!(s, 200, "{deliveries}");
        assert_eq!(me(&b, &sp).await.0, want, "flaws {flaws:?}: {deliveries}");
        sp.shutdown().await;
    }
    lab.shutdown().await;
}

#[test]
fn every_flaw_is_listed_with_a_description() {
    assert!(Flaw::all().count() >= 12);
    for flaw in Flaw::all() {
        assert!(!flaw.description().is_empty(), "{flaw}");
        assert_eq!(flaw.name().parse::<Flaw>(), Ok(flaw));
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 32, ..proptest::prelude::ProptestConfig::default() })]

    /// Malformed requests to every SP endpoint get a JSON error, never a panic or a 500 (no IdP
    /// runs here, so a well-formed login may end in 502).
    #[test]
    fn malformed_requests_get_json_errors(
        query in "[ -~]{0,60}",
        segment in "[a-zA-Z0-9%\\-._~]{1,20}",
        form in "[ -~]{0,80}",
    ) {
        runtime().block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let base = format!("http://{}", listener.local_addr().expect("addr"));
            let config = mitid_components::reference_sp::SpConfig::new(&base, "http://127.0.0.1:9", "c", "s");
            let sp = mitid_components::service::spawn(listener, mitid_components::reference_sp::ReferenceSp::new(config))
                .expect("spawn");
            let b = browser();
            let encoded: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
            let requests = [
                b.get(format!("{base}/login?loa={encoded}")),
                b.get(format!("{base}/login?return_to={encoded}")),
                b.get(format!("{base}/callback?state={encoded}&code={segment}")),
                b.get(format!("{base}/services/{segment}")),
                b.get(format!("{base}/me")),
                b.post(format!("{base}/backchannel-logout"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form.clone()),
                b.post(format!("{base}/backchannel-logout"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("logout_token={encoded}")),
            ];
            for request in requests {
                let r = request.send().await.expect("send");
                let status = r.status().as_u16();
                let text = r.text().await.expect("body");
                proptest::prop_assert!(status != 500, "status 500 for {query:?} / {segment:?} / {form:?}: {text}");
                if status >= 400 {
                    let json: Value = serde_json::from_str(&text)
                        .map_err(|e| proptest::test_runner::TestCaseError::fail(format!("not JSON ({e}): {text}")))?;
                    proptest::prop_assert!(json["error"].is_string(), "{text}");
                }
            }
            sp.shutdown().await;
            Ok(())
        })?;
    }
}
