//! Integration tests: one binary, helpers shared.

mod cli_bad_input;
mod cli_load;
mod cli_run;
mod helpers;
mod props_lists;
mod props_mapping;
mod props_wire;
