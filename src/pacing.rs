//! Client-side pacing against a rate limit the other side announces in `X-RateLimit-*`
//! headers, safe for several requests in flight at once.
//!
//! A response's `Remaining` counts the requests the server had seen when it answered; requests
//! sent since may not be counted yet. So a request is sent only while the last known remaining
//! exceeds the requests still in flight, and responses of one window keep the lowest remaining
//! seen (they may arrive out of order). With one request at a time this is the plain rule
//! "wait while the window is spent".

use std::sync::Mutex;

use chrono::{DateTime, Utc};

#[derive(Debug, Default)]
struct Window {
    remaining: Option<u64>,
    resets_at: Option<DateTime<Utc>>,
    in_flight: u64,
}

#[derive(Debug, Default)]
pub(crate) struct RateBudget {
    window: Mutex<Window>,
}

/// A request's place in the budget; it is given back when dropped. A request that got no
/// answer (a timeout, a reset) may still have reached the server and been counted there, so
/// giving its slot back also takes one from the known remaining: without that, an engine
/// whose requests time out near the end of a window sends one too many and meets a 429.
pub(crate) struct Slot<'a> {
    budget: &'a RateBudget,
    answered: bool,
}

impl Slot<'_> {
    /// The server answered (whatever the status); its headers tell the budget the rest.
    pub(crate) fn answered(&mut self) {
        self.answered = true;
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut window = self.budget.lock();
        window.in_flight = window.in_flight.saturating_sub(1);
        if !self.answered {
            window.remaining = window.remaining.map(|r| r.saturating_sub(1));
        }
    }
}

impl RateBudget {
    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for one request now, or when the window resets if none is left.
    pub(crate) fn reserve(&self, now: DateTime<Utc>) -> Result<Slot<'_>, DateTime<Utc>> {
        let mut window = self.lock();
        if let (Some(remaining), Some(resets_at)) = (window.remaining, window.resets_at)
            && resets_at > now
            && remaining <= window.in_flight
        {
            return Err(resets_at);
        }
        window.in_flight += 1;
        Ok(Slot { budget: self, answered: false })
    }

    /// Takes in a response's headers. Within one window (the same reset instant, give or
    /// take `tolerance_secs` for servers that announce it relative to now) the lowest
    /// remaining wins; a new window replaces the old.
    pub(crate) fn observe(&self, remaining: u64, resets_at: DateTime<Utc>, tolerance_secs: i64) {
        let mut window = self.lock();
        let same_window = window
            .resets_at
            .is_some_and(|known| (known - resets_at).num_seconds().abs() <= tolerance_secs);
        if same_window {
            window.remaining =
                Some(window.remaining.map_or(remaining, |known| known.min(remaining)));
            window.resets_at = window.resets_at.max(Some(resets_at));
        } else {
            window.remaining = Some(remaining);
            window.resets_at = Some(resets_at);
        }
    }

    /// Forgets the window (a response without rate-limit headers).
    pub(crate) fn forget(&self) {
        let mut window = self.lock();
        window.remaining = None;
        window.resets_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn requests_in_flight_count_against_the_remaining() {
        let budget = RateBudget::default();
        budget.observe(2, at(30), 0);
        let mut first = budget.reserve(at(0)).expect("2 left");
        let mut second = budget.reserve(at(0)).expect("1 left besides the first");
        assert_eq!(budget.reserve(at(0)).err(), Some(at(30)), "both may still be counted");

        // The first is answered: its count is in the new remaining, the second's may not be.
        first.answered();
        drop(first);
        budget.observe(1, at(30), 0);
        assert!(budget.reserve(at(0)).is_err());
        second.answered();
        drop(second);
        assert!(budget.reserve(at(0)).is_ok());
        assert!(budget.reserve(at(31)).is_ok(), "a reset window is not spent");
    }

    #[test]
    fn a_late_answer_of_the_same_window_does_not_raise_the_remaining() {
        let budget = RateBudget::default();
        budget.observe(0, at(30), 1);
        budget.observe(3, at(31), 1);
        assert_eq!(budget.reserve(at(0)).err(), Some(at(31)));
        budget.observe(3, at(60), 1);
        assert!(budget.reserve(at(0)).is_ok(), "a new window starts afresh");
        budget.forget();
        assert!(budget.reserve(at(0)).is_ok());
    }

    #[test]
    fn a_request_that_got_no_answer_stays_counted() {
        let budget = RateBudget::default();
        budget.observe(2, at(30), 0);
        // Sent, then timed out: the server may have counted it, so only one is left.
        drop(budget.reserve(at(0)).expect("2 left"));
        let _last = budget.reserve(at(0)).expect("1 left");
        assert_eq!(budget.reserve(at(0)).err(), Some(at(30)), "the lost request is counted");
        assert!(budget.reserve(at(30)).is_ok(), "until the window resets");
    }
}
