//! The lab clock: what "now" is for the broker, for the components that share its clock, and for
//! the lab's own devices.
//!
//! The broker's control API reads and moves it. Against the embedded components that clock is
//! shared by every component, so a scenario that moves it is tagged `@serial` and puts it back:
//! the runner's `after` hook releases it whenever a scenario left the [`CLOCK_MOVED`] note (see
//! [`release`]), even when a step failed half-way.
//!
//! The devices read it too: a code display's TOTP code, an app's approval and a chip's
//! registration are dated by the lab clock, so a scenario that moves the clock moves them with
//! the broker that checks them, as real devices and a real broker share real time.

use mitid_devices::{CivilDate, Timestamp};
use serde_json::json;

use super::ActionError;
use super::lab_api::{BROKER, control, control_call};
use crate::world::{Lab, LabWorld};

/// The note a scenario leaves when it moved the lab clock.
pub const CLOCK_MOVED: &str = "lab clock moved";

fn malformed(what: &str, answer: &serde_json::Value, missing: &'static str) -> ActionError {
    ActionError::Malformed {
        service: BROKER,
        what: what.to_owned(),
        missing,
        answer: answer.clone(),
    }
}

/// Now on the lab clock. Not recorded as evidence: devices read it at every press and
/// approval, and those reads say nothing about the service provider under test.
pub async fn now(lab: &Lab) -> Result<Timestamp, ActionError> {
    let (reply, _) = control_call(lab, reqwest::Method::GET, "control/clock", None).await?;
    let clock = reply.expect(200, BROKER, "a read of the lab clock")?;
    clock["now"]
        .as_u64()
        .map(Timestamp::from_unix_secs)
        .ok_or_else(|| malformed("a read of the lab clock", &clock, "now"))
}

/// Today on the lab clock (recorded as evidence: the steps that ask judge by it).
pub async fn today(world: &mut LabWorld) -> Result<CivilDate, ActionError> {
    let what = "a read of the lab clock";
    let clock = control(world, reqwest::Method::GET, "control/clock", None)
        .await?
        .expect(200, BROKER, what)?;
    clock["today"]
        .as_str()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .map(Timestamp::date)
        .ok_or_else(|| malformed(what, &clock, "today"))
}

/// Freezes the lab clock at noon UTC on `day` (noon: far from any midnight a step could cross).
pub async fn freeze_on(world: &mut LabWorld, day: CivilDate) -> Result<(), ActionError> {
    world.notes.push((CLOCK_MOVED.into(), day.to_string()));
    let body = json!({ "at": format!("{day}T12:00:00Z") });
    control(world, reqwest::Method::PUT, "control/clock", Some(&body))
        .await?
        .expect(200, BROKER, format!("freezing the lab clock on {day}"))?;
    Ok(())
}

/// Freezes the lab clock at `at`, to the second. The live driver sets it to the simulated
/// instant before each of a citizen's actions, so every component judges the flow on the day
/// the model says it happens (one clock for the model and the components). Not recorded as
/// evidence and leaves no [`CLOCK_MOVED`] note (a live run moves the clock thousands of times
/// and says nothing about a service provider by it): the caller puts the clock back with
/// [`release`].
pub async fn freeze_at(lab: &Lab, at: Timestamp) -> Result<(), ActionError> {
    let body = json!({ "unix": at.unix_secs() });
    let (reply, _) = control_call(lab, reqwest::Method::PUT, "control/clock", Some(&body)).await?;
    reply.expect(200, BROKER, format!("freezing the lab clock at {at}"))?;
    Ok(())
}

/// Moves the lab clock `days` days on.
pub async fn advance_days(world: &mut LabWorld, days: i64) -> Result<(), ActionError> {
    world
        .notes
        .push((CLOCK_MOVED.to_owned(), format!("{days} days")));
    control(
        world,
        reqwest::Method::POST,
        "control/clock/advance",
        Some(&json!({"seconds": days * 86_400})),
    )
    .await?
    .expect(200, BROKER, format!("moving the lab clock {days} days"))?;
    Ok(())
}

/// Puts the lab clock back on the wall clock (the runner's `after` hook, for every scenario that
/// left the [`CLOCK_MOVED`] note).
pub async fn release(lab: &Lab) -> Result<(), ActionError> {
    let (reply, _) = control_call(lab, reqwest::Method::DELETE, "control/clock", None).await?;
    reply.expect(200, BROKER, "releasing the lab clock")?;
    Ok(())
}
