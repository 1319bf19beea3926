//! Rate limiting (fixed 10 s windows per key on the injected clock) and the fault settings of
//! `PUT /_rehearsal/faults`, drawn from the seeded RNG.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rand::Rng;

use super::control::{ApiFault, ApiFaultKind, Faults};
use super::stale::StaleReads;
use super::state::State;

/// The longest `latency_ms` a fault may ask for: longer than any client timeout worth testing,
/// short enough that a typo cannot stall a run for minutes.
const MAX_LATENCY_MS: i64 = 30_000;

/// The longest `stale_read_secs` window: an hour of virtual time.
const MAX_STALE_READ_SECS: i64 = 3_600;

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
        validate(&faults)?;
        self.api_fault_budget = faults.api.iter().map(|f| f.times).collect();
        self.stale = StaleReads::new(faults.stale_read_secs.unwrap_or(0));
        self.faults = faults;
        Ok(())
    }

    /// The API fault to inject into this request, if one fires.
    pub fn draw_api_fault(&mut self, method: &str, path: &str) -> Option<ApiFault> {
        for i in 0..self.faults.api.len() {
            let fault = &self.faults.api[i];
            let method_matches =
                fault.method.as_ref().is_none_or(|m| m.eq_ignore_ascii_case(method));
            let path_matches =
                fault.path_prefix.as_ref().is_none_or(|p| path.starts_with(p.as_str()));
            if !(method_matches && path_matches) {
                continue;
            }
            let probability = fault.probability;
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
                return self.faults.api.get(i).cloned();
            }
        }
        None
    }
}

fn check_latency(i: usize, fault: &ApiFault) -> Result<(), String> {
    match (fault.kind, fault.latency_ms) {
        (ApiFaultKind::Latency, Some(ms)) if (1..=MAX_LATENCY_MS).contains(&ms) => Ok(()),
        (ApiFaultKind::Latency, Some(ms)) => {
            Err(format!("api[{i}].latency_ms must be within 1..={MAX_LATENCY_MS} ms, got {ms}"))
        }
        (ApiFaultKind::Latency, None) => {
            Err(format!("api[{i}].latency_ms is required for kind `latency`"))
        }
        (_, Some(_)) => Err(format!("api[{i}].latency_ms is only for kind `latency`")),
        (_, None) => Ok(()),
    }
}

/// How long a fired fault holds its answer back (`latency` faults only).
pub(crate) fn latency(fault: &ApiFault) -> Option<Duration> {
    let ms = fault.latency_ms.filter(|_| fault.kind == ApiFaultKind::Latency)?;
    Some(Duration::from_millis(u64::try_from(ms.clamp(0, MAX_LATENCY_MS)).unwrap_or(0)))
}

/// Checks a fault set without applying it (also used to validate scenario files up front).
pub fn validate(faults: &Faults) -> Result<(), String> {
    let probability = |name: &str, p: Option<f64>| match p {
        Some(p) if !(0.0..=1.0).contains(&p) => {
            Err(format!("{name} must be a probability in 0..=1, got {p}"))
        }
        _ => Ok(()),
    };
    if let Some(secs) = faults.stale_read_secs
        && !(0..=MAX_STALE_READ_SECS).contains(&secs)
    {
        return Err(format!(
            "stale_read_secs must be within 0..={MAX_STALE_READ_SECS} seconds, got {secs}"
        ));
    }
    for (i, fault) in faults.api.iter().enumerate() {
        probability(&format!("api[{i}].probability"), fault.probability)?;
        check_latency(i, fault)?;
        if fault.times.is_some() && fault.probability.is_some() {
            return Err(format!("api[{i}] takes times or probability, not both"));
        }
    }
    probability("webhooks.duplicate", faults.webhooks.duplicate)?;
    probability("webhooks.drop_first_attempt", faults.webhooks.drop_first_attempt)?;
    Ok(())
}
