//! A scenario's `given.engine` overrides: merged into the engine configuration and checked by
//! the rules `engine check` applies to a file (unknown keys with the likely name, wrong types
//! and values, then the rules between fields), every problem reported, each with its line.

use std::sync::OnceLock;

use serde_json::Value;

use crate::engine::config::EngineConfig;

/// One thing wrong with the overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path under `given.engine`, e.g. `policies.on_decline` or `triggers[1].stage`.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "given.engine.{}: {}", self.field, self.message)
    }
}

/// Upper bound on type errors collected from one override (each is removed and the merge
/// parsed again, so a pathological file cannot loop for long).
const MAX_PROBLEMS: usize = 50;

/// `fixtures/engine.toml` as built in: what `validate` checks overrides against (a run checks
/// them again against its `--config`).
pub fn default_config() -> Option<&'static EngineConfig> {
    static CONFIG: OnceLock<Option<EngineConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            EngineConfig::parse(
                include_str!("../../fixtures/engine.toml"),
                "fixtures/engine.toml (built in)",
            )
            .ok()
        })
        .as_ref()
}

/// Merges `overrides` into `base` (maps key by key; anything else, lists included, replaces)
/// and checks the result; `Err` lists every problem found.
pub fn apply(base: &EngineConfig, overrides: &Value) -> Result<EngineConfig, Vec<Problem>> {
    let base_json = serde_json::to_value(base).map_err(|e| {
        vec![Problem { field: "(all)".into(), message: format!("cannot merge: {e}") }]
    })?;
    if !overrides.is_object() {
        return Err(vec![Problem {
            field: "(all)".into(),
            message: "takes a map in the engine config's structure, e.g. `policies: { on_decline: reject }`".into(),
        }]);
    }
    let mut merged = base_json.clone();
    merge(&mut merged, overrides);
    let mut problems = Vec::new();
    let config = loop {
        match serde_path_to_error::deserialize::<_, EngineConfig>(merged.clone()) {
            Ok(config) => break Some(config),
            Err(error) => {
                let segments = segments(error.path());
                let message = error.inner().to_string();
                let (problem, removed) = type_problem(&segments, &message, &base_json, &mut merged);
                problems.push(problem);
                if !removed || problems.len() >= MAX_PROBLEMS {
                    break None;
                }
            }
        }
    };
    if let Some(config) = &config {
        for problem in crate::engine::check::semantic_problems(config, "", "given.engine") {
            let hint = problem.suggestion.map(|s| format!("; {s}")).unwrap_or_default();
            problems.push(Problem {
                field: problem.field,
                message: format!("{}{hint}", problem.message),
            });
        }
    }
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => Err(problems),
    }
}

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

fn segments(path: &serde_path_to_error::Path) -> Vec<Segment> {
    path.iter()
        .filter_map(|segment| match segment {
            serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
            _ => None,
        })
        .collect()
}

fn dotted(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Key(key) if out.is_empty() => out.push_str(key),
            Segment::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Segment::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    if out.is_empty() { "(top level)".into() } else { out }
}

/// Describes one deserialisation error and takes the offending value out of `merged` (back to
/// the base configuration's value where it has one), so the next attempt finds the next
/// problem. The flag says whether anything was taken out.
fn type_problem(
    segments: &[Segment],
    message: &str,
    base: &Value,
    merged: &mut Value,
) -> (Problem, bool) {
    // An unknown key: the key and the expected ones are in the message.
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((unknown, expected)) = rest.split_once('`')
    {
        // The path names the unknown key already (serde_path_to_error 0.1); older ones stop
        // at its map.
        let mut path = segments.to_vec();
        if !matches!(path.last(), Some(Segment::Key(last)) if last == unknown) {
            path.push(Segment::Key(unknown.to_owned()));
        }
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let hint = crate::engine::check::closest(unknown, known.iter().copied())
            .map(|best| format!("; did you mean `{best}`?"))
            .unwrap_or_default();
        let removed = remove(merged, &path, None);
        let problem = Problem { field: dotted(&path), message: format!("{message}{hint}") };
        return (problem, removed);
    }
    let pointer = pointer(segments);
    let fallback = base.pointer(&pointer).cloned();
    let removed = remove(merged, segments, fallback);
    (Problem { field: dotted(segments), message: message.to_owned() }, removed)
}

fn pointer(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| match s {
            Segment::Key(key) => format!("/{}", key.replace('~', "~0").replace('/', "~1")),
            Segment::Index(index) => format!("/{index}"),
        })
        .collect()
}

/// Replaces the value at `path` with `with`, or removes it; `false` when there is nothing
/// there (or nothing would change).
fn remove(value: &mut Value, path: &[Segment], with: Option<Value>) -> bool {
    let Some((last, parents)) = path.split_last() else { return false };
    let mut target = value;
    for segment in parents {
        let next = match (segment, target) {
            (Segment::Key(key), Value::Object(map)) => map.get_mut(key),
            (Segment::Index(index), Value::Array(items)) => items.get_mut(*index),
            _ => None,
        };
        let Some(next) = next else { return false };
        target = next;
    }
    match (last, target, with) {
        (Segment::Key(key), Value::Object(map), Some(with)) => {
            map.insert(key.clone(), with.clone()) != Some(with)
        }
        (Segment::Key(key), Value::Object(map), None) => map.remove(key).is_some(),
        (Segment::Index(index), Value::Array(items), _) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}

fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                merge(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (base, over) => *base = over.clone(),
    }
}

/// The line of `field` (dotted, as in [`Problem::field`]) inside the `engine:` block of a
/// scenario's text whose value starts on `start` (1-based): each key of the path is looked for
/// after the previous one, within the block. `start` when a key is not written there (a
/// problem between fields, or one in the base configuration).
pub fn line_of(text: &str, start: u64, field: &str) -> u64 {
    let lines: Vec<&str> = text.lines().collect();
    let first = start.saturating_sub(1) as usize;
    // The block's indentation: that of the line holding `engine:` (at or before `start`).
    let engine_line = (0..=first.min(lines.len().saturating_sub(1)))
        .rev()
        .find(|&i| lines.get(i).is_some_and(|l| l.contains("engine:")))
        .unwrap_or(first);
    let indent = |line: &str| line.len() - line.trim_start().len();
    let block_indent = lines.get(engine_line).map(|l| indent(l)).unwrap_or(0);
    let end = (first + 1..lines.len())
        .find(|&i| {
            let line = lines[i];
            let trimmed = line.trim_start();
            !trimmed.is_empty() && !trimmed.starts_with('#') && indent(line) <= block_indent
        })
        .unwrap_or(lines.len());
    let keys = field.split('.').map(|part| part.split('[').next().unwrap_or(part));
    let (mut line, mut column) = (first, 0);
    let mut found = start;
    for key in keys {
        let mut hit = None;
        for (i, text) in lines.iter().enumerate().take(end).skip(line) {
            let from = if i == line { column } else { 0 };
            if let Some(at) = key_at(text, key, from) {
                hit = Some((i, at));
                break;
            }
        }
        let Some((i, at)) = hit else { break };
        (line, column) = (i, at + key.len());
        found = i as u64 + 1;
    }
    found
}

/// Where `key:` starts in `line` at or after byte `from`, as a YAML key (after indentation,
/// `{`, `,` or `- `, before a colon).
fn key_at(line: &str, key: &str, from: usize) -> Option<usize> {
    let mut offset = from;
    while let Some(found) = line.get(offset..).and_then(|rest| rest.find(key)) {
        let at = offset + found;
        let before = line[..at].trim_end().chars().last();
        let after = line[at + key.len()..].trim_start().starts_with(':');
        let quoted = line[..at].ends_with('"') || line[..at].ends_with('\'');
        if after && !quoted && matches!(before, None | Some('{' | ',' | '-')) {
            return Some(at);
        }
        offset = at + key.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> &'static EngineConfig {
        default_config().expect("the built-in config parses")
    }

    #[test]
    fn a_good_override_changes_the_config() {
        let config = apply(base(), &json!({"policies": {"on_decline": "reject"}})).unwrap();
        assert_eq!(serde_json::to_value(&config.policies).unwrap()["on_decline"], json!("reject"));
    }

    #[test]
    fn every_problem_is_listed_with_its_field() {
        let problems = apply(
            base(),
            &json!({"policies": {"on_decline": "explode"}, "retyr": {"max_attempts": 3}}),
        )
        .unwrap_err();
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 2, "{shown:#?}");
        assert!(
            shown
                .iter()
                .any(|p| p
                    .starts_with("given.engine.policies.on_decline: unknown variant `explode`")),
            "{shown:#?}"
        );
        assert!(
            shown.iter().any(|p| p.starts_with("given.engine.retyr: unknown field `retyr`")
                && p.ends_with("did you mean `retry`?")),
            "{shown:#?}"
        );
    }

    #[test]
    fn an_override_that_is_not_a_map_is_refused() {
        assert!(apply(base(), &json!("reject")).is_err());
    }

    #[test]
    fn lines_are_found_block_and_flow_style() {
        let text = "name: t\ngiven:\n  engine:\n    policies: { on_decline: explode }\n    retyr: { max_attempts: 3 }\nsteps:\n  - retyr: 1\n";
        assert_eq!(line_of(text, 4, "policies.on_decline"), 4);
        assert_eq!(line_of(text, 4, "retyr"), 5);
        assert_eq!(line_of(text, 4, "retry.max_attempts"), 4, "not written: the block's line");
        let flow = "given:\n  engine: { policies: { on_decline: x }, retry: { base_ms: y } }\n";
        assert_eq!(line_of(flow, 2, "retry.base_ms"), 2);
    }
}
