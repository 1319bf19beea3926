//! What the engine logs at INFO and above: ids on spans, never secrets, bodies or candidate
//! data.

use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::Method;
use rehearsal::transport::{HttpClient, raw_request};

use crate::engine_world::{
    GH_CLIENT_SECRET, GH_HOOK, GH_URL, IOP_HOOK, IOP_KEY, IOP_URL, InProcess, open_requests, seed,
    seed_world,
};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn info_logs_carry_ids_and_no_secrets_bodies_or_candidate_data() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let world = InProcess::start().await;
    let seeded = seed_world(&world.http, GH_URL, &seed(1, "Onsite")).await;
    let application = seeded.candidates["c0"].applications[0];
    let email = "ana.ruiz.0@example.test";

    // A webhook whose payload carries the candidate's email and phone, as real ones do.
    let body = format!(
        r#"{{"action":"candidate_stage_change","payload":{{"application":{{"id":{application},"candidate":{{"first_name":"Ana","email_addresses":[{{"value":"{email}","type":"personal"}}],"phone_numbers":[{{"value":"+34 600 111 222","type":"mobile"}}]}}}}}}}}"#
    );
    let body = Bytes::from(body);
    let signature = rehearsal::greenhouse::signature::sign(GH_HOOK, &body);
    let request = raw_request(
        Method::POST,
        "http://engine.test/webhooks/greenhouse",
        body.clone(),
        Some("application/json"),
        &[("signature", signature), ("greenhouse-event-id", "evt-pii-1".into())],
    )
    .unwrap();
    assert!(world.http.send(request).await.unwrap().status().is_success());
    // One refused webhook too: its failure is logged, its body is not.
    let forged = raw_request(
        Method::POST,
        "http://engine.test/webhooks/greenhouse",
        body,
        Some("application/json"),
        &[("signature", "sha256 00".into())],
    )
    .unwrap();
    assert_eq!(world.http.send(forged).await.unwrap().status(), 401);

    world.engine.run_due().await.unwrap();
    world.engine.reconcile().await.unwrap();
    assert_eq!(
        open_requests(&world.http, IOP_URL).await.get(&application),
        Some(&1),
        "the event was acted on"
    );

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("webhook accepted"), "{logs}");
    let handled =
        logs.lines().find(|l| l.contains("event handled")).unwrap_or_else(|| panic!("{logs}"));
    assert!(handled.contains("event_id=evt-pii-1"), "the span carries the event id: {handled}");
    assert!(handled.contains("kind=candidate_stage_change"), "{handled}");

    for secret in [GH_CLIENT_SECRET, GH_HOOK, IOP_KEY, IOP_HOOK] {
        assert!(!logs.contains(secret), "secret {secret:?} leaked: {logs}");
    }
    for personal in [email, "600 111 222", "+34600111222", "Ruiz 0"] {
        assert!(!logs.contains(personal), "candidate data {personal:?} leaked: {logs}");
    }
    assert!(!logs.contains("email_addresses"), "a body leaked: {logs}");

    // The same run, as Prometheus sees it.
    let request =
        raw_request(Method::GET, "http://engine.test/metrics", Bytes::new(), None, &[]).unwrap();
    let response = world.http.send(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let metrics = String::from_utf8_lossy(response.body()).into_owned();
    assert!(
        metrics.contains(r#"rehearsal_engine_events_received_total{source="greenhouse",kind="candidate_stage_change"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"rehearsal_engine_actions_total{action="scheduling_request_opened"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("rehearsal_engine_queue_depth 0"), "{metrics}");
    assert!(metrics.contains("rehearsal_engine_handler_duration_seconds_count{"), "{metrics}");
    assert!(!metrics.contains(email), "{metrics}");
}
