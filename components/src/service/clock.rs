//! The clock the register, Citizen Service and the support line read "now" from.
//!
//! Rules such as "a witness has had MitID for more than 30 days" or "no temporary PIN within 5
//! days of a phone-number change" need time to pass in tests without waiting, so the services
//! never read the wall clock directly: they share one `LabClock`, which either follows the wall
//! clock with an adjustable offset or stands still at a chosen instant until advanced.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, NaiveDateTime};

#[derive(Debug)]
struct Inner {
    frozen: AtomicBool,
    /// Frozen: the instant (unix seconds). Running: the offset added to the wall clock.
    value: AtomicI64,
}

/// A cloneable handle on one shared clock (unix seconds, UTC).
#[derive(Debug, Clone)]
pub struct LabClock {
    inner: Arc<Inner>,
}

impl Default for LabClock {
    fn default() -> Self {
        Self::system()
    }
}

impl LabClock {
    /// Follows the wall clock.
    #[must_use]
    pub fn system() -> Self {
        Self {
            inner: Arc::new(Inner {
                frozen: AtomicBool::new(false),
                value: AtomicI64::new(0),
            }),
        }
    }

    /// Stands still at `unix_seconds` until advanced.
    #[must_use]
    pub fn fixed(unix_seconds: i64) -> Self {
        Self {
            inner: Arc::new(Inner {
                frozen: AtomicBool::new(true),
                value: AtomicI64::new(unix_seconds),
            }),
        }
    }

    /// Stands still at midnight UTC starting `date`.
    #[must_use]
    pub fn fixed_on(date: NaiveDate) -> Self {
        Self::fixed(
            date.and_hms_opt(0, 0, 0)
                .map_or(0, |t| t.and_utc().timestamp()),
        )
    }

    /// Now, in unix seconds.
    #[must_use]
    pub fn now(&self) -> i64 {
        let value = self.inner.value.load(Ordering::SeqCst);
        if self.inner.frozen.load(Ordering::SeqCst) {
            value
        } else {
            let wall = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            wall + value
        }
    }

    /// Moves the clock forward (or back, with a negative number) by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.inner.value.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Stands still at `unix_seconds` from now on (until advanced or released).
    pub fn freeze_at(&self, unix_seconds: i64) {
        // Value first: a reader between the two stores sees the wall clock shifted, never 1970.
        self.inner.value.store(unix_seconds, Ordering::SeqCst);
        self.inner.frozen.store(true, Ordering::SeqCst);
    }

    /// Follows the wall clock again, without offset.
    pub fn release(&self) {
        self.inner.frozen.store(false, Ordering::SeqCst);
        self.inner.value.store(0, Ordering::SeqCst);
    }

    /// Whether the clock stands still.
    #[must_use]
    pub fn is_frozen(&self) -> bool {
        self.inner.frozen.load(Ordering::SeqCst)
    }

    /// Now as a UTC date-time.
    #[must_use]
    pub fn now_utc(&self) -> NaiveDateTime {
        DateTime::from_timestamp(self.now(), 0)
            .unwrap_or_default()
            .naive_utc()
    }

    /// Today's date (UTC).
    #[must_use]
    pub fn today(&self) -> NaiveDate {
        self.now_utc().date()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_advanced_and_clones_share_it() {
        let clock = LabClock::fixed_on(NaiveDate::from_ymd_opt(2023, 6, 1).unwrap());
        let other = clock.clone();
        let start = clock.now();
        assert_eq!(other.now(), start);
        other.advance(86_400 * 31);
        assert_eq!(clock.now(), start + 86_400 * 31);
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2023, 7, 2).unwrap());
    }
}
