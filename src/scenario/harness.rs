//! One scenario's world: the mock Greenhouse, the mock IOP and the real engine wired together
//! under one virtual clock, and the discrete-event loop that drives them.
//!
//! Nothing moves on its own: the harness asks each mock to deliver what is due, lets the
//! engine handle what is due, and moves the clock to the next due moment only when nothing is
//! left to do now. That makes a run deterministic for a seed and makes `advance: 72h` cost
//! milliseconds. The three services talk in-process (routers called directly) or, with
//! [`Transport::Loopback`], over real sockets on 127.0.0.1, which is what an external engine sees.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration as StdDuration;

use axum::Router;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use http::Method;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower::ServiceExt;

use crate::clock::{ManualClock, SharedClock};
use crate::engine::Engine;
use crate::engine::config::{EngineConfig, Secrets};
use crate::mock::common::DeliveryReport;
use crate::mock::greenhouse::{Credential, GreenhouseMockConfig, MockGreenhouse};
use crate::mock::iop::{IopMockConfig, MockIop};
use crate::transport::{ReqwestClient, RouterClient, SharedHttp, json_request, raw_request};

/// How much virtual time the harness lets pass while waiting for everyone to go quiet after a
/// step: enough for webhook retries (1 min), engine backoff and a 30 s rate-limit window, and
/// far short of the days-ahead interviews scenarios book, so waiting never changes the story.
pub const QUIET_WINDOW_MINUTES: i64 = 15;
/// Rounds of the delivery loop before the harness declares that the system never goes quiet.
const MAX_ROUNDS: usize = 10_000;

/// How the three services reach each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Transport {
    /// Routers called in-process: no sockets, fastest.
    #[default]
    Inproc,
    /// Real HTTP over 127.0.0.1 sockets.
    Loopback,
}

/// Which side a control call goes to.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    Greenhouse,
    Iop,
}

/// The secrets of one run, generated from its seed.
#[derive(Clone)]
struct RunSecrets {
    greenhouse_webhook: String,
    iop_webhook: String,
}

pub struct Harness {
    pub clock: Arc<ManualClock>,
    http: SharedHttp,
    pub greenhouse_url: String,
    pub iop_url: String,
    pub engine_url: String,
    engine: RwLock<Arc<Engine>>,
    /// What the engine host serves; swapped on restart so the URL stays the same.
    engine_router: Slot,
    config: EngineConfig,
    secrets: Secrets,
    run_secrets: RunSecrets,
    servers: Vec<tokio::task::JoinHandle<()>>,
    /// Keeps the engine's database alive for the scenario.
    _store_dir: tempfile::TempDir,
}

impl Drop for Harness {
    fn drop(&mut self) {
        for server in &self.servers {
            server.abort();
        }
    }
}

/// A router that forwards every request to whatever router the handle holds now.
fn forwarding_router(target: Arc<RwLock<Router>>) -> Router {
    Router::new().fallback(move |request: axum::extract::Request| {
        let router = target.read().unwrap_or_else(|p| p.into_inner()).clone();
        async move {
            match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    })
}

async fn serve_on_loopback(
    router: Router,
) -> Result<(String, tokio::task::JoinHandle<()>), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot bind 127.0.0.1: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok((format!("http://{address}"), task))
}

impl Harness {
    /// Builds the three pieces for one scenario. `config` is the engine config under test; its
    /// URLs, store path and secrets are replaced with the harness's own.
    pub async fn start(
        config: &EngineConfig,
        seed: u64,
        start: DateTime<Utc>,
        transport: Transport,
    ) -> Result<Self, String> {
        let clock = Arc::new(ManualClock::new(start));
        let shared_clock: SharedClock = clock.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut secret = |prefix: &str| format!("{prefix}{:016x}", rng.random::<u64>());
        let client_id = format!("rehearsal-{}", 1 + seed % 9);
        let client_secret = secret("ghs_");
        let iop_key = secret("iop_");
        let run_secrets =
            RunSecrets { greenhouse_webhook: secret("ghwh_"), iop_webhook: secret("whsec_") };

        let router_client = RouterClient::new();
        let http: SharedHttp = match transport {
            Transport::Inproc => Arc::new(router_client.clone()),
            // Generous: a request only waits on another task of this process.
            Transport::Loopback => {
                Arc::new(ReqwestClient::new(StdDuration::from_secs(30)).map_err(|e| e.to_string())?)
            }
        };
        // Each service sits behind a slot filled once it exists (and refilled on an engine
        // restart), so every address is known before anything is built.
        let greenhouse_slot: Slot = Arc::new(RwLock::new(Router::new()));
        let iop_slot: Slot = Arc::new(RwLock::new(Router::new()));
        let engine_router: Slot = Arc::new(RwLock::new(Router::new()));
        let mut servers = Vec::new();
        let mut urls = Vec::new();
        for (host, slot) in [
            ("greenhouse.test", &greenhouse_slot),
            ("iop.test", &iop_slot),
            ("engine.test", &engine_router),
        ] {
            match transport {
                Transport::Inproc => {
                    router_client.register(host, forwarding_router(slot.clone()));
                    urls.push(format!("http://{host}"));
                }
                Transport::Loopback => {
                    let (url, task) = serve_on_loopback(forwarding_router(slot.clone())).await?;
                    servers.push(task);
                    urls.push(url);
                }
            }
        }
        let (greenhouse_url, iop_url, engine_url) =
            (urls[0].clone(), urls[1].clone(), urls[2].clone());

        let greenhouse = MockGreenhouse::new(
            GreenhouseMockConfig {
                base_url: greenhouse_url.clone(),
                credentials: vec![Credential {
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    scopes: vec!["*".into()],
                }],
                seed,
                ..GreenhouseMockConfig::default()
            },
            shared_clock.clone(),
            http.clone(),
        );
        let iop = MockIop::new(
            IopMockConfig {
                base_url: iop_url.clone(),
                api_keys: vec![iop_key.clone()],
                seed,
                ..IopMockConfig::default()
            },
            shared_clock.clone(),
            http.clone(),
        );
        *greenhouse_slot.write().unwrap_or_else(|p| p.into_inner()) = greenhouse.router();
        *iop_slot.write().unwrap_or_else(|p| p.into_inner()) = iop.router();

        let mut config = config.clone();
        config.greenhouse.base_url = greenhouse_url.clone();
        config.greenhouse.token_url = format!("{greenhouse_url}/token");
        config.iop.base_url = iop_url.clone();
        let store_dir =
            tempfile::tempdir().map_err(|e| format!("cannot create a temporary store: {e}"))?;
        config.store.sqlite_path = store_dir.path().join("engine.db").display().to_string();
        config.service.seed = seed;
        // Events handled side by side would reach the mocks in an order that depends on the
        // scheduler, and with it the mocks' ids and journals: a seed must give the same run.
        config.service.concurrency = 1;

        let mut values: HashMap<String, String> = HashMap::new();
        values.insert(config.greenhouse.client_id_env.clone(), client_id);
        values.insert(config.greenhouse.client_secret_env.clone(), client_secret);
        values.insert(config.iop.api_key_env.clone(), iop_key);
        for name in &config.greenhouse.webhook_secret_envs {
            values.insert(name.clone(), run_secrets.greenhouse_webhook.clone());
        }
        for name in &config.iop.webhook_secret_envs {
            values.insert(name.clone(), run_secrets.iop_webhook.clone());
        }
        let secrets = Secrets::resolve(&config, &values).map_err(|e| e.to_string())?;
        let engine = Engine::open(config.clone(), secrets.clone(), http.clone(), shared_clock)
            .await
            .map_err(|e| format!("cannot open the engine's store: {e}"))?;
        *engine_router.write().unwrap_or_else(|p| p.into_inner()) = engine.router();

        let harness = Self {
            clock,
            http,
            greenhouse_url,
            iop_url,
            engine_url,
            engine: RwLock::new(engine),
            engine_router,
            config,
            secrets,
            run_secrets,
            servers,
            _store_dir: store_dir,
        };
        let endpoint = crate::mock::greenhouse::control::WebhookEndpoint {
            url: format!("{}/webhooks/greenhouse", harness.engine_url),
            secret: harness.run_secrets.greenhouse_webhook.clone(),
        };
        harness
            .control::<Value>(Side::Greenhouse, Method::PUT, "/_rehearsal/webhook", Some(&endpoint))
            .await?;
        Ok(harness)
    }

    /// The engine now running.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The secret the mock IOP signs webhooks with (handed to it when the world is seeded).
    pub fn iop_webhook_secret(&self) -> String {
        self.run_secrets.iop_webhook.clone()
    }

    /// Stops the engine and starts a fresh one on the same store, as a crash and restart would.
    pub async fn restart_engine(&self) -> Result<(), String> {
        let engine = Engine::open(
            self.config.clone(),
            self.secrets.clone(),
            self.http.clone(),
            self.clock.clone(),
        )
        .await
        .map_err(|e| format!("cannot reopen the engine's store: {e}"))?;
        *self.engine_router.write().unwrap_or_else(|p| p.into_inner()) = engine.router();
        *self.engine.write().unwrap_or_else(|p| p.into_inner()) = engine;
        Ok(())
    }

    /// Calls a mock's control API; a non-2xx answer becomes its message.
    pub async fn control<T: DeserializeOwned>(
        &self,
        side: Side,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, String> {
        let base = match side {
            Side::Greenhouse => &self.greenhouse_url,
            Side::Iop => &self.iop_url,
        };
        let body = body.map(|b| serde_json::to_value(b).unwrap_or(Value::Null));
        let url = format!("{base}{path}");
        let request =
            json_request(method.clone(), &url, body.as_ref(), &[]).map_err(|e| e.to_string())?;
        let response = self.http.send(request).await.map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(response.body()).into_owned();
        if !response.status().is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or(text);
            return Err(format!(
                "{method} {path} answered {}: {message}",
                response.status().as_u16()
            ));
        }
        let text = if text.is_empty() { "null" } else { text.as_str() };
        serde_json::from_str(text).map_err(|e| format!("{method} {path}: unexpected answer: {e}"))
    }

    /// Sends a webhook body straight to the engine as `from` would, signed as asked; returns
    /// the engine's status.
    pub async fn inject_webhook(
        &self,
        from: super::model::WebhookSource,
        body: &Value,
        signature: super::model::SignatureMode,
        event_id: &str,
    ) -> Result<u16, String> {
        use super::model::{SignatureMode, WebhookSource};
        let (path, bytes, mut headers) = match from {
            WebhookSource::Greenhouse => {
                let bytes = crate::greenhouse::signature::greenhouse_json(body);
                let header = match signature {
                    SignatureMode::Valid => Some(crate::greenhouse::signature::sign(
                        &self.run_secrets.greenhouse_webhook,
                        &bytes,
                    )),
                    SignatureMode::Invalid => {
                        Some(crate::greenhouse::signature::sign("not-the-secret", &bytes))
                    }
                    SignatureMode::Missing => None,
                };
                let headers: Vec<(&str, String)> =
                    header.into_iter().map(|h| ("signature", h)).collect();
                ("/webhooks/greenhouse", bytes, headers)
            }
            WebhookSource::Iop => {
                let bytes = serde_json::to_vec(body).unwrap_or_default();
                let t = self.clock_now().timestamp();
                let header = match signature {
                    SignatureMode::Valid => Some(crate::iop::signature::header(
                        std::slice::from_ref(&self.run_secrets.iop_webhook),
                        t,
                        &bytes,
                    )),
                    SignatureMode::Invalid => Some(crate::iop::signature::header(
                        &["not-the-secret".to_owned()],
                        t,
                        &bytes,
                    )),
                    SignatureMode::Missing => None,
                };
                let headers: Vec<(&str, String)> =
                    header.into_iter().map(|h| ("iop-signature", h)).collect();
                ("/webhooks/iop", bytes, headers)
            }
        };
        let id_header = match from {
            super::model::WebhookSource::Greenhouse => "greenhouse-event-id",
            super::model::WebhookSource::Iop => "iop-event-id",
        };
        headers.push((id_header, event_id.to_owned()));
        let url = format!("{}{path}", self.engine_url);
        let request =
            raw_request(Method::POST, &url, Bytes::from(bytes), Some("application/json"), &headers)
                .map_err(|e| e.to_string())?;
        let response = self.http.send(request).await.map_err(|e| e.to_string())?;
        Ok(response.status().as_u16())
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
            let engine = self.engine();
            let handled = engine.run_due().await.map_err(|e| e.to_string())?;
            if gh.delivered + gh.failed + iop.delivered + iop.failed + handled > 0 {
                continue;
            }
            let engine_next = engine.next_due().await.map_err(|e| e.to_string())?;
            let next = [gh.next_due, iop.next_due, engine_next].into_iter().flatten().min();
            match next {
                Some(at) if at <= until => self.clock.advance_to(at.max(self.clock_now())),
                _ => return Ok(()),
            }
        }
        Err(format!("the system did not go quiet within {MAX_ROUNDS} delivery rounds"))
    }

    /// Lets virtual time run to the next moment something is due, but not past `deadline`, and
    /// handles what happens there.
    pub async fn step_towards(&self, deadline: DateTime<Utc>) -> Result<(), String> {
        let none: Option<&()> = None;
        let gh: DeliveryReport =
            self.control(Side::Greenhouse, Method::GET, "/_rehearsal/status", none).await?;
        let iop: DeliveryReport =
            self.control(Side::Iop, Method::GET, "/_rehearsal/status", none).await?;
        let engine_next = self.engine().next_due().await.map_err(|e| e.to_string())?;
        let next = [gh.next_due, iop.next_due, engine_next]
            .into_iter()
            .flatten()
            .filter(|at| *at <= deadline)
            .min();
        self.clock.advance_to(next.unwrap_or(deadline));
        self.settle(self.clock_now()).await
    }

    /// Settles within the quiet window after a step.
    pub async fn quiesce(&self) -> Result<(), String> {
        self.settle(self.later(Duration::minutes(QUIET_WINDOW_MINUTES))?).await
    }

    /// Moves virtual time forward by `by`, letting everything due on the way happen in order.
    pub async fn advance(&self, by: Duration) -> Result<(), String> {
        let target = self.later(by)?;
        self.settle(target).await?;
        self.clock.advance_to(target);
        self.quiesce().await
    }

    /// The virtual time `by` from now; an error rather than an overflow past the calendar.
    pub fn later(&self, by: Duration) -> Result<DateTime<Utc>, String> {
        let now = self.clock_now();
        now.checked_add_signed(by).ok_or_else(|| {
            format!(
                "virtual time cannot move {} s past {}: beyond the calendar",
                by.num_seconds(),
                now.to_rfc3339()
            )
        })
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        crate::clock::Clock::now(self.clock.as_ref())
    }
}

type Slot = Arc<RwLock<Router>>;
