//! Scheduling requests (§4.3): creation with the link sent at once for `availability` and
//! `self_schedule`, cancellation with its interview cascade, the candidate's availability and
//! decline, expiry, and completion once every interview is settled.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::api::{ApiError, ApiReply, ApiRequest, ApiResult, filtered_page};
use super::control::Slot;
use super::people::check_user;
use super::state::{
    Availability, Decline, RequestCancellation, RequestedInterview, SchedulingRequest, State,
    empty_object, to_json,
};

const MODES: &[&str] = &["availability", "self_schedule", "coordinator"];
pub(crate) const CANCEL_REASONS: &[&str] = &[
    "application_rejected",
    "stage_changed",
    "candidate_withdrew",
    "manual",
    "candidate_merged",
    "other",
];
/// States a request can still leave.
pub(crate) const OPEN: &[&str] =
    &["pending", "availability_requested", "availability_received", "scheduled"];
/// States in which interviews may still be booked against a request.
pub(crate) const BOOKABLE: &[&str] =
    &["pending", "availability_requested", "availability_received", "scheduled"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRequest {
    candidate_id: String,
    #[serde(default)]
    client_reference: Option<String>,
    mode: String,
    #[serde(default)]
    workflow: Option<String>,
    #[serde(default)]
    custom_fields: Map<String, Value>,
    #[serde(default = "empty_object")]
    external_refs: Value,
    interviews_requested: Vec<RequestedInterview>,
    #[serde(default)]
    window: Option<Value>,
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
    /// `false` keeps an `availability`/`self_schedule` request `pending` until `/send`.
    #[serde(default = "yes")]
    send_link: bool,
}

/// `POST /v1/scheduling_requests` (the route layer has checked the `Idempotency-Key`).
pub(crate) fn create_request(state: &mut State, request: &ApiRequest) -> ApiResult {
    let body: NewRequest = request.json()?;
    validate_new(state, &body)?;
    if let Some(reference) = &body.client_reference
        && let Some(existing) =
            state.requests.values().find(|r| r.client_reference.as_ref() == Some(reference))
    {
        let message = format!("client_reference {reference:?} is already used by {}", existing.id);
        return Err(ApiError::new(StatusCode::CONFLICT, "duplicate_client_reference", message)
            .with_details(json!({"existing_id": existing.id})));
    }

    let id = state.next_id("sreq");
    let window = body.window.unwrap_or_else(|| default_window(state, &body.candidate_id));
    let sends_link = body.mode != "coordinator" && body.send_link;
    let scheduling_request = SchedulingRequest {
        id: id.clone(),
        client_reference: body.client_reference,
        candidate_id: body.candidate_id,
        external_refs: body.external_refs,
        mode: body.mode,
        workflow: body.workflow,
        custom_fields: body.custom_fields,
        status: "pending".to_owned(),
        interviews_requested: body.interviews_requested,
        window,
        candidate_link: None,
        expires_at: body.expires_at,
        cancellation: None,
        decline: None,
        availability: None,
        interview_ids: Vec::new(),
        version: 1,
        created_at: state.now,
        updated_at: state.now,
    };
    let object = to_json(&scheduling_request);
    state.requests.insert(id.clone(), scheduling_request);
    state.emit("scheduling_request.created", object.clone(), None, None);
    if !sends_link {
        return Ok(ApiReply::created(object));
    }

    // The link goes out at once: a second change, a second version and event.
    state.send_link(&id).map(ApiReply::created)
}

fn validate_new(state: &State, body: &NewRequest) -> Result<(), ApiError> {
    match state.candidates.get(&body.candidate_id) {
        None => {
            let message = format!("no candidate with id {}", body.candidate_id);
            return Err(ApiError::field("candidate_id", "not_found", message));
        }
        Some(candidate) if candidate.status != "active" => {
            let message = format!("candidate {} is {}", candidate.id, candidate.status);
            return Err(ApiError::field("candidate_id", "not_active", message));
        }
        Some(_) => {}
    }
    if !MODES.contains(&body.mode.as_str()) {
        return Err(ApiError::field(
            "mode",
            "invalid_enum",
            format!("mode must be one of {MODES:?}, got {:?}", body.mode),
        ));
    }
    if !body.external_refs.is_object() {
        return Err(ApiError::field("external_refs", "invalid", "external_refs must be an object"));
    }
    if let Some(workflow) = &body.workflow {
        super::custom_fields::validate_workflow(workflow)?;
    }
    super::custom_fields::validate(&body.custom_fields)?;
    validate_requested(state, &body.interviews_requested)
}

/// Checks `interviews_requested` (on create and PATCH).
pub(crate) fn validate_requested(
    state: &State,
    requested: &[RequestedInterview],
) -> Result<(), ApiError> {
    if requested.is_empty() {
        return Err(ApiError::field(
            "interviews_requested",
            "empty",
            "interviews_requested must not be empty",
        ));
    }
    for (i, wanted) in requested.iter().enumerate() {
        if wanted.name.trim().is_empty() {
            return Err(ApiError::field(
                &format!("interviews_requested[{i}].name"),
                "blank",
                "name must not be blank",
            ));
        }
        // A day is the longest interview the mock accepts; longer ones are all-day bookings.
        if !(1..=1440).contains(&wanted.duration_minutes) {
            let message =
                format!("duration_minutes must be 1–1440, got {}", wanted.duration_minutes);
            return Err(ApiError::field(
                &format!("interviews_requested[{i}].duration_minutes"),
                "out_of_range",
                message,
            ));
        }
        for user_id in &wanted.interviewer_pool {
            check_user(state, &format!("interviews_requested[{i}].interviewer_pool"), user_id)?;
        }
    }
    Ok(())
}

/// Tomorrow to two weeks out in the candidate's zone (the contract's default window).
fn default_window(state: &State, candidate_id: &str) -> Value {
    let timezone = state
        .candidates
        .get(candidate_id)
        .and_then(|c| c.timezone.clone())
        .unwrap_or_else(|| "UTC".to_owned());
    let today: NaiveDate = state.now.date_naive();
    json!({"earliest": today + Duration::days(1), "latest": today + Duration::days(14), "timezone": timezone})
}

pub(crate) fn get_request(state: &mut State, id: &str) -> ApiResult {
    let found =
        state.requests.get(id).ok_or_else(|| ApiError::not_found("scheduling request", id))?;
    Ok(ApiReply::ok(to_json(found)))
}

/// `GET /v1/scheduling_requests?external_ref.greenhouse.application_id=&candidate_id=&status=&updated_after=`.
pub(crate) fn list_requests(state: &mut State, request: &ApiRequest) -> ApiResult {
    let candidate_id = request.query("candidate_id");
    let values = state
        .requests
        .values()
        .filter(|r| candidate_id.is_none_or(|id| r.candidate_id == id))
        .map(to_json);
    filtered_page(request, &state.base_url, values)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    reason: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default = "yes")]
    cancel_interviews: bool,
}

fn yes() -> bool {
    true
}

/// `POST /v1/scheduling_requests/{id}/cancel`.
pub(crate) fn cancel_request_route(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    let body: CancelBody = request.json()?;
    if !CANCEL_REASONS.contains(&body.reason.as_str()) {
        let message = format!("reason must be one of {CANCEL_REASONS:?}, got {:?}", body.reason);
        return Err(ApiError::field("reason", "invalid_enum", message));
    }
    state.cancel_request(id, &body.reason, body.note, body.cancel_interviews)?;
    get_request(state, id)
}

impl State {
    /// `pending → availability_requested` for `availability`/`self_schedule` requests: the
    /// candidate link is set and `scheduling_request.availability_requested` emitted.
    pub fn send_link(&mut self, id: &str) -> Result<Value, ApiError> {
        let found =
            self.requests.get(id).ok_or_else(|| ApiError::not_found("scheduling request", id))?;
        if found.status != "pending" || found.mode == "coordinator" {
            let message = format!(
                "cannot send the link of {} scheduling request {id}: it is {}",
                found.mode, found.status
            );
            return Err(ApiError::invalid_state(message));
        }
        let link = format!("{}/schedule/{id}", self.base_url);
        let object = self.update_request(id, |r| {
            r.status = "availability_requested".to_owned();
            r.candidate_link = Some(link);
        })?;
        let previous = json!({"status": "pending", "candidate_link": null});
        self.emit(
            "scheduling_request.availability_requested",
            object.clone(),
            Some(previous),
            None,
        );
        Ok(object)
    }

    /// Applies `change` to a request, bumps its version and returns its new JSON.
    pub fn update_request(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut SchedulingRequest),
    ) -> Result<Value, ApiError> {
        let now = self.now;
        let found = self
            .requests
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("scheduling request", id))?;
        change(found);
        found.version += 1;
        found.updated_at = now;
        Ok(to_json(found))
    }

    pub fn open_request(&self, id: &str, action: &str) -> Result<&SchedulingRequest, ApiError> {
        let found =
            self.requests.get(id).ok_or_else(|| ApiError::not_found("scheduling request", id))?;
        if !OPEN.contains(&found.status.as_str()) {
            let message =
                format!("cannot {action} scheduling request {id}: it is {}", found.status);
            return Err(ApiError::invalid_state(message));
        }
        Ok(found)
    }

    /// Cancels a request; with `cancel_interviews` its `scheduled` interviews first (each
    /// `interview.cancelled`, by `system`), then `scheduling_request.cancelled`.
    pub fn cancel_request(
        &mut self,
        id: &str,
        reason: &str,
        note: Option<String>,
        cancel_interviews: bool,
    ) -> Result<usize, ApiError> {
        let interview_ids = self.open_request(id, "cancel")?.interview_ids.clone();
        let mut queued = 0;
        if cancel_interviews {
            let interview_reason = match reason {
                "application_rejected" | "stage_changed" => reason,
                _ => "other",
            };
            for interview_id in interview_ids {
                if self.interviews.get(&interview_id).is_some_and(|i| i.status == "scheduled") {
                    queued += self.cancel_interview(
                        &interview_id,
                        interview_reason,
                        "system",
                        None,
                        false,
                    )?;
                }
            }
        }

        let (now, status) =
            (self.now, self.requests.get(id).map(|r| r.status.clone()).unwrap_or_default());
        let reason = reason.to_owned();
        let object = self.update_request(id, |r| {
            r.status = "cancelled".to_owned();
            r.cancellation = Some(RequestCancellation { reason, note, cancelled_at: now });
        })?;
        Ok(queued
            + self.emit(
                "scheduling_request.cancelled",
                object,
                Some(json!({"status": status, "cancellation": null})),
                None,
            ))
    }

    /// The candidate declines: scheduled interviews are cancelled (`candidate`,
    /// `candidate_request`), then `scheduling_request.candidate_declined`.
    pub fn decline_request(&mut self, id: &str, reason: Option<String>) -> Result<usize, ApiError> {
        let interview_ids = self.open_request(id, "decline")?.interview_ids.clone();
        let mut queued = 0;
        for interview_id in interview_ids {
            if self.interviews.get(&interview_id).is_some_and(|i| i.status == "scheduled") {
                queued += self.cancel_interview(
                    &interview_id,
                    "candidate_request",
                    "candidate",
                    None,
                    false,
                )?;
            }
        }
        let (now, status) =
            (self.now, self.requests.get(id).map(|r| r.status.clone()).unwrap_or_default());
        let object = self.update_request(id, |r| {
            r.status = "candidate_declined".to_owned();
            r.decline = Some(Decline { reason, declined_at: now });
        })?;
        let previous = json!({"status": status, "decline": null});
        Ok(queued
            + self.emit("scheduling_request.candidate_declined", object, Some(previous), None))
    }

    /// The candidate submits (or replaces) availability: `availability_requested` or
    /// `availability_received` → `availability_received`.
    pub fn submit_availability(
        &mut self,
        id: &str,
        slots: Vec<Slot>,
        timezone: Option<String>,
    ) -> Result<usize, ApiError> {
        let found =
            self.requests.get(id).ok_or_else(|| ApiError::not_found("scheduling request", id))?;
        if !["availability_requested", "availability_received"].contains(&found.status.as_str()) {
            let message = format!(
                "cannot submit availability for scheduling request {id}: it is {}",
                found.status
            );
            return Err(ApiError::invalid_state(message));
        }
        // TODO(fidelity): §4.3 also wants slots of at least 15 min, non-overlapping and inside
        // `window`; only emptiness and order are checked so far.
        if slots.is_empty() {
            return Err(ApiError::field("slots", "empty", "slots must not be empty"));
        }
        if let Some((i, _)) = slots.iter().enumerate().find(|(_, s)| s.end_at <= s.start_at) {
            return Err(ApiError::field(
                &format!("slots[{i}].end_at"),
                "must_be_after",
                "end_at must be after start_at",
            ));
        }
        let timezone = timezone
            .or_else(|| self.candidates.get(&found.candidate_id).and_then(|c| c.timezone.clone()));
        let previous =
            json!({"status": found.status, "availability": to_json(&found.availability)});

        let availability = Availability {
            id: self.next_id("avl"),
            timezone: timezone.unwrap_or_else(|| "UTC".to_owned()),
            slots,
            submitted_at: self.now,
        };
        let extra = to_json(&availability);
        let object = self.update_request(id, |r| {
            r.status = "availability_received".to_owned();
            r.availability = Some(availability);
        })?;
        Ok(self.emit(
            "scheduling_request.availability_received",
            object,
            Some(previous),
            Some(("availability", extra)),
        ))
    }

    /// A `scheduled` request whose interviews are all settled (complete, no_show or
    /// cancelled, at least one held) becomes `completed`.
    pub fn check_request_completion(&mut self, id: &str) -> usize {
        let Some(found) = self.requests.get(id) else { return 0 };
        if found.status != "scheduled" {
            return 0;
        }
        let statuses: Vec<&str> = found
            .interview_ids
            .iter()
            .filter_map(|i| self.interviews.get(i))
            .map(|i| i.status.as_str())
            .collect();
        let settled = statuses.iter().all(|s| ["complete", "no_show", "cancelled"].contains(s));
        let held = statuses.iter().any(|s| ["complete", "no_show"].contains(s));
        if !(settled && held) {
            return 0;
        }
        match self.update_request(id, |r| r.status = "completed".to_owned()) {
            Ok(object) => self.emit(
                "scheduling_request.completed",
                object,
                Some(json!({"status": "scheduled"})),
                None,
            ),
            Err(_) => 0,
        }
    }

    /// Requests still waiting on the candidate whose `expires_at` has passed → `expired`.
    pub fn expire_requests(&mut self) -> usize {
        let now = self.now;
        let due: Vec<(String, String)> = self
            .requests
            .values()
            .filter(|r| {
                ["pending", "availability_requested", "availability_received"]
                    .contains(&r.status.as_str())
            })
            .filter(|r| r.expires_at.is_some_and(|at| at <= now))
            .map(|r| (r.id.clone(), r.status.clone()))
            .collect();
        let mut queued = 0;
        for (id, status) in due {
            if let Ok(object) = self.update_request(&id, |r| r.status = "expired".to_owned()) {
                queued += self.emit(
                    "scheduling_request.expired",
                    object,
                    Some(json!({"status": status})),
                    None,
                );
            }
        }
        queued
    }
}
