//! Fault injection on inbound API requests: armed by `PUT /_rehearsal/faults`, drawn from the
//! seeded RNG, and noted in the journal as `fault:<kind>`.

use std::time::Duration;

use http::StatusCode;
use rand::Rng;
use serde_json::json;

use super::control::{ApiFault, ApiFaultKind, Faults};
use super::reply::Reply;
use super::server::{Call, Inner};
use super::state::Instant;
use crate::mock::journal::JournalBody;
use crate::transport::SimulatedFailure;

/// An API fault with its remaining count.
#[derive(Debug, Clone)]
pub(crate) struct ArmedFault {
    rule: ApiFault,
    /// For `times` faults: how many matching requests still fail.
    left: Option<u32>,
}

/// The longest `latency_ms` a fault may ask for: longer than any client timeout worth testing,
/// short enough that a typo cannot stall a run for minutes.
pub(crate) const MAX_LATENCY_MS: i64 = 30_000;

/// The longest `stale_read_secs` window: an hour of virtual time.
pub(crate) const MAX_STALE_READ_SECS: i64 = 3_600;

/// Checks a fault set before it replaces the current one.
/// Checks a fault set without applying it (also used to validate scenario files up front).
pub fn validate(faults: &Faults) -> Result<(), String> {
    if faults.rate_limit_per_window == Some(0) {
        return Err("rate_limit_per_window must be at least 1".to_owned());
    }
    if let Some(secs) = faults.stale_read_secs
        && !(0..=MAX_STALE_READ_SECS).contains(&secs)
    {
        return Err(format!(
            "stale_read_secs must be within 0..={MAX_STALE_READ_SECS} seconds, got {secs}"
        ));
    }
    for (index, rule) in faults.api.iter().enumerate() {
        validate_latency(index, rule)?;
        match (rule.times, rule.probability) {
            (Some(_), None) => {}
            (None, Some(p)) if (0.0..=1.0).contains(&p) => {}
            (None, Some(p)) => {
                return Err(format!("api[{index}].probability {p} is not within 0..=1"));
            }
            _ => {
                return Err(format!("api[{index}] needs exactly one of `times` and `probability`"));
            }
        }
    }
    if let Some(hooks) = &faults.webhooks {
        for (name, p) in [("duplicate", hooks.duplicate), ("drop", hooks.drop)] {
            if p.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
                return Err(format!("webhooks.{name} must be a probability within 0..=1"));
            }
        }
        if hooks.delay_secs.is_some_and(|secs| !(0..=MAX_WEBHOOK_DELAY_SECS).contains(&secs)) {
            return Err(format!(
                "webhooks.delay_secs must be within 0..={MAX_WEBHOOK_DELAY_SECS} (30 days)"
            ));
        }
    }
    Ok(())
}

/// The longest webhook delay: the IOP mock's cap too, and far inside the clock's range.
const MAX_WEBHOOK_DELAY_SECS: i64 = 30 * 86_400;

fn validate_latency(index: usize, rule: &ApiFault) -> Result<(), String> {
    match (rule.kind, rule.latency_ms) {
        (ApiFaultKind::Latency, Some(ms)) if (1..=MAX_LATENCY_MS).contains(&ms) => Ok(()),
        (ApiFaultKind::Latency, Some(ms)) => {
            Err(format!("api[{index}].latency_ms must be within 1..={MAX_LATENCY_MS} ms, got {ms}"))
        }
        (ApiFaultKind::Latency, None) => {
            Err(format!("api[{index}].latency_ms is required for kind `latency`"))
        }
        (_, Some(_)) => Err(format!("api[{index}].latency_ms is only for kind `latency`")),
        (_, None) => Ok(()),
    }
}

/// How long a fired fault holds its answer back (`latency` faults only).
pub(crate) fn latency(rule: &ApiFault) -> Option<Duration> {
    let ms = rule.latency_ms.filter(|_| rule.kind == ApiFaultKind::Latency)?;
    Some(Duration::from_millis(u64::try_from(ms.clamp(0, MAX_LATENCY_MS)).unwrap_or(0)))
}

pub(crate) fn arm(faults: &Faults) -> Vec<ArmedFault> {
    faults.api.iter().map(|rule| ArmedFault { rule: rule.clone(), left: rule.times }).collect()
}

/// The fault that fires for this request, if any. The first matching rule that fires wins;
/// a `times` rule is used up as it fires.
pub(crate) fn draw(inner: &mut Inner, call: &Call) -> Option<ApiFault> {
    let Inner { api_faults, rng, .. } = inner;
    let mut fired = None;
    for armed in api_faults.iter_mut() {
        if !matches(&armed.rule, call) {
            continue;
        }
        let fires = match (&mut armed.left, armed.rule.probability) {
            (Some(left), _) if *left > 0 => {
                *left -= 1;
                true
            }
            (Some(_), _) => false,
            (None, Some(p)) => rng.random_bool(p.clamp(0.0, 1.0)),
            (None, None) => false,
        };
        if fires {
            fired = Some(armed.rule.clone());
            break;
        }
    }
    api_faults.retain(|armed| armed.left != Some(0));
    fired
}

/// The answer a fault gives instead of the handler's, for kinds that fire before the handler.
pub(crate) fn answer(kind: ApiFaultKind, now: Instant) -> Reply {
    let (status, message, failure) = match kind {
        ApiFaultKind::Status500 => {
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", None)
        }
        ApiFaultKind::Status503 => (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable", None),
        ApiFaultKind::Status429 => (StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded", None),
        ApiFaultKind::Timeout | ApiFaultKind::CommitThenTimeout => {
            (StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout", Some(SimulatedFailure::Timeout))
        }
        ApiFaultKind::Reset => {
            (StatusCode::BAD_GATEWAY, "Bad Gateway", Some(SimulatedFailure::Reset))
        }
        // `around` never asks for a latency answer; a 500 would at least be visible.
        ApiFaultKind::Latency => (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", None),
    };
    let mut reply =
        Reply::json(status, &json!({ "message": message })).note(format!("fault:{}", kind.name()));
    reply.failure = failure;
    if kind == ApiFaultKind::Status429 {
        // Until the end of the current 30 s window, as a real 429 would say.
        let retry_after_secs = (30 - now.timestamp().rem_euclid(30)).max(1);
        reply = reply.header("Retry-After", retry_after_secs.to_string());
    }
    reply
}

/// Applies a drawn fault around a handler: a fault that fires first answers instead of
/// `handle`; `commit_then_timeout` runs `handle`, keeps its effects and hides its answer;
/// `latency` runs `handle` and notes it (the caller holds the answer back, outside the lock).
pub(crate) fn around(
    fault: Option<ApiFault>,
    now: Instant,
    handle: impl FnOnce() -> Reply,
) -> Reply {
    let Some(rule) = fault else {
        return handle();
    };
    let kind = rule.kind;
    match kind {
        ApiFaultKind::Latency => handle().note(format!("fault:{}", kind.name())),
        _ if !kind.commits() => answer(kind, now),
        _ => {
            let committed = handle();
            let mut reply = answer(kind, now).note(format!("committed:{}", committed.status));
            // The journal keeps what the handler answered, so a reader sees the write landed.
            reply.journal_body =
                Some(committed.journal_body.unwrap_or_else(|| JournalBody::cut(&committed.body)));
            reply
        }
    }
}

fn matches(rule: &ApiFault, call: &Call) -> bool {
    let method_ok =
        rule.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(call.method.as_str()));
    let path_ok = rule.path_prefix.as_deref().is_none_or(|prefix| call.path.starts_with(prefix));
    method_ok && path_ok
}
