//! The stateful mock Greenhouse: Harvest v3 (OAuth token endpoint, lists, writes, rate limits)
//! and signed recruiting webhooks, plus the control API under `/_rehearsal/`.

pub mod control;

mod auth;
mod control_routes;
mod custom_fields;
pub use custom_fields::{
    check_definitions as check_custom_field_definitions,
    check_record_values as check_custom_field_values,
};
mod faults;
pub use faults::validate as validate_faults;
mod fidelity;
mod lists;
mod ops;
mod pages;
mod rate;
mod reply;
mod seed;
mod server;
mod stale;
mod state;
mod webhooks;
mod writes;

#[cfg(test)]
mod cache_tests;
#[cfg(test)]
mod custom_field_tests;
#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod fidelity_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod wire_snapshots;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;

pub use fidelity::{Fidelity, StageIdMode};

use crate::clock::SharedClock;
use crate::mock::common::DeliveryReport;
use crate::mock::journal::{Journal, JournalEntry};
use crate::transport::SharedHttp;

/// One OAuth client the mock accepts at its token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Must end in Greenhouse's `-<n>` suffix, e.g. `rehearsal-1`.
    pub client_id: String,
    pub client_secret: String,
    /// Granted scopes (`harvest:candidates:list`, …); `*` grants all.
    pub scopes: Vec<String>,
}

/// How the mock is set up.
#[derive(Debug, Clone)]
pub struct GreenhouseMockConfig {
    /// Where the mock is reached, used in `Link` headers, e.g. `http://greenhouse.test`.
    pub base_url: String,
    pub credentials: Vec<Credential>,
    /// Requests allowed per fixed 30 s window and token.
    pub rate_limit_per_window: u32,
    /// Access-token lifetime in seconds.
    pub token_ttl_secs: i64,
    /// Seed for every random choice (faults, jitter).
    pub seed: u64,
    /// The signing secret `PUT /_rehearsal/webhook` uses when its body names none, so a
    /// `rehearsal serve` user can point webhooks somewhere with the secret printed at start.
    pub webhook_secret: Option<String>,
}

impl Default for GreenhouseMockConfig {
    fn default() -> Self {
        Self {
            base_url: "http://greenhouse.test".to_owned(),
            credentials: vec![Credential {
                client_id: "rehearsal-1".to_owned(),
                client_secret: "rehearsal-secret".to_owned(),
                scopes: vec!["*".to_owned()],
            }],
            rate_limit_per_window: 50,
            token_ttl_secs: 3600,
            seed: 0,
            webhook_secret: None,
        }
    }
}

/// The mock. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct MockGreenhouse {
    shared: Arc<Shared>,
}

struct Shared {
    config: GreenhouseMockConfig,
    clock: SharedClock,
    http: SharedHttp,
    journal: Journal,
    inner: Mutex<server::Inner>,
}

impl MockGreenhouse {
    /// `http` is what webhook deliveries are sent through.
    pub fn new(config: GreenhouseMockConfig, clock: SharedClock, http: SharedHttp) -> Self {
        let inner = server::Inner::new(&config, Fidelity::default(), clock.now());
        let shared =
            Shared { config, clock, http, journal: Journal::default(), inner: Mutex::new(inner) };
        Self { shared: Arc::new(shared) }
    }

    /// Replaces the [`Fidelity`] switches (all defaults otherwise).
    pub fn with_fidelity(self, fidelity: Fidelity) -> Self {
        self.lock().fidelity = fidelity;
        self
    }

    /// The Harvest v3 API, the token endpoint (`POST /token`) and the control API.
    pub fn router(&self) -> Router {
        Router::new().fallback(server::serve).with_state(self.clone())
    }

    /// Adds a world, as `POST /_rehearsal/seed` does; on error nothing changes and the
    /// message names the culprit.
    pub fn seed(&self, seed: &control::Seed) -> Result<control::Seeded, String> {
        let now = self.now();
        seed::apply(&mut self.lock().state, seed, now)
    }

    /// Points recruiting webhooks at `endpoint` (as `PUT /_rehearsal/webhook` does). An empty
    /// secret means the configured [`GreenhouseMockConfig::webhook_secret`].
    pub fn set_webhook(&self, endpoint: control::WebhookEndpoint) -> Result<(), String> {
        let endpoint = control_routes::checked_endpoint(&self.shared.config, endpoint)?;
        self.lock().webhook = Some(endpoint);
        Ok(())
    }

    /// Sends every webhook delivery due at the mock's clock, as `POST /_rehearsal/deliver`
    /// does, without a journal entry for the control call itself.
    pub async fn deliver(&self) -> DeliveryReport {
        webhooks::deliver(self).await
    }

    /// Every exchange journalled so far (also served at `GET /_rehearsal/journal`).
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.shared.journal.entries()
    }

    fn now(&self) -> state::Instant {
        self.shared.clock.now()
    }

    fn lock(&self) -> MutexGuard<'_, server::Inner> {
        // A handler that panicked mid-update leaves records that are still individually valid;
        // keep serving rather than poisoning every later request.
        self.shared.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
