//! Interview and feedback lifecycles: booking to completion, coordinator booking, the
//! `If-Match` PATCH, reschedule/cancel/no-show, decline and expiry, late feedback.

use chrono::Duration;
use http::StatusCode;
use serde_json::{Value, json};

use super::{Harness, error_code};

#[tokio::test]
async fn interview_runs_from_booking_to_completion_with_its_request() {
    let h = Harness::new().await;
    let request = h.scheduling_request("availability").await;
    let slot = json!({"start_at": "2026-11-03T14:00:00Z", "end_at": "2026-11-03T16:00:00Z"});
    let avail = h.act(json!({"action": "submit_availability", "scheduling_request_id": request, "slots": [slot]})).await;
    assert_eq!(avail.body["webhooks_queued"], 1);

    let interview = h.booked_interview(&request, &[h.user("alice"), h.user("bob")]).await;
    let got = h.api("GET", &format!("/v1/interviews/{interview}"), None).await.body;
    assert_eq!(got["status"], "scheduled");
    assert_eq!(got["title"], "Technical");
    assert_eq!(
        got["external_refs"]["greenhouse"],
        json!({"application_id": 987, "interview_id": 555})
    );
    assert_eq!(got["interviewers"][1]["email"], "bob@acme.test");
    assert_eq!(got["interviewers"][0]["response_status"], "needs_action");
    assert_eq!(got["timezone"], "America/New_York");
    let sreq = h.api("GET", &format!("/v1/scheduling_requests/{request}"), None).await.body;
    assert_eq!(sreq["status"], "scheduled");
    assert_eq!(sreq["interview_ids"], json!([interview]));

    let responded = h.act(json!({"action": "interviewer_responds", "interview_id": interview, "user_id": h.user("bob"), "response_status": "accepted"})).await;
    assert_eq!(responded.body["webhooks_queued"], 1);

    h.advance(Duration::days(2));
    h.deliver().await;
    let got = h.api("GET", &format!("/v1/interviews/{interview}"), None).await.body;
    assert_eq!(got["status"], "awaiting_feedback");

    for user in ["alice", "bob"] {
        let reply = h.act(json!({"action": "submit_feedback", "interview_id": interview, "interviewer_id": h.user(user), "overall_recommendation": "strong_yes", "notes": "great"})).await;
        assert!(reply.body["created_id"].as_str().unwrap().starts_with("fb_"));
    }
    let got = h.api("GET", &format!("/v1/interviews/{interview}"), None).await.body;
    assert_eq!(got["status"], "complete");
    assert!(got["interviewers"][0]["feedback_id"].as_str().unwrap().starts_with("fb_"));
    let sreq = h.api("GET", &format!("/v1/scheduling_requests/{request}"), None).await.body;
    assert_eq!(sreq["status"], "completed");

    let types = h.event_types().await;
    let tail: Vec<&str> = types.iter().map(String::as_str).skip(3).collect();
    assert_eq!(
        tail,
        [
            "scheduling_request.availability_received",
            "interview.scheduled",
            "interview.interviewer_responded",
            "interview.awaiting_feedback",
            "feedback.submitted",
            "feedback.submitted",
            "interview.completed",
            "scheduling_request.completed",
        ]
    );

    let feedback = h.api("GET", &format!("/v1/feedback?interview_id={interview}"), None).await.body;
    let first = &feedback["data"][0];
    assert_eq!(first["external_refs"]["greenhouse"]["application_id"], 987);
    assert_eq!(first["interviewed_at"], "2026-11-03T10:00:00Z");
    assert_eq!(first["status"], "submitted");
    let id = first["id"].as_str().unwrap();
    let patched = h
        .api_with(
            "PATCH",
            &format!("/v1/feedback/{id}"),
            Some(json!({"overall_recommendation": "yes"})),
            &[("if-match", "1")],
        )
        .await;
    assert_eq!(patched.body["version"], 2);
    let stale = h
        .api_with(
            "PATCH",
            &format!("/v1/feedback/{id}"),
            Some(json!({"notes": "x"})),
            &[("if-match", "1")],
        )
        .await;
    assert_eq!(error_code(&stale), "version_conflict");
    let twice = h.act(json!({"action": "submit_feedback", "interview_id": interview, "interviewer_id": h.user("bob"), "overall_recommendation": "no"})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn coordinator_booking_through_the_api() {
    let h = Harness::new().await;
    let request = h.scheduling_request("coordinator").await;
    let body = json!({"scheduling_request_id": request, "title": "Culture", "all_day": true,
        "start_date": "2026-11-05", "end_date": "2026-11-06", "timezone": "Europe/London", "interviewer_ids": [h.user("alice")]});

    let no_key = h.api("POST", "/v1/interviews", Some(body.clone())).await;
    assert_eq!(error_code(&no_key), "idempotency_key_required");
    let created = h
        .api_with("POST", "/v1/interviews", Some(body.clone()), &[("idempotency-key", "b1")])
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["all_day"], true);
    assert_eq!(created.body["start_date"], "2026-11-05");
    assert_eq!(created.body["start_at"], Value::Null);
    assert_eq!(created.body["external_refs"]["greenhouse"]["interview_id"], 556);
    let sreq = h.api("GET", &format!("/v1/scheduling_requests/{request}"), None).await.body;
    assert_eq!(sreq["status"], "scheduled");

    let backwards = json!({"scheduling_request_id": request, "start_at": "2026-11-05T11:00:00Z", "end_at": "2026-11-05T10:00:00Z"});
    let reply =
        h.api_with("POST", "/v1/interviews", Some(backwards), &[("idempotency-key", "b2")]).await;
    assert_eq!(
        reply.body["error"]["details"]["fields"][0],
        json!({"field": "end_at", "code": "must_be_after", "message": "end_at must be after start_at"})
    );

    let unknown_user = json!({"scheduling_request_id": request, "start_at": "2026-11-05T10:00:00Z", "end_at": "2026-11-05T11:00:00Z", "interviewer_ids": ["usr_999999"]});
    let reply = h
        .api_with("POST", "/v1/interviews", Some(unknown_user), &[("idempotency-key", "b3")])
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);

    let listed = h
        .api(
            "GET",
            &format!("/v1/interviews?scheduling_request_id={request}&status=scheduled"),
            None,
        )
        .await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);

    // The all-day interview ends at UTC midnight of its exclusive end date.
    h.clock.advance_to("2026-11-06T00:00:00Z".parse().unwrap());
    h.deliver().await;
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(
        h.api("GET", &format!("/v1/interviews/{id}"), None).await.body["status"],
        "awaiting_feedback"
    );
}

#[tokio::test]
async fn patch_checks_if_match_and_external_refs_alone_emit_nothing() {
    let h = Harness::new().await;
    let request = h.scheduling_request("availability").await;
    let interview = h.booked_interview(&request, &[h.user("alice")]).await;
    let path = format!("/v1/interviews/{interview}");
    let events_before = h.event_types().await.len();

    let stale =
        h.api_with("PATCH", &path, Some(json!({"location": "Room 1"})), &[("if-match", "7")]).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(error_code(&stale), "version_conflict");

    let refs = json!({"external_refs": {"greenhouse": {"scheduled_interview_id": 4242}}});
    let patched = h.api_with("PATCH", &path, Some(refs), &[("if-match", "1")]).await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(patched.body["version"], 2);
    assert_eq!(
        patched.body["external_refs"]["greenhouse"],
        json!({"application_id": 987, "interview_id": 555, "scheduled_interview_id": 4242})
    );
    assert_eq!(h.event_types().await.len(), events_before);

    let moved = h
        .api_with("PATCH", &path, Some(json!({"location": "Room 2"})), &[("if-match", "\"2\"")])
        .await;
    assert_eq!(moved.body["version"], 3);
    assert_eq!(h.event_types().await.last().unwrap(), "interview.updated");
    let unknown = h.api("PATCH", &path, Some(json!({"status": "complete"}))).await;
    assert_eq!(unknown.body["error"]["details"]["fields"][0]["field"], "status");
}

#[tokio::test]
async fn reschedule_cancel_and_no_show_follow_the_state_machine() {
    let h = Harness::new().await;
    let request = h.scheduling_request("availability").await;
    let interview = h.booked_interview(&request, &[h.user("alice")]).await;

    let moved = h
        .api(
            "POST",
            &format!("/v1/interviews/{interview}/reschedule"),
            Some(json!({"start_at": "2026-11-04T15:00:00Z", "end_at": "2026-11-04T16:00:00Z"})),
        )
        .await;
    assert_eq!(moved.body["id"], interview.as_str());
    assert_eq!(moved.body["reschedule_count"], 1);
    assert_eq!(moved.body["calendar_event"]["sequence"], 1);
    let event = h.api("GET", "/v1/events?type=interview.rescheduled", None).await.body;
    assert_eq!(event["data"][0]["data"]["previous_attributes"]["start_at"], "2026-11-03T10:00:00Z");

    let no_show = h
        .api(
            "POST",
            &format!("/v1/interviews/{interview}/no_show"),
            Some(json!({"party": "candidate"})),
        )
        .await;
    assert_eq!(no_show.body["status"], "no_show");
    assert_eq!(
        h.api("GET", &format!("/v1/scheduling_requests/{request}"), None).await.body["status"],
        "completed"
    );
    let reverted = h.api("DELETE", &format!("/v1/interviews/{interview}/no_show"), None).await;
    assert_eq!(reverted.body["status"], "scheduled");
    assert_eq!(reverted.body["no_show"], Value::Null);
    let again = h.api("DELETE", &format!("/v1/interviews/{interview}/no_show"), None).await;
    assert_eq!(error_code(&again), "invalid_state_transition");

    let cancel = h
        .api(
            "POST",
            &format!("/v1/interviews/{interview}/cancel"),
            Some(json!({"reason": "interviewer_unavailable", "cancelled_by": "interviewer"})),
        )
        .await;
    assert_eq!(cancel.body["status"], "cancelled");
    let twice = h
        .api(
            "POST",
            &format!("/v1/interviews/{interview}/cancel"),
            Some(json!({"reason": "other"})),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let late_move = h
        .api(
            "POST",
            &format!("/v1/interviews/{interview}/reschedule"),
            Some(json!({"start_at": "2026-11-04T15:00:00Z", "end_at": "2026-11-04T16:00:00Z"})),
        )
        .await;
    assert_eq!(error_code(&late_move), "invalid_state_transition");
    assert_eq!(h.api("GET", "/v1/interviews/int_999999", None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cancel_and_create_reschedule_style_links_the_new_interview() {
    let h = Harness::new().await;
    h.control(
        "PUT",
        "/_rehearsal/faults",
        json!({"webhooks": {"reschedule_style": "cancel_and_create"}}),
    )
    .await;
    let request = h.scheduling_request("availability").await;
    let interview = h.booked_interview(&request, &[h.user("alice")]).await;

    let reply = h
        .act(json!({"action": "reschedule_interview", "interview_id": interview,
        "start_at": "2026-11-04T15:00:00Z", "end_at": "2026-11-04T16:00:00Z"}))
        .await;
    let new_id = reply.body["created_id"].as_str().unwrap();
    assert_ne!(new_id, interview);
    let new = h.api("GET", &format!("/v1/interviews/{new_id}"), None).await.body;
    assert_eq!(new["rescheduled_from_id"], interview.as_str());
    assert_eq!(new["external_refs"]["greenhouse"]["interview_id"], 555);
    let old = h.api("GET", &format!("/v1/interviews/{interview}"), None).await.body;
    assert_eq!(old["cancellation"]["reason"], "rescheduled");
    let types = h.event_types().await;
    assert_eq!(types[types.len() - 2..], ["interview.cancelled", "interview.scheduled"]);
}

#[tokio::test]
async fn candidate_declines_cancels_interviews_and_requests_expire() {
    let h = Harness::new().await;
    let request = h.scheduling_request("availability").await;
    let interview = h.booked_interview(&request, &[h.user("alice")]).await;
    let declined = h.act(json!({"action": "candidate_declines", "scheduling_request_id": request, "reason": "took another offer"})).await;
    assert_eq!(declined.body["webhooks_queued"], 2);
    let sreq = h.api("GET", &format!("/v1/scheduling_requests/{request}"), None).await.body;
    assert_eq!(sreq["status"], "candidate_declined");
    assert_eq!(sreq["decline"]["reason"], "took another offer");
    let got = h.api("GET", &format!("/v1/interviews/{interview}"), None).await.body;
    assert_eq!(got["cancellation"]["cancelled_by"], "candidate");
    assert_eq!(got["cancellation"]["reason"], "candidate_request");

    let mut body =
        Harness::request_body(sreq["candidate_id"].as_str().unwrap(), "self_schedule", "exp");
    body["expires_at"] = json!("2026-11-02T12:00:00Z");
    let created = h
        .api_with("POST", "/v1/scheduling_requests", Some(body), &[("idempotency-key", "exp")])
        .await;
    let status = h.control("GET", "/_rehearsal/status", json!({})).await.body;
    assert_eq!(status["delivered"], 0);
    h.advance(Duration::hours(4));
    h.deliver().await;
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(
        h.api("GET", &format!("/v1/scheduling_requests/{id}"), None).await.body["status"],
        "expired"
    );
}

#[tokio::test]
async fn late_feedback_on_a_cancelled_interview_is_accepted() {
    let h = Harness::new().await;
    let request = h.scheduling_request("availability").await;
    let interview = h.booked_interview(&request, &[h.user("alice")]).await;
    h.act(json!({"action": "cancel_interview", "interview_id": interview, "reason": "other"}))
        .await;
    h.deliver().await;

    h.advance(Duration::days(5));
    let reply = h.act(json!({"action": "submit_feedback", "interview_id": interview, "overall_recommendation": "no"})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["webhooks_queued"], 1);
    let feedback_id = reply.body["created_id"].as_str().unwrap().to_owned();
    let report = h.deliver().await;
    assert_eq!(report["delivered"], 1);

    let (_, headers, body) = h.receiver.seen().pop().unwrap();
    let envelope: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(envelope["type"], "feedback.submitted");
    assert_eq!(envelope["data"]["object"]["id"], feedback_id);
    assert_eq!(envelope["data"]["object"]["interviewer_id"], h.user("alice"));
    assert_eq!(envelope["related"]["scheduling_request_id"], request.as_str());
    assert_eq!(headers["iop-event-id"], envelope["id"].as_str().unwrap());
    let got = h.api("GET", &format!("/v1/interviews/{interview}"), None).await.body;
    assert_eq!(got["status"], "cancelled");

    let deleted = h.act(json!({"action": "delete_feedback", "feedback_id": feedback_id})).await;
    assert_eq!(deleted.body["webhooks_queued"], 1);
    assert_eq!(
        h.api("GET", &format!("/v1/feedback/{feedback_id}"), None).await.status,
        StatusCode::NOT_FOUND
    );
}
