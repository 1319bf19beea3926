//! Feedback (§4.3): submitted by simulated interviewers in any interview state (late,
//! cancelled, no-show), edited, withdrawn, and read through `/v1/feedback`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{ApiError, ApiReply, ApiRequest, ApiResult, list_item, paginate};
use super::interview_routes::check_enum;
use super::interviews::{check_version, if_match};
use super::state::{Feedback, State, previous_attributes, to_json};

pub(crate) const RECOMMENDATIONS: &[&str] =
    &["definitely_not", "no", "yes", "strong_yes", "no_decision"];

impl State {
    /// Records one interviewer's feedback (`feedback.submitted`); may complete the interview.
    pub fn submit_feedback(
        &mut self,
        interview_id: &str,
        interviewer_id: Option<String>,
        recommendation: &str,
        notes: Option<String>,
    ) -> Result<(String, usize), ApiError> {
        check_enum("overall_recommendation", recommendation, RECOMMENDATIONS)?;
        let interview = self
            .interviews
            .get(interview_id)
            .ok_or_else(|| ApiError::not_found("interview", interview_id))?
            .clone();
        let interviewer_id = match interviewer_id
            .or_else(|| interview.interviewers.first().map(|p| p.user_id.clone()))
        {
            Some(id) => id,
            None => {
                return Err(ApiError::field(
                    "interviewer_id",
                    "required",
                    format!("interview {interview_id} has no interviewers"),
                ));
            }
        };
        let participant =
            interview.interviewers.iter().find(|p| p.user_id == interviewer_id).ok_or_else(
                || {
                    ApiError::field(
                        "interviewer_id",
                        "not_an_interviewer",
                        format!("{interviewer_id} is not an interviewer of {interview_id}"),
                    )
                },
            )?;
        if let Some(existing) = &participant.feedback_id {
            let message = format!(
                "{interviewer_id} already submitted {existing} for {interview_id}; update it instead"
            );
            return Err(
                ApiError::invalid_state(message).with_details(json!({"existing_id": existing}))
            );
        }

        let id = self.next_id("fb");
        let application_id = interview
            .external_refs
            .pointer("/greenhouse/application_id")
            .cloned()
            .unwrap_or(Value::Null);
        let feedback = Feedback {
            id: id.clone(),
            interview_id: interview_id.to_owned(),
            candidate_id: interview.candidate_id.clone(),
            external_refs: json!({"greenhouse": {"application_id": application_id, "scorecard_id": null}}),
            interviewer_id: interviewer_id.clone(),
            submitted_by_id: interviewer_id.clone(),
            status: "submitted".to_owned(),
            overall_recommendation: recommendation.to_owned(),
            attributes: Vec::new(),
            questions: Vec::new(),
            notes,
            interviewed_at: Some(interview.timing().starts_at()),
            submitted_at: Some(self.now),
            version: 1,
            created_at: self.now,
            updated_at: self.now,
        };
        let object = to_json(&feedback);
        self.feedback.insert(id.clone(), feedback);

        // The interview's `interviewers[].feedback_id` changes: a new version, no event of its own.
        let feedback_id = id.clone();
        self.update_interview(interview_id, |i| {
            if let Some(p) = i.interviewers.iter_mut().find(|p| p.user_id == interviewer_id) {
                p.feedback_id = Some(feedback_id);
            }
        })?;
        let queued = self.emit("feedback.submitted", object, None, None);
        Ok((id, queued + self.check_interview_completion(interview_id)))
    }

    /// Edits submitted feedback (`feedback.updated`); nothing changes, nothing is emitted.
    pub fn update_feedback(
        &mut self,
        id: &str,
        expected: Option<u64>,
        recommendation: Option<String>,
        notes: Option<Option<String>>,
    ) -> Result<(Value, usize), ApiError> {
        if let Some(r) = &recommendation {
            check_enum("overall_recommendation", r, RECOMMENDATIONS)?;
        }
        let now = self.now;
        let feedback =
            self.feedback.get_mut(id).ok_or_else(|| ApiError::not_found("feedback", id))?;
        check_version("feedback", id, feedback.version, expected)?;
        let before = to_json(feedback);
        if let Some(r) = recommendation {
            feedback.overall_recommendation = r;
        }
        if let Some(n) = notes {
            feedback.notes = n;
        }
        let previous = previous_attributes(&before, &to_json(feedback));
        if previous.as_object().is_none_or(|m| m.is_empty()) {
            return Ok((before, 0));
        }
        feedback.version += 1;
        feedback.updated_at = now;
        let after = to_json(feedback);
        let queued = self.emit("feedback.updated", after.clone(), Some(previous), None);
        Ok((after, queued))
    }

    /// Withdraws feedback (`feedback.deleted` with its last state); it is gone from `/v1`.
    pub fn delete_feedback(&mut self, id: &str) -> Result<usize, ApiError> {
        let feedback =
            self.feedback.remove(id).ok_or_else(|| ApiError::not_found("feedback", id))?;
        let (interview_id, interviewer_id) =
            (feedback.interview_id.clone(), feedback.interviewer_id.clone());
        if self.interviews.contains_key(&interview_id) {
            self.update_interview(&interview_id, |i| {
                if let Some(p) = i.interviewers.iter_mut().find(|p| p.user_id == interviewer_id) {
                    p.feedback_id = None;
                }
            })?;
        }
        Ok(self.emit("feedback.deleted", to_json(&feedback), None, None))
    }
}

pub(crate) fn get_feedback(state: &mut State, id: &str) -> ApiResult {
    let feedback = state.feedback.get(id).ok_or_else(|| ApiError::not_found("feedback", id))?;
    Ok(ApiReply::ok(to_json(feedback)))
}

/// `GET /v1/feedback?interview_id=&candidate_id=`.
pub(crate) fn list_feedback(state: &mut State, request: &ApiRequest) -> ApiResult {
    let interview_id = request.query("interview_id");
    let candidate_id = request.query("candidate_id");
    let items = state
        .feedback
        .values()
        .filter(|f| interview_id.is_none_or(|id| f.interview_id == id))
        .filter(|f| candidate_id.is_none_or(|id| f.candidate_id == id))
        .map(|f| list_item(to_json(f)))
        .collect();
    paginate(request, &state.base_url, items)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default)]
    overall_recommendation: Option<String>,
    #[serde(default)]
    notes: Option<Value>,
}

/// `PATCH /v1/feedback/{id}` with optional `If-Match`.
pub(crate) fn patch_feedback(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    let expected = if_match(request)?;
    let body: PatchBody = request.json()?;
    let notes = match body.notes {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(text)) => Some(Some(text)),
        Some(_) => {
            return Err(ApiError::field("notes", "invalid_type", "notes must be a string or null"));
        }
    };
    let (object, _) = state.update_feedback(id, expected, body.overall_recommendation, notes)?;
    Ok(ApiReply::ok(object))
}
