//! Users (interviewers): seeded through the control API or upserted by Greenhouse user id,
//! their `/v1` routes, and the changes simulated people make (deactivation, calendar status).

use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{ApiError, ApiReply, ApiRequest, ApiResult, filtered_page};
use super::control::SeedUser;
use super::state::{State, User, previous_attributes, to_json};

const USER_STATUSES: &[&str] = &["active", "deactivated"];
const CALENDAR_STATUSES: &[&str] = &["connected", "disconnected", "error"];

pub(crate) fn get_user(state: &mut State, id: &str) -> ApiResult {
    let user = state.users.get(id).ok_or_else(|| ApiError::not_found("user", id))?;
    Ok(ApiReply::ok(to_json(user)))
}

/// `GET /v1/users?email=&external_ref.greenhouse.user_id=&status=&updated_after=`.
pub(crate) fn list_users(state: &mut State, request: &ApiRequest) -> ApiResult {
    let email = request.query("email").map(str::to_lowercase);
    let values = state
        .users
        .values()
        .filter(|u| email.as_ref().is_none_or(|e| &u.email.to_lowercase() == e))
        .map(to_json);
    filtered_page(request, &state.base_url, values)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserBody {
    name: String,
    email: String,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    employee_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    calendar_status: Option<String>,
    #[serde(default)]
    working_hours: Option<Vec<WorkingHours>>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct WorkingHours {
    weekday: u8,
    start: String,
    end: String,
}

/// Minutes since midnight of an `HH:MM` time, if it is one.
fn minutes(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (text.len() == 5 && h < 24 && m < 60).then_some(h * 60 + m)
}

impl UserBody {
    fn validate(&self, state: &State, own_id: Option<&str>) -> Result<(), ApiError> {
        if self.name.trim().is_empty() {
            return Err(ApiError::field("name", "blank", "name must not be blank"));
        }
        let email = self.email.trim().to_lowercase();
        if !email.contains('@') {
            let message = format!("email is not an e-mail address: {:?}", self.email);
            return Err(ApiError::field("email", "invalid_email", message));
        }
        super::candidates::check_zone("timezone", self.timezone.as_deref())?;
        let status = self.status.as_deref().unwrap_or("active");
        super::interview_routes::check_enum("status", status, USER_STATUSES)?;
        if let Some(calendar) = &self.calendar_status {
            super::interview_routes::check_enum("calendar_status", calendar, CALENDAR_STATUSES)?;
        }
        // E-mail addresses are unique among active users.
        let taken = state
            .users
            .values()
            .find(|u| u.email == email && u.status == "active" && Some(u.id.as_str()) != own_id);
        if let Some(other) = taken.filter(|_| status == "active") {
            let message = format!("{email} is the e-mail of active user {}", other.id);
            return Err(ApiError::field("email", "taken", message));
        }
        for (i, hours) in self.working_hours.iter().flatten().enumerate() {
            let field = format!("working_hours[{i}]");
            if !(1..=7).contains(&hours.weekday) {
                let message =
                    format!("{field}.weekday must be 1 (Monday) to 7, got {}", hours.weekday);
                return Err(ApiError::field(&format!("{field}.weekday"), "out_of_range", message));
            }
            match (minutes(&hours.start), minutes(&hours.end)) {
                (Some(start), Some(end)) if start < end => {}
                _ => {
                    let message = format!(
                        "{field} needs HH:MM start before end, got {}–{}",
                        hours.start, hours.end
                    );
                    return Err(ApiError::field(&format!("{field}.end"), "invalid_range", message));
                }
            }
        }
        Ok(())
    }
}

/// `PUT /v1/users/by_external_ref/greenhouse/{gh_user_id}`: 201 + `user.created` when new;
/// 200 otherwise, emitting `user.deactivated` / `user.calendar_disconnected` when the upsert
/// makes that change, else `user.updated` (nothing when nothing changed).
pub(crate) fn upsert_user(state: &mut State, request: &ApiRequest, gh_id: &str) -> ApiResult {
    let gh_id: i64 = gh_id.parse().map_err(|_| {
        let message = format!("the Greenhouse user id must be an integer, got {gh_id:?}");
        ApiError::field("gh_user_id", "invalid_integer", message)
    })?;
    let body: UserBody = request.json()?;
    let existing = state
        .users
        .values()
        .find(|u| u.external_refs.pointer("/greenhouse/user_id") == Some(&json!(gh_id)))
        .map(|u| u.id.clone());
    body.validate(state, existing.as_deref())?;
    let mut refs = json!({"greenhouse": {"user_id": gh_id}});
    if let Some(employee_id) = &body.employee_id {
        refs["greenhouse"]["employee_id"] = json!(employee_id);
    }
    let hours: Option<Vec<Value>> =
        body.working_hours.as_ref().map(|all| all.iter().map(to_json).collect());

    let Some(id) = existing else {
        let id = state.next_id("usr");
        let user = User {
            id: id.clone(),
            external_refs: refs,
            name: body.name,
            email: body.email.trim().to_lowercase(),
            timezone: body.timezone.unwrap_or_else(|| "UTC".to_owned()),
            calendar_status: body.calendar_status.unwrap_or_else(|| "connected".to_owned()),
            status: body.status.unwrap_or_else(|| "active".to_owned()),
            working_hours: hours.unwrap_or_else(default_working_hours),
            version: 1,
            created_at: state.now,
            updated_at: state.now,
        };
        let object = to_json(&user);
        state.users.insert(id, user);
        state.emit("user.created", object.clone(), None, None);
        return Ok(ApiReply::created(object));
    };

    let now = state.now;
    let user = state.users.get_mut(&id).ok_or_else(|| ApiError::not_found("user", &id))?;
    let before = to_json(user);
    user.name = body.name;
    user.email = body.email.trim().to_lowercase();
    crate::mock::iop::state::merge_json(&mut user.external_refs, &refs);
    if let Some(timezone) = body.timezone {
        user.timezone = timezone;
    }
    if let Some(status) = body.status {
        user.status = status;
    }
    if let Some(calendar) = body.calendar_status {
        user.calendar_status = calendar;
    }
    if let Some(hours) = hours {
        user.working_hours = hours;
    }
    let previous = previous_attributes(&before, &to_json(user));
    if previous.as_object().is_none_or(|m| m.is_empty()) {
        return Ok(ApiReply::ok(before));
    }
    user.version += 1;
    user.updated_at = now;
    let after = to_json(user);
    let event = if previous.get("status").is_some() && after["status"] == "deactivated" {
        "user.deactivated"
    } else if previous.get("calendar_status").is_some()
        && after["calendar_status"] == "disconnected"
    {
        "user.calendar_disconnected"
    } else {
        "user.updated"
    };
    state.emit(event, after.clone(), Some(previous), None);
    Ok(ApiReply::ok(after))
}

/// Mon–Fri 09:00–17:00 local, the common default of scheduling tools.
fn default_working_hours() -> Vec<Value> {
    (1..=5).map(|day| json!({"weekday": day, "start": "09:00", "end": "17:00"})).collect()
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
            working_hours: default_working_hours(),
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
