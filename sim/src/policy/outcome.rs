//! What a policy run returns: one row per simulated day plus per-municipality Citizen Service
//! load and run totals. Everything here is deterministic for a given scenario and seed (no wall
//! times), so its serialized form can be compared byte for byte.

use chrono::NaiveDate;
use serde::Serialize;

/// The result of [`run_policy`](super::run_policy).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyOutcome {
    /// Scenario name.
    pub scenario: String,
    /// Seed the run used.
    pub seed: u64,
    /// Number of synthetic citizens.
    pub population: u32,
    /// First simulated day.
    pub start: NaiveDate,
    /// Last simulated day (inclusive).
    pub end: NaiveDate,
    /// Discrete events processed (citizen decisions, appointments, calls, authenticator events).
    pub event_count: u64,
    /// Labels of the age bands used by the `*_by_age_band` columns, e.g. `"80+"`.
    pub age_bands: Vec<String>,
    /// The calendar's milestone dates, named (for summaries "on every milestone").
    pub milestones: Vec<Milestone>,
    /// One row per simulated day, in date order.
    pub days: Vec<DayRow>,
    /// Citizen Service load per municipality and month.
    pub municipalities: Vec<MunicipalityLoad>,
    /// Run totals: how citizens got MitID and how authenticator problems were solved.
    pub totals: RunTotals,
    /// What each of the scenario's incidents did, in scenario order; left out when the
    /// scenario has none, so an outcome without incidents serializes as before.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<IncidentFigures>,
}

/// What one incident did in the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentFigures {
    /// The incident's name.
    pub name: String,
    /// Its kind (`outage`, `latency`, `error_rate`, `cpr_lockout_attack`, `geo_block`).
    pub kind: String,
    /// What it hit, for the kinds that name a component.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// First day of the window.
    pub from: NaiveDate,
    /// First day back to normal.
    pub until: NaiveDate,
    /// Actions the model's rules would have seen succeed that failed because of it.
    pub actions_failed: u64,
    /// Citizens with at least one such action.
    pub citizens_affected: u64,
}

/// A named calendar date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Milestone {
    /// Machine name, e.g. `nemid_shutdown` or `cutoff_bank`.
    pub name: String,
    /// The date it takes effect.
    pub date: NaiveDate,
}

/// The state at the end of one simulated day, and what happened during it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayRow {
    /// The day.
    pub date: NaiveDate,
    /// Citizens holding a MitID (enrolled identity), whatever their authenticator's state.
    pub mitid_users: u32,
    /// Of those, aged 15 or more.
    pub mitid_users_15plus: u32,
    /// Citizens with a NemID that still works somewhere today and no MitID.
    pub nemid_only: u32,
    /// Citizens aged 15+ with no usable eID today: no MitID and no working NemID, or a MitID whose
    /// only authenticator is lost, blocked or awaiting reactivation.
    pub without_eid: u32,
    /// Citizens aged 15 or more.
    pub population_15plus: u32,
    /// Citizen Service cases waiting at the end of the day: booked appointments not yet held plus
    /// citizens who found no slot and will try again.
    pub citizen_service_queue: u32,
    /// Mean days from first asking for an appointment to being served, over the cases served
    /// today; `None` (null, an empty CSV cell) on a day nobody was served, when it has no value.
    pub citizen_service_mean_wait_days: Option<f64>,
    /// Days from today to the earliest appointment a citizen asking today is offered (own
    /// counter, or the region's under `book_in_region_after_days`), mean over municipalities
    /// weighted by residents. Defined every day. Where that appointment lies past the booking
    /// horizon the citizen cannot book it yet, so it is a lower bound of their wait.
    pub citizen_service_offered_wait_days: f64,
    /// Age in days of the oldest case in the Citizen Service queue at the end of the day (0 when
    /// the queue is empty).
    pub citizen_service_oldest_request_days: u32,
    /// Citizen Service cases asked for today (appointment requests and walk-ins).
    pub citizen_service_requests: u32,
    /// Citizen Service cases served today.
    pub citizen_service_served: u32,
    /// Counter hours spent on MitID cases today, all municipalities.
    pub citizen_service_counter_hours: f64,
    /// Calls offered to the support line today (including redials).
    pub support_calls: u32,
    /// Calls answered today.
    pub support_answered: u32,
    /// Callers who hung up before an agent answered, today.
    pub support_abandoned: u32,
    /// Mean minutes answered callers waited today; `None` (null, an empty CSV cell) on a day no
    /// call was answered (e.g. no agents), when it has no value.
    pub support_mean_wait_minutes: Option<f64>,
    /// Login attempts that failed today: a need met with no accepted, usable eID (NemID refused
    /// after a cut-off, lost or blocked authenticator, QR confusion).
    pub failed_logins: u32,
    /// Citizens who got MitID today.
    pub new_mitid: u32,
    /// NemID logins the model relies on today: starting a MitID enrolment on MitID.dk with NemID
    /// and recovering a forgotten MitID user ID with NemID. Zero from the shutdown on.
    pub nemid_logins: u32,
    /// MitID enrolments started today on MitID.dk with NemID (the NemID login happens today;
    /// a code display sent by post may finish the enrolment days later). Zero from
    /// `calendar.migration_via_nemid_ends` on.
    pub via_nemid_enrolments_started: u32,
    /// Lock-outs (too many wrong PINs/codes) today, all ages.
    pub lockouts: u32,
    /// Lock-outs today per age band (`PolicyOutcome::age_bands`).
    pub lockouts_by_age_band: Vec<u32>,
    /// `without_eid` per age band, end of day (the 0–14 band counts children too young for
    /// MitID only if they held NemID).
    pub without_eid_by_age_band: Vec<u32>,
    /// `mitid_users` per age band, end of day.
    pub mitid_users_by_age_band: Vec<u32>,
    /// Citizens per age band (the denominators of the per-band shares; citizens keep their age
    /// through a run, so this is the same every day).
    pub population_by_age_band: Vec<u32>,
}

/// One municipality's Citizen Service load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MunicipalityLoad {
    /// DST municipality code.
    pub code: u16,
    /// DST short name.
    pub name: String,
    /// Synthetic residents.
    pub residents: u32,
    /// Staffed counters (after scaling to the synthetic population, before surges).
    pub counters: f64,
    /// One entry per calendar month touched by the run.
    pub months: Vec<MonthLoad>,
}

/// One municipality's Citizen Service load in one month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthLoad {
    /// The month as `YYYY-MM`.
    pub month: String,
    /// Cases residents of the municipality asked for (appointment requests incl. re-tries after
    /// "no slot", and walk-ins), wherever they were then served.
    pub requests: u32,
    /// Cases served at the municipality's counter (its residents' and the region's).
    pub served: u32,
    /// Of those, cases of residents of other municipalities who booked here.
    pub served_from_elsewhere: u32,
    /// Counter hours the served cases took.
    pub counter_hours_used: f64,
    /// Counter hours open in the month (counters x opening hours).
    pub counter_hours_available: f64,
    /// Counter hours needed to serve, within the month, every case the municipality's residents
    /// first asked for in it (first requests x service time / 60): the planner's figure.
    pub counter_hours_needed: f64,
    /// Mean days from first request to being served, for cases served at this counter in the
    /// month; `None` when none were.
    pub mean_wait_days: Option<f64>,
    /// Mean over the month's days of the days to the earliest free appointment in this
    /// municipality's own book (what its booking page showed); past the horizon a lower bound.
    pub mean_offered_wait_days: f64,
}

/// Run totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RunTotals {
    /// MitID held on the start date.
    pub mitid_at_start: u32,
    /// Enrolments through MitID.dk with NemID.
    pub via_nemid: u32,
    /// Enrolments in the app with passport / ID card chip and face scan.
    pub app_passport: u32,
    /// Enrolments helped by a bank.
    pub bank_assisted: u32,
    /// Enrolments with a witness.
    pub witness: u32,
    /// Enrolments at Citizen Service with CPR questions.
    pub citizen_service: u32,
    /// Enrolments at Citizen Service with a P code (no CPR number).
    pub citizen_service_p_code: u32,
    /// Citizens who wanted MitID but had no route open to them at the time (counted per attempt).
    pub no_route_attempts: u32,
    /// Recoveries by passport + face scan in the app.
    pub recovered_passport: u32,
    /// Recoveries with an activation code from another device.
    pub recovered_backup_device: u32,
    /// Recoveries through the support line.
    pub recovered_support: u32,
    /// Recoveries via NemID on MitID.dk (forgotten user ID).
    pub recovered_nemid: u32,
    /// Recoveries at Citizen Service.
    pub recovered_citizen_service: u32,
    /// Temporary suspensions that lifted by themselves.
    pub suspensions_lifted: u32,
    /// Support PIN resets refused because the phone number changed recently.
    pub support_refused_number_changed: u32,
    /// MitID holders whose level of assurance (`loa(ial, aal)`) some sector they need refuses
    /// (e.g. P-code identities where Substantial is required); their needs there fail daily.
    pub mitid_refused_by_loa: u32,
    /// NemID-only citizens whose key card ran out after key cards became Citizen-Service-only.
    pub nemid_lost_key_card: u32,
    /// NemID-only citizens whose NemID broke after NemID support closed.
    pub nemid_lost_no_support: u32,
    /// Failed logins over the run.
    pub failed_logins: u64,
    /// Lock-outs over the run.
    pub lockouts: u32,
}
