//! Rate limiting (fixed 10 s windows per key on the injected clock) and the fault settings of
//! `PUT /_rehearsal/faults`, drawn from the seeded RNG.

use chrono::{DateTime, TimeZone, Utc};
use rand::Rng;

use super::control::{ApiFaultKind, Faults};
use super::state::State;

/// The contract counts requests per 10 s window.
const WINDOW_SECS: i64 = 10;

/// One request's standing against the rate limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateStatus {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets.
    pub reset_secs: i64,
    pub allowed: bool,
}

impl State {
    pub fn effective_rate_limit(&self) -> u32 {
        self.faults.rate_limit_per_window.unwrap_or(self.rate_limit_per_window)
    }

    /// Counts one request for `key` in the current window (windows start on multiples of
    /// 10 s of unix time, so every client sees the same boundaries).
    pub fn rate_limit(&mut self, key: &str) -> RateStatus {
        let limit = self.effective_rate_limit();
        let now = self.now.timestamp();
        let start_secs = now - now.rem_euclid(WINDOW_SECS);
        let start: DateTime<Utc> = Utc.timestamp_opt(start_secs, 0).single().unwrap_or(self.now);
        let reset_secs = (start_secs + WINDOW_SECS - now).max(1);

        let window = self.rate_windows.entry(key.to_owned()).or_insert((start, 0));
        if window.0 != start {
            *window = (start, 0);
        }
        if window.1 >= limit {
            return RateStatus { limit, remaining: 0, reset_secs, allowed: false };
        }
        window.1 += 1;
        RateStatus { limit, remaining: limit - window.1, reset_secs, allowed: true }
    }

    /// Replaces the fault settings after checking them.
    pub fn set_faults(&mut self, faults: Faults) -> Result<(), String> {
        let probability = |name: &str, p: Option<f64>| match p {
            Some(p) if !(0.0..=1.0).contains(&p) => {
                Err(format!("{name} must be a probability in 0..=1, got {p}"))
            }
            _ => Ok(()),
        };
        for (i, fault) in faults.api.iter().enumerate() {
            probability(&format!("api[{i}].probability"), fault.probability)?;
            if fault.times.is_some() && fault.probability.is_some() {
                return Err(format!("api[{i}] takes times or probability, not both"));
            }
        }
        probability("webhooks.duplicate", faults.webhooks.duplicate)?;
        probability("webhooks.drop_first_attempt", faults.webhooks.drop_first_attempt)?;

        self.api_fault_budget = faults.api.iter().map(|f| f.times).collect();
        self.faults = faults;
        Ok(())
    }

    /// The API fault to inject into this request, if one fires.
    pub fn draw_api_fault(&mut self, method: &str, path: &str) -> Option<ApiFaultKind> {
        for i in 0..self.faults.api.len() {
            let fault = &self.faults.api[i];
            let method_matches =
                fault.method.as_ref().is_none_or(|m| m.eq_ignore_ascii_case(method));
            let path_matches =
                fault.path_prefix.as_ref().is_none_or(|p| path.starts_with(p.as_str()));
            if !(method_matches && path_matches) {
                continue;
            }
            let (kind, probability) = (fault.kind, fault.probability);
            let fires = match (self.api_fault_budget.get_mut(i), probability) {
                (Some(Some(0)), _) => false,
                (Some(Some(left)), _) => {
                    *left -= 1;
                    true
                }
                (_, Some(p)) => self.rng.random_bool(p.clamp(0.0, 1.0)),
                _ => true,
            };
            if fires {
                return Some(kind);
            }
        }
        None
    }
}
