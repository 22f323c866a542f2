//! The CPR register: the persons behind the scenario's citizens, and what a person knows about
//! themselves (the answers to the questions Citizen Service and support generate from it).
//!
//! A scenario knows a person by alias; the note `cpr:<alias>` holds their CPR number.

use std::collections::BTreeMap;

use mitid_components::cpr::{Challenge, Person};
use serde_json::{Value, json};
use url::Url;

use super::ActionError;
use super::lab_api::{post_json, send_json, service_url};
use crate::world::{Lab, LabWorld};

const REGISTER: &str = "the CPR register";

/// `path` at the CPR register.
pub fn cpr_url(lab: &Lab, path: &str) -> Result<Url, ActionError> {
    service_url(lab.endpoints.cpr.as_ref(), "a CPR register", path)
}

/// The note holding `alias`'s CPR number.
#[must_use]
pub fn cpr_note(alias: &str) -> String {
    format!("cpr:{alias}")
}

/// `alias`'s CPR number as this scenario knows it.
pub fn cpr_of(world: &LabWorld, alias: &str) -> Result<String, ActionError> {
    world
        .note(&cpr_note(alias))
        .map(str::to_owned)
        .ok_or_else(|| ActionError::Citizen(format!("{alias} has no CPR number in this scenario")))
}

/// A new adult in the CPR register with a passport, a driving licence and a phone number, known
/// to the scenario as `alias`. No MitID yet.
pub async fn registered_person(world: &mut LabWorld, alias: &str) -> Result<Person, ActionError> {
    let n = world.lab().unique();
    // Born 1950–1999: an adult whatever the date.
    let born = format!("{:04}-{:02}-01", 1950 + n % 50, 1 + n % 12);
    registered_person_born(world, alias, &born).await
}

/// [`registered_person`] born on `born` (`YYYY-MM-DD`).
pub async fn registered_person_born(
    world: &mut LabWorld,
    alias: &str,
    born: &str,
) -> Result<Person, ActionError> {
    let lab = world.lab();
    let body = json!({
        "birth_date": born, "has_passport": true, "has_driving_licence": true, "has_phone": true,
    });
    let answer = post_json(world, &cpr_url(&lab, "persons")?, &body)
        .await?
        .expect(201, REGISTER, "a new person")?;
    let person = person_from(answer, "a new person")?;
    world.notes.push((cpr_note(alias), person.cpr.compact()));
    Ok(person)
}

fn person_from(answer: Value, what: &str) -> Result<Person, ActionError> {
    serde_json::from_value(answer.clone()).map_err(|_| ActionError::Malformed {
        service: REGISTER,
        what: what.to_owned(),
        missing: "a person",
        answer,
    })
}

/// The person `alias` as the CPR register has them now.
pub async fn person_of(world: &mut LabWorld, alias: &str) -> Result<Person, ActionError> {
    let cpr = cpr_of(world, alias)?;
    let lab = world.lab();
    let what = format!("a look-up of {alias}");
    let answer = send_json(
        world,
        reqwest::Method::GET,
        &cpr_url(&lab, &format!("persons/{cpr}"))?,
        None,
    )
    .await?
    .expect(200, REGISTER, &what)?;
    person_from(answer, &what)
}

/// The phone number the CPR register has for `alias`.
pub async fn phone_number(world: &mut LabWorld, alias: &str) -> Result<String, ActionError> {
    person_of(world, alias).await?.phone_number.ok_or_else(|| {
        ActionError::Citizen(format!("{alias} has no phone number in the CPR register"))
    })
}

/// `alias` tells the CPR register of a new phone number (a fresh one of the run).
pub async fn change_phone(world: &mut LabWorld, alias: &str) -> Result<(), ActionError> {
    let cpr = cpr_of(world, alias)?;
    let lab = world.lab();
    let number = format!("+4529{:06}", lab.unique() % 1_000_000);
    send_json(
        world,
        reqwest::Method::PUT,
        &cpr_url(&lab, &format!("persons/{cpr}/phone"))?,
        Some(&json!({"phone_number": number})),
    )
    .await?
    .expect(200, REGISTER, format!("{alias}'s new phone number"))?;
    Ok(())
}

/// A person for a new citizen `alias` of the run (number `n`): `(CPR, name, birth date)`, from
/// the CPR register when the lab runs one (the broker checks CPR numbers against it), else a
/// CPR-shaped number of the lab's own. Leaves the note `cpr:<alias>`.
pub async fn person_for(
    world: &mut LabWorld,
    alias: &str,
    n: u64,
) -> Result<(String, String, String), ActionError> {
    let lab = world.lab();
    if lab.endpoints.cpr.is_some() {
        // Unrecorded (the broker's identity call that follows is the evidence of the set-up).
        let url = cpr_url(&lab, "persons")?;
        let response = lab
            .http
            .post(url.clone())
            .json(&json!({}))
            .send()
            .await
            .map_err(|err| ActionError::Unreachable {
                service: REGISTER,
                url: url.to_string(),
                reason: err.to_string(),
            })?;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        let answer = super::Reply {
            status,
            body: answer,
        }
        .expect(201, REGISTER, "a new person")?;
        let cpr = super::field(&answer, "cpr", REGISTER, "a new person")?.replace('-', "");
        let name = format!(
            "{} {}",
            answer["given_name"].as_str().unwrap_or(alias),
            answer["surname"].as_str().unwrap_or("Testesen")
        );
        let born = answer["birth_date"]
            .as_str()
            .unwrap_or("1980-01-01")
            .to_owned();
        world.notes.push((cpr_note(alias), cpr.clone()));
        return Ok((cpr, name, born));
    }
    // Without a register: a CPR-shaped number born 1950-1999 (century digit 0-3), unique per n.
    let day = 1 + n % 28;
    let month = 1 + (n / 28) % 12;
    let year = 50 + (n / 336) % 50;
    let serial = n % 4000;
    let cpr = format!("{day:02}{month:02}{year:02}{serial:04}");
    world.notes.push((cpr_note(alias), cpr.clone()));
    Ok((
        cpr,
        format!("{alias} Testesen"),
        format!("19{year:02}-{month:02}-{day:02}"),
    ))
}

/// The answers a person gives from what they know about themselves (`right`), or a wrong option
/// for every question. `Err` names a question the lab's citizen does not understand.
pub fn answers(
    person: &Person,
    challenge: &Challenge,
    right: bool,
) -> Result<BTreeMap<String, String>, ActionError> {
    challenge
        .questions
        .iter()
        .map(|q| {
            let truth = person.answer_to(&q.text).ok_or_else(|| {
                ActionError::Citizen(format!(
                    "the lab's citizen does not understand the question {q:?}"
                ))
            })?;
            let chosen = if right {
                truth
            } else {
                q.options
                    .iter()
                    .find(|o| **o != truth)
                    .cloned()
                    .unwrap_or_default()
            };
            Ok((q.id.clone(), chosen))
        })
        .collect()
}
