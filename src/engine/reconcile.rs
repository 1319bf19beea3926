//! Reconciliation: the safety net under webhooks. Greenhouse may fail to deliver a webhook
//! (or we may refuse it), so every `[reconcile] interval_secs` the engine lists the
//! applications updated since its last sweep and converges each one exactly as a webhook
//! would (`sync_application`), then re-checks every request it still holds open, which
//! catches an application that left its stage without anyone telling us.
//!
//! A sweep may need more Harvest requests than one rate-limit window allows (about four per
//! application; a go-live finds hundreds standing in trigger stages). So a sweep goes in legs:
//! it converges applications in id order and stores how far it got; a spent window pauses it
//! until the window resets (as the worker waits for one, on the injected clock), a transient
//! failure until the next interval, a shutdown until the next start. The next leg lists the
//! same window again and goes on after the last application it converged.
//!
//! The watermark (the start of the last complete sweep) lives in the store, so a restart
//! resumes where the last sweep ended instead of re-reading everything.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::core::{Engine, HandlerError, log_safe};
use crate::clock::greenhouse_timestamp;

/// Store key of the watermark (RFC 3339 UTC).
const WATERMARK_KEY: &str = "reconcile.watermark";
/// Store key of the sweep in progress ([`Progress`] as JSON; empty when none is).
const PROGRESS_KEY: &str = "reconcile.progress";
/// Each window starts this many seconds before the watermark, so an update stamped by a
/// Greenhouse clock slightly behind ours is not missed. Converging twice is harmless.
const OVERLAP_SECS: i64 = 60;

/// What one leg of a sweep looked at.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Applications Greenhouse reported as updated in the window, converged in this leg.
    pub applications: usize,
    /// Open requests re-checked whose application was not among them.
    pub open_requests: usize,
    /// Applications that could not be converged for a permanent reason (audited, skipped).
    pub failed: usize,
    /// The sweep stopped at a spent rate-limit window and goes on at this instant (the
    /// service loop and `run_due` take it up then); `None` when the sweep is complete.
    pub paused_until: Option<DateTime<Utc>>,
}

/// Which list a sweep is walking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    /// The applications Greenhouse lists as updated since `since`.
    Updated,
    /// The applications of requests still open that were not listed.
    OpenRequests,
}

/// A sweep in progress, as stored between its legs.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Progress {
    /// When the sweep's first leg started: the watermark once the sweep completes.
    started: DateTime<Utc>,
    /// The start of the window of updates it lists.
    since: DateTime<Utc>,
    phase: Phase,
    /// The highest application id converged in this phase.
    after: Option<i64>,
    /// Not before this instant does the next leg start.
    resume_at: DateTime<Utc>,
}

impl Engine {
    /// Runs a reconciliation sweep now: goes on with the sweep in progress if there is one,
    /// or starts one. It runs until the sweep completes, or pauses at a spent rate-limit
    /// window (see [`ReconcileReport::paused_until`]). A transient failure ends the leg with
    /// an error; the sweep keeps its place and goes on at the next interval.
    pub async fn reconcile(&self) -> Result<ReconcileReport, HandlerError> {
        self.reconcile_until(&AtomicBool::new(false)).await
    }

    #[tracing::instrument(skip_all, name = "reconcile")]
    pub(crate) async fn reconcile_until(
        &self,
        stop: &AtomicBool,
    ) -> Result<ReconcileReport, HandlerError> {
        let now = self.clock.now();
        let mut progress = match self.sweep_progress().await? {
            Some(progress) => progress,
            None => Progress {
                started: now,
                since: self.window_start(now).await?,
                phase: Phase::Updated,
                after: None,
                resume_at: now,
            },
        };
        let mut report = ReconcileReport::default();

        // TODO(perf): every leg lists the whole window again (a page per 100 applications, from
        // the same rate-limit budget) to find its place; the list could be kept with the progress.
        let listed = match self.listed_since(progress.since).await {
            Ok(listed) => listed,
            Err(error) => return self.pause(progress, error, report).await,
        };
        if progress.phase == Phase::Updated {
            let pending = after(&listed, progress.after).collect();
            let count = |report: &mut ReconcileReport| report.applications += 1;
            let ended = self.converge_each(pending, &mut progress, &mut report, stop, count);
            if let Some(end) = ended.await {
                return end;
            }
            progress.phase = Phase::OpenRequests;
            progress.after = None;
        }

        let open: BTreeSet<i64> = self
            .store
            .open_request_links()
            .await?
            .into_iter()
            .map(|link| link.application_id)
            .filter(|id| !listed.contains(id))
            .collect();
        let pending = after(&open, progress.after).collect();
        let count = |report: &mut ReconcileReport| report.open_requests += 1;
        if let Some(end) =
            self.converge_each(pending, &mut progress, &mut report, stop, count).await
        {
            return end;
        }

        self.store.put_value(WATERMARK_KEY, &progress.started.to_rfc3339()).await?;
        self.store.put_value(PROGRESS_KEY, "").await?;
        self.metrics.reconcile_sweep("complete");
        tracing::info!(
            applications = report.applications,
            open_requests = report.open_requests,
            failed = report.failed,
            "reconciliation sweep done"
        );
        Ok(report)
    }

    /// Converges `ids` in order, keeping the sweep's place after each one. `Some` ends the leg
    /// (a shutdown, a pause or a failure) with what [`Engine::reconcile`] returns; `None` when
    /// every one was converged.
    async fn converge_each(
        &self,
        ids: Vec<i64>,
        progress: &mut Progress,
        report: &mut ReconcileReport,
        stop: &AtomicBool,
        count: fn(&mut ReconcileReport),
    ) -> Option<Result<ReconcileReport, HandlerError>> {
        for id in ids {
            if stop.load(Ordering::SeqCst) {
                return Some(self.interrupted(progress.clone(), std::mem::take(report)).await);
            }
            if let Err(error) = self.converge(id, report).await {
                return Some(self.pause(progress.clone(), error, std::mem::take(report)).await);
            }
            count(report);
            progress.after = Some(id);
            if let Err(error) = self.save_progress(progress).await {
                return Some(Err(error));
            }
        }
        None
    }

    /// When the sweep in progress goes on, if one is.
    pub(crate) async fn sweep_resumes_at(&self) -> Result<Option<DateTime<Utc>>, HandlerError> {
        Ok(self.sweep_progress().await?.map(|progress| progress.resume_at))
    }

    /// The ids of the applications updated since `since`, in id order.
    async fn listed_since(&self, since: DateTime<Utc>) -> Result<BTreeSet<i64>, HandlerError> {
        let updated = self
            .greenhouse
            .list("applications", &[("updated_at", format!("gte|{}", greenhouse_timestamp(since)))])
            .await?;
        Ok(updated.iter().filter_map(|application| application.get("id")?.as_i64()).collect())
    }

    async fn sweep_progress(&self) -> Result<Option<Progress>, HandlerError> {
        let stored = self.store.get_value(PROGRESS_KEY).await?;
        let Some(text) = stored.filter(|text| !text.is_empty()) else { return Ok(None) };
        match serde_json::from_str(&text) {
            Ok(progress) => Ok(Some(progress)),
            Err(error) => {
                // Written by this engine, so only an older format gets here: start afresh.
                tracing::warn!(%error, "stored sweep progress unreadable; starting a new sweep");
                Ok(None)
            }
        }
    }

    async fn save_progress(&self, progress: &Progress) -> Result<(), HandlerError> {
        let text = serde_json::to_string(progress)
            .map_err(|e| HandlerError::Permanent(format!("sweep progress: {e}")))?;
        self.store.put_value(PROGRESS_KEY, &text).await?;
        Ok(())
    }

    /// Ends this leg on `error`: a spent rate-limit window, or an answer saying when to come
    /// back (`Retry-After`), pauses the sweep until then; any other failure keeps its place
    /// until the next interval and is returned.
    async fn pause(
        &self,
        mut progress: Progress,
        error: HandlerError,
        mut report: ReconcileReport,
    ) -> Result<ReconcileReport, HandlerError> {
        let now = self.clock.now();
        let wait = match &error {
            HandlerError::RateLimited { retry_after, .. } => Some(*retry_after),
            // Greenhouse said how long to wait (a 429 with Retry-After: another integration
            // spent the window, or a restarted engine did not know what it had left): the sweep
            // waits that long, not a whole interval.
            HandlerError::Transient { retry_after: Some(retry_after), .. } => Some(*retry_after),
            _ => None,
        };
        if let Some(retry_after) = &wait {
            let wait = chrono::Duration::from_std(*retry_after)
                .unwrap_or_else(|_| chrono::Duration::seconds(1));
            progress.resume_at = now + wait;
            self.save_progress(&progress).await?;
            self.metrics.reconcile_sweep("paused");
            tracing::info!(
                applications = report.applications,
                wait_ms = retry_after.as_millis() as u64,
                "reconciliation sweep waits for the rate-limit window"
            );
            report.paused_until = Some(progress.resume_at);
            return Ok(report);
        }
        progress.resume_at = self.after_interval(now);
        self.save_progress(&progress).await?;
        self.metrics.reconcile_sweep("failed");
        Err(error)
    }

    /// One `reconcile.interval_secs` after `now` (never past the end of chrono's range).
    pub(crate) fn after_interval(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let interval = i64::try_from(self.config.reconcile.interval_secs.max(1))
            .ok()
            .and_then(chrono::Duration::try_seconds);
        interval
            .and_then(|interval| now.checked_add_signed(interval))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Where this sweep's window starts: the stored watermark less the overlap, or
    /// `initial_lookback_secs` ago on the very first sweep.
    async fn window_start(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, HandlerError> {
        let stored = self.store.get_value(WATERMARK_KEY).await?;
        let watermark = stored
            .as_deref()
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|at| at.with_timezone(&Utc));
        Ok(match watermark {
            Some(at) => at - chrono::Duration::seconds(OVERLAP_SECS),
            None => {
                // `engine check` bounds the setting; checked all the same, as the config
                // may be built in code.
                let lookback = i64::try_from(self.config.reconcile.initial_lookback_secs)
                    .ok()
                    .and_then(chrono::Duration::try_seconds)
                    .and_then(|lookback| now.checked_sub_signed(lookback));
                lookback.unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
            }
        })
    }

    // TODO(perf): `sync_application` re-reads each listed application (and its current stage
    // and job) although the list already returned it; a sweep of N updated applications costs
    // about 4N Harvest calls. Deciding from the listed record first would cut most of them.

    /// Converges one application; a permanent failure is audited and the sweep goes on, a
    /// transient one ends the leg (see [`Engine::pause`]).
    async fn converge(
        &self,
        application_id: i64,
        report: &mut ReconcileReport,
    ) -> Result<(), HandlerError> {
        match self.sync_application(application_id, None).await {
            Err(HandlerError::Permanent(reason)) => {
                report.failed += 1;
                tracing::warn!(application_id, error = log_safe(&reason), "not reconciled");
                self.audit(
                    None,
                    "reconcile_failed",
                    format!("application {application_id}: {reason}"),
                )
                .await
            }
            done_or_transient => done_or_transient,
        }
    }

    /// Shutdown: the sweep goes on from here at the next start.
    async fn interrupted(
        &self,
        mut progress: Progress,
        report: ReconcileReport,
    ) -> Result<ReconcileReport, HandlerError> {
        progress.resume_at = self.clock.now();
        self.save_progress(&progress).await?;
        self.metrics.reconcile_sweep("interrupted");
        tracing::info!(
            "reconciliation sweep interrupted by shutdown; it goes on at the next start"
        );
        Ok(report)
    }
}

/// The ids of `ids` past `cursor`, in order.
fn after(ids: &BTreeSet<i64>, cursor: Option<i64>) -> impl Iterator<Item = i64> + '_ {
    let from = cursor.map_or(Bound::Unbounded, Bound::Excluded);
    ids.range((from, Bound::Unbounded)).copied()
}
