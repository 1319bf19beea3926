//! What `rehearsal engine serve` writes where: one JSON line on stdout (scripts read it), its
//! logs on stderr, at `info` unless `RUST_LOG` says otherwise, without colour codes when
//! stderr is not a terminal.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

use crate::engine_world::{config_text, env_for};

/// `rehearsal engine serve` on a config whose Greenhouse and IOP addresses answer nothing, with
/// no `RUST_LOG`, its output piped; the tempdir holds its config and store.
fn spawn_serve(env_prefix: &str) -> (tempfile::TempDir, tokio::process::Child) {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens here: the first sweep fails, which the engine logs.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let sqlite = dir.path().join("engine.db").display().to_string();
    let config = dir.path().join("engine.toml");
    std::fs::write(&config, config_text(&closed, &closed, &sqlite, env_prefix)).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_rehearsal"))
        .args(["engine", "serve", "--config"])
        .arg(&config)
        .envs(env_for(env_prefix))
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    (dir, child)
}

#[tokio::test]
async fn serve_logs_info_to_stderr_and_keeps_stdout_to_its_json_line() {
    let (_dir, mut child) = spawn_serve("LG_");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();

    let mut first = String::new();
    let read = tokio::time::timeout(Duration::from_secs(60), stdout.read_line(&mut first));
    read.await.expect("serve printed its line").unwrap();
    let line: Value = serde_json::from_str(&first).expect("the first stdout line is JSON");
    assert_eq!(line["service"], "engine");

    // Bounded so a silent engine fails the test instead of hanging it.
    let mut logged = Vec::new();
    while !logged.iter().any(|l: &String| l.contains("INFO")) {
        let next = tokio::time::timeout(Duration::from_secs(60), stderr.next_line()).await;
        match next.expect("serve logged at info without RUST_LOG").unwrap() {
            Some(line) => logged.push(line),
            None => panic!("stderr closed after {logged:?}"),
        }
    }

    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let exited = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
    assert!(exited.expect("serve stopped on SIGTERM").unwrap().success());
    while let Some(line) = stderr.next_line().await.unwrap() {
        logged.push(line);
    }
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).await.unwrap();

    assert_eq!(rest, "", "stdout holds the JSON line only");
    assert!(logged.iter().all(|l| !l.contains('\u{1b}')), "colour codes in {logged:?}");
    assert!(logged.iter().any(|l| l.contains("shutting down")), "{logged:?}");
}

/// A SIGTERM that arrives right after the engine printed its address, before any of its tasks
/// had a chance to run, still stops it gracefully (exit 0, "shutting down" logged) instead of
/// killing it: the handlers are installed before the address is printed.
#[tokio::test]
async fn sigterm_right_after_start_is_a_graceful_stop() {
    for _ in 0..5 {
        let (_dir, mut child) = spawn_serve("LT_");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        let read = tokio::time::timeout(Duration::from_secs(60), stdout.read_line(&mut first));
        read.await.expect("serve printed its line").unwrap();
        let pid = child.id().unwrap().to_string();
        assert!(
            std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success()
        );
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).await.unwrap();
        let exited = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
        let status = exited.expect("serve stopped on SIGTERM").unwrap();
        assert!(status.success(), "{status:?}, stderr: {stderr}");
        assert!(stderr.contains("shutting down"), "{stderr}");
    }
}
