//! Results of a run and the ways to show them: a terminal summary for people (`terminal`),
//! stable JSON (`json`) and JUnit XML (`junit`) for machines.

pub mod html;
pub mod junit;
pub mod terminal;

use serde::Serialize;

use crate::scenario::expect::Mismatch;

/// Version of the JSON report's shape; bumped only on incompatible changes. 2: both `seed`
/// fields are strings of digits (they were numbers, which readers keeping doubles rounded).
pub const REPORT_FORMAT: u32 = 2;

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub format: u32,
    pub tool: &'static str,
    pub version: &'static str,
    /// Reproduces the run with `--seed`. Written as a string in JSON: seeds go up to 2^64 - 1,
    /// and JSON readers that hold numbers as doubles (jq, JavaScript) round them above 2^53.
    #[serde(serialize_with = "as_string")]
    pub seed: u64,
    /// The engine configuration file the scenarios ran against.
    pub engine_config: String,
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    /// Scenarios selected but not started (`--fail-fast` stopped the run).
    #[serde(default)]
    pub not_run: usize,
    /// Whether the run was asked to stop at the first failure (`--fail-fast`).
    #[serde(skip)]
    pub fail_fast: bool,
    pub duration_ms: u64,
    pub scenarios: Vec<ScenarioResult>,
}

impl RunReport {
    pub fn new(
        seed: u64,
        engine_config: String,
        scenarios: Vec<ScenarioResult>,
        duration_ms: u64,
    ) -> Self {
        let passed = scenarios.iter().filter(|s| s.status == Status::Passed).count();
        Self {
            format: REPORT_FORMAT,
            tool: "rehearsal",
            version: env!("CARGO_PKG_VERSION"),
            seed,
            engine_config,
            total: scenarios.len(),
            passed,
            failed: scenarios.len() - passed,
            not_run: 0,
            fail_fast: false,
            duration_ms,
            scenarios,
        }
    }

    pub fn all_passed(&self) -> bool {
        self.failed == 0
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub name: String,
    pub file: String,
    pub tags: Vec<String>,
    pub status: Status,
    /// Wall-clock time the scenario took.
    pub duration_ms: u64,
    /// Virtual time that passed in the scenario, in seconds.
    pub virtual_seconds: i64,
    /// This scenario's own seed (derived from the run's seed and its file name), a string in
    /// JSON. It seeds the mocks; to replay the scenario, run it with the run's `--seed`.
    #[serde(serialize_with = "as_string")]
    pub seed: u64,
    pub steps: usize,
    pub steps_run: usize,
    /// The first step that failed, if one did.
    pub failure: Option<Failure>,
    /// Invariants that did not hold after the scenario.
    pub findings: Vec<Finding>,
    /// Findings the scenario waived, with its reason in the message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waived: Vec<Finding>,
    /// Both mocks' request journals (secrets redacted), when the run keeps them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub journal: Vec<crate::mock::journal::JournalEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// 1-based step number.
    pub step: usize,
    /// Line of the step in the scenario file.
    pub line: u64,
    /// The step as written, in short.
    pub description: String,
    pub message: String,
    pub mismatches: Vec<Mismatch>,
}

/// An invariant of DESIGN.md that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub invariant: String,
    pub message: String,
}

impl ScenarioResult {
    /// One paragraph saying why the scenario failed, for JUnit and terminals, ending with how
    /// to replay it (`run_seed` is the run's `--seed`; the scenario's own seed is derived).
    pub fn failure_text(&self, run_seed: u64) -> String {
        let mut out = String::new();
        if let Some(failure) = &self.failure {
            out.push_str(&format!(
                "step {} (line {}): {}\n{}\n",
                failure.step, failure.line, failure.description, failure.message
            ));
            for mismatch in &failure.mismatches {
                out.push_str(&format!("  {}: {}\n", mismatch.target, mismatch.message));
                out.push_str(&format!("    expected: {}\n", compact(&mismatch.expected)));
                out.push_str(&format!("    found:    {}\n", compact(&mismatch.found)));
            }
        }
        for finding in &self.findings {
            out.push_str(&format!("invariant {}: {}\n", finding.invariant, finding.message));
        }
        out.push_str(&format!("replay: rehearsal run {} --seed {run_seed}\n", self.file));
        out
    }
}

/// Writes a `u64` as a JSON string, so no reader rounds it.
fn as_string<S: serde::Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

pub(crate) fn compact(value: &serde_json::Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
