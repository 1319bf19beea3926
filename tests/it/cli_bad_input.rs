//! Every kind of unusable input gets one clear error naming the file and line, exit code 2,
//! and never a panic.

use crate::helpers::{GIVEN, rehearsal, write};

fn assert_bad_input(run: &crate::helpers::Run, needle: &str) {
    assert_eq!(run.code, 2, "exit code; stderr: {}", run.stderr);
    assert!(run.stderr.contains(needle), "stderr lacks {needle:?}: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "panic: {}", run.stderr);
    assert_eq!(
        run.stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "one error: {}",
        run.stderr
    );
}

#[test]
fn missing_folder() {
    let run = rehearsal(&["run", "no/such/folder"]);
    assert_bad_input(&run, "error: no/such/folder: no such file or folder");
}

#[test]
fn empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().display().to_string();
    let run = rehearsal(&["run", &path]);
    assert_bad_input(&run, &format!("error: {path}: no scenario files (*.yaml, *.yml) found"));
}

#[test]
fn yaml_syntax_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "broken.yaml",
        "name: broken\nsteps:\n  - advance: 1h\n   - advance: [2h\n",
    );
    let run = rehearsal(&["run", &file.display().to_string()]);
    assert_bad_input(&run, &format!("{}:4:", file.display()));
}

#[test]
fn unknown_step_kind() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "name: t\n{GIVEN}steps:\n  - greenhouse: {{ move: Ana Ruiz, to: Onsite }}\n  - teleport: Ana Ruiz\n"
    );
    let file = write(dir.path(), "unknown-step.yaml", &text);
    let run = rehearsal(&["run", &file.display().to_string()]);
    assert_bad_input(&run, &format!("{}:16: unknown variant `teleport`", file.display()));
}

#[test]
fn unknown_candidate_reference() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        format!("name: t\n{GIVEN}steps:\n  - greenhouse: {{ move: Bob Stone, to: Onsite }}\n");
    let file = write(dir.path(), "unknown-candidate.yaml", &text);
    let run = rehearsal(&["run", &file.display().to_string()]);
    assert_bad_input(
        &run,
        &format!("{}:15: unknown candidate `Bob Stone` (not in given.candidates)", file.display()),
    );
}

#[test]
fn unknown_stage_reference() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("name: t\n{GIVEN}steps:\n  - greenhouse: {{ move: Ana Ruiz, to: Lunch }}\n");
    let file = write(dir.path(), "unknown-stage.yaml", &text);
    let run = rehearsal(&["run", &file.display().to_string()]);
    assert_bad_input(
        &run,
        &format!(
            "{}:15: greenhouse move: job `Backend Engineer` has no stage `Lunch`",
            file.display()
        ),
    );
}

#[test]
fn wrong_type_and_bad_duration() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad-duration.yaml",
        &format!("name: t\n{GIVEN}steps:\n  - advance: soon\n"),
    );
    let run = rehearsal(&["run", &file.display().to_string()]);
    assert_bad_input(&run, &format!("{}:15: advance: `soon` is not a duration", file.display()));

    let file = write(dir.path(), "wrong-type.yaml", "name: [not, a, string]\nsteps: []\n");
    let run = rehearsal(&["validate", &file.display().to_string()]);
    assert_bad_input(&run, &format!("{}:1:", file.display()));
}

#[test]
fn broken_engine_config_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        write(dir.path(), "engine.toml", "[greenhouse]\nbase_url = \"http://x\"\nbogus = 1\n");
    let run = rehearsal(&["run", "scenarios/", "--config", &config.display().to_string()]);
    assert_bad_input(
        &run,
        &format!("{}:3: greenhouse.bogus: unknown field `bogus`", config.display()),
    );
}

#[test]
fn every_broken_file_in_a_folder_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a-duration.yaml", &format!("name: a\n{GIVEN}steps:\n  - advance: soon\n"));
    write(
        dir.path(),
        "b-candidate.yaml",
        &format!("name: b\n{GIVEN}steps:\n  - greenhouse: {{ hire: Nobody }}\n"),
    );
    let run = rehearsal(&["validate", &dir.path().display().to_string()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("a-duration.yaml:15: advance:"), "{}", run.stderr);
    assert!(
        run.stderr.contains("b-candidate.yaml:15: unknown candidate `Nobody`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"));
}

#[test]
fn an_unwritable_output_is_refused_before_running() {
    let run = rehearsal(&[
        "run",
        "scenarios/stage-skip.yaml",
        "--output",
        "/nonexistent-dir/report.json",
    ]);
    assert_bad_input(&run, "cannot write /nonexistent-dir/report.json");
    assert!(!run.stdout.contains("PASS"), "nothing ran: {}", run.stdout);

    let run = rehearsal(&["run", "scenarios/stage-skip.yaml", "--jobs", "0"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn custom_field_values_must_be_declared_and_fit_their_type() {
    let dir = tempfile::tempdir().unwrap();
    let world = |fields: &str, values: &str| {
        format!(
            "name: t\ngiven:\n  jobs:\n    - {{ name: Backend Engineer, stages: [Application Review] }}\n  custom_fields:\n{fields}  candidates:\n    - name: Ana Ruiz\n      applies_to: Backend Engineer\n{values}steps:\n  - advance: 1h\n"
        )
    };
    let level = "    - { key: level, record: candidate, type: single_select, options: [Junior, Senior] }\n    - { key: start_date, record: application, type: date }\n";

    let text = world(level, "      application_custom_fields: { budget: 100 }\n");
    let file = write(dir.path(), "undeclared.yaml", &text);
    let run = rehearsal(&["validate", &file.display().to_string()]);
    assert_bad_input(
        &run,
        &format!(
            "{}:9: candidate `Ana Ruiz`: application_custom_fields.budget: no application custom field `budget` is declared (declared: start_date)",
            file.display()
        ),
    );

    let text = world(level, "      custom_fields: { level: Staff }\n");
    let file = write(dir.path(), "ill-typed.yaml", &text);
    let run = rehearsal(&["validate", &file.display().to_string()]);
    assert_bad_input(
        &run,
        &format!(
            "{}:9: candidate `Ana Ruiz`: custom_fields.level: `level` is a single_select field and takes one of its options (Junior, Senior)",
            file.display()
        ),
    );

    let fields = "    - { key: level, record: candidate, type: text }\n";
    let file = write(dir.path(), "bad-type.yaml", &world(fields, ""));
    let run = rehearsal(&["validate", &file.display().to_string()]);
    assert_bad_input(
        &run,
        &format!(
            "{}:6: given.custom_fields: custom field `level`: value_type `text` is not one of short_text",
            file.display()
        ),
    );
}
