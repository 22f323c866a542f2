//! The calendar: the NemID phase-out milestones (one source: `fixtures/nemid-calendar.yaml`,
//! through [`NemidCalendar`]) and where the lab's clock stands ([`crate::actions::clock`], which
//! says how a scenario that moves it puts it back).

use cucumber::{given, then, when};
use mitid_components::nemid_calendar::NemidCalendar;
use mitid_devices::{CivilDate, Timestamp};

use crate::actions::clock::{freeze_on, today};
use crate::checks::OrFail;
use crate::world::LabWorld;

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

#[given(regex = r"^the calendar is past the NemID (?:shutdown|milestone) on (\d{4}-\d{2}-\d{2})$")]
async fn past_milestone(world: &mut LabWorld, day: String) {
    let day = milestone(&day);
    let today = today(world).await.or_fail();
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
    freeze_on(world, on).await.or_fail();
}

#[when(regex = r"^the calendar reaches the NemID milestone (\d{4}-\d{2}-\d{2})$")]
async fn reaches_milestone(world: &mut LabWorld, day: String) {
    let day = milestone(&day);
    freeze_on(world, day).await.or_fail();
}

#[then(expr = "the lab clock says {string}")]
async fn clock_says(world: &mut LabWorld, day: String) {
    let today = today(world).await.or_fail();
    assert_eq!(today.to_string(), day, "the lab clock");
}
