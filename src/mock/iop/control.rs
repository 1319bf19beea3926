//! Bodies of the mock IOP's control API under `/_rehearsal/`: seeding interviewers and the
//! webhook subscription, and the simulated people (candidate, interviewer, coordinator).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// `POST /_rehearsal/seed`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// A webhook subscription to create (events `*`), with its secret(s) chosen by the caller.
    #[serde(default)]
    pub webhook: Option<SeedWebhook>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub key: String,
    pub name: String,
    pub email: String,
    #[serde(default = "utc")]
    pub timezone: String,
    /// Sets `external_refs.greenhouse.user_id`.
    #[serde(default)]
    pub greenhouse_user_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedWebhook {
    pub url: String,
    /// Active signing secrets; more than one simulates a rotation (one `v1` each).
    pub secrets: Vec<String>,
}

/// Ids a seed produced: user key → `usr_…`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Seeded {
    pub users: BTreeMap<String, String>,
    #[serde(default)]
    pub webhook_subscription_id: Option<String>,
}

/// One proposed or booked time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
}

/// `POST /_rehearsal/actions`: what a simulated person does. Each follows the state machine
/// of the contract (an illegal one answers 409 `invalid_state_transition`) and emits its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// The candidate submits availability (→ `availability_received`).
    SubmitAvailability {
        scheduling_request_id: String,
        slots: Vec<Slot>,
    },
    /// A coordinator (or the candidate, self-scheduling) books one requested interview
    /// (→ request `scheduled`, `interview.scheduled`). `created_id` is the `int_…` id.
    ScheduleInterview {
        scheduling_request_id: String,
        /// Which `interviews_requested[]` entry, by name; the first when absent.
        #[serde(default)]
        interview_name: Option<String>,
        /// Timed interview; omit both for an all-day one.
        #[serde(default)]
        start_at: Option<DateTime<Utc>>,
        #[serde(default)]
        end_at: Option<DateTime<Utc>>,
        /// All-day interview dates (end exclusive).
        #[serde(default)]
        start_date: Option<NaiveDate>,
        #[serde(default)]
        end_date: Option<NaiveDate>,
        /// `usr_…` ids; the request's interviewer pool when empty.
        #[serde(default)]
        interviewer_ids: Vec<String>,
        #[serde(default)]
        timezone: Option<String>,
        #[serde(default)]
        location: Option<String>,
    },
    /// Same interview id, new time (`interview.rescheduled`).
    RescheduleInterview {
        interview_id: String,
        #[serde(default)]
        start_at: Option<DateTime<Utc>>,
        #[serde(default)]
        end_at: Option<DateTime<Utc>>,
        #[serde(default)]
        start_date: Option<NaiveDate>,
        #[serde(default)]
        end_date: Option<NaiveDate>,
    },
    CancelInterview {
        interview_id: String,
        #[serde(default = "other")]
        reason: String,
        #[serde(default = "coordinator")]
        cancelled_by: String,
    },
    /// The candidate declines: the request ends `candidate_declined` and its open interviews
    /// are cancelled (`cancelled_by: candidate`).
    CandidateDeclines {
        scheduling_request_id: String,
        #[serde(default)]
        reason: Option<String>,
    },
    /// A coordinator cancels a whole request.
    CancelRequest {
        scheduling_request_id: String,
        #[serde(default = "manual")]
        reason: String,
    },
    MarkNoShow {
        interview_id: String,
    },
    RevertNoShow {
        interview_id: String,
    },
    InterviewerResponds {
        interview_id: String,
        user_id: String,
        response_status: String,
    },
    /// Feedback is accepted in any interview state. `created_id` is the `fb_…` id.
    SubmitFeedback {
        interview_id: String,
        /// The interview's first interviewer when absent.
        #[serde(default)]
        interviewer_id: Option<String>,
        overall_recommendation: String,
        #[serde(default)]
        notes: Option<String>,
    },
    UpdateFeedback {
        feedback_id: String,
        #[serde(default)]
        overall_recommendation: Option<String>,
        #[serde(default)]
        notes: Option<String>,
    },
    DeleteFeedback {
        feedback_id: String,
    },
    DeactivateUser {
        user_id: String,
    },
    DisconnectCalendar {
        user_id: String,
    },
    /// The candidate self-schedules: picks one slot of a `self_schedule` request, which books
    /// its (first) requested interview with one interviewer of the pool (§4.6). `end_at`
    /// defaults to the requested duration. `created_id` is the `int_…` id.
    PickSlot {
        scheduling_request_id: String,
        start_at: DateTime<Utc>,
        #[serde(default)]
        end_at: Option<DateTime<Utc>>,
    },
    /// The candidate moves their own interview (same id; `interview.rescheduled` carries
    /// `data.reschedule = {requested_by: candidate, reason}`).
    CandidateReschedules {
        interview_id: String,
        start_at: DateTime<Utc>,
        #[serde(default)]
        end_at: Option<DateTime<Utc>>,
        #[serde(default)]
        reason: Option<String>,
    },
    /// The candidate does not turn up (`interview.no_show`, party `candidate`).
    CandidateNoShow {
        interview_id: String,
    },
    /// The interviewer accepts the invitation.
    InterviewerAccepts {
        interview_id: String,
        user_id: String,
    },
    /// The interviewer declines the invitation.
    InterviewerDeclines {
        interview_id: String,
        user_id: String,
    },
    /// The user's calendar is connected again.
    ReconnectCalendar {
        user_id: String,
    },
}

fn utc() -> String {
    "UTC".to_owned()
}

fn other() -> String {
    "other".to_owned()
}

fn coordinator() -> String {
    "coordinator".to_owned()
}

fn manual() -> String {
    "manual".to_owned()
}

/// `PUT /_rehearsal/faults`: replaces every fault setting at once. Random draws come from the
/// mock's seeded RNG, so a run with the same seed injects the same faults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Overrides `IopMockConfig::rate_limit_per_window` (requests per 10 s window and key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_window: Option<u32>,
    /// Faults on `/v1` requests; the first matching entry that fires wins.
    #[serde(default)]
    pub api: Vec<ApiFault>,
    #[serde(default)]
    pub webhooks: WebhookFaults,
    /// Eventual consistency (contract §3.10): for this many seconds of the injected clock
    /// after a write (a `/v1` write or a `/_rehearsal/actions` action that succeeded), `GET
    /// /v1/...` reads answer from the resources as they were just before that write.
    /// 0 or absent: reads are fresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_read_secs: Option<i64>,
}

/// One API fault: which requests it matches and how often it fires. With neither `times`
/// nor `probability` it fires on every matching request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiFault {
    /// `GET`, `POST`, …; any method when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// e.g. `/v1/interviews`; any path when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    pub kind: ApiFaultKind,
    /// Fire on the next `times` matching requests, then stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Fire on each matching request with this probability (0..=1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// For kind `latency` (and only for it): how long the answer is held back, in
    /// milliseconds (1..=30000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<i64>,
}

/// What an API fault does instead of handling the request (the request has no effect),
/// except `timeout_after_processing`, which handles it and then loses the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApiFaultKind {
    #[serde(rename = "status_500")]
    Status500,
    #[serde(rename = "status_503")]
    Status503,
    #[serde(rename = "status_429")]
    Status429,
    /// The in-process transport reports a timeout.
    #[serde(rename = "timeout")]
    Timeout,
    /// The in-process transport reports a connection reset.
    #[serde(rename = "reset")]
    Reset,
    /// The request is processed (it takes effect, and its answer is stored under its
    /// `Idempotency-Key`), then the in-process transport reports a timeout: the response is lost.
    #[serde(rename = "timeout_after_processing")]
    TimeoutAfterProcessing,
    /// The request is handled as usual (it takes effect when it arrives); its answer is held
    /// back `latency_ms` of real time. The virtual clock does not move: under the in-process
    /// scenario runner the delay costs wall time only.
    #[serde(rename = "latency")]
    Latency,
}

impl ApiFaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiFaultKind::Status500 => "status_500",
            ApiFaultKind::Status503 => "status_503",
            ApiFaultKind::Status429 => "status_429",
            ApiFaultKind::Timeout => "timeout",
            ApiFaultKind::Reset => "reset",
            ApiFaultKind::TimeoutAfterProcessing => "timeout_after_processing",
            ApiFaultKind::Latency => "latency",
        }
    }
}

/// Webhook delivery faults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookFaults {
    /// Probability that an event is queued twice per subscription (same `IOP-Event-Id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<f64>,
    /// Probability that a first attempt is not sent and counts as failed (forces a retry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_first_attempt: Option<f64>,
    /// Seconds added to the due time of every newly queued delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_secs: Option<u64>,
    /// Send each batch of due deliveries in a seeded random order instead of (due_at, seq).
    #[serde(default)]
    pub reorder: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reschedule_style: Option<RescheduleStyle>,
}

/// How a reschedule shows up: the same interview moved (`interview.rescheduled`), or the old
/// one cancelled (reason `rescheduled`) and a new one created with `rescheduled_from_id`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RescheduleStyle {
    #[default]
    Native,
    CancelAndCreate,
}
