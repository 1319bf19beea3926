//! The scenario library as tests: one test per file under `scenarios/` (so a failure names the
//! scenario), a guard that no file is left without its test, and a determinism check. Files
//! under `scenarios/pending/` expose open engine or mock bugs and are deliberately not run.

use std::path::{Path, PathBuf};

use rehearsal::engine::config::EngineConfig;
use rehearsal::report::{ScenarioResult, Status};
use rehearsal::scenario::load;
use rehearsal::scenario::runner::{RunOptions, run_scenario};

const SEED: u64 = 1;
const CONFIG: &str = "fixtures/engine.toml";

fn package_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Runs one file of the library with `seed`, as `rehearsal run` would.
fn run_file(file: &str, seed: u64, keep_journals: bool) -> ScenarioResult {
    // Fixture paths inside scenarios (`fixtures/webhooks/…`) are relative to the package root.
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let loaded = load::load(&package_path(file)).unwrap_or_else(|e| panic!("{e}"));
    let config = EngineConfig::load(&package_path(CONFIG)).unwrap();
    let mut options = RunOptions::new(seed, config, CONFIG.to_owned());
    options.keep_journals = keep_journals;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(run_scenario(&loaded, &options))
}

fn assert_passes(file: &str, seed: u64) {
    let result = run_file(file, seed, false);
    assert_eq!(result.status, Status::Passed, "{file} failed:\n{}", result.failure_text(seed));
}

macro_rules! library {
    ($($test:ident => $file:literal,)+) => {
        $(
            #[test]
            fn $test() {
                assert_passes(concat!("scenarios/", $file, ".yaml"), SEED);
            }
        )+

        /// Every file the macro generates a test for, by stem.
        const LIBRARY: &[&str] = &[$($file),+];
    };
}

library! {
    all_day_interview => "all-day-interview",
    bad_candidate_timezone => "bad-candidate-timezone",
    bad_webhook_signature => "bad-webhook-signature",
    cancel_and_rebook_new_id => "cancel-and-rebook-new-id",
    cancel_then_rebook => "cancel-then-rebook",
    candidate_declines => "candidate-declines",
    candidate_deleted => "candidate-deleted",
    candidate_email_change => "candidate-email-change",
    candidate_merged => "candidate-merged",
    candidate_name_change => "candidate-name-change",
    candidate_no_show => "candidate-no-show",
    candidate_without_email => "candidate-without-email",
    custom_field_required_wrong_type => "custom-field-required-wrong-type",
    custom_fields_workflow_and_pool => "custom-fields-workflow-and-pool",
    decline_before_scheduling => "decline-before-scheduling",
    decline_reject_policy => "decline-reject-policy",
    dropped_webhook_reconciled => "dropped-webhook-reconciled",
    dst_change_new_york => "dst-change-new-york",
    duplicate_greenhouse_webhooks => "duplicate-greenhouse-webhooks",
    duplicate_iop_webhooks => "duplicate-iop-webhooks",
    engine_restart_mid_flow => "engine-restart-mid-flow",
    engine_restart_with_pending_events => "engine-restart-with-pending-events",
    expired_token => "expired-token",
    feedback_edited => "feedback-edited",
    feedback_for_cancelled_interview => "feedback-for-cancelled-interview",
    feedback_withdrawn => "feedback-withdrawn",
    go_live_backfill => "go-live-backfill",
    greenhouse_429_storm => "greenhouse-429-storm",
    greenhouse_stale_read_after_move => "greenhouse-stale-read-after-move",
    greenhouse_stale_read_after_delayed_webhook => "greenhouse-stale-read-after-delayed-webhook",
    greenhouse_stale_reads => "greenhouse-stale-reads",
    greenhouse_5xx_and_timeouts => "greenhouse-5xx-and-timeouts",
    greenhouse_rate_limit_budget => "greenhouse-rate-limit-budget",
    hire_mid_scheduling => "hire-mid-scheduling",
    ids_above_2_32 => "ids-above-2-32",
    interview_deleted_in_greenhouse => "interview-deleted-in-greenhouse",
    interview_plan_order => "interview-plan-order",
    interviewer_deactivated => "interviewer-deactivated",
    interviewer_declines_invite => "interviewer-declines-invite",
    iop_429_storm => "iop-429-storm",
    iop_stale_read_before_cancel => "iop-stale-read-before-cancel",
    iop_stale_reads => "iop-stale-reads",
    iop_5xx_and_timeouts => "iop-5xx-and-timeouts",
    iop_replays_old_event => "iop-replays-old-event",
    late_feedback => "late-feedback",
    late_feedback_after_hire => "late-feedback-after-hire",
    late_feedback_after_stage_move => "late-feedback-after-stage-move",
    no_show_reject_policy => "no-show-reject-policy",
    panel_feedback => "panel-feedback",
    note_write_times_out => "note-write-times-out",
    read_lag_past_its_bound => "read-lag-past-its-bound",
    reconcile_misses_stage_reentry => "reconcile-misses-stage-reentry",
    reconcile_reopens_completed_request => "reconcile-reopens-completed-request",
    reconcile_reopens_declined_request => "reconcile-reopens-declined-request",
    reject_and_unreject => "reject-and-unreject",
    reordered_cancel_before_schedule => "reordered-cancel-before-schedule",
    reordered_iop_webhooks => "reordered-iop-webhooks",
    reschedule_same_id => "reschedule-same-id",
    scorecard_write_times_out => "scorecard-write-times-out",
    self_schedule_phone_screen => "self-schedule-phone-screen",
    sparse_webhook_payload => "sparse-webhook-payload",
    stage_reentry_keeps_old_request => "stage-reentry-keeps-old-request",
    stale_reads_exhaust_retry_budget => "stale-reads-exhaust-retry-budget",
    timeouts_overshoot_rate_limit => "timeouts-overshoot-rate-limit",
    stage_move_backwards => "stage-move-backwards",
    stage_skip => "stage-skip",
    stage_with_many_interviews => "stage-with-many-interviews",
    unicode_and_html => "unicode-and-html",
}

#[test]
fn every_library_file_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(package_path("scenarios"))
        .unwrap()
        .filter_map(|entry| {
            let path = entry.unwrap().path();
            let is_yaml = path.extension().is_some_and(|e| e == "yaml");
            is_yaml.then(|| path.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    on_disk.sort();
    let untested: Vec<&String> =
        on_disk.iter().filter(|f| !LIBRARY.contains(&f.as_str())).collect();
    assert!(untested.is_empty(), "scenarios without a test in tests/it/scenarios.rs: {untested:?}");
    let missing: Vec<&&str> = LIBRARY.iter().filter(|f| !on_disk.iter().any(|d| d == *f)).collect();
    assert!(missing.is_empty(), "tests for scenario files that do not exist: {missing:?}");
}

/// Reordering shuffles deliveries with the mock's seeded RNG and the engine's backoff jitter is
/// seeded too, so a seed must replay the run exactly: same requests, same order, same times.
#[test]
fn a_seed_replays_a_faulty_run_exactly() {
    const FILE: &str = "scenarios/reordered-iop-webhooks.yaml";
    let first = run_file(FILE, 7, true);
    let second = run_file(FILE, 7, true);
    assert_eq!(first.status, Status::Passed, "{}", first.failure_text(7));
    assert!(!first.journal.is_empty(), "keep_journals must keep the journals");

    let first_json = serde_json::to_string(&first.journal).unwrap();
    let second_json = serde_json::to_string(&second.journal).unwrap();
    assert!(first_json == second_json, "two runs with seed 7 journalled different traffic");

    let other = run_file(FILE, 8, true);
    assert_eq!(other.status, Status::Passed, "seed 8:\n{}", other.failure_text(8));
}

#[test]
fn a_faulty_scenario_uses_its_faults() {
    // Guards the determinism test above against a scenario that silently stopped injecting.
    let result = run_file("scenarios/greenhouse-429-storm.yaml", SEED, true);
    assert_eq!(result.status, Status::Passed, "{}", result.failure_text(SEED));
    let injected = result
        .journal
        .iter()
        .filter(|e| e.status == Some(429) && e.notes.iter().any(|n| n == "fault:status_429"))
        .count();
    // Six on the stage change, three on the interview create.
    assert_eq!(injected, 9);
}
