//! One injected notion of "now" for the engine and both mocks.
//!
//! Production uses [`SystemClock`]. Scenario runs use [`ManualClock`], which only moves when the
//! runner moves it, so `advance: 72h` costs nothing and every timestamp is reproducible.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// Shared handle to any clock.
pub type SharedClock = Arc<dyn Clock>;

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A virtual clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { now: Mutex::new(start) }
    }

    /// The fixed instant scenario runs start at unless a scenario says otherwise: a Monday
    /// morning, so "tomorrow at 10:00" lands on a working day.
    pub fn scenario_epoch() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).single().unwrap_or_default()
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    /// Moves the clock to `to`; the clock never goes backwards.
    pub fn advance_to(&self, to: DateTime<Utc>) {
        let mut now = self.lock();
        if to > *now {
            *now = to;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A poisoned lock still holds a valid instant; keep going with it.
        self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

/// Formats an instant the way Greenhouse does: UTC, milliseconds, `Z`.
pub fn greenhouse_timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Formats an instant the way the IOP contract does: RFC 3339 UTC, whole seconds, `Z`.
pub fn iop_timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_forward() {
        let clock = ManualClock::new(ManualClock::scenario_epoch());
        let start = clock.now();
        clock.advance(Duration::hours(72));
        assert_eq!(clock.now() - start, Duration::hours(72));
        clock.advance_to(start);
        assert_eq!(clock.now() - start, Duration::hours(72));
    }

    #[test]
    fn timestamps_use_each_sides_format() {
        let at = ManualClock::scenario_epoch();
        assert_eq!(greenhouse_timestamp(at), "2026-11-02T09:00:00.000Z");
        assert_eq!(iop_timestamp(at), "2026-11-02T09:00:00Z");
    }
}
