//! The engine's durable store, behind one trait so backends sit side by side (SQLite is the
//! embedded default; PostgreSQL comes later behind the same trait).

mod group_commit;
mod sqlite;
mod sqlite_writer;
#[cfg(test)]
pub(crate) mod testing;

pub use group_commit::GroupCommit;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A store failure. The message never contains payloads.
#[derive(Debug, Clone, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(pub String);

/// Which side an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Greenhouse,
    Iop,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Greenhouse => "greenhouse",
            Source::Iop => "iop",
        }
    }

    fn parse(text: &str) -> Self {
        if text == "iop" { Source::Iop } else { Source::Greenhouse }
    }
}

/// Whether an event was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    New(i64),
    /// The same `(source, event_id)` was accepted before; nothing was stored.
    Duplicate,
}

/// An event to store, as [`Store::enqueue_batch`] takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub source: Source,
    pub event_id: String,
    pub kind: String,
    pub payload: String,
    /// When it was received; it is due at the same instant.
    pub at: DateTime<Utc>,
}

/// A stored event waiting to be handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    pub id: i64,
    pub source: Source,
    pub event_id: String,
    pub kind: String,
    pub payload: String,
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestLink {
    pub request_id: String,
    pub application_id: i64,
    pub candidate_id: i64,
    pub stage_id: i64,
    pub stage_name: String,
    /// The Greenhouse application-stage row (the stay in the stage) the request was opened
    /// for; `None` on links recorded before stays were.
    pub stay_id: Option<i64>,
    /// `open`; `closed` (the engine cancelled it); `ended` (the IOP ended it: completed,
    /// expired or cancelled there); `declined` (the candidate declined).
    pub status: String,
}

impl RequestLink {
    /// Whether the request's outcome settles its stay for good: a stay whose request was
    /// completed, expired, cancelled in the IOP or declined gets no second request (the
    /// engine's own cancellation, on a reject say, does not settle it).
    pub fn settles_stay(&self) -> bool {
        matches!(self.status.as_str(), "ended" | "declined")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterviewLink {
    pub iop_interview_id: String,
    pub gh_interview_id: Option<i64>,
    pub application_id: i64,
    /// `active` or `deleted`.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedbackLink {
    pub feedback_id: String,
    /// `scorecard` or `note`.
    pub gh_kind: String,
    pub gh_id: i64,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// What `engine dead-letters retry|drop` take.
    pub id: i64,
    pub source: Source,
    pub event_id: String,
    pub kind: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub action: String,
    pub detail: String,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Stores one event, due at `now`; a repeat of `(source, event_id)` is a duplicate.
    async fn enqueue(
        &self,
        source: Source,
        event_id: &str,
        kind: &str,
        payload: &str,
        now: DateTime<Utc>,
    ) -> Result<Enqueued, StoreError> {
        let event = NewEvent {
            source,
            event_id: event_id.to_owned(),
            kind: kind.to_owned(),
            payload: payload.to_owned(),
            at: now,
        };
        let outcomes = self.enqueue_batch(std::slice::from_ref(&event)).await?;
        outcomes.first().copied().ok_or_else(|| StoreError("no outcome for the event".into()))
    }
    /// Stores several events in one durable commit: when it returns `Ok`, every new event of
    /// the batch is stored and will survive a crash; on `Err` none of them is. One outcome per
    /// event, in order. An event whose `(source, event_id)` is already stored, or appears
    /// earlier in the same batch, is a [`Enqueued::Duplicate`] and stores nothing.
    async fn enqueue_batch(&self, events: &[NewEvent]) -> Result<Vec<Enqueued>, StoreError> {
        self.commit_batch(events, &[]).await
    }
    /// As [`Store::enqueue_batch`], and in the same commit marks the handled events `done` (by
    /// inbox id) done, as [`Store::complete`] does: all of it is committed, or none of it.
    async fn commit_batch(
        &self,
        events: &[NewEvent],
        done: &[i64],
    ) -> Result<Vec<Enqueued>, StoreError>;
    /// Pending events due at `now`, oldest first.
    async fn due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<InboxItem>, StoreError>;
    /// When the next pending event is due.
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
    async fn pending_count(&self) -> Result<u64, StoreError>;
    async fn complete(&self, id: i64) -> Result<(), StoreError>;
    async fn retry_later(
        &self,
        id: i64,
        attempts: u32,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError>;
    async fn dead_letter(
        &self,
        item: &InboxItem,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn request_links(&self, application_id: i64) -> Result<Vec<RequestLink>, StoreError>;
    async fn request_links_for_candidate(
        &self,
        candidate_id: i64,
    ) -> Result<Vec<RequestLink>, StoreError>;
    async fn request_link(&self, request_id: &str) -> Result<Option<RequestLink>, StoreError>;
    async fn put_request_link(
        &self,
        link: &RequestLink,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn interview_link(
        &self,
        iop_interview_id: &str,
    ) -> Result<Option<InterviewLink>, StoreError>;
    async fn interview_link_by_gh(
        &self,
        gh_interview_id: i64,
    ) -> Result<Option<InterviewLink>, StoreError>;
    async fn put_interview_link(&self, link: &InterviewLink) -> Result<(), StoreError>;

    async fn feedback_link(&self, feedback_id: &str) -> Result<Option<FeedbackLink>, StoreError>;
    async fn put_feedback_link(&self, link: &FeedbackLink) -> Result<(), StoreError>;

    async fn audit(
        &self,
        at: DateTime<Utc>,
        inbox_id: Option<i64>,
        action: &str,
        detail: &str,
    ) -> Result<(), StoreError>;
    /// Dead letters, oldest first, with the ids `retry_dead_letter`/`drop_dead_letter` take.
    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError>;
    /// Moves a dead letter's event back to pending, due at `now` with its attempts reset.
    /// `false` when no dead letter has that id.
    async fn retry_dead_letter(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Deletes a dead letter for good. `false` when no dead letter has that id.
    async fn drop_dead_letter(&self, id: i64) -> Result<bool, StoreError>;
    async fn audit_trail(&self) -> Result<Vec<AuditEntry>, StoreError>;

    /// Every request link still `open`, for reconciliation.
    async fn open_request_links(&self) -> Result<Vec<RequestLink>, StoreError>;
    /// A named value kept between runs (e.g. the reconciliation watermark).
    async fn get_value(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn put_value(&self, key: &str, value: &str) -> Result<(), StoreError>;
}

/// Timestamps are stored as fixed-width UTC text so they sort as they compare.
pub(crate) fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) fn unstamp(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| StoreError(format!("bad timestamp {text:?}: {e}")))
}
