//! Recruiting webhooks out: v1-shaped payloads (Greenhouse did not change them for v3), signed
//! over the exact bytes sent, queued with a due time and sent only when the control API says
//! `deliver`, retried on Greenhouse's published schedule.

use bytes::Bytes;
use chrono::Duration;
use http::Method;
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::MockGreenhouse;
use super::ops::Event;
use super::server::Inner;
use super::state::{AppStatus, Application, Id, Instant, State, User, ts};
use crate::greenhouse::signature::{greenhouse_json, sign};
use crate::mock::common::DeliveryReport;
use crate::mock::journal::{Direction, Journal, JournalEntry, body_text, redact_headers};
use crate::transport::raw_request;

/// Minutes between a failed attempt and the next: after the first attempt 1 m, then 15 m, 60 m,
/// 120 m, 240 m, 480 m — 7 attempts over about 15 h, as Greenhouse documents since 2024-08.
const RETRY_MINUTES: [i64; 6] = [1, 15, 60, 120, 240, 480];
const USER_AGENT: &str = "Greenhouse-Webhooks-Mock";

/// One event on its way to the receiver.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    seq: u64,
    event_id: String,
    action: String,
    url: String,
    secret: String,
    body: Bytes,
    attempts_made: u32,
    due_at: Instant,
    notes: Vec<String>,
}

/// Queues one delivery per event (none without a configured endpoint), applying webhook
/// faults. Returns how many deliveries were queued.
pub(crate) fn queue(inner: &mut Inner, journal: &Journal, events: &[Event], now: Instant) -> usize {
    let Some(endpoint) = inner.webhook.clone() else { return 0 };
    let faults = inner.webhook_faults.clone();
    let mut queued = 0;
    for event in events {
        let (action, payload) = match *event {
            Event::Application { action, application_id } => {
                let sparse = faults.sparse.unwrap_or(false);
                let Some(application) = application_payload(&inner.state, application_id, sparse)
                else {
                    continue;
                };
                (action, json!({ "application": application }))
            }
            Event::InterviewDeleted { interview_id } => {
                ("interview_deleted", json!({"interview": {"id": interview_id}}))
            }
        };
        let envelope = json!({"action": action, "payload": payload});
        let mut delivery = Delivery {
            seq: 0,
            event_id: event_id(&mut inner.rng),
            action: action.to_owned(),
            url: endpoint.url.clone(),
            secret: endpoint.secret.clone(),
            body: Bytes::from(greenhouse_json(&envelope)),
            attempts_made: 0,
            due_at: now + Duration::seconds(faults.delay_secs.unwrap_or(0)),
            notes: vec![format!("webhook:{action}")],
        };

        // Draws happen only for configured faults, so arming none leaves the RNG stream alone.
        if faults.drop.is_some_and(|p| inner.rng.random_bool(p.clamp(0.0, 1.0))) {
            journal.record(dropped_entry(&delivery, now));
            continue;
        }
        let duplicate = faults.duplicate.is_some_and(|p| inner.rng.random_bool(p.clamp(0.0, 1.0)));
        inner.delivery_seq += 1;
        delivery.seq = inner.delivery_seq;
        inner.queue.push(delivery.clone());
        queued += 1;
        if duplicate {
            inner.delivery_seq += 1;
            delivery.seq = inner.delivery_seq;
            delivery.notes.push("fault:webhook_duplicate".to_owned());
            inner.queue.push(delivery);
            queued += 1;
        }
    }
    queued
}

/// A journal line for an event a `drop` fault swallowed: it never reached the wire.
fn dropped_entry(delivery: &Delivery, now: Instant) -> JournalEntry {
    let mut notes = delivery.notes.clone();
    notes.push("fault:webhook_drop".to_owned());
    JournalEntry {
        seq: 0,
        service: "greenhouse".to_owned(),
        direction: Direction::Outbound,
        at: now,
        method: "POST".to_owned(),
        path: delivery.url.clone(),
        status: None,
        headers: vec![("greenhouse-event-id".to_owned(), delivery.event_id.clone())],
        request_body: body_text(&delivery.body),
        response_body: String::new(),
        notes,
    }
}

/// A UUID-v4-shaped id from the seeded RNG.
fn event_id(rng: &mut ChaCha8Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// Sends every delivery due at the mock's clock, in (due_at, seq) order.
pub(crate) async fn deliver(mock: &MockGreenhouse) -> DeliveryReport {
    let now = mock.now();
    let (mut due, fresh_ids) = {
        let mut inner = mock.lock();
        let (due, waiting): (Vec<Delivery>, Vec<Delivery>) =
            std::mem::take(&mut inner.queue).into_iter().partition(|d| d.due_at <= now);
        inner.queue = waiting;
        (due, inner.fidelity.new_event_id_per_attempt)
    };
    due.sort_by_key(|d| (d.due_at, d.seq));

    let mut report = DeliveryReport::default();
    let mut retries = Vec::new();
    for mut delivery in due {
        if fresh_ids && delivery.attempts_made > 0 {
            delivery.event_id = event_id(&mut mock.lock().rng);
        }
        let outcome = attempt(mock, &delivery).await;
        delivery.attempts_made += 1;
        let mut notes = delivery.notes.clone();
        notes.push(format!("attempt:{}", delivery.attempts_made));
        notes.extend(outcome.transport_error.iter().map(|e| format!("transport_error:{e}")));

        tracing::info!(
            event_id = %delivery.event_id,
            action = %delivery.action,
            attempt = delivery.attempts_made,
            status = ?outcome.status,
            "greenhouse mock webhook attempt"
        );
        if outcome.status == Some(200) {
            report.delivered += 1;
        } else {
            report.failed += 1;
            match RETRY_MINUTES.get(delivery.attempts_made as usize - 1) {
                Some(minutes) => {
                    delivery.due_at = now + Duration::minutes(*minutes);
                    retries.push(delivery.clone());
                }
                None => notes.push("webhook_given_up".to_owned()),
            }
        }
        mock.shared.journal.record(JournalEntry {
            seq: 0,
            service: "greenhouse".to_owned(),
            direction: Direction::Outbound,
            at: now,
            method: "POST".to_owned(),
            path: delivery.url.clone(),
            status: outcome.status,
            headers: outcome.headers,
            request_body: body_text(&delivery.body),
            response_body: outcome.response_body,
            notes,
        });
    }

    let mut inner = mock.lock();
    inner.queue.extend(retries);
    report.pending = inner.queue.len();
    report.next_due = inner.queue.iter().map(|d| d.due_at).min();
    report
}

/// Pending deliveries without sending anything.
pub(crate) fn status(inner: &Inner) -> DeliveryReport {
    DeliveryReport {
        delivered: 0,
        failed: 0,
        pending: inner.queue.len(),
        next_due: inner.queue.iter().map(|d| d.due_at).min(),
    }
}

struct Outcome {
    status: Option<u16>,
    headers: Vec<(String, String)>,
    response_body: String,
    transport_error: Option<String>,
}

async fn attempt(mock: &MockGreenhouse, delivery: &Delivery) -> Outcome {
    let headers = [
        ("Signature", sign(&delivery.secret, &delivery.body)),
        ("Greenhouse-Event-ID", delivery.event_id.clone()),
        ("User-Agent", USER_AGENT.to_owned()),
    ];
    let request = raw_request(
        Method::POST,
        &delivery.url,
        delivery.body.clone(),
        Some("application/json"),
        &headers,
    );
    let request = match request {
        Ok(request) => request,
        Err(error) => {
            let error = Some(error.to_string());
            return Outcome {
                status: None,
                headers: Vec::new(),
                response_body: String::new(),
                transport_error: error,
            };
        }
    };
    let sent_headers = redact_headers(request.headers());
    match mock.shared.http.send(request).await {
        Ok(response) => Outcome {
            status: Some(response.status().as_u16()),
            headers: sent_headers,
            response_body: body_text(response.body()),
            transport_error: None,
        },
        Err(error) => Outcome {
            status: None,
            headers: sent_headers,
            response_body: String::new(),
            transport_error: Some(error.to_string()),
        },
    }
}

/// `payload.application` of an application-bearing event, v1-shaped with the candidate and
/// the current stage's interviews embedded.
fn application_payload(state: &State, application_id: Id, sparse: bool) -> Option<Value> {
    let app = state.applications.get(&application_id)?;
    let candidate = state.candidates.get(&app.candidate_id)?;
    let jobs: Vec<Value> = state
        .jobs
        .get(&app.job_id)
        .map(|job| {
            json!({
                "id": job.id,
                "name": job.name,
                "requisition_id": null,
                "status": "open",
                "opened_at": ts(job.created_at),
                "closed_at": null,
                "departments": [],
                "offices": [],
            })
        })
        .into_iter()
        .collect();
    let rejection_reason =
        app.rejection_reason_id.and_then(|id| state.rejection_reasons.get(&id)).map(|r| {
            let kind = r.kind.json();
            json!({"id": r.id, "name": r.name, "type": {"id": kind["id"], "name": kind["name"]}})
        });
    // v1 shows hired applications without a current stage.
    let current_stage = if sparse || app.status == AppStatus::Hired {
        Value::Null
    } else {
        current_stage(state, app)
    };
    Some(json!({
        "id": app.id,
        "applied_at": ts(app.created_at),
        "rejected_at": app.rejected_at.map(ts),
        "last_activity_at": ts(app.last_activity_at),
        "status": app.status.webhook(),
        "prospect": false,
        "url": format!("https://app.greenhouse.io/people/{}?application_id={}", candidate.id, app.id),
        "source": null,
        "credited_to": null,
        "rejection_reason": rejection_reason,
        "custom_fields": state.webhook_custom_values("application", &app.custom_fields),
        "jobs": jobs,
        "current_stage": current_stage,
        "candidate": {
            "id": candidate.id,
            "first_name": candidate.first_name,
            "last_name": candidate.last_name,
            "company": null,
            "title": null,
            "created_at": ts(candidate.created_at),
            "is_private": false,
            "url": format!("https://app.greenhouse.io/people/{}", candidate.id),
            "email_addresses": candidate.email_addresses,
            "phone_numbers": candidate.phone_numbers,
            "addresses": [],
            "attachments": [],
            "tags": [],
            "recruiter": null,
            "coordinator": null,
            "custom_fields": state.webhook_custom_values("candidate", &candidate.custom_fields),
        },
    }))
}

/// `current_stage` with the job interview stage id and each job interview's state for this
/// application: the scheduled interview's status and panel, or `to_be_scheduled`.
fn current_stage(state: &State, app: &Application) -> Value {
    let Some(stage) = state.stages.get(&app.job_stage_id) else { return Value::Null };
    let mut steps: Vec<_> =
        state.job_interviews.values().filter(|ji| ji.stage_id == stage.id).collect();
    steps.sort_by_key(|ji| (ji.sort_order, ji.id));
    let interviews: Vec<Value> = steps
        .into_iter()
        .map(|step| {
            let scheduled = state
                .interviews
                .values()
                .rev()
                .find(|i| i.application_id == app.id && i.job_interview_id == step.id);
            // TODO(fidelity): the webhook's interviewer `status` vocabulary is undocumented;
            // the calendar response status is sent.
            let interviewers: Vec<Value> = scheduled
                .map(|interview| {
                    state
                        .interviewers
                        .values()
                        .filter(|row| row.interview_id == interview.id)
                        .map(|row| {
                            let user = row.user_id.and_then(|id| state.users.get(&id));
                            let display_name = user.map(User::name).unwrap_or_else(|| row.email.clone());
                            json!({"id": row.user_id, "display_name": display_name, "status": row.response_status})
                        })
                        .collect()
                })
                .unwrap_or_default();
            let kit_id = state.interview_kits.values().find(|k| k.job_interview_id == step.id).map(|k| k.id);
            json!({
                "id": step.id,
                "name": step.name,
                "status": scheduled.map_or("to_be_scheduled", |i| i.status.as_str()),
                "interview_kit": {"id": kit_id, "content": "", "questions": []},
                "interviewers": interviewers,
            })
        })
        .collect();
    json!({"id": stage.id, "name": stage.name, "interviews": interviews})
}
