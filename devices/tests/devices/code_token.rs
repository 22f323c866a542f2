//! Code display: codes verify, wrong codes never do, drift window, single use, three strikes,
//! battery and clock skew.

use mitid_devices::code_token::CodeTokenError;
use mitid_devices::{CodeDisplay, CodeTokenKind, CodeTokenPolicy, LockStatus, Span, Timestamp};

use proptest::prelude::*;

use crate::{day, rng};

fn setup(
    seed: u64,
) -> (
    CodeDisplay,
    mitid_devices::CodeTokenRecord,
    CodeTokenPolicy,
    Timestamp,
) {
    let policy = CodeTokenPolicy::default();
    let now = day(2022, 3, 1);
    let (d, r) = CodeDisplay::manufacture(
        "CD-1",
        CodeTokenKind::CodeDisplay,
        now,
        &policy,
        &mut rng(seed),
    );
    (d, r, policy, now)
}

#[test]
fn shown_code_verifies_once() {
    let (display, mut record, policy, now) = setup(1);
    let t = now + Span::from_hours(5);
    let shown = display.press(t, &policy).unwrap();
    assert_eq!(shown.to_string().len(), 6, "{shown}");
    let ok = record
        .verify(shown.code, t, &policy)
        .unwrap_or_else(|e| panic!("code {shown} at {t}: {e}"));
    assert_eq!(ok.drift_steps, 0);
    assert_eq!(
        record.verify(shown.code, t, &policy),
        Err(CodeTokenError::Replayed),
        "same code twice at {t}"
    );
    // The next step's code works.
    let later = t + Span::from_secs(30);
    let next = display.press(later, &policy).unwrap();
    record.verify(next.code, later, &policy).unwrap();
}

#[test]
fn typed_codes_with_spaces_and_malformed_input() {
    let (display, mut record, policy, now) = setup(2);
    let shown = display.press(now, &policy).unwrap().to_string();
    let typed = format!("{} {}", &shown[..3], &shown[3..]);
    record
        .verify_typed(&typed, now, &policy)
        .unwrap_or_else(|e| panic!("typed {typed:?}: {e}"));
    let err = record
        .verify_typed("12a456", now + Span::from_secs(30), &policy)
        .unwrap_err();
    assert_eq!(
        err,
        CodeTokenError::WrongCode { failures: 1 },
        "malformed input counts as wrong"
    );
}

#[test]
fn skewed_clock_within_window_is_accepted_and_learned() {
    let (display, mut record, policy, now) = setup(3);
    let fast = display.with_clock_skew(35_000); // one step ahead
    let shown = fast.press(now, &policy).unwrap();
    let ok = record.verify(shown.code, now, &policy).unwrap();
    assert_eq!(ok.drift_steps, 1, "{ok:?}");
    assert_eq!(record.drift_steps, 1);
    // Two steps ahead would be outside ±1 around 0, but the window is now centred on +1.
    let faster = fast.clone().with_clock_skew(65_000);
    let t = now + Span::from_mins(10);
    let shown = faster.press(t, &policy).unwrap();
    record
        .verify(shown.code, t, &policy)
        .unwrap_or_else(|e| panic!("after learning drift +1, skew 65 s: {e}"));
}

#[test]
fn clock_far_off_is_refused() {
    let (display, mut record, policy, now) = setup(4);
    let far = display.with_clock_skew(5 * 60_000);
    let shown = far.press(now, &policy).unwrap();
    assert!(matches!(
        record.verify(shown.code, now, &policy),
        Err(CodeTokenError::WrongCode { .. })
    ));
}

#[test]
fn three_wrong_codes_block_for_a_while_then_it_works_again() {
    let (display, mut record, policy, now) = setup(5);
    let right = display.press(now, &policy).unwrap().code;
    let wrong = (right + 1) % 1_000_000;
    assert_eq!(
        record.verify(wrong, now, &policy),
        Err(CodeTokenError::WrongCode { failures: 1 })
    );
    assert_eq!(
        record.verify(wrong, now, &policy),
        Err(CodeTokenError::WrongCode { failures: 2 })
    );
    let until = now + policy.lockout.lock_duration;
    assert_eq!(
        record.verify(wrong, now, &policy),
        Err(CodeTokenError::LockedNow { until })
    );
    // Even the right code is refused while blocked.
    assert_eq!(
        record.verify(right, now, &policy),
        Err(CodeTokenError::Locked { until })
    );
    assert_eq!(record.status(now, &policy), LockStatus::Locked { until });
    let after = until + Span::from_secs(1);
    let code = display.press(after, &policy).unwrap().code;
    record
        .verify(code, after, &policy)
        .unwrap_or_else(|e| panic!("after the block ended at {until}: {e}"));
    assert_eq!(record.attempts.consecutive_failures, 0);
}

#[test]
fn support_can_unlock() {
    let (display, mut record, policy, now) = setup(6);
    let right = display.press(now, &policy).unwrap().code;
    for _ in 0..3 {
        let _ = record.verify((right + 7) % 1_000_000, now, &policy);
    }
    assert!(!record.status(now, &policy).is_open());
    record.unlock();
    record.verify(right, now, &policy).unwrap();
}

#[test]
fn battery_runs_out() {
    let policy = CodeTokenPolicy::default();
    let made = day(2020, 1, 1);
    let (display, _) = CodeDisplay::manufacture(
        "CD-7",
        CodeTokenKind::CodeDisplay,
        made,
        &policy,
        &mut rng(7),
    );
    assert!(
        display
            .press(made + policy.battery_life.minus_one_ms(), &policy)
            .is_ok()
    );
    assert_eq!(
        display.press(made + policy.battery_life, &policy),
        Err(CodeTokenError::BatteryDepleted(made + policy.battery_life))
    );
}

trait MinusOne {
    fn minus_one_ms(self) -> Span;
}
impl MinusOne for Span {
    fn minus_one_ms(self) -> Span {
        Span(self.0 - 1)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn a_wrong_code_never_verifies(seed in any::<u64>(), offset_s in 0u64..100_000_000, delta in 1u32..1_000_000) {
        let (display, mut record, policy, start) = setup(seed);
        let now = start + Span::from_secs(offset_s);
        let right = display.press(now, &policy).unwrap().code;
        // Codes of the neighbouring steps (the drift window) are legitimately accepted: exclude them.
        let window: Vec<u32> = [-30_000i64, 0, 30_000]
            .iter()
            .map(|skew| display.clone().with_clock_skew(*skew).press(now, &policy).unwrap().code)
            .collect();
        let wrong = (right + delta) % 1_000_000;
        prop_assume!(!window.contains(&wrong));
        let r = record.verify(wrong, now, &policy);
        prop_assert!(r.is_err(), "seed {} t {:?}: wrong code {:06} (right {:06}) verified: {:?}", seed, now, wrong, right, r);
    }
}

#[test]
fn full_login_with_password_yields_substantial_and_amr() {
    use mitid_devices::code_token::CodeTokenLoginError;
    use mitid_devices::{Aal, Amr, SecretHash};
    let (display, mut record, policy, now) = setup(8);
    let hash = SecretHash::new("Sommer2022", &mut rng(80));
    let code = display.press(now, &policy).unwrap().to_string();
    let err = record
        .login(&code, "sommer2022", &hash, now, &policy)
        .unwrap_err();
    assert_eq!(
        err,
        CodeTokenLoginError::WrongPassword {
            status: LockStatus::Open
        }
    );
    assert_eq!(
        record.attempts.consecutive_failures, 1,
        "a wrong password counts against the token"
    );
    let a = record
        .login(&code, "Sommer2022", &hash, now, &policy)
        .unwrap();
    assert_eq!(a.aal, Aal::Substantial);
    assert_eq!(
        a.amr.iter().collect::<Vec<_>>(),
        [Amr::Password, Amr::CodeToken]
    );
    // The code was used by that login.
    assert_eq!(
        record.login(&code, "Sommer2022", &hash, now, &policy),
        Err(CodeTokenLoginError::Code(CodeTokenError::Replayed))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn token_locks_exactly_at_the_configured_count(seed in any::<u64>(), attempts in 1u32..8) {
        let (display, mut record, mut policy, now) = setup(seed);
        policy.lockout = mitid_devices::LockoutPolicy::temporary(attempts, Span::from_mins(15));
        let right = display.press(now, &policy).unwrap().code;
        let window: Vec<u32> = [-30_000i64, 0, 30_000]
            .iter()
            .map(|skew| display.clone().with_clock_skew(*skew).press(now, &policy).unwrap().code)
            .collect();
        let wrong = (1..10u32).map(|d| (right + d) % 1_000_000).find(|c| !window.contains(c)).unwrap();
        for n in 1..attempts {
            prop_assert_eq!(record.verify(wrong, now, &policy), Err(CodeTokenError::WrongCode { failures: n }), "seed {}", seed);
        }
        prop_assert_eq!(
            record.verify(wrong, now, &policy),
            Err(CodeTokenError::LockedNow { until: now + Span::from_mins(15) }),
            "seed {} attempts {}", seed, attempts
        );
    }
}
