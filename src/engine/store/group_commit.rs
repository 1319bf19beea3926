//! Group commit for the engine's hot writes. Request handlers hand their accepted webhook, and
//! the worker its "event done" marks, to one writer task, which takes everything queued (up to
//! a bound), stores it with one [`Store::commit_batch`] — one transaction, one flush to disk —
//! and only then answers each waiting caller. Under load many webhooks and done marks share one
//! commit; a lone one is committed at once, because the writer never waits for a batch to fill.
//!
//! The promise to senders is unchanged: a handler learns its event is stored only after the
//! commit holding it succeeded, and when a batch fails every handler in it learns that nothing
//! of it was stored. The worker sends a done mark only after the event's handler has finished
//! (its effects are made), and treats the event as finished only once the mark is committed;
//! a crash in between replays an event whose effects happened, which handlers are built to
//! take. A batch that fails is tried again with its done marks alone, so a webhook the store
//! refuses does not make the worker's marks fail with it.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc, oneshot};

use super::{Enqueued, NewEvent, Store, StoreError};

/// Events waiting for the writer before handlers wait for room to queue theirs; a few full
/// batches, so a burst queues without blocking while the previous commit flushes.
const QUEUE_CAPACITY: usize = 1024;

type Reply = oneshot::Sender<Result<Enqueued, StoreError>>;
type DoneReply = oneshot::Sender<Result<(), StoreError>>;

enum Waiting {
    /// An accepted webhook to store.
    Event { event: NewEvent, reply: Reply },
    /// A handled event (its inbox id) to mark done.
    Done { id: i64, reply: DoneReply },
}

/// The handle handlers and the worker use; the writer task stops when the last handle is
/// dropped.
pub struct GroupCommit {
    queue: mpsc::Sender<Waiting>,
    stored: Arc<Notify>,
}

impl GroupCommit {
    /// Starts the writer task on the current Tokio runtime (so call it inside one), storing at
    /// most `max_batch` events per commit.
    pub fn start(store: Arc<dyn Store>, max_batch: usize) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE_CAPACITY);
        let stored = Arc::new(Notify::new());
        tokio::spawn(write(store, waiting, max_batch.max(1), stored.clone()));
        Self { queue, stored }
    }

    /// Stores `event` together with whatever else is queued, and returns once the commit that
    /// holds it has succeeded (or failed, storing none of its batch).
    pub async fn enqueue(&self, event: NewEvent) -> Result<Enqueued, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Waiting::Event { event, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Marks the handled event `id` done together with whatever else is queued, and returns
    /// once the commit holding the mark has succeeded (or failed: the event stays pending).
    pub async fn complete(&self, id: i64) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Waiting::Done { id, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Resolves after a commit stored at least one new event (at once when one did since the
    /// last call), so the worker need not poll for fresh work.
    pub async fn stored_new(&self) {
        self.stored.notified().await;
    }
}

fn stopped() -> StoreError {
    StoreError("the store's writer has stopped".into())
}

async fn write(
    store: Arc<dyn Store>,
    mut queue: mpsc::Receiver<Waiting>,
    max_batch: usize,
    stored: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(max_batch);
    while queue.recv_many(&mut batch, max_batch).await > 0 {
        let mut events = Vec::new();
        let mut replies = Vec::new();
        let mut done = Vec::new();
        let mut done_replies = Vec::new();
        for waiting in batch.drain(..) {
            match waiting {
                Waiting::Event { event, reply } => {
                    events.push(event);
                    replies.push(reply);
                }
                Waiting::Done { id, reply } => {
                    done.push(id);
                    done_replies.push(reply);
                }
            }
        }

        let started = std::time::Instant::now();
        // TODO(perf): the store answers this task, which answers each handler: one wake-up
        // more per batch than a store answering the handlers itself would cost.
        let mut result = store.commit_batch(&events, &done).await;
        if !done_replies.is_empty() {
            let marked = match &result {
                // The webhooks fail (their senders retry); the marks need not fail with them.
                Err(_) if !events.is_empty() => store.commit_batch(&[], &done).await.map(drop),
                other => other.as_ref().map(drop).map_err(Clone::clone),
            };
            answer_done(done_replies, &marked);
        }
        if events.is_empty() {
            continue;
        }
        let outcomes = match result.as_mut() {
            Ok(outcomes) if outcomes.len() == events.len() => std::mem::take(outcomes),
            Ok(outcomes) => {
                // Committed, but the outcomes cannot be matched to their handlers: none is
                // acknowledged, the senders retry, and the retries are recognised duplicates.
                let error = StoreError(format!(
                    "the store answered {} outcomes for {} events",
                    outcomes.len(),
                    events.len()
                ));
                fail_all(replies, &error);
                continue;
            }
            Err(error) => {
                fail_all(replies, error);
                continue;
            }
        };
        let took_us = started.elapsed().as_micros() as u64;
        tracing::debug!(events = events.len(), done = done.len(), took_us, "batch committed");
        if outcomes.iter().any(|outcome| matches!(outcome, Enqueued::New(_))) {
            stored.notify_one();
        }
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // A handler that went away (its client hung up) is simply not answered; its event
            // is stored, and a redelivery will be recognised as a duplicate.
            let _ = reply.send(Ok(outcome));
        }
    }
}

fn answer_done(replies: Vec<DoneReply>, result: &Result<(), StoreError>) {
    if let Err(error) = result {
        tracing::error!(%error, events = replies.len(), "could not mark handled events done");
    }
    for reply in replies {
        // A worker that went away leaves its event done or pending, both of which are safe.
        let _ = reply.send(result.clone());
    }
}

fn fail_all(replies: Vec<Reply>, error: &StoreError) {
    tracing::error!(%error, events = replies.len(), "could not store a batch of webhooks");
    for reply in replies {
        let _ = reply.send(Err(error.clone()));
    }
}

#[cfg(test)]
impl GroupCommit {
    /// Events sent and not yet taken by the writer.
    pub(crate) fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Sends `event` and returns the answer to wait for, once the writer has taken it: from
    /// then on the writer is busy with a batch holding this event alone.
    pub(crate) async fn enqueue_alone(
        &self,
        event: NewEvent,
    ) -> tokio::task::JoinHandle<Result<Enqueued, StoreError>> {
        assert_eq!(self.queued(), 0, "nothing else waits");
        let (reply, answer) = oneshot::channel();
        self.queue.send(Waiting::Event { event, reply }).await.map_err(|_| stopped()).unwrap();
        while self.queued() > 0 {
            tokio::task::yield_now().await;
        }
        tokio::spawn(async move { answer.await.map_err(|_| stopped())? })
    }

    /// Waits until `count` events are queued behind the writer's current batch.
    pub(crate) async fn wait_queued(&self, count: usize) {
        while self.queued() < count {
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use chrono::{DateTime, Utc};

    use super::*;
    use crate::clock::ManualClock;
    use crate::engine::store::testing::{WriteLock, refuse_event};
    use crate::engine::store::{Source, SqliteStore};

    fn event(event_id: &str, at: DateTime<Utc>) -> NewEvent {
        NewEvent {
            source: Source::Greenhouse,
            event_id: event_id.to_owned(),
            kind: "candidate_stage_change".to_owned(),
            payload: "{}".to_owned(),
            at,
        }
    }

    /// A store in `dir` and its writer: the database's path, the store, the writer.
    async fn writer(dir: &Path) -> (PathBuf, Arc<dyn Store>, Arc<GroupCommit>) {
        let path = dir.join("engine.db");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
        let commit = Arc::new(GroupCommit::start(store.clone(), 64));
        (path, store, commit)
    }

    /// Sends `first` alone, then `rest` while the writer is held on `first` by a lock on the
    /// database, so `rest` is taken as one batch once the lock is released. Returns the
    /// answers: `first`'s, then `rest`'s in order.
    async fn first_then_batch(
        commit: &Arc<GroupCommit>,
        path: &Path,
        first: NewEvent,
        rest: Vec<NewEvent>,
    ) -> (Result<Enqueued, StoreError>, Vec<Result<Enqueued, StoreError>>) {
        let lock = WriteLock::take(path).await;
        let first = commit.enqueue_alone(first).await;
        let count = rest.len();
        let waiting: Vec<_> = rest
            .into_iter()
            .map(|event| {
                let commit = commit.clone();
                tokio::spawn(async move { commit.enqueue(event).await })
            })
            .collect();
        commit.wait_queued(count).await;
        lock.release().await;
        let first = first.await.unwrap();
        let mut answers = Vec::new();
        for answer in waiting {
            answers.push(answer.await.unwrap());
        }
        (first, answers)
    }

    #[tokio::test]
    async fn queued_events_share_a_commit_and_repeats_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (path, store, commit) = writer(dir.path()).await;
        let now = ManualClock::scenario_epoch();

        let ids = ["a", "b", "a", "c", "b", "a", "x"];
        let (first, answers) =
            first_then_batch(&commit, &path, event("x", now), ids.map(|id| event(id, now)).into())
                .await;
        assert!(matches!(first, Ok(Enqueued::New(_))), "{first:?}");
        let new: Vec<bool> = answers.iter().map(|a| matches!(a, Ok(Enqueued::New(_)))).collect();
        assert_eq!(new, [true, true, false, true, false, false, false], "{answers:?}");
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");

        // Across batches too: a later repeat is a duplicate.
        assert_eq!(commit.enqueue(event("c", now)).await.unwrap(), Enqueued::Duplicate);
        let stored: Vec<String> =
            store.due(now, 100).await.unwrap().into_iter().map(|i| i.event_id).collect();
        assert_eq!(stored, ["x", "a", "b", "c"]);
    }

    #[tokio::test]
    async fn a_failed_commit_answers_every_waiter_and_stores_none_of_them() {
        let dir = tempfile::tempdir().unwrap();
        let (path, store, commit) = writer(dir.path()).await;
        let now = ManualClock::scenario_epoch();
        refuse_event(&path, "poison").await;

        let batch = ["b1", "b2", "poison", "b3"].map(|id| event(id, now));
        let (first, answers) =
            first_then_batch(&commit, &path, event("ok", now), batch.into()).await;
        assert!(matches!(first, Ok(Enqueued::New(_))), "{first:?}");
        for answer in &answers {
            let error = answer.as_ref().expect_err("no waiter of the failed batch is told stored");
            assert!(error.to_string().contains("injected failure"), "{error}");
        }
        let stored: Vec<String> =
            store.due(now, 100).await.unwrap().into_iter().map(|i| i.event_id).collect();
        assert_eq!(stored, ["ok"], "only the earlier batch was stored");

        // The writer goes on: the refused batch's other events are new when sent again.
        assert!(matches!(commit.enqueue(event("b2", now)).await, Ok(Enqueued::New(_))));
    }
}
