//! Expectations: partial matching of records in either mock's state, the engine's dead letters
//! and audit trail, and the request journals.
//!
//! A matcher is a map. `candidate: <name>` selects that candidate's records; `count: N` asks
//! for exactly N matches (at least one when absent); `<field>_contains: text` matches a
//! substring; any other key is a field (dotted for nested) that must equal the value, objects
//! matching partially. A target takes one matcher or a list of them.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

/// Every target an `expect` step may name.
pub const TARGETS: &[&str] = &[
    "greenhouse.applications",
    "greenhouse.candidates",
    "greenhouse.interviews",
    "greenhouse.notes",
    "greenhouse.scorecards",
    "iop.candidates",
    "iop.scheduling_requests",
    "iop.interviews",
    "iop.feedback",
    "engine.dead_letters",
    "engine.audit",
    "journal.greenhouse",
    "journal.iop",
];

/// The Greenhouse ids behind a scenario's candidate names.
#[derive(Debug, Clone, Default)]
pub struct CandidateIds {
    pub candidate_id: i64,
    pub application_id: i64,
}

/// Everything an expectation can look at, read after the step.
pub struct World<'a> {
    pub greenhouse: &'a Value,
    pub iop: &'a Value,
    pub dead_letters: &'a Value,
    pub audit: &'a Value,
    pub greenhouse_journal: &'a Value,
    pub iop_journal: &'a Value,
    pub candidates: &'a BTreeMap<String, CandidateIds>,
    /// Journal lengths (Greenhouse, IOP) when each step began, for `since_step`.
    pub marks: &'a [(u64, u64)],
}

/// One unmet expectation, with both sides for a side-by-side diff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mismatch {
    pub target: String,
    pub message: String,
    pub expected: Value,
    pub found: Value,
}

pub fn check(target: &str, spec: &Value, world: &World<'_>) -> Vec<Mismatch> {
    let matchers: Vec<&Value> = match spec {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    matchers.into_iter().filter_map(|m| check_one(target, m, world).err()).collect()
}

fn records<'a>(target: &str, world: &World<'a>) -> &'a [Value] {
    let (source, key) = match target.split_once('.') {
        Some(("greenhouse", key)) => (world.greenhouse, key),
        Some(("iop", key)) => (world.iop, key),
        Some(("engine", "dead_letters")) => {
            return world.dead_letters.as_array().map(Vec::as_slice).unwrap_or(&[]);
        }
        Some(("engine", _)) => return world.audit.as_array().map(Vec::as_slice).unwrap_or(&[]),
        Some(("journal", "greenhouse")) => {
            return world.greenhouse_journal.as_array().map(Vec::as_slice).unwrap_or(&[]);
        }
        Some(("journal", _)) => {
            return world.iop_journal.as_array().map(Vec::as_slice).unwrap_or(&[]);
        }
        _ => return &[],
    };
    source.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// Which field of a target's records holds which id of a candidate.
fn candidate_key(target: &str) -> Option<(&'static str, bool)> {
    // (dotted path, true = application id / false = candidate id)
    Some(match target {
        "greenhouse.applications" | "greenhouse.notes" => ("candidate_id", false),
        "greenhouse.candidates" => ("id", false),
        "greenhouse.interviews" | "greenhouse.scorecards" => ("application_id", true),
        "iop.candidates" => ("external_refs.greenhouse.candidate_id", false),
        "iop.scheduling_requests" | "iop.interviews" | "iop.feedback" => {
            ("external_refs.greenhouse.application_id", true)
        }
        _ => return None,
    })
}

fn check_one(target: &str, matcher: &Value, world: &World<'_>) -> Result<(), Mismatch> {
    let fail = |message: String, found: Value| Mismatch {
        target: target.to_owned(),
        message,
        expected: matcher.clone(),
        found,
    };
    let Some(fields) = matcher.as_object() else {
        return Err(fail("an expectation must be a map (or a list of maps)".into(), Value::Null));
    };

    let mut selected: Vec<&Value> = records(target, world).iter().collect();
    if let Some(name) = fields.get("candidate") {
        let name = name.as_str().unwrap_or_default();
        let Some(ids) = world.candidates.get(name) else {
            return Err(fail(format!("unknown candidate `{name}`"), Value::Null));
        };
        let Some((path, by_application)) = candidate_key(target) else {
            return Err(fail(
                format!("`candidate` cannot select records of {target}"),
                Value::Null,
            ));
        };
        let wanted = if by_application { ids.application_id } else { ids.candidate_id };
        selected.retain(|r| lookup(r, path).and_then(as_i64) == Some(wanted));
    }

    if let Some(step) = fields.get("since_step") {
        let Some(step) = step.as_u64().filter(|s| *s >= 1) else {
            return Err(fail("`since_step` takes a step number from 1".into(), Value::Null));
        };
        let Some(&(greenhouse, iop)) = world.marks.get(step as usize - 1) else {
            return Err(fail(
                format!("`since_step: {step}`: that step has not run yet"),
                Value::Null,
            ));
        };
        let after = match target {
            "journal.greenhouse" => greenhouse,
            "journal.iop" => iop,
            _ => {
                return Err(fail(
                    format!("`since_step` only applies to journal targets, not {target}"),
                    Value::Null,
                ));
            }
        };
        selected.retain(|r| r.get("seq").and_then(Value::as_u64).unwrap_or(0) > after);
    }

    const SPECIAL: &[&str] = &["candidate", "count", "since_step"];
    let conditions: Vec<(&String, &Value)> =
        fields.iter().filter(|(k, _)| !SPECIAL.contains(&k.as_str())).collect();
    let matched =
        selected.iter().filter(|r| conditions.iter().all(|(k, v)| condition(r, k, v))).count();

    let expected_count = fields.get("count").and_then(Value::as_u64);
    let ok = match expected_count {
        Some(count) => matched as u64 == count,
        None => matched >= 1,
    };
    if ok {
        return Ok(());
    }
    let found = Value::Array(selected.iter().map(|r| project(r, &conditions)).collect());
    let wanted = match expected_count {
        Some(count) => format!("exactly {count}"),
        None => "at least one".into(),
    };
    Err(fail(format!("expected {wanted} matching record(s) in {target}, found {matched}"), found))
}

fn condition(record: &Value, key: &str, expected: &Value) -> bool {
    if let Some(field) = key.strip_suffix("_contains") {
        let needle = text_of(expected);
        return lookup(record, field).is_some_and(|v| text_of(v).contains(&needle));
    }
    loosely_equal(expected, lookup(record, key).unwrap_or(&Value::Null))
}

/// Scenario values come from YAML, records from JSON: `5` matches `"5"`, objects match
/// partially, and a missing field matches `null`.
fn loosely_equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            want.iter().all(|(k, v)| loosely_equal(v, have.get(k).unwrap_or(&Value::Null)))
        }
        (Value::Array(want), Value::Array(have)) => {
            want.len() == have.len() && want.iter().zip(have).all(|(w, h)| loosely_equal(w, h))
        }
        // Integers compare exactly: Greenhouse ids run past 2^53, where f64 loses digits.
        (Value::Number(a), Value::Number(b)) => {
            match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => a.as_f64() == b.as_f64(),
            }
        }
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (a, b) => text_of(a) == text_of(b),
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn as_i64(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

fn lookup<'a>(record: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(record, |value, key| value.get(key))
}

/// A record cut down to the fields an expectation names, so the diff stays readable.
fn project(record: &Value, conditions: &[(&String, &Value)]) -> Value {
    // With no field to compare, show what identifies each record instead of ids alone.
    if conditions.is_empty() {
        let keys = ["id", "seq", "method", "path", "status", "kind", "reason", "action", "detail"];
        let mut out = Map::new();
        for key in keys {
            if let Some(value) = record.get(key) {
                out.insert(key.to_owned(), value.clone());
            }
        }
        if !out.is_empty() {
            return Value::Object(out);
        }
    }
    let mut out = Map::new();
    if let Some(id) = record.get("id") {
        out.insert("id".into(), id.clone());
    }
    for (key, _) in conditions {
        let field = key.strip_suffix("_contains").unwrap_or(key);
        out.insert(field.to_owned(), lookup(record, field).cloned().unwrap_or(Value::Null));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn world<'a>(
        gh: &'a Value,
        empty: &'a Value,
        ids: &'a BTreeMap<String, CandidateIds>,
    ) -> World<'a> {
        World {
            greenhouse: gh,
            iop: empty,
            dead_letters: empty,
            audit: empty,
            greenhouse_journal: empty,
            iop_journal: empty,
            candidates: ids,
            marks: &[],
        }
    }

    #[test]
    fn selects_by_candidate_counts_and_matches_substrings() {
        let gh = json!({
            "notes": [
                {"id": 1, "candidate_id": 10, "body": "Candidate declined: took another offer"},
                {"id": 2, "candidate_id": 11, "body": "hello"}
            ],
            "interviews": [{"id": 5, "application_id": 20, "status": "scheduled"}]
        });
        let empty = json!([]);
        let ids = BTreeMap::from([(
            "Ana".to_owned(),
            CandidateIds { candidate_id: 10, application_id: 20 },
        )]);
        let w = world(&gh, &empty, &ids);

        assert!(
            check(
                "greenhouse.notes",
                &json!([{"candidate": "Ana", "body_contains": "declined"}]),
                &w
            )
            .is_empty()
        );
        assert!(
            check(
                "greenhouse.interviews",
                &json!({"candidate": "Ana", "count": 1, "status": "scheduled"}),
                &w
            )
            .is_empty()
        );

        let misses = check("greenhouse.interviews", &json!({"candidate": "Ana", "count": 0}), &w);
        assert_eq!(misses.len(), 1);
        assert_eq!(
            misses[0].message,
            "expected exactly 0 matching record(s) in greenhouse.interviews, found 1"
        );
        assert_eq!(misses[0].found, json!([{"id": 5, "status": "scheduled"}]));
    }

    #[test]
    fn loose_equality_bridges_yaml_and_json() {
        assert!(loosely_equal(&json!("5"), &json!(5)));
        assert!(loosely_equal(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!loosely_equal(&json!("no"), &json!(false)));
        assert!(loosely_equal(&Value::Null, &Value::Null));
        // Above 2^53 two different ids must not compare equal.
        assert!(!loosely_equal(
            &json!(9_007_199_254_740_993_i64),
            &json!(9_007_199_254_740_992_i64)
        ));
        assert!(loosely_equal(
            &json!(9_007_199_254_740_993_i64),
            &json!(9_007_199_254_740_993_i64)
        ));
    }
}
