//! The §4.4 endpoints beyond the basics: candidate create/PATCH/merge/anonymize, user upsert,
//! the scheduling-request helpers and self-scheduling, and the simulated people added to
//! `/_rehearsal/actions`.

use chrono::Duration;
use http::StatusCode;
use serde_json::{Value, json};

use super::{Harness, error_code};

#[tokio::test]
async fn candidates_are_created_patched_with_if_match_merged_and_anonymized() {
    let h = Harness::new().await;
    let body = json!({"first_name": "Ana", "last_name": "Ruiz", "external_refs": {"greenhouse": {"candidate_id": 7}},
        "emails": [{"address": "ANA@x.test", "type": "personal", "primary": true}]});
    let no_key = h.api("POST", "/v1/candidates", Some(body.clone())).await;
    assert_eq!(error_code(&no_key), "idempotency_key_required");
    let created = h
        .api_with("POST", "/v1/candidates", Some(body.clone()), &[("idempotency-key", "c1")])
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["emails"][0]["address"], "ana@x.test");
    let ana = created.body["id"].as_str().unwrap().to_owned();
    let twice =
        h.api_with("POST", "/v1/candidates", Some(body), &[("idempotency-key", "c2")]).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(error_code(&twice), "duplicate_external_ref");
    assert_eq!(twice.body["error"]["details"]["existing_id"], ana.as_str());

    let path = format!("/v1/candidates/{ana}");
    let stale =
        h.api_with("PATCH", &path, Some(json!({"last_name": "R"})), &[("if-match", "5")]).await;
    assert_eq!(error_code(&stale), "version_conflict");
    assert_eq!(stale.body["error"]["details"]["current_version"], 1);
    let patched = h
        .api_with(
            "PATCH",
            &path,
            Some(json!({"last_name": "R", "timezone": "Europe/Madrid"})),
            &[("if-match", "1")],
        )
        .await;
    assert_eq!(patched.body["version"], 2);
    assert_eq!(patched.body["timezone"], "Europe/Madrid");
    let refs_only =
        h.api("PATCH", &path, Some(json!({"external_refs": {"ats2": {"id": "x"}}}))).await;
    assert_eq!(refs_only.body["version"], 3);
    assert_eq!(refs_only.body["external_refs"]["greenhouse"]["candidate_id"], 7);
    let cleared = h.api("PATCH", &path, Some(json!({"timezone": null}))).await;
    assert_eq!(cleared.body["timezone"], Value::Null);

    // Merge: the loser's request moves to the winner.
    let loser = h.candidate(8).await;
    let sreq = Harness::request_body(&loser, "coordinator", "m");
    let request = h
        .api_with("POST", "/v1/scheduling_requests", Some(sreq), &[("idempotency-key", "m")])
        .await;
    let merged = h
        .api("POST", &format!("/v1/candidates/{loser}/merge"), Some(json!({"into_id": ana})))
        .await;
    assert_eq!(merged.body["status"], "merged");
    assert_eq!(merged.body["merged_into_id"], ana.as_str());
    let request_id = request.body["id"].as_str().unwrap();
    let moved = h.api("GET", &format!("/v1/scheduling_requests/{request_id}"), None).await.body;
    assert_eq!(moved["candidate_id"], ana.as_str());
    let event = h.api("GET", "/v1/events?type=candidate.merged", None).await.body;
    assert_eq!(
        event["data"][0]["data"]["repointed"]["scheduling_request_ids"],
        json!([request_id])
    );
    let gone = h
        .api(
            "PUT",
            "/v1/candidates/by_external_ref/greenhouse/8",
            Some(json!({"first_name": "A", "last_name": "B"})),
        )
        .await;
    assert_eq!(gone.status, StatusCode::GONE);
    assert_eq!(gone.body["error"]["details"]["merged_into"], ana.as_str());
    let into_self =
        h.api("POST", &format!("/v1/candidates/{ana}/merge"), Some(json!({"into_id": ana}))).await;
    assert_eq!(into_self.body["error"]["details"]["fields"][0]["code"], "same");

    let bad =
        h.api("POST", &format!("{path}/anonymize"), Some(json!({"fields": ["shoe_size"]}))).await;
    assert_eq!(bad.body["error"]["details"]["fields"][0]["field"], "fields[0]");
    let anonymized = h
        .api("POST", &format!("{path}/anonymize"), Some(json!({"fields": ["email", "name"]})))
        .await;
    assert_eq!(anonymized.body["status"], "anonymized");
    assert_eq!(anonymized.body["emails"], json!([]));
    assert_eq!(anonymized.body["first_name"], "");
    let event = h.api("GET", "/v1/events?type=candidate.anonymized", None).await.body;
    assert_eq!(
        event["data"][0]["data"]["anonymized_fields"],
        json!(["emails", "first_name", "last_name"])
    );
    let mut sreq = Harness::request_body(&ana, "coordinator", "after");
    sreq["candidate_id"] = json!(ana);
    let refused = h
        .api_with("POST", "/v1/scheduling_requests", Some(sreq), &[("idempotency-key", "a")])
        .await;
    assert_eq!(refused.body["error"]["details"]["fields"][0]["code"], "not_active");
}

#[tokio::test]
async fn users_are_upserted_by_greenhouse_id() {
    let h = Harness::new().await;
    let path = "/v1/users/by_external_ref/greenhouse/300";
    let body = json!({"name": "Cy Lee", "email": "CY@acme.test", "timezone": "Europe/Berlin", "employee_id": "E-3",
        "working_hours": [{"weekday": 1, "start": "08:00", "end": "12:00"}]});
    let created = h.api("PUT", path, Some(body.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["email"], "cy@acme.test");
    assert_eq!(
        created.body["external_refs"]["greenhouse"],
        json!({"user_id": 300, "employee_id": "E-3"})
    );
    assert_eq!(created.body["calendar_status"], "connected");
    let same = h.api("PUT", path, Some(body.clone())).await;
    assert_eq!((same.status, same.body["version"].clone()), (StatusCode::OK, json!(1)));

    let mut off = body.clone();
    off["status"] = json!("deactivated");
    let deactivated = h.api("PUT", path, Some(off)).await;
    assert_eq!(deactivated.body["version"], 2);
    let mut renamed = body.clone();
    renamed["name"] = json!("Cy Lee-Park");
    h.api("PUT", path, Some(renamed)).await;
    let types = h.event_types().await;
    assert_eq!(types, ["user.created", "user.deactivated", "user.updated"]);
    let by_employee = h.api("GET", "/v1/users?external_ref.greenhouse.employee_id=E-3", None).await;
    assert_eq!(by_employee.body["data"].as_array().unwrap().len(), 1);

    let taken = h
        .api(
            "PUT",
            "/v1/users/by_external_ref/greenhouse/301",
            Some(json!({"name": "X", "email": "alice@acme.test"})),
        )
        .await;
    assert_eq!(
        taken.body["error"]["details"]["fields"][0],
        json!({"field": "email", "code": "taken", "message": taken.body["error"]["message"]})
    );
    let hours = h.api("PUT", "/v1/users/by_external_ref/greenhouse/302", Some(json!({"name": "X", "email": "x@acme.test", "working_hours": [{"weekday": 8, "start": "09:00", "end": "17:00"}]}))).await;
    assert_eq!(hours.body["error"]["details"]["fields"][0]["field"], "working_hours[0].weekday");
}

#[tokio::test]
async fn request_helpers_send_take_availability_decline_and_patch() {
    let h = Harness::new().await;
    let candidate = h.candidate(123).await;
    let mut body = Harness::request_body(&candidate, "availability", "held");
    body["send_link"] = json!(false);
    let created = h
        .api_with("POST", "/v1/scheduling_requests", Some(body), &[("idempotency-key", "h")])
        .await;
    assert_eq!(
        (created.body["status"].clone(), created.body["version"].clone()),
        (json!("pending"), json!(1))
    );
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/scheduling_requests/{id}");

    let none = h.api("GET", &format!("{path}/availability"), None).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    let sent = h.api("POST", &format!("{path}/send"), None).await;
    assert_eq!(sent.body["status"], "availability_requested");
    assert_eq!(sent.body["candidate_link"], format!("http://iop.test/schedule/{id}"));

    let slots = json!({"timezone": "Asia/Tokyo", "slots": [{"start_at": "2026-11-04T01:00:00Z", "end_at": "2026-11-04T03:00:00Z"}]});
    let received = h.api("POST", &format!("{path}/availability"), Some(slots)).await;
    assert_eq!(received.body["status"], "availability_received");
    let latest = h.api("GET", &format!("{path}/availability"), None).await.body;
    assert_eq!(latest["timezone"], "Asia/Tokyo");
    assert_eq!(latest["scheduling_request_id"], id.as_str());

    let version = received.body["version"].as_u64().unwrap();
    let stale =
        h.api_with("PATCH", &path, Some(json!({"expires_at": null})), &[("if-match", "1")]).await;
    assert_eq!(error_code(&stale), "version_conflict");
    let wider =
        json!({"window": {"earliest": "2026-11-03", "latest": "2026-11-30", "timezone": "UTC"}});
    let patched =
        h.api_with("PATCH", &path, Some(wider), &[("if-match", &version.to_string())]).await;
    assert_eq!(patched.body["window"]["latest"], "2026-11-30");
    assert_eq!(h.event_types().await.last().unwrap(), "scheduling_request.updated");
    let empty = h.api("PATCH", &path, Some(json!({"interviews_requested": []}))).await;
    assert_eq!(empty.body["error"]["details"]["fields"][0]["field"], "interviews_requested");

    let declined = h
        .api("POST", &format!("{path}/decline"), Some(json!({"reason": "found another job"})))
        .await;
    assert_eq!(declined.body["status"], "candidate_declined");
    assert_eq!(declined.body["decline"]["reason"], "found another job");
}

#[tokio::test]
async fn a_candidate_self_schedules_one_slot_within_the_rules() {
    let h = Harness::new().await;
    let request = h.scheduling_request("self_schedule").await;
    let path = format!("/v1/scheduling_requests/{request}/availability");
    let pick = |start: &str, end: &str| json!({"slots": [{"start_at": start, "end_at": end}]});

    let today =
        h.api("POST", &path, Some(pick("2026-11-02T15:00:00Z", "2026-11-02T16:00:00Z"))).await;
    assert_eq!(error_code(&today), "slot_unavailable");
    let far =
        h.api("POST", &path, Some(pick("2026-12-09T15:00:00Z", "2026-12-09T16:00:00Z"))).await;
    assert_eq!(error_code(&far), "slot_unavailable");
    assert_eq!(
        h.api("GET", &format!("/v1/scheduling_requests/{request}"), None).await.body["status"],
        "availability_requested"
    );

    let booked =
        h.api("POST", &path, Some(pick("2026-11-04T15:00:00Z", "2026-11-04T16:00:00Z"))).await;
    assert_eq!(booked.body["status"], "scheduled", "{}", booked.body);
    let interview = booked.body["interview_ids"][0].as_str().unwrap();
    let got = h.api("GET", &format!("/v1/interviews/{interview}"), None).await.body;
    assert_eq!(got["start_at"], "2026-11-04T15:00:00Z");
    assert_eq!(
        got["interviewers"].as_array().unwrap().len(),
        1,
        "self-scheduling books one interviewer"
    );
    let tail: Vec<String> = h.event_types().await.into_iter().rev().take(2).collect();
    assert_eq!(tail, ["interview.scheduled", "scheduling_request.availability_received"]);

    // The same interviewer is now busy then: a second self-scheduled request cannot take it.
    let candidate = h.candidate(124).await;
    let body = Harness::request_body(&candidate, "self_schedule", "second");
    let second = h
        .api_with("POST", "/v1/scheduling_requests", Some(body), &[("idempotency-key", "2")])
        .await;
    let second = second.body["id"].as_str().unwrap().to_owned();
    let clash = h
        .act(json!({"action": "pick_slot", "scheduling_request_id": second, "start_at": "2026-11-04T15:30:00Z"}))
        .await;
    assert_eq!(clash.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", clash.body);
    assert!(clash.body["message"].as_str().unwrap().starts_with("slot_unavailable:"));
    let picked = h
        .act(json!({"action": "pick_slot", "scheduling_request_id": second, "start_at": "2026-11-05T15:00:00Z"}))
        .await;
    let new_interview = picked.body["created_id"].as_str().unwrap();
    let got = h.api("GET", &format!("/v1/interviews/{new_interview}"), None).await.body;
    assert_eq!(got["end_at"], "2026-11-05T16:00:00Z", "the requested 60 minutes");
}

#[tokio::test]
async fn simulated_people_reschedule_answer_and_reconnect() {
    let h = Harness::new().await;
    let request = h.scheduling_request("availability").await;
    let interview = h.booked_interview(&request, &[h.user("alice"), h.user("bob")]).await;

    let moved = h
        .act(json!({"action": "candidate_reschedules", "interview_id": interview, "start_at": "2026-11-06T09:00:00Z", "reason": "dentist"}))
        .await;
    assert_eq!(moved.body["webhooks_queued"], 1, "{}", moved.body);
    let event = h.api("GET", "/v1/events?type=interview.rescheduled", None).await.body;
    assert_eq!(
        event["data"][0]["data"]["reschedule"],
        json!({"requested_by": "candidate", "reason": "dentist"})
    );
    assert_eq!(event["data"][0]["data"]["object"]["end_at"], "2026-11-06T10:00:00Z");

    h.act(json!({"action": "interviewer_accepts", "interview_id": interview, "user_id": h.user("alice")})).await;
    h.act(json!({"action": "interviewer_declines", "interview_id": interview, "user_id": h.user("bob")})).await;
    let got = h.api("GET", &format!("/v1/interviews/{interview}"), None).await.body;
    assert_eq!(got["interviewers"][0]["response_status"], "accepted");
    assert_eq!(got["interviewers"][1]["response_status"], "declined");

    let stranger = h
        .api(
            "POST",
            &format!("/v1/interviews/{interview}/interviewers/usr_999999/response"),
            Some(json!({"response_status": "accepted"})),
        )
        .await;
    assert_eq!(stranger.body["error"]["details"]["fields"][0]["code"], "not_an_interviewer");

    let user = h.user("alice");
    h.act(json!({"action": "disconnect_calendar", "user_id": user})).await;
    let again = h.act(json!({"action": "reconnect_calendar", "user_id": user})).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        h.api("GET", &format!("/v1/users/{user}"), None).await.body["calendar_status"],
        "connected"
    );
    let twice = h.act(json!({"action": "reconnect_calendar", "user_id": user})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn reverting_a_no_show_reopens_the_request_it_completed() {
    let h = Harness::new().await;
    let request = h.scheduling_request("availability").await;
    let interview = h.booked_interview(&request, &[h.user("alice")]).await;
    let no_show = h.act(json!({"action": "candidate_no_show", "interview_id": interview})).await;
    assert_eq!(no_show.status, StatusCode::OK);
    let path = format!("/v1/scheduling_requests/{request}");
    assert_eq!(h.api("GET", &path, None).await.body["status"], "completed");

    h.advance(Duration::days(2));
    h.api("DELETE", &format!("/v1/interviews/{interview}/no_show"), None).await;
    let reopened = h.api("GET", &path, None).await.body;
    assert_eq!(reopened["status"], "scheduled");
    assert_eq!(h.event_types().await.last().unwrap(), "scheduling_request.reopened");

    // Feedback through /v1 then completes interview and request again, days late.
    h.advance(Duration::days(3));
    let body = json!({"overall_recommendation": "yes", "submitted_by_id": h.user("bob"),
        "attributes": [{"name": "Communication", "type": "Skills", "rating": "mixed"}],
        "questions": [{"question": "Key take-aways", "answer": "Solid"}]});
    let filed = h
        .api_with(
            "POST",
            &format!("/v1/interviews/{interview}/feedback"),
            Some(body),
            &[("idempotency-key", "fb")],
        )
        .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    assert_eq!(filed.body["submitted_by_id"], h.user("bob").as_str());
    assert_eq!(filed.body["interviewer_id"], h.user("alice").as_str());
    assert_eq!(filed.body["attributes"][0]["rating"], "mixed");
    assert_eq!(h.api("GET", &path, None).await.body["status"], "completed");
    let bad = h
        .api_with(
            "POST",
            &format!("/v1/interviews/{interview}/feedback"),
            Some(json!({"overall_recommendation": "maybe"})),
            &[("idempotency-key", "fb2")],
        )
        .await;
    assert_eq!(bad.body["error"]["details"]["fields"][0]["field"], "overall_recommendation");
}

/// The field a 422 names and its code.
fn refused_field(reply: &super::Reply) -> (String, String) {
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    let first = &reply.body["error"]["details"]["fields"][0];
    (first["field"].as_str().unwrap().to_owned(), first["code"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn candidates_store_custom_fields_and_refuse_bad_ones() {
    let h = Harness::new().await;
    let path = "/v1/candidates/by_external_ref/greenhouse/41";
    let body = json!({"first_name": "Ana", "last_name": "Ruiz", "custom_fields": {
        "seniority": "Senior", "relocate": true, "budget": {"unit": "EUR", "amount": 90000},
        "languages": ["es", "en"], "start_date": null
    }});
    let created = h.api("PUT", path, Some(body.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["custom_fields"], body["custom_fields"]);
    let id = created.body["id"].as_str().unwrap().to_owned();

    let same = h.api("PUT", path, Some(body)).await;
    assert_eq!(same.body["version"], 1, "an unchanged upsert changes nothing");
    let replaced = h
        .api("PUT", path, Some(json!({"first_name": "Ana", "last_name": "Ruiz", "custom_fields": {"seniority": "Staff"}})))
        .await;
    assert_eq!(replaced.body["custom_fields"], json!({"seniority": "Staff"}));
    assert_eq!(h.event_types().await.last().unwrap(), "candidate.updated");

    let kept =
        h.api("PATCH", &format!("/v1/candidates/{id}"), Some(json!({"last_name": "R"}))).await;
    assert_eq!(kept.body["custom_fields"], json!({"seniority": "Staff"}));
    let patched =
        h.api("PATCH", &format!("/v1/candidates/{id}"), Some(json!({"custom_fields": {}}))).await;
    assert_eq!(patched.body["custom_fields"], json!({}));

    let without = h.candidate(42).await;
    let plain = h.api("GET", &format!("/v1/candidates/{without}"), None).await;
    assert_eq!(plain.body["custom_fields"], json!({}), "absent means none");

    let with =
        |fields: Value| json!({"first_name": "A", "last_name": "B", "custom_fields": fields});
    let bad_key = h.api("PUT", path, Some(with(json!({"Seniority": "x"})))).await;
    assert_eq!(refused_field(&bad_key), ("custom_fields.Seniority".into(), "invalid_key".into()));
    let nested = h.api("PUT", path, Some(with(json!({"deep": {"a": {"b": 1}}})))).await;
    assert_eq!(refused_field(&nested), ("custom_fields.deep".into(), "invalid_value".into()));
    let long = h.api("PUT", path, Some(with(json!({"essay": "x".repeat(10_001)})))).await;
    assert_eq!(refused_field(&long), ("custom_fields.essay".into(), "invalid_value".into()));
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("f{i}"), json!(i))).collect();
    let too_many = h.api("PUT", path, Some(with(Value::Object(many)))).await;
    assert_eq!(refused_field(&too_many), ("custom_fields".into(), "too_many".into()));
    let not_object = h.api("PUT", path, Some(with(json!(["a"])))).await;
    assert_eq!(not_object.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn scheduling_requests_store_a_workflow_and_custom_fields() {
    let h = Harness::new().await;
    let candidate = h.candidate(43).await;
    let mut body = Harness::request_body(&candidate, "coordinator", "wf");
    body["workflow"] = json!("onsite-loop:v2");
    body["custom_fields"] = json!({"start_date": "2026-11-30"});
    let created = h
        .api_with("POST", "/v1/scheduling_requests", Some(body), &[("idempotency-key", "wf")])
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["workflow"], "onsite-loop:v2");
    assert_eq!(created.body["custom_fields"], json!({"start_date": "2026-11-30"}));

    let plain = h
        .api_with(
            "POST",
            "/v1/scheduling_requests",
            Some(Harness::request_body(&candidate, "coordinator", "plain")),
            &[("idempotency-key", "plain")],
        )
        .await;
    assert_eq!(
        (plain.body["workflow"].clone(), plain.body["custom_fields"].clone()),
        (Value::Null, json!({}))
    );

    for (workflow, reference) in
        [(json!("onsite loop"), "w1"), (json!(""), "w2"), (json!("x".repeat(65)), "w3")]
    {
        let mut body = Harness::request_body(&candidate, "coordinator", reference);
        body["workflow"] = workflow;
        let refused = h
            .api_with(
                "POST",
                "/v1/scheduling_requests",
                Some(body),
                &[("idempotency-key", reference)],
            )
            .await;
        assert_eq!(refused_field(&refused), ("workflow".into(), "invalid".into()));
    }
    let mut body = Harness::request_body(&candidate, "coordinator", "cf");
    body["custom_fields"] = json!({"9lives": 1});
    let refused = h
        .api_with("POST", "/v1/scheduling_requests", Some(body), &[("idempotency-key", "cf")])
        .await;
    assert_eq!(refused_field(&refused), ("custom_fields.9lives".into(), "invalid_key".into()));
}
