//! `rehearsal engine check --config F`: every problem of an engine configuration, without
//! starting anything. Exit 0 clean, 1 problems found, 2 the file cannot be read.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::{EXIT_FAILED, bad_input};
use crate::clock::SystemClock;
use crate::engine::check::{self, StageCheck};
use crate::engine::config::{EnvSecrets, SecretSource};
use crate::transport::ReqwestClient;

/// The stage check is one token and two list calls; a Greenhouse that has not answered in
/// this many seconds is treated as unreachable.
const GREENHOUSE_TIMEOUT_SECS: u64 = 10;

pub async fn check(path: &Path) -> ExitCode {
    let file = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => return bad_input(&format!("{file}: cannot read: {error}")),
    };

    let (config, mut problems) = check::check_text(&text, &file);
    let mut notes = Vec::new();
    match &config {
        None => notes.push("secrets and stages not checked: fix the file first".to_owned()),
        Some(config) => {
            problems.extend(check::secret_problems(config, &text, &file, &EnvSecrets));
            let id = EnvSecrets.get(&config.greenhouse.client_id_env);
            let secret = EnvSecrets.get(&config.greenhouse.client_secret_env);
            match (id, secret, ReqwestClient::new(Duration::from_secs(GREENHOUSE_TIMEOUT_SECS))) {
                (Some(id), Some(secret), Ok(http)) => {
                    let stages = check::check_stages(
                        config,
                        &text,
                        &file,
                        (id, secret),
                        Arc::new(http),
                        Arc::new(SystemClock),
                    )
                    .await;
                    match stages {
                        StageCheck::Checked { problems: found, notes: more } => {
                            notes.push("stages checked against the connected Greenhouse".into());
                            notes.extend(more);
                            problems.extend(found);
                        }
                        StageCheck::NotChecked(why) => {
                            notes.push(format!("stages not checked: {why}"))
                        }
                    }
                }
                (_, _, Err(error)) => notes.push(format!("stages not checked: {error}")),
                _ => notes.push("stages not checked: Greenhouse credentials are not set".into()),
            }
        }
    }

    // In file order, so the list reads top to bottom like the file.
    problems.sort_by_key(|problem| problem.line.unwrap_or(usize::MAX));
    for problem in &problems {
        println!("{problem}");
    }
    for note in &notes {
        println!("note: {note}");
    }
    match problems.len() {
        0 => {
            println!("{file}: ok");
            ExitCode::SUCCESS
        }
        1 => {
            println!("{file}: 1 problem");
            ExitCode::from(EXIT_FAILED)
        }
        n => {
            println!("{file}: {n} problems");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
