//! Bodies of the mock Greenhouse's control API under `/_rehearsal/`. The scenario runner and
//! `rehearsal serve` users speak these; the Harvest v3 surface itself uses Greenhouse's shapes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `POST /_rehearsal/seed`: adds a world. `key`s are the names a scenario uses; ids are
/// generated unless pinned with `id`. Seeding fires no webhooks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub users: Vec<SeedUser>,
    #[serde(default)]
    pub jobs: Vec<SeedJob>,
    #[serde(default)]
    pub candidates: Vec<SeedCandidate>,
    /// Rejection reasons; Greenhouse's defaults are added when this is empty.
    #[serde(default)]
    pub rejection_reasons: Vec<String>,
    /// Custom field definitions (`GET /v3/custom_fields`), seeded before the candidates
    /// whose values they type.
    #[serde(default)]
    pub custom_fields: Vec<SeedCustomField>,
}

/// A custom field definition, in Harvest's words: `field_type` is the record it belongs to
/// (`candidate`, `application`, `job`, `offer`, …), `value_type` what its values are
/// (`short_text`, `yes_no`, `single_select`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedCustomField {
    /// Harvest's immutable `name_key`, the key records' `custom_fields` use.
    pub key: String,
    #[serde(default)]
    pub id: Option<i64>,
    /// The name shown in Greenhouse; derived from the key when absent (`start_date` →
    /// `Start date`).
    #[serde(default)]
    pub name: Option<String>,
    pub field_type: String,
    pub value_type: String,
    /// The choices of a `single_select` or `multi_select` field, in order.
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub key: String,
    #[serde(default)]
    pub id: Option<i64>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    #[serde(default = "yes")]
    pub site_admin: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedJob {
    pub key: String,
    #[serde(default)]
    pub id: Option<i64>,
    pub name: String,
    /// In order; `sort_order` follows this order from 0.
    pub stages: Vec<SeedStage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedStage {
    pub name: String,
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub interviews: Vec<SeedInterview>,
}

/// A job interview (an interview kit step) of a stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedInterview {
    pub name: String,
    #[serde(default)]
    pub id: Option<i64>,
    /// Minutes; 45 when absent.
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    /// Keys of seeded users who are this interview's default interviewers.
    #[serde(default)]
    pub interviewer_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedCandidate {
    pub key: String,
    #[serde(default)]
    pub id: Option<i64>,
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub email_addresses: Vec<TypedValue>,
    #[serde(default)]
    pub phone_numbers: Vec<TypedValue>,
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Values of `candidate` custom fields by key, in the shape Harvest returns them.
    #[serde(default)]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub applications: Vec<SeedApplication>,
}

/// `{value, type}` as Greenhouse stores emails and phones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedValue {
    pub value: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedApplication {
    #[serde(default)]
    pub id: Option<i64>,
    /// Key of a seeded job.
    pub job_key: String,
    /// Name of the stage it stands in; the job's first stage when absent.
    #[serde(default)]
    pub stage: Option<String>,
    /// `in_process` (default), `rejected` or `hired`.
    #[serde(default)]
    pub status: Option<String>,
    /// Values of `application` custom fields by key, in the shape Harvest returns them.
    #[serde(default)]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

/// The ids a seed produced, by key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Seeded {
    pub users: BTreeMap<String, i64>,
    pub jobs: BTreeMap<String, SeededJob>,
    pub candidates: BTreeMap<String, SeededCandidate>,
    pub rejection_reasons: BTreeMap<String, i64>,
    /// `<field_type>.<key>` → custom field id, declared and derived ones alike.
    #[serde(default)]
    pub custom_fields: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeededJob {
    pub id: i64,
    /// Stage name → job interview stage.
    pub stages: BTreeMap<String, SeededStage>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeededStage {
    pub id: i64,
    /// Interview name → job interview id.
    pub interviews: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeededCandidate {
    pub id: i64,
    /// Application ids, in the order of the seed's `applications`.
    pub applications: Vec<i64>,
}

/// `POST /_rehearsal/actions`: what a person does in the Greenhouse UI. Each fires the
/// webhooks the real Greenhouse would fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Moves to a job interview stage of the same job (any direction, skipping allowed).
    MoveApplication {
        application_id: i64,
        to_stage_id: i64,
    },
    RejectApplication {
        application_id: i64,
        /// The first rejection reason when absent.
        #[serde(default)]
        rejection_reason_id: Option<i64>,
        #[serde(default)]
        notes: Option<String>,
    },
    UnrejectApplication {
        application_id: i64,
    },
    HireApplication {
        application_id: i64,
    },
    /// Replaces the given fields; collections replace whole.
    UpdateCandidate {
        candidate_id: i64,
        #[serde(default)]
        first_name: Option<String>,
        #[serde(default)]
        last_name: Option<String>,
        #[serde(default)]
        email_addresses: Option<Vec<TypedValue>>,
        #[serde(default)]
        phone_numbers: Option<Vec<TypedValue>>,
        #[serde(default)]
        time_zone: Option<String>,
    },
    /// A coordinator deletes a scheduled interview in the UI (fires `interview_deleted`).
    DeleteInterview {
        interview_id: i64,
    },
}

/// `PUT /_rehearsal/webhook`: where recruiting webhooks go and the secret they are signed with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    pub url: String,
    /// Absent or empty: the mock's configured secret (`rehearsal serve` prints it), if any.
    #[serde(default)]
    pub secret: String,
}

/// `PUT /_rehearsal/faults`: replaces the whole fault set. An absent `rate_limit_per_window`
/// restores the configured limit; absent `api`/`webhooks` mean no such faults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Requests allowed per 30 s window and client from now on.
    #[serde(default)]
    pub rate_limit_per_window: Option<u32>,
    #[serde(default)]
    pub api: Vec<ApiFault>,
    #[serde(default)]
    pub webhooks: Option<WebhookFaults>,
    /// Eventual consistency: for this many seconds of the injected clock after a write (a
    /// Harvest v3 write or a `/_rehearsal/actions` action that succeeded), v3 reads answer
    /// from the state as it was just before that write. 0 or absent: reads are fresh.
    #[serde(default)]
    pub stale_read_secs: Option<i64>,
}

/// A fault on inbound API requests (Harvest v3 and `/token`). Give exactly one of `times`
/// and `probability`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiFault {
    /// Only requests with this method (any when absent), e.g. `POST`.
    #[serde(default)]
    pub method: Option<String>,
    /// Only requests whose path starts with this (any when absent), e.g. `/v3/applications`.
    #[serde(default)]
    pub path_prefix: Option<String>,
    pub kind: ApiFaultKind,
    /// The next `times` matching requests fail.
    #[serde(default)]
    pub times: Option<u32>,
    /// Each matching request fails with this probability (0..=1), drawn from the seeded RNG.
    #[serde(default)]
    pub probability: Option<f64>,
    /// For kind `latency` (and only for it): how long the answer is held back, in
    /// milliseconds (1..=30000).
    #[serde(default)]
    pub latency_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApiFaultKind {
    #[serde(rename = "status_500")]
    Status500,
    #[serde(rename = "status_503")]
    Status503,
    #[serde(rename = "status_429")]
    Status429,
    /// In-process clients see a timeout; socket clients get a 504.
    #[serde(rename = "timeout")]
    Timeout,
    /// In-process clients see a reset connection; socket clients get a 502.
    #[serde(rename = "reset")]
    Reset,
    /// The request takes effect (a write commits, its webhooks are queued), then the client
    /// sees a timeout as with `timeout`: the case where a retry must not do the work twice.
    #[serde(rename = "commit_then_timeout")]
    CommitThenTimeout,
    /// The request is handled as usual (it takes effect when it arrives); its answer is held
    /// back `latency_ms` of real time. The virtual clock does not move: under the in-process
    /// scenario runner the delay costs wall time only.
    #[serde(rename = "latency")]
    Latency,
}

impl ApiFaultKind {
    /// The name journal notes use (`fault:<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Status500 => "status_500",
            Self::Status503 => "status_503",
            Self::Status429 => "status_429",
            Self::Timeout => "timeout",
            Self::Reset => "reset",
            Self::CommitThenTimeout => "commit_then_timeout",
            Self::Latency => "latency",
        }
    }

    /// Whether the request is handled before the fault shows.
    pub fn commits(self) -> bool {
        self == Self::CommitThenTimeout
    }
}

/// Faults on outbound webhooks, applied when an event is queued.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookFaults {
    /// Probability (0..=1) that an event is queued twice, with the same `Greenhouse-Event-ID`.
    #[serde(default)]
    pub duplicate: Option<f64>,
    /// Probability (0..=1) that an event is never sent.
    #[serde(default)]
    pub drop: Option<f64>,
    /// Seconds added to every event's first due time.
    #[serde(default)]
    pub delay_secs: Option<i64>,
    /// Send `current_stage: null` (no stage, no interviews), as some real payloads do.
    #[serde(default)]
    pub sparse: Option<bool>,
}

fn yes() -> bool {
    true
}
