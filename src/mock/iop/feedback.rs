//! Feedback (§4.3): submitted by simulated interviewers in any interview state (late,
//! cancelled, no-show), edited, withdrawn, and read through `/v1/feedback`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::api::{ApiError, ApiReply, ApiRequest, ApiResult, filtered_page};
use super::interview_routes::check_enum;
use super::interviews::{check_version, if_match};
use super::state::{Feedback, Interview, State, previous_attributes, to_json};

pub(crate) const RECOMMENDATIONS: &[&str] =
    &["definitely_not", "no", "yes", "strong_yes", "no_decision"];
/// Attribute ratings add `mixed` to the recommendation scale (as Greenhouse does).
const RATINGS: &[&str] = &["definitely_not", "no", "mixed", "yes", "strong_yes", "no_decision"];

/// The interviewer a submission is for: named, else the interview's first. They must be on
/// the interview and must not have submitted already (a second submit is an edit: PATCH).
fn feedback_author(interview: &Interview, named: Option<String>) -> Result<String, ApiError> {
    let interview_id = &interview.id;
    let Some(interviewer_id) =
        named.or_else(|| interview.interviewers.first().map(|p| p.user_id.clone()))
    else {
        let message = format!("interview {interview_id} has no interviewers");
        return Err(ApiError::field("interviewer_id", "required", message));
    };
    let Some(participant) = interview.interviewers.iter().find(|p| p.user_id == interviewer_id)
    else {
        let message = format!("{interviewer_id} is not an interviewer of {interview_id}");
        return Err(ApiError::field("interviewer_id", "not_an_interviewer", message));
    };
    if let Some(existing) = &participant.feedback_id {
        let message = format!(
            "{interviewer_id} already submitted {existing} for {interview_id}; update it instead"
        );
        return Err(ApiError::invalid_state(message).with_details(json!({"existing_id": existing})));
    }
    Ok(interviewer_id)
}

/// One interviewer's evaluation as filed, from the control API or
/// `POST /v1/interviews/{id}/feedback`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewFeedback {
    /// The interview's first interviewer when absent.
    #[serde(default)]
    pub interviewer_id: Option<String>,
    /// Who filed it (on someone's behalf, as in Greenhouse); the interviewer when absent.
    #[serde(default)]
    pub submitted_by_id: Option<String>,
    pub overall_recommendation: String,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    #[serde(default)]
    pub questions: Vec<Question>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Attribute {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub rating: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Question {
    pub question: String,
    pub answer: String,
    #[serde(default)]
    pub external_question_id: Option<i64>,
}

impl NewFeedback {
    fn validate(&self) -> Result<(), ApiError> {
        check_enum("overall_recommendation", &self.overall_recommendation, RECOMMENDATIONS)?;
        for (i, attribute) in self.attributes.iter().enumerate() {
            check_enum(&format!("attributes[{i}].rating"), &attribute.rating, RATINGS)?;
        }
        Ok(())
    }
}

impl State {
    /// Records one interviewer's feedback (`feedback.submitted`), in any interview state;
    /// may complete the interview. Returns (`fb_…`, deliveries).
    pub fn submit_feedback(
        &mut self,
        interview_id: &str,
        new: NewFeedback,
    ) -> Result<(String, usize), ApiError> {
        new.validate()?;
        let interview = self
            .interviews
            .get(interview_id)
            .ok_or_else(|| ApiError::not_found("interview", interview_id))?
            .clone();
        let interviewer_id = feedback_author(&interview, new.interviewer_id.clone())?;
        if let Some(by) = &new.submitted_by_id
            && !self.users.contains_key(by)
        {
            let message = format!("no user with id {by}");
            return Err(ApiError::field("submitted_by_id", "not_found", message));
        }

        let id = self.next_id("fb");
        let feedback = self.feedback_record(&id, &interview, &interviewer_id, new);
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

    fn feedback_record(
        &self,
        id: &str,
        interview: &Interview,
        interviewer_id: &str,
        new: NewFeedback,
    ) -> Feedback {
        let application_id = interview
            .external_refs
            .pointer("/greenhouse/application_id")
            .cloned()
            .unwrap_or(Value::Null);
        Feedback {
            id: id.to_owned(),
            interview_id: interview.id.clone(),
            candidate_id: interview.candidate_id.clone(),
            external_refs: json!({"greenhouse": {"application_id": application_id, "scorecard_id": null}}),
            interviewer_id: interviewer_id.to_owned(),
            submitted_by_id: new.submitted_by_id.unwrap_or_else(|| interviewer_id.to_owned()),
            status: "submitted".to_owned(),
            overall_recommendation: new.overall_recommendation,
            attributes: new.attributes.iter().map(to_json).collect(),
            questions: new.questions.iter().map(to_json).collect(),
            notes: new.notes,
            interviewed_at: Some(interview.timing().starts_at()),
            submitted_at: Some(self.now),
            version: 1,
            created_at: self.now,
            updated_at: self.now,
        }
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

/// `GET /v1/feedback?interview_id=&candidate_id=&submitted_after=&updated_after=&external_ref.greenhouse.*=`.
pub(crate) fn list_feedback(state: &mut State, request: &ApiRequest) -> ApiResult {
    let interview_id = request.query("interview_id");
    let candidate_id = request.query("candidate_id");
    let submitted_after = request.query_time("submitted_after")?;
    let values = state
        .feedback
        .values()
        .filter(|f| interview_id.is_none_or(|id| f.interview_id == id))
        .filter(|f| candidate_id.is_none_or(|id| f.candidate_id == id))
        .filter(|f| submitted_after.is_none_or(|at| f.submitted_at.is_some_and(|s| s > at)))
        .map(to_json);
    filtered_page(request, &state.base_url, values)
}

/// `POST /v1/interviews/{id}/feedback` (interviewer side; Idempotency-Key required): 201 with
/// the feedback, accepted in every interview state.
pub(crate) fn submit_route(
    state: &mut State,
    request: &ApiRequest,
    interview_id: &str,
) -> ApiResult {
    let body: NewFeedback = request.json()?;
    let (id, _) = state.submit_feedback(interview_id, body)?;
    let feedback = state.feedback.get(&id).ok_or_else(|| ApiError::not_found("feedback", &id))?;
    Ok(ApiReply::created(to_json(feedback)))
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
