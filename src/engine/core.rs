//! The engine object and its worker: take due events from the store in order, handle each,
//! and record the outcome (done, retry later with backoff, or dead letter).

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::task::JoinSet;

use super::config::{EngineConfig, MAX_CONCURRENCY, Secrets};
use super::metrics::EngineMetrics;
use super::ordering::{Lane, Lanes};
use super::store::{
    AuditEntry, DeadLetter, GroupCommit, InboxItem, SqliteStore, Store, StoreError,
};
use crate::clock::SharedClock;
use crate::greenhouse::client::{HarvestClient, HarvestSettings};
use crate::iop::client::{IopClient, IopSettings};
use crate::transport::{ApiError, SharedHttp};

/// Events taken from the store per batch.
const BATCH: u32 = 100;

/// Webhooks stored per commit at most. Under load one commit's flush to disk is shared by up to
/// this many; past a few dozen the flush is amortised already and a bigger batch only makes its
/// first webhook wait longer.
const MAX_INGEST_BATCH: usize = 128;

/// Why one event could not be handled now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// Try again later (after `retry_after` when the other side said so).
    #[error("{reason}")]
    Transient { reason: String, retry_after: Option<Duration> },
    /// Our own pacing: wait for the rate-limit window without spending an attempt.
    #[error("{reason}")]
    RateLimited { reason: String, retry_after: Duration },
    /// The other side's read is older than its own webhook (a replica catching up). Waiting
    /// for it spends no attempt while the event is younger than `retry.max_read_lag_secs`;
    /// after that it is an ordinary transient failure. `since` is the event's time when the
    /// handler knows it; otherwise it is taken from the stored event (`occurred_at`).
    #[error("{reason}")]
    Lagging { reason: String, since: Option<DateTime<Utc>> },
    /// Retrying cannot help; the event becomes a dead letter with this reason.
    #[error("{0}")]
    Permanent(String),
}

impl From<ApiError> for HandlerError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Transient { reason, retry_after } => {
                HandlerError::Transient { reason, retry_after }
            }
            ApiError::RateLimited { reason, retry_after } => {
                HandlerError::RateLimited { reason, retry_after }
            }
            permanent @ ApiError::Permanent { .. } => {
                HandlerError::Permanent(permanent.to_string())
            }
        }
    }
}

impl From<StoreError> for HandlerError {
    fn from(error: StoreError) -> Self {
        HandlerError::Transient { reason: error.to_string(), retry_after: None }
    }
}

impl From<super::mapping::MappingError> for HandlerError {
    fn from(error: super::mapping::MappingError) -> Self {
        HandlerError::Permanent(error.to_string())
    }
}

/// What a worker pass did, for reports and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WorkerStats {
    pub handled: u64,
    pub retried: u64,
    pub dead_lettered: u64,
}

pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) secrets: Secrets,
    pub(crate) store: Arc<dyn Store>,
    /// Where accepted webhooks are stored and handled events marked done: one writer, many
    /// of both per commit.
    pub(crate) ingest: GroupCommit,
    pub(crate) greenhouse: HarvestClient,
    pub(crate) iop: IopClient,
    pub(crate) clock: SharedClock,
    pub(crate) metrics: EngineMetrics,
    /// Interview plans read from Harvest, kept briefly (see [`super::user_map::PlanCache`]).
    pub(crate) plans: super::user_map::PlanCache,
    rng: Mutex<ChaCha8Rng>,
    stats: Mutex<WorkerStats>,
}

impl Engine {
    /// Opens the SQLite store named by the config and builds the engine.
    pub async fn open(
        config: EngineConfig,
        secrets: Secrets,
        http: SharedHttp,
        clock: SharedClock,
    ) -> Result<Arc<Self>, StoreError> {
        let store = SqliteStore::open(Path::new(&config.store.sqlite_path)).await?;
        Ok(Self::with_store(config, secrets, Arc::new(store), http, clock))
    }

    /// Builds the engine on `store`. Call it inside a Tokio runtime: it starts the task that
    /// stores accepted webhooks, which runs until the engine is dropped.
    pub fn with_store(
        config: EngineConfig,
        secrets: Secrets,
        store: Arc<dyn Store>,
        http: SharedHttp,
        clock: SharedClock,
    ) -> Arc<Self> {
        let greenhouse = HarvestClient::new(
            HarvestSettings {
                base_url: config.greenhouse.base_url.trim_end_matches('/').to_owned(),
                token_url: config.greenhouse.token_url.clone(),
                client_id: secrets.greenhouse_client_id.clone(),
                client_secret: secrets.greenhouse_client_secret.clone(),
                acting_user_id: config.greenhouse.acting_user_id,
            },
            http.clone(),
            clock.clone(),
        );
        let iop = IopClient::new(
            IopSettings {
                base_url: config.iop.base_url.trim_end_matches('/').to_owned(),
                api_key: secrets.iop_api_key.clone(),
            },
            http,
            clock.clone(),
        );
        let rng = Mutex::new(ChaCha8Rng::seed_from_u64(config.service.seed));
        let ingest = GroupCommit::start(store.clone(), MAX_INGEST_BATCH);
        Arc::new(Self {
            config,
            secrets,
            store,
            ingest,
            greenhouse,
            iop,
            clock,
            metrics: EngineMetrics::new(),
            plans: Default::default(),
            rng,
            stats: Mutex::default(),
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn stats(&self) -> WorkerStats {
        *self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn harvest_stats(&self) -> crate::greenhouse::client::HarvestStats {
        self.greenhouse.stats()
    }

    /// Handles every event due now until none is due, up to `service.concurrency` at once and
    /// never two of one candidate at once (see [`super::ordering`]), then goes on with a
    /// reconciliation sweep whose pause has ended. Returns how many events were taken.
    pub async fn run_due(self: &Arc<Self>) -> Result<usize, StoreError> {
        let stop = AtomicBool::new(false);
        let taken = self.run_due_until(&stop).await?;
        if let Some(resume_at) = self.sweep_resumes_at().await.map_err(store_error)?
            && resume_at <= self.clock.now()
        {
            self.sweep(&stop).await;
        }
        Ok(taken)
    }

    /// As [`Engine::run_due`], but starts no further event once `stop` is set: the events in
    /// hand are finished and recorded, the rest stays pending in the store. A store failure
    /// also stops new starts; the events in hand finish before it is returned.
    ///
    /// Each event is handled on a task of its own, so events in hand keep moving while this
    /// loop reads the store (polled from one task, a handler holding a store connection
    /// could wait on this loop while this loop waits for that connection).
    async fn run_due_until(self: &Arc<Self>, stop: &AtomicBool) -> Result<usize, StoreError> {
        let limit = self.config.service.concurrency.clamp(1, MAX_CONCURRENCY) as usize;
        let mut lanes = Lanes::new(limit);
        // Taken from the store, not started yet, oldest first.
        let mut waiting: VecDeque<(Lane, InboxItem)> = VecDeque::new();
        let mut running = JoinSet::new();
        // Events in hand, by task: they are still pending in the store, so a fresh look at
        // the store skips them until their task has been joined.
        let mut in_hand: HashMap<tokio::task::Id, (Lane, i64)> = HashMap::new();
        let mut taken = 0;
        let mut failed = None;
        loop {
            if waiting.is_empty() && failed.is_none() && !stop.load(Ordering::SeqCst) {
                // Room for a whole batch besides the events in hand.
                let limit = BATCH + u32::try_from(in_hand.len()).unwrap_or(u32::MAX);
                match self.store.due(self.clock.now(), limit).await {
                    Ok(items) => {
                        let held: HashSet<i64> = in_hand.values().map(|(_, id)| *id).collect();
                        waiting.extend(
                            items
                                .into_iter()
                                .filter(|item| !held.contains(&item.id))
                                .map(|item| (Lane::of(&item), item)),
                        );
                    }
                    Err(error) => failed = Some(error),
                }
            }
            while failed.is_none() && !stop.load(Ordering::SeqCst) {
                let Some(index) = lanes.startable(waiting.iter().map(|(lane, _)| *lane)) else {
                    break;
                };
                let Some((lane, item)) = waiting.remove(index) else { break };
                lanes.start(lane);
                let id = item.id;
                let engine = Arc::clone(self);
                let task = running.spawn(async move { engine.handle(&item).await });
                in_hand.insert(task.id(), (lane, id));
                taken += 1;
            }
            // Nothing runs only when nothing was left to start (an idle lane always admits the
            // first waiting event), or after a stop or a failure.
            let Some(joined) = running.join_next_with_id().await else {
                return failed.map_or(Ok(taken), Err);
            };
            let (task, outcome) = match joined {
                Ok((task, outcome)) => (task, outcome),
                // A handler that panicked leaves its event pending, to be tried again.
                Err(error) => {
                    (error.id(), Err(StoreError(format!("event handler failed: {error}"))))
                }
            };
            if let Some((lane, _)) = in_hand.remove(&task) {
                lanes.finish(lane);
            }
            if let Err(error) = outcome {
                failed.get_or_insert(error);
            }
        }
    }

    /// The Prometheus text exposition of this engine's metrics (`GET /metrics`).
    pub async fn metrics_text(&self) -> Result<String, StoreError> {
        let queue_depth = self.store.pending_count().await?;
        let dead_letters = self.store.dead_letters().await?.len() as u64;
        let waits = self.greenhouse.stats().rate_limit_waits + self.iop.rate_limit_waits();
        Ok(self.metrics.render(queue_depth, dead_letters, waits))
    }

    /// When the next stored event is due (a retry, typically), or a paused reconciliation
    /// sweep goes on, whichever comes first.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let event = self.store.next_due().await?;
        let sweep = self.sweep_resumes_at().await.map_err(store_error)?;
        Ok(event.into_iter().chain(sweep).min())
    }

    pub async fn pending(&self) -> Result<u64, StoreError> {
        self.store.pending_count().await
    }

    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        self.store.dead_letters().await
    }

    pub async fn audit_trail(&self) -> Result<Vec<AuditEntry>, StoreError> {
        self.store.audit_trail().await
    }

    /// A transient failure: retried after a capped, jittered backoff, or a dead letter once
    /// the attempts are used up.
    async fn retry_or_give_up(
        &self,
        item: &InboxItem,
        reason: &str,
        retry_after: Option<Duration>,
        now: DateTime<Utc>,
        took: Duration,
    ) -> Result<(), StoreError> {
        let source = item.source.as_str();
        let attempts = item.attempts + 1;
        if attempts >= self.config.retry.max_attempts {
            self.count(|s| s.dead_lettered += 1);
            self.metrics.handled(source, &item.kind, "dead_letter", took);
            tracing::error!(error = log_safe(reason), "event dead-lettered after its last attempt");
            let reason = format!("gave up after {attempts} attempts: {reason}");
            return self.store.dead_letter(item, &reason, now).await;
        }
        let delay = self.backoff(attempts).max(retry_after.unwrap_or_default());
        let at = now
            + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::seconds(1));
        self.count(|s| s.retried += 1);
        self.metrics.handled(source, &item.kind, "retry", took);
        tracing::warn!(
            error = log_safe(reason),
            retry_in_ms = delay.as_millis() as u64,
            "event will be retried"
        );
        self.store
            .audit(now, Some(item.id), "retry_scheduled", &format!("{}: {reason}", item.kind))
            .await?;
        self.store.retry_later(item.id, attempts, at, reason).await
    }

    #[tracing::instrument(skip_all, fields(source = item.source.as_str(), event_id = %item.event_id, kind = %item.kind, attempt = item.attempts + 1))]
    async fn handle(&self, item: &InboxItem) -> Result<(), StoreError> {
        // Latency is a measurement, not a decision, so it reads tokio's clock (which follows
        // paused time in tests) rather than the injected wall clock.
        let started = tokio::time::Instant::now();
        let outcome = match item.source {
            super::store::Source::Greenhouse => self.on_greenhouse(item).await,
            super::store::Source::Iop => self.on_iop(item).await,
        };
        let took = started.elapsed();
        let source = item.source.as_str();
        let now = self.clock.now();
        match outcome {
            Ok(()) => {
                self.count(|s| s.handled += 1);
                self.metrics.handled(source, &item.kind, "done", took);
                tracing::info!(took_ms = took.as_millis() as u64, "event handled");
                // Marked done only now that the handler has finished, in the writer's next
                // batch (with whatever webhooks it stores): a crash before that commit replays
                // the event, which handlers are built to take.
                self.ingest.complete(item.id).await
            }
            Err(HandlerError::Transient { reason, retry_after }) => {
                self.retry_or_give_up(item, &reason, retry_after, now, took).await
            }
            Err(HandlerError::Lagging { reason, since }) => {
                let since = since.or_else(|| event_time(&item.payload));
                let max_lag = chrono::Duration::seconds(
                    i64::try_from(self.config.retry.max_read_lag_secs).unwrap_or(i64::MAX / 1000),
                );
                match since {
                    Some(since) if now - since < max_lag => {
                        // Wait about as long again as the event has waited (a lag of seconds
                        // is re-read within seconds), at least the base delay, at most a minute.
                        let waited = (now - since).num_seconds().max(0) as u64;
                        let secs = waited.clamp(self.config.retry.base_delay_secs.max(1), 60);
                        let at = now + chrono::Duration::seconds(secs as i64);
                        self.metrics.handled(source, &item.kind, "lagging", took);
                        tracing::info!(wait_secs = secs, "waiting for a lagging read");
                        self.store
                            .audit(
                                now,
                                Some(item.id),
                                "read_lagging",
                                &format!("{}: {reason}; read again in {secs} s", item.kind),
                            )
                            .await?;
                        self.store.retry_later(item.id, item.attempts, at, &reason).await
                    }
                    _ => self.retry_or_give_up(item, &reason, None, now, took).await,
                }
            }
            Err(HandlerError::RateLimited { reason, retry_after }) => {
                // The attempt count stays: nothing was tried, so nothing failed.
                let at = now
                    + chrono::Duration::from_std(retry_after)
                        .unwrap_or_else(|_| chrono::Duration::seconds(1));
                self.metrics.handled(source, &item.kind, "rate_limited", took);
                tracing::info!(
                    wait_ms = retry_after.as_millis() as u64,
                    "waiting for the rate-limit window"
                );
                self.store.retry_later(item.id, item.attempts, at, &reason).await
            }
            Err(HandlerError::Permanent(reason)) => {
                self.count(|s| s.dead_lettered += 1);
                self.metrics.handled(source, &item.kind, "dead_letter", took);
                // The full reason (with the response body) goes to the store, not the log.
                tracing::error!(error = log_safe(&reason), "event dead-lettered");
                tracing::debug!(%reason, "dead-letter reason");
                self.store
                    .audit(now, Some(item.id), "dead_lettered", &format!("{}: {reason}", item.kind))
                    .await?;
                self.store.dead_letter(item, &reason, now).await
            }
        }
    }

    /// Capped exponential backoff with ±20 % jitter from the seeded generator.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.config.retry.base_delay_secs.max(1) as f64;
        let cap = self.config.retry.max_delay_secs.max(1) as f64;
        let raw = (base * 2f64.powi(attempt.saturating_sub(1).min(30) as i32)).min(cap);
        let jitter = self.rng.lock().unwrap_or_else(|p| p.into_inner()).random_range(0.8..1.2);
        Duration::from_millis((raw * jitter * 1000.0) as u64)
    }

    fn count(&self, update: impl FnOnce(&mut WorkerStats)) {
        update(&mut self.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Records a decision in the audit trail.
    pub(crate) async fn audit(
        &self,
        item: Option<i64>,
        action: &str,
        detail: String,
    ) -> Result<(), HandlerError> {
        self.store.audit(self.clock.now(), item, action, &detail).await?;
        self.metrics.action(action);
        Ok(())
    }

    /// Serves forever (the `rehearsal engine serve` loop): handle what is due, reconcile when
    /// the interval has passed, then sleep until the next due event, a newly stored webhook or
    /// the poll interval, until `shutdown` resolves.
    ///
    /// Shutdown is graceful: the event in hand is finished and its outcome recorded, a sweep in
    /// progress finishes its current application, and everything not started stays in the
    /// store for the next start (it was stored before it was acknowledged).
    pub async fn run_forever(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let stop = AtomicBool::new(false);
        let poll = Duration::from_secs(self.config.service.poll_interval_secs.max(1));
        let mut next_sweep = self.clock.now();
        loop {
            {
                let pass = self.pass(&stop, &mut next_sweep);
                tokio::pin!(pass);
                tokio::select! {
                    () = &mut pass => {}
                    () = &mut shutdown => {
                        stop.store(true, Ordering::SeqCst);
                        pass.await;
                        tracing::info!("worker stopped");
                        return;
                    }
                }
            }
            let wait = match self.next_due().await {
                Ok(Some(at)) => (at - self.clock.now()).to_std().unwrap_or_default().min(poll),
                _ => poll,
            };
            let until_sweep = (next_sweep - self.clock.now()).to_std().unwrap_or_default();
            tokio::select! {
                biased;
                () = &mut shutdown => {
                    tracing::info!("worker stopped");
                    return;
                }
                () = tokio::time::sleep(wait.min(until_sweep).max(Duration::from_millis(50))) => {}
                () = self.ingest.stored_new() => {}
            }
        }
    }

    /// One pass of the service loop: what is due, then a reconciliation sweep if one is due:
    /// a paused sweep once its pause ends, else a new one once the interval has passed.
    async fn pass(self: &Arc<Self>, stop: &AtomicBool, next_sweep: &mut DateTime<Utc>) {
        if let Err(error) = self.run_due_until(stop).await {
            tracing::error!(%error, "worker pass failed");
        }
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let now = self.clock.now();
        let due = match self.sweep_resumes_at().await {
            Ok(Some(resume_at)) => resume_at <= now,
            Ok(None) => *next_sweep <= now,
            Err(error) => {
                tracing::error!(error = log_safe(&error.to_string()), "sweep progress unreadable");
                false
            }
        };
        if due {
            *next_sweep = self.after_interval(now);
            self.sweep(stop).await;
        }
        // While a sweep is paused, the end of its pause is the next sweep time.
        if let Ok(Some(resume_at)) = self.sweep_resumes_at().await {
            *next_sweep = resume_at;
        }
    }

    /// Runs a sweep leg and logs how it ended; a failed leg keeps its place (see
    /// [`Engine::reconcile`]).
    async fn sweep(&self, stop: &AtomicBool) {
        if let Err(error) = self.reconcile_until(stop).await {
            tracing::warn!(
                error = log_safe(&error.to_string()),
                "reconciliation sweep failed; it goes on at the next interval"
            );
        }
    }
}

fn store_error(error: HandlerError) -> StoreError {
    StoreError(error.to_string())
}

/// The part of a failure reason that is safe to log at info and above: up to and including
/// `answered <status>`, without the response body (which may echo candidate data).
pub(crate) fn log_safe(reason: &str) -> &str {
    match reason.find(" answered ") {
        Some(at) => {
            let end = (at + " answered ".len() + 3).min(reason.len());
            reason.get(..end).unwrap_or(reason)
        }
        None => reason.get(..reason.len().min(200)).unwrap_or(reason),
    }
}

/// When a stored event happened, from its `occurred_at` (the IOP envelope), if it says.
fn event_time(payload: &str) -> Option<DateTime<Utc>> {
    #[derive(serde::Deserialize)]
    struct Stamp {
        occurred_at: Option<String>,
    }
    let stamp: Stamp = serde_json::from_str(payload).ok()?;
    DateTime::parse_from_rfc3339(stamp.occurred_at.as_deref()?).ok().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::{event_time, log_safe};

    #[test]
    fn log_safe_drops_response_bodies() {
        let reason = r#"POST /v1/candidates answered 422: {"email":"ana@example.test"}"#;
        assert_eq!(log_safe(reason), "POST /v1/candidates answered 422");
        assert_eq!(log_safe("store: locked"), "store: locked");
    }

    #[test]
    fn event_time_reads_the_iop_envelope_and_nothing_else() {
        let at = event_time(r#"{"occurred_at":"2026-11-02T10:00:00Z","event":"x"}"#);
        assert_eq!(at.map(|t| t.to_rfc3339()), Some("2026-11-02T10:00:00+00:00".into()));
        assert_eq!(event_time(r#"{"action":"candidate_stage_change"}"#), None);
        assert_eq!(event_time(r#"{"occurred_at":"yesterday"}"#), None);
        assert_eq!(event_time("not json"), None);
    }
}
