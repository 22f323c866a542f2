//! The lab clock over HTTP (control listener): read it, freeze it at an instant, advance it,
//! release it back to the wall clock. Every component of a stack reads this one `LabClock` (the
//! embedded stack shares it in memory, containers through a clock file on a shared volume), so
//! moving it moves every component's "now": scenarios that use it run `@serial` and put it back
//! afterwards. Contract in `CONTROL_API.md`.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

use crate::service::Routes;
use crate::service::routing::{get, post};
use axum::extract::State;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::SharedState;
use crate::service::{ApiError, Json};

/// Furthest the clock may be moved in one call (100 years), so arithmetic never overflows.
const MAX_SHIFT_SECONDS: i64 = 100 * 366 * 86_400;
/// Instants the clock may be frozen at: 1970 up to the year 9999.
const LATEST: i64 = 253_402_300_799;

pub fn control_routes() -> Routes<SharedState> {
    Routes::new()
        .route("/control/clock", get(read).put(freeze).delete(release))
        .route("/control/clock/advance", post(advance))
}

/// What the clock says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockView {
    /// Unix seconds.
    pub now: i64,
    /// RFC 3339, UTC.
    pub utc: String,
    /// `YYYY-MM-DD`, UTC.
    pub today: String,
    /// Standing still (frozen) or following the wall clock.
    pub frozen: bool,
}

fn view(state: &SharedState) -> ClockView {
    let now = state.clock.now();
    ClockView {
        now,
        utc: DateTime::from_timestamp(now, 0)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        today: state.clock.today().to_string(),
        frozen: state.clock.is_frozen(),
    }
}

/// `PUT /control/clock`: exactly one of `at` (a date, midnight UTC, or an RFC 3339 UTC instant)
/// and `unix`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreezeRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unix: Option<i64>,
}

/// `POST /control/clock/advance`: seconds to move (negative moves back).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceRequest {
    pub seconds: i64,
}

/// Parses `2023-06-04` (midnight UTC) or `2023-06-04T12:30:00Z` into unix seconds.
#[must_use]
pub fn parse_instant(text: &str) -> Option<i64> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp());
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

pub async fn read(State(state): State<SharedState>) -> Json<ClockView> {
    Json(view(&state))
}

pub async fn freeze(
    State(state): State<SharedState>,
    Json(req): Json<FreezeRequest>,
) -> Result<Json<ClockView>, ApiError> {
    let instant = match (req.at.as_deref(), req.unix) {
        (Some(text), None) => parse_instant(text).ok_or_else(|| {
            ApiError::invalid_request(format!(
                "at: `{text}` is neither a YYYY-MM-DD date nor an RFC 3339 instant"
            ))
        })?,
        (None, Some(unix)) => unix,
        _ => {
            return Err(ApiError::invalid_request(
                "give exactly one of `at` and `unix`",
            ));
        }
    };
    if !(0..=LATEST).contains(&instant) {
        return Err(ApiError::invalid_request(
            "the instant must lie between 1970 and 9999",
        ));
    }
    state
        .clock
        .freeze_at(instant)
        .map_err(|err| clock_failed(&err))?;
    Ok(Json(view(&state)))
}

pub async fn advance(
    State(state): State<SharedState>,
    Json(req): Json<AdvanceRequest>,
) -> Result<Json<ClockView>, ApiError> {
    if req.seconds.abs() > MAX_SHIFT_SECONDS {
        return Err(ApiError::invalid_request(format!(
            "seconds: at most {MAX_SHIFT_SECONDS} either way"
        )));
    }
    let target = state.clock.now().saturating_add(req.seconds);
    if !(0..=LATEST).contains(&target) {
        return Err(ApiError::invalid_request(
            "seconds: the clock would leave 1970–9999",
        ));
    }
    state
        .clock
        .advance(req.seconds)
        .map_err(|err| clock_failed(&err))?;
    Ok(Json(view(&state)))
}

pub async fn release(State(state): State<SharedState>) -> Result<Json<ClockView>, ApiError> {
    state.clock.release().map_err(|err| clock_failed(&err))?;
    Ok(Json(view(&state)))
}

/// A shared clock file that cannot be written: the clock did not move (500, with the file).
fn clock_failed(err: &crate::service::ClockError) -> ApiError {
    ApiError::Internal(err.to_string())
}
