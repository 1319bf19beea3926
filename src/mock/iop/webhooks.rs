//! Webhook delivery (§4.5). Deliveries wait in a queue with a due time; `POST
//! /_rehearsal/deliver` first applies time-driven changes, then sends every due delivery in
//! (due_at, seq) order through the injected `SharedHttp`, signed with `IOP-Signature`.
//! 2xx is success, 410 disables the subscription, anything else is retried after 1 m, 5 m,
//! 30 m, 2 h, 8 h and 24 h (7 attempts), then given up.

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use http::Method;
use rand::Rng;
use rand::seq::SliceRandom;

use super::MockIop;
use super::state::{Delivery, State};
use crate::greenhouse::signature::escape_like_greenhouse;
use crate::iop::signature;
use crate::mock::common::DeliveryReport;
use crate::mock::journal::{Direction, JournalEntry, body_text, redact_headers};
use crate::transport::raw_request;

/// Wait before attempt n+2 after attempt n+1 failed, in minutes (the contract's schedule).
const RETRY_DELAYS_MINUTES: [i64; 6] = [1, 5, 30, 120, 480, 1440];
/// First attempt plus six retries.
pub(crate) const MAX_ATTEMPTS: u32 = 7;

/// A delivery taken off the queue, ready to send.
struct Outgoing {
    delivery: Delivery,
    url: String,
    body: Bytes,
    secrets: Vec<String>,
    /// The `drop_first_attempt` fault fired: journal it, send nothing.
    dropped: bool,
}

/// How one attempt ended.
enum Result {
    Delivered,
    Gone,
    Failed,
    /// The subscription was disabled or deleted by an earlier attempt in the same batch.
    Skipped,
}

/// `POST /_rehearsal/deliver`.
pub(crate) async fn deliver(mock: &MockIop) -> DeliveryReport {
    let batch = {
        let mut state = mock.lock();
        state.apply_time_driven();
        take_due(&mut state)
    };

    let mut report = DeliveryReport::default();
    for outgoing in batch {
        match send(mock, outgoing).await {
            Result::Delivered => report.delivered += 1,
            Result::Gone | Result::Failed => report.failed += 1,
            Result::Skipped => {}
        }
    }
    let state = mock.lock();
    report.pending = state.deliveries.len();
    report.next_due = next_due(&state);
    report
}

/// `GET /_rehearsal/status`: the queue without sending anything.
pub(crate) fn status(state: &State) -> DeliveryReport {
    DeliveryReport {
        delivered: 0,
        failed: 0,
        pending: state.deliveries.len(),
        next_due: next_due(state),
    }
}

fn next_due(state: &State) -> Option<DateTime<Utc>> {
    let deliveries = state.deliveries.iter().map(|d| d.due_at).min();
    [deliveries, state.next_time_driven()].into_iter().flatten().min()
}

/// Takes every due delivery off the queue in send order. Deliveries whose subscription is
/// gone or disabled are dropped here.
fn take_due(state: &mut State) -> Vec<Outgoing> {
    let now = state.now;
    let (mut due, rest): (Vec<Delivery>, Vec<Delivery>) =
        state.deliveries.drain(..).partition(|d| d.due_at <= now);
    state.deliveries = rest;
    due.sort_by_key(|d| (d.due_at, d.seq));
    if state.faults.webhooks.reorder {
        due.shuffle(&mut state.rng);
    }
    let drop_probability = state.faults.webhooks.drop_first_attempt.unwrap_or(0.0).clamp(0.0, 1.0);

    let mut batch = Vec::new();
    for delivery in due {
        let Some(subscription) = state.subscriptions.get(&delivery.subscription_id) else {
            continue;
        };
        if subscription.status != "active" {
            continue;
        }
        let (url, secrets) = (subscription.url.clone(), subscription.active_secrets(now));
        // Event ids are zero-padded counters pushed in order, so the log is sorted by id.
        let Ok(index) = state.events.binary_search_by(|e| e.id.as_str().cmp(&delivery.event_id))
        else {
            continue;
        };
        let compact = serde_json::to_string(&state.events[index].envelope).unwrap_or_default();
        let body = Bytes::from(escape_like_greenhouse(&compact));
        let dropped = delivery.attempt == 1
            && drop_probability > 0.0
            && state.rng.random_bool(drop_probability);
        batch.push(Outgoing { delivery, url, body, secrets, dropped });
    }
    batch
}

/// Sends one attempt, journals it and applies its result to the queue.
async fn send(mock: &MockIop, outgoing: Outgoing) -> Result {
    let Outgoing { delivery, url, body, secrets, dropped } = outgoing;
    let delivery_id = {
        let mut state = mock.lock();
        if state.subscriptions.get(&delivery.subscription_id).is_none_or(|s| s.status != "active") {
            return Result::Skipped;
        }
        state.next_id("dlv")
    };
    let now = mock.clock.now();
    let headers = [
        ("user-agent", "IOP-Webhooks/1.0".to_owned()),
        ("iop-event-id", delivery.event_id.clone()),
        ("iop-delivery-id", delivery_id.clone()),
        ("iop-delivery-attempt", delivery.attempt.to_string()),
        ("iop-signature", signature::header(&secrets, now.timestamp(), &body)),
    ];
    let mut notes = delivery.notes.clone();
    notes.push(format!("attempt:{}", delivery.attempt));

    let request = raw_request(Method::POST, &url, body.clone(), Some("application/json"), &headers);
    let journal_headers = request.as_ref().map(|r| redact_headers(r.headers())).unwrap_or_default();
    let (status, response_body) = match request {
        _ if dropped => {
            notes.push("fault:drop_first_attempt".to_owned());
            (None, Bytes::new())
        }
        Err(error) => {
            notes.push(format!("transport:{error}"));
            (None, Bytes::new())
        }
        Ok(request) => match mock.http.send(request).await {
            Ok(response) => (Some(response.status().as_u16()), response.into_body()),
            Err(error) => {
                notes.push(format!("transport:{error}"));
                (None, Bytes::new())
            }
        },
    };

    let result = match status {
        Some(200..=299) => Result::Delivered,
        Some(410) => Result::Gone,
        _ => Result::Failed,
    };
    settle(&mut mock.lock(), &delivery, &result, &mut notes);
    tracing::info!(
        event_id = %delivery.event_id, delivery_id = %delivery_id, attempt = delivery.attempt,
        status = ?status, "iop webhook delivery attempt"
    );
    mock.journal.record(JournalEntry {
        seq: 0,
        service: "iop".to_owned(),
        direction: Direction::Outbound,
        at: now,
        method: "POST".to_owned(),
        path: url,
        status,
        headers: journal_headers,
        request_body: body_text(&body),
        response_body: body_text(&response_body),
        notes,
    });
    result
}

/// Applies an attempt's result: retry on schedule, give up, or disable on 410.
fn settle(state: &mut State, delivery: &Delivery, result: &Result, notes: &mut Vec<String>) {
    match result {
        Result::Delivered | Result::Skipped => {}
        Result::Gone => {
            let now = state.now;
            if let Some(subscription) = state.subscriptions.get_mut(&delivery.subscription_id) {
                subscription.status = "disabled".to_owned();
                subscription.disabled_reason = Some("the receiver answered 410 Gone".to_owned());
                subscription.version += 1;
                subscription.updated_at = now;
            }
            state.deliveries.retain(|d| d.subscription_id != delivery.subscription_id);
            notes.push("subscription_disabled".to_owned());
        }
        Result::Failed if delivery.attempt >= MAX_ATTEMPTS => notes.push("gave_up".to_owned()),
        Result::Failed => {
            let index = (delivery.attempt as usize - 1).min(RETRY_DELAYS_MINUTES.len() - 1);
            let due_at = state.now + Duration::minutes(RETRY_DELAYS_MINUTES[index]);
            let seq = state.bump("queue");
            notes.push(format!("retry_at:{}", crate::clock::iop_timestamp(due_at)));
            state.deliveries.push(Delivery {
                seq,
                event_id: delivery.event_id.clone(),
                subscription_id: delivery.subscription_id.clone(),
                attempt: delivery.attempt + 1,
                due_at,
                notes: Vec::new(),
            });
        }
    }
}
