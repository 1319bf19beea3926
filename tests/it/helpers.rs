//! Shared helpers: run the built CLI and write scenario files into a temporary folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `rehearsal` with `args` from the package root (so `fixtures/` is found).
pub fn rehearsal(args: &[&str]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_rehearsal"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the rehearsal binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("temp file is writable");
    path
}

/// A small valid world for hand-written test scenarios.
pub const GIVEN: &str = "given:
  users:
    - { name: Priya Shah, email: priya.shah@example.test }
  jobs:
    - name: Backend Engineer
      stages:
        - Application Review
        - name: Onsite
          interviews: [{ name: System Design, interviewers: [Priya Shah] }]
        - Offer
  candidates:
    - { name: Ana Ruiz, email: ana.ruiz@example.test, applies_to: Backend Engineer }
";
