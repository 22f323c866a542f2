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

mod appointments;
pub mod idp_admin;
mod issuing;
mod proofing;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::service::Routes;
use crate::service::routing::{get, post};
use axum::Router;
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use mitid_devices::pcode::PCode;
use mitid_devices::policy::PCodePolicy;
use mitid_devices::time::{CivilDate, Weekday};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::cpr::{CprClient, CprNumber, Fixtures};
use crate::idp::admin::{AuthenticatorIssued, IdentityView};
use crate::service::{self, ApiError};
use crate::service::{LabClock, http_client};
pub use idp_admin::IdpAdminClient;
pub use proofing::Answers;

use appointments::{appointment, book, cancel, counter, free_slots, municipalities};
use issuing::{issue, issue_p_code, record_mitid, redeem_p_code};
use proofing::{answer_questions, ask_questions, check_document, open_proofing, proofing, witness};

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
    /// `Mon` … `Sun` on the wire.
    #[serde(with = "abbreviated")]
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
        (Weekday::Monday, t(10, 0), t(15, 0)),
        (Weekday::Tuesday, t(10, 0), t(15, 0)),
        (Weekday::Wednesday, t(10, 0), t(15, 0)),
        (Weekday::Thursday, t(10, 0), t(17, 30)),
        (Weekday::Friday, t(10, 0), t(13, 0)),
        (Weekday::Saturday, None, None),
        (Weekday::Sunday, None, None),
    ]
    .into_iter()
    .map(|(weekday, opens, closes)| DayHours {
        weekday,
        opens,
        closes,
    })
    .collect()
}

/// A weekday as its three-letter abbreviation (`Mon`), the counters' wire format.
mod abbreviated {
    use mitid_devices::time::Weekday;
    use serde::{Deserialize as _, Deserializer, Serializer, de};

    #[allow(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde's `with` hands the field over by reference"
    )]
    pub fn serialize<S: Serializer>(day: &Weekday, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(day.abbreviation())
    }

    /// Reads what chrono's weekday read before: the abbreviation or the full English name, in
    /// any case.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
        let text = String::deserialize(d)?;
        Weekday::ALL
            .into_iter()
            .find(|day| {
                text.eq_ignore_ascii_case(day.abbreviation())
                    || text.eq_ignore_ascii_case(&format!("{day:?}"))
            })
            .ok_or_else(|| {
                de::Error::invalid_value(de::Unexpected::Str(&text), &"Mon, Tue, ... or Sun")
            })
    }
}

impl Counter {
    /// Whether a slot starting at `start` lies on the grid and inside opening hours.
    fn check_slot(&self, start: NaiveDateTime) -> Result<(), ApiError> {
        let weekday = CivilDate::new(start.year(), start.month(), start.day()).weekday();
        let day = self.opening_hours.iter().find(|d| d.weekday == weekday);
        let (Some(opens), Some(closes)) = day.map_or((None, None), |d| (d.opens, d.closes)) else {
            return Err(ApiError::invalid_request(format!(
                "closed: {} Citizen Service is closed on {}",
                self.municipality,
                weekday.abbreviation()
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
                "closed: {} Citizen Service is open {opens}–{closes} on {}",
                self.municipality,
                weekday.abbreviation()
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
        let closed = counter
            .check_slot(at(4, 11, 0))
            .expect_err("closed on Saturdays");
        assert!(
            format!("{closed:?}").contains("closed on Sat"),
            "{closed:?}"
        );
    }

    #[test]
    fn opening_hours_name_their_days_as_three_letters_on_the_wire() {
        let hours = default_hours();
        let wire = serde_json::to_value(hours[0]).expect("serialises");
        assert_eq!(wire["weekday"], "Mon");
        assert_eq!(wire["opens"], "10:00:00");
        let back: DayHours = serde_json::from_value(wire).expect("reads back");
        assert_eq!(back, hours[0]);
        let long = serde_json::json!({"weekday": "monday", "opens": null, "closes": null});
        let read: DayHours = serde_json::from_value(long).expect("the full name is read too");
        assert_eq!(read.weekday, Weekday::Monday);
        let wrong = serde_json::json!({"weekday": "Mo", "opens": null, "closes": null});
        let err = serde_json::from_value::<DayHours>(wrong).expect_err("not a weekday");
        assert!(err.to_string().contains("Mon, Tue"), "{err}");
    }
}
