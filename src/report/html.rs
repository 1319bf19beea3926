//! The HTML report: the summary, each failure's expected-versus-found, and a timeline per
//! scenario of who sent what to whom (runner, Greenhouse, engine, IOP), read from the mocks'
//! journals. One self-contained file, no scripts.

use minijinja::{Environment, context};
use serde::Serialize;

use super::RunReport;
use crate::mock::journal::{Direction, JournalEntry};

const TEMPLATE: &str = include_str!("timeline.html.j2");

/// One arrow of the timeline.
#[derive(Debug, Serialize)]
struct Arrow<'a> {
    at: String,
    from: &'static str,
    to: &'static str,
    method: &'a str,
    path: &'a str,
    /// 0 when no response came (timeout, reset).
    status: u16,
    notes: &'a [String],
}

fn arrow(entry: &JournalEntry) -> Arrow<'_> {
    let control =
        entry.notes.iter().any(|n| n == "control") || entry.path.starts_with("/_rehearsal/");
    let side = if entry.service == "iop" { "iop" } else { "greenhouse" };
    let (from, to) = match entry.direction {
        // A mock's own webhook delivery goes to the engine.
        Direction::Outbound => (side, "engine"),
        Direction::Inbound if control => ("runner", side),
        Direction::Inbound => ("engine", side),
    };
    Arrow {
        at: entry.at.format("%a %H:%M:%S").to_string(),
        from,
        to,
        method: &entry.method,
        path: &entry.path,
        status: entry.status.unwrap_or(0),
        notes: &entry.notes,
    }
}

#[derive(Serialize)]
struct ScenarioView<'a> {
    #[serde(flatten)]
    result: &'a super::ScenarioResult,
    timeline: Vec<Arrow<'a>>,
}

/// Renders the report; timelines appear for scenarios run with journals kept. Control calls
/// that only read state (`/_rehearsal/state`, `/journal`, `/status`, `/deliver`) are left out,
/// so the timeline shows the story, not the harness polling it.
pub fn render(report: &RunReport) -> String {
    let quiet =
        ["/_rehearsal/state", "/_rehearsal/journal", "/_rehearsal/status", "/_rehearsal/deliver"];
    let scenarios: Vec<ScenarioView<'_>> = report
        .scenarios
        .iter()
        .map(|result| ScenarioView {
            result,
            timeline: result
                .journal
                .iter()
                .filter(|e| !quiet.iter().any(|q| e.path.starts_with(q)))
                .map(arrow)
                .collect(),
        })
        .collect();

    let mut env = Environment::new();
    if let Err(error) = env.add_template("report.html", TEMPLATE) {
        return format!(
            "<!doctype html><p>report template error: {}</p>",
            escape(&error.to_string())
        );
    }
    let view = context! {
        report => context! {
            passed => report.passed, failed => report.failed, total => report.total, seed => report.seed,
            engine_config => &report.engine_config, duration_ms => report.duration_ms, scenarios => minijinja::value::Serde(&scenarios),
        }
    };
    match env.get_template("report.html").and_then(|t| t.render(view)) {
        Ok(html) => html,
        Err(error) => {
            format!("<!doctype html><p>report rendering failed: {}</p>", escape(&error.to_string()))
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
