//! Harvest v3 rate limiting: a fixed 30 s window per OAuth client on the injected clock, with
//! the `X-RateLimit-*` headers on every v3 response, errors included.

use http::StatusCode;
use serde_json::json;

use super::reply::Reply;
use super::server::Inner;
use super::state::Instant;

/// Greenhouse counts v3 requests per fixed 30 s window.
const WINDOW_SECS: i64 = 30;

/// One client's current window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateWindow {
    /// Unix seconds at which the window began; windows are aligned to multiples of 30 s.
    start_secs: i64,
    used: u32,
}

/// Where a request left its client's window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Usage {
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds at which the window ends.
    pub reset_secs: i64,
    /// Whole seconds until then, at least 1 (what `Retry-After` says).
    pub retry_after_secs: i64,
    pub exceeded: bool,
}

fn window_start(now: Instant) -> i64 {
    now.timestamp().div_euclid(WINDOW_SECS) * WINDOW_SECS
}

fn usage(limit: u32, used: u32, start_secs: i64, now: Instant) -> Usage {
    let reset_secs = start_secs + WINDOW_SECS;
    // Round up so a client that sleeps Retry-After seconds always lands in the next window.
    let millis_left = reset_secs * 1000 - now.timestamp_millis();
    let retry_after_secs = ((millis_left + 999) / 1000).max(1);
    Usage {
        limit,
        remaining: limit.saturating_sub(used),
        reset_secs,
        retry_after_secs,
        exceeded: used > limit,
    }
}

/// Counts one request against `client_id`'s window.
pub(crate) fn count(inner: &mut Inner, client_id: &str, now: Instant) -> Usage {
    let start_secs = window_start(now);
    let limit = inner.rate_limit;
    let window =
        inner.windows.entry(client_id.to_owned()).or_insert(RateWindow { start_secs, used: 0 });
    if window.start_secs != start_secs {
        *window = RateWindow { start_secs, used: 0 };
    }
    window.used = window.used.saturating_add(1);
    usage(limit, window.used, start_secs, now)
}

/// The 429 Greenhouse answers past the limit.
pub(crate) fn exceeded(usage: &Usage) -> Reply {
    Reply::json(StatusCode::TOO_MANY_REQUESTS, &json!({"message": "Rate limit exceeded"}))
        .header("Retry-After", usage.retry_after_secs.to_string())
}

pub(crate) fn with_headers(answer: Reply, usage: &Usage) -> Reply {
    answer
        .header("X-RateLimit-Limit", usage.limit.to_string())
        .header("X-RateLimit-Remaining", usage.remaining.to_string())
        .header("X-RateLimit-Reset", usage.reset_secs.to_string())
}

/// Headers for a v3 answer no client can be charged for (no valid token): a fresh window.
/// TODO(fidelity): whether Greenhouse counts unauthenticated requests (by IP?) is unknown.
pub(crate) fn anonymous_headers(answer: Reply, limit: u32, now: Instant) -> Reply {
    with_headers(answer, &usage(limit, 0, window_start(now), now))
}
