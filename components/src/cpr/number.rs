//! CPR numbers: `DDMMYY-SSSS`, where the seventh digit and the two-digit year together give the
//! century, and the last digit's parity gives the registered sex.
//!
//! Century rule (CPR office, "Personnummeret i CPR", 2008 edition):
//! | 7th digit | YY 00–36 | YY 37–57 | YY 58–99 |
//! |---|---|---|---|
//! | 0–3 | 19YY | 19YY | 19YY |
//! | 4, 9 | 20YY | 19YY | 19YY |
//! | 5–8 | 20YY | 20YY | 18YY |
//!
//! Since 2007 numbers no longer need to satisfy the old modulus-11 check, so none is applied.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Registered sex, read from the parity of a CPR number's last digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
}

/// Why a string is not a CPR number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CprNumberError {
    #[error("CPR number must be 10 digits, optionally written DDMMYY-SSSS; got {0:?}")]
    Shape(String),
    #[error("CPR number {0:?} does not start with a real date (DDMMYY)")]
    Date(String),
}

/// A syntactically valid CPR number whose first six digits are a real date in the century the
/// seventh digit selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CprNumber {
    digits: [u8; 10],
}

/// The century a CPR number's seventh digit selects for a two-digit year.
#[must_use]
pub fn century_for(seventh_digit: u8, two_digit_year: u8) -> i32 {
    match seventh_digit {
        0..=3 => 1900,
        4 | 9 => {
            if two_digit_year <= 36 {
                2000
            } else {
                1900
            }
        }
        _ => {
            if two_digit_year <= 57 {
                2000
            } else {
                1800
            }
        }
    }
}

/// The seventh digits that can encode a person born in `year`, in increasing order.
#[must_use]
pub fn seventh_digits_for_year(year: i32) -> Vec<u8> {
    let yy = year.rem_euclid(100) as u8;
    (0..=9u8)
        .filter(|&d| century_for(d, yy) + i32::from(yy) == year)
        .collect()
}

impl CprNumber {
    /// Builds a number from a birth date and a four-digit serial (`SSSS`), checking that the
    /// serial's first digit encodes the birth date's century.
    pub fn from_parts(birth_date: NaiveDate, serial: u16) -> Result<Self, CprNumberError> {
        let text = format!(
            "{:02}{:02}{:02}{:04}",
            birth_date.day(),
            birth_date.month(),
            birth_date.year().rem_euclid(100),
            serial
        );
        let number: Self = text.parse()?;
        if number.birth_date() == birth_date {
            Ok(number)
        } else {
            Err(CprNumberError::Date(text))
        }
    }

    /// The birth date the number encodes.
    ///
    /// # Panics
    /// Never: parsing refuses numbers whose first six digits are not a real date.
    #[must_use]
    pub fn birth_date(&self) -> NaiveDate {
        self.decode_date()
            .expect("a parsed CprNumber always holds a real date")
    }

    fn decode_date(&self) -> Option<NaiveDate> {
        let d = &self.digits;
        let day = u32::from(d[0] * 10 + d[1]);
        let month = u32::from(d[2] * 10 + d[3]);
        let yy = d[4] * 10 + d[5];
        let year = century_for(d[6], yy) + i32::from(yy);
        NaiveDate::from_ymd_opt(year, month, day)
    }

    /// The registered sex: an odd last digit is male, an even one female.
    #[must_use]
    pub fn sex(&self) -> Sex {
        if self.digits[9] % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The ten digits without the hyphen.
    #[must_use]
    pub fn compact(&self) -> String {
        self.digits.iter().map(|d| char::from(b'0' + d)).collect()
    }
}

impl FromStr for CprNumber {
    type Err = CprNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let compact: String = match trimmed.len() {
            10 => trimmed.to_owned(),
            11 if trimmed.as_bytes()[6] == b'-' => {
                format!("{}{}", &trimmed[..6], &trimmed[7..])
            }
            _ => return Err(CprNumberError::Shape(s.to_owned())),
        };
        if !compact.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CprNumberError::Shape(s.to_owned()));
        }
        let mut digits = [0u8; 10];
        for (slot, b) in digits.iter_mut().zip(compact.bytes()) {
            *slot = b - b'0';
        }
        let number = Self { digits };
        if number.decode_date().is_none() {
            return Err(CprNumberError::Date(s.to_owned()));
        }
        Ok(number)
    }
}

impl fmt::Display for CprNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.compact();
        write!(f, "{}-{}", &c[..6], &c[6..])
    }
}

impl Serialize for CprNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CprNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn century_rules_match_the_cpr_table() {
        let cases = [
            ("0101001234", 1900),
            ("0101364234", 2036),
            ("0101374234", 1937),
            ("0101575234", 2057),
            ("0101585234", 1858),
            ("0101999234", 1999),
            ("0101209234", 2020),
        ];
        for (text, year) in cases {
            let n: CprNumber = text.parse().unwrap();
            assert_eq!(n.birth_date().year(), year, "{text}");
        }
    }

    #[test]
    fn sex_follows_last_digit_parity() {
        assert_eq!("010190-1231".parse::<CprNumber>().unwrap().sex(), Sex::Male);
        assert_eq!(
            "010190-1232".parse::<CprNumber>().unwrap().sex(),
            Sex::Female
        );
    }

    #[test]
    fn impossible_dates_and_shapes_are_refused() {
        assert!(matches!(
            "310290-1234".parse::<CprNumber>(),
            Err(CprNumberError::Date(_))
        ));
        assert!(matches!(
            "12345".parse::<CprNumber>(),
            Err(CprNumberError::Shape(_))
        ));
        assert!(matches!(
            "01019a1234".parse::<CprNumber>(),
            Err(CprNumberError::Shape(_))
        ));
        // 29 Feb 2000 exists (7th digit 4 → 2000); 29 Feb 1900 does not (7th digit 0 → 1900).
        assert!("290200-4000".parse::<CprNumber>().is_ok());
        assert!("290200-0000".parse::<CprNumber>().is_err());
    }

    #[test]
    fn from_parts_refuses_a_serial_from_the_wrong_century() {
        let born = NaiveDate::from_ymd_opt(2010, 5, 17).unwrap();
        assert!(CprNumber::from_parts(born, 4001).is_ok());
        assert!(CprNumber::from_parts(born, 1001).is_err());
        assert_eq!(seventh_digits_for_year(2010), vec![4, 5, 6, 7, 8, 9]);
        assert_eq!(seventh_digits_for_year(1950), vec![0, 1, 2, 3, 4, 9]);
        assert_eq!(seventh_digits_for_year(1880), vec![5, 6, 7, 8]);
    }
}
