//! Reconciliation: the safety net under webhooks. Greenhouse may fail to deliver a webhook
//! (or we may refuse it), so every `[reconcile] interval_secs` the engine lists the
//! applications updated since its last sweep and converges each one exactly as a webhook
//! would (`sync_application`), then re-checks every request it still holds open, which
//! catches an application that left its stage without anyone telling us.
//!
//! The watermark (the start of the last complete sweep) lives in the store, so a restart
//! resumes where the last sweep ended instead of re-reading everything.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::core::{Engine, HandlerError, log_safe};
use crate::clock::greenhouse_timestamp;

/// Store key of the watermark (RFC 3339 UTC).
const WATERMARK_KEY: &str = "reconcile.watermark";
/// Each window starts this many seconds before the watermark, so an update stamped by a
/// Greenhouse clock slightly behind ours is not missed. Converging twice is harmless.
const OVERLAP_SECS: i64 = 60;

/// What one sweep looked at.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Applications Greenhouse reported as updated in the window.
    pub applications: usize,
    /// Open requests re-checked whose application was not among them.
    pub open_requests: usize,
    /// Applications that could not be converged for a permanent reason (audited, skipped).
    pub failed: usize,
}

impl Engine {
    /// Runs one reconciliation sweep now. The watermark only moves when the whole sweep
    /// succeeded; a transient failure leaves it, so the next sweep covers the same window.
    pub async fn reconcile(&self) -> Result<ReconcileReport, HandlerError> {
        self.reconcile_until(&AtomicBool::new(false)).await
    }

    #[tracing::instrument(skip_all, name = "reconcile")]
    pub(crate) async fn reconcile_until(
        &self,
        stop: &AtomicBool,
    ) -> Result<ReconcileReport, HandlerError> {
        let started = self.clock.now();
        let since = self.window_start(started).await?;
        let updated = self
            .greenhouse
            .list("applications", &[("updated_at", format!("gte|{}", greenhouse_timestamp(since)))])
            .await?;

        let mut report = ReconcileReport::default();
        let mut seen = BTreeSet::new();
        for application in &updated {
            let Some(id) = application.get("id").and_then(Value::as_i64) else { continue };
            if stop.load(Ordering::SeqCst) {
                return self.interrupted(report);
            }
            if seen.insert(id) {
                report.applications += 1;
                self.converge(id, &mut report).await?;
            }
        }
        for link in self.store.open_request_links().await? {
            if stop.load(Ordering::SeqCst) {
                return self.interrupted(report);
            }
            if seen.insert(link.application_id) {
                report.open_requests += 1;
                self.converge(link.application_id, &mut report).await?;
            }
        }

        self.store.put_value(WATERMARK_KEY, &started.to_rfc3339()).await?;
        self.metrics.reconcile_sweep("complete");
        tracing::info!(
            applications = report.applications,
            open_requests = report.open_requests,
            failed = report.failed,
            "reconciliation sweep done"
        );
        Ok(report)
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
                let lookback = i64::try_from(self.config.reconcile.initial_lookback_secs)
                    .unwrap_or(i64::MAX / 1000);
                now - chrono::Duration::seconds(lookback)
            }
        })
    }

    // TODO(perf): `sync_application` re-reads each listed application (and its current stage
    // and job) although the list already returned it; a sweep of N updated applications costs
    // about 4N Harvest calls. Deciding from the listed record first would cut most of them.

    /// Converges one application; a permanent failure is audited and the sweep goes on, a
    /// transient one ends the sweep (the watermark stays).
    async fn converge(
        &self,
        application_id: i64,
        report: &mut ReconcileReport,
    ) -> Result<(), HandlerError> {
        match self.sync_application(application_id, None).await {
            Ok(()) => Ok(()),
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
            Err(transient) => {
                self.metrics.reconcile_sweep("failed");
                Err(transient)
            }
        }
    }

    fn interrupted(&self, report: ReconcileReport) -> Result<ReconcileReport, HandlerError> {
        self.metrics.reconcile_sweep("interrupted");
        tracing::info!("reconciliation sweep interrupted by shutdown; watermark kept");
        Ok(report)
    }
}
