//! Harvest v3 writes: application lifecycle verbs, candidate edits, notes, interviews and
//! scorecards. Bodies are JSON; unknown body fields are refused as Greenhouse refuses
//! additional properties; validation failures are 422 `{field: message}`.
//!
//! TODO(fidelity): the v3 body shapes of interview and scorecard writes were not captured in
//! our sources; the fields here follow the v3 read shapes and v2's scheduled-interview writes.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use http::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::control::TypedValue;
use super::ops::{self, CandidatePatch, Event, OpError};
use super::reply::{self, Reply};
use super::server::{Ctx, Route};
use super::state::{
    AppStatus, Collection, Id, Interview, Interviewer, Note, Scorecard, State, When,
    interview_json, note_json, scorecard_json,
};
use super::webhooks;

const EMAIL_TYPES: [&str; 3] = ["personal", "work", "other"];
const PHONE_TYPES: [&str; 5] = ["home", "work", "mobile", "skype", "other"];
const RESPONSE_STATUSES: [&str; 4] = ["needs_action", "declined", "tentative", "accepted"];
const RATINGS: [&str; 5] = ["strong_no", "no", "yes", "strong_yes", "no_decision"];

pub(crate) fn handle(ctx: &mut Ctx<'_>, route: Route, body: &Bytes) -> Reply {
    let result = match route {
        Route::Move(id) => move_application(ctx, id, body),
        Route::Reject(id) => reject(ctx, id, body),
        Route::Unreject(id) => lifecycle(ctx, id, body, Verb::Unreject),
        Route::Hire(id) => lifecycle(ctx, id, body, Verb::Hire),
        Route::PatchCandidate(id) => patch_candidate(ctx, id, body),
        Route::CreateNote => create_note(ctx, body),
        Route::CreateInterview => create_interview(ctx, body),
        Route::PatchInterview(id) => patch_interview(ctx, id, body),
        Route::DeleteInterview(id) => delete_interview(ctx, id),
        Route::CreateScorecard => create_scorecard(ctx, body),
        Route::List(_) | Route::ShowRejectionReason(_) => Err(reply::not_found()),
    };
    result.unwrap_or_else(|answer| answer)
}

type Answer = Result<Reply, Reply>;

/// An empty body reads as `{}` so verbs like unreject accept a bare POST.
fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, Reply> {
    let bytes: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    serde_json::from_slice(bytes).map_err(|error| reply::invalid_field("body", &error.to_string()))
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, Reply> {
    value.ok_or_else(|| reply::invalid_field(field, "is required"))
}

fn op_error(error: OpError) -> Reply {
    match error {
        OpError::NotFound(_) => reply::not_found(),
        OpError::Unknown { field, message } | OpError::Conflict { field, message } => {
            reply::invalid_field(field, &message)
        }
    }
}

fn fire(ctx: &mut Ctx<'_>, events: &[Event]) {
    webhooks::queue(ctx.inner, ctx.journal, events, ctx.now);
}

fn application_exists(ctx: &Ctx<'_>, id: Id) -> Result<(), Reply> {
    if ctx.inner.state.applications.contains_key(&id) { Ok(()) } else { Err(reply::not_found()) }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    from_stage_id: Option<Id>,
    to_stage_id: Option<Id>,
    to_job_id: Option<Id>,
    email_from_user_id: Option<Id>,
}

/// `from_stage_id` is a compare-and-swap guard: it must name the current stage in the active
/// stage-id mode. Without a target the application advances to its job's next stage.
fn move_application(ctx: &mut Ctx<'_>, id: Id, body: &Bytes) -> Answer {
    application_exists(ctx, id)?;
    let body: MoveBody = parse_body(body)?;
    let from = required(body.from_stage_id, "from_stage_id")?;
    let state = &ctx.inner.state;
    let Some(app) = state.applications.get(&id) else { return Err(reply::not_found()) };
    if app.status != AppStatus::InProcess {
        let message =
            format!("application is {}; only active applications can be moved", app.status.v3());
        return Err(reply::invalid_field("status", &message));
    }
    let current = State::stage_id_of(app, ctx.inner.fidelity.stage_id_mode);
    if from != current {
        let message = format!("{from} is not the application's current stage ({current})");
        return Err(reply::invalid_field("from_stage_id", &message));
    }
    if let Some(user) = body.email_from_user_id.filter(|user| !state.users.contains_key(user)) {
        return Err(reply::invalid_field(
            "email_from_user_id",
            &format!("user {user} does not exist"),
        ));
    }

    let state = &mut ctx.inner.state;
    let event = match (body.to_stage_id, body.to_job_id) {
        (Some(_), Some(_)) => {
            return Err(reply::invalid_field(
                "to_stage_id",
                "give to_stage_id or to_job_id, not both",
            ));
        }
        (Some(stage), None) => ops::move_to_stage(state, id, stage, ctx.now),
        (None, Some(job)) => ops::move_to_job(state, id, job, ctx.now),
        (None, None) => match ops::next_stage(state, id) {
            Some(stage) => ops::move_to_stage(state, id, stage, ctx.now),
            None => {
                return Err(reply::invalid_field(
                    "to_stage_id",
                    "the application is in its job's last stage",
                ));
            }
        },
    }
    .map_err(op_error)?;
    fire(ctx, &[event]);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectBody {
    rejection_reason_id: Option<Id>,
    // TODO(fidelity): rejection notes, emails and custom fields are accepted but not stored
    // (Greenhouse keeps them on a rejection_details record and a note).
    #[serde(rename = "notes")]
    _notes: Option<String>,
    #[serde(rename = "rejection_email")]
    _rejection_email: Option<Value>,
    #[serde(rename = "custom_fields")]
    _custom_fields: Option<Value>,
}

fn reject(ctx: &mut Ctx<'_>, id: Id, body: &Bytes) -> Answer {
    application_exists(ctx, id)?;
    let body: RejectBody = parse_body(body)?;
    let reason = required(body.rejection_reason_id, "rejection_reason_id")?;
    let event = ops::reject(&mut ctx.inner.state, id, Some(reason), ctx.now).map_err(op_error)?;
    fire(ctx, &[event]);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

enum Verb {
    Unreject,
    Hire,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LifecycleBody {
    // Hire takes these in Greenhouse; the mock accepts and ignores them.
    #[serde(rename = "opening_id")]
    _opening_id: Option<Value>,
    #[serde(rename = "start_date")]
    _start_date: Option<Value>,
    #[serde(rename = "close_reason_id")]
    _close_reason_id: Option<Value>,
}

fn lifecycle(ctx: &mut Ctx<'_>, id: Id, body: &Bytes, verb: Verb) -> Answer {
    application_exists(ctx, id)?;
    let _: LifecycleBody = parse_body(body)?;
    let state = &mut ctx.inner.state;
    let event = match verb {
        Verb::Unreject => ops::unreject(state, id, ctx.now),
        Verb::Hire => ops::hire(state, id, ctx.now),
    }
    .map_err(op_error)?;
    fire(ctx, &[event]);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CandidateBody {
    first_name: Option<String>,
    last_name: Option<String>,
    email_addresses: Option<Vec<TypedValue>>,
    phone_numbers: Option<Vec<TypedValue>>,
    time_zone: Option<String>,
    custom_fields: Option<BTreeMap<String, Value>>,
}

fn check_types(
    field: &str,
    values: Option<&Vec<TypedValue>>,
    allowed: &[&str],
) -> Result<(), Reply> {
    for value in values.into_iter().flatten() {
        if !allowed.contains(&value.kind.as_str()) {
            let message = format!("type `{}` is not one of: {}", value.kind, allowed.join(", "));
            return Err(reply::invalid_field(field, &message));
        }
    }
    Ok(())
}

fn patch_candidate(ctx: &mut Ctx<'_>, id: Id, body: &Bytes) -> Answer {
    if !ctx.inner.state.candidates.contains_key(&id) {
        return Err(reply::not_found());
    }
    let body: CandidateBody = parse_body(body)?;
    check_types("email_addresses", body.email_addresses.as_ref(), &EMAIL_TYPES)?;
    check_types("phone_numbers", body.phone_numbers.as_ref(), &PHONE_TYPES)?;
    for (field, value) in [("first_name", &body.first_name), ("last_name", &body.last_name)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(reply::invalid_field(field, "must not be blank"));
        }
    }

    let patch = CandidatePatch {
        first_name: body.first_name,
        last_name: body.last_name,
        email_addresses: body.email_addresses,
        phone_numbers: body.phone_numbers,
        time_zone: body.time_zone,
        custom_fields: body.custom_fields,
    };
    let events =
        ops::update_candidate(&mut ctx.inner.state, id, patch, ctx.now).map_err(op_error)?;
    fire(ctx, &events);
    let world = &ctx.inner.state;
    let record = world.candidates.get(&id).map(|c| world.candidate_json(c)).unwrap_or(Value::Null);
    Ok(Reply::json(StatusCode::OK, &record))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    candidate_id: Option<Id>,
    application_id: Option<Id>,
    body: Option<String>,
    visibility: Option<String>,
    note_type: Option<String>,
    user_id: Option<Id>,
}

fn create_note(ctx: &mut Ctx<'_>, body: &Bytes) -> Answer {
    let body: NoteBody = parse_body(body)?;
    // Greenhouse does not check candidate_id: a note on a missing candidate is created.
    let candidate_id = required(body.candidate_id, "candidate_id")?;
    let text = required(body.body, "body")?;
    let visibility = match required(body.visibility, "visibility")?.as_str() {
        "admin_only" => "admin_only_visible",
        "private" => "privately_visible",
        "public" => "publicly_visible",
        _ => {
            return Err(reply::invalid_field(
                "visibility",
                "must be one of: admin_only, private, public",
            ));
        }
    };
    let note_type = required(body.note_type, "note_type")?;
    match note_type.as_str() {
        "NOTE" | "ACTIVITY" => {}
        // TODO(fidelity): EMAIL notes need four email fields whose names were not captured.
        "EMAIL" => {
            return Err(reply::invalid_field(
                "note_type",
                "EMAIL notes are not supported by this mock",
            ));
        }
        // Greenhouse lists lower-case values in this message yet accepts only upper case.
        _ => {
            return Err(reply::invalid_field("note_type", "must be one of: note, activity, email"));
        }
    }
    let user_id = required(body.user_id, "user_id")?;
    let state = &mut ctx.inner.state;
    if !state.users.contains_key(&user_id) {
        return Err(reply::invalid_field("user_id", &format!("user {user_id} does not exist")));
    }
    if let Some(app) = body.application_id.filter(|app| !state.applications.contains_key(app)) {
        return Err(reply::invalid_field(
            "application_id",
            &format!("application {app} does not exist"),
        ));
    }

    let id = state.allocate(Collection::Notes);
    let note = Note {
        id,
        candidate_id,
        application_id: body.application_id,
        user_id,
        body: text,
        note_type,
        visibility: visibility.to_owned(),
        created_at: ctx.now,
    };
    let record = note_json(&note);
    state.notes.insert(id, note);
    Ok(Reply::json(StatusCode::CREATED, &record))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InterviewBody {
    application_id: Option<Id>,
    job_interview_id: Option<Id>,
    external_event_id: Option<String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    all_day_start_on: Option<String>,
    all_day_end_on: Option<String>,
    interviewers: Option<Vec<InterviewerBody>>,
    location: Option<String>,
    video_conferencing_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InterviewerBody {
    user_id: Option<Id>,
    email: Option<String>,
    response_status: Option<String>,
}

/// A validated panel member: user (if known), email, response status.
type PanelMember = (Option<Id>, String, String);

fn create_interview(ctx: &mut Ctx<'_>, body: &Bytes) -> Answer {
    let body: InterviewBody = parse_body(body)?;
    let state = &ctx.inner.state;
    let app_id = required(body.application_id, "application_id")?;
    let app = state.applications.get(&app_id).ok_or_else(|| {
        reply::invalid_field("application_id", &format!("application {app_id} does not exist"))
    })?;
    let job_interview_id = required(body.job_interview_id, "job_interview_id")?;
    check_job_interview(state, app.job_id, job_interview_id)?;
    let external_event_id = required(body.external_event_id.clone(), "external_event_id")?;
    check_external_event_id(state, &external_event_id, None)?;
    let when = resolve_when(&body, None)?.ok_or_else(|| {
        reply::invalid_field("starts_at", "is required (or all_day_start_on and all_day_end_on)")
    })?;
    let panel = resolve_panel(state, required(body.interviewers.as_deref(), "interviewers")?)?;

    let job_id = app.job_id;
    let state = &mut ctx.inner.state;
    let id = state.allocate(Collection::Interviews);
    let interview = Interview {
        id,
        application_id: app_id,
        job_id,
        job_interview_id,
        external_event_id: Some(external_event_id),
        when,
        status: "scheduled".to_owned(),
        location: body.location,
        video_conferencing_url: body.video_conferencing_url,
        organizer_id: ctx.actor,
        via_api: true,
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    let record = interview_json(&interview);
    state.interviews.insert(id, interview);
    replace_panel(state, id, panel, ctx.now);
    Ok(Reply::json(StatusCode::CREATED, &record))
}

fn patch_interview(ctx: &mut Ctx<'_>, id: Id, body: &Bytes) -> Answer {
    let state = &ctx.inner.state;
    let existing = state.interviews.get(&id).cloned().ok_or_else(reply::not_found)?;
    if !existing.via_api {
        return Err(reply::invalid_field(
            "id",
            "only interviews created through the API can be changed",
        ));
    }
    let body: InterviewBody = parse_body(body)?;
    if body.application_id.is_some_and(|app| app != existing.application_id) {
        return Err(reply::invalid_field("application_id", "cannot be changed"));
    }
    if let Some(job_interview_id) = body.job_interview_id {
        check_job_interview(state, existing.job_id, job_interview_id)?;
    }
    if let Some(external) = &body.external_event_id {
        check_external_event_id(state, external, Some(id))?;
    }
    let when = resolve_when(&body, Some(&existing.when))?;
    let panel =
        body.interviewers.as_deref().map(|panel| resolve_panel(state, panel)).transpose()?;

    let mut updated = existing;
    updated.job_interview_id = body.job_interview_id.unwrap_or(updated.job_interview_id);
    updated.external_event_id = body.external_event_id.or(updated.external_event_id);
    updated.when = when.unwrap_or(updated.when);
    updated.location = body.location.or(updated.location);
    updated.video_conferencing_url = body.video_conferencing_url.or(updated.video_conferencing_url);
    updated.updated_at = ctx.now;
    let record = interview_json(&updated);
    let state = &mut ctx.inner.state;
    state.interviews.insert(id, updated);
    if let Some(panel) = panel {
        replace_panel(state, id, panel, ctx.now);
    }
    Ok(Reply::json(StatusCode::OK, &record))
}

fn delete_interview(ctx: &mut Ctx<'_>, id: Id) -> Answer {
    let interview = ctx.inner.state.interviews.get(&id).ok_or_else(reply::not_found)?;
    if !interview.via_api {
        return Err(reply::invalid_field(
            "id",
            "only interviews created through the API can be deleted",
        ));
    }
    let event = ops::delete_interview(&mut ctx.inner.state, id).map_err(op_error)?;
    if ctx.inner.fidelity.interview_deleted_on_api_delete {
        fire(ctx, &[event]);
    }
    let status = StatusCode::from_u16(ctx.inner.fidelity.delete_interview_status)
        .unwrap_or(StatusCode::NO_CONTENT);
    Ok(Reply::empty(status))
}

fn check_job_interview(state: &State, job_id: Id, job_interview_id: Id) -> Result<(), Reply> {
    match state.job_interviews.get(&job_interview_id) {
        Some(step) if step.job_id == job_id => Ok(()),
        Some(_) => Err(reply::invalid_field(
            "job_interview_id",
            "is not an interview of the application's job",
        )),
        None => Err(reply::invalid_field(
            "job_interview_id",
            &format!("job interview {job_interview_id} does not exist"),
        )),
    }
}

fn check_external_event_id(state: &State, external: &str, except: Option<Id>) -> Result<(), Reply> {
    if external.trim().is_empty() {
        return Err(reply::invalid_field("external_event_id", "must not be blank"));
    }
    let taken = state
        .interviews
        .values()
        .any(|i| Some(i.id) != except && i.external_event_id.as_deref() == Some(external));
    if taken {
        Err(reply::invalid_field("external_event_id", "has already been taken"))
    } else {
        Ok(())
    }
}

/// Timed (`starts_at` + `ends_at`) or all-day (`all_day_start_on` + `all_day_end_on`), never
/// both. A patch may give one half of a pair; the other comes from `existing`. `None` when
/// the body names no time at all.
fn resolve_when(body: &InterviewBody, existing: Option<&When>) -> Result<Option<When>, Reply> {
    let timed = body.starts_at.is_some() || body.ends_at.is_some();
    let all_day = body.all_day_start_on.is_some() || body.all_day_end_on.is_some();
    match (timed, all_day) {
        (false, false) => Ok(None),
        (true, true) => Err(reply::invalid_field(
            "starts_at",
            "give starts_at and ends_at, or all_day_start_on and all_day_end_on, not both",
        )),
        (true, false) => {
            let (old_start, old_end) = match existing {
                Some(When::Timed { starts_at, ends_at }) => (Some(*starts_at), Some(*ends_at)),
                _ => (None, None),
            };
            let starts_at = instant_field(body.starts_at.as_deref(), "starts_at")?.or(old_start);
            let ends_at = instant_field(body.ends_at.as_deref(), "ends_at")?.or(old_end);
            let starts_at = required(starts_at, "starts_at")?;
            let ends_at = required(ends_at, "ends_at")?;
            if ends_at <= starts_at {
                return Err(reply::invalid_field("ends_at", "must be after starts_at"));
            }
            Ok(Some(When::Timed { starts_at, ends_at }))
        }
        (false, true) => {
            let (old_start, old_end) = match existing {
                Some(When::AllDay { start_on, end_on }) => (Some(*start_on), Some(*end_on)),
                _ => (None, None),
            };
            let start_on =
                date_field(body.all_day_start_on.as_deref(), "all_day_start_on")?.or(old_start);
            let end_on = date_field(body.all_day_end_on.as_deref(), "all_day_end_on")?.or(old_end);
            let start_on = required(start_on, "all_day_start_on")?;
            let end_on = required(end_on, "all_day_end_on")?;
            // The end date is exclusive (a one-day interview ends the next day), so an end
            // on the start day is empty, as a timed end at its start is.
            if end_on <= start_on {
                return Err(reply::invalid_field(
                    "all_day_end_on",
                    "must be after all_day_start_on (the end date is exclusive)",
                ));
            }
            Ok(Some(When::AllDay { start_on, end_on }))
        }
    }
}

fn instant_field(raw: Option<&str>, field: &str) -> Result<Option<DateTime<Utc>>, Reply> {
    raw.map(|raw| {
        DateTime::parse_from_rfc3339(raw).map(|at| at.with_timezone(&Utc)).map_err(|_| {
            reply::invalid_field(field, &format!("`{raw}` is not an ISO-8601 date-time"))
        })
    })
    .transpose()
}

fn date_field(raw: Option<&str>, field: &str) -> Result<Option<NaiveDate>, Reply> {
    raw.map(|raw| {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
            reply::invalid_field(field, &format!("`{raw}` is not a date (YYYY-MM-DD)"))
        })
    })
    .transpose()
}

/// Interviewers by user id or email; an email no user has is accepted, as v2 accepted it.
fn resolve_panel(state: &State, panel: &[InterviewerBody]) -> Result<Vec<PanelMember>, Reply> {
    if panel.is_empty() {
        return Err(reply::invalid_field("interviewers", "must name at least one interviewer"));
    }
    panel
        .iter()
        .map(|member| {
            let status =
                member.response_status.clone().unwrap_or_else(|| "needs_action".to_owned());
            if !RESPONSE_STATUSES.contains(&status.as_str()) {
                let message = format!(
                    "response_status `{status}` is not one of: {}",
                    RESPONSE_STATUSES.join(", ")
                );
                return Err(reply::invalid_field("interviewers", &message));
            }
            match (member.user_id, member.email.as_deref()) {
                (Some(user_id), _) => {
                    let user = state.users.get(&user_id).ok_or_else(|| {
                        reply::invalid_field(
                            "interviewers",
                            &format!("user {user_id} does not exist"),
                        )
                    })?;
                    Ok((Some(user_id), user.email.clone(), status))
                }
                (None, Some(email)) if !email.trim().is_empty() => {
                    let user = state.users.values().find(|u| u.email.eq_ignore_ascii_case(email));
                    Ok((user.map(|u| u.id), email.to_owned(), status))
                }
                _ => Err(reply::invalid_field(
                    "interviewers",
                    "each interviewer needs a user_id or an email",
                )),
            }
        })
        .collect()
}

fn replace_panel(state: &mut State, interview_id: Id, panel: Vec<PanelMember>, now: DateTime<Utc>) {
    state.interviewers.retain(|_, row| row.interview_id != interview_id);
    for (user_id, email, response_status) in panel {
        let id = state.allocate(Collection::Interviewers);
        let row = Interviewer {
            id,
            interview_id,
            user_id,
            email,
            response_status,
            scorecard_id: None,
            created_at: now,
            updated_at: now,
        };
        state.interviewers.insert(id, row);
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScorecardBody {
    application_id: Option<Id>,
    interviewer_id: Option<Id>,
    submitter_id: Option<Id>,
    interview_id: Option<Id>,
    candidate_rating: Option<String>,
    notes: Option<String>,
    interviewed_at: Option<String>,
}

fn create_scorecard(ctx: &mut Ctx<'_>, body: &Bytes) -> Answer {
    let body: ScorecardBody = parse_body(body)?;
    let state = &ctx.inner.state;
    let app_id = required(body.application_id, "application_id")?;
    if !state.applications.contains_key(&app_id) {
        return Err(reply::invalid_field(
            "application_id",
            &format!("application {app_id} does not exist"),
        ));
    }
    let interviewer_id = required(body.interviewer_id, "interviewer_id")?;
    let submitter_id = body.submitter_id.unwrap_or(interviewer_id);
    for (field, user) in [("interviewer_id", interviewer_id), ("submitter_id", submitter_id)] {
        if !state.users.contains_key(&user) {
            return Err(reply::invalid_field(field, &format!("user {user} does not exist")));
        }
    }
    let rating = required(body.candidate_rating, "candidate_rating")?;
    if !RATINGS.contains(&rating.as_str()) {
        return Err(reply::invalid_field(
            "candidate_rating",
            &format!("must be one of: {}", RATINGS.join(", ")),
        ));
    }
    let interview = match body.interview_id {
        Some(id) => match state.interviews.get(&id) {
            Some(interview) if interview.application_id == app_id => Some(interview.clone()),
            Some(_) => {
                return Err(reply::invalid_field("interview_id", "belongs to another application"));
            }
            None => {
                return Err(reply::invalid_field(
                    "interview_id",
                    &format!("interview {id} does not exist"),
                ));
            }
        },
        None => None,
    };
    let interviewed_at =
        instant_field(body.interviewed_at.as_deref(), "interviewed_at")?.or(interview
            .as_ref()
            .and_then(|i| match i.when {
                When::Timed { starts_at, .. } => Some(starts_at),
                When::AllDay { .. } => None,
            }));

    let state = &mut ctx.inner.state;
    let id = state.allocate(Collection::Scorecards);
    let kit_id = interview
        .as_ref()
        .and_then(|i| {
            state.interview_kits.values().find(|k| k.job_interview_id == i.job_interview_id)
        })
        .map(|k| k.id);
    let card = Scorecard {
        id,
        application_id: app_id,
        interview_kit_id: kit_id,
        interviewer_id,
        submitter_id,
        candidate_rating: rating,
        notes: body.notes,
        interviewed_at,
        submitted_at: ctx.now,
        created_at: ctx.now,
    };
    let record = scorecard_json(&card);
    state.scorecards.insert(id, card);
    if let Some(interview) = interview {
        link_scorecard(state, interview.id, interviewer_id, id, ctx.now);
    }
    Ok(Reply::json(StatusCode::CREATED, &record))
}

/// Records the scorecard on the interviewer's row and moves the interview to `complete` once
/// every known panel member has submitted, `awaiting_feedback` before that.
/// TODO(fidelity): interview status never moves with time alone (Greenhouse shows
/// `awaiting_feedback` once the interview has ended).
fn link_scorecard(
    state: &mut State,
    interview_id: Id,
    user_id: Id,
    scorecard_id: Id,
    now: DateTime<Utc>,
) {
    for row in state.interviewers.values_mut() {
        if row.interview_id == interview_id && row.user_id == Some(user_id) {
            row.scorecard_id = Some(scorecard_id);
            row.updated_at = now;
        }
    }
    let all_in = state
        .interviewers
        .values()
        .filter(|row| row.interview_id == interview_id && row.user_id.is_some())
        .all(|row| row.scorecard_id.is_some());
    if let Some(interview) = state.interviews.get_mut(&interview_id) {
        interview.status = if all_in { "complete" } else { "awaiting_feedback" }.to_owned();
        interview.updated_at = now;
    }
}
