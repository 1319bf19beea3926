//! Each [`super::Fidelity`] switch flipped away from its default, through the control API, to
//! show the other reading is served too.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use chrono::Duration;
use http::StatusCode;
use serde_json::{Value, json};

use super::tests::{Rig, control, get, point_webhooks, receiver, rig, seed_world, token, write};

async fn set_fidelity(rig: &Rig, switches: Value) {
    let answer = control(&rig.router, "PUT", "fidelity", switches).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn fidelity_defaults_are_served_and_unknown_switches_refused() {
    let rig = rig();
    let defaults = control(&rig.router, "GET", "fidelity", Value::Null).await.body;
    assert_eq!(
        defaults,
        json!({
            "stage_id_mode": "application_stage_row",
            "delete_interview_status": 204,
            "interview_deleted_on_api_delete": true,
            "new_event_id_per_attempt": false,
            "bracket_date_filters": false,
        })
    );
    let typo = control(&rig.router, "PUT", "fidelity", json!({"stage_id_mod": "x"})).await;
    assert_eq!(typo.status, StatusCode::BAD_REQUEST);
    assert!(typo.body["message"].as_str().unwrap().contains("stage_id_mod"), "{}", typo.body);
}

#[tokio::test]
async fn stage_id_can_mean_the_job_interview_stage() {
    let rig = rig();
    let seeded = seed_world(&rig.router).await;
    set_fidelity(&rig, json!({"stage_id_mode": "job_interview_stage"})).await;
    let token = token(&rig.router).await;
    let stages = &seeded["jobs"]["eng"]["stages"];
    let app = get(&rig.router, &token, "/v3/applications").await.body[0].clone();
    assert_eq!(app["stage_id"], stages["Application Review"]["id"]);

    // A move's compare-and-swap guard then speaks job interview stage ids too.
    let uri = format!("/v3/applications/{}/move", app["id"]);
    let body = json!({"from_stage_id": app["stage_id"], "to_stage_id": stages["Offer"]["id"]});
    assert_eq!(write(&rig.router, &token, "POST", &uri, body).await.status, StatusCode::NO_CONTENT);
    let filter = format!("/v3/applications?stage_ids={}", stages["Offer"]["id"]);
    assert_eq!(get(&rig.router, &token, &filter).await.body.as_array().unwrap().len(), 1);
}

/// The delete status stands for a successful delete, so only 2xx makes sense: a 101 would
/// answer a DELETE with a protocol switch, a 4xx/5xx is a fault (set those with `faults`).
#[tokio::test]
async fn the_delete_status_must_be_a_success_status() {
    let rig = rig();
    for status in [101, 302, 404, 503, 99, 1000] {
        let refused =
            control(&rig.router, "PUT", "fidelity", json!({"delete_interview_status": status}))
                .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{status}");
        let message = refused.body.to_string();
        assert!(
            message.contains("delete_interview_status") && message.contains("2xx"),
            "{message}"
        );
    }
    let defaults = control(&rig.router, "GET", "fidelity", Value::Null).await.body;
    assert_eq!(defaults["delete_interview_status"], 204, "a refused switch changes nothing");
    set_fidelity(&rig, json!({"delete_interview_status": 202})).await;
}

#[tokio::test]
async fn api_delete_status_and_its_webhook_are_switches() {
    let rig = rig();
    let seeded = seed_world(&rig.router).await;
    receiver(&rig, Arc::new(AtomicU16::new(200)));
    point_webhooks(&rig.router).await;
    set_fidelity(
        &rig,
        json!({"delete_interview_status": 200, "interview_deleted_on_api_delete": false}),
    )
    .await;
    let token = token(&rig.router).await;
    let stage = &seeded["jobs"]["eng"]["stages"]["Technical Interview"];
    let body = json!({
        "application_id": seeded["candidates"]["ada"]["applications"][0],
        "job_interview_id": stage["interviews"]["Pairing"],
        "external_event_id": "iop-evt-9",
        "starts_at": "2026-11-03T10:00:00Z",
        "ends_at": "2026-11-03T11:00:00Z",
        "interviewers": [{"user_id": seeded["users"]["ivan"]}],
    });
    let created = write(&rig.router, &token, "POST", "/v3/interviews", body).await;
    let uri = format!("/v3/interviews/{}", created.body["id"]);
    let deleted = write(&rig.router, &token, "DELETE", &uri, Value::Null).await;
    assert_eq!(deleted.status, StatusCode::OK);
    let status = control(&rig.router, "GET", "status", Value::Null).await.body;
    assert_eq!(status["pending"], 0, "no interview_deleted for an API delete");
}

#[tokio::test]
async fn retries_can_carry_a_fresh_event_id() {
    let rig = rig();
    seed_world(&rig.router).await;
    let answer_status = Arc::new(AtomicU16::new(500));
    let received = receiver(&rig, answer_status.clone());
    point_webhooks(&rig.router).await;
    set_fidelity(&rig, json!({"new_event_id_per_attempt": true})).await;
    let app_id = rig.mock.lock().state.applications.keys().next().copied().unwrap();
    let hire = json!({"action": "hire_application", "application_id": app_id});
    control(&rig.router, "POST", "actions", hire).await;

    control(&rig.router, "POST", "deliver", Value::Null).await;
    answer_status.store(200, Ordering::SeqCst);
    rig.clock.advance(Duration::minutes(1));
    control(&rig.router, "POST", "deliver", Value::Null).await;
    let received = received.lock().unwrap();
    assert_eq!(received.len(), 2);
    assert_ne!(received[0].0["greenhouse-event-id"], received[1].0["greenhouse-event-id"]);
    assert_eq!(received[0].1, received[1].1, "the body is the same");
}

#[tokio::test]
async fn bracket_date_filters_are_refused_unless_switched_on() {
    let rig = rig();
    seed_world(&rig.router).await;
    let token = token(&rig.router).await;
    let uri = "/v3/candidates?created_at[gte]=2026-11-02T00:00:00Z&created_at[lt]=2026-11-03";
    let refused = get(&rig.router, &token, uri).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["errors"][0], "Invalid query params: created_at[gte], created_at[lt]");

    set_fidelity(&rig, json!({"bracket_date_filters": true})).await;
    assert_eq!(get(&rig.router, &token, uri).await.body.as_array().unwrap().len(), 1);
    let outside = "/v3/candidates?created_at[gt]=2026-11-02T09:00:00Z";
    assert_eq!(get(&rig.router, &token, outside).await.body, json!([]));
}
