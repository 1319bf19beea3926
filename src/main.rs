//! The `rehearsal` binary; everything lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    rehearsal::cli::main()
}
