//! Wire shapes pinned with insta: the bodies an engine parses, as the mock sends them. Under
//! the manual clock and seeded ids they are reproducible; only the access token is redacted.
//! A change here is a change to what the engine sees, so review it against the fact sheets.

use std::sync::Arc;
use std::sync::atomic::AtomicU16;

use serde_json::{Value, json};

use super::tests::{
    basic, control, get, point_webhooks, receiver, rig, seed_world, send, token, token_request,
    write,
};

#[tokio::test]
async fn token_response() {
    let rig = rig();
    let answer = token_request(
        &rig.router,
        Some(basic("rehearsal-1", "rehearsal-secret")),
        "grant_type=client_credentials",
    )
    .await;
    insta::assert_json_snapshot!("token_response", answer.body, {".access_token" => "[token]"});
}

#[tokio::test]
async fn application_list_page() {
    let rig = rig();
    seed_world(&rig.router).await;
    let token = token(&rig.router).await;
    let page = get(&rig.router, &token, "/v3/applications?per_page=1").await;
    assert_eq!(page.body.as_array().map(Vec::len), Some(1));
    insta::assert_json_snapshot!("application_list_page", page.body);
}

#[tokio::test]
async fn interview_create_response() {
    let rig = rig();
    let seeded = seed_world(&rig.router).await;
    let token = token(&rig.router).await;
    let stage = &seeded["jobs"]["eng"]["stages"]["Technical Interview"];
    let body = json!({
        "application_id": seeded["candidates"]["ada"]["applications"][0],
        "job_interview_id": stage["interviews"]["Pairing"],
        "external_event_id": "iop-int-42",
        "starts_at": "2026-11-03T10:00:00Z",
        "ends_at": "2026-11-03T11:00:00Z",
        "interviewers": [{"user_id": seeded["users"]["ivan"]}],
        "location": "Room 4",
    });
    let created = write(&rig.router, &token, "POST", "/v3/interviews", body).await;
    assert_eq!(created.status, 201);
    insta::assert_json_snapshot!("interview_create_response", created.body);
}

#[tokio::test]
async fn error_bodies() {
    let rig = rig();
    seed_world(&rig.router).await;
    let r = &rig.router;
    let token = token(r).await;
    let first = get(r, &token, "/v3/rejection_reasons?per_page=1").await;
    let next = first.header("link").trim_start_matches("<http://greenhouse.test").to_owned();
    let next = next.split('>').next().unwrap_or_default().to_owned();

    let mut bodies = serde_json::Map::new();
    let mut keep = |name: &str, status: http::StatusCode, body: Value| {
        bodies.insert(name.to_owned(), json!({"status": status.as_u16(), "body": body}));
    };
    let cursor_and_params = get(r, &token, &format!("{next}&per_page=5")).await;
    keep("422_cursor_with_params", cursor_and_params.status, cursor_and_params.body);
    let big = get(r, &token, "/v3/candidates?per_page=600").await;
    keep("422_per_page_600", big.status, big.body);
    let unknown = get(r, &token, "/v3/candidates?updated_after=2026-01-01T00:00:00Z").await;
    keep("422_unknown_param", unknown.status, unknown.body);
    let unauthorized = get(r, "not-a-token", "/v3/candidates").await;
    keep("401_bad_token", unauthorized.status, unauthorized.body);
    let no_route = send(r, "GET", "/v3/nonsense", &[], axum::body::Body::empty()).await;
    keep("404_unknown_route", no_route.status, no_route.body);
    let no_record = write(r, &token, "DELETE", "/v3/interviews/1", Value::Null).await;
    keep("404_unknown_record", no_record.status, no_record.body);
    insta::assert_json_snapshot!("error_bodies", Value::Object(bodies));
}

/// The exact bytes sent: `<`, `>`, `&` and non-ASCII escaped as `\uXXXX`, which is what the
/// signature covers.
#[tokio::test]
async fn candidate_stage_change_as_delivered() {
    let rig = rig();
    let seeded = seed_world(&rig.router).await;
    let zoe = json!({"candidates": [{
        "key": "zoe", "first_name": "Zoë", "last_name": "Müller <Ops> & Co",
        "email_addresses": [{"value": "zoe@example.com", "type": "work"}],
        "applications": [{"job_key": "eng"}],
    }]});
    let zoe = control(&rig.router, "POST", "seed", zoe).await.body;
    let received = receiver(&rig, Arc::new(AtomicU16::new(200)));
    point_webhooks(&rig.router).await;
    let technical = &seeded["jobs"]["eng"]["stages"]["Technical Interview"]["id"];
    let application_id = &zoe["candidates"]["zoe"]["applications"][0];
    let action = json!({"action": "move_application", "application_id": application_id, "to_stage_id": technical});
    assert_eq!(control(&rig.router, "POST", "actions", action).await.status, 200);
    control(&rig.router, "POST", "deliver", Value::Null).await;

    let received = received.lock().unwrap();
    let body = String::from_utf8(received[0].1.clone()).unwrap();
    assert!(body.is_ascii(), "non-ASCII goes out escaped");
    insta::assert_snapshot!("candidate_stage_change_as_delivered", body);
}

#[tokio::test]
async fn custom_field_list_page() {
    let rig = rig();
    super::custom_field_tests::seed_fields(&rig.router).await;
    let token = token(&rig.router).await;
    let page = get(&rig.router, &token, "/v3/custom_fields?field_type=candidate").await;
    assert_eq!(page.body.as_array().map(Vec::len), Some(2));
    insta::assert_json_snapshot!("custom_field_list_page", page.body);
}
