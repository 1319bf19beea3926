//! Graceful shutdown of the worker: the event in hand finishes and is recorded, the rest stays
//! pending, and a later run picks it up with nothing done twice.

use bytes::Bytes;
use http::Method;
use rehearsal::transport::{HttpClient, raw_request};

use crate::engine_world::{GH_HOOK, GH_URL, IOP_URL, InProcess, open_requests, seed, seed_world};

#[tokio::test]
async fn shutdown_mid_pass_finishes_the_event_in_hand_and_keeps_the_rest() {
    let world = InProcess::start().await;
    let seeded = seed_world(&world.http, GH_URL, &seed(5, "Onsite")).await;
    for (key, candidate) in &seeded.candidates {
        let body = Bytes::from(format!(
            r#"{{"action":"candidate_stage_change","payload":{{"application":{{"id":{}}}}}}}"#,
            candidate.applications[0]
        ));
        let signature = rehearsal::greenhouse::signature::sign(GH_HOOK, &body);
        let headers = [("signature", signature), ("greenhouse-event-id", format!("evt-{key}"))];
        let request = raw_request(
            Method::POST,
            "http://engine.test/webhooks/greenhouse",
            body,
            Some("application/json"),
            &headers,
        )
        .unwrap();
        assert!(world.http.send(request).await.unwrap().status().is_success());
    }

    // Ask for shutdown as soon as the first event is done, while the pass is still going.
    let engine = world.engine.clone();
    let watcher = world.engine.clone();
    let shutdown = async move {
        while watcher.stats().handled == 0 {
            tokio::task::yield_now().await;
        }
    };
    engine.run_forever(shutdown).await;

    let handled = world.engine.stats().handled;
    let pending = world.engine.pending().await.unwrap();
    assert!(handled >= 1, "the event in hand was finished");
    assert_eq!(handled + pending, 5, "every event is either done or still pending");
    assert_eq!(
        open_requests(&world.http, IOP_URL).await.len() as u64,
        handled,
        "done means acted on"
    );

    // The next run takes the rest; nothing is acted on twice.
    world.engine.run_due().await.unwrap();
    let open = open_requests(&world.http, IOP_URL).await;
    assert_eq!(open.len(), 5);
    assert!(open.values().all(|count| *count == 1), "{open:?}");
}
