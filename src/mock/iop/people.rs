//! Candidates (upserted from the ATS by Greenhouse id) and users (interviewers, seeded
//! through the control API): their `/v1` routes and the state changes simulated people make.

use serde::Deserialize;
use serde_json::json;

use super::api::{ApiError, ApiReply, ApiRequest, ApiResult, list_item, paginate};
use super::control::SeedUser;
use super::state::{Candidate, Email, Phone, State, User, previous_attributes, to_json};

const EMAIL_TYPES: &[&str] = &["personal", "work", "other"];
const PHONE_TYPES: &[&str] = &["mobile", "home", "work", "other"];

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
}

impl CandidateBody {
    fn validate(&self) -> Result<(), ApiError> {
        if self.first_name.trim().is_empty() {
            return Err(ApiError::field("first_name", "blank", "first_name must not be blank"));
        }
        for (i, email) in self.emails.iter().enumerate() {
            if !email.address.contains('@') {
                let message =
                    format!("emails[{i}].address is not an e-mail address: {:?}", email.address);
                return Err(ApiError::field(
                    &format!("emails[{i}].address"),
                    "invalid_email",
                    message,
                ));
            }
            if !EMAIL_TYPES.contains(&email.kind.as_str()) {
                let message = format!(
                    "emails[{i}].type must be one of {EMAIL_TYPES:?}, got {:?}",
                    email.kind
                );
                return Err(ApiError::field(&format!("emails[{i}].type"), "invalid_enum", message));
            }
        }
        let primaries = self.emails.iter().filter(|e| e.primary).count();
        if !self.emails.is_empty() && primaries != 1 {
            let message = format!("exactly one e-mail must be primary, {primaries} are");
            return Err(ApiError::field("emails", "primary_count", message));
        }
        for (i, phone) in self.phones.iter().enumerate() {
            if !PHONE_TYPES.contains(&phone.kind.as_str()) {
                let message = format!(
                    "phones[{i}].type must be one of {PHONE_TYPES:?}, got {:?}",
                    phone.kind
                );
                return Err(ApiError::field(&format!("phones[{i}].type"), "invalid_enum", message));
            }
        }
        Ok(())
    }
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
    body.validate()?;
    let emails: Vec<Email> = body
        .emails
        .into_iter()
        .map(|e| Email { address: e.address.trim().to_lowercase(), ..e })
        .collect();

    let existing = state
        .candidates
        .values()
        .find(|c| c.external_refs.pointer("/greenhouse/candidate_id") == Some(&json!(gh_id)));
    let Some(id) = existing.map(|c| c.id.clone()) else {
        let id = state.next_id("cand");
        let candidate = Candidate {
            id: id.clone(),
            external_refs: json!({"greenhouse": {"candidate_id": gh_id}}),
            first_name: body.first_name,
            last_name: body.last_name,
            emails,
            phones: body.phones,
            timezone: body.timezone,
            status: "active".to_owned(),
            merged_into_id: None,
            version: 1,
            created_at: state.now,
            updated_at: state.now,
        };
        let object = to_json(&candidate);
        state.candidates.insert(id, candidate);
        state.emit("candidate.created", object.clone(), None, None);
        return Ok(ApiReply::created(object));
    };

    let now = state.now;
    let candidate =
        state.candidates.get_mut(&id).ok_or_else(|| ApiError::not_found("candidate", &id))?;
    let before = to_json(candidate);
    candidate.first_name = body.first_name;
    candidate.last_name = body.last_name;
    candidate.emails = emails;
    candidate.phones = body.phones;
    candidate.timezone = body.timezone;
    let mut after = to_json(candidate);
    let changed = previous_attributes(&before, &after);
    if changed.as_object().is_some_and(|m| !m.is_empty()) {
        candidate.version += 1;
        candidate.updated_at = now;
        after = to_json(candidate);
        state.emit("candidate.updated", after.clone(), Some(changed), None);
    }
    Ok(ApiReply::ok(after))
}

pub(crate) fn get_candidate(state: &mut State, id: &str) -> ApiResult {
    let candidate = state.candidates.get(id).ok_or_else(|| ApiError::not_found("candidate", id))?;
    Ok(ApiReply::ok(to_json(candidate)))
}

/// `GET /v1/candidates?external_ref.greenhouse.candidate_id=&email=&updated_after=`.
pub(crate) fn list_candidates(state: &mut State, request: &ApiRequest) -> ApiResult {
    let gh_id = request.query_int("external_ref.greenhouse.candidate_id")?;
    let email = request.query("email").map(str::to_lowercase);
    let updated_after = request.query_time("updated_after")?;
    let items = state
        .candidates
        .values()
        .filter(|c| {
            gh_id.is_none_or(|id| {
                c.external_refs.pointer("/greenhouse/candidate_id") == Some(&json!(id))
            })
        })
        .filter(|c| email.as_ref().is_none_or(|e| c.emails.iter().any(|x| &x.address == e)))
        .filter(|c| updated_after.is_none_or(|at| c.updated_at > at))
        .map(|c| list_item(to_json(c)))
        .collect();
    paginate(request, &state.base_url, items)
}

pub(crate) fn get_user(state: &mut State, id: &str) -> ApiResult {
    let user = state.users.get(id).ok_or_else(|| ApiError::not_found("user", id))?;
    Ok(ApiReply::ok(to_json(user)))
}

/// `GET /v1/users?email=&external_ref.greenhouse.user_id=&status=`.
pub(crate) fn list_users(state: &mut State, request: &ApiRequest) -> ApiResult {
    let email = request.query("email").map(str::to_lowercase);
    let gh_id = request.query_int("external_ref.greenhouse.user_id")?;
    let status = request.query("status");
    let items = state
        .users
        .values()
        .filter(|u| email.as_ref().is_none_or(|e| &u.email.to_lowercase() == e))
        .filter(|u| {
            gh_id
                .is_none_or(|id| u.external_refs.pointer("/greenhouse/user_id") == Some(&json!(id)))
        })
        .filter(|u| status.is_none_or(|s| u.status == s))
        .map(|u| list_item(to_json(u)))
        .collect();
    paginate(request, &state.base_url, items)
}

impl State {
    /// Creates a user from the control API's seed.
    pub fn seed_user(&mut self, seed: &SeedUser) -> String {
        let id = self.next_id("usr");
        let external_refs = match seed.greenhouse_user_id {
            Some(gh_id) => json!({"greenhouse": {"user_id": gh_id}}),
            None => json!({}),
        };
        let user = User {
            id: id.clone(),
            external_refs,
            name: seed.name.clone(),
            email: seed.email.trim().to_lowercase(),
            timezone: seed.timezone.clone(),
            calendar_status: "connected".to_owned(),
            status: "active".to_owned(),
            // Mon–Fri 09:00–17:00 local, the common default of scheduling tools.
            working_hours: (1..=5)
                .map(|day| json!({"weekday": day, "start": "09:00", "end": "17:00"}))
                .collect(),
            version: 1,
            created_at: self.now,
            updated_at: self.now,
        };
        self.users.insert(id.clone(), user);
        id
    }

    /// `deactivate_user` / `disconnect_calendar`: sets `field` to `value` and emits `event`;
    /// doing it twice is an illegal transition.
    pub fn change_user(
        &mut self,
        id: &str,
        field: &str,
        value: &str,
        event: &str,
    ) -> Result<usize, ApiError> {
        let now = self.now;
        let user = self.users.get_mut(id).ok_or_else(|| ApiError::not_found("user", id))?;
        let slot = if field == "status" { &mut user.status } else { &mut user.calendar_status };
        if slot == value {
            return Err(ApiError::invalid_state(format!("user {id} already has {field} {value}")));
        }
        let previous = json!({ field: slot.clone() });
        *slot = value.to_owned();
        user.version += 1;
        user.updated_at = now;
        let object = to_json(user);
        Ok(self.emit(event, object, Some(previous), None))
    }

    /// The users an interview gets when none are named: the requested pool, else every active
    /// user linked to a Greenhouse user, else the first user.
    pub fn default_interviewers(&self, pool: &[String]) -> Vec<String> {
        if !pool.is_empty() {
            return pool.to_vec();
        }
        let linked: Vec<String> = self
            .users
            .values()
            .filter(|u| {
                u.status == "active" && u.external_refs.pointer("/greenhouse/user_id").is_some()
            })
            .map(|u| u.id.clone())
            .collect();
        if !linked.is_empty() {
            return linked;
        }
        self.users.keys().take(1).cloned().collect()
    }
}

/// Rejects an unknown (`not_found`) or deactivated (`interviewer_inactive`) user id.
pub(crate) fn check_user(state: &State, field: &str, id: &str) -> Result<(), ApiError> {
    match state.users.get(id) {
        None => Err(ApiError::field(field, "not_found", format!("no user with id {id}"))),
        Some(user) if user.status != "active" => Err(ApiError::new(
            http::StatusCode::UNPROCESSABLE_ENTITY,
            "interviewer_inactive",
            format!("user {id} is deactivated"),
        )
        .with_details(json!({"fields": [{"field": field, "code": "interviewer_inactive", "message": format!("user {id} is deactivated")}]}))),
        Some(_) => Ok(()),
    }
}
