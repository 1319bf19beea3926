//! JUnit XML for CI systems: one testsuite, one testcase per scenario, the failure message and
//! the expected-versus-found diff (with the seed) in the failure.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{RunReport, Status};

pub fn render(report: &RunReport) -> String {
    let mut suite = TestSuite::new("rehearsal scenarios");
    for scenario in &report.scenarios {
        let status = match scenario.status {
            Status::Passed => TestCaseStatus::success(),
            Status::Failed => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let headline = match (&scenario.failure, scenario.findings.first()) {
                    (Some(failure), _) => format!(
                        "step {} (line {}): {}",
                        failure.step, failure.line, failure.message
                    ),
                    (None, Some(finding)) => {
                        format!("invariant {}: {}", finding.invariant, finding.message)
                    }
                    (None, None) => "failed".to_owned(),
                };
                status
                    .set_message(headline)
                    .set_type("scenario failure")
                    .set_description(scenario.failure_text(report.seed));
                status
            }
        };
        let mut case = TestCase::new(scenario.name.clone(), status);
        case.set_classname(scenario.file.clone())
            .set_time(Duration::from_millis(scenario.duration_ms));
        suite.add_test_case(case);
    }
    suite.set_time(Duration::from_millis(report.duration_ms));
    suite.add_property(("seed", report.seed.to_string().as_str()));

    let mut junit = Report::new("rehearsal");
    junit.set_time(Duration::from_millis(report.duration_ms)).add_test_suite(suite);
    junit.to_string().unwrap_or_default()
}
