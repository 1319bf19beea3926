//! `rehearsal engine check`: one test per kind of configuration problem, through the CLI.

use std::path::Path;

use crate::engine_world::{Served, config_text, env_for, seed, seed_world};
use crate::helpers::write;

struct Checked {
    code: i32,
    stdout: String,
}

/// Runs `rehearsal engine check --config <file>` with exactly `env` as extra environment.
async fn check(file: &Path, env: &[(String, String)]) -> Checked {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_rehearsal"))
        .args(["engine", "check", "--config"])
        .arg(file)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    Checked { code: output.status.code().unwrap_or(-1), stdout }
}

/// A loopback URL nothing listens on, so no test ever reaches beyond this machine.
fn closed_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

fn base(prefix: &str) -> String {
    let url = closed_url();
    config_text(&url, &url, "unused.db", prefix)
}

#[tokio::test]
async fn unknown_field_names_line_field_and_the_likely_name() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{}\n[policies]\nfeedback_writebak = \"note\"\n", base("UF_"));
    let file = write(dir.path(), "engine.toml", &text);
    let run = check(&file, &env_for("UF_")).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    let expected = format!(
        "{}:30: policies.feedback_writebak: unknown field `feedback_writebak`",
        file.display()
    );
    assert!(run.stdout.contains(&expected), "{}", run.stdout);
    assert!(run.stdout.contains("did you mean `feedback_writeback`?"), "{}", run.stdout);
}

#[tokio::test]
async fn every_wrong_type_is_reported_not_only_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let text = base("WT_")
        .replace("max_attempts = 8", "max_attempts = \"eight\"")
        .replace("poll_interval_secs = 1", "poll_interval_secs = -1");
    let file = write(dir.path(), "engine.toml", &text);
    let run = check(&file, &env_for("WT_")).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(":18: service.poll_interval_secs: invalid value"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(":21: retry.max_attempts: invalid type: string \"eight\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("2 problems"), "{}", run.stdout);
}

#[tokio::test]
async fn an_option_on_the_wrong_action_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n[[triggers]]\nstage = \"Offer\"\naction = \"cancel\"\nmode = \"self_schedule\"\n",
        base("OW_")
    );
    let file = write(dir.path(), "engine.toml", &text);
    let run = check(&file, &env_for("OW_")).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(":32: triggers[1].mode: `mode` only applies to action `open_scheduling_request`, not `cancel`; remove `mode` or change the action"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn duplicate_rules_name_both() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        format!("{}\n[[triggers]]\nstage = \" onsite\"\naction = \"nothing\"\n", base("DR_"));
    let file = write(dir.path(), "engine.toml", &text);
    let run = check(&file, &env_for("DR_")).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(":30: triggers[1].stage: duplicates triggers[0] (same stage and jobs)"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn missing_secrets_name_each_variable_and_skip_the_stage_check() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "engine.toml", &base("MS_"));
    let env: Vec<_> = env_for("MS_")
        .into_iter()
        .filter(|(k, _)| !k.ends_with("SECRET") && !k.ends_with("IOP_KEY"))
        .collect();
    let run = check(&file, &env).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            ":5: greenhouse.client_secret_env: environment variable MS_GH_SECRET is not set"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(":10: iop.api_key_env: environment variable MS_IOP_KEY is not set"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("note: stages not checked: Greenhouse credentials are not set"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn an_unreachable_greenhouse_is_a_note_not_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "engine.toml", &base("UR_"));
    let run = check(&file, &env_for("UR_")).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("note: stages not checked: Greenhouse unreachable"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("engine.toml: ok"), "{}", run.stdout);
}

#[tokio::test]
async fn an_unreadable_file_exits_2() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_rehearsal"))
        .args(["engine", "check", "--config", "/no/such/engine.toml"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: /no/such/engine.toml: cannot read"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_are_checked_against_the_connected_greenhouse() {
    let served = Served::start().await;
    let http =
        rehearsal::transport::ReqwestClient::new(std::time::Duration::from_secs(10)).unwrap();
    seed_world(&http, &served.greenhouse, &seed(1, "Application Review")).await;

    let dir = tempfile::tempdir().unwrap();
    let good = config_text(&served.greenhouse, &served.iop, "unused.db", "SC_");
    let file = write(dir.path(), "good.toml", &good);
    let run = check(&file, &env_for("SC_")).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("note: stages checked against the connected Greenhouse"),
        "{}",
        run.stdout
    );

    let bad = format!(
        "{good}\n[[triggers]]\nstage = \"Onsight\"\naction = \"open_scheduling_request\"\n\n[[triggers]]\nstage = \"Offer\"\njobs = [\"Frontend Engineer\"]\naction = \"nothing\"\n"
    );
    let file = write(dir.path(), "bad.toml", &bad);
    let run = check(&file, &env_for("SC_")).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(":30: triggers[1].stage: no stage `Onsight` in any job of the connected Greenhouse; did you mean `Onsite`?"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            ":35: triggers[2].jobs: no job named `Frontend Engineer` in the connected Greenhouse"
        ),
        "{}",
        run.stdout
    );

    // The mock lists custom fields; this world defines none, so the rule's field is missing.
    let with_fields = format!(
        "{good}\n[[mapping.custom_fields]]\nfrom = \"candidate.custom_fields.level\"\nto = \"candidate.custom_fields.level\"\ntype = \"short_text\"\n"
    );
    let file = write(dir.path(), "fields.toml", &with_fields);
    let run = check(&file, &env_for("SC_")).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    says(&run, "note: custom fields checked against the connected Greenhouse");
    says(
        &run,
        &format!(
            ":{}: mapping.custom_fields[0].from: no candidate custom field `level` in the connected Greenhouse",
            line_with(&with_fields, "from = \"candidate.custom_fields.level\"")
        ),
    );
}

#[tokio::test]
async fn engine_without_a_subcommand_still_means_serve() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_rehearsal"))
        .args(["engine", "--config", "/no/such/engine.toml"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim(),
        "error: /no/such/engine.toml: cannot read: No such file or directory (os error 2)"
    );
}

/// Asserts that the check printed `text`, showing everything it printed when not.
fn says(run: &Checked, text: &str) {
    assert!(run.stdout.contains(text), "expected {text:?} in:\n{}", run.stdout);
}

/// The 1-based line of the first line of `text` that contains `needle`.
fn line_with(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1).unwrap()
}

/// A `[[mapping.custom_fields]]` rule as a customer writes it.
fn field_rule(from: &str, to: &str, kind: &str, transform: &str) -> String {
    format!(
        "\n[[mapping.custom_fields]]\nfrom = \"{from}\"\nto = \"{to}\"\ntype = \"{kind}\"\ntransform = \"{transform}\"\n"
    )
}

#[tokio::test]
async fn a_transform_on_the_wrong_type_names_the_transforms_that_fit() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}{}",
        base("TT_"),
        field_rule(
            "candidate.custom_fields.relocate",
            "candidate.custom_fields.relocate",
            "yes_no",
            "phone"
        )
    );
    let file = write(dir.path(), "engine.toml", &text);
    let run = check(&file, &env_for("TT_")).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    let line = line_with(&text, "transform = \"phone\"");
    let expected = format!(
        ":{line}: mapping.custom_fields[0].transform: transform `phone` does not apply to a `yes_no` field; transforms for yes_no: none, yes_no_to_bool"
    );
    says(&run, &expected);
}

#[tokio::test]
async fn unknown_types_and_transforms_get_a_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}{}{}",
        base("UT_"),
        field_rule(
            "candidate.custom_fields.level",
            "candidate.custom_fields.level",
            "single_selct",
            "lowercse"
        ),
        field_rule("candidate.custom_fields.ok", "candidate.custom_fields.ok", "boolean", "none"),
    );
    let file = write(dir.path(), "engine.toml", &text);
    let run = check(&file, &env_for("UT_")).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    let type_line = line_with(&text, "single_selct");
    says(
        &run,
        &format!(
            ":{type_line}: mapping.custom_fields[0].type: unknown type `single_selct`; did you mean `single_select`?"
        ),
    );
    says(
        &run,
        "mapping.custom_fields[0].transform: unknown transform `lowercse`; did you mean `lowercase`?",
    );
    says(
        &run,
        "mapping.custom_fields[1].type: unknown type `boolean`; Harvest calls a yes/no field `yes_no`",
    );
}

#[tokio::test]
async fn two_rules_for_one_iop_field_are_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}{}{}",
        base("DT_"),
        field_rule(
            "candidate.custom_fields.level",
            "candidate.custom_fields.seniority",
            "short_text",
            "trim"
        ),
        field_rule(
            "candidate.custom_fields.grade",
            "candidate.custom_fields.seniority",
            "short_text",
            "none"
        ),
    );
    let file = write(dir.path(), "engine.toml", &text);
    let run = check(&file, &env_for("DT_")).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    let line =
        text.lines().enumerate().filter(|(_, l)| l.contains("seniority")).nth(1).unwrap().0 + 1;
    says(
        &run,
        &format!(
            ":{line}: mapping.custom_fields[1].to: duplicates mapping.custom_fields[0] (same target `candidate.custom_fields.seniority`)"
        ),
    );
}

#[tokio::test]
async fn a_from_path_outside_custom_fields_is_refused_with_the_likely_path() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}{}",
        base("FP_"),
        field_rule("candidate.level", "candidate.custom_fields.level", "short_text", "none")
    );
    let file = write(dir.path(), "engine.toml", &text);
    let run = check(&file, &env_for("FP_")).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    let line = line_with(&text, "from = \"candidate.level\"");
    says(
        &run,
        &format!(
            ":{line}: mapping.custom_fields[0].from: `candidate.level` is not a custom-field path; did you mean `candidate.custom_fields.level`?"
        ),
    );
}

#[tokio::test]
async fn custom_fields_and_workflow_stages_are_checked_against_the_connected_greenhouse() {
    use wiremock::matchers::path;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    let answer = |body: serde_json::Value| ResponseTemplate::new(200).set_body_json(body);
    Mock::given(path("/token"))
        .respond_with(answer(serde_json::json!({"access_token": "t", "expires_in": 3600})))
        .mount(&server)
        .await;
    Mock::given(path("/v3/job_interview_stages"))
        .respond_with(answer(serde_json::json!([
            {"id": 41, "job_id": 4, "name": "Onsite"},
            {"id": 42, "job_id": 4, "name": "Offer"}
        ])))
        .mount(&server)
        .await;
    Mock::given(path("/v3/jobs"))
        .respond_with(answer(serde_json::json!([{"id": 4, "name": "Backend Engineer"}])))
        .mount(&server)
        .await;
    Mock::given(path("/v3/custom_fields"))
        .respond_with(answer(serde_json::json!([
            {"id": 1, "field_type": "candidate", "name_key": "seniority_level", "value_type": "single_select"},
            {"id": 2, "field_type": "candidate", "name_key": "relocate", "value_type": "yes_no"},
            {"id": 3, "field_type": "application", "name_key": "relocate", "value_type": "short_text"}
        ])))
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}{}{}\n[mapping.stage_workflows]\nOnsight = \"onsite-loop\"\n",
        config_text(&server.uri(), &closed_url(), "unused.db", "GC_"),
        field_rule(
            "candidate.custom_fields.seniority",
            "candidate.custom_fields.level",
            "single_select",
            "trim"
        ),
        field_rule(
            "candidate.custom_fields.relocate",
            "candidate.custom_fields.relocate",
            "short_text",
            "trim"
        ),
    );
    let file = write(dir.path(), "engine.toml", &text);
    let run = check(&file, &env_for("GC_")).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    let missing = line_with(&text, "from = \"candidate.custom_fields.seniority\"");
    says(
        &run,
        &format!(
            ":{missing}: mapping.custom_fields[0].from: no candidate custom field `seniority` in the connected Greenhouse; did you mean `seniority_level`?"
        ),
    );
    let typed = line_with(&text, "type = \"short_text\"");
    says(
        &run,
        &format!(
            ":{typed}: mapping.custom_fields[1].type: `relocate` is a `yes_no` field in the connected Greenhouse, not `short_text`; set type = \"yes_no\" and a transform for it (none, yes_no_to_bool)"
        ),
    );
    let stage = line_with(&text, "Onsight =");
    says(
        &run,
        &format!(
            ":{stage}: mapping.stage_workflows.Onsight: no stage `Onsight` in any job of the connected Greenhouse; did you mean `Onsite`?"
        ),
    );
    says(&run, "note: custom fields checked against the connected Greenhouse");
    says(&run, "3 problems");
}

#[tokio::test]
async fn a_concurrency_of_zero_or_past_the_cap_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    for (value, prefix) in ["0", "65", "100000"].into_iter().zip(["CZ_", "CC_", "CH_"]) {
        let text = base(prefix).replace(
            "poll_interval_secs = 1",
            &format!("poll_interval_secs = 1\nconcurrency = {value}"),
        );
        let file = write(dir.path(), &format!("engine-{value}.toml"), &text);
        let run = check(&file, &env_for(prefix)).await;
        assert_eq!(run.code, 1, "{}", run.stdout);
        let expected = format!(
            ":19: service.concurrency: {value} events at once is outside 1 to 64; use 1 to handle one event at a time"
        );
        assert!(run.stdout.contains(&expected), "{}", run.stdout);
    }

    // A negative number is a type error on the same line, not a panic.
    let text =
        base("CN_").replace("poll_interval_secs = 1", "poll_interval_secs = 1\nconcurrency = -2");
    let file = write(dir.path(), "engine-negative.toml", &text);
    let run = check(&file, &env_for("CN_")).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains(":19: service.concurrency: invalid value"), "{}", run.stdout);
}

/// Runs `rehearsal engine serve --config <file>`; every file given here is refused, so the
/// bound only keeps a regression (a server that starts) from hanging the suite.
async fn serve_refusal(file: &Path, env: &[(String, String)]) -> (i32, String) {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_rehearsal"))
        .args(["engine", "serve", "--config"])
        .arg(file)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("NO_COLOR", "1")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), child)
        .await
        .expect("serve started with a config it should refuse")
        .unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test]
async fn values_the_engine_cannot_run_with_are_reported_and_refused_by_serve() {
    let dir = tempfile::tempdir().unwrap();
    // (what the base config says, what it says instead, the changed key's line, the problem)
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "listen = \"127.0.0.1:0\"",
            "listen = \"not-an-address\"",
            "listen =",
            "service.listen: `not-an-address` is not an address to listen on; write it as host:port",
        ),
        (
            "poll_interval_secs = 1",
            "poll_interval_secs = 0",
            "poll_interval_secs",
            "service.poll_interval_secs: is 0; it must be at least 1 second",
        ),
        (
            "max_attempts = 8",
            "max_attempts = 0",
            "max_attempts",
            "retry.max_attempts: is 0; it must be at least 1 attempt",
        ),
        (
            "base_delay_secs = 1\nmax_delay_secs = 5",
            "base_delay_secs = 100\nmax_delay_secs = 1",
            "base_delay_secs",
            "retry.base_delay_secs: 100 s is more than max_delay_secs (1 s)",
        ),
        (
            "[[triggers]]",
            "[reconcile]\ninterval_secs = 0\n\n[[triggers]]",
            "interval_secs = 0",
            "reconcile.interval_secs: is 0; it must be at least 1 second",
        ),
        (
            "[[triggers]]",
            "[mapping]\ndefault_timezone = \"Mars/Olympus\"\n\n[[triggers]]",
            "default_timezone",
            "mapping.default_timezone: `Mars/Olympus` is not an IANA time zone",
        ),
        (
            "[[triggers]]",
            "[mapping]\ndefault_duration_minutes = 0\n\n[[triggers]]",
            "default_duration_minutes",
            "mapping.default_duration_minutes: is 0; it must be at least 1 minute",
        ),
        (
            "[[triggers]]",
            "[mapping]\nemail_type_preference = [\"personal\", \"pager\"]\n\n[[triggers]]",
            "email_type_preference",
            "mapping.email_type_preference: `pager` is not a Greenhouse e-mail type; use personal, work, other",
        ),
    ];
    for (index, (from, to, key, expected)) in cases.iter().enumerate() {
        let prefix = format!("SV{index}_");
        let text = base(&prefix).replacen(from, to, 1);
        assert_ne!(text, base(&prefix), "case {index} changed nothing");
        let file = write(dir.path(), &format!("engine-{index}.toml"), &text);
        let env = env_for(&prefix);

        let run = check(&file, &env).await;
        assert_eq!(run.code, 1, "case {index}: {}", run.stdout);
        let located = format!("{}:{}: {expected}", file.display(), line_with(&text, key));
        assert!(run.stdout.contains(&located), "case {index}: wanted {located}\n{}", run.stdout);
        assert!(run.stdout.contains("1 problem"), "case {index}: {}", run.stdout);

        let (code, stderr) = serve_refusal(&file, &env).await;
        assert_eq!(code, 2, "case {index}: serve exit code; {stderr}");
        assert!(stderr.contains(expected), "case {index}: serve said {stderr}");
    }
}
