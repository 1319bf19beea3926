//! Test helpers that reach an engine's SQLite file from a second connection, as another
//! process would: hold its write lock, or make it refuse one event id.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

async fn connect(path: &Path) -> SqliteConnection {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .expect("a valid SQLite path");
    SqliteConnection::connect_with(&options).await.expect("a second connection opens")
}

/// Holds the database's write lock until released, so the engine's writer waits (up to its
/// busy timeout of 5 s) at its next commit.
pub(crate) struct WriteLock(SqliteConnection);

impl WriteLock {
    pub(crate) async fn take(path: &Path) -> Self {
        let mut connection = connect(path).await;
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut connection).await.expect("BEGIN IMMEDIATE");
        Self(connection)
    }

    pub(crate) async fn release(mut self) {
        sqlx::raw_sql("ROLLBACK").execute(&mut self.0).await.expect("ROLLBACK");
    }
}

/// Makes every insert of `event_id` into the inbox fail, as a full disk or a broken file would
/// fail a commit: the statement aborts and the transaction holding it must roll back.
pub(crate) async fn refuse_event(path: &Path, event_id: &str) {
    let mut connection = connect(path).await;
    let trigger = format!(
        "CREATE TRIGGER refuse_{n} BEFORE INSERT ON inbox WHEN NEW.event_id = '{event_id}'
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        n = event_id.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(trigger)).execute(&mut connection).await.expect("trigger");
}
