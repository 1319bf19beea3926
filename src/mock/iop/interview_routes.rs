//! `/v1/interviews` routes: parse and validate bodies, then call the state operations in
//! `interviews.rs`.

use chrono::{DateTime, NaiveDate, Utc};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{ApiError, ApiReply, ApiRequest, ApiResult, filtered_page};
use super::interviews::{
    Booking, CANCEL_REASONS, CANCELLED_BY, check_version, if_match, parse_timing,
};
use super::state::{State, merge_json, previous_attributes, to_json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewInterview {
    scheduling_request_id: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    interview_name: Option<String>,
    #[serde(default)]
    start_at: Option<DateTime<Utc>>,
    #[serde(default)]
    end_at: Option<DateTime<Utc>>,
    #[serde(default)]
    all_day: Option<bool>,
    #[serde(default)]
    start_date: Option<NaiveDate>,
    #[serde(default)]
    end_date: Option<NaiveDate>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    interviewer_ids: Vec<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    video_conferencing_url: Option<String>,
    #[serde(default)]
    client_reference: Option<String>,
}

/// `POST /v1/interviews`: a coordinator books one requested interview.
pub(crate) fn create_interview(state: &mut State, request: &ApiRequest) -> ApiResult {
    let body: NewInterview = request.json()?;
    super::candidates::check_zone("timezone", body.timezone.as_deref())?;
    if !state.requests.contains_key(&body.scheduling_request_id) {
        let message = format!("no scheduling request with id {}", body.scheduling_request_id);
        return Err(ApiError::field("scheduling_request_id", "not_found", message));
    }
    let timing =
        parse_timing(body.start_at, body.end_at, body.all_day, body.start_date, body.end_date)?;
    if let Some(reference) = &body.client_reference
        && let Some(existing) =
            state.interviews.values().find(|i| i.client_reference.as_ref() == Some(reference))
    {
        let message = format!("client_reference {reference:?} is already used by {}", existing.id);
        return Err(ApiError::new(StatusCode::CONFLICT, "duplicate_client_reference", message)
            .with_details(json!({"existing_id": existing.id})));
    }

    let booking = Booking {
        scheduling_request_id: body.scheduling_request_id,
        interview_name: body.interview_name,
        title: body.title,
        timing: Some(timing),
        timezone: body.timezone,
        interviewer_ids: body.interviewer_ids,
        location: body.location,
        video_conferencing_url: body.video_conferencing_url,
        client_reference: body.client_reference,
        ..Booking::default()
    };
    let (id, _) = state.book_interview(booking)?;
    interview_reply(state, &id).map(|reply| ApiReply { status: StatusCode::CREATED, ..reply })
}

fn interview_reply(state: &State, id: &str) -> ApiResult {
    let interview = state.interviews.get(id).ok_or_else(|| ApiError::not_found("interview", id))?;
    Ok(ApiReply::ok(to_json(interview)))
}

pub(crate) fn get_interview(state: &mut State, id: &str) -> ApiResult {
    interview_reply(state, id)
}

/// `GET /v1/interviews?scheduling_request_id=&candidate_id=&status=&starts_after=&starts_before=&updated_after=&external_ref.greenhouse.*=`.
/// `starts_after`/`starts_before` compare the start instant (all-day: 00:00 UTC), exclusive.
pub(crate) fn list_interviews(state: &mut State, request: &ApiRequest) -> ApiResult {
    let request_id = request.query("scheduling_request_id");
    let candidate_id = request.query("candidate_id");
    let starts_after = request.query_time("starts_after")?;
    let starts_before = request.query_time("starts_before")?;
    let values = state
        .interviews
        .values()
        .filter(|i| request_id.is_none_or(|id| i.scheduling_request_id == id))
        .filter(|i| candidate_id.is_none_or(|id| i.candidate_id == id))
        .filter(|i| starts_after.is_none_or(|at| i.timing().starts_at() > at))
        .filter(|i| starts_before.is_none_or(|at| i.timing().starts_at() < at))
        .map(to_json);
    filtered_page(request, &state.base_url, values)
}

/// `DELETE /v1/interviews/{id}`: cancel with an optional body (`reason` defaults to `other`,
/// `cancelled_by` to `coordinator`); answers the cancelled interview.
pub(crate) fn delete(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        cancelled_by: Option<String>,
        #[serde(default)]
        note: Option<String>,
    }
    let body: Body = request.json()?;
    let reason = body.reason.unwrap_or_else(|| "other".to_owned());
    let by = body.cancelled_by.unwrap_or_else(coordinator);
    check_enum("reason", &reason, CANCEL_REASONS)?;
    check_enum("cancelled_by", &by, CANCELLED_BY)?;
    state.cancel_interview(id, &reason, &by, body.note, true)?;
    interview_reply(state, id)
}

/// `POST /v1/interviews/{id}/interviewers/{user_id}/response {response_status}` (interviewer
/// side): RSVP while the interview is `scheduled` or `awaiting_feedback`.
pub(crate) fn respond(
    state: &mut State,
    request: &ApiRequest,
    id: &str,
    user_id: &str,
) -> ApiResult {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        response_status: String,
    }
    let body: Body = request.json()?;
    state.interviewer_responds(id, user_id, &body.response_status)?;
    interview_reply(state, id)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RescheduleBody {
    #[serde(default)]
    start_at: Option<DateTime<Utc>>,
    #[serde(default)]
    end_at: Option<DateTime<Utc>>,
    #[serde(default)]
    all_day: Option<bool>,
    #[serde(default)]
    start_date: Option<NaiveDate>,
    #[serde(default)]
    end_date: Option<NaiveDate>,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /v1/interviews/{id}/reschedule`: answers the interview that now holds the booking
/// (a new id under the `cancel_and_create` fault).
pub(crate) fn reschedule(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    let body: RescheduleBody = request.json()?;
    let timing =
        parse_timing(body.start_at, body.end_at, body.all_day, body.start_date, body.end_date)?;
    let (holder, _) = state.reschedule_interview(id, timing, "coordinator", body.reason)?;
    interview_reply(state, &holder)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    reason: String,
    #[serde(default = "coordinator")]
    cancelled_by: String,
    #[serde(default)]
    note: Option<String>,
}

fn coordinator() -> String {
    "coordinator".to_owned()
}

/// Checks a value against an enum list, naming the field.
pub(crate) fn check_enum(field: &str, value: &str, allowed: &[&str]) -> Result<(), ApiError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(ApiError::field(
        field,
        "invalid_enum",
        format!("{field} must be one of {allowed:?}, got {value:?}"),
    ))
}

pub(crate) fn cancel(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    let body: CancelBody = request.json()?;
    check_enum("reason", &body.reason, CANCEL_REASONS)?;
    check_enum("cancelled_by", &body.cancelled_by, CANCELLED_BY)?;
    state.cancel_interview(id, &body.reason, &body.cancelled_by, body.note, true)?;
    interview_reply(state, id)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoShowBody {
    #[serde(default = "candidate")]
    party: String,
    #[serde(default)]
    marked_by: Option<String>,
}

fn candidate() -> String {
    "candidate".to_owned()
}

pub(crate) fn no_show(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    let body: NoShowBody = request.json()?;
    check_enum("party", &body.party, &["candidate", "interviewer"])?;
    if let Some(user) = &body.marked_by
        && !state.users.contains_key(user)
    {
        return Err(ApiError::field("marked_by", "not_found", format!("no user with id {user}")));
    }
    state.mark_no_show(id, &body.party, body.marked_by)?;
    interview_reply(state, id)
}

pub(crate) fn revert_no_show(state: &mut State, id: &str) -> ApiResult {
    state.revert_no_show(id)?;
    interview_reply(state, id)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default)]
    external_refs: Option<Value>,
    #[serde(default)]
    location: Option<Value>,
    #[serde(default)]
    video_conferencing_url: Option<Value>,
}

/// A nullable string field of a PATCH: absent = keep, `null` = clear, string = set.
fn nullable(
    field: &str,
    value: Option<&Value>,
    current: &Option<String>,
) -> Result<Option<String>, ApiError> {
    match value {
        None => Ok(current.clone()),
        Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => {
            Err(ApiError::field(field, "invalid_type", format!("{field} must be a string or null")))
        }
    }
}

/// `PATCH /v1/interviews/{id}` with optional `If-Match`. Only `external_refs` (merged),
/// `location` and `video_conferencing_url`. A change to `external_refs` alone bumps the
/// version but emits nothing (it is the engine's own bookkeeping); a location/URL change
/// emits `interview.updated`.
pub(crate) fn patch(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    let expected = if_match(request)?;
    let body: PatchBody = request.json()?;
    let interview = state.interviews.get(id).ok_or_else(|| ApiError::not_found("interview", id))?;
    check_version("interview", id, interview.version, expected)?;
    if let Some(refs) = &body.external_refs
        && !refs.is_object()
    {
        return Err(ApiError::field(
            "external_refs",
            "invalid_type",
            "external_refs must be an object",
        ));
    }
    let location = nullable("location", body.location.as_ref(), &interview.location)?;
    let video = nullable(
        "video_conferencing_url",
        body.video_conferencing_url.as_ref(),
        &interview.video_conferencing_url,
    )?;
    let mut refs = interview.external_refs.clone();
    if let Some(patch) = &body.external_refs {
        merge_json(&mut refs, patch);
    }

    let visible = location != interview.location || video != interview.video_conferencing_url;
    if !visible && refs == interview.external_refs {
        return interview_reply(state, id);
    }
    let (before, after) = state.update_interview(id, |i| {
        i.external_refs = refs;
        i.location = location;
        i.video_conferencing_url = video;
    })?;
    if visible {
        let mut previous = previous_attributes(&before, &after);
        if let Some(map) = previous.as_object_mut() {
            map.remove("external_refs");
        }
        state.emit("interview.updated", after.clone(), Some(previous), None);
    }
    Ok(ApiReply::ok(after))
}
