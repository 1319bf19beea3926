//! The kept list pages (`pages.rs`): a repeated read answers the same bytes as a fresh render,
//! and every kind of write is visible on the very next read although the page was kept.

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use chrono::Duration;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::tests::{control, get, rig, seed_world, token, write};

/// A GET as the wire carries it: status, headers and the body bytes unparsed.
async fn raw_get(router: &Router, token: &str, uri: &str) -> (StatusCode, HeaderMap, Bytes) {
    let request = Request::builder()
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.into_body().collect().await.unwrap().to_bytes())
}

fn body(bytes: &Bytes) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn kept_pages(rig: &super::tests::Rig) -> usize {
    rig.mock.lock().state.kept_pages()
}

/// Seeds the shared world, takes a token and reads `uri` once so its page is kept.
async fn warm(rig: &super::tests::Rig, uri: &str) -> (Value, String, Value) {
    let seeded = seed_world(&rig.router).await;
    let token = token(&rig.router).await;
    let (status, _, first) = raw_get(&rig.router, &token, uri).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kept_pages(rig), 1, "the first read keeps its page");
    (seeded, token, body(&first))
}

#[tokio::test]
async fn a_kept_page_answers_the_bytes_and_headers_of_a_fresh_render() {
    let rig = rig();
    seed_world(&rig.router).await;
    let extra = json!({"candidates": [
        {"key": "bo", "first_name": "Bo", "last_name": "Ek", "applications": []},
    ]});
    assert_eq!(control(&rig.router, "POST", "seed", extra).await.status, StatusCode::OK);
    let token = token(&rig.router).await;
    // One record per page, so the answer carries a cursor in its Link header.
    let uri = "/v3/candidates?per_page=1&fields=first_name";

    let (status, fresh_headers, fresh) = raw_get(&rig.router, &token, uri).await;
    assert_eq!(status, StatusCode::OK);
    let (_, kept_headers, kept) = raw_get(&rig.router, &token, uri).await;
    assert_eq!(kept, fresh);
    assert_eq!(kept_headers.get("link"), fresh_headers.get("link"));
    assert!(kept_headers.get("link").is_some(), "a second page exists");
    assert_eq!(kept_headers.get("content-type"), fresh_headers.get("content-type"));
    // Rate-limit headers are per request, never kept with the page.
    let remaining = |h: &HeaderMap| h["x-ratelimit-remaining"].to_str().unwrap().to_owned();
    assert_ne!(remaining(&kept_headers), remaining(&fresh_headers));

    // The journal records the kept answer like any other.
    let journal = rig.mock.journal();
    let entries: Vec<_> = journal.iter().filter(|e| e.path == uri).collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].response_body, entries[1].response_body);
    assert_eq!(entries[1].response_body.as_bytes(), &fresh[..]);
}

#[tokio::test]
async fn a_candidate_patch_is_visible_on_the_next_read() {
    let rig = rig();
    let (seeded, token, before) = warm(&rig, "/v3/candidates").await;
    assert_eq!(before[0]["first_name"], "Ada");
    let ada = &seeded["candidates"]["ada"]["id"];

    let patch = json!({"first_name": "Augusta"});
    let patched =
        write(&rig.router, &token, "PATCH", &format!("/v3/candidates/{ada}"), patch).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(kept_pages(&rig), 0, "the write dropped the kept page");
    let after = get(&rig.router, &token, "/v3/candidates").await.body;
    assert_eq!(after[0]["first_name"], "Augusta");
}

#[tokio::test]
async fn a_stage_move_is_visible_on_the_next_read_of_every_list() {
    let rig = rig();
    let (seeded, token, apps) = warm(&rig, "/v3/applications").await;
    let stages_uri = format!("/v3/application_stages?application_ids={}", apps[0]["id"]);
    let stages_before = get(&rig.router, &token, &stages_uri).await.body;
    assert_eq!(stages_before.as_array().map(Vec::len), Some(1));

    let offer = &seeded["jobs"]["eng"]["stages"]["Offer"]["id"];
    let body = json!({"from_stage_id": apps[0]["stage_id"], "to_stage_id": offer});
    let uri = format!("/v3/applications/{}/move", apps[0]["id"]);
    let moved = write(&rig.router, &token, "POST", &uri, body).await;
    assert!(moved.status.is_success(), "{}", moved.body);

    let moved = get(&rig.router, &token, "/v3/applications").await.body;
    assert_eq!(moved[0]["stage_name"], "Offer");
    assert_ne!(moved[0]["stage_id"], apps[0]["stage_id"]);
    let stages_after = get(&rig.router, &token, &stages_uri).await.body;
    assert_eq!(stages_after.as_array().map(Vec::len), Some(2), "a new stay was opened");
}

#[tokio::test]
async fn control_api_seeds_actions_and_resets_are_visible_on_the_next_read() {
    let rig = rig();
    let (_, token, before) = warm(&rig, "/v3/candidates").await;
    assert_eq!(before.as_array().map(Vec::len), Some(1));

    let extra = json!({"candidates": [{"key": "bo", "first_name": "Bo", "last_name": "Ek"}]});
    assert_eq!(control(&rig.router, "POST", "seed", extra).await.status, StatusCode::OK);
    let seeded = get(&rig.router, &token, "/v3/candidates").await.body;
    assert_eq!(seeded.as_array().map(Vec::len), Some(2));

    let bo = seeded[0]["id"].clone();
    let action = json!({"action": "update_candidate", "candidate_id": bo, "last_name": "Berg"});
    assert_eq!(control(&rig.router, "POST", "actions", action).await.status, StatusCode::OK);
    assert_eq!(get(&rig.router, &token, "/v3/candidates").await.body[0]["last_name"], "Berg");

    assert_eq!(control(&rig.router, "POST", "reset", Value::Null).await.status, StatusCode::OK);
    let token = super::tests::token(&rig.router).await;
    assert_eq!(get(&rig.router, &token, "/v3/candidates").await.body, json!([]));
}

#[tokio::test]
async fn fidelity_switches_and_the_clock_are_part_of_a_kept_page() {
    let rig = rig();
    let (_, token, apps) = warm(&rig, "/v3/applications").await;
    let row_id = apps[0]["stage_id"].clone();

    let fidelity = json!({"stage_id_mode": "job_interview_stage"});
    assert_eq!(control(&rig.router, "PUT", "fidelity", fidelity).await.status, StatusCode::OK);
    let by_job_stage = get(&rig.router, &token, "/v3/applications").await.body;
    assert_ne!(by_job_stage[0]["stage_id"], row_id, "the switch changed what stage_id means");

    let stages_uri = "/v3/application_stages";
    assert_eq!(get(&rig.router, &token, stages_uri).await.body[0]["days_in_stage"], 0);
    rig.clock.advance(Duration::days(3));
    // The token has expired meanwhile; nothing else changed.
    let token = super::tests::token(&rig.router).await;
    assert_eq!(get(&rig.router, &token, stages_uri).await.body[0]["days_in_stage"], 3);
}

/// Under `stale_read_secs` a read answers the world from before the write, however the pages
/// were kept, and the fresh world as soon as the window has passed.
#[tokio::test]
async fn stale_reads_and_kept_pages_agree() {
    let rig = rig();
    let (seeded, token, before) = warm(&rig, "/v3/candidates").await;
    let fault = json!({"stale_read_secs": 30});
    assert_eq!(control(&rig.router, "PUT", "faults", fault).await.status, StatusCode::OK);
    let ada = &seeded["candidates"]["ada"]["id"];

    let patch = json!({"first_name": "Augusta"});
    let patched =
        write(&rig.router, &token, "PATCH", &format!("/v3/candidates/{ada}"), patch).await;
    assert_eq!(patched.status, StatusCode::OK);
    for _ in 0..2 {
        let stale = get(&rig.router, &token, "/v3/candidates").await.body;
        assert_eq!(stale, before, "inside the window the write is not visible yet");
    }

    rig.clock.advance(Duration::seconds(30));
    for _ in 0..2 {
        let fresh = get(&rig.router, &token, "/v3/candidates").await.body;
        assert_eq!(fresh[0]["first_name"], "Augusta", "fresh once the window has passed");
    }

    // A second write inside a new window: the page kept from the fresh read is not served.
    let patch = json!({"first_name": "Ada"});
    let patched =
        write(&rig.router, &token, "PATCH", &format!("/v3/candidates/{ada}"), patch).await;
    assert_eq!(patched.status, StatusCode::OK);
    let stale = get(&rig.router, &token, "/v3/candidates").await.body;
    assert_eq!(stale[0]["first_name"], "Augusta");
    assert_eq!(control(&rig.router, "PUT", "faults", json!({})).await.status, StatusCode::OK);
    assert_eq!(get(&rig.router, &token, "/v3/candidates").await.body[0]["first_name"], "Ada");
}
