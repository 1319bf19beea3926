//! Prometheus metrics for one engine: events in, actions done, retries, dead letters, queue
//! depth, rate-limit waits and handler latency, served at `GET /metrics`.
//!
//! Each engine owns its recorder (used through `metrics::with_local_recorder`) rather than
//! installing a global one, so several engines in one process (scenario runs, tests) keep
//! separate counts and nothing depends on who installed a recorder first.

use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Latency buckets in seconds: handlers make a few HTTP calls each, so most finish within
/// tens of milliseconds; the top buckets catch calls that wait on a slow API.
const LATENCY_BUCKETS_SECS: &[f64] =
    &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

pub(crate) const EVENTS_IN: &str = "rehearsal_engine_events_received_total";
pub(crate) const DUPLICATES_IN: &str = "rehearsal_engine_events_duplicate_total";
pub(crate) const ACTIONS: &str = "rehearsal_engine_actions_total";
pub(crate) const HANDLED: &str = "rehearsal_engine_events_handled_total";
pub(crate) const RETRIES: &str = "rehearsal_engine_retries_total";
pub(crate) const DEAD_LETTERED: &str = "rehearsal_engine_dead_lettered_total";
pub(crate) const DEAD_LETTERS: &str = "rehearsal_engine_dead_letters";
pub(crate) const QUEUE_DEPTH: &str = "rehearsal_engine_queue_depth";
pub(crate) const RATE_LIMIT_WAITS: &str = "rehearsal_engine_rate_limit_waits_total";
pub(crate) const HANDLER_SECONDS: &str = "rehearsal_engine_handler_duration_seconds";
pub(crate) const RECONCILE_SWEEPS: &str = "rehearsal_engine_reconcile_sweeps_total";

/// Event kinds that may become a `kind` label: Greenhouse's documented webhook actions (and the
/// engine's own `application_recheck`), and the IOP's event types. The kind comes from the
/// sender; any other value is counted as `other`, so a sender cannot grow the label set (each
/// new value is a new time series kept for the life of the process).
const KNOWN_KINDS: &[&str] = &[
    // Greenhouse (reference §4.2).
    "new_candidate_application",
    "delete_application",
    "application_updated",
    "offer_created",
    "offer_approved",
    "offer_updated",
    "offer_deleted",
    "new_prospect_application",
    "delete_candidate",
    "hire_candidate",
    "merge_candidate",
    "candidate_stage_change",
    "unhire_candidate",
    "reject_candidate",
    "unreject_candidate",
    "update_candidate",
    "candidate_anonymized",
    "interview_deleted",
    "scorecard_deleted",
    "job_created",
    "job_deleted",
    "job_updated",
    "job_approved",
    "job_post_created",
    "job_post_updated",
    "job_post_deleted",
    "job_interview_stage_deleted",
    "department_deleted",
    "office_deleted",
    "ping",
    "application_recheck",
    // The IOP (contract §4.5).
    "candidate.created",
    "candidate.updated",
    "candidate.merged",
    "candidate.anonymized",
    "scheduling_request.created",
    "scheduling_request.updated",
    "scheduling_request.availability_requested",
    "scheduling_request.availability_received",
    "scheduling_request.candidate_declined",
    "scheduling_request.expired",
    "scheduling_request.cancelled",
    "scheduling_request.completed",
    "scheduling_request.reopened",
    "interview.scheduled",
    "interview.rescheduled",
    "interview.updated",
    "interview.interviewer_responded",
    "interview.cancelled",
    "interview.awaiting_feedback",
    "interview.completed",
    "interview.no_show",
    "interview.no_show_reverted",
    "feedback.submitted",
    "feedback.updated",
    "feedback.deleted",
    "user.created",
    "user.updated",
    "user.deactivated",
    "user.calendar_disconnected",
];

/// The `kind` label for an event kind: the kind when known, else `other`.
fn kind_label(kind: &str) -> &'static str {
    KNOWN_KINDS.iter().find(|known| **known == kind).copied().unwrap_or("other")
}

pub(crate) struct EngineMetrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl EngineMetrics {
    pub(crate) fn new() -> Self {
        // The bucket list is a non-empty constant, so this only fails if it is edited empty;
        // then the histogram falls back to a summary, which is still a latency metric.
        let builder = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS_SECS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        Self { recorder, handle }
    }

    pub(crate) fn event_in(&self, source: &'static str, kind: &str, duplicate: bool) {
        let name = if duplicate { DUPLICATES_IN } else { EVENTS_IN };
        let kind = kind_label(kind);
        self.with(|| metrics::counter!(name, "source" => source, "kind" => kind).increment(1));
    }

    pub(crate) fn action(&self, action: &str) {
        let action = action.to_owned();
        self.with(|| metrics::counter!(ACTIONS, "action" => action).increment(1));
    }

    /// One handled event: its outcome (`done`, `retry`, `dead_letter`) and how long it took.
    pub(crate) fn handled(
        &self,
        source: &'static str,
        kind: &str,
        outcome: &'static str,
        took: Duration,
    ) {
        let kind = kind_label(kind);
        self.with(|| {
            let labels = [("source", source), ("kind", kind)];
            metrics::histogram!(HANDLER_SECONDS, &labels).record(took.as_secs_f64());
            match outcome {
                "retry" => metrics::counter!(RETRIES, &labels).increment(1),
                "dead_letter" => metrics::counter!(DEAD_LETTERED, &labels).increment(1),
                _ => metrics::counter!(HANDLED, &labels).increment(1),
            }
        });
    }

    pub(crate) fn reconcile_sweep(&self, outcome: &'static str) {
        self.with(|| metrics::counter!(RECONCILE_SWEEPS, "outcome" => outcome).increment(1));
    }

    /// Sets the values read from elsewhere (store counts, client counters), then renders the
    /// Prometheus text format.
    pub(crate) fn render(
        &self,
        queue_depth: u64,
        dead_letters: u64,
        rate_limit_waits: u64,
    ) -> String {
        self.with(|| {
            metrics::gauge!(QUEUE_DEPTH).set(queue_depth as f64);
            metrics::gauge!(DEAD_LETTERS).set(dead_letters as f64);
            metrics::counter!(RATE_LIMIT_WAITS, "api" => "greenhouse").absolute(rate_limit_waits);
        });
        self.handle.run_upkeep();
        self.handle.render()
    }

    fn with(&self, emit: impl FnOnce()) {
        metrics::with_local_recorder(&self.recorder, emit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_latency_histogram() {
        let metrics = EngineMetrics::new();
        metrics.event_in("greenhouse", "candidate_stage_change", false);
        metrics.event_in("greenhouse", "candidate_stage_change", false);
        metrics.action("scheduling_request_opened");
        metrics.handled("greenhouse", "candidate_stage_change", "retry", Duration::from_millis(20));
        let text = metrics.render(3, 1, 4);

        assert!(
            text.contains(r#"rehearsal_engine_events_received_total{source="greenhouse",kind="candidate_stage_change"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"rehearsal_engine_actions_total{action="scheduling_request_opened"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("rehearsal_engine_retries_total{"), "{text}");
        assert!(text.contains("rehearsal_engine_queue_depth 3"), "{text}");
        assert!(text.contains("rehearsal_engine_dead_letters 1"), "{text}");
        assert!(
            text.contains(r#"rehearsal_engine_rate_limit_waits_total{api="greenhouse"} 4"#),
            "{text}"
        );
        assert!(text.contains("rehearsal_engine_handler_duration_seconds_bucket{"), "{text}");
    }

    #[test]
    fn unknown_kinds_share_one_label() {
        let metrics = EngineMetrics::new();
        metrics.event_in("greenhouse", "unknown_action_xyz", false);
        metrics.event_in("greenhouse", "another_made_up_one", false);
        metrics.handled("iop", "interview.made_up", "done", Duration::from_millis(1));
        metrics.event_in("iop", "interview.scheduled", false);
        let text = metrics.render(0, 0, 0);
        assert!(!text.contains("unknown_action_xyz") && !text.contains("made_up"), "{text}");
        assert!(
            text.contains(
                r#"rehearsal_engine_events_received_total{source="greenhouse",kind="other"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"kind="interview.scheduled""#), "{text}");
    }

    #[test]
    fn two_engines_keep_separate_counts() {
        let (a, b) = (EngineMetrics::new(), EngineMetrics::new());
        a.action("x");
        assert!(a.render(0, 0, 0).contains(r#"rehearsal_engine_actions_total{action="x"} 1"#));
        assert!(!b.render(0, 0, 0).contains("rehearsal_engine_actions_total"));
    }
}
