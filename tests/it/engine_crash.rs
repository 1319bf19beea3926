//! Crash safety with the real binary: a burst of signed webhooks, `kill -9` mid-flight, a
//! restart on the same SQLite file, and every acknowledged event acted on exactly once.
//! Also: SIGTERM shuts the service down cleanly.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rehearsal::transport::ReqwestClient;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::engine_world::{
    GH_HOOK, Served, config_text, control, env_for, open_requests, seed, seed_world, wait_for,
};

const BURST: usize = 30;

/// Starts `rehearsal engine serve` and returns it with the URL it printed.
async fn start_engine(config: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rehearsal"))
        .args(["engine", "serve", "--config"])
        .arg(config)
        .envs(env_for("CR_"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line =
        tokio::time::timeout(Duration::from_secs(60), BufReader::new(stdout).lines().next_line())
            .await
            .expect("the engine printed its URL")
            .unwrap()
            .unwrap();
    let url = serde_json::from_str::<Value>(&line).unwrap()["url"].as_str().unwrap().to_owned();
    (child, url)
}

/// Posts one signed `candidate_stage_change`; `true` when the engine acknowledged it.
async fn deliver(client: &reqwest::Client, engine: &str, application: i64) -> bool {
    let body = format!(
        r#"{{"action":"candidate_stage_change","payload":{{"application":{{"id":{application}}}}}}}"#
    );
    let signature = rehearsal::greenhouse::signature::sign(GH_HOOK, body.as_bytes());
    let sent = client
        .post(format!("{engine}/webhooks/greenhouse"))
        .header("signature", signature)
        .header("greenhouse-event-id", format!("evt-{application}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    matches!(sent, Ok(response) if response.status().is_success())
}

async fn pending(client: &reqwest::Client, engine: &str) -> Option<u64> {
    let response = client.get(format!("{engine}/readyz")).send().await.ok()?;
    response.json::<Value>().await.ok()?["pending_events"].as_u64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_burst_loses_nothing_and_duplicates_nothing() {
    let served = Served::start().await;
    let mocks = ReqwestClient::new(Duration::from_secs(10)).unwrap();
    let seeded = seed_world(&mocks, &served.greenhouse, &seed(BURST, "Onsite")).await;
    let applications: Vec<i64> = seeded.candidates.values().map(|c| c.applications[0]).collect();

    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("engine.db").display().to_string();
    let config = crate::helpers::write(
        dir.path(),
        "engine.toml",
        &config_text(&served.greenhouse, &served.iop, &sqlite, "CR_"),
    );
    let client =
        reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();

    // First half one by one; once the worker is visibly busy, the rest at once, and kill -9
    // while they are in flight.
    let (mut engine, url) = start_engine(&config).await;
    let mut acked: HashMap<i64, bool> = HashMap::new();
    for &application in &applications[..BURST / 2] {
        acked.insert(application, deliver(&client, &url, application).await);
    }
    let busy = wait_for(Duration::from_secs(60), || async {
        !open_requests(&mocks, &served.iop).await.is_empty()
    })
    .await;
    assert!(busy, "the engine started acting");
    let acks = Arc::new(AtomicUsize::new(0));
    let in_flight: Vec<_> = applications[BURST / 2..]
        .iter()
        .map(|&application| {
            let (client, url, acks) = (client.clone(), url.clone(), acks.clone());
            tokio::spawn(async move {
                let ok = deliver(&client, &url, application).await;
                acks.fetch_add(usize::from(ok), Ordering::SeqCst);
                (application, ok)
            })
        })
        .collect();
    // Kill once a few of the second half are acknowledged, so some are stored and some not.
    wait_for(Duration::from_secs(10), || async { acks.load(Ordering::SeqCst) >= 3 }).await;
    engine.start_kill().unwrap();
    engine.wait().await.unwrap();
    for task in in_flight {
        let (application, ok) = task.await.unwrap();
        acked.insert(application, ok);
    }
    let before_restart = open_requests(&mocks, &served.iop).await.len();
    let unacked = acked.values().filter(|ok| !**ok).count();
    eprintln!(
        "killed with {before_restart}/{BURST} acted on and {unacked} deliveries unacknowledged"
    );

    // Restart on the same file; resend only what was never acknowledged.
    let (mut engine, url) = start_engine(&config).await;
    for (&application, _) in acked.iter().filter(|(_, ok)| !**ok) {
        assert!(
            deliver(&client, &url, application).await,
            "the restarted engine accepts {application}"
        );
    }
    let drained = wait_for(Duration::from_secs(120), || async {
        pending(&client, &url).await == Some(0)
            && open_requests(&mocks, &served.iop).await.len() == BURST
    })
    .await;
    assert!(drained, "the queue drained and every application got its request");

    let open = open_requests(&mocks, &served.iop).await;
    for application in &applications {
        assert_eq!(
            open.get(application),
            Some(&1),
            "application {application}: exactly one open request"
        );
    }
    let state =
        control(&mocks, http::Method::GET, &format!("{}/_rehearsal/state", served.iop), None).await;
    assert_eq!(
        state["scheduling_requests"].as_array().unwrap().len(),
        BURST,
        "no duplicate was ever created"
    );

    // SIGTERM: the service finishes what it holds and exits cleanly.
    let pid = engine.id().unwrap().to_string();
    let status = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let exited = tokio::time::timeout(Duration::from_secs(30), engine.wait())
        .await
        .expect("the engine stopped");
    assert!(exited.unwrap().success(), "graceful shutdown exits 0");
}
