//! Carries out `greenhouse:` and `iop:` steps through the mocks' control APIs, resolving the
//! scenario's names to the ids the mocks assigned.

use chrono::Duration;
use http::Method;
use serde_json::Value;

use super::duration;
use super::harness::{Harness, Side};
use super::model::{GreenhouseStep, IopStep};
use super::world::Ids;
use crate::mock::common::ActionOutcome;
use crate::mock::greenhouse::control::{Action as GhAction, TypedValue};
use crate::mock::iop::control::{Action as IopAction, Slot};

use super::invariants::TERMINAL_REQUEST;

fn ids_of<'a>(ids: &'a Ids, name: &str) -> Result<&'a super::expect::CandidateIds, String> {
    ids.candidates.get(name).ok_or_else(|| format!("unknown candidate `{name}`"))
}

pub async fn greenhouse(harness: &Harness, ids: &Ids, step: &GreenhouseStep) -> Result<(), String> {
    let action = if let Some(name) = &step.move_ {
        let to = step.to.as_deref().unwrap_or_default();
        let job = ids.candidate_jobs.get(name).cloned().unwrap_or_default();
        let to_stage_id = ids
            .stages
            .get(&job)
            .and_then(|stages| stages.get(to))
            .copied()
            .ok_or_else(|| format!("job `{job}` has no stage `{to}`"))?;
        GhAction::MoveApplication { application_id: ids_of(ids, name)?.application_id, to_stage_id }
    } else if let Some(name) = &step.reject {
        let rejection_reason_id = match &step.reason {
            Some(reason) => Some(
                *ids.rejection_reasons
                    .get(reason)
                    .ok_or_else(|| format!("unknown rejection reason `{reason}`"))?,
            ),
            None => None,
        };
        GhAction::RejectApplication {
            application_id: ids_of(ids, name)?.application_id,
            rejection_reason_id,
            notes: None,
        }
    } else if let Some(name) = &step.unreject {
        GhAction::UnrejectApplication { application_id: ids_of(ids, name)?.application_id }
    } else if let Some(name) = &step.hire {
        GhAction::HireApplication { application_id: ids_of(ids, name)?.application_id }
    } else if let Some(name) = &step.edit {
        GhAction::UpdateCandidate {
            candidate_id: ids_of(ids, name)?.candidate_id,
            first_name: step.first_name.clone(),
            last_name: step.last_name.clone(),
            email_addresses: step
                .email
                .as_ref()
                .map(|e| vec![TypedValue { value: e.clone(), kind: "personal".into() }]),
            phone_numbers: None,
            time_zone: step.time_zone.clone(),
        }
    } else if let Some(name) = &step.delete_interview {
        let application_id = ids_of(ids, name)?.application_id;
        let state: Value = harness
            .control(Side::Greenhouse, Method::GET, "/_rehearsal/state", None::<&()>)
            .await?;
        let interview_id = records(&state, "interviews")
            .filter(|i| i.get("application_id").and_then(Value::as_i64) == Some(application_id))
            .filter_map(|i| i.get("id").and_then(Value::as_i64))
            .next_back()
            .ok_or_else(|| format!("`{name}` has no interview in Greenhouse to delete"))?;
        GhAction::DeleteInterview { interview_id }
    } else {
        return Err("greenhouse step has no verb".into());
    };
    let _: ActionOutcome = harness
        .control(Side::Greenhouse, Method::POST, "/_rehearsal/actions", Some(&action))
        .await?;
    Ok(())
}

pub async fn iop(harness: &Harness, ids: &Ids, step: &IopStep) -> Result<(), String> {
    let state: Value =
        harness.control(Side::Iop, Method::GET, "/_rehearsal/state", None::<&()>).await?;
    let action = if let Some(name) = &step.submit_availability {
        let slots = step.slots.iter().map(|s| Slot { start_at: s.start, end_at: s.end }).collect();
        IopAction::SubmitAvailability {
            scheduling_request_id: request_of(&state, ids, name)?.0,
            slots,
        }
    } else if let Some(name) = &step.schedule {
        let (request_id, request) = request_of(&state, ids, name)?;
        let minutes = requested_minutes(&request, step.interview.as_deref());
        let length = match &step.duration {
            Some(text) => duration::parse(text)?,
            None => Duration::minutes(minutes),
        };
        IopAction::ScheduleInterview {
            scheduling_request_id: request_id,
            interview_name: step.interview.clone(),
            start_at: step.at,
            end_at: step.at.map(|at| at + length),
            start_date: step.on,
            end_date: step.on.and_then(|d| d.succ_opt()),
            interviewer_ids: interviewers(ids, &step.interviewers)?,
            timezone: None,
            location: None,
        }
    } else if let Some(name) = &step.reschedule {
        let (interview_id, interview) = interview_of(&state, ids, name, step.interview.as_deref())?;
        let length = interview_length(&interview);
        IopAction::RescheduleInterview {
            interview_id,
            start_at: step.at,
            end_at: step.at.map(|at| at + length),
            start_date: step.on,
            end_date: step.on.and_then(|d| d.succ_opt()),
        }
    } else if let Some(name) = &step.cancel_interview {
        let interview_id = interview_of(&state, ids, name, step.interview.as_deref())?.0;
        IopAction::CancelInterview {
            interview_id,
            reason: "other".into(),
            cancelled_by: "coordinator".into(),
        }
    } else if let Some(name) = &step.candidate_declines {
        IopAction::CandidateDeclines {
            scheduling_request_id: request_of(&state, ids, name)?.0,
            reason: step.reason.clone(),
        }
    } else if let Some(name) = &step.no_show {
        IopAction::MarkNoShow {
            interview_id: interview_of(&state, ids, name, step.interview.as_deref())?.0,
        }
    } else if let Some(name) = &step.feedback {
        let interview_id = interview_of(&state, ids, name, step.interview.as_deref())?.0;
        let interviewer_id = match &step.interviewer {
            Some(who) => Some(
                ids.iop_users.get(who).cloned().ok_or_else(|| format!("unknown user `{who}`"))?,
            ),
            None => None,
        };
        IopAction::SubmitFeedback {
            interview_id,
            interviewer_id,
            overall_recommendation: step.recommendation.clone().unwrap_or_default(),
            notes: step.notes.clone(),
        }
    } else if let Some(name) = &step.cancel_request {
        IopAction::CancelRequest {
            scheduling_request_id: request_of(&state, ids, name)?.0,
            reason: "manual".into(),
        }
    } else if let Some(name) = &step.interviewer_responds {
        let interview_id = interview_of(&state, ids, name, step.interview.as_deref())?.0;
        let who = step.interviewer.as_deref().unwrap_or_default();
        let user_id = user_of(ids, who)?;
        let response_status = step.response.clone().unwrap_or_default();
        IopAction::InterviewerResponds { interview_id, user_id, response_status }
    } else if let Some(name) = &step.revert_no_show {
        IopAction::RevertNoShow {
            interview_id: interview_of(&state, ids, name, step.interview.as_deref())?.0,
        }
    } else if let Some(name) = &step.edit_feedback {
        IopAction::UpdateFeedback {
            feedback_id: feedback_of(&state, ids, name)?,
            overall_recommendation: step.recommendation.clone(),
            notes: step.notes.clone(),
        }
    } else if let Some(name) = &step.withdraw_feedback {
        IopAction::DeleteFeedback { feedback_id: feedback_of(&state, ids, name)? }
    } else if let Some(who) = &step.deactivate_user {
        IopAction::DeactivateUser { user_id: user_of(ids, who)? }
    } else if let Some(who) = &step.disconnect_calendar {
        IopAction::DisconnectCalendar { user_id: user_of(ids, who)? }
    } else {
        return Err("iop step has no verb".into());
    };
    let _: ActionOutcome =
        harness.control(Side::Iop, Method::POST, "/_rehearsal/actions", Some(&action)).await?;
    Ok(())
}

fn records<'a>(state: &'a Value, key: &str) -> impl DoubleEndedIterator<Item = &'a Value> {
    state.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn application_of(record: &Value) -> Option<i64> {
    record.pointer("/external_refs/greenhouse/application_id").and_then(Value::as_i64)
}

fn status(record: &Value) -> &str {
    record.get("status").and_then(Value::as_str).unwrap_or_default()
}

/// The candidate's newest open scheduling request (else the newest at all).
fn request_of(state: &Value, ids: &Ids, name: &str) -> Result<(String, Value), String> {
    let application_id = ids_of(ids, name)?.application_id;
    let mine: Vec<&Value> = records(state, "scheduling_requests")
        .filter(|r| application_of(r) == Some(application_id))
        .collect();
    let chosen = mine.iter().rev().find(|r| !TERMINAL_REQUEST.contains(&status(r))).or(mine.last());
    let request =
        chosen.ok_or_else(|| format!("the IOP has no scheduling request for `{name}`"))?;
    let id = request.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok((id, (*request).clone()))
}

/// The candidate's newest interview (by title when given), preferring one not cancelled.
fn interview_of(
    state: &Value,
    ids: &Ids,
    name: &str,
    title: Option<&str>,
) -> Result<(String, Value), String> {
    let application_id = ids_of(ids, name)?.application_id;
    let mine: Vec<&Value> = records(state, "interviews")
        .filter(|i| application_of(i) == Some(application_id))
        .filter(|i| title.is_none_or(|t| i.get("title").and_then(Value::as_str) == Some(t)))
        .collect();
    let chosen = mine.iter().rev().find(|i| status(i) != "cancelled").or(mine.last());
    let interview = chosen.ok_or_else(|| format!("the IOP has no interview for `{name}`"))?;
    let id = interview.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok((id, (*interview).clone()))
}

fn user_of(ids: &Ids, name: &str) -> Result<String, String> {
    ids.iop_users.get(name).cloned().ok_or_else(|| format!("unknown user `{name}`"))
}

/// The candidate's newest feedback.
fn feedback_of(state: &Value, ids: &Ids, name: &str) -> Result<String, String> {
    let application_id = ids_of(ids, name)?.application_id;
    records(state, "feedback")
        .filter(|f| application_of(f) == Some(application_id))
        .filter_map(|f| f.get("id").and_then(Value::as_str))
        .next_back()
        .map(str::to_owned)
        .ok_or_else(|| format!("the IOP has no feedback for `{name}`"))
}

fn requested_minutes(request: &Value, interview: Option<&str>) -> i64 {
    let requested = request.get("interviews_requested").and_then(Value::as_array);
    let chosen = requested.and_then(|list| {
        list.iter().find(|i| {
            interview.is_none_or(|name| i.get("name").and_then(Value::as_str) == Some(name))
        })
    });
    chosen.and_then(|i| i.get("duration_minutes")).and_then(Value::as_i64).unwrap_or(60)
}

fn interview_length(interview: &Value) -> Duration {
    let instant = |key: &str| {
        interview
            .get(key)
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    match (instant("start_at"), instant("end_at")) {
        (Some(start), Some(end)) => end - start,
        _ => Duration::minutes(60),
    }
}

fn interviewers(ids: &Ids, names: &[String]) -> Result<Vec<String>, String> {
    names
        .iter()
        .map(|n| ids.iop_users.get(n).cloned().ok_or_else(|| format!("unknown user `{n}`")))
        .collect()
}
