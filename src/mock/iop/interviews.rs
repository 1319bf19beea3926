//! Interviews (§4.3): booking against a scheduling request, reschedule (native, or
//! cancel-and-create under the fault flag), cancel, no-show and its revert, interviewer
//! responses, the `If-Match` PATCH, and the time-driven move to `awaiting_feedback`.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::api::{ApiError, ApiRequest};
use super::control::RescheduleStyle;
use super::people::check_user;
use super::scheduling::BOOKABLE;
use super::state::{
    CalendarEvent, Interview, InterviewCancellation, NoShow, Participant, RequestedInterview,
    State, Timing, to_json,
};

pub(crate) const CANCEL_REASONS: &[&str] = &[
    "candidate_request",
    "interviewer_unavailable",
    "application_rejected",
    "stage_changed",
    "rescheduled",
    "duplicate",
    "other",
];
pub(crate) const CANCELLED_BY: &[&str] = &["candidate", "interviewer", "coordinator", "system"];
const RESPONSE_STATUSES: &[&str] = &["needs_action", "accepted", "declined", "tentative"];
/// States from which an interview can still be cancelled, moved or marked a no-show.
const LIVE: &[&str] = &["scheduled", "awaiting_feedback"];

/// What a booking asks for (from `POST /v1/interviews` or the `schedule_interview` action).
#[derive(Debug, Clone, Default)]
pub(crate) struct Booking {
    pub scheduling_request_id: String,
    /// Which `interviews_requested[]` entry, by name.
    pub interview_name: Option<String>,
    pub title: Option<String>,
    pub timing: Option<Timing>,
    pub timezone: Option<String>,
    pub interviewer_ids: Vec<String>,
    pub location: Option<String>,
    pub video_conferencing_url: Option<String>,
    pub client_reference: Option<String>,
    pub rescheduled_from_id: Option<String>,
    /// Replaces the computed `external_refs` (a cancel-and-create reschedule keeps the old ones).
    pub external_refs: Option<Value>,
}

/// Reads a timed (`start_at`/`end_at`) or all-day (`start_date`/`end_date`, end exclusive)
/// time, refusing mixtures and empty ranges.
pub(crate) fn parse_timing(
    start_at: Option<DateTime<Utc>>,
    end_at: Option<DateTime<Utc>>,
    all_day: Option<bool>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
) -> Result<Timing, ApiError> {
    let wants_dates = all_day == Some(true) || start_date.is_some() || end_date.is_some();
    if wants_dates {
        if start_at.is_some() || end_at.is_some() {
            return Err(ApiError::field(
                "start_at",
                "not_allowed",
                "an all-day interview takes start_date/end_date, not instants",
            ));
        }
        let start_date = start_date
            .ok_or_else(|| ApiError::field("start_date", "required", "start_date is required"))?;
        let end_date = end_date.ok_or_else(|| {
            ApiError::field("end_date", "required", "end_date is required (exclusive)")
        })?;
        if end_date <= start_date {
            return Err(ApiError::field(
                "end_date",
                "must_be_after",
                "end_date must be after start_date (it is exclusive)",
            ));
        }
        return Ok(Timing::AllDay { start_date, end_date });
    }
    let start_at =
        start_at.ok_or_else(|| ApiError::field("start_at", "required", "start_at is required"))?;
    let end_at =
        end_at.ok_or_else(|| ApiError::field("end_at", "required", "end_at is required"))?;
    if end_at <= start_at {
        return Err(ApiError::field("end_at", "must_be_after", "end_at must be after start_at"));
    }
    Ok(Timing::Timed { start_at, end_at })
}

/// The `If-Match` header as a version number (quotes and `W/` tolerated).
pub(crate) fn if_match(request: &ApiRequest) -> Result<Option<u64>, ApiError> {
    let Some(raw) = request.header("if-match") else { return Ok(None) };
    let trimmed = raw.trim().trim_start_matches("W/").trim_matches('"');
    trimmed.parse::<u64>().map(Some).map_err(|_| {
        ApiError::field(
            "If-Match",
            "invalid_version",
            format!("If-Match must be a version number, got {raw:?}"),
        )
    })
}

pub(crate) fn check_version(
    kind: &str,
    id: &str,
    current: u64,
    expected: Option<u64>,
) -> Result<(), ApiError> {
    match expected {
        Some(expected) if expected != current => Err(ApiError::new(
            http::StatusCode::CONFLICT,
            "version_conflict",
            format!("{kind} {id} is at version {current}, If-Match said {expected}"),
        )
        .with_details(json!({"current_version": current}))),
        _ => Ok(()),
    }
}

impl State {
    /// Applies `change` to an interview, bumps its version and returns (before, after) JSON.
    pub fn update_interview(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut Interview),
    ) -> Result<(Value, Value), ApiError> {
        let now = self.now;
        let interview =
            self.interviews.get_mut(id).ok_or_else(|| ApiError::not_found("interview", id))?;
        let before = to_json(interview);
        change(interview);
        interview.version += 1;
        interview.updated_at = now;
        Ok((before, to_json(interview)))
    }

    fn live_interview(&self, id: &str, action: &str) -> Result<&Interview, ApiError> {
        let interview =
            self.interviews.get(id).ok_or_else(|| ApiError::not_found("interview", id))?;
        if !LIVE.contains(&interview.status.as_str()) {
            return Err(ApiError::invalid_state(format!(
                "cannot {action} interview {id}: it is {}",
                interview.status
            )));
        }
        Ok(interview)
    }

    /// The `interviews_requested[]` entry a booking is for (by `interview_name`, else by
    /// `title`, else the first), with the request's candidate and Greenhouse application id.
    fn requested_entry(
        &self,
        booking: &Booking,
    ) -> Result<(RequestedInterview, String, Value), ApiError> {
        let request_id = &booking.scheduling_request_id;
        let request = self
            .requests
            .get(request_id)
            .ok_or_else(|| ApiError::not_found("scheduling request", request_id))?;
        if !BOOKABLE.contains(&request.status.as_str()) {
            let message = format!(
                "cannot schedule an interview for scheduling request {request_id}: it is {}",
                request.status
            );
            return Err(ApiError::invalid_state(message));
        }
        let requested = &request.interviews_requested;
        let wanted = match (&booking.interview_name, &booking.title) {
            (Some(name), _) => requested.iter().find(|w| &w.name == name).ok_or_else(|| {
                let message =
                    format!("scheduling request {request_id} requests no interview named {name:?}");
                ApiError::field("interview_name", "not_found", message)
            })?,
            (None, title) => requested
                .iter()
                .find(|w| title.as_ref() == Some(&w.name))
                .or(requested.first())
                .ok_or_else(|| {
                    ApiError::invalid_state(format!(
                        "scheduling request {request_id} requests no interviews"
                    ))
                })?,
        };
        let application_id = request
            .external_refs
            .pointer("/greenhouse/application_id")
            .cloned()
            .unwrap_or(Value::Null);
        Ok((wanted.clone(), request.candidate_id.clone(), application_id))
    }

    /// Interviewer entries for `ids`, each an active user.
    fn participants(&self, ids: &[String]) -> Result<Vec<Participant>, ApiError> {
        if ids.is_empty() {
            return Err(ApiError::field(
                "interviewer_ids",
                "empty",
                "no interviewers given and none seeded",
            ));
        }
        let mut interviewers = Vec::new();
        for user_id in ids {
            check_user(self, "interviewer_ids", user_id)?;
            if let Some(user) = self.users.get(user_id) {
                interviewers.push(Participant {
                    user_id: user.id.clone(),
                    email: user.email.clone(),
                    name: user.name.clone(),
                    response_status: "needs_action".to_owned(),
                    feedback_id: None,
                    role: "interviewer".to_owned(),
                });
            }
        }
        Ok(interviewers)
    }

    /// Books an interview; the request becomes `scheduled`. Returns (`int_…`, deliveries).
    pub fn book_interview(&mut self, booking: Booking) -> Result<(String, usize), ApiError> {
        let request_id = booking.scheduling_request_id.clone();
        let (wanted, candidate_id, application_id) = self.requested_entry(&booking)?;
        let interviewer_ids = match booking.interviewer_ids.is_empty() {
            true => self.default_interviewers(&wanted.interviewer_pool),
            false => booking.interviewer_ids.clone(),
        };
        let interviewers = self.participants(&interviewer_ids)?;
        let timing = booking.timing.ok_or_else(|| {
            ApiError::field(
                "start_at",
                "required",
                "start_at/end_at or start_date/end_date is required",
            )
        })?;
        let timezone = booking
            .timezone
            .or_else(|| self.candidates.get(&candidate_id).and_then(|c| c.timezone.clone()))
            .unwrap_or_else(|| "UTC".to_owned());
        let mut external_refs = json!({"greenhouse": {"application_id": application_id}});
        if let Some(kit) = wanted.external_refs.pointer("/greenhouse/interview_id") {
            external_refs["greenhouse"]["interview_id"] = kit.clone();
        }

        let id = self.next_id("int");
        let mut interview = Interview {
            id: id.clone(),
            client_reference: booking.client_reference,
            scheduling_request_id: request_id.clone(),
            candidate_id,
            external_refs: booking.external_refs.unwrap_or(external_refs),
            title: booking.title.unwrap_or(wanted.name),
            status: "scheduled".to_owned(),
            all_day: false,
            start_at: None,
            end_at: None,
            start_date: None,
            end_date: None,
            timezone,
            location: booking.location,
            video_conferencing_url: booking.video_conferencing_url,
            organizer_id: None,
            interviewers,
            calendar_event: CalendarEvent {
                provider: "google".to_owned(),
                event_id: format!("gcal_{id}"),
                ical_uid: format!("{id}@iop.test"),
                sequence: 0,
            },
            reschedule_count: 0,
            rescheduled_from_id: booking.rescheduled_from_id,
            cancellation: None,
            no_show: None,
            version: 1,
            created_at: self.now,
            updated_at: self.now,
        };
        interview.set_timing(timing);
        let object = to_json(&interview);
        self.interviews.insert(id.clone(), interview);

        // The request records the booking; its own change carries no event of its own
        // (`interview.scheduled` names it in `related`).
        let booked = id.clone();
        self.update_request(&request_id, |r| {
            r.status = "scheduled".to_owned();
            r.interview_ids.push(booked);
        })?;
        let queued = self.emit("interview.scheduled", object, None, None);
        Ok((id, queued))
    }

    /// Moves an interview. Native style keeps the id (`interview.rescheduled`); the
    /// `cancel_and_create` fault cancels it (reason `rescheduled`) and books a new one with
    /// `rescheduled_from_id`. Returns the id that now holds the booking.
    pub fn reschedule_interview(
        &mut self,
        id: &str,
        timing: Timing,
        requested_by: &str,
        reason: Option<String>,
    ) -> Result<(String, usize), ApiError> {
        let old = self.live_interview(id, "reschedule")?.clone();
        if self.faults.webhooks.reschedule_style == Some(RescheduleStyle::CancelAndCreate) {
            return self.reschedule_by_cancel_and_create(old, timing, requested_by);
        }

        let now = self.now;
        let (before, after) = self.update_interview(id, |i| {
            i.set_timing(timing);
            if timing.ends_at() > now {
                i.status = "scheduled".to_owned();
            }
            i.reschedule_count += 1;
            i.calendar_event.sequence += 1;
        })?;
        let previous = super::state::previous_attributes(&before, &after);
        let who = json!({"requested_by": requested_by, "reason": reason});
        let queued =
            self.emit("interview.rescheduled", after, Some(previous), Some(("reschedule", who)));
        Ok((id.to_owned(), queued))
    }

    fn reschedule_by_cancel_and_create(
        &mut self,
        old: Interview,
        timing: Timing,
        requested_by: &str,
    ) -> Result<(String, usize), ApiError> {
        let by = if requested_by == "candidate" { "candidate" } else { "coordinator" };
        let mut queued = self.cancel_interview(&old.id, "rescheduled", by, None, false)?;
        let mut external_refs = old.external_refs.clone();
        if let Some(greenhouse) = external_refs.get_mut("greenhouse").and_then(Value::as_object_mut)
        {
            greenhouse.remove("scheduled_interview_id");
        }
        let booking = Booking {
            scheduling_request_id: old.scheduling_request_id.clone(),
            title: Some(old.title.clone()),
            timing: Some(timing),
            timezone: Some(old.timezone.clone()),
            interviewer_ids: old.interviewers.iter().map(|p| p.user_id.clone()).collect(),
            location: old.location.clone(),
            video_conferencing_url: old.video_conferencing_url.clone(),
            rescheduled_from_id: Some(old.id.clone()),
            external_refs: Some(external_refs),
            ..Booking::default()
        };
        let (new_id, more) = self.book_interview(booking)?;
        queued += more;
        Ok((new_id, queued))
    }

    /// `scheduled|awaiting_feedback → cancelled`; `settle` then checks request completion.
    pub fn cancel_interview(
        &mut self,
        id: &str,
        reason: &str,
        by: &str,
        note: Option<String>,
        settle: bool,
    ) -> Result<usize, ApiError> {
        self.live_interview(id, "cancel")?;
        let now = self.now;
        let cancellation = InterviewCancellation {
            reason: reason.to_owned(),
            cancelled_by: by.to_owned(),
            note,
            cancelled_at: now,
        };
        let (before, after) = self.update_interview(id, |i| {
            i.status = "cancelled".to_owned();
            i.cancellation = Some(cancellation);
        })?;
        let previous = super::state::previous_attributes(&before, &after);
        let request_id = after["scheduling_request_id"].as_str().unwrap_or_default().to_owned();
        let mut queued = self.emit("interview.cancelled", after, Some(previous), None);
        if settle {
            queued += self.check_request_completion(&request_id);
        }
        Ok(queued)
    }

    pub fn mark_no_show(
        &mut self,
        id: &str,
        party: &str,
        marked_by: Option<String>,
    ) -> Result<usize, ApiError> {
        self.live_interview(id, "mark a no-show on")?;
        let no_show = NoShow { party: party.to_owned(), marked_by, marked_at: self.now };
        let (before, after) = self.update_interview(id, |i| {
            i.status = "no_show".to_owned();
            i.no_show = Some(no_show);
        })?;
        let previous = super::state::previous_attributes(&before, &after);
        let request_id = after["scheduling_request_id"].as_str().unwrap_or_default().to_owned();
        let queued = self.emit("interview.no_show", after, Some(previous), None);
        Ok(queued + self.check_request_completion(&request_id))
    }

    /// `no_show →` `awaiting_feedback` (or `scheduled` if it has not ended yet). A request
    /// that this no-show had completed is reopened (`completed → scheduled`,
    /// `scheduling_request.reopened`) unless the interview completes again at once.
    pub fn revert_no_show(&mut self, id: &str) -> Result<usize, ApiError> {
        let interview =
            self.interviews.get(id).ok_or_else(|| ApiError::not_found("interview", id))?;
        if interview.status != "no_show" {
            return Err(ApiError::invalid_state(format!(
                "interview {id} is {}, not no_show",
                interview.status
            )));
        }
        let status = if interview.timing().ends_at() <= self.now {
            "awaiting_feedback"
        } else {
            "scheduled"
        };
        let (before, after) = self.update_interview(id, |i| {
            i.status = status.to_owned();
            i.no_show = None;
        })?;
        let previous = super::state::previous_attributes(&before, &after);
        let request_id = after["scheduling_request_id"].as_str().unwrap_or_default().to_owned();
        let mut queued = self.emit("interview.no_show_reverted", after, Some(previous), None);
        queued += self.check_interview_completion(id);
        Ok(queued + self.reopen_request(&request_id))
    }

    /// A `completed` request with an interview no longer settled goes back to `scheduled`.
    fn reopen_request(&mut self, id: &str) -> usize {
        let Some(found) = self.requests.get(id) else { return 0 };
        let unsettled = found
            .interview_ids
            .iter()
            .filter_map(|i| self.interviews.get(i))
            .any(|i| ["scheduled", "awaiting_feedback"].contains(&i.status.as_str()));
        if found.status != "completed" || !unsettled {
            return 0;
        }
        match self.update_request(id, |r| r.status = "scheduled".to_owned()) {
            Ok(object) => self.emit(
                "scheduling_request.reopened",
                object,
                Some(json!({"status": "completed"})),
                None,
            ),
            Err(_) => 0,
        }
    }

    pub fn interviewer_responds(
        &mut self,
        id: &str,
        user_id: &str,
        response: &str,
    ) -> Result<usize, ApiError> {
        if !RESPONSE_STATUSES.contains(&response) {
            let message =
                format!("response_status must be one of {RESPONSE_STATUSES:?}, got {response:?}");
            return Err(ApiError::field("response_status", "invalid_enum", message));
        }
        let interview = self.live_interview(id, "respond to")?;
        let current =
            interview.interviewers.iter().find(|p| p.user_id == user_id).ok_or_else(|| {
                ApiError::field(
                    "user_id",
                    "not_an_interviewer",
                    format!("{user_id} is not an interviewer of {id}"),
                )
            })?;
        if current.response_status == response {
            return Ok(0);
        }
        let (before, after) = self.update_interview(id, |i| {
            if let Some(p) = i.interviewers.iter_mut().find(|p| p.user_id == user_id) {
                p.response_status = response.to_owned();
            }
        })?;
        let changed = after["interviewers"]
            .as_array()
            .and_then(|all| all.iter().find(|p| p["user_id"] == user_id))
            .cloned();
        let previous = json!({"interviewers": before["interviewers"]});
        Ok(self.emit(
            "interview.interviewer_responded",
            after,
            Some(previous),
            Some(("interviewer", changed.unwrap_or_default())),
        ))
    }

    /// `awaiting_feedback →` `complete` once every non-shadow interviewer has submitted.
    pub fn check_interview_completion(&mut self, id: &str) -> usize {
        let Some(interview) = self.interviews.get(id) else { return 0 };
        let all_in = interview
            .interviewers
            .iter()
            .filter(|p| p.role != "shadow")
            .all(|p| p.feedback_id.is_some());
        if interview.status != "awaiting_feedback" || !all_in {
            return 0;
        }
        let Ok((_, after)) = self.update_interview(id, |i| i.status = "complete".to_owned()) else {
            return 0;
        };
        let request_id = after["scheduling_request_id"].as_str().unwrap_or_default().to_owned();
        let queued = self.emit(
            "interview.completed",
            after,
            Some(json!({"status": "awaiting_feedback"})),
            None,
        );
        queued + self.check_request_completion(&request_id)
    }

    /// Time-driven changes: ended interviews → `awaiting_feedback`, overdue requests → `expired`.
    pub fn apply_time_driven(&mut self) -> usize {
        let now = self.now;
        let ended: Vec<String> = self
            .interviews
            .values()
            .filter(|i| i.status == "scheduled" && i.timing().ends_at() <= now)
            .map(|i| i.id.clone())
            .collect();
        let mut queued = 0;
        for id in ended {
            if let Ok((_, after)) =
                self.update_interview(&id, |i| i.status = "awaiting_feedback".to_owned())
            {
                queued += self.emit(
                    "interview.awaiting_feedback",
                    after,
                    Some(json!({"status": "scheduled"})),
                    None,
                );
                queued += self.check_interview_completion(&id);
            }
        }
        queued + self.expire_requests()
    }

    /// When the next time-driven change is due, if any.
    pub fn next_time_driven(&self) -> Option<DateTime<Utc>> {
        let ends = self
            .interviews
            .values()
            .filter(|i| i.status == "scheduled")
            .map(|i| i.timing().ends_at());
        let expiries = self
            .requests
            .values()
            .filter(|r| {
                ["pending", "availability_requested", "availability_received"]
                    .contains(&r.status.as_str())
            })
            .filter_map(|r| r.expires_at);
        ends.chain(expiries).min()
    }
}
