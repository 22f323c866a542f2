//! The calendar: the NemID phase-out milestones (one source: `fixtures/nemid-calendar.yaml`,
//! through [`NemidCalendar`]) and where the lab's clock stands.
//!
//! The broker's control API reads and moves the lab clock. Against the embedded components that
//! clock is shared by every component, so a scenario that moves it is tagged `@serial` and puts
//! it back: the runner's `after` hook releases it whenever a scenario froze it (see [`release`]),
//! even when a step failed half-way.

use cucumber::{given, then, when};
use mitid_components::nemid_calendar::NemidCalendar;
use mitid_devices::{CivilDate, Timestamp};
use serde_json::json;

use super::broker::control;
use crate::world::{Lab, LabWorld};

/// The note a scenario leaves when it moved the lab clock.
pub const CLOCK_MOVED: &str = "lab clock moved";

fn calendar() -> NemidCalendar {
    NemidCalendar::builtin()
}

fn date(text: &str) -> CivilDate {
    text.parse::<Timestamp>()
        .unwrap_or_else(|e| panic!("`{text}` is not a YYYY-MM-DD date: {e}"))
        .date()
}

/// Checks that `text` is one of the calendar's milestones.
fn milestone(text: &str) -> CivilDate {
    let day = date(text);
    let calendar = calendar();
    assert!(
        calendar
            .milestones
            .iter()
            .any(|m| m.date.to_string() == day.to_string()),
        "{text} is not a NemID milestone; the calendar (fixtures/nemid-calendar.yaml) has {:?}",
        calendar
            .milestones
            .iter()
            .map(|m| (m.date.to_string(), m.what.clone()))
            .collect::<Vec<_>>()
    );
    day
}

/// Today on the broker's lab clock.
pub async fn lab_today(world: &mut LabWorld) -> CivilDate {
    let (status, clock) = control(world, reqwest::Method::GET, "control/clock", None).await;
    assert_eq!(status, 200, "the broker's clock: {clock}");
    date(clock["today"].as_str().unwrap_or_default())
}

/// Freezes the lab clock at noon UTC on `day` (noon: far from any midnight a step could cross).
pub async fn freeze_on(world: &mut LabWorld, day: CivilDate) {
    world.notes.push((CLOCK_MOVED.into(), day.to_string()));
    let body = json!({ "at": format!("{day}T12:00:00Z") });
    let (status, clock) = control(world, reqwest::Method::PUT, "control/clock", Some(&body)).await;
    assert_eq!(status, 200, "the broker refused to set its clock: {clock}");
}

/// Puts the lab clock back on the wall clock (the runner's `after` hook, for every scenario that
/// left the [`CLOCK_MOVED`] note).
pub async fn release(lab: &Lab) {
    let (status, clock, _) =
        super::broker::control_call(lab, reqwest::Method::DELETE, "control/clock", None).await;
    if status != 200 {
        eprintln!("the broker did not release its lab clock ({status}): {clock}");
    }
}

#[given(regex = r"^the calendar is past the NemID (?:shutdown|milestone) on (\d{4}-\d{2}-\d{2})$")]
async fn past_milestone(world: &mut LabWorld, day: String) {
    let day = milestone(&day);
    let today = lab_today(world).await;
    assert!(
        today >= day,
        "the lab's clock says {today}, which is before the milestone {day}"
    );
    world.notes.push(("today".into(), today.to_string()));
}

#[given(regex = r"^it is the day (before|of) the NemID milestone (\d{4}-\d{2}-\d{2})$")]
async fn day_around_milestone(world: &mut LabWorld, which: String, day: String) {
    let day = milestone(&day);
    let on = if which == "before" {
        Timestamp::from_unix_secs(day.midnight().unix_secs() - 86_400).date()
    } else {
        day
    };
    freeze_on(world, on).await;
}

#[when(regex = r"^the calendar reaches the NemID milestone (\d{4}-\d{2}-\d{2})$")]
async fn reaches_milestone(world: &mut LabWorld, day: String) {
    let day = milestone(&day);
    freeze_on(world, day).await;
}

#[then(expr = "the lab clock says {string}")]
async fn clock_says(world: &mut LabWorld, day: String) {
    let today = lab_today(world).await;
    assert_eq!(today.to_string(), day, "the lab clock");
}
