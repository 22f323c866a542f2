//! The shared wrong-attempt counter: locks exactly at the configured count.

use mitid_devices::{AttemptCounter, LockStatus, LockoutPolicy, Span, Timestamp};
use proptest::prelude::*;

proptest! {
    #[test]
    fn temporary_lock_happens_exactly_at_the_configured_count(
        attempts in 1u32..10,
        minutes in 1u64..120,
        start in 0u64..4_000_000_000_000,
    ) {
        let policy = LockoutPolicy::temporary(attempts, Span::from_mins(minutes));
        let mut c = AttemptCounter::new();
        let now = Timestamp(start);
        for n in 1..attempts {
            let s = c.record_failure(&policy, now);
            prop_assert_eq!(s, LockStatus::Open, "failure {} of {} locked early", n, attempts);
        }
        let s = c.record_failure(&policy, now);
        let until = now + Span::from_mins(minutes);
        prop_assert_eq!(s, LockStatus::Locked { until }, "failure {} did not lock", attempts);
        prop_assert_eq!(c.status(&policy, until.minus(Span(1))), LockStatus::Locked { until });
        prop_assert_eq!(c.status(&policy, until), LockStatus::Open, "lock did not end at {:?}", until);
    }

    #[test]
    fn permanent_block_happens_exactly_at_the_configured_count(attempts in 1u32..10, start in 0u64..1_000_000) {
        let policy = LockoutPolicy::permanent_after(attempts);
        let mut c = AttemptCounter::new();
        for n in 1..attempts {
            prop_assert!(c.record_failure(&policy, Timestamp(start)).is_open(), "failure {} of {} blocked early", n, attempts);
        }
        prop_assert_eq!(c.record_failure(&policy, Timestamp(start)), LockStatus::Blocked);
        // A block never expires.
        prop_assert_eq!(c.status(&policy, Timestamp(u64::MAX / 2)), LockStatus::Blocked);
    }

    #[test]
    fn status_after_agrees_with_the_counter(failures in 0u32..20, lock in 1u32..5, block in 1u32..20, dt in 0u64..10_000_000) {
        let policy = LockoutPolicy { attempts_before_lock: lock, lock_duration: Span::from_mins(30), attempts_before_block: Some(block) };
        let mut c = AttemptCounter::new();
        let t0 = Timestamp(1_000);
        for _ in 0..failures {
            c.record_failure(&policy, t0);
        }
        let now = Timestamp(1_000 + dt);
        prop_assert_eq!(c.status(&policy, now), policy.status_after(failures, t0, now));
    }
}

#[test]
fn success_resets_the_count() {
    let policy = LockoutPolicy::temporary(3, Span::from_mins(15));
    let mut c = AttemptCounter::new();
    let t = Timestamp(0);
    c.record_failure(&policy, t);
    c.record_failure(&policy, t);
    c.record_success();
    assert!(c.record_failure(&policy, t).is_open(), "{c:?}");
    assert!(c.check(&policy, t).is_ok());
}
