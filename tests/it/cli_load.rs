//! `rehearsal load` through the built CLI, with small numbers: the JSON report's counts add up
//! and no rate limit is exceeded. Nothing here asserts on speed.

use serde_json::Value;

use crate::helpers::rehearsal;

fn load_json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["load", "--format", "json"];
    all.extend_from_slice(args);
    let run = rehearsal(&all);
    let report = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", run.stdout, run.stderr));
    (run.code, report)
}

fn count(report: &Value, key: &str) -> u64 {
    report[key].as_u64().unwrap_or_else(|| panic!("{key} missing in {report}"))
}

#[test]
fn a_small_load_completes_every_candidate_within_the_limits() {
    let (code, report) =
        load_json(&["--candidates", "6", "--rate", "2", "--duration", "5s", "--seed", "7"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["mode"], "in_process");
    assert_eq!(report["clock"], "virtual");
    assert_eq!(count(&report, "candidates_started"), 6);
    assert_eq!(count(&report, "candidates_completed"), 6);
    assert_eq!(count(&report, "candidates_failed") + count(&report, "candidates_unfinished"), 0);
    // Three engine actions per candidate, one latency sample each, one per phase.
    assert_eq!(count(&report, "actions_observed"), 18);
    assert_eq!(count(&report["latency"], "samples"), 18);
    for phase in ["latency_request", "latency_interview", "latency_feedback"] {
        assert_eq!(count(&report[phase], "samples"), 6, "{phase}");
    }
    let latency = &report["latency"];
    assert!(count(latency, "p50_ms") <= count(latency, "p90_ms"));
    assert!(count(latency, "p90_ms") <= count(latency, "p99_ms"));
    assert!(count(latency, "p99_ms") <= count(latency, "max_ms"));
    // Each candidate makes the engine accept at least its three webhooks.
    assert!(count(&report, "webhooks_accepted") >= 18);
    assert_eq!(count(&report, "webhooks_refused"), 0);
    assert_eq!(count(&report, "responses_429"), 0);
    assert_eq!(report["limit_exceeded"], false);
    assert_eq!(count(&report, "dead_letters"), 0);
    assert!(report["errors"].as_array().unwrap().is_empty());
}

#[test]
fn the_rate_and_duration_bound_how_many_candidates_start() {
    // 2 per second for 2 seconds: 4 of the 50 asked for.
    let (code, report) = load_json(&["--candidates", "50", "--rate", "2", "--duration", "2"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(count(&report, "candidates_requested"), 50);
    assert_eq!(count(&report, "candidates_planned"), 4);
    assert_eq!(count(&report, "candidates_started"), 4);
    assert_eq!(count(&report, "candidates_completed"), 4);
}

#[test]
fn the_same_seed_gives_the_same_counts() {
    let args = ["--candidates", "5", "--rate", "5", "--duration", "1", "--seed", "42"];
    let (_, first) = load_json(&args);
    let (_, second) = load_json(&args);
    for key in ["webhooks_accepted", "greenhouse_requests", "iop_requests", "clock_seconds"] {
        assert_eq!(first[key], second[key], "{key}");
    }
    assert_eq!(first["latency"], second["latency"]);
}

#[test]
fn the_table_names_what_it_measured() {
    let run = rehearsal(&["load", "--candidates", "2", "--rate", "1", "--duration", "2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in
        ["started / completed / failed / open", "latency accepted → action", "rate limit exceeded"]
    {
        assert!(run.stdout.contains(line), "missing `{line}` in\n{}", run.stdout);
    }
}

#[test]
fn a_non_loopback_engine_is_refused_before_anything_runs() {
    let run = rehearsal(&["load", "--candidates", "1", "--engine-url", "http://192.0.2.10:8090"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--engine-url") && run.stderr.contains("not a loopback address"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_external_engine_without_its_secrets_set_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let closed = "http://127.0.0.1:1";
    let config = crate::engine_world::config_text(closed, closed, "unused.db", "LOAD_UNSET_");
    let config = crate::helpers::write(dir.path(), "engine.toml", &config);
    let config = config.display().to_string();
    let args = ["load", "--candidates", "1", "--engine-url", closed, "--config", &config];
    let run = rehearsal(&args);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--engine-url") && run.stderr.contains("LOAD_UNSET_GH_ID is not set"),
        "{}",
        run.stderr
    );
}

#[test]
fn impossible_numbers_name_their_flag() {
    let run = rehearsal(&["load", "--candidates", "0"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--candidates"), "{}", run.stderr);
    let run = rehearsal(&["load", "--duration", "soon"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--duration"), "{}", run.stderr);
}

/// Regression: 60 candidates in 3 s is more than the mock Greenhouse's 50 requests per 30 s
/// window lets through at once. The engine paces itself (no 429); each pacing wait used to
/// count as a failed attempt, so after `retry.max_attempts` waits events became dead letters
/// although nothing had failed. Waiting for a window no longer spends an attempt.
#[test]
fn a_burst_above_the_rate_limit_loses_no_event() {
    let (_, report) = load_json(&["--candidates", "60", "--rate", "20", "--duration", "3"]);
    assert_eq!(count(&report, "dead_letters"), 0, "{report}");
    assert_eq!(count(&report, "candidates_completed"), 60);
}
