//! The scheduling-request endpoints beyond create/list/get/cancel (§4.4): PATCH with
//! `If-Match`, DELETE as cancel, `/send`, the candidate-side `/availability` and `/decline`
//! helpers, and self-scheduling (one slot picked on a `self_schedule` request books it).

use chrono::{DateTime, Duration, Utc};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{ApiError, ApiReply, ApiRequest, ApiResult};
use super::control::Slot;
use super::interviews::{Booking, check_version, if_match};
use super::scheduling::{CANCEL_REASONS, get_request, validate_requested};
use super::state::{RequestedInterview, State, Timing, previous_attributes};

/// Greenhouse self-scheduling books at most this many days ahead.
const SELF_SCHEDULE_MAX_DAYS: i64 = 30;

impl State {
    /// The candidate self-schedules (§4.6): one slot on a `self_schedule` request that is
    /// waiting on the candidate. The slot must start on a later day than today, at most 30
    /// days out, and must not overlap a live interview of the chosen interviewer (`422
    /// slot_unavailable`). Records the slot as availability, then books the first requested
    /// interview with the first active interviewer of its pool. Returns (`int_…`, deliveries).
    pub fn self_book(&mut self, id: &str, slot: Slot) -> Result<(String, usize), ApiError> {
        let found =
            self.requests.get(id).ok_or_else(|| ApiError::not_found("scheduling request", id))?;
        if found.mode != "self_schedule" {
            let message = format!("scheduling request {id} is {}, not self_schedule", found.mode);
            return Err(ApiError::invalid_state(message));
        }
        if !["availability_requested", "availability_received"].contains(&found.status.as_str()) {
            let message =
                format!("cannot self-schedule scheduling request {id}: it is {}", found.status);
            return Err(ApiError::invalid_state(message));
        }
        let pool = found.interviews_requested.first().map(|w| w.interviewer_pool.clone());
        let interviewer = self
            .default_interviewers(&pool.unwrap_or_default())
            .into_iter()
            .find(|u| self.users.get(u).is_some_and(|user| user.status == "active"))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "interviewer_inactive",
                    "no active interviewer in the pool",
                )
            })?;
        self.check_self_schedule_slot(&slot, &interviewer)?;

        let mut queued = self.submit_availability(id, vec![slot.clone()], None)?;
        let booking = Booking {
            scheduling_request_id: id.to_owned(),
            timing: Some(Timing::Timed { start_at: slot.start_at, end_at: slot.end_at }),
            interviewer_ids: vec![interviewer],
            ..Booking::default()
        };
        let (interview_id, more) = self.book_interview(booking)?;
        queued += more;
        Ok((interview_id, queued))
    }

    fn check_self_schedule_slot(&self, slot: &Slot, interviewer: &str) -> Result<(), ApiError> {
        let unavailable = |message: String| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "slot_unavailable", message.clone())
                .with_details(json!({"fields": [{"field": "slots[0]", "code": "slot_unavailable", "message": message}]}))
        };
        if slot.end_at <= slot.start_at {
            return Err(ApiError::field(
                "slots[0].end_at",
                "must_be_after",
                "end_at must be after start_at",
            ));
        }
        if slot.start_at.date_naive() <= self.now.date_naive() {
            return Err(unavailable(
                "self-scheduled slots start on a later day than today".to_owned(),
            ));
        }
        if slot.start_at > self.now + Duration::days(SELF_SCHEDULE_MAX_DAYS) {
            return Err(unavailable(format!(
                "self-scheduled slots start within {SELF_SCHEDULE_MAX_DAYS} days"
            )));
        }
        // TODO(fidelity): check the slot against the interviewer's working hours in their
        // IANA zone (needs a tz database such as chrono-tz).
        let clash = self.interviews.values().find(|i| {
            ["scheduled", "awaiting_feedback"].contains(&i.status.as_str())
                && i.interviewers.iter().any(|p| p.user_id == interviewer)
                && i.timing().starts_at() < slot.end_at
                && slot.start_at < i.timing().ends_at()
        });
        if let Some(clash) = clash {
            return Err(unavailable(format!("{interviewer} is busy with {} then", clash.id)));
        }
        Ok(())
    }

    /// The slot a candidate picks when only a start is given: the first requested interview's
    /// duration.
    pub fn default_slot(&self, id: &str, start_at: DateTime<Utc>) -> Result<Slot, ApiError> {
        let found =
            self.requests.get(id).ok_or_else(|| ApiError::not_found("scheduling request", id))?;
        let minutes = found.interviews_requested.first().map_or(60, |w| w.duration_minutes);
        Ok(Slot { start_at, end_at: start_at + Duration::minutes(i64::from(minutes)) })
    }

    /// PATCH of a request that is still open: `window`, `interviews_requested`, `expires_at`.
    fn patch_request(
        &mut self,
        id: &str,
        expected: Option<u64>,
        body: PatchBody,
    ) -> Result<Value, ApiError> {
        let found = self.open_request(id, "change")?;
        check_version("scheduling request", id, found.version, expected)?;
        if let Some(requested) = &body.interviews_requested {
            validate_requested(self, requested)?;
        }
        if let Some(window) = &body.window
            && !window.is_object()
        {
            return Err(ApiError::field("window", "invalid_type", "window must be an object"));
        }
        let before = super::state::to_json(found);
        let mut candidate = found.clone();
        if let Some(window) = body.window {
            candidate.window = window;
        }
        if let Some(requested) = body.interviews_requested {
            candidate.interviews_requested = requested;
        }
        if let Some(expires_at) = body.expires_at {
            candidate.expires_at = expires_at;
        }
        let previous = previous_attributes(&before, &super::state::to_json(&candidate));
        if previous.as_object().is_none_or(|m| m.is_empty()) {
            return Ok(before);
        }
        let object = self.update_request(id, |r| {
            (r.window, r.interviews_requested, r.expires_at) =
                (candidate.window, candidate.interviews_requested, candidate.expires_at);
        })?;
        self.emit("scheduling_request.updated", object.clone(), Some(previous), None);
        Ok(object)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default)]
    window: Option<Value>,
    #[serde(default)]
    interviews_requested: Option<Vec<RequestedInterview>>,
    /// Absent = keep, `null` = never expires.
    #[serde(default, deserialize_with = "some")]
    expires_at: Option<Option<DateTime<Utc>>>,
}

fn some<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<DateTime<Utc>>>, D::Error> {
    Option::<DateTime<Utc>>::deserialize(d).map(Some)
}

/// `PATCH /v1/scheduling_requests/{id}` with optional `If-Match`; emits
/// `scheduling_request.updated` when something changed.
pub(crate) fn patch(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    let expected = if_match(request)?;
    let body: PatchBody = request.json()?;
    state.patch_request(id, expected, body).map(ApiReply::ok)
}

/// `DELETE /v1/scheduling_requests/{id}`: cancel (`reason` defaults to `manual`, interviews
/// cancelled with it); answers the cancelled request.
pub(crate) fn delete(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        note: Option<String>,
    }
    let body: Body = request.json()?;
    let reason = body.reason.unwrap_or_else(|| "manual".to_owned());
    super::interview_routes::check_enum("reason", &reason, CANCEL_REASONS)?;
    state.cancel_request(id, &reason, body.note, true)?;
    get_request(state, id)
}

/// `POST /v1/scheduling_requests/{id}/send`: `pending → availability_requested`.
pub(crate) fn send(state: &mut State, id: &str) -> ApiResult {
    state.send_link(id).map(ApiReply::ok)
}

/// `POST /v1/scheduling_requests/{id}/availability {slots, timezone?}` (candidate side). One
/// slot on a `self_schedule` request books it (§4.6). Answers the request.
pub(crate) fn submit_availability(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        slots: Vec<Slot>,
        #[serde(default)]
        timezone: Option<String>,
    }
    let body: Body = request.json()?;
    super::candidates::check_zone("timezone", body.timezone.as_deref())?;
    let self_schedule = state.requests.get(id).is_some_and(|r| r.mode == "self_schedule");
    match body.slots.as_slice() {
        [slot] if self_schedule => {
            state.self_book(id, slot.clone())?;
        }
        _ => {
            state.submit_availability(id, body.slots, body.timezone)?;
        }
    }
    get_request(state, id)
}

/// `GET /v1/scheduling_requests/{id}/availability`: the latest submission.
pub(crate) fn get_availability(state: &mut State, id: &str) -> ApiResult {
    let found =
        state.requests.get(id).ok_or_else(|| ApiError::not_found("scheduling request", id))?;
    let availability = found.availability.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no availability was submitted for {id}"),
        )
    })?;
    let mut body = super::state::to_json(availability);
    body["scheduling_request_id"] = json!(id);
    body["candidate_id"] = json!(found.candidate_id);
    Ok(ApiReply::ok(body))
}

/// `POST /v1/scheduling_requests/{id}/decline {reason?}` (candidate side).
pub(crate) fn decline(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(default)]
        reason: Option<String>,
    }
    let body: Body = request.json()?;
    state.decline_request(id, body.reason)?;
    get_request(state, id)
}
