//! The control API under `/_rehearsal/` (no auth): seeding, simulated people, delivery,
//! state and journal reads, reset and faults. Errors are `ControlError {message}` with a 4xx
//! status; illegal transitions carry the contract code at the start of the message.

use http::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::MockIop;
use super::api::ApiError;
use super::control::{Action, Faults, Seed, Seeded};
use super::feedback::NewFeedback;
use super::interview_routes::check_enum;
use super::interviews::{Booking, CANCEL_REASONS, CANCELLED_BY, parse_timing};
use super::routes::Outcome;
use super::state::{State, to_json};
use super::{stale, webhooks};
use crate::mock::common::{ActionOutcome, ControlError};

/// Serves one control call.
pub(crate) async fn handle(mock: &MockIop, method: &Method, path: &str, body: &[u8]) -> Outcome {
    let result = match (method.as_str(), path.trim_end_matches('/')) {
        ("POST", "/_rehearsal/seed") => {
            parse(body).map(|seed| reply(&seed_world(&mut mock.lock(), seed)))
        }
        ("POST", "/_rehearsal/actions") => match parse::<Action>(body) {
            Ok(action) => {
                let mut state = mock.lock();
                // A person's action is a write too: under `stale_read_secs` reads lag it.
                stale::write(&mut state, |state| act(state, action))
                    .map(|outcome| reply(&outcome))
                    .map_err(from_api)
            }
            Err(error) => Err(error),
        },
        ("POST", "/_rehearsal/deliver") => Ok(reply(&webhooks::deliver(mock).await)),
        ("GET", "/_rehearsal/status") => Ok(reply(&webhooks::status(&mock.lock()))),
        ("GET", "/_rehearsal/state") => Ok(snapshot(&mock.lock())),
        ("GET", "/_rehearsal/journal") => Ok(reply(&mock.journal.entries())),
        ("POST", "/_rehearsal/reset") => {
            mock.reset();
            Ok(json!({"reset": true}))
        }
        ("GET", "/_rehearsal/faults") => Ok(reply(&mock.lock().faults)),
        ("PUT", "/_rehearsal/faults") => match parse::<Faults>(body) {
            Ok(faults) => {
                let echo = reply(&faults);
                mock.lock()
                    .set_faults(faults)
                    .map(|()| echo)
                    .map_err(|m| (StatusCode::BAD_REQUEST, m))
            }
            Err(error) => Err(error),
        },
        (method, path) => {
            Err((StatusCode::NOT_FOUND, format!("no control route for {method} {path}")))
        }
    };

    let mut outcome = match result {
        Ok(body) => Outcome::json(StatusCode::OK, &body),
        Err((status, message)) => Outcome::json(status, &reply(&ControlError { message })),
    };
    outcome.notes.push("control".to_owned());
    outcome
}

type ControlResult<T> = Result<T, (StatusCode, String)>;

fn reply<T: Serialize>(value: &T) -> Value {
    to_json(value)
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> ControlResult<T> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    serde_json::from_slice(body)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("invalid control body: {e}")))
}

fn from_api(error: ApiError) -> (StatusCode, String) {
    (error.status, format!("{}: {}", error.code, error.message))
}

fn seed_world(state: &mut State, seed: Seed) -> Seeded {
    let mut seeded = Seeded::default();
    for user in &seed.users {
        let id = state.seed_user(user);
        seeded.users.insert(user.key.clone(), id);
    }
    if let Some(webhook) = seed.webhook {
        seeded.webhook_subscription_id =
            Some(state.create_subscription(&webhook.url, vec!["*".to_owned()], webhook.secrets));
    }
    seeded
}

/// Performs one simulated person's action: the candidate's, an interviewer's, or a
/// coordinator's / the account's. Reports what it created and how many deliveries it queued.
fn act(state: &mut State, action: Action) -> Result<ActionOutcome, ApiError> {
    let queued_before = state.issued("queue");
    let created_id = match action {
        Action::SubmitAvailability { .. }
        | Action::PickSlot { .. }
        | Action::CandidateReschedules { .. }
        | Action::CandidateDeclines { .. }
        | Action::CandidateNoShow { .. } => candidate_acts(state, action)?,
        Action::InterviewerResponds { .. }
        | Action::InterviewerAccepts { .. }
        | Action::InterviewerDeclines { .. }
        | Action::SubmitFeedback { .. }
        | Action::UpdateFeedback { .. }
        | Action::DeleteFeedback { .. } => interviewer_acts(state, action)?,
        Action::DeactivateUser { user_id } => {
            state.change_user(&user_id, "status", "deactivated", "user.deactivated")?;
            None
        }
        Action::DisconnectCalendar { user_id } => {
            let event = "user.calendar_disconnected";
            state.change_user(&user_id, "calendar_status", "disconnected", event)?;
            None
        }
        Action::ReconnectCalendar { user_id } => {
            state.change_user(&user_id, "calendar_status", "connected", "user.updated")?;
            None
        }
        coordinator_action => coordinator_acts(state, coordinator_action)?,
    };
    let webhooks_queued = (state.issued("queue") - queued_before) as usize;
    Ok(ActionOutcome { created_id, webhooks_queued })
}

/// What the candidate does: answer with availability, self-schedule, move, decline, not show.
fn candidate_acts(state: &mut State, action: Action) -> Result<Option<String>, ApiError> {
    match action {
        Action::SubmitAvailability { scheduling_request_id, slots } => {
            state.submit_availability(&scheduling_request_id, slots, None)?;
            Ok(None)
        }
        Action::PickSlot { scheduling_request_id, start_at, end_at } => {
            let mut slot = state.default_slot(&scheduling_request_id, start_at)?;
            slot.end_at = end_at.unwrap_or(slot.end_at);
            Ok(Some(state.self_book(&scheduling_request_id, slot)?.0))
        }
        Action::CandidateReschedules { interview_id, start_at, end_at, reason } => {
            let length = state
                .interviews
                .get(&interview_id)
                .map(|i| i.timing().ends_at() - i.timing().starts_at())
                .ok_or_else(|| ApiError::not_found("interview", &interview_id))?;
            let end_at = end_at.unwrap_or(start_at + length);
            let timing = parse_timing(Some(start_at), Some(end_at), None, None, None)?;
            let (holder, _) =
                state.reschedule_interview(&interview_id, timing, "candidate", reason)?;
            Ok((holder != interview_id).then_some(holder))
        }
        Action::CandidateDeclines { scheduling_request_id, reason } => {
            state.decline_request(&scheduling_request_id, reason)?;
            Ok(None)
        }
        Action::CandidateNoShow { interview_id } => {
            state.mark_no_show(&interview_id, "candidate", None)?;
            Ok(None)
        }
        other => unreachable_action(other),
    }
}

/// What an interviewer does: answer the invitation, file, edit or withdraw feedback.
fn interviewer_acts(state: &mut State, action: Action) -> Result<Option<String>, ApiError> {
    match action {
        Action::InterviewerResponds { interview_id, user_id, response_status } => {
            state.interviewer_responds(&interview_id, &user_id, &response_status)?;
            Ok(None)
        }
        Action::InterviewerAccepts { interview_id, user_id } => {
            state.interviewer_responds(&interview_id, &user_id, "accepted")?;
            Ok(None)
        }
        Action::InterviewerDeclines { interview_id, user_id } => {
            state.interviewer_responds(&interview_id, &user_id, "declined")?;
            Ok(None)
        }
        Action::SubmitFeedback { interview_id, interviewer_id, overall_recommendation, notes } => {
            let new = NewFeedback {
                interviewer_id,
                overall_recommendation,
                notes,
                ..NewFeedback::default()
            };
            Ok(Some(state.submit_feedback(&interview_id, new)?.0))
        }
        Action::UpdateFeedback { feedback_id, overall_recommendation, notes } => {
            state.update_feedback(&feedback_id, None, overall_recommendation, notes.map(Some))?;
            Ok(None)
        }
        Action::DeleteFeedback { feedback_id } => {
            state.delete_feedback(&feedback_id)?;
            Ok(None)
        }
        other => unreachable_action(other),
    }
}

/// What a coordinator does: book, move, cancel, mark or unmark a no-show.
fn coordinator_acts(state: &mut State, action: Action) -> Result<Option<String>, ApiError> {
    match action {
        Action::ScheduleInterview {
            scheduling_request_id,
            interview_name,
            start_at,
            end_at,
            start_date,
            end_date,
            interviewer_ids,
            timezone,
            location,
        } => {
            if !state.requests.contains_key(&scheduling_request_id) {
                return Err(ApiError::not_found("scheduling request", &scheduling_request_id));
            }
            let timing = parse_timing(start_at, end_at, None, start_date, end_date)?;
            let booking = Booking {
                scheduling_request_id,
                interview_name,
                timing: Some(timing),
                timezone,
                interviewer_ids,
                location,
                ..Booking::default()
            };
            Ok(Some(state.book_interview(booking)?.0))
        }
        Action::RescheduleInterview { interview_id, start_at, end_at, start_date, end_date } => {
            let timing = parse_timing(start_at, end_at, None, start_date, end_date)?;
            let (holder, _) =
                state.reschedule_interview(&interview_id, timing, "coordinator", None)?;
            Ok((holder != interview_id).then_some(holder))
        }
        Action::CancelInterview { interview_id, reason, cancelled_by } => {
            check_enum("reason", &reason, CANCEL_REASONS)?;
            check_enum("cancelled_by", &cancelled_by, CANCELLED_BY)?;
            state.cancel_interview(&interview_id, &reason, &cancelled_by, None, true)?;
            Ok(None)
        }
        Action::CancelRequest { scheduling_request_id, reason } => {
            check_enum("reason", &reason, super::scheduling::CANCEL_REASONS)?;
            state.cancel_request(&scheduling_request_id, &reason, None, true)?;
            Ok(None)
        }
        Action::MarkNoShow { interview_id } => {
            state.mark_no_show(&interview_id, "candidate", None)?;
            Ok(None)
        }
        Action::RevertNoShow { interview_id } => {
            state.revert_no_show(&interview_id)?;
            Ok(None)
        }
        other => unreachable_action(other),
    }
}

/// `act` routes each action to the group that handles it; reaching this is a bug in `act`,
/// answered as a 500 rather than a panic.
fn unreachable_action(action: Action) -> Result<Option<String>, ApiError> {
    Err(ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        format!("no handler for action {action:?}"),
    ))
}

/// `GET /_rehearsal/state`: every resource, the event index and subscriptions (no secrets).
fn snapshot(state: &State) -> Value {
    let all = |values: Vec<Value>| Value::Array(values);
    json!({
        "candidates": all(state.candidates.values().map(to_json).collect()),
        "users": all(state.users.values().map(to_json).collect()),
        "scheduling_requests": all(state.requests.values().map(to_json).collect()),
        "interviews": all(state.interviews.values().map(to_json).collect()),
        "feedback": all(state.feedback.values().map(to_json).collect()),
        "events": state.events.iter().map(|e| json!({
            "id": e.id, "type": e.kind, "occurred_at": crate::clock::iop_timestamp(e.created_at), "object_id": e.object_id,
        })).collect::<Vec<_>>(),
        "subscriptions": state.subscriptions.values().map(|s| json!({"id": s.id, "url": s.url, "status": s.status})).collect::<Vec<_>>(),
    })
}
