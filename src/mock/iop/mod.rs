//! The stateful mock IOP (contract in `docs/iop-contract.md`): candidates, interviewers,
//! scheduling requests, interviews and feedback with their state machines, idempotency keys,
//! signed webhooks, and simulated people through the control API under `/_rehearsal/`.
//!
//! Layout: `routes` is the front door (request ids, journal, auth, rate limit, faults,
//! idempotency, dispatch); `state` holds the world behind one mutex; `people`, `scheduling`,
//! `interviews` (+ `interview_routes`) and `feedback` hold each resource's operations;
//! `events` records events and queues deliveries, `webhooks` sends them; `control_routes`
//! serves `/_rehearsal/`.

mod api;
mod auth;
mod candidates;
pub mod control;
mod control_routes;
mod custom_fields;
mod events;
mod faults;
pub use faults::validate as validate_faults;
mod feedback;
mod idempotency;
mod interview_routes;
mod interviews;
mod people;
mod request_routes;
mod routes;
mod scheduling;
mod stale;
mod state;
mod webhooks;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::Request;

use self::state::State;
use crate::clock::SharedClock;
use crate::mock::journal::Journal;
use crate::transport::SharedHttp;

/// How the mock is set up.
#[derive(Debug, Clone)]
pub struct IopMockConfig {
    /// Where the mock is reached, e.g. `http://iop.test`; API paths live under `/v1`.
    pub base_url: String,
    /// Accepted bearer API keys (one account), each with every scope.
    pub api_keys: Vec<String>,
    /// Further keys of the same account that hold only some scopes; a request outside them
    /// answers `403 forbidden`. Empty by default.
    pub restricted_keys: Vec<RestrictedKey>,
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
            restricted_keys: Vec::new(),
            rate_limit_per_window: 100,
            seed: 0,
        }
    }
}

/// An API key limited to some scopes. A scope is `<resource>:read` (GET) or
/// `<resource>:write` (every other method), where `<resource>` is the first path segment
/// after `/v1` (`candidates`, `interviews`, …) or `*` for all of them; `*` alone is every scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestrictedKey {
    pub key: String,
    pub scopes: Vec<String>,
}

/// The mock. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct MockIop {
    config: IopMockConfig,
    clock: SharedClock,
    http: SharedHttp,
    state: Arc<Mutex<State>>,
    journal: Journal,
}

impl MockIop {
    /// `http` is what webhook deliveries are sent through.
    pub fn new(config: IopMockConfig, clock: SharedClock, http: SharedHttp) -> Self {
        let state =
            State::new(&config.base_url, config.seed, config.rate_limit_per_window, clock.now());
        Self {
            config,
            clock,
            http,
            state: Arc::new(Mutex::new(state)),
            journal: Journal::default(),
        }
    }

    /// The `/v1` API and the control API.
    pub fn router(&self) -> Router {
        let mock = self.clone();
        Router::new().fallback(move |request: Request| {
            let mock = mock.clone();
            async move { routes::serve(mock, request).await }
        })
    }

    /// Locks the state and sets its "now" from the injected clock.
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock still holds consistent data: every operation validates before it
        // mutates, so keep serving.
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.now = self.clock.now();
        state
    }

    /// Forgets everything: resources, events, deliveries, keys, faults, journal; the RNG
    /// starts again from the seed.
    fn reset(&self) {
        let mut state = self.lock();
        *state = State::new(
            &self.config.base_url,
            self.config.seed,
            self.config.rate_limit_per_window,
            self.clock.now(),
        );
        self.journal.clear();
    }
}
