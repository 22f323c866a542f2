//! Simulated time. Nothing in this crate reads a clock: every operation that depends on time
//! takes `now: Timestamp`, so the simulator stays deterministic and tests can jump months ahead.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time: milliseconds since the Unix epoch (UTC).
///
/// Serialises as the integer; deserialises from the integer, a date `YYYY-MM-DD` (midnight UTC)
/// or `YYYY-MM-DDTHH:MM[:SS]Z`, so scenario files can be written by hand.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

/// A length of time in milliseconds.
///
/// Serialises as the largest exact unit (`"90s"`, `"15m"`, `"24h"`, `"60d"`, `"250ms"`);
/// deserialises from such a string or from an integer number of milliseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span(pub u64);

const MS_PER_SEC: u64 = 1_000;
const MS_PER_MIN: u64 = 60 * MS_PER_SEC;
const MS_PER_HOUR: u64 = 60 * MS_PER_MIN;
const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;

impl Span {
    pub const ZERO: Span = Span(0);

    #[must_use]
    pub const fn from_millis(ms: u64) -> Span {
        Span(ms)
    }
    #[must_use]
    pub const fn from_secs(s: u64) -> Span {
        Span(s * MS_PER_SEC)
    }
    #[must_use]
    pub const fn from_mins(m: u64) -> Span {
        Span(m * MS_PER_MIN)
    }
    #[must_use]
    pub const fn from_hours(h: u64) -> Span {
        Span(h * MS_PER_HOUR)
    }
    #[must_use]
    pub const fn from_days(d: u64) -> Span {
        Span(d * MS_PER_DAY)
    }
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        self.0
    }
    #[must_use]
    pub const fn as_secs(self) -> u64 {
        self.0 / MS_PER_SEC
    }
}

impl Timestamp {
    pub const EPOCH: Timestamp = Timestamp(0);

    #[must_use]
    pub const fn from_millis(ms: u64) -> Timestamp {
        Timestamp(ms)
    }
    #[must_use]
    pub const fn from_unix_secs(s: u64) -> Timestamp {
        Timestamp(s * MS_PER_SEC)
    }
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        self.0
    }
    /// Whole seconds since the epoch (what TOTP counts in).
    #[must_use]
    pub const fn unix_secs(self) -> u64 {
        self.0 / MS_PER_SEC
    }
    /// Midnight UTC of a calendar date. Dates before 1970 clamp to the epoch.
    #[must_use]
    pub const fn from_ymd(year: i32, month: u32, day: u32) -> Timestamp {
        let days = days_from_civil(year, month, day);
        if days < 0 {
            Timestamp(0)
        } else {
            Timestamp(days as u64 * MS_PER_DAY)
        }
    }
    /// The calendar date (UTC) this instant falls on.
    #[must_use]
    pub const fn date(self) -> CivilDate {
        civil_from_days((self.0 / MS_PER_DAY) as i64)
    }
    /// The instant `span` later (saturating).
    #[must_use]
    pub const fn plus(self, span: Span) -> Timestamp {
        Timestamp(self.0.saturating_add(span.0))
    }
    /// The instant `span` earlier (saturating at the epoch).
    #[must_use]
    pub const fn minus(self, span: Span) -> Timestamp {
        Timestamp(self.0.saturating_sub(span.0))
    }
    /// How long after `earlier` this instant is; zero when it is not later.
    #[must_use]
    pub const fn since(self, earlier: Timestamp) -> Span {
        Span(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<Span> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Span) -> Timestamp {
        self.plus(rhs)
    }
}

impl std::ops::Sub<Span> for Timestamp {
    type Output = Timestamp;
    fn sub(self, rhs: Span) -> Timestamp {
        self.minus(rhs)
    }
}

impl std::ops::Add for Span {
    type Output = Span;
    fn add(self, rhs: Span) -> Span {
        Span(self.0.saturating_add(rhs.0))
    }
}

/// A calendar date in the proleptic Gregorian calendar (UTC).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct CivilDate {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

/// Day of the week, Monday first (the Danish convention). The lab's one weekday type: the
/// simulator's opening hours and shift plans use it too (serde `monday` … `sunday`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    /// All days, Monday first.
    pub const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    /// 0 for Monday … 6 for Sunday.
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The weekday of day `day` of a count whose day 0 is `epoch` (a simulation's days).
    #[must_use]
    pub const fn of_day(epoch: Weekday, day: u32) -> Weekday {
        Weekday::ALL[(epoch.index() + day as usize % 7) % 7]
    }

    /// The English three-letter abbreviation, `Mon` … `Sun` (Citizen Service's opening hours
    /// name their days so on the wire).
    #[must_use]
    pub const fn abbreviation(self) -> &'static str {
        match self {
            Weekday::Monday => "Mon",
            Weekday::Tuesday => "Tue",
            Weekday::Wednesday => "Wed",
            Weekday::Thursday => "Thu",
            Weekday::Friday => "Fri",
            Weekday::Saturday => "Sat",
            Weekday::Sunday => "Sun",
        }
    }
}

impl CivilDate {
    #[must_use]
    pub const fn new(year: i32, month: u32, day: u32) -> CivilDate {
        CivilDate { year, month, day }
    }
    /// Days since 1970-01-01 (negative before).
    #[must_use]
    pub const fn days_since_epoch(self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }
    #[must_use]
    pub const fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday (index 3 with Monday = 0).
        Weekday::ALL[(self.days_since_epoch() + 3).rem_euclid(7) as usize]
    }
    #[must_use]
    pub const fn is_weekend(self) -> bool {
        matches!(self.weekday(), Weekday::Saturday | Weekday::Sunday)
    }
    /// The next calendar day.
    #[must_use]
    pub const fn succ(self) -> CivilDate {
        civil_from_days(self.days_since_epoch() + 1)
    }
    /// Midnight UTC of this date.
    #[must_use]
    pub const fn midnight(self) -> Timestamp {
        Timestamp::from_ymd(self.year, self.month, self.day)
    }
    /// Whether the fields name a real date.
    #[must_use]
    pub const fn is_valid(self) -> bool {
        if self.month < 1 || self.month > 12 || self.day < 1 {
            return false;
        }
        let leap = (self.year % 4 == 0 && self.year % 100 != 0) || self.year % 400 == 0;
        let days_in_month = match self.month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        self.day <= days_in_month
    }
}

impl fmt::Display for CivilDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

// Howard Hinnant's days-from-civil algorithm (public-domain description of the Gregorian
// calendar arithmetic), written out here for `const` use.
const fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = if month <= 2 {
        year as i64 - 1
    } else {
        year as i64
    };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const fn civil_from_days(days: i64) -> CivilDate {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    CivilDate {
        year: (if m <= 2 { y + 1 } else { y }) as i32,
        month: m as u32,
        day: d as u32,
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.date();
        let in_day = self.0 % MS_PER_DAY;
        write!(
            f,
            "{d}T{:02}:{:02}:{:02}.{:03}Z",
            in_day / MS_PER_HOUR,
            in_day % MS_PER_HOUR / MS_PER_MIN,
            in_day % MS_PER_MIN / MS_PER_SEC,
            in_day % MS_PER_SEC
        )
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [
            ("d", MS_PER_DAY),
            ("h", MS_PER_HOUR),
            ("m", MS_PER_MIN),
            ("s", MS_PER_SEC),
        ] {
            if ms.is_multiple_of(size) {
                return write!(f, "{}{unit}", ms / size);
            }
        }
        write!(f, "{ms}ms")
    }
}

/// Why a time string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeParseError {
    #[error("`{0}` is not a duration: use a number with a unit ms, s, m, h or d (e.g. `15m`)")]
    BadSpan(String),
    #[error(
        "`{0}` is not a timestamp: use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z (UTC, 1970 or later)"
    )]
    BadTimestamp(String),
}

impl FromStr for Span {
    type Err = TimeParseError;
    fn from_str(s: &str) -> Result<Span, TimeParseError> {
        let t = s.trim();
        let bad = || TimeParseError::BadSpan(s.to_owned());
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (num, unit) = t.split_at(split);
        let n: u64 = num.parse().map_err(|_| bad())?;
        let size = match unit.trim() {
            "ms" => 1,
            "s" => MS_PER_SEC,
            "m" | "min" => MS_PER_MIN,
            "h" => MS_PER_HOUR,
            "d" => MS_PER_DAY,
            _ => return Err(bad()),
        };
        n.checked_mul(size).map(Span).ok_or_else(bad)
    }
}

impl FromStr for Timestamp {
    type Err = TimeParseError;
    fn from_str(s: &str) -> Result<Timestamp, TimeParseError> {
        let bad = || TimeParseError::BadTimestamp(s.to_owned());
        let text = s.trim();
        let (date, time) = match text.split_once('T') {
            Some((day_part, rest)) => (day_part, Some(rest.strip_suffix('Z').ok_or_else(bad)?)),
            None => (text, None),
        };
        let mut parts = date.split('-');
        let (Some(year), Some(month), Some(day), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let civil = CivilDate::new(
            year.parse().map_err(|_| bad())?,
            month.parse().map_err(|_| bad())?,
            day.parse().map_err(|_| bad())?,
        );
        if !civil.is_valid() || civil.year < 1970 {
            return Err(bad());
        }
        let mut ms = civil.midnight().0;
        if let Some(time) = time {
            let fields: Vec<&str> = time.split(':').collect();
            if !(2..=3).contains(&fields.len()) {
                return Err(bad());
            }
            let limits = [24, 60, 60];
            let sizes = [MS_PER_HOUR, MS_PER_MIN, MS_PER_SEC];
            for (i, field) in fields.iter().enumerate() {
                let v: u64 = field.parse().map_err(|_| bad())?;
                if v >= limits[i] {
                    return Err(bad());
                }
                ms += v * sizes[i];
            }
        }
        Ok(Timestamp(ms))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(u64),
    Text(String),
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        match NumberOrText::deserialize(d)? {
            NumberOrText::Number(n) => Ok(Timestamp(n)),
            NumberOrText::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        match NumberOrText::deserialize(d)? {
            NumberOrText::Number(n) => Ok(Span(n)),
            NumberOrText::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_and_weekdays() {
        let t = Timestamp::from_ymd(2023, 6, 6);
        assert_eq!(t.date(), CivilDate::new(2023, 6, 6));
        assert_eq!(t.date().weekday(), Weekday::Tuesday);
        assert_eq!(CivilDate::new(2023, 10, 31).weekday(), Weekday::Tuesday);
        assert_eq!(
            CivilDate::new(2024, 2, 28).succ(),
            CivilDate::new(2024, 2, 29)
        );
        assert_eq!(
            CivilDate::new(2023, 12, 31).succ(),
            CivilDate::new(2024, 1, 1)
        );
    }

    #[test]
    fn spans_print_in_largest_exact_unit_and_parse_back() {
        for (span, text) in [
            (Span::from_mins(15), "15m"),
            (Span::from_hours(24), "1d"),
            (Span::from_secs(90), "90s"),
            (Span::from_millis(250), "250ms"),
        ] {
            assert_eq!(span.to_string(), text);
            assert_eq!(text.parse::<Span>().unwrap(), span);
        }
        assert!("15 parsecs".parse::<Span>().is_err());
    }

    #[test]
    fn timestamps_parse_from_dates_and_times() {
        assert_eq!(
            "1970-01-02".parse::<Timestamp>().unwrap(),
            Timestamp(MS_PER_DAY)
        );
        assert_eq!(
            "2023-06-06T12:30Z".parse::<Timestamp>().unwrap(),
            Timestamp::from_ymd(2023, 6, 6) + Span::from_hours(12) + Span::from_mins(30)
        );
        assert!("2023-02-30".parse::<Timestamp>().is_err());
        assert!("2023-06-06T25:00Z".parse::<Timestamp>().is_err());
    }
}
