//! Tests of the mock IOP through `Router::oneshot`: every endpoint, the state machines
//! (illegal transitions included), idempotency, concurrency control and rate limits. The
//! interview and feedback lifecycles are in `tests/lifecycle_tests.rs`, the webhook tests (signatures,
//! retries, 410, faults) in `tests/webhook_tests.rs`.

mod fault_tests;
mod lifecycle_tests;
mod resource_tests;
mod surface_tests;
mod transition_tests;
mod webhook_tests;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::state::IdempotencyRecord;
use super::{IopMockConfig, MockIop};
use crate::clock::{Clock, ManualClock, iop_timestamp};
use crate::transport::{RouterClient, SimulatedFailure};

const KEY: &str = "iop_test_key";
const SECRET: &str = "whsec_rehearsal_secret_one";

/// A webhook receiver: records every delivery and answers from a script (then 200).
/// One delivery as the receiver saw it: when (virtual time), headers, raw body.
type Seen = (DateTime<Utc>, HeaderMap, Bytes);

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    fn router(&self, clock: Arc<ManualClock>) -> Router {
        let receiver = self.clone();
        Router::new().route(
            "/iop",
            post(move |headers: HeaderMap, body: Bytes| {
                let receiver = receiver.clone();
                let clock = clock.clone();
                async move {
                    receiver.seen.lock().unwrap().push((clock.now(), headers, body));
                    let status = receiver.script.lock().unwrap().pop_front().unwrap_or(200);
                    StatusCode::from_u16(status).unwrap()
                }
            }),
        )
    }

    fn answer(&self, statuses: &[u16]) {
        self.script.lock().unwrap().extend(statuses);
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

struct Harness {
    clock: Arc<ManualClock>,
    mock: MockIop,
    router: Router,
    receiver: Receiver,
    users: Value,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    failure: Option<SimulatedFailure>,
}

impl Harness {
    /// A mock at the scenario epoch with two Greenhouse-linked users and a webhook receiver.
    async fn new() -> Self {
        Self::with_config(IopMockConfig::default()).await
    }

    /// The same, with a chosen configuration.
    async fn with_config(config: IopMockConfig) -> Self {
        let clock = Arc::new(ManualClock::new(ManualClock::scenario_epoch()));
        let http = RouterClient::new();
        let receiver = Receiver::default();
        http.register("hooks.test", receiver.router(clock.clone()));
        let mock = MockIop::new(config, clock.clone(), Arc::new(http));
        let router = mock.router();
        let mut harness = Self { clock, mock, router, receiver, users: Value::Null };
        let seeded = harness
            .control("POST", "/_rehearsal/seed", json!({
                "users": [
                    {"key": "alice", "name": "Alice Ng", "email": "alice@acme.test", "greenhouse_user_id": 101},
                    {"key": "bob", "name": "Bob Ode", "email": "bob@acme.test", "greenhouse_user_id": 102},
                ],
                "webhook": {"url": "http://hooks.test/iop", "secrets": [SECRET]},
            }))
            .await;
        harness.users = seeded.body["users"].clone();
        harness
    }

    fn user(&self, key: &str) -> String {
        self.users[key].as_str().unwrap().to_owned()
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body =
            body.map(|b| Body::from(serde_json::to_vec(&b).unwrap())).unwrap_or_else(Body::empty);
        let response = self.router.clone().oneshot(builder.body(body).unwrap()).await.unwrap();
        let failure = response.extensions().get::<SimulatedFailure>().copied();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body =
            if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
        Reply { status, headers, body, failure }
    }

    /// An authenticated `/v1` call.
    async fn api(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.api_with(method, path, body, &[]).await
    }

    async fn api_with(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let auth = format!("Bearer {KEY}");
        let mut all = vec![("authorization", auth.as_str())];
        all.extend_from_slice(headers);
        self.send(method, path, body, &all).await
    }

    async fn control(&self, method: &str, path: &str, body: Value) -> Reply {
        self.send(method, path, Some(body), &[]).await
    }

    async fn act(&self, action: Value) -> Reply {
        self.control("POST", "/_rehearsal/actions", action).await
    }

    async fn deliver(&self) -> Value {
        self.control("POST", "/_rehearsal/deliver", json!({})).await.body
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Event types recorded so far, in order.
    async fn event_types(&self) -> Vec<String> {
        let state = self.control("GET", "/_rehearsal/state", json!({})).await.body;
        state["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn candidate(&self, gh_id: i64) -> String {
        let body = json!({
            "first_name": "José", "last_name": "Núñez",
            "emails": [{"address": "Jose@Example.test", "type": "personal", "primary": true}],
            "phones": [{"number": "+15555550100", "type": "mobile"}],
            "timezone": "America/New_York",
        });
        let reply = self
            .api("PUT", &format!("/v1/candidates/by_external_ref/greenhouse/{gh_id}"), Some(body))
            .await;
        reply.body["id"].as_str().unwrap().to_owned()
    }

    fn request_body(candidate_id: &str, mode: &str, reference: &str) -> Value {
        json!({
            "candidate_id": candidate_id,
            "client_reference": reference,
            "mode": mode,
            "external_refs": {"greenhouse": {"application_id": 987, "job_id": 5, "job_name": "Engineer", "stage_id": 77, "stage_name": "Onsite"}},
            "interviews_requested": [
                {"name": "Technical", "duration_minutes": 60, "external_refs": {"greenhouse": {"interview_id": 555}}},
                {"name": "Culture", "duration_minutes": 45, "external_refs": {"greenhouse": {"interview_id": 556}}},
            ],
        })
    }

    /// A scheduling request for a fresh candidate; returns its id.
    async fn scheduling_request(&self, mode: &str) -> String {
        let candidate = self.candidate(123).await;
        let body = Self::request_body(&candidate, mode, &format!("gh:app:987:stage:77:{mode}"));
        let reply = self
            .api_with("POST", "/v1/scheduling_requests", Some(body), &[("idempotency-key", mode)])
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    /// Books an interview tomorrow 10:00–11:00 through the control API; returns its id.
    async fn booked_interview(&self, request_id: &str, interviewers: &[String]) -> String {
        let start = self.clock.now() + Duration::days(1) + Duration::hours(1);
        let reply = self
            .act(json!({
                "action": "schedule_interview", "scheduling_request_id": request_id,
                "start_at": iop_timestamp(start), "end_at": iop_timestamp(start + Duration::hours(1)),
                "interviewer_ids": interviewers,
            }))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["created_id"].as_str().unwrap().to_owned()
    }
}

fn error_code(reply: &Reply) -> &str {
    reply.body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn requests_without_a_valid_key_are_unauthenticated() {
    let h = Harness::new().await;
    let missing = h.send("GET", "/v1/candidates", None, &[]).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&missing), "unauthenticated");
    assert_eq!(missing.body["error"]["type"], "authentication");
    assert!(missing.headers["x-request-id"].to_str().unwrap().starts_with("req_"));
    assert_eq!(
        missing.body["error"]["request_id"],
        missing.headers["x-request-id"].to_str().unwrap()
    );
    assert!(missing.headers.contains_key("x-ratelimit-limit"));

    let wrong = h.send("GET", "/v1/candidates", None, &[("authorization", "Bearer nope")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body["error"]["message"], "the API key is not valid");
}

#[tokio::test]
async fn candidate_upsert_creates_then_bumps_version_only_on_change() {
    let h = Harness::new().await;
    let path = "/v1/candidates/by_external_ref/greenhouse/123";
    let body = json!({"first_name": "Ada", "last_name": "L", "emails": [{"address": "ADA@x.test", "type": "work", "primary": true}]});

    let created = h.api("PUT", path, Some(body.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["version"], 1);
    assert_eq!(created.body["external_refs"]["greenhouse"]["candidate_id"], 123);
    assert_eq!(created.body["emails"][0]["address"], "ada@x.test");
    assert_eq!(created.body["created_at"], "2026-11-02T09:00:00Z");
    assert!(created.headers["x-ratelimit-remaining"].to_str().is_ok());

    let same = h.api("PUT", path, Some(body)).await;
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(same.body["version"], 1);

    h.advance(Duration::minutes(5));
    let changed =
        h.api("PUT", path, Some(json!({"first_name": "Ada", "last_name": "Lovelace"}))).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(changed.body["version"], 2);
    assert_eq!(changed.body["updated_at"], "2026-11-02T09:05:00Z");
    assert_eq!(h.event_types().await, ["candidate.created", "candidate.updated"]);

    let id = created.body["id"].as_str().unwrap();
    let fetched = h.api("GET", &format!("/v1/candidates/{id}"), None).await;
    assert_eq!(fetched.body["last_name"], "Lovelace");
    let events = h.api("GET", "/v1/events?type=candidate.updated", None).await;
    assert_eq!(events.body["data"][0]["data"]["previous_attributes"]["last_name"], "L");
    assert_eq!(
        events.body["data"][0]["related"]["external_refs"]["greenhouse"]["candidate_id"],
        123
    );
}

/// The contract types candidate and user time zones as IANA names (§4.3); anything else is a
/// 422 on the field, on every write that takes one, and `null` still clears.
#[tokio::test]
async fn time_zones_outside_the_tz_database_are_refused() {
    let h = Harness::new().await;
    let path = "/v1/candidates/by_external_ref/greenhouse/5";
    let with_zone = |zone: Value| json!({"first_name": "A", "last_name": "B", "timezone": zone});
    for zone in ["Mars/Olympus", "CEST", "europe/madrid", ""] {
        let reply = h.api("PUT", path, Some(with_zone(json!(zone)))).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{zone}");
        assert_eq!(
            reply.body["error"]["details"]["fields"][0]["code"], "invalid_timezone",
            "{zone}"
        );
        assert_eq!(reply.body["error"]["details"]["fields"][0]["field"], "timezone");
    }
    let created = h.api("PUT", path, Some(with_zone(json!("Europe/Madrid")))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();

    let candidate = format!("/v1/candidates/{id}");
    let bad = h.api("PATCH", &candidate, Some(json!({"timezone": "GMT+2 ish"}))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let cleared = h.api("PATCH", &candidate, Some(json!({"timezone": null}))).await;
    assert_eq!(cleared.status, StatusCode::OK, "null clears: {}", cleared.body);

    let user = json!({"name": "P", "email": "p@x.test", "timezone": "Atlantis/Deep"});
    let reply = h.api("PUT", "/v1/users/by_external_ref/greenhouse/9", Some(user)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["error"]["details"]["fields"][0]["field"], "timezone");
}

#[tokio::test]
async fn candidate_validation_names_the_field() {
    let h = Harness::new().await;
    let path = "/v1/candidates/by_external_ref/greenhouse/1";
    let two_primaries = json!({"first_name": "A", "last_name": "B", "emails": [
        {"address": "a@x.test", "type": "work", "primary": true}, {"address": "b@x.test", "type": "work", "primary": true}]});
    let reply = h.api("PUT", path, Some(two_primaries)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&reply), "validation_failed");
    assert_eq!(reply.body["error"]["details"]["fields"][0]["field"], "emails");

    let missing = h.api("PUT", path, Some(json!({"last_name": "B"}))).await;
    assert_eq!(
        missing.body["error"]["details"]["fields"][0],
        json!({"field": "first_name", "code": "required", "message": missing.body["error"]["message"]})
    );

    let bad_type = h.api("PUT", path, Some(json!({"first_name": "A", "last_name": "B", "phones": [{"number": "1", "type": "skype"}]}))).await;
    assert_eq!(bad_type.body["error"]["details"]["fields"][0]["field"], "phones[0].type");

    let not_int = h
        .api(
            "PUT",
            "/v1/candidates/by_external_ref/greenhouse/abc",
            Some(json!({"first_name": "A", "last_name": "B"})),
        )
        .await;
    assert_eq!(not_int.body["error"]["details"]["fields"][0]["field"], "gh_candidate_id");

    let request = Request::builder()
        .method("PUT")
        .uri(path)
        .header("authorization", format!("Bearer {KEY}"))
        .body(Body::from("{not json"))
        .unwrap();
    let response = h.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["error"]["code"], "malformed_json");
}

#[tokio::test]
async fn lists_paginate_with_cursor_and_link_header() {
    let h = Harness::new().await;
    for gh_id in [1, 2, 3] {
        h.candidate(gh_id).await;
        h.advance(Duration::seconds(1));
    }
    let first = h.api("GET", "/v1/candidates?limit=2", None).await;
    assert_eq!(first.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(first.body["has_more"], true);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let link = first.headers["link"].to_str().unwrap();
    assert!(
        link.starts_with("<http://iop.test/v1/candidates?limit=2&cursor=")
            && link.ends_with("rel=\"next\""),
        "{link}"
    );

    let second = h.api("GET", &format!("/v1/candidates?limit=2&cursor={cursor}"), None).await;
    assert_eq!(second.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["data"][0]["external_refs"]["greenhouse"]["candidate_id"], 3);
    assert_eq!(second.body["has_more"], false);
    assert_eq!(second.body["next_cursor"], Value::Null);

    let by_ref = h.api("GET", "/v1/candidates?external_ref.greenhouse.candidate_id=2", None).await;
    assert_eq!(by_ref.body["data"].as_array().unwrap().len(), 1);
    let by_email = h.api("GET", "/v1/candidates?email=jose%40example.test", None).await;
    assert_eq!(by_email.body["data"].as_array().unwrap().len(), 3);
    let after = h.api("GET", "/v1/candidates?updated_after=2026-11-02T09:00:00Z", None).await;
    assert_eq!(after.body["data"].as_array().unwrap().len(), 2);

    assert_eq!(
        error_code(&h.api("GET", "/v1/candidates?limit=0", None).await),
        "validation_failed"
    );
    assert_eq!(
        error_code(&h.api("GET", "/v1/candidates?cursor=zzz", None).await),
        "validation_failed"
    );
}

#[tokio::test]
async fn users_are_listed_and_filtered() {
    let h = Harness::new().await;
    let all = h.api("GET", "/v1/users", None).await;
    assert_eq!(all.body["data"].as_array().unwrap().len(), 2);
    let bob = h.api("GET", "/v1/users?external_ref.greenhouse.user_id=102", None).await;
    assert_eq!(bob.body["data"][0]["email"], "bob@acme.test");
    let by_email = h.api("GET", "/v1/users?email=ALICE@acme.test&status=active", None).await;
    assert_eq!(by_email.body["data"][0]["id"], h.user("alice"));
    let one = h.api("GET", &format!("/v1/users/{}", h.user("bob")), None).await;
    assert_eq!(one.body["calendar_status"], "connected");
    assert_eq!(h.api("GET", "/v1/users/usr_999999", None).await.status, StatusCode::NOT_FOUND);

    let deactivated = h.act(json!({"action": "deactivate_user", "user_id": h.user("bob")})).await;
    assert_eq!(deactivated.body["webhooks_queued"], 1);
    let again = h.act(json!({"action": "deactivate_user", "user_id": h.user("bob")})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    h.act(json!({"action": "disconnect_calendar", "user_id": h.user("alice")})).await;
    assert_eq!(h.event_types().await, ["user.deactivated", "user.calendar_disconnected"]);
}

#[tokio::test]
async fn scheduling_request_creation_sends_the_link_or_stays_pending() {
    let h = Harness::new().await;
    let candidate = h.candidate(123).await;
    let body = Harness::request_body(&candidate, "availability", "ref-1");

    let no_key = h.api("POST", "/v1/scheduling_requests", Some(body.clone())).await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&no_key), "idempotency_key_required");

    let mut unknown = body.clone();
    unknown["candidate_id"] = json!("cand_999999");
    let reply = h
        .api_with("POST", "/v1/scheduling_requests", Some(unknown), &[("idempotency-key", "k0")])
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["error"]["details"]["fields"][0]["field"], "candidate_id");

    let created = h
        .api_with(
            "POST",
            "/v1/scheduling_requests",
            Some(body.clone()),
            &[("idempotency-key", "k1")],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["status"], "availability_requested");
    assert_eq!(created.body["version"], 2);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(created.body["candidate_link"], format!("http://iop.test/schedule/{id}"));
    assert_eq!(created.body["window"]["earliest"], "2026-11-03");
    assert_eq!(
        h.event_types().await[1..],
        ["scheduling_request.created", "scheduling_request.availability_requested"]
    );

    let duplicate = h
        .api_with("POST", "/v1/scheduling_requests", Some(body), &[("idempotency-key", "k2")])
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    assert_eq!(error_code(&duplicate), "duplicate_client_reference");
    assert_eq!(duplicate.body["error"]["details"]["existing_id"], id);

    let coordinator = Harness::request_body(&candidate, "coordinator", "ref-2");
    let pending = h
        .api_with(
            "POST",
            "/v1/scheduling_requests",
            Some(coordinator),
            &[("idempotency-key", "k3")],
        )
        .await;
    assert_eq!(pending.body["status"], "pending");
    assert_eq!(pending.body["candidate_link"], Value::Null);

    let listed = h
        .api(
            "GET",
            "/v1/scheduling_requests?external_ref.greenhouse.application_id=987&status=pending",
            None,
        )
        .await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    let fetched = h.api("GET", &format!("/v1/scheduling_requests/{id}"), None).await;
    assert_eq!(
        fetched.body["interviews_requested"][0]["external_refs"]["greenhouse"]["interview_id"],
        555
    );
    assert_eq!(
        h.api("GET", "/v1/scheduling_requests/sreq_424242", None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn idempotency_replays_refuses_reuse_and_reports_in_flight() {
    let h = Harness::new().await;
    let candidate = h.candidate(123).await;
    let body = Harness::request_body(&candidate, "self_schedule", "ref-i");
    let key = [("idempotency-key", "evt-gh-1")];

    let first = h.api_with("POST", "/v1/scheduling_requests", Some(body.clone()), &key).await;
    let replay = h.api_with("POST", "/v1/scheduling_requests", Some(body.clone()), &key).await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.body, first.body);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert!(!first.headers.contains_key("idempotent-replayed"));
    let all = h.api("GET", "/v1/scheduling_requests", None).await;
    assert_eq!(all.body["data"].as_array().unwrap().len(), 1);

    let mut other = body.clone();
    other["client_reference"] = json!("ref-other");
    let reused = h.api_with("POST", "/v1/scheduling_requests", Some(other), &key).await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&reused), "idempotency_key_reused");

    {
        let mut state = h.mock.lock();
        let expires_at = state.now + Duration::hours(1);
        let record = IdempotencyRecord::InFlight { fingerprint: "x".into(), expires_at };
        state.idempotency.insert((KEY.to_owned(), "busy".to_owned()), record);
    }
    let busy = h
        .api_with(
            "POST",
            "/v1/scheduling_requests",
            Some(body.clone()),
            &[("idempotency-key", "busy")],
        )
        .await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    assert_eq!(error_code(&busy), "idempotency_in_progress");

    // After 24 h the key is forgotten: the same body runs again (and now hits the
    // client_reference check instead of a replay).
    h.advance(Duration::hours(25));
    let later = h.api_with("POST", "/v1/scheduling_requests", Some(body), &key).await;
    assert_eq!(error_code(&later), "duplicate_client_reference");
}

#[tokio::test]
async fn cancelling_a_request_cancels_its_scheduled_interviews_first() {
    let h = Harness::new().await;
    let request = h.scheduling_request("availability").await;
    let interview = h.booked_interview(&request, &[h.user("alice")]).await;

    let no_reason = h
        .api(
            "POST",
            &format!("/v1/scheduling_requests/{request}/cancel"),
            Some(json!({"reason": "bored"})),
        )
        .await;
    assert_eq!(no_reason.body["error"]["details"]["fields"][0]["field"], "reason");

    let path = format!("/v1/scheduling_requests/{request}/cancel");
    let cancelled = h
        .api("POST", &path, Some(json!({"reason": "application_rejected", "note": "no fit"})))
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["cancellation"]["reason"], "application_rejected");
    assert_eq!(cancelled.body["cancellation"]["note"], "no fit");

    let got = h.api("GET", &format!("/v1/interviews/{interview}"), None).await;
    assert_eq!(got.body["status"], "cancelled");
    assert_eq!(got.body["cancellation"]["cancelled_by"], "system");
    assert_eq!(got.body["cancellation"]["reason"], "application_rejected");
    let types = h.event_types().await;
    assert_eq!(types[types.len() - 2..], ["interview.cancelled", "scheduling_request.cancelled"]);

    let again = h.api("POST", &path, Some(json!({"reason": "manual"}))).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(error_code(&again), "invalid_state_transition");
}

#[tokio::test]
async fn illegal_control_actions_answer_with_the_contract_code() {
    let h = Harness::new().await;
    let request = h.scheduling_request("availability").await;
    h.act(json!({"action": "cancel_request", "scheduling_request_id": request})).await;

    let start = h.clock.now() + Duration::days(1);
    let scheduled = h
        .act(json!({"action": "schedule_interview", "scheduling_request_id": request,
            "start_at": iop_timestamp(start), "end_at": iop_timestamp(start + Duration::hours(1))}))
        .await;
    assert_eq!(scheduled.status, StatusCode::CONFLICT);
    assert!(
        scheduled.body["message"].as_str().unwrap().starts_with("invalid_state_transition:"),
        "{}",
        scheduled.body
    );

    let feedback = h.act(json!({"action": "submit_feedback", "interview_id": "int_999999", "overall_recommendation": "yes"})).await;
    assert_eq!(feedback.status, StatusCode::NOT_FOUND);
    assert!(feedback.body["message"].as_str().unwrap().starts_with("not_found:"));

    let unknown = h.act(json!({"action": "dance"})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let missing =
        h.act(json!({"action": "cancel_request", "scheduling_request_id": "sreq_999999"})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn rate_limit_answers_429_until_the_window_resets() {
    let h = Harness::new().await;
    h.control("PUT", "/_rehearsal/faults", json!({"rate_limit_per_window": 2})).await;
    let first = h.api("GET", "/v1/users", None).await;
    assert_eq!(first.headers["x-ratelimit-limit"], "2");
    assert_eq!(first.headers["x-ratelimit-remaining"], "1");
    assert_eq!(first.headers["x-ratelimit-reset"], "10");
    h.api("GET", "/v1/users", None).await;
    let limited = h.api("GET", "/v1/users", None).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&limited), "rate_limited");
    assert_eq!(limited.headers["retry-after"], "10");
    assert_eq!(limited.headers["x-ratelimit-remaining"], "0");

    h.advance(Duration::seconds(10));
    assert_eq!(h.api("GET", "/v1/users", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn api_faults_fire_as_configured_and_are_journalled() {
    let h = Harness::new().await;
    let faults = json!({"api": [
        {"method": "GET", "path_prefix": "/v1/users", "kind": "status_503", "times": 1},
        {"path_prefix": "/v1/candidates", "kind": "timeout", "times": 1},
    ]});
    assert_eq!(h.control("PUT", "/_rehearsal/faults", faults).await.status, StatusCode::OK);
    let bad = h
        .control(
            "PUT",
            "/_rehearsal/faults",
            json!({"api": [{"kind": "status_500", "probability": 2.0}]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let unknown = h.control("PUT", "/_rehearsal/faults", json!({"chaos": true})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);

    let unavailable = h.api("GET", "/v1/users", None).await;
    assert_eq!(unavailable.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(&unavailable), "unavailable");
    assert!(unavailable.headers.contains_key("retry-after"));
    assert_eq!(h.api("GET", "/v1/users", None).await.status, StatusCode::OK);

    let timeout = h.api("GET", "/v1/candidates", None).await;
    assert_eq!(timeout.failure, Some(SimulatedFailure::Timeout));

    let journal = h.control("GET", "/_rehearsal/journal", json!({})).await.body;
    let notes: Vec<&str> = journal
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["notes"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    assert!(
        notes.contains(&"fault:status_503")
            && notes.contains(&"fault:timeout")
            && notes.contains(&"control")
    );
    let timed_out =
        journal.as_array().unwrap().iter().find(|e| e["notes"][0] == "fault:timeout").unwrap();
    assert_eq!(timed_out["status"], Value::Null);
    let authorization =
        journal[1]["headers"].as_array().unwrap().iter().find(|h| h[0] == "authorization");
    assert!(authorization.is_none_or(|h| h[1] == "[redacted]"));
}

#[tokio::test]
async fn control_state_journal_and_reset() {
    let h = Harness::new().await;
    h.scheduling_request("availability").await;
    let state = h.control("GET", "/_rehearsal/state", json!({})).await.body;
    assert_eq!(state["users"].as_array().unwrap().len(), 2);
    assert_eq!(state["scheduling_requests"][0]["status"], "availability_requested");
    assert_eq!(
        state["subscriptions"][0],
        json!({"id": "whk_000001", "url": "http://hooks.test/iop", "status": "active"})
    );
    assert_eq!(state["events"][0]["object_id"], "cand_000001");
    assert!(!state.to_string().contains(SECRET));

    let journal = h.control("GET", "/_rehearsal/journal", json!({})).await.body;
    assert!(
        journal
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == "/v1/scheduling_requests" && e["status"] == 201)
    );
    assert!(!journal.to_string().contains(KEY));

    h.control("POST", "/_rehearsal/reset", json!({})).await;
    let state = h.control("GET", "/_rehearsal/state", json!({})).await.body;
    assert_eq!(state["users"], json!([]));
    assert_eq!(state["events"], json!([]));
    assert_eq!(h.control("GET", "/_rehearsal/nope", json!({})).await.status, StatusCode::NOT_FOUND);
    let unknown = h.api("GET", "/v1/nothing", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["error"]["type"], "not_found");
}

/// Regression (found by a new user): a request refused as malformed JSON used to use up its
/// Idempotency-Key, so the corrected request got `idempotency_key_reused` forever.
#[tokio::test]
async fn a_request_refused_before_it_runs_does_not_use_up_its_key() {
    let h = Harness::new().await;
    let candidate = h.candidate(321).await;
    let key = [("idempotency-key", "fix-me")];

    let invalid = json!({"candidate_id": candidate, "mode": "sometimes"});
    let refused = h.api_with("POST", "/v1/scheduling_requests", Some(invalid), &key).await;
    assert!(
        refused.status == StatusCode::BAD_REQUEST
            || refused.status == StatusCode::UNPROCESSABLE_ENTITY
    );

    let body = Harness::request_body(&candidate, "availability", "ref-fixed");
    let fixed = h.api_with("POST", "/v1/scheduling_requests", Some(body), &key).await;
    assert_eq!(fixed.status, StatusCode::CREATED, "{}", fixed.body);
}
