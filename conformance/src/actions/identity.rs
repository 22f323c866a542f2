//! MitID identities at the broker (its identity admin API): creating the scenario's citizens,
//! their authenticators, and their NemID.
//!
//! Every citizen gets a user ID no other scenario of the run (or earlier run against the same
//! broker) has, so whatever the broker is scripted to do for them hits this scenario only.

use mitid_components::cvr::CvrRegister;
use mitid_components::idp::admin::{
    CreateIdentityRequest, Ial, PersonRef, SetOrganisationsRequest,
};
use serde_json::{Value, json};

use super::lab_api::{BROKER, Reply, control};
use super::{ActionError, cpr, field};
use crate::world::{Citizen, Lab, LabWorld};

/// When the lab's NemID holders got their NemID: before every milestone of the calendar, so the
/// broker records them whatever its clock says (it issues no new NemID after support closes).
pub const NEMID_ISSUED_ON: &str = "2021-09-01";
/// The NemID password of the lab's citizens (the devices crate's rules: 6–40 characters).
pub const NEMID_PASSWORD: &str = "Noegle-kort-2021";

/// The device a citizen of the journeys holds unless a step says otherwise.
pub const APP: &str = "the MitID app";

/// `alias` + run tag + counter, within the broker's 6–20 characters of `A-Za-z0-9._-`.
#[must_use]
pub fn user_id_for(lab: &Lab, alias: &str, n: u64) -> String {
    let stem: String = alias
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(6)
        .collect::<String>()
        .to_lowercase();
    let stem = if stem.is_empty() {
        "citizen".to_owned()
    } else {
        stem
    };
    format!("{stem}.{}.{n}", run_stem(lab))
}

/// The first characters of the run tag, for user IDs the desks choose.
#[must_use]
pub fn run_stem(lab: &Lab) -> String {
    lab.run_tag.chars().take(5).collect()
}

/// What kind of person backs a new citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    /// A person of the CPR register (or a CPR-shaped number when the lab runs none).
    Cpr,
    /// No CPR number: identified with a P code.
    PCode,
    /// A new adult of the CPR register with a passport, a driving licence and a phone (see
    /// [`cpr::registered_person`]), so support and Citizen Service can identify them.
    Registered,
}

/// Creates a MitID identity no other scenario uses for `alias`, holding `device`, with a NemID
/// PID when `nemid`; makes the citizen the scenario's current one.
pub async fn create_citizen(
    world: &mut LabWorld,
    alias: &str,
    device: &str,
    ial: Ial,
    backing: Backing,
    nemid: bool,
) -> Result<Citizen, ActionError> {
    let lab = world.lab();
    let n = lab.unique();
    let user_id = user_id_for(&lab, alias, n);
    let (person, name, date_of_birth) = match backing {
        Backing::Cpr => {
            let (cpr, name, born) = cpr::person_for(world, alias, n).await?;
            (PersonRef::Cpr(cpr), name, born)
        }
        Backing::Registered => {
            let person = cpr::registered_person(world, alias).await?;
            (
                PersonRef::Cpr(person.cpr.compact()),
                person.full_name(),
                person.birth_date.to_string(),
            )
        }
        // P codes are 8 digits, valid 60 days, one use: one per citizen of the run.
        Backing::PCode => (
            PersonRef::PCode(format!("{:08}", 10_000_000 + n % 90_000_000)),
            format!("{alias} Testesen"),
            "1990-05-17".to_owned(),
        ),
    };
    let request = CreateIdentityRequest {
        person,
        name,
        date_of_birth,
        ial,
        user_id: Some(user_id.clone()),
        nemid_pid: nemid.then(|| format!("9208-2002-2-{n:012}")),
    };
    let what = format!("{alias}'s MitID");
    let answer = create_identity(world, &request)
        .await?
        .expect(201, BROKER, &what)?;
    let citizen = Citizen {
        alias: alias.to_owned(),
        user_id,
        uuid: field(&answer, "uuid", BROKER, &what)?,
        devices: vec![device.to_owned()],
    };
    world.citizens.push(citizen.clone());
    world.current = Some(world.citizens.len() - 1);
    Ok(citizen)
}

/// The CVR number of the scenario's company `alias`: the n-th company alias the scenario names
/// is the n-th company of the lab's synthetic CVR register.
pub fn company_cvr(world: &mut LabWorld, alias: &str) -> Result<String, ActionError> {
    if let Some((_, cvr)) = world.companies.iter().find(|(a, _)| a == alias) {
        return Ok(cvr.clone());
    }
    let register = CvrRegister::embedded()
        .map_err(|e| ActionError::Citizen(format!("the lab's CVR register: {e}")))?;
    let company = register
        .companies()
        .get(world.companies.len())
        .ok_or_else(|| {
            ActionError::Citizen(format!(
                "the scenario names more companies than the lab's CVR register has ({})",
                register.companies().len()
            ))
        })?;
    world
        .companies
        .push((alias.to_owned(), company.cvr.clone()));
    Ok(company.cvr.clone())
}

/// `PUT admin/identities/{uuid}/organisations`: the citizen `alias` acts for the scenario's
/// companies `companies` (aliases) in business logins.
pub async fn act_for(
    world: &mut LabWorld,
    alias: &str,
    companies: &[&str],
) -> Result<(), ActionError> {
    let uuid = super::citizen(world, alias)?.uuid;
    let cvrs = companies
        .iter()
        .map(|company| company_cvr(world, company))
        .collect::<Result<Vec<_>, _>>()?;
    let body = serde_json::to_value(SetOrganisationsRequest {
        organisations: cvrs,
    })
    .expect("organisation requests serialise");
    control(
        world,
        reqwest::Method::PUT,
        &format!("admin/identities/{uuid}/organisations"),
        Some(&body),
    )
    .await?
    .expect(200, BROKER, format!("the companies {alias} acts for"))?;
    Ok(())
}

/// `POST admin/identities` at the broker.
pub async fn create_identity(
    world: &mut LabWorld,
    request: &CreateIdentityRequest,
) -> Result<Reply, ActionError> {
    let body = serde_json::to_value(request).expect("identity requests serialise");
    control(
        world,
        reqwest::Method::POST,
        "admin/identities",
        Some(&body),
    )
    .await
}

/// A MitID for the registered person `alias` (see [`cpr::registered_person`]).
pub async fn mitid_for(world: &mut LabWorld, alias: &str, ial: Ial) -> Result<(), ActionError> {
    let person = cpr::person_of(world, alias).await?;
    let lab = world.lab();
    let request = CreateIdentityRequest {
        person: PersonRef::Cpr(person.cpr.compact()),
        name: person.full_name(),
        date_of_birth: person.birth_date.to_string(),
        ial,
        user_id: Some(user_id_for(&lab, alias, lab.unique())),
        nemid_pid: None,
    };
    let answer =
        create_identity(world, &request)
            .await?
            .expect(201, BROKER, format!("{alias}'s MitID"))?;
    adopt_identity(world, alias, &answer);
    Ok(())
}

/// Makes the broker's `identity` (as it answered its creation) the scenario's citizen `alias`,
/// holding the app, and the current one.
pub fn adopt_identity(world: &mut LabWorld, alias: &str, identity: &Value) {
    world.citizens.retain(|c| c.alias != alias);
    world.citizens.push(Citizen {
        alias: alias.to_owned(),
        user_id: identity["user_id"].as_str().unwrap_or_default().to_owned(),
        uuid: identity["uuid"].as_str().unwrap_or_default().to_owned(),
        devices: vec![APP.to_owned()],
    });
    world.current = Some(world.citizens.len() - 1);
}

/// `POST admin/identities/{uuid}/nemid` at the broker: a NemID for that identity.
pub async fn request_nemid(
    world: &mut LabWorld,
    uuid: &str,
    body: &Value,
) -> Result<Reply, ActionError> {
    control(
        world,
        reqwest::Method::POST,
        &format!("admin/identities/{uuid}/nemid"),
        Some(body),
    )
    .await
}

/// Issues `alias` a NemID (key card and key app, the lab's password) dated `issued_on`; answers
/// what the citizen holds and keeps it in the note `nemid:<alias>`.
pub async fn issue_nemid(
    world: &mut LabWorld,
    alias: &str,
    issued_on: &str,
) -> Result<Value, ActionError> {
    let uuid = super::citizen(world, alias)?.uuid;
    let body = json!({
        "password": NEMID_PASSWORD,
        "key_card": true,
        "key_app": true,
        "issued_on": issued_on,
    });
    let answer = request_nemid(world, &uuid, &body).await?.expect(
        201,
        BROKER,
        format!("a NemID for {alias}"),
    )?;
    world
        .notes
        .push((format!("nemid:{alias}"), answer.to_string()));
    Ok(answer)
}

/// `POST admin/identities/{uuid}/authenticators` for citizen `alias`: a new authenticator of the
/// body's `kind`. Answers what the broker issued.
pub async fn add_authenticator(
    world: &mut LabWorld,
    alias: &str,
    body: &Value,
) -> Result<Value, ActionError> {
    let uuid = super::citizen(world, alias)?.uuid;
    let kind = body["kind"]
        .as_str()
        .unwrap_or("an authenticator")
        .to_owned();
    control(
        world,
        reqwest::Method::POST,
        &format!("admin/identities/{uuid}/authenticators"),
        Some(body),
    )
    .await?
    .expect(201, BROKER, format!("a {kind} for {alias}"))
}

/// A new app for `alias` waiting for activation: answers its activation code.
pub async fn new_app_activation_code(
    world: &mut LabWorld,
    alias: &str,
) -> Result<String, ActionError> {
    let issued = add_authenticator(world, alias, &json!({"kind": "app"})).await?;
    field(&issued, "activation_code", BROKER, "a new app")
}

/// A password for `alias` (for code display, audio reader and chip logins), known to the
/// citizen from now on.
pub async fn set_password(
    world: &mut LabWorld,
    alias: &str,
    password: &str,
) -> Result<(), ActionError> {
    add_authenticator(
        world,
        alias,
        &json!({"kind": "password", "password": password}),
    )
    .await?;
    world.devices.set_password(alias, password);
    Ok(())
}

/// The broker's view of `alias`'s MitID (IAL, authenticators).
pub async fn identity_of(world: &mut LabWorld, alias: &str) -> Result<Value, ActionError> {
    let uuid = super::citizen(world, alias)?.uuid;
    control(
        world,
        reqwest::Method::GET,
        &format!("admin/identities/{uuid}"),
        None,
    )
    .await?
    .expect(200, BROKER, format!("a look-up of {alias}'s MitID"))
}

/// The broker's answer to a look-up of the MitID of the person with CPR number `cpr` (404: none).
pub async fn identity_by_cpr(world: &mut LabWorld, cpr: &str) -> Result<Reply, ActionError> {
    control(
        world,
        reqwest::Method::GET,
        &format!("admin/identities/by-cpr/{cpr}"),
        None,
    )
    .await
}
