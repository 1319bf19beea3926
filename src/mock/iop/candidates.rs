//! Candidates (§4.3), synced from the ATS: create, upsert by Greenhouse id, PATCH with
//! `If-Match`, merge into another candidate and anonymize. States: `active → merged` and
//! `active|merged → anonymized`; a merged candidate answers writes with `410 gone`.

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::api::{ApiError, ApiReply, ApiRequest, ApiResult, filtered_page};
use super::custom_fields;
use super::interviews::{check_version, if_match};
use super::state::{
    Candidate, Email, Phone, State, empty_object, merge_json, previous_attributes, to_json,
};

const EMAIL_TYPES: &[&str] = &["personal", "work", "other"];
const PHONE_TYPES: &[&str] = &["mobile", "home", "work", "other"];
/// What `POST …/anonymize` may clear; `name` stands for both name fields.
const ANONYMIZABLE: &[&str] =
    &["first_name", "last_name", "name", "emails", "email", "phones", "phone", "timezone"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CandidateBody {
    first_name: String,
    last_name: String,
    #[serde(default)]
    emails: Vec<Email>,
    #[serde(default)]
    phones: Vec<Phone>,
    #[serde(default)]
    timezone: Option<String>,
    /// Replaces the stored custom fields (absent = none).
    #[serde(default)]
    custom_fields: Map<String, Value>,
}

/// The contact fields every write of a candidate checks the same way.
fn validate_contact(first_name: &str, emails: &[Email], phones: &[Phone]) -> Result<(), ApiError> {
    if first_name.trim().is_empty() {
        return Err(ApiError::field("first_name", "blank", "first_name must not be blank"));
    }
    for (i, email) in emails.iter().enumerate() {
        if !email.address.contains('@') {
            let message =
                format!("emails[{i}].address is not an e-mail address: {:?}", email.address);
            return Err(ApiError::field(&format!("emails[{i}].address"), "invalid_email", message));
        }
        if !EMAIL_TYPES.contains(&email.kind.as_str()) {
            let message =
                format!("emails[{i}].type must be one of {EMAIL_TYPES:?}, got {:?}", email.kind);
            return Err(ApiError::field(&format!("emails[{i}].type"), "invalid_enum", message));
        }
    }
    let primaries = emails.iter().filter(|e| e.primary).count();
    if !emails.is_empty() && primaries != 1 {
        let message = format!("exactly one e-mail must be primary, {primaries} are");
        return Err(ApiError::field("emails", "primary_count", message));
    }
    for (i, phone) in phones.iter().enumerate() {
        if !PHONE_TYPES.contains(&phone.kind.as_str()) {
            let message =
                format!("phones[{i}].type must be one of {PHONE_TYPES:?}, got {:?}", phone.kind);
            return Err(ApiError::field(&format!("phones[{i}].type"), "invalid_enum", message));
        }
    }
    Ok(())
}

/// A `timezone` field must be an IANA zone name (contract §4.3: "string (IANA)"); the
/// IOP computes availability windows in it.
pub(crate) fn check_zone(field: &str, zone: Option<&str>) -> Result<(), ApiError> {
    match zone {
        Some(zone) if !crate::timezone::is_iana_zone(zone) => Err(ApiError::field(
            field,
            "invalid_timezone",
            format!("{field} must be an IANA time zone name, got {zone:?}"),
        )),
        _ => Ok(()),
    }
}

fn lowercase(emails: Vec<Email>) -> Vec<Email> {
    emails.into_iter().map(|e| Email { address: e.address.trim().to_lowercase(), ..e }).collect()
}

fn gh_candidate_id(candidate: &Candidate) -> Option<&Value> {
    candidate.external_refs.pointer("/greenhouse/candidate_id")
}

impl State {
    fn insert_candidate(&mut self, body: CandidateBody, external_refs: Value) -> Value {
        let id = self.next_id("cand");
        let candidate = Candidate {
            id: id.clone(),
            external_refs,
            first_name: body.first_name,
            last_name: body.last_name,
            emails: lowercase(body.emails),
            phones: body.phones,
            timezone: body.timezone,
            custom_fields: body.custom_fields,
            status: "active".to_owned(),
            merged_into_id: None,
            version: 1,
            created_at: self.now,
            updated_at: self.now,
        };
        let object = to_json(&candidate);
        self.candidates.insert(id, candidate);
        self.emit("candidate.created", object.clone(), None, None);
        object
    }

    /// Applies `change`; when a field other than `external_refs` changed, bumps the version
    /// and emits `candidate.updated`. An `external_refs`-only change bumps silently (it is
    /// the engine's own bookkeeping, as for interviews). Returns the new JSON.
    fn change_candidate(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut Candidate),
    ) -> Result<Value, ApiError> {
        let now = self.now;
        let candidate =
            self.candidates.get_mut(id).ok_or_else(|| ApiError::not_found("candidate", id))?;
        let before = to_json(candidate);
        change(candidate);
        let mut previous = previous_attributes(&before, &to_json(candidate));
        let Some(changed) = previous.as_object_mut().filter(|m| !m.is_empty()) else {
            return Ok(before);
        };
        let visible = changed.keys().any(|k| k != "external_refs");
        changed.remove("external_refs");
        candidate.version += 1;
        candidate.updated_at = now;
        let after = to_json(candidate);
        if visible {
            self.emit("candidate.updated", after.clone(), Some(previous), None);
        }
        Ok(after)
    }

    /// A candidate that may still be written: `410 gone` once merged, `409` once anonymized.
    fn writable_candidate(&self, id: &str) -> Result<&Candidate, ApiError> {
        let candidate =
            self.candidates.get(id).ok_or_else(|| ApiError::not_found("candidate", id))?;
        match candidate.status.as_str() {
            "merged" => Err(ApiError::new(
                StatusCode::GONE,
                "gone",
                format!("candidate {id} was merged into {:?}", candidate.merged_into_id),
            )
            .with_details(json!({"merged_into": candidate.merged_into_id}))),
            "active" => Ok(candidate),
            other => Err(ApiError::invalid_state(format!("candidate {id} is {other}"))),
        }
    }

    /// `active → merged`: the loser points at the winner, and its scheduling requests,
    /// interviews and feedback move to the winner (a version bump each, no event each; the
    /// `candidate.merged` event lists them under `data.repointed`).
    pub fn merge_candidate(&mut self, id: &str, into_id: &str) -> Result<Value, ApiError> {
        self.writable_candidate(id)?;
        match self.candidates.get(into_id) {
            None => {
                let message = format!("no candidate with id {into_id}");
                return Err(ApiError::field("into_id", "not_found", message));
            }
            Some(_) if into_id == id => {
                return Err(ApiError::field(
                    "into_id",
                    "same",
                    "a candidate cannot merge into itself",
                ));
            }
            Some(winner) if winner.status != "active" => {
                let message = format!("candidate {into_id} is {}", winner.status);
                return Err(ApiError::field("into_id", "not_active", message));
            }
            Some(_) => {}
        }
        let repointed = self.repoint_candidate(id, into_id);
        let (now, into) = (self.now, into_id.to_owned());
        let candidate =
            self.candidates.get_mut(id).ok_or_else(|| ApiError::not_found("candidate", id))?;
        candidate.status = "merged".to_owned();
        candidate.merged_into_id = Some(into);
        candidate.version += 1;
        candidate.updated_at = now;
        let object = to_json(candidate);
        let previous = json!({"status": "active", "merged_into_id": null});
        self.emit(
            "candidate.merged",
            object.clone(),
            Some(previous),
            Some(("repointed", repointed)),
        );
        Ok(object)
    }

    fn repoint_candidate(&mut self, from: &str, to: &str) -> Value {
        let now = self.now;
        let mut ids =
            json!({"scheduling_request_ids": [], "interview_ids": [], "feedback_ids": []});
        let mut note = |key: &str, id: &str| {
            if let Some(list) = ids[key].as_array_mut() {
                list.push(json!(id));
            }
        };
        for request in self.requests.values_mut().filter(|r| r.candidate_id == from) {
            (request.candidate_id, request.version, request.updated_at) =
                (to.to_owned(), request.version + 1, now);
            note("scheduling_request_ids", &request.id);
        }
        for interview in self.interviews.values_mut().filter(|i| i.candidate_id == from) {
            (interview.candidate_id, interview.version, interview.updated_at) =
                (to.to_owned(), interview.version + 1, now);
            note("interview_ids", &interview.id);
        }
        for feedback in self.feedback.values_mut().filter(|f| f.candidate_id == from) {
            (feedback.candidate_id, feedback.version, feedback.updated_at) =
                (to.to_owned(), feedback.version + 1, now);
            note("feedback_ids", &feedback.id);
        }
        ids
    }

    /// `active|merged → anonymized`: clears the named personal fields (all by default) and
    /// emits `candidate.anonymized` with `data.anonymized_fields`.
    pub fn anonymize_candidate(
        &mut self,
        id: &str,
        fields: Option<Vec<String>>,
    ) -> Result<Value, ApiError> {
        let candidate =
            self.candidates.get(id).ok_or_else(|| ApiError::not_found("candidate", id))?;
        if candidate.status == "anonymized" {
            return Err(ApiError::invalid_state(format!("candidate {id} is already anonymized")));
        }
        let fields = fields.unwrap_or_else(|| {
            ["first_name", "last_name", "emails", "phones", "timezone"].map(str::to_owned).to_vec()
        });
        let mut cleared = Vec::new();
        for (i, field) in fields.iter().enumerate() {
            let canonical: &[&str] = match field.as_str() {
                "name" => &["first_name", "last_name"],
                "email" | "emails" => &["emails"],
                "phone" | "phones" => &["phones"],
                "first_name" | "last_name" | "timezone" => &[field.as_str()],
                _ => {
                    let message =
                        format!("fields[{i}] must be one of {ANONYMIZABLE:?}, got {field:?}");
                    return Err(ApiError::field(&format!("fields[{i}]"), "invalid_enum", message));
                }
            };
            for name in canonical {
                if !cleared.contains(name) {
                    cleared.push(*name);
                }
            }
        }

        let (now, status) = (self.now, candidate.status.clone());
        let candidate =
            self.candidates.get_mut(id).ok_or_else(|| ApiError::not_found("candidate", id))?;
        for field in &cleared {
            match *field {
                "first_name" => candidate.first_name.clear(),
                "last_name" => candidate.last_name.clear(),
                "emails" => candidate.emails.clear(),
                "phones" => candidate.phones.clear(),
                _ => candidate.timezone = None,
            }
        }
        candidate.status = "anonymized".to_owned();
        candidate.version += 1;
        candidate.updated_at = now;
        let object = to_json(candidate);
        self.emit(
            "candidate.anonymized",
            object.clone(),
            Some(json!({"status": status})),
            Some(("anonymized_fields", json!(cleared))),
        );
        Ok(object)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCandidate {
    first_name: String,
    last_name: String,
    #[serde(default)]
    emails: Vec<Email>,
    #[serde(default)]
    phones: Vec<Phone>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default = "empty_object")]
    external_refs: Value,
    #[serde(default)]
    custom_fields: Map<String, Value>,
}

/// `POST /v1/candidates` (Idempotency-Key required): 201, or `409 duplicate_external_ref`
/// when another candidate already holds `external_refs.greenhouse.candidate_id`.
pub(crate) fn create_candidate(state: &mut State, request: &ApiRequest) -> ApiResult {
    let body: NewCandidate = request.json()?;
    validate_contact(&body.first_name, &body.emails, &body.phones)?;
    check_zone("timezone", body.timezone.as_deref())?;
    custom_fields::validate(&body.custom_fields)?;
    let refs = body.external_refs;
    if !refs.as_object().is_some_and(|systems| systems.values().all(Value::is_object)) {
        let message = "external_refs must be an object of objects, e.g. {\"greenhouse\": {...}}";
        return Err(ApiError::field("external_refs", "invalid", message));
    }
    if let Some(gh_id) = refs.pointer("/greenhouse/candidate_id")
        && let Some(existing) =
            state.candidates.values().find(|c| gh_candidate_id(c) == Some(gh_id))
    {
        let message = format!("candidate {} already has Greenhouse id {gh_id}", existing.id);
        return Err(ApiError::new(StatusCode::CONFLICT, "duplicate_external_ref", message)
            .with_details(json!({"existing_id": existing.id})));
    }
    let contact = CandidateBody {
        first_name: body.first_name,
        last_name: body.last_name,
        emails: body.emails,
        phones: body.phones,
        timezone: body.timezone,
        custom_fields: body.custom_fields,
    };
    Ok(ApiReply::created(state.insert_candidate(contact, refs)))
}

/// `PUT /v1/candidates/by_external_ref/greenhouse/{gh_candidate_id}`: 201 when created, 200
/// when it existed (the version bumps only if a field changed).
pub(crate) fn upsert_candidate(state: &mut State, request: &ApiRequest, gh_id: &str) -> ApiResult {
    let gh_id: i64 = gh_id.parse().map_err(|_| {
        ApiError::field(
            "gh_candidate_id",
            "invalid_integer",
            format!("the Greenhouse candidate id must be an integer, got {gh_id:?}"),
        )
    })?;
    let body: CandidateBody = request.json()?;
    validate_contact(&body.first_name, &body.emails, &body.phones)?;
    check_zone("timezone", body.timezone.as_deref())?;
    custom_fields::validate(&body.custom_fields)?;
    let existing = state.candidates.values().find(|c| gh_candidate_id(c) == Some(&json!(gh_id)));
    let Some(id) = existing.map(|c| c.id.clone()) else {
        let refs = json!({"greenhouse": {"candidate_id": gh_id}});
        return Ok(ApiReply::created(state.insert_candidate(body, refs)));
    };
    state.writable_candidate(&id)?;
    let object = state.change_candidate(&id, |c| {
        c.first_name = body.first_name;
        c.last_name = body.last_name;
        c.emails = lowercase(body.emails);
        c.phones = body.phones;
        c.timezone = body.timezone;
        c.custom_fields = body.custom_fields;
    })?;
    Ok(ApiReply::ok(object))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    emails: Option<Vec<Email>>,
    #[serde(default)]
    phones: Option<Vec<Phone>>,
    /// Absent = keep, `null` = clear.
    #[serde(default, with = "double_option")]
    timezone: Option<Option<String>>,
    #[serde(default)]
    external_refs: Option<Value>,
    /// Replaces the stored custom fields when present.
    #[serde(default)]
    custom_fields: Option<Map<String, Value>>,
}

/// Tells a field set to `null` from an absent one.
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

/// `PATCH /v1/candidates/{id}` with optional `If-Match`: contact fields replace, `external_refs`
/// deep-merges (`null` deletes a key).
pub(crate) fn patch_candidate(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    let expected = if_match(request)?;
    let body: PatchBody = request.json()?;
    let current = state.writable_candidate(id)?;
    check_version("candidate", id, current.version, expected)?;
    let first_name = body.first_name.unwrap_or_else(|| current.first_name.clone());
    let emails = body.emails.map(lowercase).unwrap_or_else(|| current.emails.clone());
    let phones = body.phones.unwrap_or_else(|| current.phones.clone());
    validate_contact(&first_name, &emails, &phones)?;
    check_zone("timezone", body.timezone.as_ref().and_then(Option::as_deref))?;
    if let Some(fields) = &body.custom_fields {
        custom_fields::validate(fields)?;
    }
    let mut refs = current.external_refs.clone();
    if let Some(patch) = &body.external_refs {
        if !patch.is_object() {
            return Err(ApiError::field(
                "external_refs",
                "invalid_type",
                "external_refs must be an object",
            ));
        }
        merge_json(&mut refs, patch);
    }
    let object = state.change_candidate(id, |c| {
        c.first_name = first_name;
        if let Some(last_name) = body.last_name {
            c.last_name = last_name;
        }
        c.emails = emails;
        c.phones = phones;
        if let Some(timezone) = body.timezone {
            c.timezone = timezone;
        }
        c.external_refs = refs;
        if let Some(fields) = body.custom_fields {
            c.custom_fields = fields;
        }
    })?;
    Ok(ApiReply::ok(object))
}

/// `POST /v1/candidates/{id}/merge {"into_id": "cand_…"}`: answers the merged (losing) record.
pub(crate) fn merge_route(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Merge {
        into_id: String,
    }
    let body: Merge = request.json()?;
    state.merge_candidate(id, &body.into_id).map(ApiReply::ok)
}

/// `POST /v1/candidates/{id}/anonymize {"fields": [...]}` (every personal field when absent).
pub(crate) fn anonymize_route(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Anonymize {
        #[serde(default)]
        fields: Option<Vec<String>>,
    }
    let body: Anonymize = request.json()?;
    state.anonymize_candidate(id, body.fields).map(ApiReply::ok)
}

pub(crate) fn get_candidate(state: &mut State, id: &str) -> ApiResult {
    let candidate = state.candidates.get(id).ok_or_else(|| ApiError::not_found("candidate", id))?;
    Ok(ApiReply::ok(to_json(candidate)))
}

/// `GET /v1/candidates?external_ref.greenhouse.candidate_id=&email=&status=&updated_after=`.
pub(crate) fn list_candidates(state: &mut State, request: &ApiRequest) -> ApiResult {
    let email = request.query("email").map(str::to_lowercase);
    let values = state
        .candidates
        .values()
        .filter(|c| email.as_ref().is_none_or(|e| c.emails.iter().any(|x| &x.address == e)))
        .map(to_json);
    filtered_page(request, &state.base_url, values)
}
