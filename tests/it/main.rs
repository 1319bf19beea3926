//! Integration tests: one binary, helpers shared.

mod cli_bad_input;
mod cli_findings;
mod cli_load;
mod cli_run;
mod convergence;
mod engine_check;
mod engine_clients;
mod engine_concurrency;
mod engine_crash;
mod engine_dead_letters;
mod engine_reconcile;
mod engine_serve_output;
mod engine_shutdown;
mod engine_world;
mod helpers;
mod props_lists;
mod props_mapping;
mod props_wire;
mod scenarios;
mod schema;
mod serve;
