//! What happens to an application or candidate, whoever asks: a Harvest v3 write and a
//! person's action in the UI (control API) share these operations and the events they fire.
//! Callers map errors to their own surface: v3 answers 422, the control API 404/409.

use std::collections::BTreeMap;

use serde_json::Value;

use super::control::TypedValue;
use super::state::{AppStatus, ApplicationStage, Collection, Id, Instant, State};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OpError {
    /// The record the operation is about does not exist.
    NotFound(String),
    /// A record the request refers to does not exist.
    Unknown { field: &'static str, message: String },
    /// The records exist but the change is not allowed in their state.
    Conflict { field: &'static str, message: String },
}

/// A webhook-worthy change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// An application-bearing event, e.g. `candidate_stage_change`.
    Application {
        action: &'static str,
        application_id: Id,
    },
    InterviewDeleted {
        interview_id: Id,
    },
}

/// Replaces the given candidate fields; collections replace whole.
#[derive(Debug, Clone, Default)]
pub(crate) struct CandidatePatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email_addresses: Option<Vec<TypedValue>>,
    pub phone_numbers: Option<Vec<TypedValue>>,
    pub time_zone: Option<String>,
    pub custom_fields: Option<BTreeMap<String, Value>>,
}

fn conflict(field: &'static str, message: String) -> OpError {
    OpError::Conflict { field, message }
}

fn in_process(state: &State, application_id: Id, verb: &str) -> Result<(), OpError> {
    let app = state
        .applications
        .get(&application_id)
        .ok_or_else(|| OpError::NotFound(format!("application {application_id} does not exist")))?;
    if app.status != AppStatus::InProcess {
        let message = format!(
            "application {application_id} is {}; only active applications can be {verb}",
            app.status.v3()
        );
        return Err(conflict("status", message));
    }
    Ok(())
}

/// Opens a stay in `job_stage_id`, closing the current one. Returns the new row's id.
pub(crate) fn enter_stage(
    state: &mut State,
    application_id: Id,
    job_stage_id: Id,
    now: Instant,
) -> Id {
    if let Some(current) = state.applications.get(&application_id).map(|a| a.stage_row_id)
        && let Some(row) = state.application_stages.get_mut(&current)
        && row.exited_at.is_none()
    {
        row.exited_at = Some(now);
        row.updated_at = now;
    }
    let id = state.allocate(Collection::ApplicationStages);
    let row = ApplicationStage {
        id,
        application_id,
        job_stage_id,
        entered_at: now,
        exited_at: None,
        updated_at: now,
    };
    state.application_stages.insert(id, row);
    if let Some(app) = state.applications.get_mut(&application_id) {
        app.stage_row_id = id;
        app.job_stage_id = job_stage_id;
        app.updated_at = now;
        app.last_activity_at = now;
    }
    id
}

/// Moves an active application to another stage of its job (any direction).
pub(crate) fn move_to_stage(
    state: &mut State,
    application_id: Id,
    to_stage_id: Id,
    now: Instant,
) -> Result<Event, OpError> {
    in_process(state, application_id, "moved")?;
    let job_id = state.applications.get(&application_id).map(|a| a.job_id).unwrap_or_default();
    let stage = state.stages.get(&to_stage_id).ok_or_else(|| OpError::Unknown {
        field: "to_stage_id",
        message: format!("job interview stage {to_stage_id} does not exist"),
    })?;
    if stage.job_id != job_id {
        return Err(conflict(
            "to_stage_id",
            format!(
                "stage {to_stage_id} belongs to job {}, not to the application's job {job_id}",
                stage.job_id
            ),
        ));
    }
    // Greenhouse offers no move into the stage an application already stands in (the UI lists
    // only other stages), so such a move is refused rather than opening a second stay.
    if state.applications.get(&application_id).is_some_and(|a| a.job_stage_id == to_stage_id) {
        return Err(conflict(
            "to_stage_id",
            format!("application {application_id} is already in stage {to_stage_id}"),
        ));
    }
    enter_stage(state, application_id, to_stage_id, now);
    Ok(Event::Application { action: "candidate_stage_change", application_id })
}

/// Moves an active application to the first stage of another job.
pub(crate) fn move_to_job(
    state: &mut State,
    application_id: Id,
    to_job_id: Id,
    now: Instant,
) -> Result<Event, OpError> {
    in_process(state, application_id, "moved")?;
    let first = first_stage(state, to_job_id).ok_or_else(|| OpError::Unknown {
        field: "to_job_id",
        message: format!("job {to_job_id} does not exist or has no stages"),
    })?;
    if let Some(app) = state.applications.get_mut(&application_id) {
        app.job_id = to_job_id;
    }
    enter_stage(state, application_id, first, now);
    Ok(Event::Application { action: "candidate_stage_change", application_id })
}

/// The stage after the application's current one, for a move without a target.
pub(crate) fn next_stage(state: &State, application_id: Id) -> Option<Id> {
    let app = state.applications.get(&application_id)?;
    let current = state.stages.get(&app.job_stage_id)?;
    state
        .stages
        .values()
        .filter(|s| s.job_id == app.job_id && s.sort_order > current.sort_order)
        .min_by_key(|s| (s.sort_order, s.id))
        .map(|s| s.id)
}

pub(crate) fn first_stage(state: &State, job_id: Id) -> Option<Id> {
    state
        .stages
        .values()
        .filter(|s| s.job_id == job_id)
        .min_by_key(|s| (s.sort_order, s.id))
        .map(|s| s.id)
}

/// Rejects an active application; without a reason the first one (by id) is used.
pub(crate) fn reject(
    state: &mut State,
    application_id: Id,
    reason_id: Option<Id>,
    now: Instant,
) -> Result<Event, OpError> {
    in_process(state, application_id, "rejected")?;
    let reason_id = match reason_id {
        Some(id) if state.rejection_reasons.contains_key(&id) => id,
        Some(id) => {
            let message = format!("rejection reason {id} does not exist");
            return Err(OpError::Unknown { field: "rejection_reason_id", message });
        }
        None => *state.rejection_reasons.keys().next().ok_or_else(|| OpError::Unknown {
            field: "rejection_reason_id",
            message: "no rejection reasons are seeded".to_owned(),
        })?,
    };
    if let Some(app) = state.applications.get_mut(&application_id) {
        app.status = AppStatus::Rejected;
        app.rejection_reason_id = Some(reason_id);
        app.rejected_at = Some(now);
        app.updated_at = now;
        app.last_activity_at = now;
    }
    Ok(Event::Application { action: "reject_candidate", application_id })
}

/// Restores a rejected application to active in the stage it stood in.
pub(crate) fn unreject(
    state: &mut State,
    application_id: Id,
    now: Instant,
) -> Result<Event, OpError> {
    let app = state
        .applications
        .get_mut(&application_id)
        .ok_or_else(|| OpError::NotFound(format!("application {application_id} does not exist")))?;
    if app.status != AppStatus::Rejected {
        return Err(conflict(
            "status",
            format!("application {application_id} is {}, not rejected", app.status.v3()),
        ));
    }
    app.status = AppStatus::InProcess;
    app.rejection_reason_id = None;
    app.rejected_at = None;
    app.updated_at = now;
    app.last_activity_at = now;
    Ok(Event::Application { action: "unreject_candidate", application_id })
}

/// Hires an active application. TODO(fidelity): openings, start dates and the closing of
/// other applications are not modelled.
pub(crate) fn hire(state: &mut State, application_id: Id, now: Instant) -> Result<Event, OpError> {
    in_process(state, application_id, "hired")?;
    if let Some(app) = state.applications.get_mut(&application_id) {
        app.status = AppStatus::Hired;
        app.updated_at = now;
        app.last_activity_at = now;
    }
    Ok(Event::Application { action: "hire_candidate", application_id })
}

/// Applies `patch`; fires `update_candidate` with the candidate's first application, the one
/// application-bearing shape Greenhouse sends for a candidate edit.
/// TODO(fidelity): a candidate without applications fires nothing; Greenhouse's payload for
/// that case was not captured.
pub(crate) fn update_candidate(
    state: &mut State,
    candidate_id: Id,
    patch: CandidatePatch,
    now: Instant,
) -> Result<Vec<Event>, OpError> {
    let candidate = state
        .candidates
        .get_mut(&candidate_id)
        .ok_or_else(|| OpError::NotFound(format!("candidate {candidate_id} does not exist")))?;
    if let Some(value) = patch.first_name {
        candidate.first_name = value;
    }
    if let Some(value) = patch.last_name {
        candidate.last_name = value;
    }
    if let Some(value) = patch.email_addresses {
        candidate.email_addresses = value;
    }
    if let Some(value) = patch.phone_numbers {
        candidate.phone_numbers = value;
    }
    if let Some(value) = patch.time_zone {
        candidate.time_zone = Some(value);
    }
    if let Some(value) = patch.custom_fields {
        candidate.custom_fields = value;
    }
    candidate.updated_at = now;
    candidate.last_activity_at = now;

    let first_application = state.applications.values().find(|a| a.candidate_id == candidate_id);
    Ok(first_application
        .map(|app| Event::Application { action: "update_candidate", application_id: app.id })
        .into_iter()
        .collect())
}

/// Removes an interview and its interviewer rows.
pub(crate) fn delete_interview(state: &mut State, interview_id: Id) -> Result<Event, OpError> {
    state
        .interviews
        .remove(&interview_id)
        .ok_or_else(|| OpError::NotFound(format!("interview {interview_id} does not exist")))?;
    state.interviewers.retain(|_, row| row.interview_id != interview_id);
    Ok(Event::InterviewDeleted { interview_id })
}
