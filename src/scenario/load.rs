//! Finding and reading scenario files. Every problem becomes one [`InputError`] naming the
//! file, the line and what is wrong; all YAML goes through this module.

use std::path::{Path, PathBuf};

use serde_saphyr::SnippetMode;

use super::model::Scenario;
use super::{overrides, validate};
use crate::engine::config::EngineConfig;

/// A scenario input that cannot be used. Displayed as `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("{path}: no such file or folder")]
    NotFound { path: String },
    #[error("{path}: no scenario files (*.yaml, *.yml) found")]
    Empty { path: String },
    #[error("{path}: cannot read: {reason}")]
    Read { path: String, reason: String },
    #[error("{file}:{line}: {message}")]
    Invalid { file: String, line: u64, message: String },
    /// Several problems in one file, one per line (the caller prefixes the first).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\nerror: "))]
    Several(Vec<InputError>),
}

/// A parsed, validated scenario and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    pub path: PathBuf,
    pub scenario: Scenario,
    /// The file's text, for locating problems found after loading.
    pub text: String,
}

impl LoadedScenario {
    /// Checks the scenario's `given.engine` overrides against the configuration it will run
    /// with; every problem with its line.
    pub fn check_overrides(&self, base: &EngineConfig) -> Result<(), InputError> {
        check_overrides(&self.scenario, &self.text, &self.path.display().to_string(), base)
    }
}

fn check_overrides(
    scenario: &Scenario,
    text: &str,
    file: &str,
    base: &EngineConfig,
) -> Result<(), InputError> {
    let Some(engine) = &scenario.given.engine else { return Ok(()) };
    let start = engine.referenced.line();
    let problems = match overrides::apply(base, &engine.value) {
        Ok(_) => return Ok(()),
        Err(problems) => problems,
    };
    let mut errors: Vec<InputError> = problems
        .iter()
        .map(|problem| InputError::Invalid {
            file: file.to_owned(),
            line: overrides::line_of(text, start, &problem.field),
            message: problem.to_string(),
        })
        .collect();
    match errors.len() {
        1 => Err(errors.remove(0)),
        _ => Err(InputError::Several(errors)),
    }
}

/// Expands files and folders (recursively, `*.yaml`/`*.yml`, sorted) into scenario paths.
/// Subfolders named `pending` are skipped unless named directly.
pub fn discover(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut found = Vec::new();
    for input in inputs {
        let shown = input.display().to_string();
        if !input.exists() {
            return Err(InputError::NotFound { path: shown });
        }
        if input.is_file() {
            found.push(input.clone());
            continue;
        }
        let before = found.len();
        walk(input, &mut found)?;
        if found.len() == before {
            return Err(InputError::Empty { path: shown });
        }
    }
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let read_error = |e: std::io::Error| InputError::Read {
        path: dir.display().to_string(),
        reason: e.to_string(),
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_error)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        // `pending/` holds scenarios waiting on a fix: run them by naming the folder itself.
        if path.is_dir() && path.file_name().is_some_and(|n| n == "pending") {
            continue;
        }
        if path.is_dir() {
            walk(&path, found)?;
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            found.push(path);
        }
    }
    Ok(())
}

/// Reads, parses and validates one scenario file.
pub fn load(path: &Path) -> Result<LoadedScenario, InputError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::Read { path: file.clone(), reason: e.to_string() })?;
    let scenario = parse(&text, &file)?;
    Ok(LoadedScenario { path: path.to_owned(), scenario, text })
}

/// Parses and validates scenario text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Scenario, InputError> {
    // Strict booleans: `on`, `no`, `yes` in a payload stay strings (a recommendation of `no`!).
    let options = serde_saphyr::options! { strict_booleans: true };
    let scenario: Scenario =
        serde_saphyr::from_str_with_options(text, options).map_err(|error| {
            let line = error.location().map(|l| l.line()).unwrap_or(1);
            let column = error.location().map(|l| l.column()).unwrap_or(0);
            let message = error
                .render_with_options(serde_saphyr::render_options! { snippets: SnippetMode::Off });
            let message = explain(&tidy(&message), text, line, column);
            InputError::Invalid { file: file.to_owned(), line, message }
        })?;
    validate::check(&scenario).map_err(|(line, message)| InputError::Invalid {
        file: file.to_owned(),
        line,
        message,
    })?;
    // Against the built-in configuration here; `run` checks again against its `--config`.
    if let Some(base) = overrides::default_config() {
        check_overrides(&scenario, text, file, base)?;
    }
    Ok(scenario)
}

/// Drops the location suffix the YAML library appends, since we print `file:line:` ourselves.
fn tidy(message: &str) -> String {
    if message.contains("budget breached") {
        return "the file is too large, or its anchors and aliases expand too far (limit: 250,000 YAML nodes)".into();
    }
    let message = message.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    let first = message.lines().next().unwrap_or(&message).trim();
    match first.rfind(" at line ") {
        Some(cut) => first[..cut].trim_end_matches(',').to_owned(),
        None => first.to_owned(),
    }
}

/// Serde's names of number types in plain words.
pub(crate) fn plain_types(message: &str) -> String {
    let mut out = message.to_owned();
    for (rust, words) in [
        ("i64", "a whole number"),
        ("u64", "a whole number from 0"),
        ("u32", "a whole number from 0 to 4294967295"),
        ("u16", "a whole number from 0 to 65535"),
        ("u8", "a whole number from 0 to 255"),
        ("f64", "a number"),
    ] {
        out = out.replace(&format!("expected {rust}"), &format!("expected {words}"));
    }
    out
}

/// Rewrites the YAML library's terse messages into ones that name the field, read from the
/// line (and column, 1-based) the error points at.
fn explain(message: &str, text: &str, line: u64, column: u64) -> String {
    let source = text.lines().nth(line.saturating_sub(1) as usize).unwrap_or("");
    let (key, value) = key_and_value(source, column.saturating_sub(1) as usize);
    let key = key.unwrap_or_else(|| "this value".to_owned());
    if let Some(kind) = message.strip_prefix("invalid ")
        && let Some(words) = match kind {
            "i64" => Some("a whole number from -9223372036854775808 to 9223372036854775807"),
            "u64" => Some("a whole number from 0 to 18446744073709551615"),
            "u32" => Some("a whole number from 0 to 4294967295"),
            "u16" => Some("a whole number from 0 to 65535"),
            "u8" => Some("a whole number from 0 to 255"),
            "f64" => Some("a number"),
            _ => None,
        }
    {
        return format!("{key}: expected {words}, found `{value}`");
    }
    if message.contains("expected end of mapping after enum variant value") {
        return "a step has exactly one key (e.g. `advance: 1h` or `engine: restart`); this one has more, so give each its own `- ` step".into();
    }
    const CHRONO: &[&str] = &[
        "input is out of range",
        "input contains invalid characters",
        "premature end of input",
        "trailing input",
        "no possible date and time matching input",
        "input is not enough for unique date and time",
    ];
    if CHRONO.contains(&message) {
        return format!(
            "{key}: `{value}` is not a valid time; write a UTC time such as `2026-11-02T09:00:00Z`"
        );
    }
    plain_types(message)
}

/// The key a value at byte `column` of `line` belongs to, and the value as written: the key is
/// the last `key:` before the column, the value runs to the next `,` or `}` (or the line's end).
fn key_and_value(line: &str, column: usize) -> (Option<String>, String) {
    let mut column = column.min(line.len());
    while !line.is_char_boundary(column) {
        column -= 1;
    }
    let (before, after) = line.split_at(column);
    let value = after.split([',', '}']).next().unwrap_or("").trim();
    let value = if value.is_empty() { line.trim() } else { value };
    let key = before.trim_end().strip_suffix(':').and_then(|head| {
        let start = head.rfind(['{', ',', ' ', '-']).map(|i| i + 1).unwrap_or(0);
        let key = head[start..].trim();
        (!key.is_empty()).then(|| key.to_owned())
    });
    // No column: a `key: value` line still names its key.
    let key = key.or_else(|| {
        let (head, _) = line.split_once(':')?;
        let key = head.trim().trim_start_matches("- ").trim();
        (!key.is_empty() && !key.contains([' ', '{'])).then(|| key.to_owned())
    });
    let value = if column == 0 {
        line.split_once(':').map(|(_, v)| v.trim()).unwrap_or(value)
    } else {
        value
    };
    (key, value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIVEN: &str = "name: t
given:
  users:
    - { name: Priya Shah, email: priya@example.test }
  jobs:
    - name: Backend
      stages: [Review, { name: Onsite, interviews: [System Design] }, Offer]
  candidates:
    - { name: Ana Ruiz, email: ana@example.test, applies_to: Backend }
";

    fn error(steps: &str) -> String {
        parse(&format!("{GIVEN}steps:\n{steps}"), "s.yaml").unwrap_err().to_string()
    }

    #[test]
    fn a_valid_file_parses() {
        let scenario = parse(&format!("{GIVEN}steps:\n  - greenhouse: {{ move: Ana Ruiz, to: Onsite }}\n  - advance: 72h\n"), "s.yaml")
            .unwrap();
        assert_eq!(scenario.steps.len(), 2);
        assert_eq!(scenario.steps[0].referenced.line(), 11);
    }

    #[test]
    fn unknown_step_kind_names_line() {
        let message =
            error("  - greenhouse: { move: Ana Ruiz, to: Onsite }\n  - teleport: Ana Ruiz\n");
        assert!(message.starts_with("s.yaml:12:"), "{message}");
        assert!(message.contains("teleport"), "{message}");
    }

    #[test]
    fn unknown_reference_names_line() {
        let message = error("  - greenhouse: { move: Bob Stone, to: Onsite }\n");
        assert_eq!(message, "s.yaml:11: unknown candidate `Bob Stone` (not in given.candidates)");
        let message = error("  - greenhouse: { move: Ana Ruiz, to: Lunch }\n");
        assert_eq!(
            message,
            "s.yaml:11: greenhouse move: job `Backend` has no stage `Lunch`; its stages: Review, Onsite, Offer"
        );
    }

    #[test]
    fn syntax_error_and_bad_duration_name_line() {
        let message = error("  - advance: [72h\n");
        assert!(message.starts_with("s.yaml:"), "{message}");
        let message = error("  - advance: soon\n");
        assert!(message.starts_with("s.yaml:11: advance: `soon` is not a duration"), "{message}");
    }

    #[test]
    fn wrong_type_names_line() {
        let message = error("  - iop: { feedback: Ana Ruiz, recommendation: maybe }\n");
        assert!(
            message.starts_with("s.yaml:11: iop feedback: recommendation `maybe`"),
            "{message}"
        );
        let message = parse("name: [1]\nsteps: []\n", "w.yaml").unwrap_err().to_string();
        assert!(message.starts_with("w.yaml:1:"), "{message}");
    }

    #[test]
    fn matcher_values_are_checked_before_running() {
        let message =
            error("  - expect: { greenhouse.interviews: { candidate: Ana Ruiz, count: many } }\n");
        assert!(
            message.starts_with(
                "s.yaml:11: expect greenhouse.interviews: `count` takes a whole number"
            ),
            "{message}"
        );
        let message =
            error("  - advance: 1h\n  - expect: { journal.iop: { since_step: 5, count: 0 } }\n");
        assert!(
            message.contains(
                "s.yaml:12: expect journal.iop: `since_step` takes an earlier step's number, 1 to 2"
            ),
            "{message}"
        );
        let message = error("  - expect: { iop.interviews: { since_step: 1 } }\n");
        assert!(message.contains("`since_step` only applies to journal"), "{message}");
    }

    #[test]
    fn a_waiver_error_names_its_own_line() {
        let text = format!(
            "{GIVEN}steps: []\nwaive:\n  - {{ invariant: nothing_lost, reason: ok }}\n  - {{ invariant: bogus, reason: x }}\n"
        );
        let message = parse(&text, "w.yaml").unwrap_err().to_string();
        assert!(message.starts_with("w.yaml:13: waive: unknown invariant `bogus`"), "{message}");
    }

    #[test]
    fn alias_bombs_get_a_plain_message() {
        let mut text =
            String::from("name: bomb\nsteps: []\nx0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n");
        for level in 1..9 {
            let prev = level - 1;
            text.push_str(&format!("x{level}: &a{level} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        let message = parse(&text, "bomb.yaml").unwrap_err().to_string();
        assert!(message.contains("too large") || message.contains("unknown field"), "{message}");
        assert!(!message.contains("Nodes {"), "{message}");
    }

    #[test]
    fn fault_values_the_mocks_would_refuse_are_refused_up_front() {
        let message = error(
            "  - faults: { greenhouse: { api: [{ kind: status_500, probability: 1.5 }] } }\n",
        );
        assert!(
            message.starts_with("s.yaml:11: faults.greenhouse: api[0].probability 1.5"),
            "{message}"
        );
        let message = error(
            "  - faults: { iop: { api: [{ kind: status_503, times: 2, probability: 0.5 }] } }\n",
        );
        assert!(
            message.starts_with("s.yaml:11: faults.iop: api[0] takes times or probability"),
            "{message}"
        );
    }
}
