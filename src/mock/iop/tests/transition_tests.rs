//! Table-driven state machines: every state × every transition action, through `/v1`. The
//! allowed cells must succeed; every other cell must answer `409 invalid_state_transition`
//! (or, for a merged candidate, `410 gone`) and change nothing.

use chrono::Duration;
use http::StatusCode;
use serde_json::{Value, json};

use super::{Harness, error_code};
use crate::clock::{Clock, iop_timestamp};

const REQUEST_STATES: [&str; 8] = [
    "pending",
    "availability_requested",
    "availability_received",
    "scheduled",
    "completed",
    "candidate_declined",
    "expired",
    "cancelled",
];
const OPEN: [&str; 4] = ["pending", "availability_requested", "availability_received", "scheduled"];

/// A scheduling request driven into `state`; returns the harness and the request id.
async fn request_in(state: &str) -> (Harness, String) {
    let h = Harness::new().await;
    let candidate = h.candidate(123).await;
    let mut body = Harness::request_body(&candidate, "availability", "ref");
    body["send_link"] = json!(state != "pending");
    if state == "expired" {
        body["expires_at"] = json!(iop_timestamp(h.clock.now() + Duration::hours(1)));
    }
    let created = h
        .api_with("POST", "/v1/scheduling_requests", Some(body), &[("idempotency-key", "setup")])
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/scheduling_requests/{id}");
    match state {
        "availability_received" => {
            h.api("POST", &format!("{path}/availability"), Some(two_slots())).await;
        }
        "scheduled" | "completed" => {
            let interview = book(&h, &id, "setup-book").await.body["id"].clone();
            if state == "completed" {
                let interview = interview.as_str().unwrap();
                h.api("POST", &format!("/v1/interviews/{interview}/no_show"), None).await;
            }
        }
        "candidate_declined" => {
            h.api("POST", &format!("{path}/decline"), Some(json!({"reason": "no"}))).await;
        }
        "expired" => {
            h.advance(Duration::hours(2));
            h.deliver().await;
        }
        "cancelled" => {
            h.api("POST", &format!("{path}/cancel"), Some(json!({"reason": "manual"}))).await;
        }
        _ => {}
    }
    let got = h.api("GET", &path, None).await.body;
    assert_eq!(got["status"], state, "setup of {state}");
    (h, id)
}

fn two_slots() -> Value {
    json!({"slots": [
        {"start_at": "2026-11-04T10:00:00Z", "end_at": "2026-11-04T11:00:00Z"},
        {"start_at": "2026-11-05T10:00:00Z", "end_at": "2026-11-05T11:00:00Z"},
    ]})
}

async fn book(h: &Harness, request_id: &str, key: &str) -> super::Reply {
    let body = json!({"scheduling_request_id": request_id, "start_at": "2026-11-04T10:00:00Z",
        "end_at": "2026-11-04T11:00:00Z", "interviewer_ids": [h.user("alice")]});
    h.api_with("POST", "/v1/interviews", Some(body), &[("idempotency-key", key)]).await
}

/// One transition action on a request.
async fn request_action(h: &Harness, id: &str, action: &str) -> super::Reply {
    let path = format!("/v1/scheduling_requests/{id}");
    match action {
        "send" => h.api("POST", &format!("{path}/send"), None).await,
        "submit_availability" => {
            h.api("POST", &format!("{path}/availability"), Some(two_slots())).await
        }
        "book_interview" => book(h, id, "action-book").await,
        "decline" => h.api("POST", &format!("{path}/decline"), None).await,
        "cancel" => {
            h.api("POST", &format!("{path}/cancel"), Some(json!({"reason": "manual"}))).await
        }
        "patch" => {
            let window = json!({"window": {"earliest": "2026-11-10", "latest": "2026-11-20", "timezone": "UTC"}});
            h.api("PATCH", &path, Some(window)).await
        }
        "delete" => h.api("DELETE", &path, None).await,
        other => panic!("unknown action {other}"),
    }
}

#[tokio::test]
async fn every_scheduling_request_state_against_every_action() {
    let table: [(&str, &[&str]); 7] = [
        ("send", &["pending"]),
        ("submit_availability", &["availability_requested", "availability_received"]),
        ("book_interview", &OPEN),
        ("decline", &OPEN),
        ("cancel", &OPEN),
        ("patch", &OPEN),
        ("delete", &OPEN),
    ];
    for (action, allowed) in table {
        for state in REQUEST_STATES {
            let (h, id) = request_in(state).await;
            let before = h.api("GET", &format!("/v1/scheduling_requests/{id}"), None).await.body;
            let reply = request_action(&h, &id, action).await;
            if allowed.contains(&state) {
                assert!(reply.status.is_success(), "{action} from {state}: {}", reply.body);
            } else {
                assert_eq!(
                    reply.status,
                    StatusCode::CONFLICT,
                    "{action} from {state}: {}",
                    reply.body
                );
                assert_eq!(error_code(&reply), "invalid_state_transition", "{action} from {state}");
                let after = h.api("GET", &format!("/v1/scheduling_requests/{id}"), None).await.body;
                assert_eq!(after, before, "{action} from {state} changed nothing");
            }
        }
    }
}

const INTERVIEW_STATES: [&str; 5] =
    ["scheduled", "awaiting_feedback", "complete", "cancelled", "no_show"];
const LIVE: [&str; 2] = ["scheduled", "awaiting_feedback"];

/// An interview (one interviewer, alice) driven into `state`.
async fn interview_in(state: &str) -> (Harness, String) {
    let h = Harness::new().await;
    let request = h.scheduling_request("availability").await;
    let id = h.booked_interview(&request, &[h.user("alice")]).await;
    let path = format!("/v1/interviews/{id}");
    if ["awaiting_feedback", "complete"].contains(&state) {
        h.advance(Duration::days(2));
        h.deliver().await;
    }
    match state {
        "complete" => {
            let feedback =
                json!({"interviewer_id": h.user("alice"), "overall_recommendation": "yes"});
            h.api_with(
                "POST",
                &format!("{path}/feedback"),
                Some(feedback),
                &[("idempotency-key", "fb")],
            )
            .await;
        }
        "cancelled" => {
            h.api("POST", &format!("{path}/cancel"), Some(json!({"reason": "other"}))).await;
        }
        "no_show" => {
            h.api("POST", &format!("{path}/no_show"), None).await;
        }
        _ => {}
    }
    assert_eq!(h.api("GET", &path, None).await.body["status"], state, "setup of {state}");
    (h, id)
}

async fn interview_action(h: &Harness, id: &str, action: &str) -> super::Reply {
    let path = format!("/v1/interviews/{id}");
    let later = h.clock.now() + Duration::days(3);
    match action {
        "reschedule" => {
            let body = json!({"start_at": iop_timestamp(later), "end_at": iop_timestamp(later + Duration::hours(1))});
            h.api("POST", &format!("{path}/reschedule"), Some(body)).await
        }
        "cancel" => {
            h.api("POST", &format!("{path}/cancel"), Some(json!({"reason": "other"}))).await
        }
        "delete" => h.api("DELETE", &path, None).await,
        "no_show" => h.api("POST", &format!("{path}/no_show"), None).await,
        "revert_no_show" => h.api("DELETE", &format!("{path}/no_show"), None).await,
        "respond" => {
            let user = h.user("alice");
            let body = json!({"response_status": "accepted"});
            h.api("POST", &format!("{path}/interviewers/{user}/response"), Some(body)).await
        }
        other => panic!("unknown action {other}"),
    }
}

#[tokio::test]
async fn every_interview_state_against_every_action() {
    let table: [(&str, &[&str]); 6] = [
        ("reschedule", &LIVE),
        ("cancel", &LIVE),
        ("delete", &LIVE),
        ("no_show", &LIVE),
        ("revert_no_show", &["no_show"]),
        ("respond", &LIVE),
    ];
    for (action, allowed) in table {
        for state in INTERVIEW_STATES {
            let (h, id) = interview_in(state).await;
            let before = h.api("GET", &format!("/v1/interviews/{id}"), None).await.body;
            let reply = interview_action(&h, &id, action).await;
            if allowed.contains(&state) {
                assert!(reply.status.is_success(), "{action} from {state}: {}", reply.body);
            } else {
                assert_eq!(
                    reply.status,
                    StatusCode::CONFLICT,
                    "{action} from {state}: {}",
                    reply.body
                );
                assert_eq!(error_code(&reply), "invalid_state_transition", "{action} from {state}");
                let after = h.api("GET", &format!("/v1/interviews/{id}"), None).await.body;
                assert_eq!(after, before, "{action} from {state} changed nothing");
            }
        }
    }
}

/// Feedback is no transition: it is accepted in every interview state (edited once filed).
#[tokio::test]
async fn feedback_is_accepted_in_every_interview_state() {
    for state in INTERVIEW_STATES {
        let (h, id) = interview_in(state).await;
        if state == "complete" {
            let filed = h.api("GET", &format!("/v1/feedback?interview_id={id}"), None).await.body;
            let fb = filed["data"][0]["id"].as_str().unwrap().to_owned();
            let edit = h
                .api("PATCH", &format!("/v1/feedback/{fb}"), Some(json!({"notes": "late edit"})))
                .await;
            assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
            continue;
        }
        let body = json!({"overall_recommendation": "no", "notes": "days late"});
        let reply = h
            .api_with(
                "POST",
                &format!("/v1/interviews/{id}/feedback"),
                Some(body),
                &[("idempotency-key", "late")],
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "feedback in {state}: {}", reply.body);
    }
}

#[tokio::test]
async fn every_candidate_state_against_every_action() {
    // (action, state) → (status, code); anything not listed must succeed.
    let refused = [
        ("merge", "merged", StatusCode::GONE, "gone"),
        ("patch", "merged", StatusCode::GONE, "gone"),
        ("merge", "anonymized", StatusCode::CONFLICT, "invalid_state_transition"),
        ("patch", "anonymized", StatusCode::CONFLICT, "invalid_state_transition"),
        ("anonymize", "anonymized", StatusCode::CONFLICT, "invalid_state_transition"),
    ];
    for action in ["merge", "anonymize", "patch"] {
        for state in ["active", "merged", "anonymized"] {
            let h = Harness::new().await;
            let loser = h.candidate(1).await;
            let winner = h.candidate(2).await;
            match state {
                "merged" => merge(&h, &loser, &winner).await,
                "anonymized" => {
                    h.api("POST", &format!("/v1/candidates/{loser}/anonymize"), None).await
                }
                _ => h.api("GET", &format!("/v1/candidates/{loser}"), None).await,
            };
            let reply = match action {
                "merge" => merge(&h, &loser, &winner).await,
                "anonymize" => {
                    h.api("POST", &format!("/v1/candidates/{loser}/anonymize"), None).await
                }
                _ => {
                    h.api(
                        "PATCH",
                        &format!("/v1/candidates/{loser}"),
                        Some(json!({"last_name": "X"})),
                    )
                    .await
                }
            };
            match refused.iter().find(|(a, s, _, _)| *a == action && *s == state) {
                Some((_, _, status, code)) => {
                    assert_eq!(reply.status, *status, "{action} from {state}: {}", reply.body);
                    assert_eq!(error_code(&reply), *code, "{action} from {state}");
                }
                None => assert!(reply.status.is_success(), "{action} from {state}: {}", reply.body),
            }
        }
    }
}

async fn merge(h: &Harness, loser: &str, winner: &str) -> super::Reply {
    h.api("POST", &format!("/v1/candidates/{loser}/merge"), Some(json!({"into_id": winner}))).await
}
