//! The `rehearsal` command line. Each subcommand lives in its own file; this one declares them
//! and dispatches. Exit codes: 0 success, 1 a scenario (or check) failed, 2 unusable input.

mod engine;
mod engine_check;
mod explore;
mod load;
pub mod run;
mod serve;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use run::Format;

/// A scenario or check failed.
pub const EXIT_FAILED: u8 = 1;
/// The input (files, config, flags) is unusable.
pub const EXIT_BAD_INPUT: u8 = 2;

#[derive(Parser)]
#[command(
    name = "rehearsal",
    version,
    about = "Rehearse a Greenhouse ↔ interview-orchestration integration before go-live"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay scenario files through the mock Greenhouse, the mock IOP and the real engine.
    Run(run::RunArgs),
    /// Check scenario files without running them.
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// The sync engine: `serve` it, `check` a config, handle `dead-letters`.
    Engine(engine::EngineArgs),
    /// Search interleavings of actions, faults and time for one the engine does not converge on.
    Explore(explore::ExploreArgs),
    /// Print the JSON Schema of scenario files (for editors: `rehearsal schema > scenario.schema.json`).
    Schema,
    /// Serve the mock Greenhouse and the mock IOP on loopback ports until Ctrl-C.
    Serve(serve::ServeArgs),
    /// Push seeded fake candidates through the engine and report throughput and latency.
    Load(load::LoadArgs),
}

/// Parses the command line and runs the chosen subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Two worker threads: enough for `run --jobs`, servers and the SQLite threads on the
    // 2-core machines this runs on; each scenario is still driven step by step, so results do
    // not depend on scheduling.
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => {
                eprintln!("error: cannot start the async runtime: {error}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        };
    match cli.command {
        Command::Run(args) => runtime.block_on(run::run(args)),
        Command::Validate { paths } => run::validate(&paths),
        Command::Engine(args) => runtime.block_on(engine::main(args)),
        Command::Explore(args) => explore::main(args),
        Command::Schema => {
            println!("{}", crate::scenario::schema());
            ExitCode::SUCCESS
        }
        Command::Serve(args) => runtime.block_on(serve::main(args)),
        Command::Load(args) => runtime.block_on(load::main(args)),
    }
}

/// Prints one `error:` line to stderr and returns the bad-input exit code.
pub(crate) fn bad_input(message: &str) -> ExitCode {
    let _ = writeln!(anstream::stderr(), "error: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}
