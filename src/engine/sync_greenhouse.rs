//! Greenhouse → IOP. Webhooks are notifications, not truth: every handler re-reads the
//! application from Harvest and converges the IOP on what it finds, so a duplicate, stale or
//! reordered webhook cannot schedule for a stage the application has left.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::config::{FieldTarget, TriggerAction};
use super::core::{Engine, HandlerError};
use super::mapping;
use super::store::{InboxItem, RequestLink};

/// Seconds before re-checking an application whose read disagreed with its webhook: longer
/// than a read replica usually lags, short enough that a candidate waits for nothing.
const RECHECK_AFTER_SECS: i64 = 60;

/// What an application's current state asks of the IOP.
struct Desired {
    stage_id: i64,
    /// The application-stage row of the current stay, when Greenhouse shows one.
    stay_id: Option<i64>,
    stage_name: String,
    job_id: i64,
    job_name: String,
    mode: &'static str,
}

/// Where an application stands: the job interview stage and, when Greenhouse shows it, the
/// application-stage row of this stay (leaving a stage and coming back is a new row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CurrentStage {
    pub stage_id: i64,
    pub stay_id: Option<i64>,
}

impl CurrentStage {
    /// Whether `link` was opened for this stay: the same stage, and the same row when both
    /// know theirs (links recorded before stays were match by stage alone).
    pub fn covers(&self, link: &RequestLink) -> bool {
        link.stage_id == self.stage_id
            && match (self.stay_id, link.stay_id) {
                (Some(now), Some(then)) => now == then,
                _ => true,
            }
    }
}

fn as_i64(value: Option<&Value>) -> Option<i64> {
    value.and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
}

/// The id at `pointer` in a webhook payload (`name` is how the reason calls it): a number,
/// or digits in a string. An absent id and one of the wrong type are told apart, since the
/// first is a sparse payload and the second a sender that does not follow the format.
fn id_at(kind: &str, payload: &Value, pointer: &str, name: &str) -> Result<i64, HandlerError> {
    let value = match payload.pointer(pointer) {
        None | Some(Value::Null) => {
            return Err(HandlerError::Permanent(format!("{kind} payload has no {name}")));
        }
        Some(value) => value,
    };
    as_i64(Some(value)).ok_or_else(|| {
        let found = match value {
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number that is not a 64-bit integer",
            Value::String(_) => "a string that is not an integer",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
            Value::Null => "null",
        };
        HandlerError::Permanent(format!(
            "{kind} payload's {name} has the wrong type: {found}, where an integer id belongs"
        ))
    })
}

impl Engine {
    pub(crate) async fn on_greenhouse(&self, item: &InboxItem) -> Result<(), HandlerError> {
        let envelope: Value = serde_json::from_str(&item.payload)
            .map_err(|e| HandlerError::Permanent(format!("stored payload is not JSON: {e}")))?;
        let payload = envelope.get("payload").cloned().unwrap_or(Value::Null);
        let id_of = |pointer: &str, name: &str| id_at(&item.kind, &payload, pointer, name);

        match item.kind.as_str() {
            "candidate_stage_change"
            | "reject_candidate"
            | "unreject_candidate"
            | "hire_candidate"
            | "unhire_candidate"
            | "new_candidate_application"
            | "application_updated" => {
                let id = id_of("/application/id", "application.id")?;
                let notified = instant(payload.pointer("/application/last_activity_at"));
                self.sync_application_notified(id, Some(item.id), notified, Some((item, &payload)))
                    .await
            }
            // Our own follow-up of a webhook whose re-read disagreed with it (see below).
            "application_recheck" => {
                let id = id_of("/application/id", "application.id")?;
                self.sync_application(id, Some(item.id)).await
            }
            "delete_application" => {
                let id = id_of("/id", "id")?;
                self.sync_application(id, Some(item.id)).await
            }
            "update_candidate" => {
                let nested = payload.pointer("/application/candidate/id").is_some();
                let pointer = if nested { "/application/candidate/id" } else { "/candidate/id" };
                let id = id_of(pointer, "candidate id")?;
                self.sync_candidate(id, Some(item.id)).await
            }
            "delete_candidate" | "merge_candidate" => {
                let id = id_of("/person/id", "person.id")?;
                let reason =
                    if item.kind == "merge_candidate" { "candidate_merged" } else { "other" };
                self.cancel_for_candidate(id, reason, Some(item.id)).await
            }
            "interview_deleted" => {
                let id = id_of("/interview/id", "interview.id")?;
                self.on_greenhouse_interview_deleted(id, Some(item.id)).await
            }
            other => {
                self.audit(Some(item.id), "ignored", format!("Greenhouse {other}: nothing to do"))
                    .await
            }
        }
    }

    /// A read taken in the same instant as the change a webhook announces cannot be told from a
    /// lagging one by its timestamp. When the application read back disagrees with the webhook
    /// (another stage or status), the engine has acted on the read; it also schedules one
    /// re-check a minute later, which converges on whatever is true by then.
    async fn recheck_if_read_disagrees(
        &self,
        application_id: i64,
        read: &Value,
        item: &InboxItem,
        payload: &Value,
    ) -> Result<(), HandlerError> {
        let claimed_stage =
            payload.pointer("/application/current_stage/name").and_then(Value::as_str);
        let claimed_status = match payload.pointer("/application/status").and_then(Value::as_str) {
            Some("active") => Some("in_process"),
            other => other,
        };
        let read_stage = read.get("stage_name").and_then(Value::as_str);
        let read_status = read.get("status").and_then(Value::as_str);
        let stage_differs = claimed_stage.is_some()
            && read_status == Some("in_process")
            && claimed_stage != read_stage;
        let status_differs = claimed_status.is_some() && claimed_status != read_status;
        if !(stage_differs || status_differs) {
            return Ok(());
        }
        let due = self.clock.now() + chrono::Duration::seconds(RECHECK_AFTER_SECS);
        let body = json!({"action": "application_recheck", "payload": {"application": {"id": application_id}}});
        let event_id = format!("recheck:{}", item.event_id);
        self.store
            .enqueue(
                super::store::Source::Greenhouse,
                &event_id,
                "application_recheck",
                &body.to_string(),
                due,
            )
            .await?;
        self.audit(Some(item.id), "recheck_scheduled", format!("application {application_id}: the read disagrees with the webhook; re-checking in {RECHECK_AFTER_SECS} s")).await
    }

    /// Converges the IOP on the application's current state: at most one open scheduling
    /// request, and only for the stage it stands in when a trigger rule names that stage.
    #[tracing::instrument(skip(self, item))]
    pub(crate) async fn sync_application(
        &self,
        application_id: i64,
        item: Option<i64>,
    ) -> Result<(), HandlerError> {
        self.sync_application_notified(application_id, item, None, None).await
    }

    /// As [`Self::sync_application`], for a webhook that announced a change at `notified`. A
    /// read replica may answer with the application as it was before that change; acting on it
    /// would lose the change (no later webhook comes), so a read older than the notification
    /// is retried.
    /// A read stamped in the same instant cannot be told from a lagging one; for those the
    /// engine schedules a re-check when the read disagrees with the webhook.
    async fn sync_application_notified(
        &self,
        application_id: i64,
        item: Option<i64>,
        notified: Option<DateTime<Utc>>,
        webhook: Option<(&InboxItem, &Value)>,
    ) -> Result<(), HandlerError> {
        let application = self.greenhouse.get("applications", application_id).await?;
        if let (Some(app), Some(notified)) = (&application, notified)
            && let Some(seen) = instant(app.get("last_activity_at"))
            && seen < notified
        {
            return Err(HandlerError::Lagging {
                reason: format!(
                    "Greenhouse shows application {application_id} as of {seen}, older than its webhook"
                ),
                since: Some(notified),
            });
        }
        if let (Some(app), Some((event, payload))) = (&application, webhook) {
            self.recheck_if_read_disagrees(application_id, app, event, payload).await?;
        }
        let desired = match &application {
            Some(app) => self.desired_request(app).await?,
            None => None,
        };
        let mut links = self.store.request_links(application_id).await?;

        // A rejection (or hire) ends the episode: a request the candidate declined or the IOP
        // ended no longer settles the stay, so an unreject asks again, as it does after the
        // engine cancelled a request on the rejection. The unreject webhook says so too, for an
        // engine that never saw the application rejected.
        let episode_over = application.as_ref().is_some_and(|a| {
            !matches!(a.get("status").and_then(Value::as_str), Some("in_process" | "active"))
        }) || webhook
            .is_some_and(|(event, _)| event.kind == "unreject_candidate");
        if episode_over {
            for link in links.iter_mut().filter(|l| l.settles_stay()) {
                link.status = "closed".into();
                self.store.put_request_link(link, self.clock.now()).await?;
            }
        }

        let reason = cancellation_reason(application.as_ref());
        let stay = |d: &Desired| CurrentStage { stage_id: d.stage_id, stay_id: d.stay_id };
        for link in links.iter().filter(|l| l.status == "open") {
            if !desired.as_ref().is_some_and(|d| stay(d).covers(link)) {
                self.cancel_request(link, reason, item).await?;
            }
        }

        let Some(desired) = desired else { return Ok(()) };
        let Some(application) = application else { return Ok(()) };
        let current = stay(&desired);
        if links.iter().any(|l| l.status == "open" && current.covers(l)) {
            return self
                .audit(
                    item,
                    "unchanged",
                    format!("application {application_id}: request already open"),
                )
                .await;
        }
        // A stay whose request the IOP ended or the candidate declined gets no second one
        // (a late or repeated webhook, or a sweep, would otherwise ask the candidate again).
        if let Some(settled) =
            links.iter().find(|l| l.settles_stay() && l.stay_id.is_some() && current.covers(l))
        {
            return self
                .audit(
                    item,
                    "unchanged",
                    format!(
                        "application {application_id}: this stay's request {} is {}",
                        settled.request_id, settled.status
                    ),
                )
                .await;
        }
        let entry = links.iter().filter(|l| l.stage_id == desired.stage_id).count() + 1;
        self.open_request(&application, &desired, entry, item).await
    }

    /// The job interview stage an application stands in and the stay, from its current
    /// application-stage row (v3's `stage_id` may be the row's id rather than the stage's).
    pub(crate) async fn current_job_stage(
        &self,
        application_id: i64,
    ) -> Result<Option<CurrentStage>, HandlerError> {
        let rows = self
            .greenhouse
            .list(
                "application_stages",
                &[("application_ids", application_id.to_string()), ("current", "true".into())],
            )
            .await?;
        Ok(rows.first().and_then(|row| {
            Some(CurrentStage {
                stage_id: as_i64(row.get("job_interview_stage_id"))?,
                stay_id: as_i64(row.get("id")),
            })
        }))
    }

    async fn desired_request(&self, application: &Value) -> Result<Option<Desired>, HandlerError> {
        let status = application.get("status").and_then(Value::as_str).unwrap_or_default();
        let prospect = application.get("prospect").and_then(Value::as_bool).unwrap_or(false);
        if !matches!(status, "in_process" | "active") || prospect {
            return Ok(None);
        }
        let application_id = as_i64(application.get("id")).unwrap_or_default();
        let job_id = as_i64(application.get("job_id")).ok_or_else(|| {
            HandlerError::Permanent(format!("application {application_id} has no job_id"))
        })?;
        let stage_name =
            application.get("stage_name").and_then(Value::as_str).unwrap_or_default().to_owned();

        let (stage_id, stay_id) = match self.current_job_stage(application_id).await? {
            Some(current) => (current.stage_id, current.stay_id),
            None => {
                let stages = self
                    .greenhouse
                    .list("job_interview_stages", &[("job_ids", job_id.to_string())])
                    .await?;
                let by_name = stages
                    .iter()
                    .find(|s| s.get("name").and_then(Value::as_str) == Some(stage_name.as_str()));
                by_name
                    .and_then(|s| as_i64(s.get("id")))
                    .or_else(|| as_i64(application.get("stage_id")))
                    .map_or((0, None), |id| (id, None))
            }
        };
        let job = self.greenhouse.get("jobs", job_id).await?;
        let job_name = job
            .as_ref()
            .and_then(|j| j.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();

        let rule = self.config.trigger_for(job_id, &job_name, stage_id, &stage_name);
        Ok(match rule {
            Some(rule) if rule.action == TriggerAction::OpenSchedulingRequest => Some(Desired {
                stage_id,
                stay_id,
                stage_name,
                job_id,
                job_name,
                mode: rule.mode.unwrap_or(super::config::SchedulingMode::Availability).as_str(),
            }),
            _ => None,
        })
    }

    async fn open_request(
        &self,
        application: &Value,
        desired: &Desired,
        entry: usize,
        item: Option<i64>,
    ) -> Result<(), HandlerError> {
        let application_id = as_i64(application.get("id")).unwrap_or_default();
        let candidate_id = as_i64(application.get("candidate_id")).ok_or_else(|| {
            HandlerError::Permanent(format!("application {application_id} has no candidate_id"))
        })?;
        let candidate =
            self.greenhouse.get("candidates", candidate_id).await?.ok_or_else(|| {
                HandlerError::Permanent(format!("candidate {candidate_id} not found in Greenhouse"))
            })?;
        let rules = &self.config.mapping.custom_fields;
        let custom = mapping::custom_fields_to_iop(rules, &candidate, Some(application))?;
        let iop_candidate =
            self.upsert_candidate(&candidate, candidate_id, &custom.candidate).await?;
        let iop_candidate_id =
            iop_candidate.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();

        let mut job_interviews = self
            .plan_list("job_interviews", "job_interview_stage_ids", desired.stage_id.to_string())
            .await?;
        // Harvest v3 lists by id, newest first; the interview plan's order is `sort_order`.
        let order = |ji: &Value| {
            (
                ji.get("sort_order").and_then(Value::as_i64).unwrap_or(i64::MAX),
                ji.get("id").and_then(Value::as_i64),
            )
        };
        job_interviews.sort_by_key(order);
        let pools = self.interviewer_pools(&job_interviews, item).await?;
        let interviews_requested: Vec<Value> = job_interviews
            .iter()
            .map(|ji| {
                let duration = ji.get("duration").and_then(Value::as_u64).map(|d| d as u32);
                let mut requested = json!({
                    "name": ji.get("name").and_then(Value::as_str).unwrap_or("Interview"),
                    "duration_minutes": duration.unwrap_or(self.config.mapping.default_duration_minutes),
                    "external_refs": {"greenhouse": {"interview_id": ji.get("id")}},
                });
                if let Some(pool) = as_i64(ji.get("id")).and_then(|id| pools.get(&id)) {
                    requested["interviewer_pool"] = json!(pool);
                }
                requested
            })
            .collect();

        let client_reference =
            format!("gh:app:{application_id}:stage:{}:{entry}", desired.stage_id);
        let mut body = json!({
            "candidate_id": iop_candidate_id,
            "client_reference": client_reference,
            "mode": desired.mode,
            "external_refs": {"greenhouse": {
                "application_id": application_id, "candidate_id": candidate_id,
                "job_id": desired.job_id, "job_name": desired.job_name,
                "stage_id": desired.stage_id, "stage_name": desired.stage_name,
            }},
            "interviews_requested": interviews_requested,
        });
        // Sent only when configured, so an IOP without these fields is not asked for them.
        if let Some(workflow) =
            self.config.mapping.workflow_for(desired.stage_id, &desired.stage_name)
        {
            body["workflow"] = json!(workflow);
        }
        if self.maps_custom_fields(FieldTarget::SchedulingRequest) {
            body["custom_fields"] = Value::Object(custom.scheduling_request.clone());
        }
        let request_id =
            match self.iop.post("/v1/scheduling_requests", &body, &client_reference).await {
                Ok(created) => {
                    created.get("id").and_then(Value::as_str).unwrap_or_default().to_owned()
                }
                // The idempotency record expired but the request exists: adopt it.
                Err(crate::transport::ApiError::Permanent { status: 409, body, .. })
                    if body.contains("existing_id") =>
                {
                    existing_id(&body).ok_or_else(|| {
                        HandlerError::Permanent(format!("409 without existing_id: {body}"))
                    })?
                }
                Err(other) => return Err(other.into()),
            };
        if request_id.is_empty() {
            return Err(HandlerError::Permanent(
                "IOP answered a scheduling request without an id".into(),
            ));
        }

        let link = RequestLink {
            request_id: request_id.clone(),
            application_id,
            candidate_id,
            stage_id: desired.stage_id,
            stage_name: desired.stage_name.clone(),
            stay_id: desired.stay_id,
            status: "open".into(),
        };
        self.store.put_request_link(&link, self.clock.now()).await?;
        self.audit_skipped(&custom, item).await?;
        self.audit(
            item,
            "scheduling_request_opened",
            format!(
                "application {application_id} entered stage {} ({}): opened {request_id}",
                desired.stage_id, desired.mode
            ),
        )
        .await
    }

    /// An audit entry per optional custom field skipped for a value of the wrong type, written
    /// once the sync it belongs to has succeeded (a retried attempt writes none).
    async fn audit_skipped(
        &self,
        mapped: &mapping::MappedCustomFields,
        item: Option<i64>,
    ) -> Result<(), HandlerError> {
        for skipped in &mapped.skipped {
            self.audit(item, "custom_field_skipped", skipped.clone()).await?;
        }
        Ok(())
    }

    /// Whether any custom-field rule writes to `target`.
    fn maps_custom_fields(&self, target: FieldTarget) -> bool {
        let rules = &self.config.mapping.custom_fields;
        rules.iter().any(|r| r.target().is_some_and(|(t, _)| t == target))
    }

    /// Upserts the IOP copy of a Greenhouse candidate, keyed by the Greenhouse id. The
    /// candidate's custom fields are sent only when some rule maps them (the upsert replaces
    /// them all).
    async fn upsert_candidate(
        &self,
        candidate: &Value,
        candidate_id: i64,
        custom_fields: &serde_json::Map<String, Value>,
    ) -> Result<Value, HandlerError> {
        let mut body = mapping::candidate_to_iop(candidate, &self.config.mapping)?;
        if self.maps_custom_fields(FieldTarget::Candidate) {
            body["custom_fields"] = Value::Object(custom_fields.clone());
        }
        let zone = mapping::candidate_timezone(candidate, &self.config.mapping);
        if let Some(replaced) = zone.replaced {
            // The IOP takes IANA names only; a made-up zone would be refused or, worse, shift
            // every proposed slot.
            let detail = format!(
                "candidate {candidate_id}: time zone {replaced:?} is not an IANA zone; sent the default {:?}",
                zone.zone
            );
            self.audit(None, "candidate_timezone_replaced", detail).await?;
        }
        let path = format!("/v1/candidates/by_external_ref/greenhouse/{candidate_id}");
        Ok(self.iop.put(&path, &body).await?)
    }

    /// Cancels an open request in the IOP (with its future interviews) and closes the link.
    pub(crate) async fn cancel_request(
        &self,
        link: &RequestLink,
        reason: &str,
        item: Option<i64>,
    ) -> Result<(), HandlerError> {
        // Cancel without reading first: a lagging read could call our own new request unknown
        // or still open. The IOP answers 409 for a request already ended, which is as good.
        let path = format!("/v1/scheduling_requests/{}/cancel", link.request_id);
        let body = json!({"reason": reason, "cancel_interviews": true});
        let key = format!("cancel:{}", link.request_id);
        match self.iop.post(&path, &body, &key).await {
            // 404 on a write is not a lagging read: the request is gone, nothing to cancel.
            Ok(_) | Err(crate::transport::ApiError::Permanent { status: 404 | 409, .. }) => {}
            Err(other) => return Err(other.into()),
        }
        let closed = RequestLink { status: "closed".into(), ..link.clone() };
        self.store.put_request_link(&closed, self.clock.now()).await?;
        self.audit(
            item,
            "scheduling_request_cancelled",
            format!(
                "application {} left stage {}: cancelled {} ({reason})",
                link.application_id, link.stage_id, link.request_id
            ),
        )
        .await
    }

    async fn sync_candidate(
        &self,
        candidate_id: i64,
        item: Option<i64>,
    ) -> Result<(), HandlerError> {
        let links = self.store.request_links_for_candidate(candidate_id).await?;
        if !links.iter().any(|l| l.status == "open") {
            return self
                .audit(item, "ignored", format!("candidate {candidate_id}: no open request"))
                .await;
        }
        let Some(candidate) = self.greenhouse.get("candidates", candidate_id).await? else {
            return self.cancel_for_candidate(candidate_id, "other", item).await;
        };
        let rules = &self.config.mapping.custom_fields;
        let custom = mapping::custom_fields_to_iop(rules, &candidate, None)?;
        self.upsert_candidate(&candidate, candidate_id, &custom.candidate).await?;
        self.audit_skipped(&custom, item).await?;
        self.audit(item, "candidate_updated", format!("candidate {candidate_id}: IOP copy updated"))
            .await
    }

    async fn cancel_for_candidate(
        &self,
        candidate_id: i64,
        reason: &str,
        item: Option<i64>,
    ) -> Result<(), HandlerError> {
        for link in self
            .store
            .request_links_for_candidate(candidate_id)
            .await?
            .iter()
            .filter(|l| l.status == "open")
        {
            self.cancel_request(link, reason, item).await?;
        }
        Ok(())
    }

    /// Greenhouse says an interview was deleted: ours (an echo of our own delete) changes
    /// nothing; one deleted by a person cancels its IOP twin.
    async fn on_greenhouse_interview_deleted(
        &self,
        gh_interview_id: i64,
        item: Option<i64>,
    ) -> Result<(), HandlerError> {
        let Some(link) = self.store.interview_link_by_gh(gh_interview_id).await? else {
            return self
                .audit(item, "ignored", format!("interview {gh_interview_id} is not linked"))
                .await;
        };
        if link.status == "deleted" {
            return self
                .audit(
                    item,
                    "ignored",
                    format!("interview {gh_interview_id}: echo of our own delete"),
                )
                .await;
        }
        let path = format!("/v1/interviews/{}/cancel", link.iop_interview_id);
        let body = json!({"reason": "other", "cancelled_by": "coordinator", "note": "deleted in Greenhouse"});
        match self.iop.post(&path, &body, &format!("cancel:{}", link.iop_interview_id)).await {
            Ok(_) | Err(crate::transport::ApiError::Permanent { status: 409, .. }) => {}
            Err(other) => return Err(other.into()),
        }
        let deleted = super::store::InterviewLink { status: "deleted".into(), ..link.clone() };
        self.store.put_interview_link(&deleted).await?;
        self.audit(
            item,
            "interview_cancelled",
            format!("Greenhouse deleted {gh_interview_id}: cancelled {}", link.iop_interview_id),
        )
        .await
    }
}

fn instant(value: Option<&Value>) -> Option<DateTime<Utc>> {
    value
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn cancellation_reason(application: Option<&Value>) -> &'static str {
    match application.and_then(|a| a.get("status")).and_then(Value::as_str) {
        None => "other",
        Some("rejected") => "application_rejected",
        Some(_) => "stage_changed",
    }
}

fn existing_id(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    value.pointer("/error/details/existing_id").and_then(Value::as_str).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reason(payload: Value) -> String {
        match id_at("candidate_stage_change", &payload, "/application/id", "application.id") {
            Err(HandlerError::Permanent(reason)) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_missing_id_and_an_id_of_the_wrong_type_are_told_apart() {
        let payload = json!({"application": {"id": "4300000001"}});
        assert_eq!(id_at("k", &payload, "/application/id", "application.id"), Ok(4_300_000_001));
        assert_eq!(
            reason(json!({"application": {}})),
            "candidate_stage_change payload has no application.id"
        );
        assert_eq!(
            reason(json!({"application": {"id": true}})),
            "candidate_stage_change payload's application.id has the wrong type: a boolean, where an integer id belongs"
        );
        assert!(reason(json!({"application": {"id": "abc"}})).contains("a string that is not"));
        assert!(reason(json!({"application": {"id": 1.5}})).contains("a number that is not"));
    }
}
