//! The terminal report: a line per scenario as it finishes, then a summary, and for each
//! failure the step with expected and found side by side.

use owo_colors::OwoColorize;

use super::{RunReport, ScenarioResult, Status, compact};

/// The line printed when a scenario finishes.
pub fn scenario_line(result: &ScenarioResult) -> String {
    let mark = match result.status {
        Status::Passed => format!("{}", "PASS".green()),
        Status::Failed => format!("{}", "FAIL".red()),
    };
    format!(
        "{mark} {} ({} ms, {} virtual) {}",
        result.name,
        result.duration_ms,
        virtual_time(result.virtual_seconds),
        result.file
    )
}

/// The summary after all scenarios, with every failure explained.
pub fn summary(report: &RunReport) -> String {
    let mut out = String::new();
    for result in report.scenarios.iter().filter(|r| r.status == Status::Failed) {
        out.push_str(&format!("\n{} {} ({})\n", "──".dimmed(), result.name.bold(), result.file));
        if let Some(failure) = &result.failure {
            out.push_str(&format!(
                "  step {} at line {}: {}\n",
                failure.step, failure.line, failure.description
            ));
            out.push_str(&format!("  {}\n", failure.message));
            for mismatch in &failure.mismatches {
                out.push_str(&side_by_side(
                    &mismatch.target,
                    &mismatch.message,
                    &mismatch.expected,
                    &mismatch.found,
                ));
            }
        }
        for finding in &result.findings {
            out.push_str(&format!(
                "  invariant {}: {}\n",
                finding.invariant.yellow(),
                finding.message
            ));
        }
    }
    let verdict = if report.all_passed() {
        format!("{}", "ok".green())
    } else {
        format!("{}", "FAILED".red())
    };
    let not_run = match (report.not_run, report.fail_fast) {
        (0, _) => String::new(),
        (n, true) => format!(", {n} not run (--fail-fast)"),
        (n, false) => format!(", {n} not run"),
    };
    out.push_str(&format!(
        "\n{verdict}: {} passed, {} failed{not_run} ({} scenarios, {} ms); seed {} (replay with --seed {})\n",
        report.passed, report.failed, report.total, report.duration_ms, report.seed, report.seed
    ));
    out
}

fn side_by_side(
    target: &str,
    message: &str,
    expected: &serde_json::Value,
    found: &serde_json::Value,
) -> String {
    let left: Vec<String> = pretty(expected);
    let right: Vec<String> = pretty(found);
    let width = left.iter().map(|l| l.chars().count()).max().unwrap_or(0).clamp(8, 60);
    let mut out = format!(
        "  {target}: {message}\n    {:<width$} │ {}\n",
        "expected".bold(),
        "found".bold(),
        width = width
    );
    for row in 0..left.len().max(right.len()) {
        let l = left.get(row).map(String::as_str).unwrap_or("");
        let r = right.get(row).map(String::as_str).unwrap_or("");
        out.push_str(&format!("    {l:<width$} │ {r}\n"));
    }
    out
}

fn pretty(value: &serde_json::Value) -> Vec<String> {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| compact(value));
    text.lines().map(str::to_owned).collect()
}

fn virtual_time(seconds: i64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) => format!("{hours}h{minutes:02}m"),
        _ => format!("{days}d{hours:02}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_time_reads_naturally() {
        assert_eq!(virtual_time(0), "0m");
        assert_eq!(virtual_time(3 * 3600 + 5 * 60), "3h05m");
        assert_eq!(virtual_time(72 * 3600 + 30 * 60), "3d00h");
    }
}
