//! Working days as the Danish post counts them: Monday to Friday, minus Danish public holidays
//! (computed from the Gregorian Easter date) and any extra closed days a scenario names.

use crate::policy::TemporaryPasswordPolicy;
use crate::time::CivilDate;

/// Easter Sunday of `year` (Gregorian; the anonymous Meeus/Jones/Butcher computus).
#[must_use]
#[allow(clippy::many_single_char_names)] // the letters are the published algorithm's names
pub fn easter_sunday(year: i32) -> CivilDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    CivilDate::new(year, month as u32, day as u32)
}

/// Whether `date` is a Danish public holiday: New Year's Day, Maundy Thursday, Good Friday,
/// Easter Sunday and Monday, Great Prayer Day (until 2023, abolished from 2024), Ascension Day,
/// Whit Sunday and Monday, Christmas Day and Boxing Day.
#[must_use]
pub fn is_danish_public_holiday(date: CivilDate) -> bool {
    if (date.month, date.day) == (1, 1) || (date.month == 12 && (date.day == 25 || date.day == 26))
    {
        return true;
    }
    let offset = date.days_since_epoch() - easter_sunday(date.year).days_since_epoch();
    match offset {
        -3 | -2 | 0 | 1 | 39 | 49 | 50 => true,
        26 => date.year <= 2023,
        _ => false,
    }
}

impl TemporaryPasswordPolicy {
    /// Whether letters are delivered on `date`.
    #[must_use]
    pub fn is_working_day(&self, date: CivilDate) -> bool {
        if date.is_weekend() || (self.danish_public_holidays && is_danish_public_holiday(date)) {
            return false;
        }
        !self.extra_closed_days.contains(&date)
    }

    /// The `n`th working day after `date` (`n = 0` is `date` itself).
    #[must_use]
    pub fn working_days_after(&self, date: CivilDate, n: u32) -> CivilDate {
        let mut d = date;
        let mut left = n;
        while left > 0 {
            d = d.succ();
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// The day a temporary password ordered on `ordered_on` arrives: between the minimum and
    /// maximum number of working days later, drawn with `draw` (any `u32`, e.g. from the RNG).
    #[must_use]
    pub fn delivery_date(&self, ordered_on: CivilDate, draw: u32) -> CivilDate {
        let lo = u32::from(self.min_working_days.min(self.max_working_days));
        let hi = u32::from(self.max_working_days.max(self.min_working_days));
        let days = lo + draw % (hi - lo + 1);
        self.working_days_after(ordered_on, days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easter_dates() {
        // Published Easter Sundays.
        assert_eq!(easter_sunday(2022), CivilDate::new(2022, 4, 17));
        assert_eq!(easter_sunday(2023), CivilDate::new(2023, 4, 9));
        assert_eq!(easter_sunday(2024), CivilDate::new(2024, 3, 31));
    }

    #[test]
    fn great_prayer_day_abolished_from_2024() {
        assert!(is_danish_public_holiday(CivilDate::new(2023, 5, 5)));
        assert!(!is_danish_public_holiday(CivilDate::new(2024, 4, 26)));
    }
}
