//! The mock's in-memory world: resources, the event log, the delivery queue, idempotency
//! records, rate-limit windows and fault settings. One `State` sits behind one mutex shared
//! by every route; operations take `&mut State` and read "now" from `State::now`, which the
//! route layer sets from the injected clock before each call.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use super::control::Faults;
use super::stale::StaleReads;
use crate::clock::iop_timestamp;

/// Everything the mock knows. Maps are keyed by id; ids are zero-padded counters, so map
/// order is creation order.
pub(crate) struct State {
    pub now: DateTime<Utc>,
    pub base_url: String,
    pub rng: ChaCha8Rng,
    counters: BTreeMap<&'static str, u64>,
    pub candidates: BTreeMap<String, Candidate>,
    pub users: BTreeMap<String, User>,
    pub requests: BTreeMap<String, SchedulingRequest>,
    pub interviews: BTreeMap<String, Interview>,
    pub feedback: BTreeMap<String, Feedback>,
    pub subscriptions: BTreeMap<String, Subscription>,
    // TODO(perf): the event log (like the journal) grows without bound; fine for scenario
    // runs, not for a long soak.
    pub events: Vec<Event>,
    /// Deliveries waiting to be sent, including scheduled retries.
    pub deliveries: Vec<Delivery>,
    /// `(api key, Idempotency-Key)` → record.
    pub idempotency: BTreeMap<(String, String), IdempotencyRecord>,
    /// API key → (window start, requests counted in it).
    pub rate_windows: BTreeMap<String, (DateTime<Utc>, u32)>,
    pub rate_limit_per_window: u32,
    pub faults: Faults,
    /// Remaining `times` budget of each `faults.api` entry, same index.
    pub api_fault_budget: Vec<Option<u32>>,
    /// The `stale_read_secs` fault's kept resources.
    pub stale: StaleReads,
}

impl State {
    pub fn new(base_url: &str, seed: u64, rate_limit_per_window: u32, now: DateTime<Utc>) -> Self {
        Self {
            now,
            base_url: base_url.trim_end_matches('/').to_owned(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            counters: BTreeMap::new(),
            candidates: BTreeMap::new(),
            users: BTreeMap::new(),
            requests: BTreeMap::new(),
            interviews: BTreeMap::new(),
            feedback: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            events: Vec::new(),
            deliveries: Vec::new(),
            idempotency: BTreeMap::new(),
            rate_windows: BTreeMap::new(),
            rate_limit_per_window,
            faults: Faults::default(),
            api_fault_budget: Vec::new(),
            stale: StaleReads::default(),
        }
    }

    /// The next id of a kind: `cand_000001`, `evt_000042`, …
    pub fn next_id(&mut self, prefix: &'static str) -> String {
        let n = self.bump(prefix);
        format!("{prefix}_{n:06}")
    }

    /// Increments and returns the counter `key`.
    pub fn bump(&mut self, key: &'static str) -> u64 {
        let counter = self.counters.entry(key).or_insert(0);
        *counter += 1;
        *counter
    }

    /// How many ids of a kind were handed out (e.g. deliveries queued so far).
    pub fn issued(&self, prefix: &'static str) -> u64 {
        self.counters.get(prefix).copied().unwrap_or(0)
    }
}

/// Serialises an instant as the contract does (`2026-11-02T09:00:00Z`).
pub(crate) fn ser_ts<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&iop_timestamp(*at))
}

pub(crate) fn ser_opt_ts<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_str(&iop_timestamp(*at)),
        None => s.serialize_none(),
    }
}

/// A resource as its JSON wire form.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The old values of every top-level field that differs between two snapshots of one
/// resource, bookkeeping fields (`version`, `updated_at`) excepted.
pub(crate) fn previous_attributes(old: &Value, new: &Value) -> Value {
    let mut changed = serde_json::Map::new();
    if let (Some(old), Some(new)) = (old.as_object(), new.as_object()) {
        for (key, old_value) in old {
            if key == "version" || key == "updated_at" {
                continue;
            }
            if new.get(key) != Some(old_value) {
                changed.insert(key.clone(), old_value.clone());
            }
        }
    }
    Value::Object(changed)
}

/// Merges `patch` into `target` key by key (objects recursively; `null` removes a key).
pub(crate) fn merge_json(target: &mut Value, patch: &Value) {
    let (Some(target_map), Some(patch_map)) = (target.as_object_mut(), patch.as_object()) else {
        *target = patch.clone();
        return;
    };
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.remove(key);
        } else if value.is_object() && target_map.get(key).is_some_and(Value::is_object) {
            if let Some(slot) = target_map.get_mut(key) {
                merge_json(slot, value);
            }
        } else {
            target_map.insert(key.clone(), value.clone());
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Email {
    pub address: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Phone {
    pub number: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Candidate {
    pub id: String,
    pub external_refs: Value,
    pub first_name: String,
    pub last_name: String,
    pub emails: Vec<Email>,
    pub phones: Vec<Phone>,
    pub timezone: Option<String>,
    /// Customer-defined fields, stored as sent (§4.8).
    pub custom_fields: Map<String, Value>,
    pub status: String,
    pub merged_into_id: Option<String>,
    pub version: u64,
    #[serde(serialize_with = "ser_ts")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_ts")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct User {
    pub id: String,
    pub external_refs: Value,
    pub name: String,
    pub email: String,
    pub timezone: String,
    pub calendar_status: String,
    pub status: String,
    pub working_hours: Vec<Value>,
    pub version: u64,
    #[serde(serialize_with = "ser_ts")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_ts")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RequestedInterview {
    pub name: String,
    pub duration_minutes: u32,
    #[serde(default)]
    pub interviewer_pool: Vec<String>,
    #[serde(default)]
    pub required_interviewers: Option<u32>,
    #[serde(default = "empty_object")]
    pub external_refs: Value,
}

pub(crate) fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RequestCancellation {
    pub reason: String,
    pub note: Option<String>,
    #[serde(serialize_with = "ser_ts")]
    pub cancelled_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Decline {
    pub reason: Option<String>,
    #[serde(serialize_with = "ser_ts")]
    pub declined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Availability {
    pub id: String,
    pub timezone: String,
    pub slots: Vec<super::control::Slot>,
    #[serde(serialize_with = "ser_ts")]
    pub submitted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SchedulingRequest {
    pub id: String,
    pub client_reference: Option<String>,
    pub candidate_id: String,
    pub external_refs: Value,
    pub mode: String,
    /// The customer's workflow key for this kind of request (§4.8), if any.
    pub workflow: Option<String>,
    /// Customer-defined fields, stored as sent (§4.8).
    pub custom_fields: Map<String, Value>,
    pub status: String,
    pub interviews_requested: Vec<RequestedInterview>,
    pub window: Value,
    pub candidate_link: Option<String>,
    #[serde(serialize_with = "ser_opt_ts")]
    pub expires_at: Option<DateTime<Utc>>,
    pub cancellation: Option<RequestCancellation>,
    pub decline: Option<Decline>,
    pub availability: Option<Availability>,
    pub interview_ids: Vec<String>,
    pub version: u64,
    #[serde(serialize_with = "ser_ts")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_ts")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Participant {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub response_status: String,
    pub feedback_id: Option<String>,
    pub role: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct CalendarEvent {
    pub provider: String,
    pub event_id: String,
    pub ical_uid: String,
    pub sequence: u32,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct InterviewCancellation {
    pub reason: String,
    pub cancelled_by: String,
    pub note: Option<String>,
    #[serde(serialize_with = "ser_ts")]
    pub cancelled_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct NoShow {
    pub party: String,
    pub marked_by: Option<String>,
    #[serde(serialize_with = "ser_ts")]
    pub marked_at: DateTime<Utc>,
}

/// When an interview happens: timed (UTC instants) or all-day (dates, end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timing {
    Timed { start_at: DateTime<Utc>, end_at: DateTime<Utc> },
    AllDay { start_date: NaiveDate, end_date: NaiveDate },
}

impl Timing {
    /// The instant the interview is over. All-day dates are read as UTC midnight.
    // TODO(fidelity): read all-day end dates in the interview's IANA zone (needs chrono-tz).
    pub fn ends_at(&self) -> DateTime<Utc> {
        match self {
            Timing::Timed { end_at, .. } => *end_at,
            Timing::AllDay { end_date, .. } => end_date.and_time(chrono::NaiveTime::MIN).and_utc(),
        }
    }

    pub fn starts_at(&self) -> DateTime<Utc> {
        match self {
            Timing::Timed { start_at, .. } => *start_at,
            Timing::AllDay { start_date, .. } => {
                start_date.and_time(chrono::NaiveTime::MIN).and_utc()
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Interview {
    pub id: String,
    pub client_reference: Option<String>,
    pub scheduling_request_id: String,
    pub candidate_id: String,
    pub external_refs: Value,
    pub title: String,
    pub status: String,
    pub all_day: bool,
    #[serde(serialize_with = "ser_opt_ts")]
    pub start_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_opt_ts")]
    pub end_at: Option<DateTime<Utc>>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub timezone: String,
    pub location: Option<String>,
    pub video_conferencing_url: Option<String>,
    pub organizer_id: Option<String>,
    pub interviewers: Vec<Participant>,
    pub calendar_event: CalendarEvent,
    pub reschedule_count: u32,
    pub rescheduled_from_id: Option<String>,
    pub cancellation: Option<InterviewCancellation>,
    pub no_show: Option<NoShow>,
    pub version: u64,
    #[serde(serialize_with = "ser_ts")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_ts")]
    pub updated_at: DateTime<Utc>,
}

impl Interview {
    pub fn timing(&self) -> Timing {
        match (self.start_at, self.end_at, self.start_date, self.end_date) {
            (Some(start_at), Some(end_at), _, _) => Timing::Timed { start_at, end_at },
            (_, _, Some(start_date), Some(end_date)) => Timing::AllDay { start_date, end_date },
            // Construction always sets one pair; a zero-length slot at creation is the fallback.
            _ => Timing::Timed { start_at: self.created_at, end_at: self.created_at },
        }
    }

    pub fn set_timing(&mut self, timing: Timing) {
        match timing {
            Timing::Timed { start_at, end_at } => {
                (self.all_day, self.start_at, self.end_at) = (false, Some(start_at), Some(end_at));
                (self.start_date, self.end_date) = (None, None);
            }
            Timing::AllDay { start_date, end_date } => {
                (self.all_day, self.start_date, self.end_date) =
                    (true, Some(start_date), Some(end_date));
                (self.start_at, self.end_at) = (None, None);
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Feedback {
    pub id: String,
    pub interview_id: String,
    pub candidate_id: String,
    pub external_refs: Value,
    pub interviewer_id: String,
    pub submitted_by_id: String,
    pub status: String,
    pub overall_recommendation: String,
    pub attributes: Vec<Value>,
    pub questions: Vec<Value>,
    pub notes: Option<String>,
    #[serde(serialize_with = "ser_opt_ts")]
    pub interviewed_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_opt_ts")]
    pub submitted_at: Option<DateTime<Utc>>,
    pub version: u64,
    #[serde(serialize_with = "ser_ts")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_ts")]
    pub updated_at: DateTime<Utc>,
}

/// One signing secret; a rotated-out secret keeps signing until `expires_at`.
#[derive(Debug, Clone)]
pub(crate) struct Secret {
    pub value: String,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Subscription {
    pub id: String,
    pub external_refs: Value,
    pub url: String,
    pub events: Vec<String>,
    pub status: String,
    pub disabled_reason: Option<String>,
    #[serde(skip)]
    pub secrets: Vec<Secret>,
    pub version: u64,
    #[serde(serialize_with = "ser_ts")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_ts")]
    pub updated_at: DateTime<Utc>,
}

impl Subscription {
    /// Secrets that still sign at `now`, newest first.
    pub fn active_secrets(&self, now: DateTime<Utc>) -> Vec<String> {
        self.secrets
            .iter()
            .filter(|s| s.expires_at.is_none_or(|at| at > now))
            .map(|s| s.value.clone())
            .collect()
    }

    pub fn wants(&self, event_type: &str) -> bool {
        self.status == "active" && self.events.iter().any(|e| e == "*" || e == event_type)
    }
}

/// One persisted event: its envelope (exactly what deliveries carry) and a few index fields.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub id: String,
    pub kind: String,
    pub object_id: String,
    pub created_at: DateTime<Utc>,
    pub envelope: Value,
}

/// A delivery waiting to be attempted.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub seq: u64,
    pub event_id: String,
    pub subscription_id: String,
    /// The attempt number this send will be (1..=7).
    pub attempt: u32,
    pub due_at: DateTime<Utc>,
    /// Faults injected into this delivery, journalled with its attempt (`fault:duplicate`).
    pub notes: Vec<String>,
}

/// A stored idempotent response, or a marker that the first request is still running.
#[derive(Debug, Clone)]
pub(crate) enum IdempotencyRecord {
    InFlight { fingerprint: String, expires_at: DateTime<Utc> },
    Done { fingerprint: String, status: u16, body: Value, expires_at: DateTime<Utc> },
}
