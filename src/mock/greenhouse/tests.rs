//! The mock through its router, as the engine and the scenario runner see it: status, headers
//! and bodies of the wire contract.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{Credential, GreenhouseMockConfig, MockGreenhouse};
use crate::clock::ManualClock;
use crate::greenhouse::signature::verify;
use crate::mock::journal::Direction;
use crate::transport::RouterClient;

pub(super) const HOOK_SECRET: &str = "hook-secret";

pub(super) struct Rig {
    pub(super) mock: MockGreenhouse,
    pub(super) router: Router,
    pub(super) clock: Arc<ManualClock>,
    pub(super) http: RouterClient,
}

pub(super) fn rig() -> Rig {
    let clock = Arc::new(ManualClock::new(ManualClock::scenario_epoch()));
    let http = RouterClient::new();
    let mut config = GreenhouseMockConfig::default();
    config.credentials.push(Credential {
        client_id: "limited-2".to_owned(),
        client_secret: "limited-secret".to_owned(),
        scopes: vec!["harvest:candidates:list".to_owned()],
    });
    let mock = MockGreenhouse::new(config, clock.clone(), Arc::new(http.clone()));
    let router = mock.router();
    Rig { mock, router, clock, http }
}

pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Value,
}

impl Answer {
    pub(super) fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

pub(super) async fn send(
    router: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, String)],
    body: Body,
) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
    Answer { status, headers, body }
}

pub(super) fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

pub(super) async fn token_request(router: &Router, auth: Option<String>, form: &str) -> Answer {
    let mut headers = vec![("content-type", "application/x-www-form-urlencoded".to_owned())];
    if let Some(auth) = auth {
        headers.push(("authorization", auth));
    }
    send(router, "POST", "/token", &headers, Body::from(form.to_owned())).await
}

pub(super) async fn token_as(router: &Router, id: &str, secret: &str, sub: Option<i64>) -> String {
    let form = match sub {
        Some(sub) => format!("grant_type=client_credentials&sub={sub}"),
        None => "grant_type=client_credentials".to_owned(),
    };
    let answer = token_request(router, Some(basic(id, secret)), &form).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["access_token"].as_str().unwrap().to_owned()
}

pub(super) async fn token(router: &Router) -> String {
    token_as(router, "rehearsal-1", "rehearsal-secret", None).await
}

pub(super) async fn get(router: &Router, token: &str, uri: &str) -> Answer {
    send(router, "GET", uri, &[("authorization", format!("Bearer {token}"))], Body::empty()).await
}

pub(super) async fn write(
    router: &Router,
    token: &str,
    method: &str,
    uri: &str,
    body: Value,
) -> Answer {
    let headers = [
        ("authorization", format!("Bearer {token}")),
        ("content-type", "application/json".to_owned()),
    ];
    send(router, method, uri, &headers, Body::from(body.to_string())).await
}

pub(super) async fn control(router: &Router, method: &str, path: &str, body: Value) -> Answer {
    let headers = [("content-type", "application/json".to_owned())];
    let body = if body.is_null() { Body::empty() } else { Body::from(body.to_string()) };
    send(router, method, &format!("/_rehearsal/{path}"), &headers, body).await
}

/// One job with three stages (the second has an interview), a recruiter and one candidate.
pub(super) async fn seed_world(router: &Router) -> Value {
    let seed = json!({
        "users": [
            {"key": "rita", "first_name": "Rita", "last_name": "Recruiter", "email": "rita@example.com"},
            {"key": "ivan", "first_name": "Ivan", "last_name": "Interviewer", "email": "ivan@example.com", "site_admin": false},
        ],
        "jobs": [{
            "key": "eng", "name": "Engineer",
            "stages": [
                {"name": "Application Review"},
                {"name": "Technical Interview", "interviews": [{"name": "Pairing", "interviewer_keys": ["ivan"]}]},
                {"name": "Offer"},
            ],
        }],
        "candidates": [{
            "key": "ada", "id": 5_000_000_123_i64, "first_name": "Ada", "last_name": "Lovelace",
            "email_addresses": [{"value": "ada@example.com", "type": "personal"}],
            "applications": [{"job_key": "eng"}],
        }],
    });
    let answer = control(router, "POST", "seed", seed).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

pub(super) type Received = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A webhook receiver at `hooks.test` that checks each signature and answers `status`.
pub(super) fn receiver(rig: &Rig, status: Arc<AtomicU16>) -> Received {
    let received: Received = Arc::default();
    let log = received.clone();
    let handler = move |headers: HeaderMap, body: bytes::Bytes| {
        let log = log.clone();
        let status = status.clone();
        async move {
            let signature = headers.get("signature").and_then(|v| v.to_str().ok());
            verify(&[HOOK_SECRET.to_owned()], signature, &body).expect("signature verifies");
            log.lock().unwrap().push((headers.clone(), body.to_vec()));
            StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap()
        }
    };
    rig.http.register("hooks.test", Router::new().route("/hooks", post(handler)));
    received
}

pub(super) async fn point_webhooks(router: &Router) {
    let body = json!({"url": "http://hooks.test/hooks", "secret": HOOK_SECRET});
    assert_eq!(control(router, "PUT", "webhook", body).await.status, StatusCode::OK);
}

#[tokio::test]
async fn token_endpoint_happy_path() {
    let rig = rig();
    let answer = token_request(
        &rig.router,
        Some(basic("rehearsal-1", "rehearsal-secret")),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["token_type"], "Bearer");
    assert_eq!(answer.body["expires_in"], 3600);
    assert_eq!(answer.body["expires_at"], "2026-11-02T10:00:00.000Z");
    assert!(answer.body["access_token"].as_str().is_some_and(|t| !t.is_empty()));

    // grant_type in the query string is accepted too, and the journal never holds the token.
    let query = send(
        &rig.router,
        "POST",
        "/token?grant_type=client_credentials",
        &[("authorization", basic("rehearsal-1", "rehearsal-secret"))],
        Body::empty(),
    )
    .await;
    assert_eq!(query.status, StatusCode::OK);
    let journal = serde_json::to_string(&rig.mock.journal()).unwrap();
    assert!(!journal.contains(answer.body["access_token"].as_str().unwrap()));
    assert!(!journal.contains("rehearsal-secret"));
}

/// The access token is a JWT whose payload names the acting user as `sub` (reference:
/// harvest-v3 §3.1), with its issue and expiry instants; tokens differ from one mint to the next.
#[tokio::test]
async fn access_tokens_are_jwts_naming_the_acting_user() {
    let rig = rig();
    let seeded = seed_world(&rig.router).await;
    let ivan = seeded["users"]["ivan"].as_i64().unwrap();

    let token = token_as(&rig.router, "rehearsal-1", "rehearsal-secret", Some(ivan)).await;
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "header.payload.signature: {token}");
    let decode = |part: &str| -> Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    assert_eq!(decode(parts[0])["alg"], "HS256");
    let claims = decode(parts[1]);
    assert_eq!(claims["sub"], ivan.to_string());
    assert!(claims["silo"].is_string(), "{claims}");
    let issued = ManualClock::scenario_epoch().timestamp();
    assert_eq!(
        (claims["iat"].as_i64(), claims["exp"].as_i64()),
        (Some(issued), Some(issued + 3600))
    );

    let again = token_as(&rig.router, "rehearsal-1", "rehearsal-secret", Some(ivan)).await;
    assert_ne!(token, again, "each mint is a new token");
    // Both stay valid: minting does not revoke.
    for token in [&token, &again] {
        assert_eq!(get(&rig.router, token, "/v3/candidates").await.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn token_endpoint_errors_match_greenhouse() {
    let rig = rig();
    let r = &rig.router;

    let nothing = token_request(r, None, "").await;
    assert_eq!(nothing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(nothing.body["message"], "Unauthorized");
    assert!(nothing.body["errorId"].as_str().unwrap().starts_with("err-"));

    let suffix =
        token_request(r, Some(basic("notaclient", "x")), "grant_type=client_credentials").await;
    assert_eq!(suffix.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        suffix.body["message"],
        "client_id=notaclient does not contain a valid client ID suffix"
    );
    assert!(suffix.body["errorId"].is_string());

    let unknown =
        token_request(r, Some(basic("stranger-9", "x")), "grant_type=client_credentials").await;
    assert_eq!(
        (unknown.status, unknown.body.clone()),
        (StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}))
    );
    let wrong =
        token_request(r, Some(basic("rehearsal-1", "nope")), "grant_type=client_credentials").await;
    assert_eq!(
        (wrong.status, wrong.body.clone()),
        (StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}))
    );

    let no_grant = token_request(r, Some(basic("rehearsal-1", "rehearsal-secret")), "").await;
    assert_eq!(no_grant.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        no_grant.body,
        json!({"message": "Must include `grant_type` parameter in /token request"})
    );

    let bad_grant =
        token_request(r, Some(basic("rehearsal-1", "rehearsal-secret")), "grant_type=not_a_grant")
            .await;
    assert_eq!(bad_grant.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_grant.body["message"],
        "grant_type=not_a_grant is invalid, please use one of: authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:token-exchange"
    );

    let bad_sub = token_request(
        r,
        Some(basic("rehearsal-1", "rehearsal-secret")),
        "grant_type=client_credentials&sub=77",
    )
    .await;
    assert_eq!(bad_sub.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_sub.body["error"], "invalid_request");
}

#[tokio::test]
async fn expired_token_is_unauthorized() {
    let rig = rig();
    let token = token(&rig.router).await;
    assert_eq!(get(&rig.router, &token, "/v3/candidates").await.status, StatusCode::OK);

    rig.clock.advance(Duration::seconds(3601));
    let answer = get(&rig.router, &token, "/v3/candidates").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.body,
        json!({"message": "Unauthorized", "errors": ["Token could not be decoded. Please ensure your token is from a trusted source."]})
    );
    assert!(!answer.header("x-ratelimit-limit").is_empty(), "rate headers on errors too");
}

#[tokio::test]
async fn missing_scope_and_non_admin_are_forbidden() {
    let rig = rig();
    let seeded = seed_world(&rig.router).await;

    let limited = token_as(&rig.router, "limited-2", "limited-secret", None).await;
    assert_eq!(get(&rig.router, &limited, "/v3/candidates").await.status, StatusCode::OK);
    let denied = get(&rig.router, &limited, "/v3/applications").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        denied.body,
        json!({"message": "Forbidden", "errors": ["Missing required scope: harvest:applications:list"]})
    );

    let ivan = seeded["users"]["ivan"].as_i64().unwrap();
    let as_ivan = token_as(&rig.router, "rehearsal-1", "rehearsal-secret", Some(ivan)).await;
    let answer = get(&rig.router, &as_ivan, "/v3/candidates").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.body["errors"][0], "Harvest list endpoints require a Site Admin user");

    let rita = seeded["users"]["rita"].as_i64().unwrap();
    let as_rita = token_as(&rig.router, "rehearsal-1", "rehearsal-secret", Some(rita)).await;
    assert_eq!(get(&rig.router, &as_rita, "/v3/candidates").await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_are_404_before_auth_and_v1_is_retired() {
    let rig = rig();
    let unknown = send(&rig.router, "GET", "/v3/nonsense", &[], Body::empty()).await;
    assert_eq!(
        (unknown.status, unknown.body.clone()),
        (StatusCode::NOT_FOUND, json!({"message": "Resource not found"}))
    );
    assert_eq!(unknown.header("x-ratelimit-limit"), "50");
    let unauthenticated = send(&rig.router, "GET", "/v3/candidates", &[], Body::empty()).await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);

    let token = token(&rig.router).await;
    let retired = get(&rig.router, &token, "/v1/candidates").await;
    assert_eq!(
        (retired.status, retired.body),
        (StatusCode::NOT_FOUND, json!({"message": "Resource not found"}))
    );
    let journal = rig.mock.journal();
    let entry = journal.iter().find(|e| e.path == "/v1/candidates").unwrap();
    assert_eq!(entry.status, Some(404));
    assert!(entry.notes.contains(&"retired_api".to_owned()));
    assert!(entry.headers.contains(&("authorization".to_owned(), "[redacted]".to_owned())));
}

#[tokio::test]
async fn pagination_walks_every_candidate_once_in_descending_order() {
    let rig = rig();
    let candidates: Vec<Value> = (0..1234)
        .map(|n| json!({"key": format!("c{n}"), "first_name": "Cand", "last_name": format!("{n}")}))
        .collect();
    let answer = control(&rig.router, "POST", "seed", json!({"candidates": candidates})).await;
    assert_eq!(answer.status, StatusCode::OK);
    // An hour later, 100 more that the created_at filter must keep out on every page.
    rig.clock.advance(Duration::hours(1));
    let later: Vec<Value> = (0..100)
        .map(|n| json!({"key": format!("late{n}"), "first_name": "Late", "last_name": format!("{n}")}))
        .collect();
    assert_eq!(
        control(&rig.router, "POST", "seed", json!({"candidates": later})).await.status,
        StatusCode::OK
    );
    let faults = json!({"rate_limit_per_window": 500});
    assert_eq!(control(&rig.router, "PUT", "faults", faults).await.status, StatusCode::OK);
    let token = token(&rig.router).await;
    let mut seen: Vec<i64> = Vec::new();
    let mut uri = "/v3/candidates?per_page=100&created_at=lte|2026-11-02T09:00:00Z".to_owned();
    let mut pages = 0;
    loop {
        let page = get(&rig.router, &token, &uri).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        pages += 1;
        seen.extend(page.body.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()));
        let link = page.header("link").to_owned();
        if link.is_empty() {
            break;
        }
        assert!(link.ends_with(">; rel=\"next\""), "{link}");
        let next = link.trim_start_matches('<').split('>').next().unwrap();
        uri = next.strip_prefix("http://greenhouse.test").unwrap().to_owned();
        assert!(uri.starts_with("/v3/candidates?cursor="));
    }
    assert_eq!(pages, 13);
    assert_eq!(seen.len(), 1234);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "strictly descending, so each id once");

    // The filter travels inside the cursor: a window that excludes everything stays empty.
    let none = get(&rig.router, &token, "/v3/candidates?per_page=1&created_at=lt|2020-01-01").await;
    assert_eq!(none.body, json!([]));
    assert_eq!(none.header("link"), "");
}

#[tokio::test]
async fn list_parameter_errors_are_422() {
    let rig = rig();
    let token = token(&rig.router).await;
    let r = &rig.router;

    let first = get(r, &token, "/v3/rejection_reasons?per_page=1").await;
    assert_eq!(first.body.as_array().unwrap().len(), 0, "no seed, no reasons yet");
    seed_world(r).await;
    let first = get(r, &token, "/v3/rejection_reasons?per_page=1").await;
    let link = first.header("link").to_owned();
    let cursor_uri =
        link.trim_start_matches("<http://greenhouse.test").split('>').next().unwrap().to_owned();
    let mixed = get(r, &token, &format!("{cursor_uri}&per_page=5")).await;
    assert_eq!(mixed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        mixed.body,
        json!({"message": "Unprocessable Content", "errors": ["When passing a cursor, do not include other query params."]})
    );
    assert_eq!(
        get(r, &token, "/v3/candidates?cursor=%%%").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let big = get(r, &token, "/v3/candidates?per_page=600").await;
    assert_eq!(big.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        big.body,
        json!({"message": "Unprocessable Content", "errors": [{"per_page": "`600` number is greater than: 500"}]})
    );
    let small = get(r, &token, "/v3/candidates?per_page=0").await;
    assert_eq!(small.body["errors"][0]["per_page"], "`0` number is less than: 1");

    let after = get(r, &token, "/v3/candidates?updated_after=2026-01-01T00:00:00Z").await;
    assert_eq!(after.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        after.body,
        json!({"message": "Unprocessable Content", "errors": ["Invalid query params: updated_after"]})
    );
    let singular = get(r, &token, "/v3/applications?candidate_id=1&page=2").await;
    assert_eq!(singular.body["errors"][0], "Invalid query params: candidate_id, page");
    let in_process = get(r, &token, "/v3/applications?status=in_process").await;
    assert_eq!(in_process.status, StatusCode::UNPROCESSABLE_ENTITY);
    let active = get(r, &token, "/v3/applications?status=active&fields=stage_name").await;
    assert_eq!(
        active.body,
        json!([{"id": active.body[0]["id"], "stage_name": "Application Review"}])
    );
}

#[tokio::test]
async fn rate_limit_answers_429_until_the_window_ends() {
    let rig = rig();
    let token = token(&rig.router).await;
    for n in 0..50 {
        let answer = get(&rig.router, &token, "/v3/jobs").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("x-ratelimit-remaining"), (49 - n).to_string());
        assert_eq!(answer.header("x-ratelimit-limit"), "50");
    }
    let limited = get(&rig.router, &token, "/v3/jobs").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.body, json!({"message": "Rate limit exceeded"}));
    let retry_after: i64 = limited.header("retry-after").parse().unwrap();
    assert!(retry_after >= 1);
    let reset: i64 = limited.header("x-ratelimit-reset").parse().unwrap();
    assert_eq!(reset, rig.clock_now_secs() + retry_after);

    rig.clock.advance(Duration::seconds(retry_after));
    assert_eq!(get(&rig.router, &token, "/v3/jobs").await.status, StatusCode::OK);
}

impl Rig {
    fn clock_now_secs(&self) -> i64 {
        use crate::clock::Clock;
        self.clock.now().timestamp()
    }
}

#[tokio::test]
async fn move_with_stale_from_stage_is_422() {
    let rig = rig();
    let seeded = seed_world(&rig.router).await;
    let token = token(&rig.router).await;
    let app = &get(&rig.router, &token, "/v3/applications").await.body[0];
    let app_id = app["id"].as_i64().unwrap();
    let stage_row = app["stage_id"].as_i64().unwrap();
    let technical = seeded["jobs"]["eng"]["stages"]["Technical Interview"]["id"].as_i64().unwrap();
    let offer = seeded["jobs"]["eng"]["stages"]["Offer"]["id"].as_i64().unwrap();

    let uri = format!("/v3/applications/{app_id}/move");
    let moved = write(
        &rig.router,
        &token,
        "POST",
        &uri,
        json!({"from_stage_id": stage_row, "to_stage_id": technical}),
    )
    .await;
    assert_eq!(moved.status, StatusCode::NO_CONTENT);

    let stale = write(
        &rig.router,
        &token,
        "POST",
        &uri,
        json!({"from_stage_id": stage_row, "to_stage_id": offer}),
    )
    .await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(stale.body["message"], "Unprocessable Content");
    assert!(stale.body["errors"][0]["from_stage_id"].is_string());

    // The move closed one application_stages row and opened another.
    let rows =
        get(&rig.router, &token, &format!("/v3/application_stages?application_ids={app_id}"))
            .await
            .body;
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["current"], true);
    assert_eq!(rows[0]["job_interview_stage_id"], technical);
    assert_eq!(rows[1]["current"], false);
    let missing =
        write(&rig.router, &token, "POST", "/v3/applications/1/move", json!({"from_stage_id": 1}))
            .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn move_fires_a_signed_candidate_stage_change() {
    let rig = rig();
    let seeded = seed_world(&rig.router).await;
    let received = receiver(&rig, Arc::new(AtomicU16::new(200)));
    point_webhooks(&rig.router).await;
    let token = token(&rig.router).await;
    let app = get(&rig.router, &token, "/v3/applications").await.body[0].clone();
    let technical = seeded["jobs"]["eng"]["stages"]["Technical Interview"]["id"].as_i64().unwrap();
    let uri = format!("/v3/applications/{}/move", app["id"]);
    let body = json!({"from_stage_id": app["stage_id"], "to_stage_id": technical});
    assert_eq!(write(&rig.router, &token, "POST", &uri, body).await.status, StatusCode::NO_CONTENT);
    assert!(received.lock().unwrap().is_empty(), "nothing is sent before deliver");

    let report = control(&rig.router, "POST", "deliver", Value::Null).await.body;
    assert_eq!(report, json!({"delivered": 1, "failed": 0, "pending": 0, "next_due": null}));
    let received = received.lock().unwrap();
    let (headers, body) = &received[0];
    assert_eq!(headers["user-agent"], "Greenhouse-Webhooks-Mock");
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers.contains_key("greenhouse-event-id"));
    let payload: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(payload["action"], "candidate_stage_change");
    let application = &payload["payload"]["application"];
    assert_eq!(application["id"], app["id"]);
    assert_eq!(application["status"], "active");
    assert_eq!(application["candidate"]["id"], 5_000_000_123_i64);
    assert_eq!(application["current_stage"]["id"], technical);
    let pairing =
        seeded["jobs"]["eng"]["stages"]["Technical Interview"]["interviews"]["Pairing"].clone();
    assert_eq!(application["current_stage"]["interviews"][0]["id"], pairing);
    assert_eq!(application["current_stage"]["interviews"][0]["status"], "to_be_scheduled");

    let outbound: Vec<_> =
        rig.mock.journal().into_iter().filter(|e| e.direction == Direction::Outbound).collect();
    assert_eq!(outbound.len(), 1);
    assert!(outbound[0].headers.contains(&("signature".to_owned(), "[redacted]".to_owned())));
}

#[tokio::test]
async fn failed_delivery_is_retried_with_the_same_event_id() {
    let rig = rig();
    seed_world(&rig.router).await;
    let status = Arc::new(AtomicU16::new(500));
    let received = receiver(&rig, status.clone());
    point_webhooks(&rig.router).await;
    let app_id = rig.mock.lock().state.applications.keys().next().copied().unwrap();
    let action = json!({"action": "reject_application", "application_id": app_id});
    let outcome = control(&rig.router, "POST", "actions", action.clone()).await;
    assert_eq!(outcome.body, json!({"webhooks_queued": 1}));
    assert_eq!(control(&rig.router, "POST", "actions", action).await.status, StatusCode::CONFLICT);

    let first = control(&rig.router, "POST", "deliver", Value::Null).await.body;
    assert_eq!(
        (first["delivered"].clone(), first["failed"].clone(), first["pending"].clone()),
        (json!(0), json!(1), json!(1))
    );
    assert_eq!(first["next_due"], "2026-11-02T09:01:00Z");
    let early = control(&rig.router, "POST", "deliver", Value::Null).await.body;
    assert_eq!(early["failed"], 0, "the retry is not due yet");

    status.store(200, Ordering::SeqCst);
    rig.clock.advance(Duration::minutes(1));
    let second = control(&rig.router, "POST", "deliver", Value::Null).await.body;
    assert_eq!(second["delivered"], 1);
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].0["greenhouse-event-id"], received[1].0["greenhouse-event-id"]);
    assert_eq!(received[0].1, received[1].1, "the same bytes are re-sent");
    let status_report = control(&rig.router, "GET", "status", Value::Null).await.body;
    assert_eq!(status_report, json!({"delivered": 0, "failed": 0, "pending": 0, "next_due": null}));
}

#[tokio::test]
async fn deliveries_give_up_after_seven_attempts() {
    let rig = rig();
    seed_world(&rig.router).await;
    let received = receiver(&rig, Arc::new(AtomicU16::new(503)));
    point_webhooks(&rig.router).await;
    let app_id = rig.mock.lock().state.applications.keys().next().copied().unwrap();
    control(
        &rig.router,
        "POST",
        "actions",
        json!({"action": "hire_application", "application_id": app_id}),
    )
    .await;
    for minutes in [0, 1, 15, 60, 120, 240, 480] {
        rig.clock.advance(Duration::minutes(minutes));
        let report = control(&rig.router, "POST", "deliver", Value::Null).await.body;
        assert_eq!(report["failed"], 1, "attempt after {minutes} more minutes");
    }
    assert_eq!(received.lock().unwrap().len(), 7);
    let journal = rig.mock.journal();
    assert!(journal.iter().any(|e| e.notes.contains(&"webhook_given_up".to_owned())));
    assert_eq!(control(&rig.router, "GET", "status", Value::Null).await.body["pending"], 0);
}

/// The seeded world's ids an interview write needs: Ada's application, the Pairing interview of
/// her Technical Interview stage, and Ivan as interviewer.
fn ada_pairing_ivan(seeded: &Value) -> (i64, i64, i64) {
    let id = |value: &Value| value.as_i64().expect("a seeded id");
    (
        id(&seeded["candidates"]["ada"]["applications"][0]),
        id(&seeded["jobs"]["eng"]["stages"]["Technical Interview"]["interviews"]["Pairing"]),
        id(&seeded["users"]["ivan"]),
    )
}

/// All-day interviews end on an exclusive date (reference: v1-and-webhooks §2.5, the one-day
/// example runs `2017-08-22` → `2017-08-23`), so an end on the start day is as empty as a
/// timed interview ending at its start, and refused the same way.
#[tokio::test]
async fn all_day_interviews_must_end_after_the_day_they_start() {
    let rig = rig();
    let seeded = seed_world(&rig.router).await;
    let token = token(&rig.router).await;
    let (app_id, pairing, ivan) = ada_pairing_ivan(&seeded);
    let body = |event: &str, end_on: &str| {
        json!({
            "application_id": app_id,
            "job_interview_id": pairing,
            "external_event_id": event,
            "all_day_start_on": "2026-11-06",
            "all_day_end_on": end_on,
            "interviewers": [{"user_id": ivan}],
        })
    };

    for (event, end_on) in [("same-day", "2026-11-06"), ("day-before", "2026-11-05")] {
        let refused =
            write(&rig.router, &token, "POST", "/v3/interviews", body(event, end_on)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{end_on}");
        assert!(refused.body["errors"][0]["all_day_end_on"].is_string(), "{}", refused.body);
    }
    let one_day =
        write(&rig.router, &token, "POST", "/v3/interviews", body("one", "2026-11-07")).await;
    assert_eq!(one_day.status, StatusCode::CREATED, "{}", one_day.body);
}

#[tokio::test]
async fn interviews_create_reject_duplicates_and_delete() {
    let rig = rig();
    let seeded = seed_world(&rig.router).await;
    let received = receiver(&rig, Arc::new(AtomicU16::new(200)));
    point_webhooks(&rig.router).await;
    let token = token(&rig.router).await;
    let (app_id, pairing, ivan) = ada_pairing_ivan(&seeded);
    let body = json!({
        "application_id": app_id,
        "job_interview_id": pairing,
        "external_event_id": "iop-evt-1",
        "starts_at": "2026-11-03T10:00:00Z",
        "ends_at": "2026-11-03T11:00:00Z",
        "interviewers": [{"user_id": ivan}, {"email": "guest@elsewhere.example", "response_status": "accepted"}],
        "video_conferencing_url": "https://meet.example/abc",
    });

    let created = write(&rig.router, &token, "POST", "/v3/interviews", body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["status"], "scheduled");
    assert_eq!(created.body["starts_at"], "2026-11-03T10:00:00.000Z");
    assert_eq!(created.body["all_day_start_on"], Value::Null);
    assert_eq!(created.body["organizer_id"], super::state::SERVICE_USER_ID);
    let interview_id = created.body["id"].as_i64().unwrap();
    let panel = get(&rig.router, &token, &format!("/v3/interviewers?interview_ids={interview_id}"))
        .await
        .body;
    assert_eq!(panel.as_array().unwrap().len(), 2);

    let duplicate = write(&rig.router, &token, "POST", "/v3/interviews", body).await;
    assert_eq!(duplicate.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(duplicate.body["errors"][0]["external_event_id"], "has already been taken");

    let deleted = write(
        &rig.router,
        &token,
        "DELETE",
        &format!("/v3/interviews/{interview_id}"),
        Value::Null,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = write(
        &rig.router,
        &token,
        "DELETE",
        &format!("/v3/interviews/{interview_id}"),
        Value::Null,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    control(&rig.router, "POST", "deliver", Value::Null).await;
    let received = received.lock().unwrap();
    let payload: Value = serde_json::from_slice(&received[0].1).unwrap();
    assert_eq!(
        payload,
        json!({"action": "interview_deleted", "payload": {"interview": {"id": interview_id}}})
    );
}

#[tokio::test]
async fn seed_errors_name_the_culprit_and_state_is_unchanged() {
    let rig = rig();
    seed_world(&rig.router).await;
    let again = control(
        &rig.router,
        "POST",
        "seed",
        json!({"users": [{"key": "rita", "first_name": "R", "last_name": "R", "email": "r@x"}]}),
    )
    .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.body["message"], "duplicate user key `rita`");
    let bad_job = json!({"candidates": [{"key": "bob", "first_name": "B", "last_name": "B", "applications": [{"job_key": "nope"}]}]});
    let answer = control(&rig.router, "POST", "seed", bad_job).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.body["message"].as_str().unwrap().contains("unknown job key `nope`"));
    let state = control(&rig.router, "GET", "state", Value::Null).await.body;
    assert_eq!(state["candidates"].as_array().unwrap().len(), 1);
    assert_eq!(state["rejection_reasons"].as_array().unwrap().len(), 3);
    assert_eq!(state["rejection_reasons"][0]["type"]["key"], "WE_REJECTED_THEM");
}

#[tokio::test]
async fn timeout_fault_sets_the_simulated_failure() {
    let rig = rig();
    let token = token(&rig.router).await;
    let faults = json!({"api": [{"path_prefix": "/v3/jobs", "kind": "timeout", "times": 1}]});
    assert_eq!(control(&rig.router, "PUT", "faults", faults).await.status, StatusCode::OK);
    let request = Request::get("/v3/jobs")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = rig.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(response.extensions().get::<crate::transport::SimulatedFailure>().is_some());
    assert_eq!(
        get(&rig.router, &token, "/v3/jobs").await.status,
        StatusCode::OK,
        "used up after one"
    );
    let journal = rig.mock.journal();
    assert!(
        journal.iter().any(|e| e.notes.contains(&"fault:timeout".to_owned()) && e.status.is_none())
    );
}
