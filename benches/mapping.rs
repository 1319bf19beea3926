//! Measures the engine's pure mapping per event — a realistic Greenhouse candidate to the IOP
//! candidate body, an IOP interview's times, a recommendation — against nothing but itself:
//! the floor under every other number (no I/O, no locks).

use criterion::{Criterion, criterion_group, criterion_main};
use rehearsal::engine::config::MappingSection;
use rehearsal::engine::mapping::{candidate_to_iop, interview_times, recommendation_to_rating};
use serde_json::json;
use std::hint::black_box;

fn mapping(c: &mut Criterion) {
    let candidate = json!({
        "id": 4_300_000_123_i64, "first_name": "  María José ", "last_name": "García <Núñez>",
        "email_addresses": [
            {"value": "MJ.Garcia@Work.example", "type": "work"},
            {"value": "mariajose@home.example", "type": "personal"},
            {"value": "mj@other.example", "type": "other"}
        ],
        "phone_numbers": [{"value": "+34 (600) 123-456", "type": "mobile"}, {"value": "n/a", "type": "home"}],
        "time_zone": "Europe/Madrid",
        "custom_fields": {"source": "referral", "level": "senior"}
    });
    let settings = MappingSection::default();
    c.bench_function("mapping/candidate_to_iop", |b| {
        b.iter(|| candidate_to_iop(black_box(&candidate), &settings))
    });
    let interview = json!({"id": "int_000001", "start_at": "2026-11-04T10:00:00+01:00", "end_at": "2026-11-04T11:00:00+01:00"});
    c.bench_function("mapping/interview_times", |b| {
        b.iter(|| interview_times(black_box(&interview)))
    });
    c.bench_function("mapping/recommendation_to_rating", |b| {
        b.iter(|| recommendation_to_rating(black_box("strong_yes"), "fb_1"))
    });
}

criterion_group!(benches, mapping);
criterion_main!(benches);
