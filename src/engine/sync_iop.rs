//! IOP → Greenhouse. Handlers re-read the IOP object (and, where it matters, the Greenhouse
//! application) before writing, so late, duplicate or reordered events converge.

use http::Method;
use serde_json::{Value, json};

use super::config::{FeedbackWriteback, OutcomePolicy};
use super::core::{Engine, HandlerError};
use super::mapping;
use super::store::{FeedbackLink, InboxItem, InterviewLink, RequestLink};
use crate::transport::ApiError;

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn gh_id(value: &Value, pointer: &str) -> Option<i64> {
    value
        .pointer(pointer)
        .and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
}

impl Engine {
    pub(crate) async fn on_iop(&self, item: &InboxItem) -> Result<(), HandlerError> {
        let envelope: Value = serde_json::from_str(&item.payload)
            .map_err(|e| HandlerError::Permanent(format!("stored payload is not JSON: {e}")))?;
        let object_id =
            envelope.pointer("/data/object/id").and_then(Value::as_str).map(str::to_owned);
        let id = || {
            object_id.clone().ok_or_else(|| {
                HandlerError::Permanent(format!("{} has no data.object.id", item.kind))
            })
        };
        let at = Some(item.id);
        // The object's version in the event: a re-read older than this is a stale read.
        let version = envelope.pointer("/data/object/version").and_then(Value::as_i64).unwrap_or(0);

        match item.kind.as_str() {
            "interview.scheduled" | "interview.rescheduled" | "interview.updated" => {
                self.sync_interview(&id()?, version, at).await
            }
            "interview.cancelled" => self.remove_greenhouse_interview(&id()?, at).await,
            "interview.no_show" => self.on_no_show(&id()?, version, at).await,
            "scheduling_request.candidate_declined" => self.on_declined(&id()?, version, at).await,
            "scheduling_request.cancelled"
            | "scheduling_request.expired"
            | "scheduling_request.completed" => self.close_link(&id()?, at).await,
            "feedback.submitted" | "feedback.updated" => {
                self.on_feedback(&id()?, version, at).await
            }
            other => self.audit(at, "ignored", format!("IOP {other}: nothing to do")).await,
        }
    }

    /// Makes the Greenhouse interview match the IOP interview, creating it once (linked by
    /// `external_event_id` = the IOP id), or cancels the IOP interview when its application no
    /// longer stands in the stage it was requested for.
    async fn sync_interview(
        &self,
        interview_id: &str,
        version: i64,
        item: Option<i64>,
    ) -> Result<(), HandlerError> {
        let interview = self.fresh(&format!("/v1/interviews/{interview_id}"), version).await?;
        if matches!(str_of(&interview, "status"), "cancelled") {
            return self.remove_greenhouse_interview(interview_id, item).await;
        }
        let request_id = str_of(&interview, "scheduling_request_id").to_owned();
        let Some(link) = self.store.request_link(&request_id).await? else {
            return self
                .audit(item, "ignored", format!("{interview_id}: request {request_id} is not ours"))
                .await;
        };

        if !self.still_in_stage(&link).await?
            || link.status != "open" && !self.has_greenhouse_twin(interview_id).await?
        {
            return self.cancel_stale_interview(&interview, &link, item).await;
        }

        let times = mapping::interview_times(&interview)?;
        let interviewers = self.greenhouse_interviewers(&interview).await?;
        let existing = self.find_greenhouse_interview(interview_id, link.application_id).await?;
        let linked =
            self.store.interview_link(interview_id).await?.filter(|l| l.status == "active");
        match (existing, linked.and_then(|l| l.gh_interview_id)) {
            // Our own interview that a lagging Harvest list does not show yet: update it by the
            // id our create returned rather than create a second one.
            (None, Some(gh_interview_id)) => {
                let mut body = times.clone();
                body["location"] = interview.get("location").cloned().unwrap_or(Value::Null);
                body["interviewers"] = Value::Array(interviewers.clone());
                let path = format!("/v3/interviews/{gh_interview_id}");
                match self.greenhouse.write(Method::PATCH, &path, Some(&body)).await {
                    Ok(_) => {
                        let detail =
                            format!("{interview_id}: updated {gh_interview_id} (not listed yet)");
                        self.audit(item, "interview_updated", detail).await
                    }
                    // Gone after all (deleted by a person): make a new twin.
                    Err(ApiError::Permanent { status: 404, .. }) => {
                        self.create_greenhouse_interview(
                            &interview,
                            &link,
                            times,
                            interviewers,
                            item,
                        )
                        .await
                    }
                    Err(other) => Err(other.into()),
                }
            }
            (None, None) => {
                self.create_greenhouse_interview(&interview, &link, times, interviewers, item).await
            }
            (Some(gh), _) => {
                let gh_interview_id = gh.get("id").and_then(Value::as_i64).unwrap_or_default();
                let same_location = gh.get("location") == interview.get("location");
                if mapping::same_times(&gh, &times) && same_location {
                    return self
                        .audit(
                            item,
                            "unchanged",
                            format!("{interview_id} already matches {gh_interview_id}"),
                        )
                        .await;
                }
                let mut body = times;
                body["location"] = interview.get("location").cloned().unwrap_or(Value::Null);
                body["interviewers"] = Value::Array(interviewers);
                self.greenhouse
                    .write(Method::PATCH, &format!("/v3/interviews/{gh_interview_id}"), Some(&body))
                    .await?;
                self.audit(
                    item,
                    "interview_updated",
                    format!("{interview_id} moved: updated {gh_interview_id}"),
                )
                .await
            }
        }
    }

    async fn create_greenhouse_interview(
        &self,
        interview: &Value,
        link: &RequestLink,
        times: Value,
        interviewers: Vec<Value>,
        item: Option<i64>,
    ) -> Result<(), HandlerError> {
        let interview_id = str_of(interview, "id");
        let job_interview_id = gh_id(interview, "/external_refs/greenhouse/interview_id")
            .ok_or_else(|| {
                HandlerError::Permanent(format!("{interview_id} has no Greenhouse interview id"))
            })?;
        let mut body = times;
        body["application_id"] = json!(link.application_id);
        body["job_interview_id"] = json!(job_interview_id);
        body["external_event_id"] = json!(interview_id);
        body["interviewers"] = Value::Array(interviewers);
        body["location"] = interview.get("location").cloned().unwrap_or(Value::Null);
        body["video_conferencing_url"] =
            interview.get("video_conferencing_url").cloned().unwrap_or(Value::Null);

        let created = self.greenhouse.write(Method::POST, "/v3/interviews", Some(&body)).await?;
        let gh_interview_id = created.get("id").and_then(Value::as_i64).ok_or_else(|| {
            HandlerError::Permanent("Greenhouse created an interview without an id".into())
        })?;
        let stored = InterviewLink {
            iop_interview_id: interview_id.to_owned(),
            gh_interview_id: Some(gh_interview_id),
            application_id: link.application_id,
            status: "active".into(),
        };
        self.store.put_interview_link(&stored).await?;

        // Tell the IOP which Greenhouse interview it became (guarded by its version).
        let version = interview.get("version").and_then(Value::as_i64).unwrap_or(0);
        let refs =
            json!({"external_refs": {"greenhouse": {"scheduled_interview_id": gh_interview_id}}});
        match self.iop.patch(&format!("/v1/interviews/{interview_id}"), &refs, version).await {
            Ok(_) => {}
            // A newer version exists; its own event will bring the link back round.
            Err(ApiError::Permanent { status: 409, .. }) => {}
            Err(other) => return Err(other.into()),
        }
        self.audit(
            item,
            "interview_created",
            format!("{interview_id} scheduled: created Greenhouse interview {gh_interview_id}"),
        )
        .await
    }

    /// The Greenhouse interview for an IOP interview: from the link, else by
    /// `external_event_id` (which also recovers from a crash between create and link).
    async fn find_greenhouse_interview(
        &self,
        interview_id: &str,
        application_id: i64,
    ) -> Result<Option<Value>, HandlerError> {
        let found = self
            .greenhouse
            .list(
                "interviews",
                &[
                    ("application_ids", application_id.to_string()),
                    ("external_event_id", interview_id.to_owned()),
                ],
            )
            .await?;
        let found = found
            .into_iter()
            .find(|i| i.get("external_event_id").and_then(Value::as_str) == Some(interview_id));
        if let Some(gh) = &found
            && let Some(gh_interview_id) = gh.get("id").and_then(Value::as_i64)
        {
            let link = InterviewLink {
                iop_interview_id: interview_id.to_owned(),
                gh_interview_id: Some(gh_interview_id),
                application_id,
                status: "active".into(),
            };
            self.store.put_interview_link(&link).await?;
        }
        Ok(found)
    }

    async fn has_greenhouse_twin(&self, interview_id: &str) -> Result<bool, HandlerError> {
        let link = self.store.interview_link(interview_id).await?;
        Ok(link.is_some_and(|l| l.status == "active"))
    }

    /// Whether the application is still active and in the stage the request was opened for.
    async fn still_in_stage(&self, link: &RequestLink) -> Result<bool, HandlerError> {
        let Some(application) = self.greenhouse.get("applications", link.application_id).await?
        else {
            return Ok(false);
        };
        let status = str_of(&application, "status");
        if !matches!(status, "in_process" | "active") {
            return Ok(false);
        }
        Ok(match self.current_job_stage(link.application_id).await? {
            // Left and came back is a new stay: the request belonged to the earlier one.
            Some(current) => current.covers(link),
            None => str_of(&application, "stage_name").eq_ignore_ascii_case(&link.stage_name),
        })
    }

    async fn cancel_stale_interview(
        &self,
        interview: &Value,
        link: &RequestLink,
        item: Option<i64>,
    ) -> Result<(), HandlerError> {
        let interview_id = str_of(interview, "id");
        if str_of(interview, "status") == "scheduled" {
            let body = json!({"reason": "stage_changed", "cancelled_by": "system", "note": "application left the stage"});
            match self
                .iop
                .post(
                    &format!("/v1/interviews/{interview_id}/cancel"),
                    &body,
                    &format!("cancel:{interview_id}"),
                )
                .await
            {
                Ok(_) | Err(ApiError::Permanent { status: 409, .. }) => {}
                Err(other) => return Err(other.into()),
            }
        }
        self.remove_greenhouse_interview(interview_id, item).await?;
        self.audit(
            item,
            "interview_refused",
            format!(
                "{interview_id}: application {} is no longer in stage {}; not scheduled",
                link.application_id, link.stage_id
            ),
        )
        .await
    }

    /// Deletes the Greenhouse twin of a cancelled IOP interview, once.
    async fn remove_greenhouse_interview(
        &self,
        interview_id: &str,
        item: Option<i64>,
    ) -> Result<(), HandlerError> {
        let link = match self.store.interview_link(interview_id).await? {
            Some(link) if link.status == "active" && link.gh_interview_id.is_some() => link,
            Some(_) => {
                return self
                    .audit(
                        item,
                        "unchanged",
                        format!("{interview_id}: Greenhouse twin already removed"),
                    )
                    .await;
            }
            None => {
                return self
                    .audit(item, "ignored", format!("{interview_id}: never reached Greenhouse"))
                    .await;
            }
        };
        let gh_interview_id = link.gh_interview_id.unwrap_or_default();
        // Mark first, so the `interview_deleted` echo Greenhouse sends is recognised as ours.
        self.store
            .put_interview_link(&InterviewLink { status: "deleted".into(), ..link.clone() })
            .await?;
        match self
            .greenhouse
            .write(Method::DELETE, &format!("/v3/interviews/{gh_interview_id}"), None)
            .await
        {
            Ok(_) | Err(ApiError::Permanent { status: 404, .. }) => {}
            Err(other) => {
                // Not deleted after all: keep the link active so the retry deletes it.
                self.store.put_interview_link(&link).await?;
                return Err(other.into());
            }
        }
        self.audit(
            item,
            "interview_deleted",
            format!("{interview_id} cancelled: deleted Greenhouse interview {gh_interview_id}"),
        )
        .await
    }

    async fn greenhouse_interviewers(&self, interview: &Value) -> Result<Vec<Value>, HandlerError> {
        let mut known = std::collections::BTreeMap::new();
        for entry in interview.get("interviewers").and_then(Value::as_array).into_iter().flatten() {
            let user_id = str_of(entry, "user_id");
            if user_id.is_empty() {
                continue;
            }
            if let Some(user) = self.iop.get(&format!("/v1/users/{user_id}")).await?
                && let Some(gh) = gh_id(&user, "/external_refs/greenhouse/user_id")
            {
                known.insert(user_id.to_owned(), gh);
            }
        }
        Ok(mapping::interviewers_to_greenhouse(
            interview,
            |u| known.get(u).copied(),
            &self.config.mapping.interviewers,
        ))
    }

    async fn on_declined(
        &self,
        request_id: &str,
        version: i64,
        item: Option<i64>,
    ) -> Result<(), HandlerError> {
        let Some(link) = self.store.request_link(request_id).await? else {
            return self.audit(item, "ignored", format!("{request_id} is not ours")).await;
        };
        let interviews = self
            .iop
            .list("/v1/interviews", &[("scheduling_request_id", request_id.to_owned())])
            .await?;
        for interview in &interviews {
            self.remove_greenhouse_interview(str_of(interview, "id"), item).await?;
        }
        if link.status == "declined" {
            return self
                .audit(item, "unchanged", format!("{request_id}: decline already recorded"))
                .await;
        }

        let request = self.fresh(&format!("/v1/scheduling_requests/{request_id}"), version).await?;
        let reason =
            request.pointer("/decline/reason").and_then(Value::as_str).unwrap_or("no reason given");
        let body = format!(
            "Candidate declined scheduling for {} through the interview scheduling platform. Reason: {reason}",
            link.stage_name
        );
        // A crash (or a timed-out write) between this note and the link update retries the
        // event; the reference lets the retry find the note instead of writing it again.
        let reference = format!("decline {request_id}");
        self.add_note_once(link.candidate_id, link.application_id, &body, &reference).await?;
        if self.config.policies.on_decline == OutcomePolicy::Reject {
            self.reject_application(link.application_id, "candidate declined").await?;
        }
        self.store
            .put_request_link(
                &RequestLink { status: "declined".into(), ..link.clone() },
                self.clock.now(),
            )
            .await?;
        self.audit(
            item,
            "candidate_declined",
            format!("{request_id}: note added to candidate {}", link.candidate_id),
        )
        .await
    }

    async fn on_no_show(
        &self,
        interview_id: &str,
        version: i64,
        item: Option<i64>,
    ) -> Result<(), HandlerError> {
        let interview = self.fresh(&format!("/v1/interviews/{interview_id}"), version).await?;
        let Some(link) =
            self.store.request_link(str_of(&interview, "scheduling_request_id")).await?
        else {
            return self
                .audit(item, "ignored", format!("{interview_id}: request is not ours"))
                .await;
        };
        let body = format!("Candidate did not show up for {}.", str_of(&interview, "title"));
        // One note per no-show marking: the event's version tells a repeat of this marking
        // (a retry, a replayed event) from a new one after a revert.
        let reference = format!("no-show {interview_id} v{version}");
        self.add_note_once(link.candidate_id, link.application_id, &body, &reference).await?;
        if self.config.policies.on_no_show == OutcomePolicy::Reject {
            self.reject_application(link.application_id, "no-show").await?;
        }
        self.audit(item, "no_show", format!("{interview_id}: note added")).await
    }

    async fn close_link(&self, request_id: &str, item: Option<i64>) -> Result<(), HandlerError> {
        match self.store.request_link(request_id).await? {
            Some(link) if link.status == "open" => {
                self.store
                    .put_request_link(
                        &RequestLink { status: "ended".into(), ..link },
                        self.clock.now(),
                    )
                    .await?;
                self.audit(item, "request_closed", format!("{request_id} ended in the IOP")).await
            }
            _ => Ok(()),
        }
    }

    /// Records feedback on the candidate in Greenhouse, whenever it comes. It never moves,
    /// reopens or otherwise touches the application.
    async fn on_feedback(
        &self,
        feedback_id: &str,
        version: i64,
        item: Option<i64>,
    ) -> Result<(), HandlerError> {
        let feedback = self.fresh(&format!("/v1/feedback/{feedback_id}"), version).await?;
        if str_of(&feedback, "status") != "submitted"
            || self.config.policies.feedback_writeback == FeedbackWriteback::None
        {
            return self.audit(item, "ignored", format!("{feedback_id}: not written back")).await;
        }
        let version = feedback.get("version").and_then(Value::as_i64).unwrap_or(1);
        let existing = self.store.feedback_link(feedback_id).await?;
        if existing.as_ref().is_some_and(|l| l.version >= version) {
            return self
                .audit(item, "unchanged", format!("{feedback_id} v{version} already recorded"))
                .await;
        }
        let application_id = gh_id(&feedback, "/external_refs/greenhouse/application_id")
            .ok_or_else(|| {
                HandlerError::Permanent(format!("{feedback_id} has no Greenhouse application id"))
            })?;
        let recommendation = str_of(&feedback, "overall_recommendation");
        let rating = mapping::recommendation_to_rating(recommendation, feedback_id)?;
        let notes = str_of(&feedback, "notes").to_owned();
        let interviewer =
            self.iop.get(&format!("/v1/users/{}", str_of(&feedback, "interviewer_id"))).await?;
        let interviewer_gh = match &interviewer {
            Some(user) => self.greenhouse_user_for(user).await?,
            None => None,
        };

        let use_scorecard = self.config.policies.feedback_writeback == FeedbackWriteback::Scorecard
            && existing.is_none();
        let (kind, gh_record) = if use_scorecard {
            let interviewer_id = interviewer_gh.or(self.config.greenhouse.acting_user_id);
            let interview_link =
                self.store.interview_link(str_of(&feedback, "interview_id")).await?;
            let body = json!({
                "application_id": application_id,
                "interviewer_id": interviewer_id,
                "submitter_id": interviewer_id,
                "interview_id": interview_link
                    // A deleted Greenhouse interview cannot carry the scorecard: record it
                    // on the application alone rather than lose it to a 422.
                    .filter(|l| l.status == "active")
                    .and_then(|l| l.gh_interview_id),
                "candidate_rating": rating,
                "notes": notes,
                "interviewed_at": feedback.get("interviewed_at"),
            });
            ("scorecard", self.add_scorecard_once(&body).await?)
        } else {
            // TODO(fidelity): Harvest v3 has no documented scorecard update, so an edit after
            // submission is recorded as a note.
            let application =
                self.greenhouse.get("applications", application_id).await?.unwrap_or(Value::Null);
            let candidate_id = gh_id(&application, "/candidate_id").unwrap_or_default();
            let verb = if existing.is_some() { "updated" } else { "submitted" };
            let name =
                interviewer.as_ref().map(|u| str_of(u, "name").to_owned()).unwrap_or_default();
            let body = format!(
                "Interview feedback {verb} by {name}: recommendation {recommendation}. {notes}"
            );
            let reference = format!("feedback {feedback_id} v{version}");
            ("note", self.add_note_once(candidate_id, application_id, &body, &reference).await?)
        };
        let gh_record_id = gh_record.get("id").and_then(Value::as_i64).unwrap_or_default();
        self.store
            .put_feedback_link(&FeedbackLink {
                feedback_id: feedback_id.into(),
                gh_kind: kind.into(),
                gh_id: gh_record_id,
                version,
            })
            .await?;
        self.audit(
            item,
            "feedback_recorded",
            format!("{feedback_id} v{version} → Greenhouse {kind} {gh_record_id} ({rating})"),
        )
        .await
    }

    /// Re-reads an IOP object and insists on a copy at least as new as the event announcing it:
    /// an IOP that lags behind its own webhooks (a read replica, a cache) answers 404 or an
    /// older version for a while, and acting on that would lose the change. Both are retried.
    async fn fresh(&self, path: &str, version: i64) -> Result<Value, HandlerError> {
        let not_yet = |reason: String| HandlerError::Lagging { reason, since: None };
        let Some(object) = self.iop.get(path).await? else {
            return Err(not_yet(format!(
                "GET {path}: not found yet (the IOP may lag behind its webhook)"
            )));
        };
        let seen = object.get("version").and_then(Value::as_i64).unwrap_or(0);
        if seen < version {
            return Err(not_yet(format!(
                "GET {path}: version {seen} is older than the event's {version}"
            )));
        }
        Ok(object)
    }

    /// Posts a scorecard unless the interviewer already has one on this application for the
    /// same interview time. Scorecards take no idempotency key either; one interviewer scores
    /// one interview once, so (application, interviewer, interviewed_at) identifies it, and a
    /// retry after a write that timed out once stored finds it instead of adding a second.
    async fn add_scorecard_once(&self, body: &Value) -> Result<Value, HandlerError> {
        let instant = |v: &Value| {
            v.get("interviewed_at")
                .and_then(Value::as_str)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp())
        };
        let mut filters = vec![("application_ids", body["application_id"].to_string())];
        if let Some(interviewer) = body.get("interviewer_id").and_then(Value::as_i64) {
            filters.push(("interviewer_ids", interviewer.to_string()));
        }
        let wanted = instant(body);
        let existing = self
            .greenhouse
            .list("scorecards", &filters)
            .await?
            .into_iter()
            .find(|card| wanted.is_some() && instant(card) == wanted);
        match existing {
            Some(card) => Ok(card),
            None => Ok(self.greenhouse.write(Method::POST, "/v3/scorecards", Some(body)).await?),
        }
    }

    /// Adds a note on the application unless one carrying `reference` is already there.
    ///
    /// Greenhouse notes take no idempotency key and carry no external id, so the engine marks
    /// its notes with a reference (`[ref: …]` at the end of the body) and looks for it before
    /// writing: a retry after a write that timed out once Greenhouse had stored it, or after a
    /// crash before the engine recorded the note, finds the first note instead of adding a
    /// second. TODO(correctness): a notes list that lags behind the write (a stale read) can
    /// still miss the first note within that lag.
    async fn add_note_once(
        &self,
        candidate_id: i64,
        application_id: i64,
        body: &str,
        reference: &str,
    ) -> Result<Value, HandlerError> {
        let marker = format!("[ref: {reference}]");
        let existing = self
            .greenhouse
            .list("notes", &[("application_ids", application_id.to_string())])
            .await?
            .into_iter()
            .find(|note| str_of(note, "body").contains(&marker));
        if let Some(note) = existing {
            return Ok(note);
        }
        let note = json!({
            "candidate_id": candidate_id,
            "application_id": application_id,
            "body": format!("{body} {marker}"),
            "visibility": "public",
            "note_type": "NOTE",
            "user_id": self.config.greenhouse.acting_user_id,
        });
        Ok(self.greenhouse.write(Method::POST, "/v3/notes", Some(&note)).await?)
    }

    async fn reject_application(&self, application_id: i64, why: &str) -> Result<(), HandlerError> {
        let Some(application) = self.greenhouse.get("applications", application_id).await? else {
            return Ok(());
        };
        if !matches!(str_of(&application, "status"), "in_process" | "active") {
            return Ok(());
        }
        let reasons = self
            .greenhouse
            .list("rejection_reasons", &[("include_defaults", "true".into())])
            .await?;
        let wanted = self.config.policies.rejection_reason.as_deref().unwrap_or("Withdrew");
        let reason = reasons
            .iter()
            .find(|r| str_of(r, "name").eq_ignore_ascii_case(wanted))
            .and_then(|r| r.get("id").and_then(Value::as_i64))
            .ok_or_else(|| {
                HandlerError::Permanent(format!(
                    "rejection reason {wanted:?} not found in Greenhouse"
                ))
            })?;
        let body = json!({"rejection_reason_id": reason, "notes": format!("Rejected by the scheduling integration: {why}")});
        self.greenhouse
            .write(Method::POST, &format!("/v3/applications/{application_id}/reject"), Some(&body))
            .await?;
        Ok(())
    }
}
