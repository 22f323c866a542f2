//! Citizen Service (Borgerservice): booking an appointment, proving identity with a passport and
//! questions from the CPR register or with a witness, issuing MitID at IAL High, and P codes for
//! people without a CPR number.
//!
//! The desk's answers that a scenario may judge as a refusal are kept with
//! [`LabWorld::remember_desk_answer`] and answered as a [`Reply`].

use mitid_components::cpr::Challenge;
use mitid_components::idp::admin::Ial;
use mitid_devices::Span;
use mitid_devices::time::Weekday;
use serde_json::{Value, json};
use url::Url;

use super::lab_api::{Reply, post_json, service_url};
use super::{ActionError, app, clock, cpr, field, identity};
use crate::world::{Lab, LabWorld};

const OFFICE: &str = "Citizen Service";

fn office_url(lab: &Lab, path: &str) -> Result<Url, ActionError> {
    service_url(
        lab.endpoints.citizen_service.as_ref(),
        "Citizen Service",
        path,
    )
}

/// A desk call whose answer the scenario may judge: posted, remembered, answered.
async fn desk_post(world: &mut LabWorld, path: &str, body: &Value) -> Result<Reply, ActionError> {
    let lab = world.lab();
    let reply = post_json(world, &office_url(&lab, path)?, body).await?;
    world.remember_desk_answer(reply.status, &reply.body);
    Ok(reply)
}

/// A weekday slot at least a week ahead of the lab clock, Monday–Thursday 10:00–14:45, spread by
/// `n` so the scenarios of a run do not fill one slot.
async fn future_slot(lab: &Lab, n: u64) -> Result<String, ActionError> {
    let mut day = (clock::now(lab).await? + Span::from_days(7 + n % 21)).date();
    while matches!(
        day.weekday(),
        Weekday::Friday | Weekday::Saturday | Weekday::Sunday
    ) {
        day = day.succ();
    }
    let minutes = 10 * 60 + 15 * (n % 20);
    Ok(format!("{day}T{:02}:{:02}:00", minutes / 60, minutes % 60))
}

/// `alias` books an appointment about MitID at the counter of their municipality.
pub async fn book_appointment(world: &mut LabWorld, alias: &str) -> Result<(), ActionError> {
    let person = cpr::person_of(world, alias).await?;
    let lab = world.lab();
    let body = json!({
        "municipality_code": person.address.municipality_code,
        "start": future_slot(&lab, lab.unique()).await?,
        "cpr": person.cpr.compact(),
        "purpose": "MitID",
    });
    post_json(world, &office_url(&lab, "appointments")?, &body)
        .await?
        .expect(201, OFFICE, format!("{alias}'s booking"))?;
    Ok(())
}

/// Opens a proofing of `alias` at the counter; answers its id (kept in the note `proofing:<alias>`).
pub async fn open_proofing(world: &mut LabWorld, alias: &str) -> Result<String, ActionError> {
    let cpr = cpr::cpr_of(world, alias)?;
    let lab = world.lab();
    let what = format!("a proofing of {alias}");
    let answer = post_json(world, &office_url(&lab, "proofing")?, &json!({"cpr": cpr}))
        .await?
        .expect(201, OFFICE, &what)?;
    let id = field(&answer, "proofing_id", OFFICE, &what)?;
    world.notes.push((format!("proofing:{alias}"), id.clone()));
    Ok(id)
}

fn proofing_of(world: &LabWorld, alias: &str) -> Result<String, ActionError> {
    world
        .note(&format!("proofing:{alias}"))
        .map(str::to_owned)
        .ok_or_else(|| ActionError::Citizen(format!("{alias} has not come to Citizen Service")))
}

/// `alias` opens a proofing and shows their passport.
pub async fn show_passport(world: &mut LabWorld, alias: &str) -> Result<(), ActionError> {
    let id = open_proofing(world, alias).await?;
    let person = cpr::person_of(world, alias).await?;
    let number = person
        .passport_number
        .ok_or_else(|| ActionError::Citizen(format!("{alias} has no passport")))?;
    let lab = world.lab();
    post_json(
        world,
        &office_url(&lab, &format!("proofing/{id}/document"))?,
        &json!({"kind": "passport", "number": number}),
    )
    .await?
    .expect(200, OFFICE, format!("{alias}'s passport"))?;
    Ok(())
}

/// `alias` answers the CPR questions at the counter, all right or all wrong.
pub async fn answer_questions(
    world: &mut LabWorld,
    alias: &str,
    right: bool,
) -> Result<Reply, ActionError> {
    let id = proofing_of(world, alias)?;
    let lab = world.lab();
    let what = format!("questions for {alias}");
    let challenge = post_json(
        world,
        &office_url(&lab, &format!("proofing/{id}/questions"))?,
        &json!({}),
    )
    .await?
    .expect(201, OFFICE, &what)?;
    let challenge: Challenge =
        serde_json::from_value(challenge.clone()).map_err(|_| ActionError::Malformed {
            service: OFFICE,
            what,
            missing: "a CPR challenge",
            answer: challenge,
        })?;
    let person = cpr::person_of(world, alias).await?;
    let given = cpr::answers(&person, &challenge, right)?;
    desk_post(
        world,
        &format!("proofing/{id}/answers"),
        &json!({"answers": given}),
    )
    .await
}

/// A registered person `alias` (aged `age` today when given) with MitID for `days` days
/// (recorded at Citizen Service for the witness rule, as a MitID issued elsewhere on that date).
pub async fn witness_with_mitid_for(
    world: &mut LabWorld,
    alias: &str,
    days: i64,
    age: Option<i32>,
) -> Result<(), ActionError> {
    let lab = world.lab();
    match age {
        None => {
            cpr::registered_person(world, alias).await?;
        }
        Some(years) => {
            // `years` old today: born that many years ago, a month later in the year.
            let today = clock::now(&lab).await?.date();
            let (year, month) = if today.month == 12 {
                (today.year - years, 12)
            } else {
                (today.year - years - 1, today.month + 1)
            };
            cpr::registered_person_born(world, alias, &format!("{year:04}-{month:02}-01")).await?;
        }
    }
    identity::mitid_for(world, alias, Ial::Substantial).await?;
    let cpr = cpr::cpr_of(world, alias)?;
    let now = i64::try_from(clock::now(&lab).await?.unix_secs()).unwrap_or(0);
    post_json(
        world,
        &office_url(&lab, "control/mitid-issued")?,
        &json!({"cpr": cpr, "issued_at": now - days * 86_400}),
    )
    .await?
    .expect(204, OFFICE, format!("the date of {alias}'s MitID"))?;
    Ok(())
}

/// `witness` vouches for `alias` at the counter (a proofing is opened if none is).
pub async fn vouch(world: &mut LabWorld, alias: &str, witness: &str) -> Result<Reply, ActionError> {
    if world.note(&format!("proofing:{alias}")).is_none() {
        open_proofing(world, alias).await?;
    }
    let id = proofing_of(world, alias)?;
    let witness_cpr = cpr::cpr_of(world, witness)?;
    desk_post(
        world,
        &format!("proofing/{id}/witness"),
        &json!({"witness_cpr": witness_cpr}),
    )
    .await
}

/// Citizen Service issues `alias` MitID with the app, or with a code display and a password
/// chosen at the counter (kept in the note `counter_password`) when `code_display`.
pub async fn issue(
    world: &mut LabWorld,
    alias: &str,
    code_display: bool,
) -> Result<Reply, ActionError> {
    let id = proofing_of(world, alias)?;
    let lab = world.lab();
    let n = lab.unique();
    let user_id = format!("counter.{}.{n}", identity::run_stem(&lab));
    let body = if code_display {
        let password = format!("borgerservice-{n}");
        world
            .notes
            .push(("counter_password".into(), password.clone()));
        json!({"authenticators": ["code_display", "password"], "password": password,
               "user_id": user_id})
    } else {
        json!({"authenticators": ["app"], "user_id": user_id})
    };
    desk_post(world, &format!("proofing/{id}/issue"), &body).await
}

/// `alias` takes what Citizen Service issued (its answer to [`issue`]): the MitID becomes the
/// scenario's citizen, an app's activation code is kept in the note `activation_code:<alias>`, a
/// code display goes into the citizen's hands with the password chosen at the counter.
pub async fn take_issued(
    world: &mut LabWorld,
    alias: &str,
    answer: &Value,
) -> Result<(), ActionError> {
    identity::adopt_identity(world, alias, &answer["identity"]);
    for issued in answer["authenticators"].as_array().into_iter().flatten() {
        match issued["kind"].as_str() {
            Some("app") => {
                let code = field(issued, "activation_code", OFFICE, "a new app")?;
                world.notes.push((format!("activation_code:{alias}"), code));
            }
            Some("code_display") => {
                app::remember_code_token(world, alias, issued).await?;
                let password = world
                    .note("counter_password")
                    .unwrap_or_default()
                    .to_owned();
                world.devices.set_password(alias, &password);
            }
            _ => {}
        }
    }
    Ok(())
}

/// The note of a foreign passport number of `alias` (people without a CPR number).
#[must_use]
pub fn foreign_passport_note(alias: &str) -> String {
    format!("foreign_passport:{alias}")
}

/// Citizen Service hands `alias` (a foreign passport, no CPR number) a P code; kept in the notes
/// `p_code_id:<alias>` and `p_code:<alias>`.
pub async fn hand_p_code(world: &mut LabWorld, alias: &str) -> Result<(), ActionError> {
    let passport = world
        .note(&foreign_passport_note(alias))
        .map(str::to_owned)
        .ok_or_else(|| ActionError::Citizen(format!("{alias} has no foreign passport")))?;
    let lab = world.lab();
    let body = json!({"name": format!("{alias} Visitor"), "date_of_birth": "1988-04-02",
                      "passport_number": passport});
    let what = format!("a P code for {alias}");
    let answer = post_json(world, &office_url(&lab, "p-codes")?, &body)
        .await?
        .expect(201, OFFICE, &what)?;
    let id = field(&answer, "p_code_id", OFFICE, &what)?;
    let code = field(&answer, "p_code", OFFICE, &what)?;
    world.notes.push((format!("p_code_id:{alias}"), id));
    world.notes.push((format!("p_code:{alias}"), code));
    Ok(())
}

/// The P code Citizen Service handed `alias`.
pub fn p_code_of(world: &LabWorld, alias: &str) -> Result<String, ActionError> {
    world
        .note(&format!("p_code:{alias}"))
        .map(str::to_owned)
        .ok_or_else(|| ActionError::Citizen(format!("{alias} was handed no P code")))
}

/// `alias` redeems `code` (typed by them, right or wrong) for a MitID.
pub async fn redeem_p_code(
    world: &mut LabWorld,
    alias: &str,
    code: &str,
) -> Result<Reply, ActionError> {
    let id = world
        .note(&format!("p_code_id:{alias}"))
        .map(str::to_owned)
        .ok_or_else(|| ActionError::Citizen(format!("{alias} was handed no P code")))?;
    let lab = world.lab();
    let user_id = format!("pcode.{}.{}", identity::run_stem(&lab), lab.unique());
    desk_post(
        world,
        &format!("p-codes/{id}/redeem"),
        &json!({"code": code, "user_id": user_id}),
    )
    .await
}
