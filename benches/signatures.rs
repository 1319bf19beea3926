//! Measures webhook signature verification per webhook of realistic size (an ~8 KiB body,
//! escaped the way Greenhouse writes it) for both schemes, against signing the same body: what
//! ingest pays before it stores anything.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rehearsal::greenhouse::signature as gh;
use rehearsal::iop::signature as iop;
use serde_json::json;
use std::hint::black_box;

/// A `candidate_stage_change`-shaped body padded with notes to about 8 KiB.
fn body() -> Vec<u8> {
    let notes: Vec<String> =
        (0..40).map(|i| format!("Note {i}: <b>José</b> & team — ready for onsite 🎉")).collect();
    let value = json!({"action": "candidate_stage_change", "payload": {"application": {
        "id": 4_300_000_123_i64, "status": "active", "notes": notes,
        "candidate": {"id": 9001, "first_name": "María", "last_name": "García"},
        "current_stage": {"id": 77, "name": "Onsite", "interviews": [{"id": 5, "name": "System Design"}]}
    }}});
    let mut wire = gh::greenhouse_json(&value);
    // Pad with spaces (valid JSON whitespace) up to 8 KiB exactly.
    wire.resize(wire.len().max(8192), b' ');
    wire
}

fn signatures(c: &mut Criterion) {
    let body = body();
    let secrets = vec!["ghwh_0123456789abcdef".to_owned()];
    let gh_header = gh::sign(&secrets[0], &body);
    let now = 1_773_151_200;
    let iop_header = iop::header(&secrets, now, &body);

    let mut group = c.benchmark_group("signatures_8KiB");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("greenhouse_verify", |b| {
        b.iter(|| gh::verify(&secrets, Some(black_box(&gh_header)), black_box(&body)))
    });
    group.bench_function("iop_verify", |b| {
        b.iter(|| iop::verify(&secrets, Some(black_box(&iop_header)), black_box(&body), now))
    });
    group.bench_function("greenhouse_sign", |b| b.iter(|| gh::sign(&secrets[0], black_box(&body))));
    group.finish();
}

criterion_group!(benches, signatures);
criterion_main!(benches);
