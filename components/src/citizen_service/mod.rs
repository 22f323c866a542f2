//! # Citizen Service (Borgerservice)
//!
//! Constructor: [`CitizenService::new`]`(`[`CitizenServiceConfig`]`) -> Router`. The config
//! names the CPR register's base URL and the IdP's **control** listener (identity admin API,
//! `idp/ADMIN_API.md`); every call to them has a timeout, and their failures become JSON
//! 502/504 answers, never a hang or a panic.
//!
//! Every municipality has a counter with opening hours and desks; citizens book 15-minute
//! appointments. At the counter, an identity-proofing session checks who the person is —
//! a passport or driving licence plus questions generated from the CPR register, or a witness
//! (18 or older, has had MitID for more than 30 days, at most 3 witnessings in 120 days) — and
//! then issues MitID with authenticators at identity assurance High, or raises an existing
//! identity to High. People without a CPR number get a P code (8 digits, 60 days, 3 attempts,
//! one use: `mitid_devices::pcode`) which they redeem for a MitID.
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | GET | `/municipalities` | | 200 `{"municipalities": [Counter]}` |
//! | GET | `/counters/{code}` | | 200 [`Counter`] |
//! | GET | `/counters/{code}/slots?date=YYYY-MM-DD` | | 200 free slots of that day |
//! | POST | `/appointments` | [`BookingRequest`] | 201 [`Appointment`]; 409 slot full / person already booked then; 400 closed or off-grid |
//! | GET/DELETE | `/appointments/{id}` | | 200 [`Appointment`] / 204 |
//! | POST | `/proofing` | `{"cpr"}` | 201 [`ProofingView`] |
//! | GET | `/proofing/{id}` | | 200 [`ProofingView`] |
//! | POST | `/proofing/{id}/document` | [`DocumentCheck`] | 200 [`ProofingView`] |
//! | POST | `/proofing/{id}/questions` | | 201 CPR [`crate::cpr::Challenge`] |
//! | POST | `/proofing/{id}/answers` | `{"answers": {...}}` | 200 [`ProofingView`] |
//! | POST | `/proofing/{id}/witness` | `{"witness_cpr"}` | 200 [`ProofingView`]; 403 naming the witness rule broken |
//! | POST | `/proofing/{id}/issue` | [`IssueRequest`] | 201 [`Issued`] (MitID at IAL High + authenticators; a new app for an existing MitID revokes its other apps: the lost or new phone) |
//! | POST | `/p-codes` | [`PCodeRequest`] | 201 [`PCodeIssued`] |
//! | POST | `/p-codes/{id}/redeem` | [`RedeemRequest`] | 201 identity; 400 wrong (attempts left) / void / expired / used |
//! | POST | `/control/mitid-issued` | `{"cpr", "issued_at"}` | 204: record a MitID issued elsewhere (for the witness rule) |
//!
//! "Now" is the shared [`LabClock`].

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

pub mod idp_admin;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::service::Routes;
use crate::service::routing::{get, post};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};
use mitid_devices::pcode::{PCode, PCodeError};
use mitid_devices::policy::PCodePolicy;
use mitid_devices::time::Timestamp;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::cpr::{Challenge, CprClient, CprNumber, Fixtures};
use crate::idp::admin::{
    AddAuthenticatorRequest, AuthenticatorIssued, CreateIdentityRequest, Ial, IdentityView,
    PersonRef,
};
use crate::service::{self, ApiError, Json, Path, Query};
use crate::service::{LabClock, NeighbourError, http_client};
pub use idp_admin::IdpAdminClient;

/// Length of one appointment.
pub const SLOT_MINUTES: u32 = 15;
/// Witness rules (DOMAIN.md): age, how long the witness has had MitID, how often they may witness.
pub const WITNESS_MIN_AGE: u32 = 18;
pub const WITNESS_MIN_MITID_DAYS: i64 = 30;
pub const WITNESS_MAX_PER_WINDOW: usize = 3;
pub const WITNESS_WINDOW_DAYS: i64 = 120;
/// Proofing sessions and P codes kept at most (bounded memory).
const MAX_OPEN: usize = 50_000;

/// Configuration of Citizen Service.
#[derive(Debug, Clone)]
pub struct CitizenServiceConfig {
    /// CPR register base URL.
    pub cpr_url: String,
    /// IdP control listener base URL (identity admin API).
    pub idp_admin_url: String,
    pub clock: LabClock,
    /// Seed of the P-code generator.
    pub seed: u64,
    /// Desks per counter: appointments per slot.
    pub desks_per_counter: u32,
    pub http_timeout: Duration,
    pub p_code_policy: PCodePolicy,
}

impl CitizenServiceConfig {
    #[must_use]
    pub fn new(cpr_url: impl Into<String>, idp_admin_url: impl Into<String>) -> Self {
        Self {
            cpr_url: cpr_url.into(),
            idp_admin_url: idp_admin_url.into(),
            clock: LabClock::system(),
            seed: 1,
            desks_per_counter: 2,
            http_timeout: crate::service::DEFAULT_NEIGHBOUR_TIMEOUT,
            p_code_policy: PCodePolicy::default(),
        }
    }
}

/// Opening hours of one weekday, minutes after midnight (`None`: closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayHours {
    pub weekday: Weekday,
    pub opens: Option<NaiveTime>,
    pub closes: Option<NaiveTime>,
}

/// A municipality's Citizen Service counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub municipality_code: u16,
    pub municipality: String,
    pub region: String,
    pub desks: u32,
    pub slot_minutes: u32,
    pub opening_hours: Vec<DayHours>,
}

/// Typical Borgerservice hours (a lab assumption; municipalities differ): Monday–Wednesday
/// 10–15, Thursday 10–17:30 (late opening), Friday 10–13, closed at weekends.
fn default_hours() -> Vec<DayHours> {
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0);
    [
        (Weekday::Mon, t(10, 0), t(15, 0)),
        (Weekday::Tue, t(10, 0), t(15, 0)),
        (Weekday::Wed, t(10, 0), t(15, 0)),
        (Weekday::Thu, t(10, 0), t(17, 30)),
        (Weekday::Fri, t(10, 0), t(13, 0)),
        (Weekday::Sat, None, None),
        (Weekday::Sun, None, None),
    ]
    .into_iter()
    .map(|(weekday, opens, closes)| DayHours {
        weekday,
        opens,
        closes,
    })
    .collect()
}

impl Counter {
    /// Whether a slot starting at `start` lies on the grid and inside opening hours.
    fn check_slot(&self, start: NaiveDateTime) -> Result<(), ApiError> {
        let day = self
            .opening_hours
            .iter()
            .find(|d| d.weekday == start.weekday());
        let (Some(opens), Some(closes)) = day.map_or((None, None), |d| (d.opens, d.closes)) else {
            return Err(ApiError::invalid_request(format!(
                "closed: {} Citizen Service is closed on {:?}",
                self.municipality,
                start.weekday()
            )));
        };
        let time = start.time();
        if time.second() != 0
            || time.nanosecond() != 0
            || !time.minute().is_multiple_of(self.slot_minutes)
        {
            return Err(ApiError::invalid_request(format!(
                "field start: appointments start on the {}-minute grid",
                self.slot_minutes
            )));
        }
        let end = time + chrono::Duration::minutes(i64::from(self.slot_minutes));
        if time < opens || end > closes || end < time {
            return Err(ApiError::invalid_request(format!(
                "closed: {} Citizen Service is open {opens}–{closes} on {:?}",
                self.municipality,
                start.weekday()
            )));
        }
        Ok(())
    }
}

/// `POST /appointments`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingRequest {
    pub municipality_code: u16,
    /// Local time, `YYYY-MM-DDTHH:MM:SS`.
    pub start: NaiveDateTime,
    /// Who comes: a CPR number, or a name for people without one.
    pub cpr: Option<String>,
    pub name: Option<String>,
    pub purpose: String,
}

/// A booked appointment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    pub appointment_id: String,
    pub municipality_code: u16,
    pub start: NaiveDateTime,
    pub person: String,
    pub purpose: String,
}

/// Where a proofing session stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofingView {
    pub proofing_id: String,
    pub cpr: String,
    pub document_verified: bool,
    pub questions_passed: bool,
    pub witness_cpr: Option<String>,
    /// Identity proven: document + questions, or a witness.
    pub proven: bool,
    pub issued_uuid: Option<String>,
}

/// `POST /proofing/{id}/document`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentCheck {
    /// `passport` or `driving_licence`.
    pub kind: String,
    pub number: String,
}

/// `POST /proofing/{id}/issue`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// Authenticators to issue (`app`, `code_display`, `audio_code_reader`; a password needs
    /// `password`).
    #[serde(default)]
    pub authenticators: Vec<String>,
    pub password: Option<String>,
    pub user_id: Option<String>,
    /// Registers the person's phone number in the CPR register's contact data.
    pub phone_number: Option<String>,
}

/// Answer of `POST /proofing/{id}/issue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    pub identity: IdentityView,
    /// True when the person already had MitID and only the IAL was raised.
    pub existing: bool,
    /// Apps of the existing MitID revoked because a new app was issued (a lost or new phone).
    #[serde(default)]
    pub revoked_apps: usize,
    pub authenticators: Vec<AuthenticatorIssued>,
}

/// `POST /p-codes`: a person without CPR number identified at the counter (foreign passport).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PCodeRequest {
    pub name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: NaiveDate,
    pub passport_number: String,
}

/// Answer of `POST /p-codes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PCodeIssued {
    pub p_code_id: String,
    /// The 8-digit code handed to the person.
    pub p_code: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// `POST /p-codes/{id}/redeem`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    pub code: String,
    pub user_id: Option<String>,
}

#[derive(Debug)]
struct Proofing {
    cpr: CprNumber,
    document_verified: bool,
    challenge_id: Option<String>,
    questions_passed: bool,
    witness: Option<CprNumber>,
    issued_uuid: Option<String>,
}

impl Proofing {
    fn proven(&self) -> bool {
        (self.document_verified && self.questions_passed) || self.witness.is_some()
    }
}

#[derive(Debug)]
struct PCodeEntry {
    code: PCode,
    name: String,
    date_of_birth: NaiveDate,
}

#[derive(Debug)]
struct Desk {
    counters: BTreeMap<u16, Counter>,
    appointments: HashMap<String, Appointment>,
    booked: HashMap<(u16, NaiveDateTime), u32>,
    person_slots: HashMap<(String, NaiveDateTime), String>,
    proofings: HashMap<String, Proofing>,
    proofing_order: VecDeque<String>,
    p_codes: HashMap<String, PCodeEntry>,
    /// When each CPR number got MitID (for the witness rule).
    mitid_since: HashMap<CprNumber, i64>,
    /// When each witness vouched (unix seconds).
    witnessings: HashMap<CprNumber, Vec<i64>>,
    rng: ChaCha20Rng,
    next_id: u64,
}

impl Desk {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{:06}-{:08x}", self.next_id, self.rng.next_u32())
    }

    fn counter(&self, code: u16) -> Result<&Counter, ApiError> {
        self.counters.get(&code).ok_or_else(|| {
            ApiError::not_found(format!("no Citizen Service in municipality {code}"))
        })
    }
}

#[derive(Debug)]
struct Office {
    config: CitizenServiceConfig,
    cpr: CprClient,
    idp: IdpAdminClient,
    desk: Mutex<Desk>,
}

type Shared = Arc<Office>;

impl Office {
    fn desk(&self) -> std::sync::MutexGuard<'_, Desk> {
        // Each mutation is a single insert/update; a panic cannot leave a half-written booking.
        self.desk
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The Citizen Service.
#[derive(Debug, Clone, Copy)]
pub struct CitizenService;

impl CitizenService {
    /// The service's router (with [`crate::service::standard`]).
    ///
    /// # Panics
    /// If the compiled-in municipality fixture does not parse (caught by the unit tests).
    // The integrator-facing constructor convention of every component: `X::new(config) -> Router`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(config: CitizenServiceConfig) -> Router {
        let fixtures = Fixtures::embedded().expect("embedded fixtures parse (unit-tested)");
        let counters = fixtures
            .municipalities()
            .iter()
            .map(|m| {
                (
                    m.code,
                    Counter {
                        municipality_code: m.code,
                        municipality: m.name.clone(),
                        region: m.region.clone(),
                        desks: config.desks_per_counter.max(1),
                        slot_minutes: SLOT_MINUTES,
                        opening_hours: default_hours(),
                    },
                )
            })
            .collect();
        let http = http_client(config.http_timeout);
        let office = Arc::new(Office {
            cpr: CprClient::new(&config.cpr_url, http.clone()),
            idp: IdpAdminClient::new(&config.idp_admin_url, http),
            desk: Mutex::new(Desk {
                counters,
                appointments: HashMap::new(),
                booked: HashMap::new(),
                person_slots: HashMap::new(),
                proofings: HashMap::new(),
                proofing_order: VecDeque::new(),
                p_codes: HashMap::new(),
                mitid_since: HashMap::new(),
                witnessings: HashMap::new(),
                rng: ChaCha20Rng::seed_from_u64(config.seed),
                next_id: 0,
            }),
            config,
        });
        let router = Routes::new()
            .route("/municipalities", get(municipalities))
            .route("/counters/{code}", get(counter))
            .route("/counters/{code}/slots", get(free_slots))
            .route("/appointments", post(book))
            .route("/appointments/{id}", get(appointment).delete(cancel))
            .route("/proofing", post(open_proofing))
            .route("/proofing/{id}", get(proofing))
            .route("/proofing/{id}/document", post(check_document))
            .route("/proofing/{id}/questions", post(ask_questions))
            .route("/proofing/{id}/answers", post(answer_questions))
            .route("/proofing/{id}/witness", post(witness))
            .route("/proofing/{id}/issue", post(issue))
            .route("/p-codes", post(issue_p_code))
            .route("/p-codes/{id}/redeem", post(redeem_p_code))
            .route("/control/mitid-issued", post(record_mitid))
            .with_state(office);
        service::standard("citizen-service", router)
    }
}

fn parse_cpr(raw: &str, field: &str) -> Result<CprNumber, ApiError> {
    raw.parse()
        .map_err(|e| ApiError::invalid_request(format!("field {field}: {e}")))
}

async fn municipalities(State(office): State<Shared>) -> Json<serde_json::Value> {
    let desk = office.desk();
    let list: Vec<&Counter> = desk.counters.values().collect();
    Json(serde_json::json!({ "municipalities": list }))
}

async fn counter(
    State(office): State<Shared>,
    Path(code): Path<u16>,
) -> Result<Json<Counter>, ApiError> {
    Ok(Json(office.desk().counter(code)?.clone()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotsQuery {
    date: NaiveDate,
}

async fn free_slots(
    State(office): State<Shared>,
    Path(code): Path<u16>,
    Query(q): Query<SlotsQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let desk = office.desk();
    let counter = desk.counter(code)?;
    let mut free = Vec::new();
    let mut t = q.date.and_hms_opt(0, 0, 0).unwrap_or_default();
    let end = t + chrono::Duration::days(1);
    while t < end {
        if counter.check_slot(t).is_ok() {
            let taken = desk.booked.get(&(code, t)).copied().unwrap_or(0);
            if taken < counter.desks {
                free.push(serde_json::json!({ "start": t, "free_desks": counter.desks - taken }));
            }
        }
        t += chrono::Duration::minutes(i64::from(SLOT_MINUTES));
    }
    Ok(Json(
        serde_json::json!({ "municipality_code": code, "date": q.date, "slots": free }),
    ))
}

async fn book(
    State(office): State<Shared>,
    Json(req): Json<BookingRequest>,
) -> Result<(StatusCode, Json<Appointment>), ApiError> {
    let person = match (&req.cpr, &req.name) {
        (Some(cpr), _) => format!("cpr:{}", parse_cpr(cpr, "cpr")?.compact()),
        (None, Some(name)) if !name.trim().is_empty() && name.len() <= 100 => {
            format!("name:{}", name.trim())
        }
        _ => {
            return Err(ApiError::invalid_request(
                "field cpr or name: say who the appointment is for",
            ));
        }
    };
    if req.purpose.trim().is_empty() || req.purpose.len() > 200 {
        return Err(ApiError::invalid_request("field purpose: 1–200 characters"));
    }
    if req.start < office.config.clock.now_utc() {
        return Err(ApiError::invalid_request("field start: is in the past"));
    }
    let mut desk = office.desk();
    let counter = desk.counter(req.municipality_code)?.clone();
    counter.check_slot(req.start)?;
    if let Some(existing) = desk.person_slots.get(&(person.clone(), req.start)) {
        return Err(ApiError::Conflict(format!(
            "this person already has appointment {existing} at {}",
            req.start
        )));
    }
    let taken = desk
        .booked
        .get(&(req.municipality_code, req.start))
        .copied()
        .unwrap_or(0);
    if taken >= counter.desks {
        return Err(ApiError::Conflict(format!(
            "the {} slot at {} is fully booked",
            req.start, counter.municipality
        )));
    }
    let appointment = Appointment {
        appointment_id: desk.id("apt"),
        municipality_code: req.municipality_code,
        start: req.start,
        person: person.clone(),
        purpose: req.purpose.trim().to_owned(),
    };
    *desk
        .booked
        .entry((req.municipality_code, req.start))
        .or_insert(0) += 1;
    desk.person_slots
        .insert((person, req.start), appointment.appointment_id.clone());
    desk.appointments
        .insert(appointment.appointment_id.clone(), appointment.clone());
    Ok((StatusCode::CREATED, Json(appointment)))
}

async fn appointment(
    State(office): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Appointment>, ApiError> {
    office
        .desk()
        .appointments
        .get(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no such appointment"))
}

async fn cancel(
    State(office): State<Shared>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut desk = office.desk();
    let a = desk
        .appointments
        .remove(&id)
        .ok_or_else(|| ApiError::not_found("no such appointment"))?;
    if let Some(n) = desk.booked.get_mut(&(a.municipality_code, a.start)) {
        *n = n.saturating_sub(1);
    }
    desk.person_slots.remove(&(a.person, a.start));
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenProofing {
    cpr: String,
}

fn view(id: &str, p: &Proofing) -> ProofingView {
    ProofingView {
        proofing_id: id.to_owned(),
        cpr: p.cpr.to_string(),
        document_verified: p.document_verified,
        questions_passed: p.questions_passed,
        witness_cpr: p.witness.map(|w| w.to_string()),
        proven: p.proven(),
        issued_uuid: p.issued_uuid.clone(),
    }
}

async fn open_proofing(
    State(office): State<Shared>,
    Json(req): Json<OpenProofing>,
) -> Result<(StatusCode, Json<ProofingView>), ApiError> {
    let cpr = parse_cpr(&req.cpr, "cpr")?;
    // The person must exist in the register; a failing register is a 502/504, not a guess.
    office.cpr.person(&cpr).await?;
    let mut desk = office.desk();
    let id = desk.id("prf");
    let p = Proofing {
        cpr,
        document_verified: false,
        challenge_id: None,
        questions_passed: false,
        witness: None,
        issued_uuid: None,
    };
    let v = view(&id, &p);
    desk.proofings.insert(id.clone(), p);
    desk.proofing_order.push_back(id);
    while desk.proofing_order.len() > MAX_OPEN {
        if let Some(old) = desk.proofing_order.pop_front() {
            desk.proofings.remove(&old);
        }
    }
    Ok((StatusCode::CREATED, Json(v)))
}

fn with_proofing<T>(
    office: &Office,
    id: &str,
    f: impl FnOnce(&mut Proofing) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut desk = office.desk();
    let p = desk
        .proofings
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found("no such proofing session"))?;
    f(p)
}

async fn proofing(
    State(office): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<ProofingView>, ApiError> {
    with_proofing(&office, &id, |p| Ok(Json(view(&id, p))))
}

async fn check_document(
    State(office): State<Shared>,
    Path(id): Path<String>,
    Json(doc): Json<DocumentCheck>,
) -> Result<Json<ProofingView>, ApiError> {
    let cpr = with_proofing(&office, &id, |p| Ok(p.cpr))?;
    if doc.number.trim().is_empty() || doc.number.len() > 20 {
        return Err(ApiError::invalid_request("field number: 1–20 characters"));
    }
    let person = office.cpr.person(&cpr).await?;
    let on_record = match doc.kind.as_str() {
        "passport" => person.passport_number,
        "driving_licence" => person.driving_licence_number,
        _ => {
            return Err(ApiError::invalid_request(
                "field kind: passport or driving_licence",
            ));
        }
    };
    if on_record.as_deref() != Some(doc.number.trim()) {
        return Err(ApiError::Forbidden(format!(
            "document_mismatch: that {} is not registered to {cpr}",
            doc.kind
        )));
    }
    with_proofing(&office, &id, |p| {
        p.document_verified = true;
        Ok(Json(view(&id, p)))
    })
}

async fn ask_questions(
    State(office): State<Shared>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Challenge>), ApiError> {
    let cpr = with_proofing(&office, &id, |p| Ok(p.cpr))?;
    let challenge = office.cpr.open_questions(&cpr, None).await?;
    with_proofing(&office, &id, |p| {
        p.challenge_id = Some(challenge.challenge_id.clone());
        Ok(())
    })?;
    Ok((StatusCode::CREATED, Json(challenge)))
}

/// Answers to CPR questions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    pub answers: BTreeMap<String, String>,
}

async fn answer_questions(
    State(office): State<Shared>,
    Path(id): Path<String>,
    Json(req): Json<Answers>,
) -> Result<Json<ProofingView>, ApiError> {
    let challenge = with_proofing(&office, &id, |p| {
        p.challenge_id
            .take()
            .ok_or_else(|| ApiError::Conflict("ask the questions first".into()))
    })?;
    let verdict = office.cpr.answer(&challenge, &req.answers).await?;
    with_proofing(&office, &id, |p| {
        p.questions_passed = verdict.passed;
        if verdict.passed {
            Ok(Json(view(&id, p)))
        } else {
            Err(ApiError::Forbidden(format!(
                "questions_failed: {} of {} answers right",
                verdict.correct, verdict.asked
            )))
        }
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WitnessRequest {
    witness_cpr: String,
}

async fn witness(
    State(office): State<Shared>,
    Path(id): Path<String>,
    Json(req): Json<WitnessRequest>,
) -> Result<Json<ProofingView>, ApiError> {
    let witness = parse_cpr(&req.witness_cpr, "witness_cpr")?;
    let subject = with_proofing(&office, &id, |p| Ok(p.cpr))?;
    if witness == subject {
        return Err(ApiError::Forbidden(
            "witness_rule: a person cannot witness for themselves".into(),
        ));
    }
    let person = office.cpr.person(&witness).await?;
    let clock = &office.config.clock;
    let age = person.age_on(clock.today());
    if age < WITNESS_MIN_AGE {
        return Err(ApiError::Forbidden(format!(
            "witness_rule: the witness is {age}, must be {WITNESS_MIN_AGE} or older"
        )));
    }
    let identity = office.idp.by_cpr(&witness.compact()).await?;
    if identity.as_ref().is_none_or(|i| i.blocked) {
        return Err(ApiError::Forbidden(
            "witness_rule: the witness has no usable MitID".into(),
        ));
    }
    let now = clock.now();
    let mut desk = office.desk();
    let since = desk.mitid_since.get(&witness).copied().ok_or_else(|| {
        ApiError::Forbidden(
            "witness_rule: Citizen Service has no record of when the witness got MitID".into(),
        )
    })?;
    if now - since <= WITNESS_MIN_MITID_DAYS * 86_400 {
        return Err(ApiError::Forbidden(format!(
            "witness_rule: the witness has had MitID for {} days, must be more than {WITNESS_MIN_MITID_DAYS}",
            (now - since) / 86_400
        )));
    }
    let recent = desk.witnessings.get(&witness).map_or(0, |t| {
        t.iter()
            .filter(|&&at| now - at < WITNESS_WINDOW_DAYS * 86_400)
            .count()
    });
    if recent >= WITNESS_MAX_PER_WINDOW {
        return Err(ApiError::Forbidden(format!(
            "witness_rule: the witness has witnessed {recent} times in {WITNESS_WINDOW_DAYS} days (at most {WITNESS_MAX_PER_WINDOW})"
        )));
    }
    let p = desk
        .proofings
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("no such proofing session"))?;
    p.witness = Some(witness);
    let v = view(&id, p);
    desk.witnessings.entry(witness).or_default().push(now);
    Ok(Json(v))
}

fn authenticator_request(
    kind: &str,
    password: Option<&String>,
) -> Result<AddAuthenticatorRequest, ApiError> {
    match kind {
        "app" => Ok(AddAuthenticatorRequest::App),
        "code_display" => Ok(AddAuthenticatorRequest::CodeDisplay),
        "audio_code_reader" => Ok(AddAuthenticatorRequest::AudioCodeReader),
        "password" => password
            .map(|p| AddAuthenticatorRequest::Password {
                password: p.clone(),
            })
            .ok_or_else(|| {
                ApiError::invalid_request("field password: needed for a password authenticator")
            }),
        other => Err(ApiError::invalid_request(format!(
            "field authenticators: {other:?} is not app, code_display, audio_code_reader or password (chips are activated on MitID.dk)"
        ))),
    }
}

async fn issue(
    State(office): State<Shared>,
    Path(id): Path<String>,
    Json(req): Json<IssueRequest>,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    let (cpr, proven) = with_proofing(&office, &id, |p| Ok((p.cpr, p.proven())))?;
    if !proven {
        return Err(ApiError::Forbidden(
            "not_proven: verify a document and answer the CPR questions, or bring a witness".into(),
        ));
    }
    if req.authenticators.len() > 5 {
        return Err(ApiError::invalid_request("field authenticators: at most 5"));
    }
    let wanted: Vec<AddAuthenticatorRequest> = req
        .authenticators
        .iter()
        .map(|k| authenticator_request(k, req.password.as_ref()))
        .collect::<Result<_, _>>()?;
    let phone = req
        .phone_number
        .as_deref()
        .map(crate::sms::normalize_phone)
        .transpose()?;
    let person = office.cpr.person(&cpr).await?;
    let (identity, existing) = if let Some(found) = office.idp.by_cpr(&cpr.compact()).await? {
        (office.idp.set_ial(&found.uuid, Ial::High).await?, true)
    } else {
        let created = office
            .idp
            .create(&CreateIdentityRequest {
                person: PersonRef::Cpr(cpr.compact()),
                name: person.full_name(),
                date_of_birth: person.birth_date.to_string(),
                ial: Ial::High,
                user_id: req.user_id.clone(),
                nemid_pid: None,
            })
            .await?;
        office
            .desk()
            .mitid_since
            .insert(cpr, office.config.clock.now());
        (created, false)
    };
    // A new app for an existing MitID at the counter is the reactivation of a lost or replaced
    // phone: as with the passport reactivation (idp/ENROLMENT_API.md), the old phone's app must
    // no longer approve logins.
    let revoked_apps = if existing && wanted.contains(&AddAuthenticatorRequest::App) {
        office.idp.revoke_apps(&identity.uuid).await?.revoked_apps
    } else {
        0
    };
    let mut issued = Vec::new();
    for w in &wanted {
        issued.push(office.idp.add_authenticator(&identity.uuid, w).await?);
    }
    if let Some(phone) = phone {
        office.cpr.set_phone(&cpr, Some(&phone)).await?;
    }
    with_proofing(&office, &id, |p| {
        p.issued_uuid = Some(identity.uuid.clone());
        Ok(())
    })?;
    Ok((
        StatusCode::CREATED,
        Json(Issued {
            identity,
            existing,
            revoked_apps,
            authenticators: issued,
        }),
    ))
}

/// Earliest birth year a living person can have (the oldest verified human lived 122 years;
/// 1880 leaves room without letting year 1 or -1 through).
const EARLIEST_BIRTH_YEAR: i32 = 1880;

/// A birth date a person at the counter can have: from [`EARLIEST_BIRTH_YEAR`] up to today of
/// the lab clock (a date in the future is a typing error, not a person).
fn check_birth_date(date: NaiveDate, today: NaiveDate) -> Result<(), ApiError> {
    if date.year() < EARLIEST_BIRTH_YEAR || date > today {
        return Err(ApiError::invalid_request(format!(
            "field `date_of_birth`: {date} is outside the allowed range {EARLIEST_BIRTH_YEAR}-01-01 to {today} (today on the lab clock)"
        )));
    }
    Ok(())
}

async fn issue_p_code(
    State(office): State<Shared>,
    Json(req): Json<PCodeRequest>,
) -> Result<(StatusCode, Json<PCodeIssued>), ApiError> {
    if req.name.trim().is_empty() || req.name.len() > 100 || req.name.chars().any(char::is_control)
    {
        return Err(ApiError::invalid_request(
            "field name: 1–100 printable characters",
        ));
    }
    if req.passport_number.trim().is_empty() || req.passport_number.len() > 20 {
        return Err(ApiError::invalid_request(
            "field passport_number: 1–20 characters",
        ));
    }
    check_birth_date(req.date_of_birth, office.config.clock.today())?;
    let now = office.config.clock.now();
    let mut desk = office.desk();
    if desk.p_codes.len() >= MAX_OPEN {
        desk.p_codes.retain(|_, e| !e.code.used);
    }
    let code = PCode::issue(Timestamp::from_unix_secs(now.max(0) as u64), &mut desk.rng);
    let id = desk.id("pc");
    let issued = PCodeIssued {
        p_code_id: id.clone(),
        p_code: code.reveal_code().to_owned(),
        expires_at: code.expires_at(&office.config.p_code_policy).unix_secs() as i64,
    };
    desk.p_codes.insert(
        id,
        PCodeEntry {
            code,
            name: req.name.trim().to_owned(),
            date_of_birth: req.date_of_birth,
        },
    );
    Ok((StatusCode::CREATED, Json(issued)))
}

async fn redeem_p_code(
    State(office): State<Shared>,
    Path(id): Path<String>,
    Json(req): Json<RedeemRequest>,
) -> Result<(StatusCode, Json<IdentityView>), ApiError> {
    let now = Timestamp::from_unix_secs(office.config.clock.now().max(0) as u64);
    let (create, code) = {
        let mut desk = office.desk();
        let entry = desk
            .p_codes
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found("no such P code"))?;
        entry
            .code
            .verify(&req.code, now, &office.config.p_code_policy)
            .map_err(|e| match e {
                PCodeError::Wrong { .. } => ApiError::invalid_request(format!("p_code: {e}")),
                _ => ApiError::Forbidden(format!("p_code: {e}")),
            })?;
        (
            CreateIdentityRequest {
                person: PersonRef::PCode(entry.code.reveal_code().to_owned()),
                name: entry.name.clone(),
                date_of_birth: entry.date_of_birth.to_string(),
                ial: Ial::Substantial,
                user_id: req.user_id.clone(),
                nemid_pid: None,
            },
            entry.code.reveal_code().to_owned(),
        )
    };
    let identity = office
        .idp
        .create(&create)
        .await
        .map_err(|e: NeighbourError| ApiError::from(e))?;
    debug_assert_eq!(identity.person, PersonRef::PCode(code));
    Ok((StatusCode::CREATED, Json(identity)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MitidIssued {
    cpr: String,
    /// Unix seconds.
    issued_at: i64,
}

async fn record_mitid(
    State(office): State<Shared>,
    Json(req): Json<MitidIssued>,
) -> Result<StatusCode, ApiError> {
    let cpr = parse_cpr(&req.cpr, "cpr")?;
    if req.issued_at > office.config.clock.now() {
        return Err(ApiError::invalid_request(
            "field issued_at: is in the future",
        ));
    }
    office.desk().mitid_since.insert(cpr, req.issued_at);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_outside_hours_or_grid_are_refused() {
        let counter = Counter {
            municipality_code: 101,
            municipality: "København".into(),
            region: "Region Hovedstaden".into(),
            desks: 2,
            slot_minutes: SLOT_MINUTES,
            opening_hours: default_hours(),
        };
        let at = |d: u32, h: u32, m: u32| {
            NaiveDate::from_ymd_opt(2023, 3, d)
                .unwrap()
                .and_hms_opt(h, m, 0)
                .unwrap()
        };
        // 1 March 2023 was a Wednesday; 4 March a Saturday; 2 March a Thursday.
        assert!(counter.check_slot(at(1, 10, 0)).is_ok());
        assert!(counter.check_slot(at(1, 14, 45)).is_ok());
        assert!(counter.check_slot(at(1, 15, 0)).is_err());
        assert!(counter.check_slot(at(1, 9, 45)).is_err());
        assert!(counter.check_slot(at(1, 10, 5)).is_err());
        assert!(counter.check_slot(at(4, 11, 0)).is_err());
        assert!(counter.check_slot(at(2, 17, 15)).is_ok());
    }
}
