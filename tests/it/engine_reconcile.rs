//! Reconciliation catches what a dropped webhook would have done.

use http::Method;
use serde_json::json;

use crate::engine_world::{GH_URL, IOP_URL, InProcess, control, open_requests, seed, seed_world};

#[tokio::test]
async fn reconcile_catches_a_dropped_webhook_both_ways() {
    let world = InProcess::start().await;
    let seeded = seed_world(&world.http, GH_URL, &seed(1, "Application Review")).await;
    let application = seeded.candidates["c0"].applications[0];
    let stages = &seeded.jobs["backend"].stages;

    // Nothing to do yet: the application stands in a stage no rule names.
    let first = world.engine.reconcile().await.unwrap();
    assert_eq!(first.applications, 1);
    assert!(open_requests(&world.http, IOP_URL).await.is_empty());

    // Someone moves it to Onsite; Greenhouse queues a webhook that is never delivered.
    world.clock.advance(chrono::Duration::minutes(5));
    let moved = json!({"action": "move_application", "application_id": application, "to_stage_id": stages["Onsite"].id});
    control(&world.http, Method::POST, &format!("{GH_URL}/_rehearsal/actions"), Some(&moved)).await;
    assert_eq!(world.engine.pending().await.unwrap(), 0, "no webhook reached the engine");

    world.clock.advance(chrono::Duration::minutes(15));
    world.engine.reconcile().await.unwrap();
    assert_eq!(open_requests(&world.http, IOP_URL).await.get(&application), Some(&1));

    // A second sweep converges to the same state: still exactly one request.
    world.clock.advance(chrono::Duration::minutes(15));
    world.engine.reconcile().await.unwrap();
    assert_eq!(open_requests(&world.http, IOP_URL).await.get(&application), Some(&1));

    // It leaves the stage, again without a webhook: the open request is cancelled.
    let moved = json!({"action": "move_application", "application_id": application, "to_stage_id": stages["Offer"].id});
    control(&world.http, Method::POST, &format!("{GH_URL}/_rehearsal/actions"), Some(&moved)).await;
    world.clock.advance(chrono::Duration::minutes(15));
    world.engine.reconcile().await.unwrap();
    assert!(open_requests(&world.http, IOP_URL).await.is_empty());

    let trail = world.engine.audit_trail().await.unwrap();
    assert!(trail.iter().any(|e| e.action == "scheduling_request_opened"));
    assert!(trail.iter().any(|e| e.action == "scheduling_request_cancelled"));
}

#[tokio::test]
async fn the_watermark_narrows_later_sweeps() {
    let world = InProcess::start().await;
    seed_world(&world.http, GH_URL, &seed(3, "Application Review")).await;
    world.clock.advance(chrono::Duration::minutes(10));
    assert_eq!(world.engine.reconcile().await.unwrap().applications, 3);

    // Nothing changed since the last sweep (less its 60 s overlap): nothing is listed again.
    world.clock.advance(chrono::Duration::hours(1));
    let later = world.engine.reconcile().await.unwrap();
    assert_eq!((later.applications, later.open_requests), (0, 0));
}
