//! One scenario's world: the mock Greenhouse, the mock IOP and the real engine wired together
//! in-process under one virtual clock, and the discrete-event loop that drives them.
//!
//! Nothing moves on its own: the harness asks each mock to deliver what is due, lets the
//! engine handle what is due, and moves the clock to the next due moment only when nothing is
//! left to do now. That makes a run deterministic for a seed and makes `advance: 72h` cost
//! milliseconds.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use http::Method;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::clock::{ManualClock, SharedClock};
use crate::engine::Engine;
use crate::engine::config::{EngineConfig, Secrets};
use crate::mock::common::DeliveryReport;
use crate::mock::greenhouse::{Credential, GreenhouseMockConfig, MockGreenhouse};
use crate::mock::iop::{IopMockConfig, MockIop};
use crate::transport::{HttpClient, RouterClient, json_request};

pub const GREENHOUSE_HOST: &str = "greenhouse.test";
pub const IOP_HOST: &str = "iop.test";
pub const ENGINE_HOST: &str = "engine.test";

/// How much virtual time the harness lets pass while waiting for everyone to go quiet after a
/// step: enough for webhook retries (1 min), engine backoff and a 30 s rate-limit window, and
/// far short of the days-ahead interviews scenarios book, so waiting never changes the story.
pub const QUIET_WINDOW_MINUTES: i64 = 15;
/// Rounds of the delivery loop before the harness declares that the system never goes quiet.
const MAX_ROUNDS: usize = 10_000;

/// Which side a control call goes to.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    Greenhouse,
    Iop,
}

pub struct Harness {
    pub clock: Arc<ManualClock>,
    pub http: RouterClient,
    pub engine: Arc<Engine>,
    /// The secret the mock IOP signs webhooks with (given to it when the world is seeded).
    pub iop_webhook_secret: String,
    /// Keeps the engine's database alive for the scenario.
    _store_dir: tempfile::TempDir,
}

impl Harness {
    /// Builds the three pieces for one scenario. `config` is the engine config under test; its
    /// URLs, store path and secrets are replaced with the in-process ones.
    pub async fn start(
        config: &EngineConfig,
        seed: u64,
        start: DateTime<Utc>,
    ) -> Result<Self, String> {
        let clock = Arc::new(ManualClock::new(start));
        let shared_clock: SharedClock = clock.clone();
        let http = RouterClient::new();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut secret = |prefix: &str| format!("{prefix}{:016x}", rng.random::<u64>());

        let client_id = format!("rehearsal-{}", 1 + seed % 9);
        let client_secret = secret("ghs_");
        let gh_hook = secret("ghwh_");
        let iop_key = secret("iop_");
        let iop_hook = secret("whsec_");

        let greenhouse = MockGreenhouse::new(
            GreenhouseMockConfig {
                base_url: format!("http://{GREENHOUSE_HOST}"),
                credentials: vec![Credential {
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    scopes: vec!["*".into()],
                }],
                seed,
                ..GreenhouseMockConfig::default()
            },
            shared_clock.clone(),
            Arc::new(http.clone()),
        );
        let iop = MockIop::new(
            IopMockConfig {
                base_url: format!("http://{IOP_HOST}"),
                api_keys: vec![iop_key.clone()],
                seed,
                ..IopMockConfig::default()
            },
            shared_clock.clone(),
            Arc::new(http.clone()),
        );

        let mut config = config.clone();
        config.greenhouse.base_url = format!("http://{GREENHOUSE_HOST}");
        config.greenhouse.token_url = format!("http://{GREENHOUSE_HOST}/token");
        config.iop.base_url = format!("http://{IOP_HOST}");
        let store_dir =
            tempfile::tempdir().map_err(|e| format!("cannot create a temporary store: {e}"))?;
        config.store.sqlite_path = store_dir.path().join("engine.db").display().to_string();
        config.service.seed = seed;

        let mut values: HashMap<String, String> = HashMap::new();
        values.insert(config.greenhouse.client_id_env.clone(), client_id);
        values.insert(config.greenhouse.client_secret_env.clone(), client_secret);
        values.insert(config.iop.api_key_env.clone(), iop_key);
        for name in &config.greenhouse.webhook_secret_envs {
            values.insert(name.clone(), gh_hook.clone());
        }
        for name in &config.iop.webhook_secret_envs {
            values.insert(name.clone(), iop_hook.clone());
        }
        let secrets = Secrets::resolve(&config, &values).map_err(|e| e.to_string())?;
        let engine = Engine::open(config, secrets, Arc::new(http.clone()), shared_clock)
            .await
            .map_err(|e| format!("cannot open the engine's store: {e}"))?;

        http.register(GREENHOUSE_HOST, greenhouse.router());
        http.register(IOP_HOST, iop.router());
        http.register(ENGINE_HOST, engine.router());

        let harness =
            Self { clock, http, engine, iop_webhook_secret: iop_hook, _store_dir: store_dir };
        let endpoint = crate::mock::greenhouse::control::WebhookEndpoint {
            url: format!("http://{ENGINE_HOST}/webhooks/greenhouse"),
            secret: gh_hook,
        };
        harness
            .control::<Value>(Side::Greenhouse, Method::PUT, "/_rehearsal/webhook", Some(&endpoint))
            .await?;
        Ok(harness)
    }

    /// Calls a mock's control API; a non-2xx answer becomes its message.
    pub async fn control<T: DeserializeOwned>(
        &self,
        side: Side,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, String> {
        let host = match side {
            Side::Greenhouse => GREENHOUSE_HOST,
            Side::Iop => IOP_HOST,
        };
        let body = body.map(|b| serde_json::to_value(b).unwrap_or(Value::Null));
        let request =
            json_request(method.clone(), &format!("http://{host}{path}"), body.as_ref(), &[])
                .map_err(|e| e.to_string())?;
        let response = self.http.send(request).await.map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(response.body()).into_owned();
        if !response.status().is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or(text);
            return Err(format!(
                "{method} {host}{path} answered {}: {message}",
                response.status().as_u16()
            ));
        }
        let text = if text.is_empty() { "null" } else { text.as_str() };
        serde_json::from_str(text)
            .map_err(|e| format!("{method} {host}{path}: unexpected answer: {e}"))
    }

    /// Delivers, handles and waits until nothing is due within `until` (virtual time); moves
    /// the clock only to moments when something is due.
    pub async fn settle(&self, until: DateTime<Utc>) -> Result<(), String> {
        for _ in 0..MAX_ROUNDS {
            let none: Option<&()> = None;
            let gh: DeliveryReport =
                self.control(Side::Greenhouse, Method::POST, "/_rehearsal/deliver", none).await?;
            let iop: DeliveryReport =
                self.control(Side::Iop, Method::POST, "/_rehearsal/deliver", none).await?;
            let handled = self.engine.run_due().await.map_err(|e| e.to_string())?;
            if gh.delivered + gh.failed + iop.delivered + iop.failed + handled > 0 {
                continue;
            }
            let engine_next = self.engine.next_due().await.map_err(|e| e.to_string())?;
            let next = [gh.next_due, iop.next_due, engine_next].into_iter().flatten().min();
            match next {
                Some(at) if at <= until => self.clock.advance_to(at.max(self.clock_now())),
                _ => return Ok(()),
            }
        }
        Err(format!("the system did not go quiet within {MAX_ROUNDS} delivery rounds"))
    }

    /// Settles within the quiet window after a step.
    pub async fn quiesce(&self) -> Result<(), String> {
        self.settle(self.clock_now() + Duration::minutes(QUIET_WINDOW_MINUTES)).await
    }

    /// Moves virtual time forward by `by`, letting everything due on the way happen in order.
    pub async fn advance(&self, by: Duration) -> Result<(), String> {
        let target = self.clock_now() + by;
        self.settle(target).await?;
        self.clock.advance_to(target);
        self.quiesce().await
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        crate::clock::Clock::now(self.clock.as_ref())
    }
}
