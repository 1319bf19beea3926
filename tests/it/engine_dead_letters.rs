//! `rehearsal engine dead-letters list|retry|drop` on the store the config names.

use std::path::Path;

use rehearsal::clock::ManualClock;
use rehearsal::engine::store::{Source, SqliteStore, Store};

use crate::engine_world::config_text;
use crate::helpers::{rehearsal, write};

/// A store with three dead letters (e1, e2, e3) and a config naming it.
async fn store_with_dead_letters(dir: &Path) -> (String, Vec<i64>) {
    let sqlite = dir.join("engine.db");
    let store = SqliteStore::open(&sqlite).await.unwrap();
    let now = ManualClock::scenario_epoch();
    for event_id in ["e1", "e2", "e3"] {
        store.enqueue(Source::Greenhouse, event_id, "hire_candidate", "{}", now).await.unwrap();
    }
    for item in store.due(now, 10).await.unwrap() {
        let reason = format!("POST /v3/notes answered 422: bad {}", item.event_id);
        store.dead_letter(&item, &reason, now).await.unwrap();
    }
    let ids = store.dead_letters().await.unwrap().iter().map(|d| d.id).collect();
    let text = config_text(
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        &sqlite.display().to_string(),
        "DL_",
    );
    (write(dir, "engine.toml", &text).display().to_string(), ids)
}

#[tokio::test]
async fn list_retry_and_drop_change_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (config, ids) = store_with_dead_letters(dir.path()).await;

    let run = rehearsal(&["engine", "dead-letters", "list", "--config", &config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(lines[0].starts_with(&format!("{}\t", ids[0])), "{}", run.stdout);
    assert!(
        lines[0].contains("\tgreenhouse\thire_candidate\te1\tPOST /v3/notes answered 422: bad e1")
    );

    let run =
        rehearsal(&["engine", "dead-letters", "retry", "--config", &config, &ids[0].to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run =
        rehearsal(&["engine", "dead-letters", "drop", "--config", &config, &ids[1].to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let store = SqliteStore::open(&dir.path().join("engine.db")).await.unwrap();
    let left: Vec<String> =
        store.dead_letters().await.unwrap().into_iter().map(|d| d.event_id).collect();
    assert_eq!(left, ["e3"]);
    // The retried one is pending again with its attempts reset; the dropped one is not.
    let far_future = ManualClock::scenario_epoch() + chrono::Duration::days(36_500);
    let due = store.due(far_future, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|i| (i.event_id.as_str(), i.attempts)).collect::<Vec<_>>(),
        [("e1", 0)]
    );
}

#[tokio::test]
async fn an_id_named_twice_is_dropped_once_and_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let (config, ids) = store_with_dead_letters(dir.path()).await;
    let id = ids[0].to_string();
    let run = rehearsal(&["engine", "dead-letters", "drop", "--config", &config, &id, &id]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.trim(), format!("{id}: dropped"));
}

#[tokio::test]
async fn retry_all_and_unknown_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = store_with_dead_letters(dir.path()).await;

    // An id that names no dead letter is bad input (exit 2), named in the error.
    let run = rehearsal(&["engine", "dead-letters", "drop", "--config", &config, "999"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("error: no dead letter with id 999"), "{}", run.stderr);

    let run = rehearsal(&["engine", "dead-letters", "retry", "--config", &config, "--all"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    let run = rehearsal(&["engine", "dead-letters", "list", "--config", &config]);
    assert_eq!(run.stdout.trim(), "no dead letters");
}
