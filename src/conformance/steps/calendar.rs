//! The calendar: the NemID phase-out milestones (DOMAIN.md) and where the lab's clock stands.

use cucumber::given;

use crate::conformance::world::LabWorld;

/// NemID milestones from the public phase-out calendar (DOMAIN.md), as `(date, what changes)`.
pub const NEMID_MILESTONES: [(&str, &str); 5] = [
    (
        "2022-11-01",
        "banks, mobile banking and online shopping no longer accept NemID",
    ),
    (
        "2023-05-30",
        "new key cards and temporary passwords only at Citizen Service",
    ),
    ("2023-06-05", "NemID can no longer be used to get MitID"),
    ("2023-06-30", "NemID support closes; no new NemID is issued"),
    ("2023-10-31", "NemID shut down completely"),
];

/// Today's date (UTC) on the lab's clock, `YYYY-MM-DD`. The embedded components follow the wall
/// clock, so the lab does too.
pub fn lab_today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    civil_from_days(days as i64)
}

/// Days since 1970-01-01 → `YYYY-MM-DD` (proleptic Gregorian; H. Hinnant's civil_from_days).
fn civil_from_days(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[given(regex = r"^the calendar is past the NemID (?:shutdown|milestone) on (\d{4}-\d{2}-\d{2})$")]
fn past_milestone(world: &mut LabWorld, date: String) {
    assert!(
        NEMID_MILESTONES.iter().any(|(d, _)| *d == date),
        "{date} is not a NemID milestone; the calendar has {NEMID_MILESTONES:?}"
    );
    let today = lab_today();
    assert!(
        today.as_str() > date.as_str(),
        "the lab's clock says {today}, which is not after {date}"
    );
    world.notes.push(("today".into(), today));
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates_from_day_numbers() {
        assert_eq!(super::civil_from_days(0), "1970-01-01");
        assert_eq!(super::civil_from_days(19_661), "2023-10-31");
        assert_eq!(super::civil_from_days(11_016), "2000-02-29");
    }
}
