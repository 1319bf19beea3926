//! The API surface every resource shares: scoped keys, a response lost after processing and
//! the Idempotency-Key retry that recovers it, `external_refs` lookups on every resource,
//! and stable `(updated_at, id)` ordering for polling.

use chrono::Duration;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Harness, KEY, error_code};
use crate::mock::iop::{IopMockConfig, RestrictedKey};
use crate::transport::{HttpClient, RouterClient, SimulatedFailure, TransportError, json_request};

#[tokio::test]
async fn a_key_without_the_scope_is_forbidden() {
    let config = IopMockConfig {
        restricted_keys: vec![RestrictedKey {
            key: "iop_read_only".to_owned(),
            scopes: vec!["*:read".to_owned(), "feedback:write".to_owned()],
        }],
        ..IopMockConfig::default()
    };
    let h = Harness::with_config(config).await;
    let auth = [("authorization", "Bearer iop_read_only")];

    let read = h.send("GET", "/v1/users", None, &auth).await;
    assert_eq!(read.status, StatusCode::OK);
    let write = h
        .send(
            "PUT",
            "/v1/candidates/by_external_ref/greenhouse/9",
            Some(json!({"first_name": "A", "last_name": "B"})),
            &auth,
        )
        .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&write), "forbidden");
    assert_eq!(write.body["error"]["type"], "permission");
    assert_eq!(write.body["error"]["details"]["required_scope"], "candidates:write");
    assert!(write.headers.contains_key("x-ratelimit-remaining"));
    assert!(write.headers.contains_key("x-request-id"));
    let allowed = h.send("PATCH", "/v1/feedback/fb_000001", Some(json!({})), &auth).await;
    assert_eq!(allowed.status, StatusCode::NOT_FOUND, "in scope, so it reaches the handler");

    // The full key still does everything; an unknown key stays a 401.
    assert_eq!(h.api("GET", "/v1/candidates", None).await.status, StatusCode::OK);
    let unknown = h.send("GET", "/v1/users", None, &[("authorization", "Bearer nope")]).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
}

/// The case Idempotency-Keys exist for: the request took effect, the answer was lost on the
/// way back, and the client retries with the same key.
#[tokio::test]
async fn a_retry_after_a_lost_response_replays_and_creates_nothing() {
    let h = Harness::new().await;
    let candidate = h.candidate(123).await;
    let faults = json!({"api": [{"method": "POST", "path_prefix": "/v1/scheduling_requests", "kind": "timeout_after_processing", "times": 1}]});
    assert_eq!(h.control("PUT", "/_rehearsal/faults", faults).await.status, StatusCode::OK);

    // Through the in-process transport, as the engine would call it.
    let http = RouterClient::new();
    http.register("iop.test", h.router.clone());
    let body = Harness::request_body(&candidate, "availability", "gh:app:987:stage:77:1");
    let headers =
        [("authorization", format!("Bearer {KEY}")), ("idempotency-key", "gh-event-42".to_owned())];
    let post = || {
        json_request(Method::POST, "http://iop.test/v1/scheduling_requests", Some(&body), &headers)
            .unwrap()
    };
    let lost = http.send(post()).await;
    assert!(matches!(lost, Err(TransportError::Timeout { .. })), "{lost:?}");
    let events_after_first = h.event_types().await.len();
    let listed = h.api("GET", "/v1/scheduling_requests", None).await.body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "the first attempt took effect");

    let retry = http.send(post()).await.unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let replayed: Value = serde_json::from_slice(retry.body()).unwrap();
    assert_eq!(replayed["id"], listed["data"][0]["id"]);
    let listed = h.api("GET", "/v1/scheduling_requests", None).await.body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "the retry created nothing");
    assert_eq!(h.event_types().await.len(), events_after_first, "and emitted nothing");

    // The journal shows the answer the mock gave before the transport lost it.
    let journal = h.control("GET", "/_rehearsal/journal", json!({})).await.body;
    let lost_entry = journal
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["notes"].to_string().contains("fault:timeout_after_processing"))
        .unwrap();
    assert_eq!(lost_entry["status"], 201);

    // The fault fired once; the same call now answers normally.
    let direct = h.api("GET", "/v1/scheduling_requests", None).await;
    assert_eq!(direct.failure, None::<SimulatedFailure>);
}

#[tokio::test]
async fn every_resource_is_findable_by_its_greenhouse_refs() {
    let h = Harness::new().await;
    let request = h.scheduling_request("availability").await;
    let interview = h.booked_interview(&request, &[h.user("alice")]).await;
    let refs = json!({"external_refs": {"greenhouse": {"scheduled_interview_id": 4242}}});
    h.api("PATCH", &format!("/v1/interviews/{interview}"), Some(refs)).await;
    h.act(json!({"action": "submit_feedback", "interview_id": interview, "overall_recommendation": "yes"}))
        .await;

    let bob = h.user("bob");
    let lookups = [
        ("/v1/candidates?external_ref.greenhouse.candidate_id=123", "cand_000001"),
        ("/v1/users?external_ref.greenhouse.user_id=102", bob.as_str()),
        ("/v1/scheduling_requests?external_ref.greenhouse.application_id=987", "sreq_000001"),
        ("/v1/interviews?external_ref.greenhouse.scheduled_interview_id=4242", "int_000001"),
        ("/v1/interviews?external_ref.greenhouse.interview_id=555", "int_000001"),
        ("/v1/feedback?external_ref.greenhouse.application_id=987", "fb_000001"),
    ];
    for (path, id) in lookups {
        let found = h.api("GET", path, None).await.body;
        assert_eq!(found["data"].as_array().unwrap().len(), 1, "{path}: {found}");
        assert_eq!(found["data"][0]["id"], id, "{path}");
    }
    let none = h.api("GET", "/v1/interviews?external_ref.greenhouse.interview_id=999", None).await;
    assert_eq!(none.body["data"], json!([]));
    let bad = h.api("GET", "/v1/interviews?external_ref.greenhouse=1", None).await;
    assert_eq!(bad.body["error"]["details"]["fields"][0]["code"], "invalid_filter");
}

/// Items that share an `updated_at` are ordered by id, pages never repeat or skip one, and an
/// item changed while a client pages moves to the end instead of vanishing.
#[tokio::test]
async fn polling_order_is_stable_across_pages_and_changes() {
    let h = Harness::new().await;
    for gh_id in 1..=5 {
        h.candidate(gh_id).await; // all at the same second
    }
    let first = h.api("GET", "/v1/candidates?limit=2", None).await.body;
    let ids = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&first), ["cand_000001", "cand_000002"]);

    h.advance(Duration::seconds(1));
    let path = "/v1/candidates/by_external_ref/greenhouse/1";
    h.api("PUT", path, Some(json!({"first_name": "Moved", "last_name": "On"}))).await;

    let cursor = first["next_cursor"].as_str().unwrap();
    let mut seen = ids(&first);
    let mut page =
        h.api("GET", &format!("/v1/candidates?limit=2&cursor={cursor}"), None).await.body;
    loop {
        seen.extend(ids(&page));
        let Some(cursor) = page["next_cursor"].as_str() else { break };
        page = h.api("GET", &format!("/v1/candidates?limit=2&cursor={cursor}"), None).await.body;
    }
    assert_eq!(
        seen,
        ["cand_000001", "cand_000002", "cand_000003", "cand_000004", "cand_000005", "cand_000001"],
        "the changed candidate shows up again at the end"
    );

    let polled = h.api("GET", "/v1/candidates?updated_after=2026-11-02T09:00:00Z", None).await.body;
    assert_eq!(ids(&polled), ["cand_000001"]);
    let before =
        h.api("GET", "/v1/candidates?updated_before=2026-11-02T09:00:01Z", None).await.body;
    assert_eq!(ids(&before).len(), 4);
}
