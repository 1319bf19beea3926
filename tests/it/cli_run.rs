//! The main job through the CLI: the bundled scenarios pass, the reports say so, and a wrong
//! expectation makes the harness say no.

use serde_json::Value;

use crate::helpers::{GIVEN, rehearsal, write};

#[test]
fn bundled_scenarios_pass_and_json_report_says_so() {
    // Exactly the README's main job (`scenarios/pending/`, if any, is skipped by discovery).
    let run = rehearsal(&["run", "scenarios/", "--seed", "42", "--format", "json"]);
    assert_eq!(run.code, 0, "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("stdout is the JSON report");
    assert_eq!(report["seed"], "42", "seeds are strings in JSON");
    assert_eq!(report["failed"], 0);
    assert_eq!(
        report["total"].as_u64(),
        Some(library_files().len() as u64),
        "every library file ran"
    );
    let scenarios = report["scenarios"].as_array().expect("scenarios array");
    let names: Vec<&str> = scenarios.iter().filter_map(|s| s["file"].as_str()).collect();
    for wanted in ["candidate-declines.yaml", "late-feedback.yaml", "stage-skip.yaml"] {
        let scenario = scenarios
            .iter()
            .find(|s| s["file"].as_str().is_some_and(|f| f.ends_with(wanted)))
            .unwrap_or_else(|| panic!("{wanted} not in {names:?}"));
        assert_eq!(scenario["status"], "passed", "{scenario:#}");
        assert_eq!(scenario["findings"], Value::Array(vec![]), "{scenario:#}");
        assert_eq!(scenario["steps_run"], scenario["steps"]);
    }
    // Virtual time: the late-feedback scenario spans days of virtual time.
    let late = scenarios
        .iter()
        .find(|s| s["file"].as_str().is_some_and(|f| f.ends_with("late-feedback.yaml")))
        .unwrap();
    assert!(late["virtual_seconds"].as_i64().unwrap() >= 5 * 24 * 3600, "{late:#}");
    // The human lines went to stderr, leaving stdout to the JSON.
    assert!(run.stderr.contains("PASS"), "{}", run.stderr);
}

/// `scenarios/*.yaml`, relative to the package root, sorted.
fn library_files() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = std::fs::read_dir(root.join("scenarios"))
        .expect("scenarios/ exists")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().to_string_lossy().into_owned();
            name.ends_with(".yaml").then(|| format!("scenarios/{name}"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn junit_report_has_one_testcase_per_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.xml");
    let run = rehearsal(&[
        "run",
        "scenarios/candidate-declines.yaml",
        "scenarios/late-feedback.yaml",
        "scenarios/stage-skip.yaml",
        "--seed",
        "7",
        "--format",
        "junit",
        "--output",
        &out.display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let xml = std::fs::read_to_string(&out).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 3, "{xml}");
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(run.stdout.contains("3 passed, 0 failed"), "{}", run.stdout);
    assert!(run.stdout.contains("seed 7"), "{}", run.stdout);
}

const WRONG: &str = "steps:
  - greenhouse: { move: Ana Ruiz, to: Onsite }
  - expect:
      iop.scheduling_requests: { candidate: Ana Ruiz, count: 1, status: scheduled }
";

#[test]
fn a_wrong_expectation_fails_with_exit_1_and_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "wrong.yaml", &format!("name: wrong on purpose\n{GIVEN}{WRONG}"));
    let run = rehearsal(&["run", &file.display().to_string(), "--seed", "1"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("FAIL wrong on purpose"), "{}", run.stdout);
    assert!(
        run.stdout.contains("step 2 at line 16: expect iop.scheduling_requests"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("expected exactly 1 matching record(s) in iop.scheduling_requests, found 0"),
        "{}",
        run.stdout
    );
    // Side by side: what was expected, and what the IOP really holds.
    assert!(run.stdout.contains("\"status\": \"scheduled\""), "{}", run.stdout);
    assert!(run.stdout.contains("\"status\": \"availability_requested\""), "{}", run.stdout);
    assert!(run.stdout.contains("0 passed, 1 failed"), "{}", run.stdout);

    let run = rehearsal(&["run", &file.display().to_string(), "--seed", "1", "--format", "json"]);
    assert_eq!(run.code, 1);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let failure = &report["scenarios"][0]["failure"];
    assert_eq!(failure["step"], 2);
    assert_eq!(failure["line"], 16);
    assert_eq!(failure["mismatches"][0]["found"][0]["status"], "availability_requested");

    let run = rehearsal(&["run", &file.display().to_string(), "--seed", "1", "--format", "junit"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("<failure"), "{}", run.stdout);
    assert!(run.stdout.contains("--seed 1"), "{}", run.stdout);
}

const SPARSE: &str = "steps:
  - webhook:
      from: greenhouse
      body: { action: candidate_stage_change, payload: { application: { current_stage: null } } }
      expect_status: 200
";

#[test]
fn an_unexpected_dead_letter_fails_unless_waived_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "dead.yaml", &format!("name: dead letter\n{GIVEN}{SPARSE}"));
    let run = rehearsal(&["run", &file.display().to_string(), "--seed", "2", "--format", "json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let finding = &report["scenarios"][0]["findings"][0];
    assert_eq!(finding["invariant"], "no_unexpected_dead_letters");
    assert!(finding["message"].as_str().unwrap().contains("no application.id"), "{finding}");

    let waived = format!(
        "name: dead letter waived\n{GIVEN}{SPARSE}waive:\n  - {{ invariant: no_unexpected_dead_letters, reason: sparse payload on purpose }}\n"
    );
    let file = write(dir.path(), "waived.yaml", &waived);
    let run = rehearsal(&["run", &file.display().to_string(), "--seed", "2", "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        report["scenarios"][0]["waived"][0]["message"]
            .as_str()
            .unwrap()
            .contains("sparse payload on purpose")
    );
}

#[test]
fn engine_overrides_in_given_change_the_policy_for_one_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let given = GIVEN.replace(
        "given:\n",
        "given:\n  engine: { policies: { on_decline: reject, rejection_reason: Withdrew } }\n",
    );
    let steps = "steps:
  - greenhouse: { move: Ana Ruiz, to: Onsite }
  - iop: { candidate_declines: Ana Ruiz, reason: moved abroad }
  - expect:
      greenhouse.applications: { candidate: Ana Ruiz, status: rejected }
      greenhouse.notes: { candidate: Ana Ruiz, body_contains: moved abroad }
";
    let file =
        write(dir.path(), "override.yaml", &format!("name: decline rejects\n{given}{steps}"));
    let run = rehearsal(&["run", &file.display().to_string(), "--seed", "3"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn filter_and_shard_select_scenarios() {
    let run = rehearsal(&[
        "run",
        "scenarios/",
        "--seed",
        "4",
        "--filter",
        "late-feedback",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let files: Vec<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap())
        .collect();
    assert!(!files.is_empty() && files.iter().all(|f| f.contains("late-feedback")), "{files:?}");
    let expected = library_files().iter().filter(|f| f.contains("late-feedback")).count();
    assert_eq!(files.len(), expected);

    let mut seen = Vec::new();
    for shard in ["1/2", "2/2"] {
        let run =
            rehearsal(&["run", "scenarios/", "--seed", "4", "--shard", shard, "--format", "json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let report: Value = serde_json::from_str(&run.stdout).unwrap();
        seen.extend(
            report["scenarios"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["file"].as_str().unwrap().to_owned()),
        );
    }
    let all = rehearsal(&["validate", "scenarios/"]);
    let count = all.stdout.lines().filter(|l| l.starts_with("ok ")).count();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), count, "every file in exactly one shard: {seen:?}");

    let run = rehearsal(&["run", "scenarios/", "--shard", "3/2"]);
    assert_eq!(run.code, 2);
}

#[test]
fn html_report_has_a_timeline_per_scenario_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let run = rehearsal(&[
        "run",
        "scenarios/candidate-declines.yaml",
        "scenarios/late-feedback.yaml",
        "scenarios/stage-skip.yaml",
        "--seed",
        "11",
        "--format",
        "html",
        "--output",
        &out.display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // The template escapes `/` as `&#x2f;`; read it as a browser would.
    let html = std::fs::read_to_string(&out).unwrap().replace("&#x2f;", "/");
    assert_eq!(html.matches("<table>").count(), 3, "one timeline per scenario");
    // The engine's writes to Greenhouse and the IOP's webhooks to the engine are on it.
    assert!(html.contains("POST /v3/interviews"), "timeline lacks the interview write");
    assert!(html.contains("POST /v1/scheduling_requests"), "timeline lacks the IOP request");
    assert!(html.contains("candidate declines after the onsite is scheduled"));
    for secret_marker in ["Bearer ", "ghs_", "whsec_", "ghwh_", "iop_0", "sha256 "] {
        assert!(!html.contains(secret_marker), "the report leaks {secret_marker}");
    }
}

/// Regression: the IOP journal used to keep the seeded webhook secret in its control body.
#[test]
fn journals_keep_no_webhook_secret_from_the_seed() {
    use rehearsal::engine::config::EngineConfig;
    use rehearsal::scenario::load;
    use rehearsal::scenario::runner::{RunOptions, run_scenario};

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = load::load(&root.join("scenarios/candidate-declines.yaml")).unwrap();
    let config = EngineConfig::load(&root.join("fixtures/engine.toml")).unwrap();
    let mut options = RunOptions::new(5, config, "fixtures/engine.toml".into());
    options.keep_journals = true;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let result = runtime.block_on(run_scenario(&loaded, &options));
    let journal = serde_json::to_string(&result.journal).unwrap();
    assert!(journal.contains("/_rehearsal/seed"), "the seed call is journalled");
    for marker in ["whsec_", "ghwh_", "ghs_"] {
        assert!(!journal.contains(marker), "a journal keeps a secret ({marker})");
    }
}
