//! The counters and their appointments: opening hours, free 15-minute slots, booking (one
//! appointment per person at a time, at most the counter's desks per slot) and cancelling.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::Deserialize;

use super::{Appointment, BookingRequest, Counter, SLOT_MINUTES, Shared, parse_cpr};
use crate::service::{ApiError, Json, Path, Query};

pub(super) async fn municipalities(State(office): State<Shared>) -> Json<serde_json::Value> {
    let desk = office.desk();
    let list: Vec<&Counter> = desk.counters.values().collect();
    Json(serde_json::json!({ "municipalities": list }))
}

pub(super) async fn counter(
    State(office): State<Shared>,
    Path(code): Path<u16>,
) -> Result<Json<Counter>, ApiError> {
    Ok(Json(office.desk().counter(code)?.clone()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SlotsQuery {
    date: NaiveDate,
}

pub(super) async fn free_slots(
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

pub(super) async fn book(
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

pub(super) async fn appointment(
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

pub(super) async fn cancel(
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
