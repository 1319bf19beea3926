//! The published scenario schema is the one the types generate: it cannot drift.

use crate::helpers::rehearsal;

#[test]
fn committed_schema_matches_the_types() {
    let run = rehearsal(&["schema"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenario.schema.json"))
            .unwrap();
    assert_eq!(
        run.stdout.trim(),
        committed.trim(),
        "scenario.schema.json is stale: run `cargo run -- schema > scenario.schema.json`"
    );
    // The schema knows every step kind, so editors can complete them.
    for kind in ["greenhouse", "iop", "advance", "expect", "faults", "webhook", "engine"] {
        assert!(committed.contains(&format!("\"{kind}\"")), "schema lacks step kind {kind}");
    }
}
