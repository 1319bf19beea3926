//! The embedded SQLite store: one file, WAL, one writer connection (SQLite allows one writer at
//! a time; a single connection avoids "database is locked" under concurrent handlers) and a
//! few reader connections, so the worker's reads never queue behind a commit (in WAL mode
//! readers see every committed write and never block the writer).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use super::{
    AuditEntry, DeadLetter, Enqueued, FeedbackLink, InboxItem, InterviewLink, NewEvent,
    RequestLink, Source, Store, StoreError, stamp, unstamp,
};

/// Migrations in order; each runs once, recorded in `schema_migrations`.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../../../migrations/sqlite/0002_engine_state.sql")),
    (3, include_str!("../../../migrations/sqlite/0003_request_stay.sql")),
];

/// Reader connections: the worker and the health and metrics endpoints read concurrently; the
/// machine this runs on typically has a couple of cores.
const READERS: u32 = 2;

/// Rows per `INSERT` statement of a batch: 7 bound values each stays far below SQLite's limit of
/// 32,766 variables per statement.
const ROWS_PER_INSERT: usize = 128;

pub struct SqliteStore {
    /// The one connection that writes.
    writer: SqlitePool,
    /// Connections that only read (`PRAGMA query_only`).
    reader: SqlitePool,
}

fn err(e: sqlx::Error) -> StoreError {
    StoreError(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(err)?
            .busy_timeout(Duration::from_secs(5));
        let writer_options = options
            .clone()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an event acknowledged to a webhook sender survives a power cut.
            .synchronous(SqliteSynchronous::Full);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(writer_options)
            .await
            .map_err(err)?;
        // Opened after the writer made the file and switched it to WAL, which is permanent.
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options.pragma("query_only", "ON"))
            .await
            .map_err(err)?;
        let store = Self { writer, reader };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            .execute(&self.writer)
            .await
            .map_err(err)?;
        for (version, sql) in MIGRATIONS {
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                    .bind(version)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err(err)?;
            if done.is_some() {
                continue;
            }
            let mut tx = self.writer.begin().await.map_err(err)?;
            sqlx::raw_sql(*sql).execute(&mut *tx).await.map_err(err)?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)")
                .bind(version)
                .bind(stamp(Utc::now()))
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            tx.commit().await.map_err(err)?;
        }
        Ok(())
    }
}

fn request_link(row: &sqlx::sqlite::SqliteRow) -> RequestLink {
    RequestLink {
        request_id: row.get("request_id"),
        application_id: row.get("application_id"),
        candidate_id: row.get("candidate_id"),
        stage_id: row.get("stage_id"),
        stage_name: row.get("stage_name"),
        stay_id: row.get("stay_id"),
        status: row.get("status"),
    }
}

fn interview_link(row: &sqlx::sqlite::SqliteRow) -> InterviewLink {
    InterviewLink {
        iop_interview_id: row.get("iop_interview_id"),
        gh_interview_id: row.get("gh_interview_id"),
        application_id: row.get("application_id"),
        status: row.get("status"),
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn commit_batch(
        &self,
        events: &[NewEvent],
        done: &[i64],
    ) -> Result<Vec<Enqueued>, StoreError> {
        if events.is_empty() && done.is_empty() {
            return Ok(Vec::new());
        }
        // Only the first event of each key goes to the database; a repeat inside the batch is
        // a duplicate of it, whatever the database says about the first.
        let mut first: HashMap<(Source, &str), usize> = HashMap::with_capacity(events.len());
        let mut unique = Vec::with_capacity(events.len());
        for (index, event) in events.iter().enumerate() {
            if let Entry::Vacant(slot) = first.entry((event.source, event.event_id.as_str())) {
                slot.insert(index);
                unique.push(event);
            }
        }

        // One transaction, sent as one script so the commit costs one trip to the connection's
        // thread rather than three (begin, insert, commit): every row of the batch is committed
        // together, or none is.
        let mut script = QueryBuilder::<Sqlite>::new("BEGIN IMMEDIATE; ");
        for chunk in unique.chunks(ROWS_PER_INSERT) {
            script.push(
                "INSERT INTO inbox (source, event_id, kind, payload, received_at, status, next_attempt_at) ",
            );
            script.push_values(chunk, |mut row, event| {
                let at = stamp(event.at);
                row.push_bind(event.source.as_str())
                    .push_bind(event.event_id.as_str())
                    .push_bind(event.kind.as_str())
                    .push_bind(event.payload.as_str())
                    .push_bind(at.clone())
                    .push("'pending'")
                    .push_bind(at);
            });
            // Rows that already exist are skipped and not returned.
            script.push(
                " ON CONFLICT (source, event_id) DO NOTHING RETURNING id, source, event_id; ",
            );
        }
        for chunk in done.chunks(ROWS_PER_INSERT) {
            script.push("UPDATE inbox SET status = 'done', attempts = attempts + 1 WHERE id IN (");
            let mut ids = script.separated(", ");
            for id in chunk {
                ids.push_bind(*id);
            }
            script.push("); ");
        }
        script.push("COMMIT");
        // TODO(perf): sqlx hands each statement to the connection's own thread and back; a writer
        // owning its connection on one blocking thread would save those switches per batch.
        let mut connection = self.writer.acquire().await.map_err(err)?;
        let rows = match script.build().fetch_all(&mut *connection).await {
            Ok(rows) => rows,
            Err(error) => {
                // A failed statement stops the script before its COMMIT. If the transaction
                // cannot be rolled back either, the connection is closed rather than reused
                // inside it; the pool opens a fresh one.
                if sqlx::raw_sql("ROLLBACK").execute(&mut *connection).await.is_err() {
                    connection.close_on_drop();
                }
                return Err(err(error));
            }
        };
        let mut inserted: HashMap<usize, i64> = HashMap::with_capacity(rows.len());
        for row in rows {
            let key = (Source::parse(row.get::<&str, _>("source")), row.get::<&str, _>("event_id"));
            if let Some(&index) = first.get(&key) {
                inserted.insert(index, row.get("id"));
            }
        }

        Ok((0..events.len())
            .map(|index| inserted.get(&index).map_or(Enqueued::Duplicate, |&id| Enqueued::New(id)))
            .collect())
    }

    async fn due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<InboxItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, source, event_id, kind, payload, attempts FROM inbox
             WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
        )
        .bind(stamp(now))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(err)?;
        Ok(rows
            .iter()
            .map(|row| InboxItem {
                id: row.get("id"),
                source: Source::parse(row.get::<&str, _>("source")),
                event_id: row.get("event_id"),
                kind: row.get("kind"),
                payload: row.get("payload"),
                attempts: u32::try_from(row.get::<i64, _>("attempts")).unwrap_or(0),
            })
            .collect())
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<String> =
            sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM inbox WHERE status = 'pending'")
                .fetch_one(&self.reader)
                .await
                .map_err(err)?;
        next.as_deref().map(unstamp).transpose()
    }

    async fn pending_count(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
            .fetch_one(&self.reader)
            .await
            .map_err(err)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn complete(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE inbox SET status = 'done', attempts = attempts + 1 WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn retry_later(
        &self,
        id: i64,
        attempts: u32,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE inbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
        )
        .bind(i64::from(attempts))
        .bind(stamp(at))
        .bind(error)
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn dead_letter(
        &self,
        item: &InboxItem,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(err)?;
        sqlx::query("UPDATE inbox SET status = 'dead', last_error = ? WHERE id = ?")
            .bind(reason)
            .bind(item.id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        sqlx::query(
            "INSERT INTO dead_letters (inbox_id, source, event_id, kind, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(item.id)
        .bind(item.source.as_str())
        .bind(&item.event_id)
        .bind(&item.kind)
        .bind(reason)
        .bind(stamp(now))
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)
    }

    async fn request_links(&self, application_id: i64) -> Result<Vec<RequestLink>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM request_links WHERE application_id = ? ORDER BY created_at, request_id",
        )
        .bind(application_id)
        .fetch_all(&self.reader)
        .await
        .map_err(err)?;
        Ok(rows.iter().map(request_link).collect())
    }

    async fn request_links_for_candidate(
        &self,
        candidate_id: i64,
    ) -> Result<Vec<RequestLink>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM request_links WHERE candidate_id = ? ORDER BY created_at, request_id",
        )
        .bind(candidate_id)
        .fetch_all(&self.reader)
        .await
        .map_err(err)?;
        Ok(rows.iter().map(request_link).collect())
    }

    async fn request_link(&self, request_id: &str) -> Result<Option<RequestLink>, StoreError> {
        let row = sqlx::query("SELECT * FROM request_links WHERE request_id = ?")
            .bind(request_id)
            .fetch_optional(&self.reader)
            .await
            .map_err(err)?;
        Ok(row.as_ref().map(request_link))
    }

    async fn put_request_link(
        &self,
        link: &RequestLink,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO request_links (request_id, application_id, candidate_id, stage_id, stage_name, stay_id, status, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (request_id) DO UPDATE SET status = excluded.status",
        )
        .bind(&link.request_id)
        .bind(link.application_id)
        .bind(link.candidate_id)
        .bind(link.stage_id)
        .bind(&link.stage_name)
        .bind(link.stay_id)
        .bind(&link.status)
        .bind(stamp(now))
        .execute(&self.writer)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn interview_link(
        &self,
        iop_interview_id: &str,
    ) -> Result<Option<InterviewLink>, StoreError> {
        let row = sqlx::query("SELECT * FROM interview_links WHERE iop_interview_id = ?")
            .bind(iop_interview_id)
            .fetch_optional(&self.reader)
            .await
            .map_err(err)?;
        Ok(row.as_ref().map(interview_link))
    }

    async fn interview_link_by_gh(
        &self,
        gh_interview_id: i64,
    ) -> Result<Option<InterviewLink>, StoreError> {
        let row = sqlx::query("SELECT * FROM interview_links WHERE gh_interview_id = ?")
            .bind(gh_interview_id)
            .fetch_optional(&self.reader)
            .await
            .map_err(err)?;
        Ok(row.as_ref().map(interview_link))
    }

    async fn put_interview_link(&self, link: &InterviewLink) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO interview_links (iop_interview_id, gh_interview_id, application_id, status) VALUES (?, ?, ?, ?)
             ON CONFLICT (iop_interview_id) DO UPDATE SET gh_interview_id = excluded.gh_interview_id, status = excluded.status",
        )
        .bind(&link.iop_interview_id)
        .bind(link.gh_interview_id)
        .bind(link.application_id)
        .bind(&link.status)
        .execute(&self.writer)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn feedback_link(&self, feedback_id: &str) -> Result<Option<FeedbackLink>, StoreError> {
        let row = sqlx::query("SELECT * FROM feedback_links WHERE feedback_id = ?")
            .bind(feedback_id)
            .fetch_optional(&self.reader)
            .await
            .map_err(err)?;
        Ok(row.map(|row| FeedbackLink {
            feedback_id: row.get("feedback_id"),
            gh_kind: row.get("gh_kind"),
            gh_id: row.get("gh_id"),
            version: row.get("version"),
        }))
    }

    async fn put_feedback_link(&self, link: &FeedbackLink) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO feedback_links (feedback_id, gh_kind, gh_id, version) VALUES (?, ?, ?, ?)
             ON CONFLICT (feedback_id) DO UPDATE SET version = excluded.version",
        )
        .bind(&link.feedback_id)
        .bind(&link.gh_kind)
        .bind(link.gh_id)
        .bind(link.version)
        .execute(&self.writer)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn audit(
        &self,
        at: DateTime<Utc>,
        inbox_id: Option<i64>,
        action: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit (at, inbox_id, action, detail) VALUES (?, ?, ?, ?)")
            .bind(stamp(at))
            .bind(inbox_id)
            .bind(action)
            .bind(detail)
            .execute(&self.writer)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, source, event_id, kind, reason, created_at FROM dead_letters ORDER BY id",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(err)?;
        rows.iter()
            .map(|row| {
                Ok(DeadLetter {
                    id: row.get("id"),
                    source: Source::parse(row.get::<&str, _>("source")),
                    event_id: row.get("event_id"),
                    kind: row.get("kind"),
                    reason: row.get("reason"),
                    created_at: unstamp(row.get::<&str, _>("created_at"))?,
                })
            })
            .collect()
    }

    async fn retry_dead_letter(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await.map_err(err)?;
        let inbox_id: Option<i64> =
            sqlx::query_scalar("SELECT inbox_id FROM dead_letters WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
        let Some(inbox_id) = inbox_id else { return Ok(false) };
        sqlx::query(
            "UPDATE inbox SET status = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL
             WHERE id = ?",
        )
        .bind(stamp(now))
        .bind(inbox_id)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        sqlx::query("DELETE FROM dead_letters WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn drop_dead_letter(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await.map_err(err)?;
        let inbox_id: Option<i64> =
            sqlx::query_scalar("SELECT inbox_id FROM dead_letters WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
        let Some(inbox_id) = inbox_id else { return Ok(false) };
        // The inbox row stays, marked `dropped`, so a redelivery of the same event id is still
        // recognised as a duplicate; its payload is cleared because nobody will read it again.
        sqlx::query("UPDATE inbox SET status = 'dropped', payload = '' WHERE id = ?")
            .bind(inbox_id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        sqlx::query("DELETE FROM dead_letters WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn open_request_links(&self) -> Result<Vec<RequestLink>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM request_links WHERE status = 'open' ORDER BY created_at, request_id",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(err)?;
        Ok(rows.iter().map(request_link).collect())
    }

    async fn get_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT value FROM engine_state WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.reader)
            .await
            .map_err(err)
    }

    async fn put_value(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO engine_state (key, value) VALUES (?, ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.writer)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn audit_trail(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query("SELECT at, action, detail FROM audit ORDER BY id")
            .fetch_all(&self.reader)
            .await
            .map_err(err)?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    at: unstamp(row.get::<&str, _>("at"))?,
                    action: row.get("action"),
                    detail: row.get("detail"),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[tokio::test]
    async fn enqueue_dedupes_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("engine.db");
        let now = ManualClock::scenario_epoch();

        let store = SqliteStore::open(&path).await.unwrap();
        let first = store
            .enqueue(Source::Greenhouse, "e1", "candidate_stage_change", "{}", now)
            .await
            .unwrap();
        assert!(matches!(first, Enqueued::New(_)));
        let again = store
            .enqueue(Source::Greenhouse, "e1", "candidate_stage_change", "{}", now)
            .await
            .unwrap();
        assert_eq!(again, Enqueued::Duplicate);
        // The same id from the other side is a different event.
        let other =
            store.enqueue(Source::Iop, "e1", "interview.scheduled", "{}", now).await.unwrap();
        assert!(matches!(other, Enqueued::New(_)));
        drop(store);

        let store = SqliteStore::open(&path).await.unwrap();
        let due = store.due(now, 10).await.unwrap();
        assert_eq!(due.len(), 2);
        store.retry_later(due[0].id, 1, now + chrono::Duration::seconds(30), "503").await.unwrap();
        store.complete(due[1].id).await.unwrap();
        assert!(store.due(now, 10).await.unwrap().is_empty());
        assert_eq!(store.next_due().await.unwrap(), Some(now + chrono::Duration::seconds(30)));
        assert_eq!(store.pending_count().await.unwrap(), 1);
    }

    fn event(source: Source, event_id: &str, at: DateTime<Utc>) -> NewEvent {
        NewEvent {
            source,
            event_id: event_id.to_owned(),
            kind: "candidate_stage_change".to_owned(),
            payload: format!(r#"{{"id":"{event_id}"}}"#),
            at,
        }
    }

    #[tokio::test]
    async fn a_batch_stores_each_event_once_within_and_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("engine.db")).await.unwrap();
        let now = ManualClock::scenario_epoch();
        let gh = |id: &str| event(Source::Greenhouse, id, now);

        let first = [gh("a"), gh("b"), gh("a"), event(Source::Iop, "a", now), gh("b")];
        let outcomes = store.enqueue_batch(&first).await.unwrap();
        let new: Vec<bool> = outcomes.iter().map(|o| matches!(o, Enqueued::New(_))).collect();
        assert_eq!(new, [true, true, false, true, false], "{outcomes:?}");

        let second = store.enqueue_batch(&[gh("c"), gh("a"), gh("c")]).await.unwrap();
        assert!(matches!(second[0], Enqueued::New(_)));
        assert_eq!(second[1..], [Enqueued::Duplicate, Enqueued::Duplicate]);

        // Each new outcome names its own row, holding that event's payload.
        let due = store.due(now, 100).await.unwrap();
        let stored: Vec<(i64, &str, &str)> =
            due.iter().map(|i| (i.id, i.event_id.as_str(), i.payload.as_str())).collect();
        let Enqueued::New(c) = second[0] else { unreachable!() };
        let Enqueued::New(a) = outcomes[0] else { unreachable!() };
        assert_eq!(stored.len(), 4, "{stored:?}");
        assert!(stored.contains(&(a, "a", r#"{"id":"a"}"#)), "{stored:?}");
        assert!(stored.contains(&(c, "c", r#"{"id":"c"}"#)), "{stored:?}");
        assert!(store.enqueue_batch(&[]).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_failing_batch_stores_none_of_its_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("engine.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let now = ManualClock::scenario_epoch();
        super::super::testing::refuse_event(&path, "poison").await;

        // More than one statement's worth, the refused one last: the rows the first
        // statement inserted must be rolled back with it.
        let mut batch: Vec<NewEvent> = (0..ROWS_PER_INSERT + 10)
            .map(|n| event(Source::Greenhouse, &format!("e{n}"), now))
            .collect();
        batch.push(event(Source::Greenhouse, "poison", now));
        let error = store.enqueue_batch(&batch).await.unwrap_err();
        assert!(error.to_string().contains("injected failure"), "{error}");
        assert_eq!(store.pending_count().await.unwrap(), 0, "nothing of the batch was stored");

        batch.pop();
        let outcomes = store.enqueue_batch(&batch).await.unwrap();
        assert!(outcomes.iter().all(|o| matches!(o, Enqueued::New(_))), "{outcomes:?}");
        assert_eq!(store.pending_count().await.unwrap(), batch.len() as u64);
    }

    #[tokio::test]
    async fn dead_letters_can_be_retried_or_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("engine.db")).await.unwrap();
        let now = ManualClock::scenario_epoch();
        for event_id in ["e1", "e2"] {
            store.enqueue(Source::Greenhouse, event_id, "hire_candidate", "{}", now).await.unwrap();
        }
        for item in store.due(now, 10).await.unwrap() {
            store.retry_later(item.id, 3, now, "503").await.unwrap();
            let item = InboxItem { attempts: 3, ..item };
            store.dead_letter(&item, "gave up", now).await.unwrap();
        }
        let dead = store.dead_letters().await.unwrap();
        assert_eq!(dead.iter().map(|d| d.event_id.as_str()).collect::<Vec<_>>(), ["e1", "e2"]);

        let later = now + chrono::Duration::minutes(5);
        assert!(store.retry_dead_letter(dead[0].id, later).await.unwrap());
        assert!(!store.retry_dead_letter(dead[0].id, later).await.unwrap(), "already retried");
        let due = store.due(later, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].event_id.as_str(), due[0].attempts), ("e1", 0));

        assert!(store.drop_dead_letter(dead[1].id).await.unwrap());
        assert!(!store.drop_dead_letter(dead[1].id).await.unwrap());
        assert!(store.dead_letters().await.unwrap().is_empty());
        // A dropped event stays known, so its redelivery is a duplicate.
        let again = store.enqueue(Source::Greenhouse, "e2", "hire_candidate", "{}", later).await;
        assert_eq!(again.unwrap(), Enqueued::Duplicate);
    }

    #[tokio::test]
    async fn named_values_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("engine.db")).await.unwrap();
        assert_eq!(store.get_value("w").await.unwrap(), None);
        store.put_value("w", "a").await.unwrap();
        store.put_value("w", "b").await.unwrap();
        assert_eq!(store.get_value("w").await.unwrap().as_deref(), Some("b"));
    }
}
