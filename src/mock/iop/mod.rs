//! The stateful mock IOP (contract in `docs/iop-contract.md`): candidates, interviewers,
//! scheduling requests, interviews and feedback with their state machines, idempotency keys,
//! signed webhooks, and simulated people through the control API under `/_rehearsal/`.

pub mod control;

use axum::Router;

use crate::clock::SharedClock;
use crate::transport::SharedHttp;

/// How the mock is set up.
#[derive(Debug, Clone)]
pub struct IopMockConfig {
    /// Where the mock is reached, e.g. `http://iop.test`; API paths live under `/v1`.
    pub base_url: String,
    /// Accepted bearer API keys (one account).
    pub api_keys: Vec<String>,
    /// Requests allowed per 10 s window and key.
    pub rate_limit_per_window: u32,
    /// Seed for every random choice (faults, jitter).
    pub seed: u64,
}

impl Default for IopMockConfig {
    fn default() -> Self {
        Self {
            base_url: "http://iop.test".to_owned(),
            api_keys: vec!["iop_test_key".to_owned()],
            rate_limit_per_window: 100,
            seed: 0,
        }
    }
}

/// The mock. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct MockIop {
    config: IopMockConfig,
    clock: SharedClock,
    http: SharedHttp,
}

impl MockIop {
    /// `http` is what webhook deliveries are sent through.
    pub fn new(config: IopMockConfig, clock: SharedClock, http: SharedHttp) -> Self {
        Self { config, clock, http }
    }

    /// The `/v1` API and the control API.
    pub fn router(&self) -> Router {
        let _ = (&self.config, &self.clock, &self.http);
        Router::new()
    }
}
