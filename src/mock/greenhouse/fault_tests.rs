//! Injected API faults as a client meets them: through the in-process transport, so a timeout
//! is a transport error and not a status code.

use std::sync::Arc;
use std::sync::atomic::AtomicU16;

use chrono::Duration;
use http::{Method, StatusCode};
use serde_json::{Value, json};

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
