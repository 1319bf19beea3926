//! Scenario files and runner.
