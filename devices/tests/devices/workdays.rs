//! Working days for post delivery (temporary NemID passwords).

use mitid_devices::workdays::is_danish_public_holiday;
use mitid_devices::{CivilDate, TemporaryPasswordPolicy};

#[test]
fn weekends_and_holidays_are_skipped() {
    let p = TemporaryPasswordPolicy::default();
    // Thursday 2023-04-06 is Maundy Thursday; Friday Good Friday; Monday 10th Easter Monday.
    let wed = CivilDate::new(2023, 4, 5);
    assert!(is_danish_public_holiday(CivilDate::new(2023, 4, 6)));
    assert_eq!(p.working_days_after(wed, 1), CivilDate::new(2023, 4, 11));
    // A plain week: Monday + 3 working days = Thursday.
    assert_eq!(
        p.working_days_after(CivilDate::new(2023, 3, 6), 3),
        CivilDate::new(2023, 3, 9)
    );
    // Friday + 3 = Wednesday.
    assert_eq!(
        p.working_days_after(CivilDate::new(2023, 3, 10), 3),
        CivilDate::new(2023, 3, 15)
    );
    assert!(!p.is_working_day(CivilDate::new(2023, 12, 25)));
}

#[test]
fn delivery_takes_three_or_four_working_days() {
    let p = TemporaryPasswordPolicy::default();
    let ordered = CivilDate::new(2023, 3, 6); // Monday
    let dates: Vec<CivilDate> = (0..8).map(|draw| p.delivery_date(ordered, draw)).collect();
    assert!(
        dates.contains(&CivilDate::new(2023, 3, 9)) && dates.contains(&CivilDate::new(2023, 3, 10)),
        "{dates:?}"
    );
    assert!(
        dates
            .iter()
            .all(|d| *d == CivilDate::new(2023, 3, 9) || *d == CivilDate::new(2023, 3, 10)),
        "{dates:?}"
    );
}

#[test]
fn extra_closed_days_count() {
    let mut p = TemporaryPasswordPolicy::default();
    p.extra_closed_days.push(CivilDate::new(2023, 3, 7));
    assert_eq!(
        p.working_days_after(CivilDate::new(2023, 3, 6), 1),
        CivilDate::new(2023, 3, 8)
    );
}
