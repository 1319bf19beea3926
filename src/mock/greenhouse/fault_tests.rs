//! Injected API faults as a client meets them: through the in-process transport, so a timeout
//! is a transport error and not a status code. Also the `latency` fault and `stale_read_secs`.

use std::sync::Arc;
use std::sync::atomic::AtomicU16;

use chrono::Duration;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::control::{ApiFaultKind, Faults};
use super::tests::{control, get, point_webhooks, receiver, rig, seed_world, token, write};
use crate::transport::{HttpClient, TransportError, json_request};

/// The case idempotent engines must survive: the move lands, its webhook is queued, and the
/// client only learns that its request timed out. A blind retry then meets the stale-stage
/// guard, which is why an engine re-reads before it retries a move.
#[tokio::test]
async fn commit_then_timeout_applies_the_write_and_reports_a_timeout() {
    let rig = rig();
    let seeded = seed_world(&rig.router).await;
    receiver(&rig, Arc::new(AtomicU16::new(200)));
    point_webhooks(&rig.router).await;
    rig.http.register("greenhouse.test", rig.router.clone());
    let token = token(&rig.router).await;
    let app = get(&rig.router, &token, "/v3/applications").await.body[0].clone();
    let technical = seeded["jobs"]["eng"]["stages"]["Technical Interview"]["id"].clone();
    let fault = json!({"api": [{"method": "POST", "path_prefix": "/v3/applications", "kind": "commit_then_timeout", "times": 1}]});
    assert_eq!(control(&rig.router, "PUT", "faults", fault).await.status, StatusCode::OK);

    let url = format!("http://greenhouse.test/v3/applications/{}/move", app["id"]);
    let body = json!({"from_stage_id": app["stage_id"], "to_stage_id": technical});
    let auth = [("Authorization", format!("Bearer {token}"))];
    let request = json_request(Method::POST, &url, Some(&body), &auth).unwrap();
    let outcome = rig.http.send(request).await;
    assert_eq!(outcome.unwrap_err(), TransportError::Timeout { url: url.clone() });

    let after = get(&rig.router, &token, "/v3/applications").await.body[0].clone();
    assert_eq!(after["stage_name"], "Technical Interview", "the write took effect");
    let status = control(&rig.router, "GET", "status", Value::Null).await.body;
    assert_eq!(status["pending"], 1, "and fired its webhook");
    let journal = rig.mock.journal();
    let entry = journal.iter().find(|e| e.path.ends_with("/move")).unwrap();
    assert_eq!(entry.status, None, "no response reached the client");
    assert!(entry.notes.contains(&"fault:commit_then_timeout".to_owned()), "{:?}", entry.notes);
    assert!(entry.notes.contains(&"committed:204 No Content".to_owned()), "{:?}", entry.notes);

    let retry = json_request(Method::POST, &url, Some(&body), &auth).unwrap();
    let retried = rig.http.send(retry).await.unwrap();
    assert_eq!(retried.status(), StatusCode::UNPROCESSABLE_ENTITY, "the fault is used up");
}

/// A creating write under the same fault: the record exists although the client saw a timeout,
/// and Greenhouse has no idempotency key to make a retry safe.
#[tokio::test]
async fn commit_then_timeout_on_a_create_leaves_the_record() {
    let rig = rig();
    let seeded = seed_world(&rig.router).await;
    let token = token(&rig.router).await;
    let fault =
        json!({"api": [{"path_prefix": "/v3/notes", "kind": "commit_then_timeout", "times": 1}]});
    assert_eq!(control(&rig.router, "PUT", "faults", fault).await.status, StatusCode::OK);
    let ada = seeded["candidates"]["ada"]["id"].clone();
    let rita = seeded["users"]["rita"].clone();
    let note = json!({"candidate_id": ada, "user_id": rita, "body": "declined", "visibility": "private", "note_type": "NOTE"});

    let first = write(&rig.router, &token, "POST", "/v3/notes", note.clone()).await;
    assert_eq!(first.status, StatusCode::GATEWAY_TIMEOUT, "socket clients see a 504");
    let notes = get(&rig.router, &token, &format!("/v3/notes?candidate_ids={ada}")).await.body;
    assert_eq!(notes.as_array().unwrap().len(), 1);
    assert_eq!(
        write(&rig.router, &token, "POST", "/v3/notes", note).await.status,
        StatusCode::CREATED
    );
    let notes = get(&rig.router, &token, &format!("/v3/notes?candidate_ids={ada}")).await.body;
    assert_eq!(notes.as_array().unwrap().len(), 2, "a blind retry duplicates the note");
}

/// An injected 429 says how long to wait; waiting that long and asking again succeeds.
#[tokio::test]
async fn injected_429_retry_after_is_honoured_then_success() {
    let rig = rig();
    let token = token(&rig.router).await;
    let fault = json!({"api": [{"path_prefix": "/v3/jobs", "kind": "status_429", "times": 1}]});
    assert_eq!(control(&rig.router, "PUT", "faults", fault).await.status, StatusCode::OK);

    let limited = get(&rig.router, &token, "/v3/jobs").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.body, json!({"message": "Rate limit exceeded"}));
    let retry_after: i64 = limited.header("retry-after").parse().unwrap();
    assert!((1..=30).contains(&retry_after), "within one 30 s window: {retry_after}");
    assert!(!limited.header("x-ratelimit-remaining").is_empty(), "rate headers on the 429 too");

    rig.clock.advance(Duration::seconds(retry_after));
    let again = get(&rig.router, &token, "/v3/jobs").await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.header("x-ratelimit-remaining"), "49", "a new window after waiting");
}

/// The answer is held back by real time; the request still takes effect and the journal says
/// why it was slow. A lower bound only: a slow machine may take longer.
#[tokio::test]
async fn latency_fault_holds_the_answer_back_and_is_journalled() {
    let rig = rig();
    seed_world(&rig.router).await;
    let token = token(&rig.router).await;
    let fault = json!({"api": [{"path_prefix": "/v3/jobs", "kind": "latency", "latency_ms": 150, "times": 1}]});
    assert_eq!(control(&rig.router, "PUT", "faults", fault).await.status, StatusCode::OK);

    let started = std::time::Instant::now();
    let slow = get(&rig.router, &token, "/v3/jobs").await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(150), "{:?}", started.elapsed());
    assert_eq!(slow.status, StatusCode::OK);
    assert_eq!(slow.body[0]["name"], "Engineer", "answered as usual");
    let journal = rig.mock.journal();
    let entry = journal.iter().find(|e| e.path == "/v3/jobs").unwrap();
    assert_eq!(entry.notes, vec!["fault:latency".to_owned()]);
}

#[tokio::test]
async fn invalid_latency_and_stale_windows_are_refused_naming_the_field() {
    let rig = rig();
    let cases = [
        (
            json!({"api": [{"kind": "latency", "latency_ms": 30_001, "times": 1}]}),
            "api[0].latency_ms",
        ),
        (json!({"api": [{"kind": "latency", "latency_ms": -5, "times": 1}]}), "api[0].latency_ms"),
        (json!({"api": [{"kind": "latency", "times": 1}]}), "api[0].latency_ms"),
        (json!({"api": [{"kind": "reset", "latency_ms": 10, "times": 1}]}), "api[0].latency_ms"),
        (json!({"stale_read_secs": -1}), "stale_read_secs"),
        (json!({"stale_read_secs": 3_601}), "stale_read_secs"),
        // Past chrono's range, a delay would panic when the delivery is scheduled.
        (json!({"webhooks": {"delay_secs": i64::MAX}}), "webhooks.delay_secs"),
        (json!({"webhooks": {"delay_secs": -1}}), "webhooks.delay_secs"),
    ];
    for (faults, field) in cases {
        let refused = control(&rig.router, "PUT", "faults", faults.clone()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{faults}");
        let message = refused.body.to_string();
        assert!(message.contains(field), "{faults}: {message}");
    }
    let accepted = json!({"api": [{"kind": "latency", "latency_ms": 30_000, "probability": 0.5}], "stale_read_secs": 30});
    assert_eq!(control(&rig.router, "PUT", "faults", accepted).await.status, StatusCode::OK);
}

/// Fault sets from before `latency_ms` and `stale_read_secs` existed parse unchanged.
#[test]
fn fault_sets_without_the_new_fields_still_parse() {
    let old = json!({
        "rate_limit_per_window": 5,
        "api": [{"method": "POST", "path_prefix": "/v3/interviews", "kind": "commit_then_timeout", "times": 1}],
        "webhooks": {"duplicate": 0.5, "delay_secs": 3},
    });
    let faults: Faults = serde_json::from_value(old).unwrap();
    assert_eq!(faults.stale_read_secs, None);
    assert_eq!(faults.api[0].latency_ms, None);
    assert_eq!(faults.api[0].kind, ApiFaultKind::CommitThenTimeout);
}

/// Within the window after a write, lists answer from the world as it was before it (and the
/// journal says so); once the window has passed on the injected clock, they are fresh.
#[tokio::test]
async fn stale_reads_answer_the_old_state_until_the_window_passes() {
    let rig = rig();
    let seeded = seed_world(&rig.router).await;
    let token = token(&rig.router).await;
    let fault = json!({"stale_read_secs": 30});
    assert_eq!(control(&rig.router, "PUT", "faults", fault).await.status, StatusCode::OK);
    let ada = seeded["candidates"]["ada"]["id"].clone();
    let rita = seeded["users"]["rita"].clone();
    let note = json!({"candidate_id": ada, "user_id": rita, "body": "hello", "visibility": "private", "note_type": "NOTE"});
    let notes_uri = format!("/v3/notes?candidate_ids={ada}");

    let created = write(&rig.router, &token, "POST", "/v3/notes", note).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(get(&rig.router, &token, &notes_uri).await.body, json!([]), "not visible yet");
    let jobs = get(&rig.router, &token, "/v3/jobs").await;
    assert_eq!(jobs.body[0]["name"], "Engineer", "what existed before the write is readable");

    rig.clock.advance(Duration::seconds(29));
    assert_eq!(get(&rig.router, &token, &notes_uri).await.body, json!([]), "inside the window");
    rig.clock.advance(Duration::seconds(1));
    let fresh = get(&rig.router, &token, &notes_uri).await.body;
    assert_eq!(fresh[0]["id"], created.body["id"], "fresh once the window has passed");

    let stale: Vec<bool> = rig
        .mock
        .journal()
        .iter()
        .filter(|e| e.path == notes_uri)
        .map(|e| e.notes.contains(&"fault:stale_read".to_owned()))
        .collect();
    assert_eq!(stale, vec![true, true, false]);
}

/// A person's action in the UI is a write too; clearing the fault makes reads fresh at once.
#[tokio::test]
async fn stale_reads_lag_behind_ui_actions_until_the_fault_is_cleared() {
    let rig = rig();
    let seeded = seed_world(&rig.router).await;
    let token = token(&rig.router).await;
    let app = get(&rig.router, &token, "/v3/applications").await.body[0].clone();
    let fault = json!({"stale_read_secs": 60});
    assert_eq!(control(&rig.router, "PUT", "faults", fault).await.status, StatusCode::OK);
    let offer = seeded["jobs"]["eng"]["stages"]["Offer"]["id"].clone();
    let action =
        json!({"action": "move_application", "application_id": app["id"], "to_stage_id": offer});
    assert_eq!(control(&rig.router, "POST", "actions", action).await.status, StatusCode::OK);

    let seen = get(&rig.router, &token, "/v3/applications").await.body[0].clone();
    assert_eq!(seen["stage_name"], app["stage_name"], "the move is not visible yet");
    assert_eq!(control(&rig.router, "PUT", "faults", json!({})).await.status, StatusCode::OK);
    let seen = get(&rig.router, &token, "/v3/applications").await.body[0].clone();
    assert_eq!(seen["stage_name"], "Offer");
}
