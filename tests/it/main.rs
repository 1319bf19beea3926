//! Integration tests: one binary, helpers shared.

mod cli_bad_input;
mod cli_run;
mod helpers;
mod schema;
mod serve;
mod scenarios;
