//! Citizen Service (Borgerservice): booking an appointment, proving identity with a passport and
//! questions from the CPR register or with a witness, issuing MitID at IAL High, and P codes for
//! people without a CPR number. Also the CPR register's side of a person, which every journey
//! needs (who the citizen is, what they know about themselves).

use std::collections::BTreeMap;

use cucumber::{given, then, when};
use mitid_components::cpr::{Challenge, Person};
use mitid_components::idp::admin::{CreateIdentityRequest, Ial, PersonRef};
use serde_json::{Value, json};
use url::Url;

use super::broker::{control, lab_json_call};
use super::citizen::{add_authenticator, create_identity, user_id_for};
use crate::evidence::redact_body;
use crate::world::{Citizen, Lab, LabWorld};

/// `POST url` with a JSON body to one of the lab's services; records the exchange as evidence.
pub async fn post_json(world: &mut LabWorld, url: &Url, body: &Value) -> (u16, Value) {
    send_json(world, reqwest::Method::POST, url, Some(body)).await
}

/// Any JSON call to one of the lab's services, recorded as evidence.
pub async fn send_json(
    world: &mut LabWorld,
    method: reqwest::Method,
    url: &Url,
    body: Option<&Value>,
) -> (u16, Value) {
    let lab = world.lab();
    let shown = body.map(|b| redact_body(&journey_redacted(b.clone()).to_string()));
    let (status, text, mut exchange) = lab_json_call(&lab, method, url, body, shown).await;
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    exchange.response_body = Some(if answer.is_null() {
        redact_body(&text)
    } else {
        redact_body(&journey_redacted(answer.clone()).to_string())
    });
    world.broker_log.push(exchange);
    (status, answer)
}

/// Secrets of the journeys the evidence must not show besides the suite's own list: P codes,
/// enrolment ids (single-use bearers) and SMS texts (they carry temporary PINs).
fn journey_redacted(mut value: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (name, item) in map.iter_mut() {
                    if matches!(name.as_str(), "p_code" | "enrolment_id" | "text")
                        && item.is_string()
                    {
                        *item = Value::String("[redacted]".into());
                    } else {
                        walk(item);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

fn service_url(base: Option<&Url>, what: &str, path: &str) -> Url {
    base.unwrap_or_else(|| panic!("the lab runs without {what} (@needs:services)"))
        .join(path)
        .expect("relative path")
}

pub fn cpr_url(lab: &Lab, path: &str) -> Url {
    service_url(lab.endpoints.cpr.as_ref(), "a CPR register", path)
}

fn office_url(lab: &Lab, path: &str) -> Url {
    service_url(
        lab.endpoints.citizen_service.as_ref(),
        "Citizen Service",
        path,
    )
}

/// A new adult in the CPR register with a passport, a driving licence and a phone number, known
/// to the scenario as `alias` (note `cpr:<alias>`). No MitID yet.
pub async fn registered_person(world: &mut LabWorld, alias: &str) -> Person {
    let n = world.lab().unique();
    // Born 1950–1999: an adult whatever the date.
    let born = format!("{:04}-{:02}-01", 1950 + n % 50, 1 + n % 12);
    registered_person_born(world, alias, &born).await
}

/// [`registered_person`] born on `born` (`YYYY-MM-DD`).
async fn registered_person_born(world: &mut LabWorld, alias: &str, born: &str) -> Person {
    let lab = world.lab();
    let body = json!({
        "birth_date": born, "has_passport": true, "has_driving_licence": true, "has_phone": true,
    });
    let (status, answer) = post_json(world, &cpr_url(&lab, "persons"), &body).await;
    assert_eq!(
        status, 201,
        "the CPR register refused a new person: {answer}"
    );
    let person: Person = serde_json::from_value(answer).expect("a CPR person");
    world
        .notes
        .push((format!("cpr:{alias}"), person.cpr.compact()));
    person
}

/// The person `alias` as the CPR register has them now.
pub async fn person_of(world: &mut LabWorld, alias: &str) -> Person {
    let cpr = world
        .note(&format!("cpr:{alias}"))
        .unwrap_or_else(|| panic!("{alias} is not in the CPR register"))
        .to_owned();
    let lab = world.lab();
    let (status, answer) = send_json(
        world,
        reqwest::Method::GET,
        &cpr_url(&lab, &format!("persons/{cpr}")),
        None,
    )
    .await;
    assert_eq!(
        status, 200,
        "the CPR register does not know {alias}: {answer}"
    );
    serde_json::from_value(answer).expect("a CPR person")
}

/// A MitID for the registered person `alias`, created through the broker's admin API.
pub async fn mitid_for(world: &mut LabWorld, alias: &str, ial: Ial) {
    let person = person_of(world, alias).await;
    let lab = world.lab();
    let request = CreateIdentityRequest {
        person: PersonRef::Cpr(person.cpr.compact()),
        name: person.full_name(),
        date_of_birth: person.birth_date.to_string(),
        ial,
        user_id: Some(user_id_for(&lab, alias, lab.unique())),
        nemid_pid: None,
    };
    let (_, status, answer) = create_identity(world, &request).await;
    assert_eq!(status, 201, "the broker refused {alias}'s MitID: {answer}");
    push_citizen(world, alias, &answer);
}

fn push_citizen(world: &mut LabWorld, alias: &str, identity: &Value) {
    world.citizens.retain(|c| c.alias != alias);
    world.citizens.push(Citizen {
        alias: alias.to_owned(),
        user_id: identity["user_id"].as_str().unwrap_or_default().to_owned(),
        uuid: identity["uuid"].as_str().unwrap_or_default().to_owned(),
        devices: vec!["the MitID app".to_owned()],
    });
    world.current = Some(world.citizens.len() - 1);
}

/// The answers a person gives from what they know about themselves (`right`), or a wrong option
/// for every question.
#[must_use]
pub fn answers(person: &Person, challenge: &Challenge, right: bool) -> BTreeMap<String, String> {
    challenge
        .questions
        .iter()
        .map(|q| {
            let truth = if q.text.contains("municipality did you live before") {
                person.previous_municipality.clone().unwrap_or_default()
            } else if q.text.contains("municipality") {
                person.address.municipality.clone()
            } else if q.text.contains("street") {
                person.address.street.clone()
            } else if q.text.contains("year") {
                person.moved_in.format("%Y").to_string()
            } else if q.text.contains("house number") {
                person.address.house_number.to_string()
            } else {
                panic!("the lab's citizen does not understand the question {q:?}")
            };
            let chosen = if right {
                truth
            } else {
                q.options
                    .iter()
                    .find(|o| **o != truth)
                    .cloned()
                    .unwrap_or_default()
            };
            (q.id.clone(), chosen)
        })
        .collect()
}

/// What the last call to Citizen Service or support answered, for the refusal checks.
pub fn remember_answer(world: &mut LabWorld, status: u16, answer: &Value) {
    world
        .notes
        .push(("service_desk_status".into(), status.to_string()));
    world
        .notes
        .push(("service_desk_answer".into(), answer.to_string()));
}

/// Asserts the last desk answer was a 403 whose description starts with `reason`.
pub fn assert_refused(world: &LabWorld, who: &str, reason: &str) {
    let status = world.note("service_desk_status").unwrap_or("none");
    let answer = world.note("service_desk_answer").unwrap_or("");
    let parsed: Value = serde_json::from_str(answer).unwrap_or_default();
    let description = parsed["error_description"].as_str().unwrap_or("");
    assert!(
        status == "403" && (description.starts_with(reason) || parsed["error"] == json!(reason)),
        "{who} should refuse with 403 {reason}; it answered {status}: {answer}"
    );
}

/// A weekday slot at least a week ahead, Monday–Thursday 10:00–14:45, spread by `n` so the
/// scenarios of a run do not fill one slot.
fn future_slot(n: u64) -> String {
    use mitid_devices::time::Weekday;
    let mut day = (super::device::now() + mitid_devices::Span::from_days(7 + n % 21)).date();
    while matches!(
        day.weekday(),
        Weekday::Friday | Weekday::Saturday | Weekday::Sunday
    ) {
        day = day.succ();
    }
    let minutes = 10 * 60 + 15 * (n % 20);
    format!("{day}T{:02}:{:02}:00", minutes / 60, minutes % 60)
}

async fn open_proofing(world: &mut LabWorld, alias: &str) -> String {
    let cpr = world
        .note(&format!("cpr:{alias}"))
        .expect("a registered person")
        .to_owned();
    let lab = world.lab();
    let (status, answer) =
        post_json(world, &office_url(&lab, "proofing"), &json!({"cpr": cpr})).await;
    assert_eq!(
        status, 201,
        "Citizen Service did not open a proofing: {answer}"
    );
    let id = answer["proofing_id"]
        .as_str()
        .expect("proofing_id")
        .to_owned();
    world.notes.push((format!("proofing:{alias}"), id.clone()));
    id
}

fn proofing_of(world: &LabWorld, alias: &str) -> String {
    world
        .note(&format!("proofing:{alias}"))
        .unwrap_or_else(|| panic!("{alias} has not come to Citizen Service"))
        .to_owned()
}

/// `alias` answers the CPR questions at the counter.
async fn answer_questions(world: &mut LabWorld, alias: &str, right: bool) -> (u16, Value) {
    let id = proofing_of(world, alias);
    let lab = world.lab();
    let (status, challenge) = post_json(
        world,
        &office_url(&lab, &format!("proofing/{id}/questions")),
        &json!({}),
    )
    .await;
    assert_eq!(
        status, 201,
        "Citizen Service asked no questions: {challenge}"
    );
    let challenge: Challenge = serde_json::from_value(challenge).expect("a CPR challenge");
    let person = person_of(world, alias).await;
    let given = answers(&person, &challenge, right);
    let answer = post_json(
        world,
        &office_url(&lab, &format!("proofing/{id}/answers")),
        &json!({"answers": given}),
    )
    .await;
    remember_answer(world, answer.0, &answer.1);
    answer
}

/// A registered person with MitID for `days` days (recorded at Citizen Service for the witness
/// rule, as a MitID issued elsewhere on that date).
async fn witness_with_mitid_for(world: &mut LabWorld, alias: &str, days: i64, age: Option<i32>) {
    match age {
        None => {
            registered_person(world, alias).await;
        }
        Some(years) => {
            // `years` old today: born that many years ago, a month later in the year.
            let today = super::device::now().date();
            let (year, month) = if today.month == 12 {
                (today.year - years, 12)
            } else {
                (today.year - years - 1, today.month + 1)
            };
            registered_person_born(world, alias, &format!("{year:04}-{month:02}-01")).await;
        }
    }
    mitid_for(world, alias, Ial::Substantial).await;
    let cpr = world
        .note(&format!("cpr:{alias}"))
        .expect("registered")
        .to_owned();
    let lab = world.lab();
    let issued_at = i64::try_from(super::device::now().unix_secs()).unwrap_or(0) - days * 86_400;
    let (status, answer) = post_json(
        world,
        &office_url(&lab, "control/mitid-issued"),
        &json!({"cpr": cpr, "issued_at": issued_at}),
    )
    .await;
    assert_eq!(
        status, 204,
        "Citizen Service did not record the witness's MitID: {answer}"
    );
}

async fn vouch(world: &mut LabWorld, alias: &str, witness: &str) -> (u16, Value) {
    if world.note(&format!("proofing:{alias}")).is_none() {
        open_proofing(world, alias).await;
    }
    let id = proofing_of(world, alias);
    let witness_cpr = world
        .note(&format!("cpr:{witness}"))
        .unwrap_or_else(|| panic!("no witness {witness:?}"))
        .to_owned();
    let lab = world.lab();
    let answer = post_json(
        world,
        &office_url(&lab, &format!("proofing/{id}/witness")),
        &json!({"witness_cpr": witness_cpr}),
    )
    .await;
    remember_answer(world, answer.0, &answer.1);
    answer
}

// ---------------------------------------------------------------------------------------------
// Steps

#[given(regex = r#"^a person "([^"]+)" in the CPR register with a passport and no MitID$"#)]
async fn person_without_mitid(world: &mut LabWorld, alias: String) {
    registered_person(world, &alias).await;
}

#[given(regex = r#"^a witness "([^"]+)" who has had MitID for (\d+) days$"#)]
async fn witness(world: &mut LabWorld, alias: String, days: i64) {
    witness_with_mitid_for(world, &alias, days, None).await;
}

#[given(regex = r#"^a witness "([^"]+)" aged (\d+) who has had MitID for (\d+) days$"#)]
async fn young_witness(world: &mut LabWorld, alias: String, age: i32, days: i64) {
    witness_with_mitid_for(world, &alias, days, Some(age)).await;
}

#[given(regex = r#"^"([^"]+)" has already witnessed for (\d+) people$"#)]
async fn already_witnessed(world: &mut LabWorld, witness: String, count: u32) {
    for i in 0..count {
        let other = format!("{witness}'s acquaintance {i}");
        registered_person(world, &other).await;
        let (status, answer) = vouch(world, &other, &witness).await;
        assert_eq!(
            status, 200,
            "{witness} could not witness for {other}: {answer}"
        );
    }
}

#[when(regex = r#"^"([^"]+)" books an appointment at Citizen Service$"#)]
async fn books(world: &mut LabWorld, alias: String) {
    let cpr = world
        .note(&format!("cpr:{alias}"))
        .expect("a registered person")
        .to_owned();
    let person = person_of(world, &alias).await;
    let lab = world.lab();
    let n = lab.unique();
    let body = json!({
        "municipality_code": person.address.municipality_code,
        "start": future_slot(n),
        "cpr": cpr,
        "purpose": "MitID",
    });
    let (status, answer) = post_json(world, &office_url(&lab, "appointments"), &body).await;
    assert_eq!(status, 201, "Citizen Service refused the booking: {answer}");
}

#[when(regex = r#"^"([^"]+)" shows (?:her|his|their) passport at Citizen Service$"#)]
async fn shows_passport(world: &mut LabWorld, alias: String) {
    let id = open_proofing(world, &alias).await;
    let person = person_of(world, &alias).await;
    let lab = world.lab();
    let number = person.passport_number.expect("a passport");
    let (status, answer) = post_json(
        world,
        &office_url(&lab, &format!("proofing/{id}/document")),
        &json!({"kind": "passport", "number": number}),
    )
    .await;
    assert_eq!(
        status, 200,
        "Citizen Service did not accept the passport: {answer}"
    );
}

#[when(regex = r#"^"([^"]+)" answers the CPR questions (right|wrong) at Citizen Service$"#)]
async fn answers_at_counter(world: &mut LabWorld, alias: String, how: String) {
    let (status, answer) = answer_questions(world, &alias, how == "right").await;
    if how == "right" {
        assert_eq!(status, 200, "the right answers were refused: {answer}");
    }
}

#[when(
    regex = r#"^"([^"]+)" comes to Citizen Service with "([^"]+)" as (?:her|his|their) witness$"#
)]
async fn comes_with_witness(world: &mut LabWorld, alias: String, witness: String) {
    vouch(world, &alias, &witness).await;
}

#[then(expr = "Citizen Service refuses with {string}")]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn office_refuses(world: &mut LabWorld, reason: String) {
    assert_refused(world, "Citizen Service", &reason);
}

#[when(
    regex = r#"^Citizen Service issues MitID to "([^"]+)" with (the MitID app|a code display)$"#
)]
async fn issues(world: &mut LabWorld, alias: String, device: String) {
    let (status, answer) = issue(world, &alias, &device).await;
    assert_eq!(status, 201, "Citizen Service did not issue MitID: {answer}");
    push_citizen(world, &alias, &answer["identity"]);
    for issued in answer["authenticators"].as_array().into_iter().flatten() {
        match issued["kind"].as_str() {
            Some("app") => world.notes.push((
                format!("activation_code:{alias}"),
                issued["activation_code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )),
            Some("code_display") => super::device::remember_code_token(world, &alias, issued),
            _ => {}
        }
    }
    if device == "a code display" {
        let password = world
            .note("counter_password")
            .unwrap_or_default()
            .to_owned();
        world.devices.set_password(&alias, &password);
    }
}

async fn issue(world: &mut LabWorld, alias: &str, device: &str) -> (u16, Value) {
    let id = proofing_of(world, alias);
    let lab = world.lab();
    let n = lab.unique();
    let tag: String = lab.run_tag.chars().take(5).collect();
    let body = if device == "a code display" {
        let password = format!("borgerservice-{n}");
        world
            .notes
            .push(("counter_password".into(), password.clone()));
        json!({"authenticators": ["code_display", "password"], "password": password,
               "user_id": format!("counter.{tag}.{n}")})
    } else {
        json!({"authenticators": ["app"], "user_id": format!("counter.{tag}.{n}")})
    };
    let answer = post_json(
        world,
        &office_url(&lab, &format!("proofing/{id}/issue")),
        &body,
    )
    .await;
    remember_answer(world, answer.0, &answer.1);
    answer
}

#[then(regex = r#"^Citizen Service refuses to issue MitID to "([^"]+)" with "([^"]+)"$"#)]
async fn refuses_to_issue(world: &mut LabWorld, alias: String, reason: String) {
    issue(world, &alias, "the MitID app").await;
    assert_refused(world, "Citizen Service", &reason);
}

#[then(regex = r#"^Citizen Service revoked the app on "([^"]+)"'s (?:lost|old) phone$"#)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn office_revoked_old_app(world: &mut LabWorld, alias: String) {
    let answer: Value = world
        .note("service_desk_answer")
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or_default();
    assert_eq!(
        (
            answer["existing"].as_bool(),
            answer["revoked_apps"].as_u64()
        ),
        (Some(true), Some(1)),
        "Citizen Service's answer to {alias}'s new app: {answer}"
    );
}

#[given(regex = r#"^a person "([^"]+)" without a CPR number, with a foreign passport$"#)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn foreign_person(world: &mut LabWorld, alias: String) {
    let n = world.lab().unique();
    world
        .notes
        .push((format!("foreign_passport:{alias}"), format!("ZX{n:07}")));
}

#[when(regex = r#"^Citizen Service hands "([^"]+)" a P code$"#)]
async fn hands_p_code(world: &mut LabWorld, alias: String) {
    let passport = world
        .note(&format!("foreign_passport:{alias}"))
        .expect("a foreign passport")
        .to_owned();
    let lab = world.lab();
    let body = json!({"name": format!("{alias} Visitor"), "date_of_birth": "1988-04-02",
                      "passport_number": passport});
    let (status, answer) = post_json(world, &office_url(&lab, "p-codes"), &body).await;
    assert_eq!(status, 201, "Citizen Service issued no P code: {answer}");
    world.notes.push((
        format!("p_code_id:{alias}"),
        answer["p_code_id"].as_str().unwrap_or_default().to_owned(),
    ));
    world.notes.push((
        format!("p_code:{alias}"),
        answer["p_code"].as_str().unwrap_or_default().to_owned(),
    ));
}

async fn redeem(world: &mut LabWorld, alias: &str) -> (u16, Value) {
    let code = world
        .note(&format!("p_code:{alias}"))
        .expect("a P code")
        .to_owned();
    redeem_typed(world, alias, &code).await
}

async fn redeem_typed(world: &mut LabWorld, alias: &str, code: &str) -> (u16, Value) {
    let id = world
        .note(&format!("p_code_id:{alias}"))
        .expect("a P code")
        .to_owned();
    let lab = world.lab();
    let n = lab.unique();
    let tag: String = lab.run_tag.chars().take(5).collect();
    let answer = post_json(
        world,
        &office_url(&lab, &format!("p-codes/{id}/redeem")),
        &json!({"code": code, "user_id": format!("pcode.{tag}.{n}")}),
    )
    .await;
    remember_answer(world, answer.0, &answer.1);
    answer
}

#[when(regex = r#"^"([^"]+)" redeems the P code for MitID$"#)]
async fn redeems(world: &mut LabWorld, alias: String) {
    let (status, identity) = redeem(world, &alias).await;
    assert_eq!(status, 201, "the P code was not accepted: {identity}");
    push_citizen(world, &alias, &identity);
    // The new MitID gets its app like any other: an activation code for the phone.
    let (status, issued) = add_authenticator(world, &alias, &json!({"kind": "app"})).await;
    assert_eq!(status, 201, "the broker issued no app: {issued}");
    world.notes.push((
        format!("activation_code:{alias}"),
        issued["activation_code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    ));
}

#[then(regex = r#"^the P code of "([^"]+)" cannot be used again$"#)]
async fn p_code_spent(world: &mut LabWorld, alias: String) {
    let (status, answer) = redeem(world, &alias).await;
    assert_eq!(status, 403, "a used P code must be refused: {answer}");
    assert!(
        answer["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("p_code")),
        "{answer}"
    );
}

#[when(regex = r#"^"([^"]+)" types a wrong P code (\d+) times$"#)]
async fn wrong_p_codes(world: &mut LabWorld, alias: String, times: u32) {
    let right = world
        .note(&format!("p_code:{alias}"))
        .expect("a P code")
        .to_owned();
    // Another 8-digit code: the right one with its first digit changed.
    let first = right
        .chars()
        .next()
        .and_then(|c| c.to_digit(10))
        .unwrap_or(0);
    let wrong = format!("{}{}", (first + 1) % 10, &right[1..]);
    for attempt in 1..=times {
        let (status, answer) = redeem_typed(world, &alias, &wrong).await;
        assert!(
            status == 400 || status == 403,
            "wrong P code {attempt} must be refused: {status} {answer}"
        );
    }
}

/// Moves the lab clock every component shares (only in `@serial` scenarios; the runner puts it
/// back afterwards).
#[when(regex = r"^(\d+) days pass$")]
async fn days_pass(world: &mut LabWorld, days: i64) {
    world.notes.push((
        super::calendar::CLOCK_MOVED.to_owned(),
        format!("{days} days"),
    ));
    let (status, clock) = control(
        world,
        reqwest::Method::POST,
        "control/clock/advance",
        Some(&json!({"seconds": days * 86_400})),
    )
    .await;
    assert_eq!(status, 200, "the broker did not move its clock: {clock}");
}
