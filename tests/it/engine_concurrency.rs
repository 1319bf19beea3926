//! `service.concurrency`: the worker handles events of different candidates side by side, never
//! two of one candidate at once, and those in the order they were stored. Observed through a
//! Harvest stand-in that holds every application read for a while and notes when it starts and
//! ends (each event re-reads its own application, so the read names the event).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use rehearsal::clock::ManualClock;
use rehearsal::engine::Engine;
use rehearsal::engine::config::EngineConfig;
use rehearsal::transport::{BoxFuture, HttpClient, RouterClient, TransportError};

use crate::engine_world::{config_text, secrets_for, signed_greenhouse_webhook};

/// One application read: which application, when it started and ended.
type Read = (i64, Instant, Instant);

#[derive(Default)]
struct SlowHarvest {
    reads: Mutex<Vec<Read>>,
}

impl HttpClient for SlowHarvest {
    fn send(
        &self,
        request: Request<Bytes>,
    ) -> BoxFuture<'_, Result<Response<Bytes>, TransportError>> {
        Box::pin(async move {
            let uri = request.uri().clone();
            if uri.path() == "/token" {
                let body = r#"{"access_token":"t","expires_in":3600}"#;
                return Ok(Response::new(Bytes::from(body)));
            }
            let application = uri
                .query()
                .and_then(|q| q.strip_prefix("ids="))
                .and_then(|id| id.parse().ok())
                .unwrap_or(-1);
            let started = Instant::now();
            tokio::time::sleep(Duration::from_millis(40)).await;
            self.reads.lock().unwrap().push((application, started, Instant::now()));
            // No such application: the engine has nothing to do and marks the event done.
            Ok(Response::new(Bytes::from_static(b"[]")))
        })
    }
}

async fn deliver(routes: &RouterClient, event: usize, application: i64, candidate: i64) {
    let body = format!(
        r#"{{"action":"candidate_stage_change","payload":{{"application":{{"id":{application},"candidate":{{"id":{candidate}}}}}}}}}"#
    );
    let request = signed_greenhouse_webhook(Bytes::from(body), &format!("evt-{event}"));
    assert!(routes.send(request).await.unwrap().status().is_success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_candidate_at_a_time_in_order_and_candidates_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("engine.db").display().to_string();
    let text = config_text("http://greenhouse.test", "http://127.0.0.1:9", &sqlite, "CO_")
        .replace("poll_interval_secs = 1", "poll_interval_secs = 1\nconcurrency = 4");
    let config = EngineConfig::parse(&text, "test.toml").unwrap();
    let secrets = secrets_for(&config, "CO_");
    let harvest = Arc::new(SlowHarvest::default());
    let clock = Arc::new(ManualClock::new(ManualClock::scenario_epoch()));
    let engine = Engine::open(config, secrets, harvest.clone(), clock).await.unwrap();
    let routes = RouterClient::new();
    routes.register("engine.test", engine.router());

    // Candidate 1 has applications 101..=104 and candidate 2 has 201..=204, interleaved as
    // they arrive; candidate 3's one event comes last.
    let arrivals = [(101, 1), (201, 2), (102, 1), (103, 1), (202, 2), (104, 1), (203, 2), (204, 2)];
    for (event, (application, candidate)) in arrivals.into_iter().enumerate() {
        deliver(&routes, event, application, candidate).await;
    }
    deliver(&routes, 99, 301, 3).await;

    assert_eq!(engine.run_due().await.unwrap(), 9);
    assert_eq!(engine.pending().await.unwrap(), 0, "every event was marked done");
    let reads = harvest.reads.lock().unwrap().clone();
    assert_eq!(reads.len(), 9, "{reads:?}");

    for candidate in [1, 2] {
        let mut own: Vec<Read> =
            reads.iter().filter(|(app, _, _)| app / 100 == candidate).copied().collect();
        own.sort_by_key(|(_, started, _)| *started);
        let order: Vec<i64> = own.iter().map(|(app, _, _)| *app).collect();
        let expected: Vec<i64> = (1..=4).map(|n| candidate * 100 + n).collect();
        assert_eq!(order, expected, "candidate {candidate}'s events in the order stored");
        for pair in own.windows(2) {
            assert!(pair[1].1 >= pair[0].2, "candidate {candidate}: {pair:?} overlap");
        }
    }
    let overlap = |a: &Read, b: &Read| a.1 < b.2 && b.1 < a.2;
    let side_by_side =
        reads.iter().any(|a| reads.iter().any(|b| a.0 / 100 != b.0 / 100 && overlap(a, b)));
    assert!(side_by_side, "events of different candidates ran at the same time: {reads:?}");
}
