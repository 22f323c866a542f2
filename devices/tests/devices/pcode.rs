//! P code: 8 digits, valid 60 days, 3 attempts, one use.

use mitid_devices::{PCode, PCodeError, PCodePolicy, PCodeStatus, Span};
use proptest::prelude::*;

use crate::{day, rng};

#[test]
fn lifecycle_valid_used() {
    let p = PCodePolicy::default();
    let now = day(2023, 2, 1);
    let mut c = PCode::issue(now, &mut rng(1));
    let code = c.reveal_code().to_owned();
    assert_eq!(code.len(), 8);
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert_eq!(c.status(now, &p), PCodeStatus::Valid);
    c.verify(&code, now + Span::from_days(59), &p).unwrap();
    assert_eq!(c.status(now, &p), PCodeStatus::Used);
    assert_eq!(c.verify(&code, now, &p), Err(PCodeError::Used));
}

#[test]
fn expires_after_60_days() {
    let p = PCodePolicy::default();
    let now = day(2023, 2, 1);
    let mut c = PCode::issue(now, &mut rng(2));
    let code = c.reveal_code().to_owned();
    let expiry = now + Span::from_days(60);
    assert_eq!(c.status(expiry, &p), PCodeStatus::Expired);
    assert_eq!(
        c.verify(&code, expiry, &p),
        Err(PCodeError::Expired(expiry))
    );
}

#[test]
fn three_wrong_attempts_void_it() {
    let p = PCodePolicy::default();
    let now = day(2023, 2, 1);
    let mut c = PCode::issue(now, &mut rng(3));
    let code = c.reveal_code().to_owned();
    let wrong = if code == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    assert_eq!(
        c.verify(wrong, now, &p),
        Err(PCodeError::Wrong { remaining: 2 })
    );
    assert_eq!(
        c.verify(wrong, now, &p),
        Err(PCodeError::Wrong { remaining: 1 })
    );
    assert_eq!(c.verify(wrong, now, &p), Err(PCodeError::Void));
    assert_eq!(c.verify(&code, now, &p), Err(PCodeError::Void));
    assert_eq!(p.status(now, 3, false, now), PCodeStatus::Void);
}

proptest! {
    #[test]
    fn a_p_code_never_verifies_twice(seed in any::<u64>(), dt_days in 0u64..60, later_days in 0u64..60) {
        let p = PCodePolicy::default();
        let now = day(2023, 2, 1);
        let mut c = PCode::issue(now, &mut rng(seed));
        let code = c.reveal_code().to_owned();
        let t = now + Span::from_days(dt_days);
        prop_assert!(c.verify(&code, t, &p).is_ok(), "seed {}: first use failed", seed);
        let again = c.verify(&code, now + Span::from_days(later_days), &p);
        prop_assert_eq!(again, Err(PCodeError::Used), "seed {}: second use", seed);
    }

    #[test]
    fn a_wrong_p_code_never_verifies(seed in any::<u64>(), guess in 0u32..100_000_000) {
        let p = PCodePolicy::default();
        let now = day(2023, 2, 1);
        let mut c = PCode::issue(now, &mut rng(seed));
        let typed = format!("{guess:08}");
        prop_assume!(typed != c.reveal_code());
        prop_assert!(c.verify(&typed, now, &p).is_err(), "seed {} guess {}", seed, typed);
    }
}
