//! The control API under `/_rehearsal/`: seeding, acting as a person in the Greenhouse UI,
//! delivering queued webhooks, reading state and the journal, faults and reset. JSON in and
//! out, no auth; errors are 4xx `{"message": ...}`.

use http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::control::{Action, Faults, Seed, WebhookEndpoint};
use super::fidelity::Fidelity;
use super::ops::{self, CandidatePatch, Event, OpError};
use super::reply::{Reply, control_error};
use super::server::{Call, Inner};
use super::stale::StaleReads;
use super::state::Collection;
use super::{GreenhouseMockConfig, MockGreenhouse, faults, webhooks};
use crate::mock::common::ActionOutcome;

/// The collections `GET /_rehearsal/state` returns, in its key order.
const STATE_COLLECTIONS: [Collection; 13] = [
    Collection::Users,
    Collection::Jobs,
    Collection::JobInterviewStages,
    Collection::JobInterviews,
    Collection::Candidates,
    Collection::Applications,
    Collection::ApplicationStages,
    Collection::Interviews,
    Collection::Interviewers,
    Collection::Scorecards,
    Collection::Notes,
    Collection::RejectionReasons,
    Collection::CustomFields,
];

pub(crate) async fn handle(mock: &MockGreenhouse, call: &Call) -> Reply {
    let route = call.path.trim_start_matches("/_rehearsal/").trim_end_matches('/');
    let result = match (call.method.as_str(), route) {
        ("POST", "seed") => seed(mock, call),
        ("POST", "actions") => action(mock, call),
        ("POST", "deliver") => Ok(Reply::typed(StatusCode::OK, &webhooks::deliver(mock).await)),
        ("GET", "status") => Ok(Reply::typed(StatusCode::OK, &webhooks::status(&mock.lock()))),
        ("GET", "state") => Ok(state(mock)),
        ("GET", "journal") => Ok(Reply::typed(StatusCode::OK, &mock.journal())),
        ("POST", "reset") => Ok(reset(mock)),
        ("PUT", "faults") => put_faults(mock, call),
        ("PUT", "webhook") => put_webhook(mock, call),
        ("GET", "fidelity") => Ok(Reply::typed(StatusCode::OK, &mock.lock().fidelity)),
        ("PUT", "fidelity") => put_fidelity(mock, call),
        (method, _) => Err(control_error(
            StatusCode::NOT_FOUND,
            format!("no control route {method} {}", call.path),
        )),
    };
    result.unwrap_or_else(|answer| answer)
}

fn parse<T: DeserializeOwned>(call: &Call) -> Result<T, Reply> {
    serde_json::from_slice(&call.body)
        .map_err(|error| control_error(StatusCode::BAD_REQUEST, format!("invalid body: {error}")))
}

fn seed(mock: &MockGreenhouse, call: &Call) -> Result<Reply, Reply> {
    let body: Seed = parse(call)?;
    let seeded =
        mock.seed(&body).map_err(|message| control_error(StatusCode::BAD_REQUEST, message))?;
    Ok(Reply::typed(StatusCode::OK, &seeded))
}

/// A person acting in the UI: no compare-and-swap, and the webhooks Greenhouse fires.
fn action(mock: &MockGreenhouse, call: &Call) -> Result<Reply, Reply> {
    let body: Action = parse(call)?;
    let now = mock.now();
    let mut inner = mock.lock();
    // A UI action is a write too: under `stale_read_secs` the API reads lag behind it.
    let before = inner.stale.wants_copy(now).then(|| inner.state.clone());
    let state = &mut inner.state;
    let events: Result<Vec<Event>, OpError> = match body {
        Action::MoveApplication { application_id, to_stage_id } => {
            ops::move_to_stage(state, application_id, to_stage_id, now).map(|e| vec![e])
        }
        Action::RejectApplication { application_id, rejection_reason_id, notes: _ } => {
            ops::reject(state, application_id, rejection_reason_id, now).map(|e| vec![e])
        }
        Action::UnrejectApplication { application_id } => {
            ops::unreject(state, application_id, now).map(|e| vec![e])
        }
        Action::HireApplication { application_id } => {
            ops::hire(state, application_id, now).map(|e| vec![e])
        }
        Action::UpdateCandidate {
            candidate_id,
            first_name,
            last_name,
            email_addresses,
            phone_numbers,
            time_zone,
        } => {
            let patch = CandidatePatch {
                first_name,
                last_name,
                email_addresses,
                phone_numbers,
                time_zone,
                custom_fields: None,
            };
            ops::update_candidate(state, candidate_id, patch, now)
        }
        Action::DeleteInterview { interview_id } => {
            ops::delete_interview(state, interview_id).map(|e| vec![e])
        }
    };
    let events = events.map_err(|error| match error {
        OpError::NotFound(message) | OpError::Unknown { message, .. } => {
            control_error(StatusCode::NOT_FOUND, message)
        }
        OpError::Conflict { message, .. } => control_error(StatusCode::CONFLICT, message),
    })?;
    if let Some(before) = before {
        inner.stale.keep(now, before);
    }
    let webhooks_queued = webhooks::queue(&mut inner, &mock.shared.journal, &events, now);
    Ok(Reply::typed(StatusCode::OK, &ActionOutcome { created_id: None, webhooks_queued }))
}

fn state(mock: &MockGreenhouse) -> Reply {
    let now = mock.now();
    let inner = mock.lock();
    let mode = inner.fidelity.stage_id_mode;
    let mut body = Map::new();
    for collection in STATE_COLLECTIONS {
        body.insert(
            collection.name().to_owned(),
            Value::Array(inner.state.render(collection, now, mode)),
        );
    }
    Reply::json(StatusCode::OK, &Value::Object(body))
}

/// Empties state, tokens, rate windows, faults, the delivery queue and the journal, and
/// restarts the RNG from the seed. Keeps the configuration, the fidelity switches and the
/// webhook endpoint.
fn reset(mock: &MockGreenhouse) -> Reply {
    let now = mock.now();
    let mut inner = mock.lock();
    let fidelity = inner.fidelity.clone();
    let webhook = inner.webhook.take();
    *inner = Inner::new(&mock.shared.config, fidelity, now);
    inner.webhook = webhook;
    mock.shared.journal.clear();
    Reply::json(StatusCode::OK, &json!({"reset": true}))
}

fn put_faults(mock: &MockGreenhouse, call: &Call) -> Result<Reply, Reply> {
    let body: Faults = parse(call)?;
    faults::validate(&body).map_err(|message| control_error(StatusCode::BAD_REQUEST, message))?;
    let mut inner = mock.lock();
    inner.rate_limit =
        body.rate_limit_per_window.unwrap_or(mock.shared.config.rate_limit_per_window);
    inner.api_faults = faults::arm(&body);
    inner.webhook_faults = body.webhooks.clone().unwrap_or_default();
    inner.stale = StaleReads::new(body.stale_read_secs.unwrap_or(0));
    Ok(Reply::typed(StatusCode::OK, &body))
}

fn put_webhook(mock: &MockGreenhouse, call: &Call) -> Result<Reply, Reply> {
    let body: WebhookEndpoint = parse(call)?;
    let url = body.url.clone();
    mock.set_webhook(body).map_err(|message| control_error(StatusCode::BAD_REQUEST, message))?;
    // The secret is not echoed: response bodies are journalled.
    Ok(Reply::json(StatusCode::OK, &json!({ "url": url })))
}

/// Checks a webhook endpoint and fills in the configured secret when it names none.
pub(crate) fn checked_endpoint(
    config: &GreenhouseMockConfig,
    mut endpoint: WebhookEndpoint,
) -> Result<WebhookEndpoint, String> {
    let uri: http::Uri =
        endpoint.url.parse().map_err(|_| format!("url `{}` is not a URL", endpoint.url))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
        return Err(format!("url `{}` must be an absolute http(s) URL", endpoint.url));
    }
    if endpoint.secret.is_empty() {
        endpoint.secret = config.webhook_secret.clone().unwrap_or_default();
    }
    if endpoint.secret.is_empty() {
        return Err("secret must not be empty (this mock has no default webhook secret)".to_owned());
    }
    Ok(endpoint)
}

fn put_fidelity(mock: &MockGreenhouse, call: &Call) -> Result<Reply, Reply> {
    let body: Fidelity = parse(call)?;
    // It is the status of a delete that worked: failures are faults, not fidelity.
    let status = body.delete_interview_status;
    if !(200..=299).contains(&status) {
        let message = format!(
            "delete_interview_status must be a success status (2xx), got {status}; inject failures with PUT /_rehearsal/faults"
        );
        return Err(control_error(StatusCode::BAD_REQUEST, &message));
    }
    mock.lock().fidelity = body.clone();
    Ok(Reply::typed(StatusCode::OK, &body))
}
