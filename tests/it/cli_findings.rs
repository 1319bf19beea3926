//! Bugs a tester found in the runner, validation and reports (files kept in
//! /work/break/findings/): each input here once panicked, passed validation, or got an error that
//! did not say which field was wrong.

use serde_json::Value;

use crate::helpers::{GIVEN, Run, rehearsal, write};

/// A scenario file `name` in `dir`: the shared world, then `steps` (first step on line 15).
fn scenario(dir: &std::path::Path, name: &str, steps: &str) -> String {
    write(dir, name, &format!("name: t\n{GIVEN}steps:\n{steps}")).display().to_string()
}

/// `validate` and `run` both refuse the file with exit 2, every needle in the errors, no panic.
fn refused(file: &str, needles: &[&str]) -> Run {
    let mut last = None;
    for command in ["validate", "run"] {
        let run = match command {
            "run" => rehearsal(&["run", file, "--seed", "1"]),
            _ => rehearsal(&["validate", file]),
        };
        assert_eq!(run.code, 2, "{command} exit code; stdout {} stderr {}", run.stdout, run.stderr);
        for needle in needles {
            assert!(
                run.stderr.contains(needle),
                "{command}: stderr lacks {needle:?}: {}",
                run.stderr
            );
        }
        assert!(!run.stderr.contains("panicked"), "{command} panicked: {}", run.stderr);
        assert!(!run.stdout.contains("PASS") && !run.stdout.contains("FAIL"), "{}", run.stdout);
        last = Some(run);
    }
    last.unwrap()
}

#[test]
fn durations_past_the_latest_supported_time_are_refused_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "advance.yaml", "  - advance: 100000000d\n");
    refused(&file, &[&format!("{file}:15: advance:"), "9999"]);

    let file = scenario(
        dir.path(),
        "within.yaml",
        "  - expect: { within: 100000000d, iop.scheduling_requests: { candidate: Ana Ruiz, count: 1 } }\n",
    );
    refused(&file, &[&format!("{file}:15: expect within:"), "9999"]);

    // Many advances, each fine alone, together past the limit.
    let steps = "  - advance: 1000000d\n".repeat(4);
    let file = scenario(dir.path(), "many.yaml", &steps);
    refused(&file, &[&format!("{file}:17: advance:")]); // the third reaches year 10240
}

#[test]
fn times_past_the_latest_supported_time_are_refused_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("name: t\nstart: 9999-12-31T00:00:00Z\n{GIVEN}steps:\n  - advance: 1h\n");
    let file = write(dir.path(), "start.yaml", &text).display().to_string();
    refused(&file, &[&format!("{file}:2: start:"), "9999"]);

    let file = scenario(
        dir.path(),
        "at.yaml",
        "  - greenhouse: { move: Ana Ruiz, to: Onsite }\n  - iop: { schedule: Ana Ruiz, at: 9999-12-31T23:30:00Z }\n",
    );
    refused(&file, &[&format!("{file}:16: iop schedule: `at`")]);
}

#[test]
fn a_webhook_delay_too_large_for_the_clock_is_refused_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "delay.yaml",
        "  - faults: { greenhouse: { webhooks: { delay_secs: 9223372036854775807 } } }\n  - advance: 1d\n",
    );
    refused(&file, &[&format!("{file}:15: faults.greenhouse: webhooks.delay_secs")]);
}

#[test]
fn broken_engine_overrides_are_refused_with_every_problem_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let given = GIVEN.replace(
        "given:\n",
        "given:\n  engine:\n    policies: { on_decline: explode }\n    retyr: { max_attempts: 3 }\n",
    );
    let file =
        write(dir.path(), "engine.yaml", &format!("name: t\n{given}steps:\n  - advance: 1h\n"))
            .display()
            .to_string();
    let run = refused(
        &file,
        &[
            &format!("{file}:4: given.engine.policies.on_decline: unknown variant `explode`"),
            &format!("{file}:5: given.engine.retyr: unknown field `retyr`"),
            "did you mean `retry`?",
        ],
    );
    assert_eq!(run.stderr.lines().filter(|l| l.starts_with("error:")).count(), 2, "{}", run.stderr);
}

#[test]
fn an_unknown_candidate_in_an_expectation_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "carol.yaml",
        "  - expect: { iop.scheduling_requests: { candidate: Carol, count: 0 } }\n",
    );
    refused(
        &file,
        &[&format!(
            "{file}:15: expect iop.scheduling_requests: unknown candidate `Carol` (not in given.candidates)"
        )],
    );
    let file = scenario(
        dir.path(),
        "typo.yaml",
        "  - expect: { iop.scheduling_requests: [{ candidate: Ana Ruiz, count: 0 }, { candidate: Ana Ruis, count: 0 }] }\n",
    );
    refused(&file, &["unknown candidate `Ana Ruis`", "did you mean `Ana Ruiz`?"]);
}

#[test]
fn errors_name_the_field_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, String, String); 6] = [
        (
            "wrongtype.yaml",
            GIVEN.replace("applies_to: Backend Engineer }", "applies_to: Backend Engineer, id: \"abc\" }"),
            ":13: id: expected a whole number".to_owned(),
        ),
        (
            "huge.yaml",
            GIVEN.replace("    - name: Backend Engineer\n", "    - name: Backend Engineer\n      id: 99999999999999999999999\n"),
            ":7: id: expected a whole number".to_owned(),
        ),
        (
            "negative.yaml",
            GIVEN.replace("{ name: System Design,", "{ name: System Design, duration_minutes: -45,"),
            "stage `Onsite`, interview `System Design`: duration_minutes: invalid value: integer `-45`, expected a whole number from 0".to_owned(),
        ),
        (
            "application.yaml",
            GIVEN.replace("applies_to: Backend Engineer }", "applies_to: Backend Engineer, application_id: -5 }"),
            ":13: candidate `Ana Ruiz`: `application_id` must be a positive whole number".to_owned(),
        ),
        (
            "twokeys.yaml",
            GIVEN.to_owned(),
            ":15: a step has exactly one key".to_owned(),
        ),
        (
            "badtime.yaml",
            GIVEN.replace("given:\n", "start: 2026-13-45T99:00:00Z\ngiven:\n"),
            ":2: start: `2026-13-45T99:00:00Z` is not a valid time".to_owned(),
        ),
    ];
    for (name, given, needle) in cases {
        let steps = if name == "twokeys.yaml" {
            "  - { advance: 1h, engine: restart }\n"
        } else {
            "  - advance: 1h\n"
        };
        let file = write(dir.path(), name, &format!("name: t\n{given}steps:\n{steps}"));
        let file = file.display().to_string();
        let run = rehearsal(&["validate", &file]);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("{file}{needle}"))
                || (!needle.starts_with(':') && run.stderr.contains(&needle)),
            "{name}: stderr lacks {needle:?}: {}",
            run.stderr
        );
        for vague in ["invalid i64", "untagged enum", "enum variant value", "input is out of range"]
        {
            assert!(!run.stderr.contains(vague), "{name}: vague error: {}", run.stderr);
        }
    }
}

#[test]
fn reports_print_the_run_seed_and_json_keeps_seeds_exact() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "wrong.yaml",
        "  - greenhouse: { move: Ana Ruiz, to: Onsite }\n  - expect: { iop.scheduling_requests: { candidate: Ana Ruiz, count: 5 } }\n",
    );
    let seed = "18446744073709551557"; // above 2^53: a JSON number would be rounded
    let out = dir.path().join("report.xml");
    let run = rehearsal(&[
        "run",
        &file,
        "--seed",
        seed,
        "--format",
        "junit",
        "--output",
        &out.display().to_string(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let xml = std::fs::read_to_string(&out).unwrap();
    assert!(xml.contains(&format!("--seed {seed}")), "{xml}");
    let mixed = rehearsal(&["run", &file, "--seed", seed, "--format", "json"]);
    let report: Value = serde_json::from_str(&mixed.stdout).unwrap();
    assert_eq!(report["seed"], Value::String(seed.to_owned()));
    assert_eq!(report["format"], 2, "seeds as strings changed the report's shape");
    let scenario_seed = report["scenarios"][0]["seed"].as_str().expect("scenario seed is a string");
    assert!(scenario_seed.parse::<u64>().is_ok(), "{scenario_seed}");
    assert!(
        !xml.contains(&format!("seed: {scenario_seed}")),
        "the mixed seed replays nothing: {xml}"
    );

    let html = dir.path().join("report.html");
    let run = rehearsal(&[
        "run",
        &file,
        "--seed",
        seed,
        "--format",
        "html",
        "--output",
        &html.display().to_string(),
    ]);
    assert_eq!(run.code, 1);
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.contains(&format!("--seed {seed}")), "html");
    assert!(
        !html.contains(&format!("seed {scenario_seed}")),
        "html shows the mixed seed as a seed"
    );
}

#[test]
fn an_empty_shard_of_a_valid_library_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "one.yaml", "  - advance: 1h\n");
    let folder = dir.path().display().to_string();
    let run = rehearsal(&["run", &folder, "--seed", "1", "--shard", "2/3"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("shard 2/3 is empty"), "{}", run.stdout);
    let run = rehearsal(&["run", &folder, "--seed", "1", "--shard", "1/3"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("PASS") && run.stdout.contains(&file), "{}", run.stdout);
    // A filter that matches nothing is still a mistake, shard or not.
    let run = rehearsal(&["run", &folder, "--filter", "nothing-like-this", "--shard", "2/3"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let empty = tempfile::tempdir().unwrap();
    let run = rehearsal(&["run", &empty.path().display().to_string(), "--shard", "2/3"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

/// Two candidates with one id (or two applications with one id) were seeded until the mock
/// refused the second, a run failure (exit 1); validation now names both (exit 2). A candidate
/// and an application may share a number: Greenhouse counts them apart.
#[test]
fn two_records_of_one_kind_with_one_id_are_refused_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let world = "name: t\ngiven:\n  jobs: [{ name: J, stages: [A, B] }]\n  candidates:\n    - { name: Ana Ruiz, applies_to: J, id: 5, application_id: 6 }\n    - { name: Bob Lee, applies_to: J, id: 6, application_id: 5 }\n";
    let steps = "steps:\n  - greenhouse: { move: Ana Ruiz, to: B }\n";
    let fine = write(dir.path(), "fine.yaml", &format!("{world}{steps}")).display().to_string();
    assert_eq!(rehearsal(&["validate", &fine]).code, 0, "ids shared across kinds are fine");

    let third = "    - { name: Cy Ode, applies_to: J, id: 5, application_id: 7 }\n";
    let file = write(dir.path(), "ids.yaml", &format!("{world}{third}{steps}"));
    let file = file.display().to_string();
    refused(&file, &[&format!("{file}:7: candidate `Cy Ode`: `id` 5 is already `Ana Ruiz`'s")]);

    let third = "    - { name: Cy Ode, applies_to: J, application_id: 6 }\n";
    let file = write(dir.path(), "apps.yaml", &format!("{world}{third}{steps}"));
    let file = file.display().to_string();
    refused(
        &file,
        &[&format!("{file}:7: candidate `Cy Ode`: `application_id` 6 is already `Ana Ruiz`'s")],
    );
}
