//! Webhook delivery: signatures (with rotation), body escaping, the retry schedule, 410,
//! giving up, redelivery and delivery faults.

use chrono::Duration;
use http::StatusCode;
use serde_json::{Value, json};

use super::{Harness, SECRET};
use crate::clock::Clock;
use crate::iop::signature;

#[tokio::test]
async fn deliveries_are_signed_escaped_and_carry_the_contract_headers() {
    let h = Harness::new().await;
    h.candidate(123).await;
    assert_eq!(h.receiver.seen().len(), 0, "nothing is sent before deliver");
    let status = h.control("GET", "/_rehearsal/status", json!({})).await.body;
    assert_eq!(status["pending"], 1);

    let report = h.deliver().await;
    assert_eq!(report, json!({"delivered": 1, "failed": 0, "pending": 0, "next_due": null}));
    let (at, headers, body) = h.receiver.seen().remove(0);
    let header = headers["iop-signature"].to_str().unwrap();
    assert_eq!(
        signature::verify(&[SECRET.to_owned()], Some(header), &body, at.timestamp()),
        Ok(())
    );
    assert_eq!(
        signature::verify(&["whsec_someone_else".to_owned()], Some(header), &body, at.timestamp()),
        Err(signature::SignatureError::Mismatch)
    );
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["user-agent"], "IOP-Webhooks/1.0");
    assert_eq!(headers["iop-delivery-attempt"], "1");
    assert!(headers["iop-delivery-id"].to_str().unwrap().starts_with("dlv_"));

    // Non-ASCII is escaped before signing; the bytes parse to the same JSON.
    let text = std::str::from_utf8(&body).unwrap();
    assert!(text.contains(r"Jos\u00e9") && text.is_ascii(), "{text}");
    let envelope: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(envelope["type"], "candidate.created");
    assert_eq!(envelope["api_version"], "2026-12-01");
    assert_eq!(envelope["account_id"], "acct_rehearsal");
    assert_eq!(envelope["data"]["object"]["first_name"], "José");
    assert_eq!(envelope["related"]["candidate_id"], "cand_000001");
    assert_eq!(envelope["related"]["external_refs"]["greenhouse"]["candidate_id"], 123);
    assert_eq!(headers["iop-event-id"], envelope["id"].as_str().unwrap());

    let journal = h.control("GET", "/_rehearsal/journal", json!({})).await.body;
    let outbound =
        journal.as_array().unwrap().iter().find(|e| e["direction"] == "outbound").unwrap();
    assert_eq!(outbound["path"], "http://hooks.test/iop");
    assert_eq!(outbound["status"], 200);
    assert!(!journal.to_string().contains(header), "signatures never reach the journal");
}

#[tokio::test]
async fn rotation_signs_with_both_secrets_for_a_day() {
    let h = Harness::new().await;
    let created = h.api("POST", "/v1/webhook_subscriptions", Some(json!({"url": "http://hooks.test/iop", "events": ["candidate.created"], "secret": "whsec_api_secret_0001"}))).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["secret"], "whsec_api_secret_0001");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let listed = h.api("GET", "/v1/webhook_subscriptions", None).await.body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains("whsec_api_secret_0001"));

    let rotated = h
        .api("POST", &format!("/v1/webhook_subscriptions/{id}/rotate_secret"), Some(json!({})))
        .await;
    let new_secret = rotated.body["secret"].as_str().unwrap().to_owned();
    assert!(new_secret.starts_with("whsec_"));
    assert_eq!(rotated.body["previous_secret_expires_at"], "2026-11-03T09:00:00Z");

    h.candidate(123).await;
    h.deliver().await;
    let seen = h.receiver.seen();
    assert_eq!(seen.len(), 2, "the seeded and the API subscription");
    let (at, headers, body) = &seen[1];
    let header = headers["iop-signature"].to_str().unwrap();
    assert_eq!(header.matches("v1=").count(), 2);
    for secret in ["whsec_api_secret_0001".to_owned(), new_secret.clone()] {
        assert_eq!(signature::verify(&[secret], Some(header), body, at.timestamp()), Ok(()));
    }

    h.advance(Duration::hours(25));
    h.api(
        "PUT",
        "/v1/candidates/by_external_ref/greenhouse/124",
        Some(json!({"first_name": "B", "last_name": "C"})),
    )
    .await;
    h.deliver().await;
    let (_, headers, _) = h.receiver.seen().pop().unwrap();
    assert_eq!(headers["iop-signature"].to_str().unwrap().matches("v1=").count(), 1);

    let deleted = h.api("DELETE", &format!("/v1/webhook_subscriptions/{id}"), None).await;
    assert_eq!(deleted.body["status"], "deleted");
    assert_eq!(
        h.api("DELETE", &format!("/v1/webhook_subscriptions/{id}"), None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn failed_deliveries_retry_on_schedule_with_the_same_event_id() {
    let h = Harness::new().await;
    h.receiver.answer(&[500, 503, 502]);
    h.candidate(123).await;
    let start = h.clock.now();

    let first = h.deliver().await;
    assert_eq!(first["failed"], 1);
    assert_eq!(first["pending"], 1);
    assert_eq!(first["next_due"], "2026-11-02T09:01:00Z");
    for minutes in [1, 5, 30] {
        h.advance(Duration::minutes(minutes) - Duration::seconds(1));
        assert_eq!(h.deliver().await["failed"], 0, "not due yet");
        h.advance(Duration::seconds(1));
        h.deliver().await;
    }

    let seen = h.receiver.seen();
    assert_eq!(seen.len(), 4);
    let offsets: Vec<i64> = seen.iter().map(|(at, _, _)| (*at - start).num_minutes()).collect();
    assert_eq!(offsets, [0, 1, 6, 36]);
    let event_ids: Vec<&str> =
        seen.iter().map(|(_, h, _)| h["iop-event-id"].to_str().unwrap()).collect();
    assert!(event_ids.iter().all(|id| *id == event_ids[0]));
    let attempts: Vec<&str> =
        seen.iter().map(|(_, h, _)| h["iop-delivery-attempt"].to_str().unwrap()).collect();
    assert_eq!(attempts, ["1", "2", "3", "4"]);
    let delivery_ids: std::collections::BTreeSet<&str> =
        seen.iter().map(|(_, h, _)| h["iop-delivery-id"].to_str().unwrap()).collect();
    assert_eq!(delivery_ids.len(), 4);
    assert_eq!(h.control("GET", "/_rehearsal/status", json!({})).await.body["pending"], 0);
}

#[tokio::test]
async fn deliveries_give_up_after_seven_attempts() {
    let h = Harness::new().await;
    h.receiver.answer(&[500; 7]);
    h.candidate(123).await;
    h.deliver().await;
    for minutes in [1, 5, 30, 120, 480, 1440] {
        h.advance(Duration::minutes(minutes));
        h.deliver().await;
    }
    assert_eq!(h.receiver.seen().len(), 7);
    let status = h.control("GET", "/_rehearsal/status", json!({})).await.body;
    assert_eq!(status["pending"], 0);
    let journal = h.control("GET", "/_rehearsal/journal", json!({})).await.body;
    let last =
        journal.as_array().unwrap().iter().rev().find(|e| e["direction"] == "outbound").unwrap();
    assert!(last["notes"].as_array().unwrap().contains(&json!("gave_up")));
}

#[tokio::test]
async fn a_410_disables_the_subscription_without_retry() {
    let h = Harness::new().await;
    h.receiver.answer(&[410]);
    h.candidate(123).await;
    h.candidate(124).await;
    let report = h.deliver().await;
    assert_eq!(report["failed"], 1);
    assert_eq!(report["pending"], 0);
    assert_eq!(h.receiver.seen().len(), 1);
    let state = h.control("GET", "/_rehearsal/state", json!({})).await.body;
    assert_eq!(state["subscriptions"][0]["status"], "disabled");

    h.candidate(125).await;
    h.advance(Duration::hours(1));
    h.deliver().await;
    assert_eq!(h.receiver.seen().len(), 1);
}

#[tokio::test]
async fn events_are_listed_and_redelivered() {
    let h = Harness::new().await;
    h.candidate(123).await;
    h.deliver().await;
    let events = h.api("GET", "/v1/events?type=candidate.created", None).await.body;
    let id = events["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        h.api("GET", &format!("/v1/events/{id}"), None).await.body["type"],
        "candidate.created"
    );

    let redelivered = h.api("POST", &format!("/v1/events/{id}/redeliver"), Some(json!({}))).await;
    assert_eq!(redelivered.status, StatusCode::ACCEPTED);
    assert_eq!(redelivered.body["deliveries_queued"], 1);
    h.deliver().await;
    let seen = h.receiver.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].2, seen[1].2, "the same envelope bytes");
    assert_eq!(
        h.api("POST", "/v1/events/evt_999999/redeliver", None).await.status,
        StatusCode::NOT_FOUND
    );
    let none = h.api("GET", "/v1/events?created_after=2026-11-02T09:00:00Z", None).await.body;
    assert_eq!(none["data"], json!([]));
}

#[tokio::test]
async fn delivery_faults_duplicate_drop_delay_and_reorder() {
    let h = Harness::new().await;
    let faults = json!({"webhooks": {"duplicate": 1.0, "drop_first_attempt": 1.0, "delay_secs": 30, "reorder": true}});
    h.control("PUT", "/_rehearsal/faults", faults).await;
    h.candidate(123).await;

    let early = h.deliver().await;
    assert_eq!(early["delivered"], 0);
    assert_eq!(early["pending"], 2, "queued twice, due in 30 s");
    h.advance(Duration::seconds(30));
    let dropped = h.deliver().await;
    assert_eq!(dropped["failed"], 2);
    assert_eq!(h.receiver.seen().len(), 0);

    h.advance(Duration::minutes(1));
    assert_eq!(h.deliver().await["delivered"], 2);
    let seen = h.receiver.seen();
    assert_eq!(seen[0].1["iop-event-id"], seen[1].1["iop-event-id"]);
    assert_eq!(seen[0].1["iop-delivery-attempt"], "2");

    let journal = h.control("GET", "/_rehearsal/journal", json!({})).await.body;
    let text = journal.to_string();
    assert!(text.contains("fault:duplicate") && text.contains("fault:drop_first_attempt"));
}

/// Pinned vectors for `IOP-Signature`, so a vendor's verifier can be checked against fixed
/// bytes. The hex digests were computed outside this code base with
/// `printf '%s' '1773151200.{"id":"evt_000001","type":"ping"}' | openssl dgst -sha256 -hmac <secret>`
/// for the secrets `whsec_vector_secret_one` and `whsec_vector_secret_two`.
#[test]
fn signature_vectors_match_openssl() {
    const T: i64 = 1_773_151_200;
    const BODY: &[u8] = br#"{"id":"evt_000001","type":"ping"}"#;
    const ONE: &str = "4ecd65d4e61a54335cf47edba557d74d73bd5ceca4325d8e852b34cb9880041c";
    const TWO: &str = "982a7ee56fa438fac7edd1d84ab7ce65abfa9276f0d7651607e04b84fd953b4a";
    let one = "whsec_vector_secret_one".to_owned();
    let two = "whsec_vector_secret_two".to_owned();

    assert_eq!(signature::header(std::slice::from_ref(&one), T, BODY), format!("t={T},v1={ONE}"));
    // During a rotation both secrets sign, newest first as the subscription lists them.
    let rotated = signature::header(&[two.clone(), one.clone()], T, BODY);
    assert_eq!(rotated, format!("t={T},v1={TWO},v1={ONE}"));
    for secret in [&one, &two] {
        let only = std::slice::from_ref(secret);
        assert_eq!(signature::verify(only, Some(&rotated), BODY, T + 299), Ok(()));
    }
    // Any changed byte, or a stranger's secret, fails.
    let tampered = br#"{"id":"evt_000002","type":"ping"}"#;
    assert_eq!(
        signature::verify(std::slice::from_ref(&one), Some(&rotated), tampered, T),
        Err(signature::SignatureError::Mismatch)
    );
    // A replay outside the 300 s window is refused however valid the digest.
    assert_eq!(
        signature::verify(
            std::slice::from_ref(&one),
            Some(&format!("t={T},v1={ONE}")),
            BODY,
            T + 301
        ),
        Err(signature::SignatureError::Stale { age_secs: 301 })
    );
    assert_eq!(
        signature::verify(&[one], Some(&format!("t={T},v1={ONE}")), BODY, T - 301),
        Err(signature::SignatureError::Stale { age_secs: -301 })
    );
}

/// A delivery captured on the wire and replayed later, byte for byte, is refused.
#[tokio::test]
async fn a_captured_delivery_replayed_after_the_window_is_refused() {
    let h = Harness::new().await;
    h.candidate(123).await;
    h.deliver().await;
    let (at, headers, body) = h.receiver.seen().remove(0);
    let header = headers["iop-signature"].to_str().unwrap();
    let secrets = [SECRET.to_owned()];
    assert_eq!(signature::verify(&secrets, Some(header), &body, at.timestamp() + 300), Ok(()));
    assert!(matches!(
        signature::verify(&secrets, Some(header), &body, at.timestamp() + 301),
        Err(signature::SignatureError::Stale { .. })
    ));
}

/// For every N from 0 to 6: a subscriber failing N times receives the same `IOP-Event-Id`
/// N+1 times, at the contracted offsets (0, 1, 6, 36, 156, 636, 2076 minutes), under virtual
/// time. The clock is advanced a minute at a time so a retry that came early would be seen.
#[tokio::test]
async fn retry_schedule_for_every_number_of_failures() {
    const OFFSETS_MINUTES: [i64; 7] = [0, 1, 6, 36, 156, 636, 2076];
    for failures in 0..=6usize {
        let h = Harness::new().await;
        h.receiver.answer(&vec![500; failures]);
        h.candidate(123).await;
        let start = h.clock.now();
        h.deliver().await;
        for _ in 0..OFFSETS_MINUTES[6] + 10 {
            h.advance(Duration::minutes(1));
            h.deliver().await;
        }
        let seen = h.receiver.seen();
        let offsets: Vec<i64> = seen.iter().map(|(at, _, _)| (*at - start).num_minutes()).collect();
        assert_eq!(offsets, OFFSETS_MINUTES[..=failures], "{failures} failures");
        let first_id = seen[0].1["iop-event-id"].clone();
        assert!(seen.iter().all(|(_, headers, _)| headers["iop-event-id"] == first_id));
        let last_attempt = seen.last().unwrap().1["iop-delivery-attempt"].to_str().unwrap();
        assert_eq!(last_attempt, (failures + 1).to_string());
        let status = h.control("GET", "/_rehearsal/status", json!({})).await.body;
        assert_eq!(status["pending"], 0, "delivered in the end");
    }
}
