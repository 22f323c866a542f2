//! Wrong-attempt counting shared by every authenticator that locks: the app PIN (temporary
//! suspension, then a permanent block), the code display and audio code reader (three wrong codes
//! block it for a while), the NemID key card, and the P code (three attempts, then void).
//!
//! `Copy`, allocation-free and branch-light, because the simulator runs it for every failed login.

use serde::{Deserialize, Serialize};

use crate::time::{Span, Timestamp};

/// When consecutive wrong attempts lock an authenticator.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockoutPolicy {
    /// Every `attempts_before_lock`-th consecutive wrong attempt locks temporarily (0 = never).
    pub attempts_before_lock: u32,
    /// How long a temporary lock lasts.
    pub lock_duration: Span,
    /// This many consecutive wrong attempts block for good (until reactivation or a new device).
    #[serde(default)]
    pub attempts_before_block: Option<u32>,
}

impl LockoutPolicy {
    /// A policy that only ever blocks permanently, at `attempts` wrong answers.
    #[must_use]
    pub const fn permanent_after(attempts: u32) -> LockoutPolicy {
        LockoutPolicy {
            attempts_before_lock: 0,
            lock_duration: Span::ZERO,
            attempts_before_block: Some(attempts),
        }
    }

    /// A policy that locks for `duration` every `attempts` wrong answers and never blocks.
    #[must_use]
    pub const fn temporary(attempts: u32, duration: Span) -> LockoutPolicy {
        LockoutPolicy {
            attempts_before_lock: attempts,
            lock_duration: duration,
            attempts_before_block: None,
        }
    }

    /// The status after `failures` consecutive wrong attempts, the last one at `last_failure`,
    /// seen at `now`. A pure function of its inputs: the simulator can call it without state.
    #[must_use]
    pub const fn status_after(
        &self,
        failures: u32,
        last_failure: Timestamp,
        now: Timestamp,
    ) -> LockStatus {
        if let Some(block) = self.attempts_before_block
            && failures >= block
        {
            return LockStatus::Blocked;
        }
        if self.attempts_before_lock > 0
            && failures > 0
            && failures.is_multiple_of(self.attempts_before_lock)
        {
            let until = last_failure.plus(self.lock_duration);
            if now.0 < until.0 {
                return LockStatus::Locked { until };
            }
        }
        LockStatus::Open
    }
}

/// Whether an authenticator accepts attempts right now.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockStatus {
    Open,
    /// Temporarily locked (the app calls it suspended) until the given instant.
    Locked {
        until: Timestamp,
    },
    /// Permanently blocked.
    Blocked,
}

impl LockStatus {
    #[must_use]
    pub const fn is_open(self) -> bool {
        matches!(self, LockStatus::Open)
    }
}

/// Consecutive wrong attempts of one authenticator.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
pub struct AttemptCounter {
    /// Wrong attempts since the last right one.
    pub consecutive_failures: u32,
    /// When the last wrong attempt happened.
    pub last_failure: Option<Timestamp>,
}

impl AttemptCounter {
    #[must_use]
    pub const fn new() -> AttemptCounter {
        AttemptCounter {
            consecutive_failures: 0,
            last_failure: None,
        }
    }

    #[must_use]
    pub const fn status(&self, policy: &LockoutPolicy, now: Timestamp) -> LockStatus {
        let last = match self.last_failure {
            Some(t) => t,
            None => Timestamp::EPOCH,
        };
        policy.status_after(self.consecutive_failures, last, now)
    }

    /// Counts a wrong attempt and returns the resulting status.
    pub const fn record_failure(&mut self, policy: &LockoutPolicy, now: Timestamp) -> LockStatus {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.last_failure = Some(now);
        self.status(policy, now)
    }

    /// A right attempt resets the count.
    pub const fn record_success(&mut self) {
        self.consecutive_failures = 0;
        self.last_failure = None;
    }

    /// `Ok` when attempts are accepted now; otherwise the reason.
    pub const fn check(&self, policy: &LockoutPolicy, now: Timestamp) -> Result<(), LockStatus> {
        match self.status(policy, now) {
            LockStatus::Open => Ok(()),
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_lock_then_block() {
        let p = LockoutPolicy {
            attempts_before_lock: 3,
            lock_duration: Span::from_mins(10),
            attempts_before_block: Some(6),
        };
        let mut c = AttemptCounter::new();
        let t0 = Timestamp::from_ymd(2023, 1, 1);
        assert_eq!(c.record_failure(&p, t0), LockStatus::Open);
        assert_eq!(c.record_failure(&p, t0), LockStatus::Open);
        let until = t0 + Span::from_mins(10);
        assert_eq!(c.record_failure(&p, t0), LockStatus::Locked { until });
        assert_eq!(c.status(&p, until), LockStatus::Open);
        c.record_failure(&p, until);
        c.record_failure(&p, until);
        assert_eq!(c.record_failure(&p, until), LockStatus::Blocked);
    }
}
