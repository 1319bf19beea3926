//! The event log and its API: recording an event (envelope §4.5), queueing one delivery per
//! interested subscription, `GET /v1/events`, redelivery, and webhook subscriptions.

use chrono::Duration;
use http::StatusCode;
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{ApiError, ApiReply, ApiRequest, ApiResult, list_item, paginate};
use super::state::{Delivery, Event, Secret, State, Subscription, empty_object, to_json};
use crate::clock::iop_timestamp;

/// The `api_version` every envelope carries.
pub(crate) const API_VERSION: &str = "2026-12-01";
/// The one account the mock serves.
pub(crate) const ACCOUNT_ID: &str = "acct_rehearsal";
/// How long a rotated-out secret keeps signing (the contract's 24 h overlap).
const ROTATION_OVERLAP_HOURS: i64 = 24;

impl State {
    /// Records an event about `object` (its full JSON at its current version) and queues its
    /// deliveries. `extra` adds a sibling of `object` under `data` (e.g. `availability`).
    /// Returns the number of deliveries queued.
    pub fn emit(
        &mut self,
        kind: &str,
        object: Value,
        previous: Option<Value>,
        extra: Option<(&str, Value)>,
    ) -> usize {
        let id = self.next_id("evt");
        let object_id = object.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let related = self.related_of(&object);

        let mut data = json!({"object": object});
        if let Some(previous) = previous {
            data["previous_attributes"] = previous;
        }
        if let Some((key, value)) = extra {
            data[key] = value;
        }
        let at = iop_timestamp(self.now);
        let envelope = json!({
            "id": id, "type": kind, "api_version": API_VERSION, "account_id": ACCOUNT_ID,
            "created_at": at, "occurred_at": at, "data": data, "related": related,
        });
        self.events.push(Event {
            id: id.clone(),
            kind: kind.to_owned(),
            object_id,
            created_at: self.now,
            envelope,
        });
        self.queue_event(&id, kind, None)
    }

    /// `related` of an envelope: candidate and request ids plus the Greenhouse ids they map to.
    fn related_of(&self, object: &Value) -> Value {
        let field = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_owned);
        let id = field("id").unwrap_or_default();
        let candidate_id =
            field("candidate_id").or_else(|| id.starts_with("cand_").then(|| id.clone()));
        let request_id = field("scheduling_request_id")
            .or_else(|| id.starts_with("sreq_").then(|| id.clone()))
            .or_else(|| {
                let interview = self.interviews.get(&field("interview_id")?)?;
                Some(interview.scheduling_request_id.clone())
            });

        let application_id = object
            .pointer("/external_refs/greenhouse/application_id")
            .cloned()
            .or_else(|| {
                let request = self.requests.get(request_id.as_deref()?)?;
                request.external_refs.pointer("/greenhouse/application_id").cloned()
            })
            .unwrap_or(Value::Null);
        let gh_candidate_id = candidate_id
            .as_deref()
            .and_then(|id| self.candidates.get(id))
            .and_then(|c| c.external_refs.pointer("/greenhouse/candidate_id").cloned())
            .unwrap_or(Value::Null);
        json!({
            "candidate_id": candidate_id,
            "scheduling_request_id": request_id,
            "external_refs": {"greenhouse": {"application_id": application_id, "candidate_id": gh_candidate_id}},
        })
    }

    /// Queues one delivery of event `event_id` per active subscription that wants `kind` (or
    /// only to `only`), applying the `duplicate` and `delay_secs` faults.
    pub fn queue_event(&mut self, event_id: &str, kind: &str, only: Option<&str>) -> usize {
        let targets: Vec<String> = self
            .subscriptions
            .values()
            .filter(|s| s.wants(kind) && only.is_none_or(|id| id == s.id))
            .map(|s| s.id.clone())
            .collect();
        let delay =
            Duration::seconds(self.faults.webhooks.delay_secs.unwrap_or(0).min(86_400 * 30) as i64);
        let duplicate = self.faults.webhooks.duplicate.unwrap_or(0.0).clamp(0.0, 1.0);

        let mut queued = 0;
        for subscription_id in targets {
            let copies = if duplicate > 0.0 && self.rng.random_bool(duplicate) { 2 } else { 1 };
            for copy in 0..copies {
                let seq = self.bump("queue");
                let notes = if copy == 1 { vec!["fault:duplicate".to_owned()] } else { Vec::new() };
                let due_at = self.now + delay;
                let event_id = event_id.to_owned();
                let subscription_id = subscription_id.clone();
                self.deliveries.push(Delivery {
                    seq,
                    event_id,
                    subscription_id,
                    attempt: 1,
                    due_at,
                    notes,
                });
                queued += 1;
            }
        }
        queued
    }

    /// Creates a subscription; `secrets` sign every delivery (several = a rotation).
    pub fn create_subscription(
        &mut self,
        url: &str,
        events: Vec<String>,
        secrets: Vec<String>,
    ) -> String {
        let id = self.next_id("whk");
        let secrets = secrets.into_iter().map(|value| Secret { value, expires_at: None }).collect();
        let subscription = Subscription {
            id: id.clone(),
            external_refs: empty_object(),
            url: url.to_owned(),
            events,
            status: "active".to_owned(),
            disabled_reason: None,
            secrets,
            version: 1,
            created_at: self.now,
            updated_at: self.now,
        };
        self.subscriptions.insert(id.clone(), subscription);
        id
    }

    /// A fresh `whsec_…` secret from the seeded RNG.
    fn generate_secret(&mut self) -> String {
        let bytes: [u8; 24] = self.rng.random();
        format!("whsec_{}", hex::encode(bytes))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSubscription {
    url: String,
    #[serde(default)]
    events: Option<Vec<String>>,
    #[serde(default)]
    secret: Option<String>,
}

/// `POST /v1/webhook_subscriptions`: the secret is returned once, here.
// TODO(fidelity): the contract pings the URL on create and creates the subscription disabled
// when the ping fails; the mock sends nothing outside `POST /_rehearsal/deliver`, so no ping.
pub(crate) fn create_subscription(state: &mut State, request: &ApiRequest) -> ApiResult {
    let body: NewSubscription = request.json()?;
    let url = body.url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.parse::<http::Uri>().is_err()
    {
        return Err(ApiError::field(
            "url",
            "invalid_url",
            format!("url must be an absolute http(s) URL, got {url:?}"),
        ));
    }
    let events = body.events.unwrap_or_else(|| vec!["*".to_owned()]);
    if events.is_empty() {
        return Err(ApiError::field(
            "events",
            "empty",
            "events must name at least one event type or \"*\"",
        ));
    }
    let secret = match body.secret {
        Some(secret) if secret.len() < 16 => {
            return Err(ApiError::field(
                "secret",
                "too_short",
                "secret must be at least 16 characters",
            ));
        }
        Some(secret) => secret,
        None => state.generate_secret(),
    };

    let id = state.create_subscription(url, events, vec![secret.clone()]);
    let mut body = subscription_json(state, &id)?;
    body["secret"] = json!(secret);
    Ok(ApiReply::created(body))
}

fn subscription_json(state: &State, id: &str) -> Result<Value, ApiError> {
    state
        .subscriptions
        .get(id)
        .map(to_json)
        .ok_or_else(|| ApiError::not_found("webhook subscription", id))
}

pub(crate) fn list_subscriptions(state: &mut State, request: &ApiRequest) -> ApiResult {
    let items = state.subscriptions.values().map(|s| list_item(to_json(s))).collect();
    paginate(request, &state.base_url, items)
}

/// `DELETE /v1/webhook_subscriptions/{id}`: removes it and drops its pending deliveries.
pub(crate) fn delete_subscription(state: &mut State, id: &str) -> ApiResult {
    let mut body = subscription_json(state, id)?;
    state.subscriptions.remove(id);
    state.deliveries.retain(|d| d.subscription_id != id);
    body["status"] = json!("deleted");
    Ok(ApiReply::ok(body))
}

/// `POST /v1/webhook_subscriptions/{id}/rotate_secret`: the new secret signs at once; the old
/// ones keep signing for 24 h, so deliveries carry one `v1` per live secret.
pub(crate) fn rotate_secret(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Rotate {
        #[serde(default)]
        secret: Option<String>,
    }
    let body: Rotate = request.json()?;
    if !state.subscriptions.contains_key(id) {
        return Err(ApiError::not_found("webhook subscription", id));
    }
    let secret = match body.secret {
        Some(secret) if secret.len() < 16 => {
            return Err(ApiError::field(
                "secret",
                "too_short",
                "secret must be at least 16 characters",
            ));
        }
        Some(secret) => secret,
        None => state.generate_secret(),
    };

    let (now, expires_at) = (state.now, state.now + Duration::hours(ROTATION_OVERLAP_HOURS));
    let subscription = state
        .subscriptions
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found("webhook subscription", id))?;
    for old in &mut subscription.secrets {
        old.expires_at = Some(old.expires_at.map_or(expires_at, |at| at.min(expires_at)));
    }
    subscription.secrets.insert(0, Secret { value: secret.clone(), expires_at: None });
    subscription.version += 1;
    subscription.updated_at = now;

    let mut body = to_json(subscription);
    body["secret"] = json!(secret);
    body["previous_secret_expires_at"] = json!(iop_timestamp(expires_at));
    Ok(ApiReply::ok(body))
}

/// `GET /v1/events?type=&created_after=&limit=&cursor=`, ordered by (created_at, id).
pub(crate) fn list_events(state: &mut State, request: &ApiRequest) -> ApiResult {
    let kind = request.query("type");
    let created_after = request.query_time("created_after")?;
    let items = state
        .events
        .iter()
        .filter(|e| kind.is_none_or(|k| k == e.kind))
        .filter(|e| created_after.is_none_or(|at| e.created_at > at))
        .map(|e| (e.created_at, e.id.clone(), e.envelope.clone()))
        .collect();
    paginate(request, &state.base_url, items)
}

pub(crate) fn get_event(state: &mut State, id: &str) -> ApiResult {
    let event =
        state.events.iter().find(|e| e.id == id).ok_or_else(|| ApiError::not_found("event", id))?;
    Ok(ApiReply::ok(event.envelope.clone()))
}

/// `POST /v1/events/{id}/redeliver`: queues a fresh delivery (attempt 1, same event id) to
/// every active subscription that wants the event, or only `subscription_id`.
pub(crate) fn redeliver(state: &mut State, request: &ApiRequest, id: &str) -> ApiResult {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Redeliver {
        #[serde(default)]
        subscription_id: Option<String>,
    }
    let body: Redeliver = request.json()?;
    let kind = state.events.iter().find(|e| e.id == id).map(|e| e.kind.clone());
    let kind = kind.ok_or_else(|| ApiError::not_found("event", id))?;
    if let Some(sub) = &body.subscription_id
        && !state.subscriptions.contains_key(sub)
    {
        return Err(ApiError::field(
            "subscription_id",
            "not_found",
            format!("no webhook subscription with id {sub}"),
        ));
    }

    let queued = state.queue_event(id, &kind, body.subscription_id.as_deref());
    let reply = json!({"event_id": id, "deliveries_queued": queued});
    Ok(ApiReply { status: StatusCode::ACCEPTED, body: reply, headers: Vec::new() })
}
