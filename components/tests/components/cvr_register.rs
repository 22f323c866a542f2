//! The synthetic CVR register over HTTP: the CPR register's company lookups and employers, and
//! the IdP's identity admin API giving a person the companies they act for.

// MitID, IdP, CPR and CVR are names in these docs, not code.
#![allow(clippy::doc_markdown)]

use mitid_components::cpr::{CprConfig, CprRegister, Person};
use mitid_components::cvr::{Company, CvrRegister, cvr_is_valid};
use mitid_components::service::LabClock;
use serde_json::{Value, json};

use crate::cpr_lab::{SEED, START, http, spawn};
use crate::idp_support::Lab;

async fn register(seed: u64) -> mitid_components::service::RunningService {
    spawn(CprRegister::new(CprConfig {
        seed,
        population: 300,
        clock: LabClock::fixed(START),
        ..CprConfig::default()
    }))
    .await
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = client.get(url).send().await.expect("GET");
    let status = r.status().as_u16();
    (status, r.json().await.expect("a JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cpr_register_answers_company_lookups() {
    let reg = register(SEED).await;
    let client = http();
    let (status, all) = get(&client, &format!("{}/companies", reg.url())).await;
    assert_eq!(status, 200, "{all}");
    let companies: Vec<Company> = serde_json::from_value(all).expect("companies");
    assert_eq!(companies, CvrRegister::embedded().unwrap().companies());
    for company in &companies {
        assert!(cvr_is_valid(&company.cvr), "{company:?}");
        let (status, one) = get(&client, &format!("{}/companies/{}", reg.url(), company.cvr)).await;
        assert_eq!(status, 200, "{one}");
        assert_eq!(serde_json::from_value::<Company>(one).unwrap(), *company);
    }
    // Erhvervsstyrelsen's worked example is a valid number, but not a company of the lab.
    for (cvr, status, error) in [
        ("13748136", 404, "not_found"),
        ("13748137", 400, "invalid_request"),
        ("1234", 400, "invalid_request"),
    ] {
        let (got, body) = get(&client, &format!("{}/companies/{cvr}", reg.url())).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(error)),
            "{cvr}: {body}"
        );
    }
    reg.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn employers_are_a_function_of_seed_and_person() {
    let a = register(SEED).await;
    let b = register(SEED).await;
    let client = http();
    let (_, page) = get(&client, &format!("{}/persons?limit=300", a.url())).await;
    let persons: Vec<Person> = serde_json::from_value(page["persons"].clone()).expect("persons");
    let cvr = CvrRegister::embedded().unwrap();
    let mut by_count = [0usize; 3];
    for person in &persons {
        let path = format!("/persons/{}/employers", person.cpr.compact());
        let (status, here) = get(&client, &format!("{}{path}", a.url())).await;
        assert_eq!(status, 200, "{here}");
        let (_, there) = get(&client, &format!("{}{path}", b.url())).await;
        assert_eq!(here, there, "same seed, same employers");
        let companies: Vec<Company> =
            serde_json::from_value(here["companies"].clone()).expect("companies");
        let expected: Vec<Company> = cvr
            .employers_of(SEED, &person.cpr.compact())
            .into_iter()
            .cloned()
            .collect();
        assert_eq!(companies, expected);
        by_count[companies.len()] += 1;
    }
    assert!(
        by_count[0] > 0 && by_count[1] > 0 && by_count[2] > 0,
        "most persons act for no company, some for one, a few for two: {by_count:?}"
    );
    let (status, body) = get(
        &client,
        &format!("{}/persons/0101010001/employers", a.url()),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let (status, body) = get(&client, &format!("{}/persons/abc/employers", a.url())).await;
    assert_eq!(status, 400, "{body}");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn the_admin_api_gives_a_person_the_companies_they_act_for() {
    let lab = Lab::start().await;
    let companies = CvrRegister::embedded().unwrap().companies().to_vec();
    let (_, anna) = lab
        .control_call(
            reqwest::Method::GET,
            "/admin/identities/by-user-id/anna.jensen",
            None,
        )
        .await;
    let uuid = anna["uuid"].as_str().expect("uuid").to_owned();
    let path = format!("/admin/identities/{uuid}/organisations");
    let (status, none) = lab.control_call(reqwest::Method::GET, &path, None).await;
    assert_eq!(
        (status, &none["organisations"]),
        (200, &json!([])),
        "{none}"
    );
    let two = json!({"organisations": [companies[0].cvr, companies[1].cvr]});
    let (status, set) = lab
        .control_call(reqwest::Method::PUT, &path, Some(&two))
        .await;
    assert_eq!(status, 200, "{set}");
    let orgs = set["organisations"].as_array().expect("organisations");
    assert_eq!(orgs.len(), 2, "{set}");
    for (org, company) in orgs.iter().zip(&companies) {
        assert_eq!(org["cvr"], json!(company.cvr), "{set}");
        assert_eq!(org["org_name"], json!(company.name), "{set}");
        let id = org["persistent_professional_id"].as_str().expect("id");
        assert!(id.starts_with("urn:uuid:") && !id.contains(&uuid), "{set}");
    }
    assert_ne!(
        orgs[0]["persistent_professional_id"], orgs[1]["persistent_professional_id"],
        "one professional id per company"
    );
    let (_, again) = lab.control_call(reqwest::Method::GET, &path, None).await;
    assert_eq!(again, set, "GET answers what PUT set");
    for (body, needle) in [
        (json!({"organisations": ["13748136"]}), "organisations[0]"),
        (
            json!({"organisations": [companies[0].cvr, companies[0].cvr]}),
            "twice",
        ),
        (json!({"organisations": "12345678"}), "organisations"),
        (json!({"orgs": []}), "orgs"),
    ] {
        let (status, err) = lab
            .control_call(reqwest::Method::PUT, &path, Some(&body))
            .await;
        assert_eq!(status, 400, "{body}: {err}");
        assert_eq!(err["error"], "invalid_request", "{err}");
        assert!(
            err["error_description"]
                .as_str()
                .unwrap_or_default()
                .contains(needle),
            "{body}: {err}"
        );
    }
    let (_, unchanged) = lab.control_call(reqwest::Method::GET, &path, None).await;
    assert_eq!(
        unchanged, set,
        "a refused change leaves the organisations as they were"
    );
    let (status, _) = lab
        .control_call(
            reqwest::Method::PUT,
            "/admin/identities/no-such-uuid/organisations",
            Some(&json!({"organisations": []})),
        )
        .await;
    assert_eq!(status, 404);
}
