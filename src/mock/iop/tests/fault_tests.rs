//! The `latency` API fault and the `stale_read_secs` fault (contract §3.10), and that fault
//! sets written before them still parse.

use chrono::Duration;
use http::StatusCode;
use serde_json::{Value, json};

use super::Harness;
use crate::mock::iop::control::Faults;

async fn put_faults(h: &Harness, faults: Value) -> super::Reply {
    h.control("PUT", "/_rehearsal/faults", faults).await
}

fn notes_of(journal: &Value, path: &str) -> Vec<Vec<String>> {
    journal
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"] == path)
        .map(|e| {
            let notes = e["notes"].as_array().into_iter().flatten();
            notes.filter_map(Value::as_str).map(str::to_owned).collect()
        })
        .collect()
}

/// The answer is held back by real time; the request still takes effect and the journal
/// says why it was slow. A lower bound only: a slow machine may take longer.
#[tokio::test]
async fn latency_fault_holds_the_answer_back_and_is_journalled() {
    let h = Harness::new().await;
    let faults = json!({"api": [{"method": "GET", "path_prefix": "/v1/users", "kind": "latency", "latency_ms": 150, "times": 1}]});
    assert_eq!(put_faults(&h, faults).await.status, StatusCode::OK);

    let started = std::time::Instant::now();
    let slow = h.api("GET", "/v1/users", None).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(150), "{:?}", started.elapsed());
    assert_eq!(slow.status, StatusCode::OK);
    assert_eq!(slow.body["data"].as_array().unwrap().len(), 2, "answered as usual");

    let journal = h.control("GET", "/_rehearsal/journal", json!({})).await.body;
    let notes = notes_of(&journal, "/v1/users");
    assert_eq!(notes[0], vec!["fault:latency".to_owned()]);
}

#[tokio::test]
async fn invalid_latency_and_stale_windows_are_refused_naming_the_field() {
    let h = Harness::new().await;
    let cases = [
        (json!({"api": [{"kind": "latency", "latency_ms": 30_001}]}), "api[0].latency_ms"),
        (json!({"api": [{"kind": "latency", "latency_ms": 0}]}), "api[0].latency_ms"),
        (json!({"api": [{"kind": "latency"}]}), "api[0].latency_ms"),
        (json!({"api": [{"kind": "status_500", "latency_ms": 10}]}), "api[0].latency_ms"),
        (json!({"stale_read_secs": -1}), "stale_read_secs"),
        (json!({"stale_read_secs": 3_601}), "stale_read_secs"),
    ];
    for (faults, field) in cases {
        let refused = put_faults(&h, faults.clone()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{faults}");
        let message = refused.body["message"].as_str().unwrap();
        assert!(message.contains(field), "{faults}: {message}");
    }
    let accepted =
        json!({"api": [{"kind": "latency", "latency_ms": 30_000}], "stale_read_secs": 30});
    assert_eq!(put_faults(&h, accepted).await.status, StatusCode::OK);
}

/// Fault sets from before `latency_ms` and `stale_read_secs` existed parse unchanged.
#[test]
fn fault_sets_without_the_new_fields_still_parse() {
    let old = json!({
        "rate_limit_per_window": 5,
        "api": [{"method": "POST", "path_prefix": "/v1/interviews", "kind": "timeout_after_processing", "times": 1}],
        "webhooks": {"duplicate": 0.5, "reorder": true},
    });
    let faults: Faults = serde_json::from_value(old).unwrap();
    assert_eq!(faults.stale_read_secs, None);
    assert_eq!(faults.api[0].latency_ms, None);
    let echoed = serde_json::to_value(&faults).unwrap();
    assert!(echoed.get("stale_read_secs").is_none(), "absent fields stay absent: {echoed}");
}

/// Within the window after a write, reads answer from the resources as they were before it
/// (and say so); once the window has passed on the injected clock, they are fresh.
#[tokio::test]
async fn stale_reads_answer_the_old_state_until_the_window_passes() {
    let h = Harness::new().await;
    let before = h.candidate(100).await;
    assert_eq!(put_faults(&h, json!({"stale_read_secs": 30})).await.status, StatusCode::OK);

    let request = h.scheduling_request("availability").await;
    let list = h.api("GET", "/v1/scheduling_requests", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["data"], json!([]), "the new request is not visible yet");
    let one = h.api("GET", &format!("/v1/scheduling_requests/{request}"), None).await;
    assert_eq!(one.status, StatusCode::NOT_FOUND, "nor by id");
    let old = h.api("GET", &format!("/v1/candidates/{before}"), None).await;
    assert_eq!(old.status, StatusCode::OK, "what existed before the write is still readable");

    h.advance(Duration::seconds(29));
    let list = h.api("GET", "/v1/scheduling_requests", None).await;
    assert_eq!(list.body["data"], json!([]), "still inside the 30 s window");

    h.advance(Duration::seconds(1));
    let list = h.api("GET", "/v1/scheduling_requests", None).await;
    assert_eq!(list.body["data"][0]["id"], request.as_str(), "fresh once the window has passed");

    let journal = h.control("GET", "/_rehearsal/journal", json!({})).await.body;
    let notes = notes_of(&journal, "/v1/scheduling_requests");
    let stale: Vec<bool> =
        notes.iter().map(|n| n.contains(&"fault:stale_read".to_owned())).collect();
    // The create itself, two stale lists, one fresh list.
    assert_eq!(stale, vec![false, true, true, false]);
}

/// A person's action (here a booking) is a write too; turning the fault off makes reads fresh
/// at once.
#[tokio::test]
async fn stale_reads_lag_behind_actions_until_the_fault_is_cleared() {
    let h = Harness::new().await;
    let request = h.scheduling_request("coordinator").await;
    let path = format!("/v1/scheduling_requests/{request}");
    let before = h.api("GET", &path, None).await.body["status"].clone();
    assert_eq!(put_faults(&h, json!({"stale_read_secs": 60})).await.status, StatusCode::OK);
    let interview = h.booked_interview(&request, &[h.user("alice")]).await;

    let one = h.api("GET", &format!("/v1/interviews/{interview}"), None).await;
    assert_eq!(one.status, StatusCode::NOT_FOUND, "the booking is not visible yet");
    let status = h.api("GET", &path, None).await;
    assert_eq!(status.body["status"], before, "nor its effect on the request");

    assert_eq!(put_faults(&h, json!({})).await.status, StatusCode::OK);
    let one = h.api("GET", &format!("/v1/interviews/{interview}"), None).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["id"], interview.as_str());
    assert_ne!(h.api("GET", &path, None).await.body["status"], before);
}
