//! # CPR register
//!
//! Constructor: [`CprRegister::new`]`(CprConfig) -> Router`. It needs no neighbours.
//! [`CprClient`] is how Citizen Service and the support line talk to it.
//!
//! A synthetic Civil Registration System: persons with CPR numbers whose first six digits are
//! their birth date, whose seventh digit encodes the century and whose last digit's parity is
//! their registered sex ([`number`]); names, ages and home municipalities drawn from the
//! fixtures, weighted by count ([`population`]); and the multiple-choice identity-proofing
//! questions Citizen Service and support ask a person, checked here so the answers never leave
//! the register ([`questions`]). The same seed gives the same register, person for person.
//!
//! The register also keeps each person's contact phone number and when it last changed (the
//! support line refuses a temporary PIN by SMS within 5 days of a change), and stands in for the
//! passport and driving-licence registers that callers are checked against.
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | GET | `/persons?offset&limit&min_age&max_age&has_passport&has_phone` | | 200 [`PersonPage`] |
//! | POST | `/persons` | [`PersonRequest`] | 201 [`Person`] (a new synthetic person) |
//! | GET | `/persons/{cpr}` | | 200 [`Person`]; 400 malformed CPR; 404 |
//! | GET | `/persons/by-document/{number}` | | 200 [`Person`] holding that passport or licence; 404 |
//! | PUT | `/persons/{cpr}/phone` | [`PhoneChange`] | 200 [`Person`] |
//! | GET | `/persons/{cpr}/employers` | | 200 [`Employers`]: the companies the person acts for (MitID Erhverv); 400; 404 |
//! | GET | `/companies` | | 200 every [`Company`] of the synthetic CVR register |
//! | GET | `/companies/{cvr}` | | 200 [`Company`]; 400 not a CVR number; 404 |
//! | POST | `/questions` | [`QuestionRequest`] | 201 [`Challenge`] |
//! | POST | `/questions/{challenge_id}/answers` | [`AnswerRequest`] | 200 [`Verdict`]; 404 if unknown or already answered |
//!
//! The register also answers for the lab's synthetic CVR register ([`crate::cvr`]): companies,
//! and which of them a person acts for (a function of the seed and the CPR number).
//!
//! Ages in queries are computed on the shared [`LabClock`]'s today.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

pub mod number;
pub mod population;
pub mod questions;

pub use number::{CprNumber, CprNumberError, Sex};
pub use population::{Address, Fixtures, Municipality, Person, PersonGenerator, PersonRequest};
pub use questions::{Challenge, Question, QuestionBank, Verdict};

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::service::Routes;
use crate::service::routing::{get, post, put};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::cvr::{Company, CvrRegister};
use crate::service::{self, ApiError, Json, JsonCaller, LabClock, NeighbourError, Path, Query};

/// Most persons a page of `GET /persons` returns.
pub const MAX_PAGE: usize = 500;
/// Largest register that may be generated at start (the register lives in memory).
pub const MAX_POPULATION: usize = 2_000_000;
/// Most persons that may be added through `POST /persons` after start.
pub const MAX_ADDED: usize = 200_000;

/// Configuration of the register.
#[derive(Debug, Clone)]
pub struct CprConfig {
    /// Seed of the generator: the same seed gives the same persons.
    pub seed: u64,
    /// Persons generated at start.
    pub population: usize,
    /// The day ages are drawn against (the fixture's age distribution is for 1 January 2023).
    pub reference_date: NaiveDate,
    pub clock: LabClock,
}

impl Default for CprConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            population: 1_000,
            reference_date: NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or_default(),
            clock: LabClock::system(),
        }
    }
}

#[derive(Debug)]
struct Register {
    persons: Vec<Person>,
    by_cpr: HashMap<CprNumber, usize>,
    by_document: HashMap<String, usize>,
    generator: PersonGenerator,
    questions: QuestionBank,
    added: usize,
    clock: LabClock,
    cvr: CvrRegister,
    seed: u64,
}

impl Register {
    fn insert(&mut self, person: Person) -> usize {
        let index = self.persons.len();
        self.by_cpr.insert(person.cpr, index);
        for doc in [&person.passport_number, &person.driving_licence_number]
            .into_iter()
            .flatten()
        {
            self.by_document.insert(doc.clone(), index);
        }
        self.persons.push(person);
        index
    }

    fn get(&self, cpr: &CprNumber) -> Result<&Person, ApiError> {
        self.by_cpr
            .get(cpr)
            .map(|&i| &self.persons[i])
            .ok_or_else(|| ApiError::not_found(format!("no person with CPR number {cpr}")))
    }
}

type Shared = Arc<Mutex<Register>>;

/// The CPR register service.
#[derive(Debug, Clone, Copy)]
pub struct CprRegister;

impl CprRegister {
    /// Generates the register and returns its router (with [`crate::service::standard`]).
    ///
    /// # Panics
    /// If the fixtures compiled into the crate do not parse (a build defect caught by the unit
    /// tests), or `population` exceeds [`MAX_POPULATION`].
    // The integrator-facing constructor convention of every component: `X::new(config) -> Router`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(config: CprConfig) -> Router {
        let state = Self::generate(config);
        let router = Routes::new()
            .route("/persons", get(list_persons).post(add_person))
            .route("/persons/{cpr}", get(get_person))
            .route("/persons/by-document/{number}", get(by_document))
            .route("/persons/{cpr}/phone", put(change_phone))
            .route("/persons/{cpr}/employers", get(employers))
            .route("/companies", get(list_companies))
            .route("/companies/{cvr}", get(get_company))
            .route("/questions", post(open_challenge))
            .route("/questions/{challenge_id}/answers", post(answer_challenge))
            .with_state(Arc::new(Mutex::new(state)));
        service::standard("cpr", router)
    }

    fn generate(config: CprConfig) -> Register {
        assert!(
            config.population <= MAX_POPULATION,
            "CPR register population {} exceeds {MAX_POPULATION}",
            config.population
        );
        let fixtures = Fixtures::embedded().expect("embedded fixtures parse (unit-tested)");
        let mut register = Register {
            persons: Vec::with_capacity(config.population),
            by_cpr: HashMap::with_capacity(config.population),
            by_document: HashMap::new(),
            generator: PersonGenerator::new(fixtures.clone(), config.seed, config.reference_date),
            questions: QuestionBank::new(fixtures, config.seed, config.reference_date),
            added: 0,
            clock: config.clock,
            cvr: CvrRegister::embedded().expect("embedded CVR fixture parses (unit-tested)"),
            seed: config.seed,
        };
        for _ in 0..config.population {
            let person = register
                .generator
                .generate(&PersonRequest::default())
                .expect("unconstrained generation always finds a number");
            register.insert(person);
        }
        register
    }
}

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, Register> {
    // Every mutation is a push or a field assignment that cannot be half-done by a panic.
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn parse_cpr(raw: &str) -> Result<CprNumber, ApiError> {
    raw.parse()
        .map_err(|e: CprNumberError| ApiError::invalid_request(format!("field cpr: {e}")))
}

/// Answer of `GET /persons`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersonPage {
    /// How many persons match the filter in total.
    pub total: usize,
    pub persons: Vec<Person>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    offset: Option<usize>,
    limit: Option<usize>,
    min_age: Option<u32>,
    max_age: Option<u32>,
    has_passport: Option<bool>,
    has_phone: Option<bool>,
}

async fn list_persons(
    State(state): State<Shared>,
    Query(q): Query<ListQuery>,
) -> Result<Json<PersonPage>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::invalid_request(format!(
            "field limit: must be 1–{MAX_PAGE}"
        )));
    }
    let reg = lock(&state);
    let today = reg.clock.today();
    let matching = reg.persons.iter().filter(|p| {
        let age = p.age_on(today);
        q.min_age.is_none_or(|m| age >= m)
            && q.max_age.is_none_or(|m| age <= m)
            && q.has_passport
                .is_none_or(|want| p.passport_number.is_some() == want)
            && q.has_phone
                .is_none_or(|want| p.phone_number.is_some() == want)
    });
    let mut total = 0;
    let mut persons = Vec::new();
    let offset = q.offset.unwrap_or(0);
    for p in matching {
        if total >= offset && persons.len() < limit {
            persons.push(p.clone());
        }
        total += 1;
    }
    Ok(Json(PersonPage { total, persons }))
}

async fn add_person(
    State(state): State<Shared>,
    Json(req): Json<PersonRequest>,
) -> Result<(StatusCode, Json<Person>), ApiError> {
    let mut reg = lock(&state);
    if reg.added >= MAX_ADDED {
        return Err(ApiError::Conflict(format!(
            "the register takes at most {MAX_ADDED} added persons"
        )));
    }
    let person = reg
        .generator
        .generate(&req)
        .map_err(|e| ApiError::invalid_request(e.to_string()))?;
    reg.added += 1;
    reg.insert(person.clone());
    Ok((StatusCode::CREATED, Json(person)))
}

async fn get_person(
    State(state): State<Shared>,
    Path(cpr): Path<String>,
) -> Result<Json<Person>, ApiError> {
    let cpr = parse_cpr(&cpr)?;
    Ok(Json(lock(&state).get(&cpr)?.clone()))
}

/// Answer of `GET /persons/{cpr}/employers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employers {
    pub cpr: String,
    /// The companies the person acts for; empty for most persons.
    pub companies: Vec<Company>,
}

async fn employers(
    State(state): State<Shared>,
    Path(cpr): Path<String>,
) -> Result<Json<Employers>, ApiError> {
    let cpr = parse_cpr(&cpr)?;
    let reg = lock(&state);
    let person = reg.get(&cpr)?;
    let compact = person.cpr.compact();
    let companies = reg
        .cvr
        .employers_of(reg.seed, &compact)
        .into_iter()
        .cloned()
        .collect();
    Ok(Json(Employers {
        cpr: compact,
        companies,
    }))
}

async fn list_companies(State(state): State<Shared>) -> Json<Vec<Company>> {
    Json(lock(&state).cvr.companies().to_vec())
}

async fn get_company(
    State(state): State<Shared>,
    Path(cvr): Path<String>,
) -> Result<Json<Company>, ApiError> {
    if !crate::cvr::cvr_is_valid(&cvr) {
        return Err(ApiError::invalid_request(format!(
            "field cvr: {cvr:?} is not a CVR number (8 digits with a valid modulus-11 check digit)"
        )));
    }
    lock(&state)
        .cvr
        .get(&cvr)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no company with CVR number {cvr}")))
}

async fn by_document(
    State(state): State<Shared>,
    Path(number): Path<String>,
) -> Result<Json<Person>, ApiError> {
    let reg = lock(&state);
    reg.by_document
        .get(number.trim())
        .map(|&i| Json(reg.persons[i].clone()))
        .ok_or_else(|| ApiError::not_found("no passport or driving licence with that number"))
}

/// `PUT /persons/{cpr}/phone`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneChange {
    /// The new number; `null` removes it.
    pub phone_number: Option<String>,
}

async fn change_phone(
    State(state): State<Shared>,
    Path(cpr): Path<String>,
    Json(change): Json<PhoneChange>,
) -> Result<Json<Person>, ApiError> {
    let cpr = parse_cpr(&cpr)?;
    let phone = change
        .phone_number
        .as_deref()
        .map(crate::sms::normalize_phone)
        .transpose()
        .map_err(|_| ApiError::invalid_request("field phone_number: not a Danish phone number"))?;
    let mut reg = lock(&state);
    let now = reg.clock.now();
    let index = *reg
        .by_cpr
        .get(&cpr)
        .ok_or_else(|| ApiError::not_found(format!("no person with CPR number {cpr}")))?;
    let person = &mut reg.persons[index];
    if person.phone_number != phone {
        person.phone_number = phone;
        person.phone_changed_at = Some(now);
    }
    Ok(Json(person.clone()))
}

/// `POST /questions`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionRequest {
    pub cpr: String,
    /// Questions to ask (default [`questions::DEFAULT_QUESTIONS`]).
    #[serde(default)]
    pub count: Option<usize>,
}

/// `POST /questions/{challenge_id}/answers`: question id → chosen option.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    pub answers: BTreeMap<String, String>,
}

async fn open_challenge(
    State(state): State<Shared>,
    Json(req): Json<QuestionRequest>,
) -> Result<(StatusCode, Json<Challenge>), ApiError> {
    let cpr = parse_cpr(&req.cpr)?;
    let mut reg = lock(&state);
    let person = reg.get(&cpr)?.clone();
    let count = req.count.unwrap_or(questions::DEFAULT_QUESTIONS);
    let challenge = reg
        .questions
        .open(&person, count)
        .map_err(|e| ApiError::invalid_request(format!("field count: {e}")))?;
    Ok((StatusCode::CREATED, Json(challenge)))
}

async fn answer_challenge(
    State(state): State<Shared>,
    Path(challenge_id): Path<String>,
    Json(req): Json<AnswerRequest>,
) -> Result<Json<Verdict>, ApiError> {
    if req.answers.len() > 32 {
        return Err(ApiError::invalid_request("field answers: too many answers"));
    }
    lock(&state)
        .questions
        .answer(&challenge_id, &req.answers)
        .map(Json)
        .map_err(|e| ApiError::not_found(e.to_string()))
}

/// Client of the CPR register, for Citizen Service and the support line.
#[derive(Debug, Clone)]
pub struct CprClient {
    caller: JsonCaller,
}

impl CprClient {
    /// `base_url` without trailing slash; `http` should carry a timeout (see [`crate::service::http_client`]).
    #[must_use]
    pub fn new(base_url: &str, http: reqwest::Client) -> Self {
        Self {
            caller: JsonCaller::new("cpr", base_url, http),
        }
    }

    pub async fn person(&self, cpr: &CprNumber) -> Result<Person, NeighbourError> {
        let c = &self.caller;
        c.call(c.http.get(c.url(&format!("/persons/{}", cpr.compact()))))
            .await
    }

    /// The companies the person acts for (MitID Erhverv).
    pub async fn employers(&self, cpr: &CprNumber) -> Result<Employers, NeighbourError> {
        let c = &self.caller;
        c.call(
            c.http
                .get(c.url(&format!("/persons/{}/employers", cpr.compact()))),
        )
        .await
    }

    /// The company with this CVR number.
    pub async fn company(&self, cvr: &str) -> Result<Company, NeighbourError> {
        let c = &self.caller;
        let encoded: String = url::form_urlencoded::byte_serialize(cvr.as_bytes()).collect();
        c.call(c.http.get(c.url(&format!("/companies/{encoded}"))))
            .await
    }

    /// The person holding a passport or driving licence with this number.
    pub async fn by_document(&self, number: &str) -> Result<Person, NeighbourError> {
        let c = &self.caller;
        let encoded: String = url::form_urlencoded::byte_serialize(number.as_bytes()).collect();
        c.call(
            c.http
                .get(c.url(&format!("/persons/by-document/{encoded}"))),
        )
        .await
    }

    pub async fn open_questions(
        &self,
        cpr: &CprNumber,
        count: Option<usize>,
    ) -> Result<Challenge, NeighbourError> {
        let c = &self.caller;
        c.call(c.http.post(c.url("/questions")).json(&QuestionRequest {
            cpr: cpr.compact(),
            count,
        }))
        .await
    }

    pub async fn answer(
        &self,
        challenge_id: &str,
        answers: &BTreeMap<String, String>,
    ) -> Result<Verdict, NeighbourError> {
        let c = &self.caller;
        let encoded: String =
            url::form_urlencoded::byte_serialize(challenge_id.as_bytes()).collect();
        c.call(
            c.http
                .post(c.url(&format!("/questions/{encoded}/answers")))
                .json(&AnswerRequest {
                    answers: answers.clone(),
                }),
        )
        .await
    }

    pub async fn set_phone(
        &self,
        cpr: &CprNumber,
        phone_number: Option<&str>,
    ) -> Result<Person, NeighbourError> {
        let c = &self.caller;
        c.call(
            c.http
                .put(c.url(&format!("/persons/{}/phone", cpr.compact())))
                .json(&PhoneChange {
                    phone_number: phone_number.map(str::to_owned),
                }),
        )
        .await
    }
}
