//! Control-API bodies both mocks share.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a `POST /_rehearsal/actions` call changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionOutcome {
    /// The id of what the action created (an IOP interview or feedback, say), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_id: Option<String>,
    /// Webhook deliveries queued by the action.
    pub webhooks_queued: usize,
}

/// `POST /_rehearsal/deliver` (first applies anything time-driven that is due at the mock's
/// clock, then sends every webhook delivery due) and `GET /_rehearsal/status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryReport {
    /// Deliveries answered with success in this call.
    pub delivered: usize,
    /// Deliveries that failed in this call (they are retried on schedule, or given up).
    pub failed: usize,
    /// Deliveries still waiting, including scheduled retries.
    pub pending: usize,
    /// When the earliest pending delivery (or time-driven change) is due.
    pub next_due: Option<DateTime<Utc>>,
}

/// The error body of a control call: `{"message": "..."}` with a 4xx status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlError {
    pub message: String,
}
