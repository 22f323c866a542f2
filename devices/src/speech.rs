//! What the audio code reader says: a code read digit by digit, in Danish or English
//! ("fire, syv, ..." / "four, seven, ..."), for the TUI and the flow scenarios.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The reader's voice language.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Danish,
    English,
}

const DANISH: [&str; 10] = [
    "nul", "en", "to", "tre", "fire", "fem", "seks", "syv", "otte", "ni",
];
const ENGLISH: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// The spoken word for one decimal digit (`None` if `digit > 9`).
#[must_use]
pub fn digit_word(digit: u8, language: Language) -> Option<&'static str> {
    let words = match language {
        Language::Danish => &DANISH,
        Language::English => &ENGLISH,
    };
    words.get(digit as usize).copied()
}

/// A code as the reader speaks it; `Display` writes the words separated by ", ".
/// Building it allocates nothing: it holds the digits and renders on demand.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SpokenCode {
    digits: [u8; 10],
    len: u8,
    language: Language,
}

impl SpokenCode {
    /// The spoken form of `code` zero-padded to `digits` digits (at most 10).
    #[must_use]
    pub fn new(code: u32, digits: u8, language: Language) -> SpokenCode {
        let len = digits.clamp(1, 10);
        let mut out = [0u8; 10];
        let mut rest = code;
        for i in (0..len as usize).rev() {
            out[i] = (rest % 10) as u8;
            rest /= 10;
        }
        SpokenCode {
            digits: out,
            len,
            language,
        }
    }

    /// The words in reading order.
    pub fn words(&self) -> impl Iterator<Item = &'static str> + '_ {
        let table = match self.language {
            Language::Danish => &DANISH,
            Language::English => &ENGLISH,
        };
        // Digits are stored as `n % 10`, so the index is always in range.
        self.digits[..self.len as usize]
            .iter()
            .map(move |d| table[usize::from(*d % 10)])
    }
}

impl fmt::Display for SpokenCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, w) in self.words().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(w)?;
        }
        Ok(())
    }
}

/// Convenience: the spoken text of a code as a `String`.
#[must_use]
pub fn speak(code: u32, digits: u8, language: Language) -> String {
    SpokenCode::new(code, digits, language).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_digit_by_digit_with_leading_zeros() {
        assert_eq!(
            speak(47_019, 6, Language::Danish),
            "nul, fire, syv, nul, en, ni"
        );
        assert_eq!(
            speak(47_019, 6, Language::English),
            "zero, four, seven, zero, one, nine"
        );
    }
}
