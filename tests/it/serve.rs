//! `rehearsal serve` as a staging user meets it: the built binary on loopback ports, its two
//! start-up lines, real HTTP with the printed credentials, webhooks sent by the background
//! task, and a clean stop on SIGINT or SIGTERM.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use http::HeaderMap;
use rehearsal::greenhouse::signature::verify;
use serde_json::{Value, json};

use crate::helpers::{rehearsal, write};

/// Upper bound for anything the tests wait on; generous because CI machines are slow.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running `rehearsal serve` and what it printed.
struct Served {
    child: Child,
    greenhouse: Value,
    iop: Value,
}

impl Served {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rehearsal"))
            .arg("serve")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the rehearsal binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let mut next = || -> Value {
            let line = lines.next().expect("serve printed a line").expect("stdout is UTF-8");
            serde_json::from_str(&line).expect("each start-up line is JSON")
        };
        let greenhouse = next();
        let iop = next();
        Self { child, greenhouse, iop }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// The exit code once it has stopped; panics if it has not stopped within [`PATIENCE`].
    fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("the child can be polled") {
                return status.code();
            }
            assert!(Instant::now() < deadline, "serve did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn field(&self, service: &str, name: &str) -> String {
        let line = if service == "greenhouse" { &self.greenhouse } else { &self.iop };
        line[name].as_str().unwrap_or_else(|| panic!("{service} line lacks {name}: {line}")).into()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // A failed assertion must not leave a server behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(PATIENCE).build().unwrap()
}

async fn token(served: &Served) -> String {
    let response = client()
        .post(served.field("greenhouse", "token_url"))
        .basic_auth(
            served.field("greenhouse", "client_id"),
            Some(served.field("greenhouse", "client_secret")),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Follows `Link: <…>; rel="next"` from `first` and returns every record of every page.
async fn walk(token: &str, first: String) -> (Vec<Value>, usize) {
    let (mut records, mut pages, mut url) = (Vec::new(), 0, Some(first));
    while let Some(next) = url {
        let response = client().get(&next).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200, "{next}");
        url = response.headers().get("link").and_then(|v| v.to_str().ok()).and_then(|link| {
            link.strip_prefix('<')?.split_once(">; rel=\"next\"").map(|(u, _)| u.to_owned())
        });
        let page: Vec<Value> = response.json().await.unwrap();
        records.extend(page);
        pages += 1;
    }
    (records, pages)
}

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A webhook receiver on a free loopback port; returns its URL and what it received.
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let log = received.clone();
    let router = Router::new().route(
        "/hooks",
        post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, received)
}

#[tokio::test]
async fn serve_answers_with_the_printed_credentials_and_stops_on_sigint() {
    let mut served = Served::start(&[
        "--world",
        "fixtures/serve-world.yaml",
        "--fake-candidates",
        "120",
        "--seed",
        "7",
    ]);
    assert_eq!(served.greenhouse["service"], "greenhouse");
    assert_eq!(served.iop["service"], "iop");
    assert_eq!(
        (served.greenhouse["seed"].clone(), served.iop["seed"].clone()),
        (json!(7), json!(7))
    );
    let base = served.field("greenhouse", "base_url");
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert_eq!(served.field("greenhouse", "token_url"), format!("{base}/token"));

    // 120 fake candidates plus the world's two, across pages, each exactly once.
    let token = token(&served).await;
    let (candidates, pages) = walk(&token, format!("{base}/v3/candidates?per_page=50")).await;
    assert_eq!(candidates.len(), 122);
    assert_eq!(pages, 3);
    let ids: BTreeSet<i64> = candidates.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 122);
    let (applications, _) = walk(&token, format!("{base}/v3/applications?per_page=500")).await;
    let stages: BTreeSet<&str> =
        applications.iter().map(|a| a["stage_name"].as_str().unwrap()).collect();
    assert_eq!(applications.len(), 122);
    assert_eq!(stages.len(), 3, "fake applications spread over every stage: {stages:?}");

    // The IOP takes the printed key (and only it); the world's users are its interviewers.
    let iop = served.field("iop", "base_url");
    let users = client()
        .get(format!("{iop}/v1/users"))
        .bearer_auth(served.field("iop", "api_key"))
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 200);
    let users: Value = users.json().await.unwrap();
    assert_eq!(users["data"].as_array().unwrap().len(), 2, "{users}");
    let stranger =
        client().get(format!("{iop}/v1/users")).bearer_auth("nope").send().await.unwrap();
    assert_eq!(stranger.status(), 401);

    served.signal("INT");
    assert_eq!(served.exit_code(), Some(0));
}

#[tokio::test]
async fn webhooks_flow_without_a_deliver_call_and_secrets_stay_out_of_the_journal() {
    let (hook_url, received) = receiver().await;
    let served = Served::start(&["--world", "fixtures/serve-world.yaml"]);
    let base = served.field("greenhouse", "base_url");
    let webhook_secret = served.field("greenhouse", "webhook_secret");
    let http = client();

    // No secret in the body: the mock signs with the one it printed.
    let put = http.put(format!("{base}/_rehearsal/webhook")).json(&json!({"url": hook_url}));
    assert_eq!(put.send().await.unwrap().status(), 200);
    let state: Value =
        http.get(format!("{base}/_rehearsal/state")).send().await.unwrap().json().await.unwrap();
    let application = state["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["stage_name"] == "Application Review")
        .unwrap()
        .clone();
    let onsite = state["job_interview_stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Onsite")
        .unwrap()["id"]
        .clone();
    let action = json!({"action": "move_application", "application_id": application["id"], "to_stage_id": onsite});
    let acted = http.post(format!("{base}/_rehearsal/actions")).json(&action).send().await.unwrap();
    assert_eq!(acted.status(), 200);

    // The background task sends it within a few ticks; nobody calls /_rehearsal/deliver.
    let deadline = Instant::now() + PATIENCE;
    while received.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no webhook arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (headers, body) = received.lock().unwrap()[0].clone();
    let signature = headers.get("signature").and_then(|v| v.to_str().ok());
    assert_eq!(verify(std::slice::from_ref(&webhook_secret), signature, &body), Ok(()));
    let payload: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(payload["action"], "candidate_stage_change");
    assert_eq!(payload["payload"]["application"]["current_stage"]["id"], onsite);

    let token = token(&served).await;
    let journal =
        http.get(format!("{base}/_rehearsal/journal")).send().await.unwrap().text().await.unwrap();
    for secret in [served.field("greenhouse", "client_secret"), webhook_secret, token] {
        assert!(!journal.contains(&secret), "the journal holds a secret");
    }
    served.signal("TERM");
    let mut served = served;
    assert_eq!(served.exit_code(), Some(0));
}

#[test]
fn a_bad_world_file_names_file_and_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = write(
        dir.path(),
        "world.yaml",
        "users:\n  - { key: a, first_name: A, last_name: B, email: a@example.test }\njobs:\n  - { key: j, name: J, stagez: [] }\n",
    );
    let run = rehearsal(&["serve", "--world", &yaml.display().to_string()]);
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    let expected = format!("error: {}:4:", yaml.display());
    assert!(run.stderr.starts_with(&expected), "{}", run.stderr);
    assert!(run.stderr.contains("stagez"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "no credentials printed for a failed start");

    let json_file =
        write(dir.path(), "world.json", "{\n  \"users\": [\n    {\"key\": 1}\n  ]\n}\n");
    let run = rehearsal(&["serve", "--world", &json_file.display().to_string()]);
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!("error: {}:3:", json_file.display())),
        "{}",
        run.stderr
    );

    let missing_job = write(
        dir.path(),
        "orphans.yaml",
        "candidates:\n  - { key: c, first_name: C, last_name: D, applications: [{ job_key: nope }] }\n",
    );
    let run = rehearsal(&["serve", "--world", &missing_job.display().to_string()]);
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    assert!(run.stderr.contains("unknown job key `nope`"), "{}", run.stderr);
    assert!(run.stderr.contains(&missing_job.display().to_string()), "{}", run.stderr);
}

/// `engine check` against a running `rehearsal serve`: the world's custom fields are what the
/// mapping is checked against, and each misread field is named where the config names it.
#[tokio::test]
async fn engine_check_reads_custom_fields_from_the_served_world() {
    let served = Served::start(&["--world", "fixtures/serve-world.yaml"]);
    let greenhouse = served.field("greenhouse", "base_url");
    let iop = served.field("iop", "base_url");
    let rule = |from: &str, to: &str, kind: &str| {
        format!(
            "\n[[mapping.custom_fields]]\nfrom = \"{from}\"\nto = \"{to}\"\ntype = \"{kind}\"\n"
        )
    };
    let text = [
        crate::engine_world::config_text(&greenhouse, &iop, "unused.db", "SV_"),
        rule(
            "application.custom_fields.interview_format",
            "scheduling_request.custom_fields.interview_format",
            "single_select",
        ),
        rule(
            "candidate.custom_fields.seniority",
            "candidate.custom_fields.seniority",
            "short_text",
        ),
        rule("candidate.custom_fields.relocate", "candidate.custom_fields.relocate", "short_text"),
        rule(
            "application.custom_fields.level",
            "scheduling_request.custom_fields.level",
            "single_select",
        ),
    ]
    .concat();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "engine.toml", &text);
    let env = [
        ("SV_GH_ID", served.field("greenhouse", "client_id")),
        ("SV_GH_SECRET", served.field("greenhouse", "client_secret")),
        ("SV_GH_HOOK", "unused".to_owned()),
        ("SV_IOP_KEY", served.field("iop", "api_key")),
        ("SV_IOP_HOOK", "unused".to_owned()),
    ];
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_rehearsal"))
        .args(["engine", "check", "--config"])
        .arg(&file)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;

    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let expected = [
        format!(
            ":{}: mapping.custom_fields[1].from: no candidate custom field `seniority` in the connected Greenhouse",
            line("from = \"candidate.custom_fields.seniority\"")
        ),
        format!(
            ":{}: mapping.custom_fields[2].type: `relocate` is a `yes_no` field in the connected Greenhouse, not `short_text`; set type = \"yes_no\"",
            text.lines()
                .enumerate()
                .filter(|(_, l)| l.contains("type = \"short_text\""))
                .nth(1)
                .unwrap()
                .0
                + 1
        ),
        // `level` exists, but on candidates: an application rule cannot read it.
        format!(
            ":{}: mapping.custom_fields[3].from: no application custom field `level` in the connected Greenhouse",
            line("from = \"application.custom_fields.level\"")
        ),
        "note: custom fields checked against the connected Greenhouse".to_owned(),
        "3 problems".to_owned(),
    ];
    for text in expected {
        assert!(stdout.contains(&text), "expected {text:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("interview_format"), "the declared field is fine: {stdout}");
}
