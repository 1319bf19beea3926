//! The embedded SQLite store: one file, WAL, one writer connection owned by a thread of its own
//! (SQLite allows one writer at a time; a single connection avoids "database is locked" under
//! concurrent handlers; see [`super::sqlite_writer`]) and a few reader connections, so the
//! worker's reads never queue behind a commit (in WAL mode readers see every committed write
//! and never block the writer).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, TransactionBehavior, params, params_from_iter};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::sqlite_writer::Writer;
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

/// How long a write waits for another process holding the database's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteStore {
    /// The one connection that writes, on its own thread.
    writer: Writer,
    /// Connections that only read (`PRAGMA query_only`).
    reader: SqlitePool,
}

fn err(e: sqlx::Error) -> StoreError {
    StoreError(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        // Every failure here names the file: "unable to open database file" alone does not
        // say which one.
        Self::open_at(path)
            .await
            .map_err(|StoreError(message)| StoreError(format!("{}: {message}", path.display())))
    }

    async fn open_at(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(err)?
            .busy_timeout(BUSY_TIMEOUT);
        let writer_options = options
            .clone()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        // The file is made, switched to WAL (which is permanent) and migrated on a connection
        // that is closed before the writing thread opens its own.
        let setup = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(writer_options)
            .await
            .map_err(err)?;
        let migrated = migrate(&setup).await;
        setup.close().await;
        migrated?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options.pragma("query_only", "ON"))
            .await
            .map_err(err)?;
        let writer = Writer::start(path, BUSY_TIMEOUT)?;
        Ok(Self { writer, reader })
    }
}

impl SqliteStore {
    /// Ends dead letter `id` in one transaction: `update` changes its inbox row (given that
    /// row's id) and the dead letter goes. False when there is no such dead letter.
    async fn settle_dead_letter<F>(&self, id: i64, update: F) -> Result<bool, StoreError>
    where
        F: FnOnce(&rusqlite::Transaction<'_>, i64) -> rusqlite::Result<usize> + Send + 'static,
    {
        self.writer
            .run(move |connection| {
                let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let inbox_id: Option<i64> = tx
                    .query_row("SELECT inbox_id FROM dead_letters WHERE id = ?1", [id], |row| {
                        row.get(0)
                    })
                    .optional()?;
                let Some(inbox_id) = inbox_id else { return Ok(false) };
                update(&tx, inbox_id)?;
                tx.execute("DELETE FROM dead_letters WHERE id = ?1", [id])?;
                tx.commit()?;
                Ok(true)
            })
            .await
    }

    /// Runs one statement with owned parameters on the writing connection, prepared once and
    /// kept for the next call.
    async fn write_one(&self, sql: &'static str, values: Vec<Value>) -> Result<(), StoreError> {
        self.writer
            .run(move |connection| {
                connection.prepare_cached(sql)?.execute(params_from_iter(values)).map(drop)
            })
            .await
    }
}

async fn migrate(setup: &SqlitePool) -> Result<(), StoreError> {
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            .execute(setup)
            .await
            .map_err(err)?;
    for (version, sql) in MIGRATIONS {
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                .bind(version)
                .fetch_optional(setup)
                .await
                .map_err(err)?;
        if done.is_some() {
            continue;
        }
        let mut tx = setup.begin().await.map_err(err)?;
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
        let events = events.to_vec();
        let done = done.to_vec();
        self.writer
            .run(move |connection| {
                // One transaction: every row of the batch is committed together, or none is
                // (dropping the transaction on an error rolls it back).
                let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let mut outcomes = Vec::with_capacity(events.len());
                {
                    // A row that already exists (stored earlier, or earlier in this batch) is
                    // skipped and returns nothing: a duplicate.
                    // TODO(perf): the inbox's AUTOINCREMENT rewrites `sqlite_sequence` in every
                    // commit, a page flushed per batch that a plain rowid would not need
                    // (changing it means rebuilding the table in a migration).
                    let mut insert = tx.prepare_cached(
                        "INSERT INTO inbox (source, event_id, kind, payload, received_at, status, next_attempt_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?5)
                         ON CONFLICT (source, event_id) DO NOTHING RETURNING id",
                    )?;
                    for event in &events {
                        let id: Option<i64> = insert
                            .query_row(
                                params![
                                    event.source.as_str(),
                                    event.event_id,
                                    event.kind,
                                    event.payload,
                                    stamp(event.at)
                                ],
                                |row| row.get(0),
                            )
                            .optional()?;
                        outcomes.push(id.map_or(Enqueued::Duplicate, Enqueued::New));
                    }
                    let mut mark = tx.prepare_cached(
                        "UPDATE inbox SET status = 'done', attempts = attempts + 1 WHERE id = ?1",
                    )?;
                    for id in &done {
                        mark.execute([id])?;
                    }
                }
                tx.commit()?;
                Ok(outcomes)
            })
            .await
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
        let sql = "UPDATE inbox SET status = 'done', attempts = attempts + 1 WHERE id = ?1";
        self.write_one(sql, vec![id.into()]).await
    }

    async fn retry_later(
        &self,
        id: i64,
        attempts: u32,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let sql =
            "UPDATE inbox SET attempts = ?1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?4";
        self.write_one(
            sql,
            vec![attempts.into(), stamp(at).into(), error.to_owned().into(), id.into()],
        )
        .await
    }

    async fn dead_letter(
        &self,
        item: &InboxItem,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let item = item.clone();
        let (reason, now) = (reason.to_owned(), stamp(now));
        self.writer
            .run(move |connection| {
                let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute(
                    "UPDATE inbox SET status = 'dead', last_error = ?1 WHERE id = ?2",
                    params![reason, item.id],
                )?;
                tx.execute(
                    "INSERT INTO dead_letters (inbox_id, source, event_id, kind, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![item.id, item.source.as_str(), item.event_id, item.kind, reason, now],
                )?;
                tx.commit()
            })
            .await
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
        let sql = "INSERT INTO request_links (request_id, application_id, candidate_id, stage_id, stage_name, stay_id, status, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (request_id) DO UPDATE SET status = excluded.status";
        let values = vec![
            link.request_id.clone().into(),
            link.application_id.into(),
            link.candidate_id.into(),
            link.stage_id.into(),
            link.stage_name.clone().into(),
            link.stay_id.into(),
            link.status.clone().into(),
            stamp(now).into(),
        ];
        self.write_one(sql, values).await
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
        let sql = "INSERT INTO interview_links (iop_interview_id, gh_interview_id, application_id, status) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (iop_interview_id) DO UPDATE SET gh_interview_id = excluded.gh_interview_id, status = excluded.status";
        let values = vec![
            link.iop_interview_id.clone().into(),
            link.gh_interview_id.into(),
            link.application_id.into(),
            link.status.clone().into(),
        ];
        self.write_one(sql, values).await
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
        let sql = "INSERT INTO feedback_links (feedback_id, gh_kind, gh_id, version) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (feedback_id) DO UPDATE SET version = excluded.version";
        let values = vec![
            link.feedback_id.clone().into(),
            link.gh_kind.clone().into(),
            link.gh_id.into(),
            link.version.into(),
        ];
        self.write_one(sql, values).await
    }

    async fn audit(
        &self,
        at: DateTime<Utc>,
        inbox_id: Option<i64>,
        action: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO audit (at, inbox_id, action, detail) VALUES (?1, ?2, ?3, ?4)";
        let values = vec![
            stamp(at).into(),
            inbox_id.into(),
            action.to_owned().into(),
            detail.to_owned().into(),
        ];
        self.write_one(sql, values).await
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
        let now = stamp(now);
        self.settle_dead_letter(id, move |tx, inbox_id| {
            tx.execute(
                "UPDATE inbox SET status = 'pending', attempts = 0, next_attempt_at = ?1, last_error = NULL
                 WHERE id = ?2",
                params![now, inbox_id],
            )
        })
        .await
    }

    async fn drop_dead_letter(&self, id: i64) -> Result<bool, StoreError> {
        self.settle_dead_letter(id, |tx, inbox_id| {
            // The inbox row stays, marked `dropped`, so a redelivery of the same event id is
            // still recognised as a duplicate; its payload is cleared because nobody will read
            // it again.
            tx.execute(
                "UPDATE inbox SET status = 'dropped', payload = '' WHERE id = ?1",
                [inbox_id],
            )
        })
        .await
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
        let sql = "INSERT INTO engine_state (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        self.write_one(sql, vec![key.to_owned().into(), value.to_owned().into()]).await
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

        // Many events, the refused one last: the rows inserted before it must be rolled back
        // with it.
        let mut batch: Vec<NewEvent> =
            (0..138).map(|n| event(Source::Greenhouse, &format!("e{n}"), now)).collect();
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
    async fn a_store_that_cannot_open_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-folder").join("engine.db");
        let error = SqliteStore::open(&missing).await.err().expect("no folder, no store");
        assert!(error.to_string().contains(&missing.display().to_string()), "{error}");

        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, [0x5a_u8; 8192]).unwrap();
        let error = SqliteStore::open(&garbage).await.err().expect("not a database");
        assert!(error.to_string().contains(&garbage.display().to_string()), "{error}");
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
