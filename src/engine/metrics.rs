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
        let kind = kind.to_owned();
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
        let kind = kind.to_owned();
        self.with(|| {
            let labels = [("source", source.to_owned()), ("kind", kind.clone())];
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
    fn two_engines_keep_separate_counts() {
        let (a, b) = (EngineMetrics::new(), EngineMetrics::new());
        a.action("x");
        assert!(a.render(0, 0, 0).contains(r#"rehearsal_engine_actions_total{action="x"} 1"#));
        assert!(!b.render(0, 0, 0).contains("rehearsal_engine_actions_total"));
    }
}
