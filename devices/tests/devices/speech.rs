//! The audio code reader speaks the same code the IdP accepts, digit by digit, in Danish or English.

use mitid_devices::speech::{Language, digit_word, speak};
use mitid_devices::{AudioCodeReader, CodeTokenKind, CodeTokenPolicy, Span};

use crate::{day, rng};

#[test]
fn words_for_every_digit() {
    let da: Vec<&str> = (0..10)
        .map(|d| digit_word(d, Language::Danish).unwrap())
        .collect();
    let en: Vec<&str> = (0..10)
        .map(|d| digit_word(d, Language::English).unwrap())
        .collect();
    assert_eq!(
        da,
        [
            "nul", "en", "to", "tre", "fire", "fem", "seks", "syv", "otte", "ni"
        ]
    );
    assert_eq!(
        en,
        [
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"
        ]
    );
    assert_eq!(digit_word(10, Language::Danish), None);
}

#[test]
fn codes_read_digit_by_digit() {
    assert_eq!(
        speak(472_819, 6, Language::Danish),
        "fire, syv, to, otte, en, ni"
    );
    assert_eq!(
        speak(472_819, 6, Language::English),
        "four, seven, two, eight, one, nine"
    );
    assert_eq!(
        speak(5, 6, Language::English),
        "zero, zero, zero, zero, zero, five"
    );
}

#[test]
fn reader_speaks_the_code_the_idp_accepts() {
    let policy = CodeTokenPolicy::default();
    let now = day(2023, 2, 1);
    for language in [Language::Danish, Language::English] {
        let (reader, mut record) =
            AudioCodeReader::manufacture("AR-1", language, now, &policy, &mut rng(9));
        assert_eq!(record.kind, CodeTokenKind::AudioCodeReader);
        let t = now + Span::from_mins(3);
        let (shown, spoken) = reader.press(t, &policy).unwrap();
        let text = spoken.to_string();
        assert_eq!(text, speak(shown.code, 6, language));
        // A listener turns the words back into digits and types them.
        let typed: String = spoken
            .words()
            .map(|w| {
                (0..10u8)
                    .find(|d| digit_word(*d, language) == Some(w))
                    .unwrap()
                    .to_string()
            })
            .collect();
        record
            .verify_typed(&typed, t, &policy)
            .unwrap_or_else(|e| panic!("{language:?}: heard {text:?}, typed {typed}: {e}"));
    }
}
