//! Shared set-up for the engine's tests: a config, the two mocks either in-process (virtual
//! time, no sockets) or served on 127.0.0.1 (real time), and a small seeded world.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rehearsal::clock::{ManualClock, SharedClock, SystemClock};
use rehearsal::engine::Engine;
use rehearsal::engine::config::{EngineConfig, Secrets};
use rehearsal::mock::greenhouse::control::{
    Seed, SeedApplication, SeedCandidate, SeedInterview, SeedJob, SeedStage, Seeded, TypedValue,
};
use rehearsal::mock::greenhouse::{GreenhouseMockConfig, MockGreenhouse};
use rehearsal::mock::iop::{IopMockConfig, MockIop};
use rehearsal::transport::{HttpClient, ReqwestClient, RouterClient, json_request, raw_request};
use serde_json::Value;

/// The mocks' default credentials (see `GreenhouseMockConfig` and `IopMockConfig`).
pub const GH_CLIENT_ID: &str = "rehearsal-1";
pub const GH_CLIENT_SECRET: &str = "rehearsal-secret";
pub const IOP_KEY: &str = "iop_test_key";
pub const GH_HOOK: &str = "gh-webhook-secret";
pub const IOP_HOOK: &str = "iop-webhook-secret";

/// An engine config for the given URLs and store, with an `Onsite` trigger.
pub fn config_text(greenhouse: &str, iop: &str, sqlite: &str, env_prefix: &str) -> String {
    format!(
        r#"[greenhouse]
base_url = "{greenhouse}"
token_url = "{greenhouse}/token"
client_id_env = "{env_prefix}GH_ID"
client_secret_env = "{env_prefix}GH_SECRET"
webhook_secret_envs = ["{env_prefix}GH_HOOK"]

[iop]
base_url = "{iop}"
api_key_env = "{env_prefix}IOP_KEY"
webhook_secret_envs = ["{env_prefix}IOP_HOOK"]

[store]
sqlite_path = "{sqlite}"

[service]
listen = "127.0.0.1:0"
poll_interval_secs = 1

[retry]
max_attempts = 8
base_delay_secs = 1
max_delay_secs = 5

[[triggers]]
stage = "Onsite"
action = "open_scheduling_request"
"#
    )
}

/// The environment a config from [`config_text`] needs, with the mocks' credentials.
pub fn env_for(env_prefix: &str) -> Vec<(String, String)> {
    [
        ("GH_ID", GH_CLIENT_ID),
        ("GH_SECRET", GH_CLIENT_SECRET),
        ("GH_HOOK", GH_HOOK),
        ("IOP_KEY", IOP_KEY),
        ("IOP_HOOK", IOP_HOOK),
    ]
    .into_iter()
    .map(|(name, value)| (format!("{env_prefix}{name}"), value.to_owned()))
    .collect()
}

pub fn secrets_for(config: &EngineConfig, env_prefix: &str) -> Secrets {
    let values: HashMap<String, String> = env_for(env_prefix).into_iter().collect();
    Secrets::resolve(config, &values).unwrap()
}

/// A job `Backend Engineer` with stages Application Review, Onsite (one interview), Offer, and
/// `count` candidates each with one application in `stage`.
pub fn seed(count: usize, stage: &str) -> Seed {
    let stages = ["Application Review", "Onsite", "Offer"]
        .into_iter()
        .map(|name| SeedStage {
            name: name.into(),
            id: None,
            interviews: if name == "Onsite" {
                vec![SeedInterview {
                    name: "System Design".into(),
                    id: None,
                    duration_minutes: Some(60),
                    interviewer_keys: vec![],
                }]
            } else {
                vec![]
            },
        })
        .collect();
    let candidates = (0..count)
        .map(|i| SeedCandidate {
            key: format!("c{i}"),
            id: None,
            first_name: "Ana".into(),
            last_name: format!("Ruiz {i}"),
            email_addresses: vec![TypedValue {
                value: format!("ana.ruiz.{i}@example.test"),
                kind: "personal".into(),
            }],
            phone_numbers: vec![],
            time_zone: Some("Europe/Madrid".into()),
            custom_fields: Default::default(),
            applications: vec![SeedApplication {
                id: None,
                job_key: "backend".into(),
                stage: Some(stage.into()),
                status: None,
                custom_fields: Default::default(),
            }],
        })
        .collect();
    Seed {
        users: vec![],
        jobs: vec![SeedJob {
            key: "backend".into(),
            id: None,
            name: "Backend Engineer".into(),
            stages,
        }],
        candidates,
        rejection_reasons: vec![],
        custom_fields: Vec::new(),
    }
}

/// Calls a control route and returns its JSON answer; panics with the body on a non-2xx.
pub async fn control(
    http: &dyn HttpClient,
    method: http::Method,
    url: &str,
    body: Option<&Value>,
) -> Value {
    let request = json_request(method, url, body, &[]).unwrap();
    let response = http.send(request).await.unwrap();
    let text = String::from_utf8_lossy(response.body()).into_owned();
    assert!(response.status().is_success(), "{url}: {} {text}", response.status());
    serde_json::from_str(if text.is_empty() { "null" } else { &text }).unwrap()
}

pub async fn seed_world(http: &dyn HttpClient, greenhouse: &str, seed: &Seed) -> Seeded {
    let body = serde_json::to_value(seed).unwrap();
    let seeded =
        control(http, http::Method::POST, &format!("{greenhouse}/_rehearsal/seed"), Some(&body))
            .await;
    serde_json::from_value(seeded).unwrap()
}

/// Open IOP scheduling requests per Greenhouse application id.
pub async fn open_requests(http: &dyn HttpClient, iop: &str) -> HashMap<i64, usize> {
    let state = control(http, http::Method::GET, &format!("{iop}/_rehearsal/state"), None).await;
    let mut open = HashMap::new();
    for request in state["scheduling_requests"].as_array().unwrap() {
        let status = request["status"].as_str().unwrap_or_default();
        if ["pending", "availability_requested", "availability_received", "scheduled"]
            .contains(&status)
        {
            let application =
                request["external_refs"]["greenhouse"]["application_id"].as_i64().unwrap();
            *open.entry(application).or_default() += 1;
        }
    }
    open
}

/// Both mocks and the engine in-process, on a virtual clock.
pub struct InProcess {
    pub clock: Arc<ManualClock>,
    pub http: RouterClient,
    pub engine: Arc<Engine>,
    pub config: EngineConfig,
    pub _dir: tempfile::TempDir,
}

pub const GH_URL: &str = "http://greenhouse.test";
pub const IOP_URL: &str = "http://iop.test";

impl InProcess {
    pub async fn start() -> Self {
        let clock = Arc::new(ManualClock::new(ManualClock::scenario_epoch()));
        let shared: SharedClock = clock.clone();
        let http = RouterClient::new();
        let greenhouse = MockGreenhouse::new(
            GreenhouseMockConfig { base_url: GH_URL.into(), ..Default::default() },
            shared.clone(),
            Arc::new(http.clone()),
        );
        let iop = MockIop::new(
            IopMockConfig { base_url: IOP_URL.into(), ..Default::default() },
            shared.clone(),
            Arc::new(http.clone()),
        );
        http.register("greenhouse.test", greenhouse.router());
        http.register("iop.test", iop.router());

        let dir = tempfile::tempdir().unwrap();
        let sqlite = dir.path().join("engine.db").display().to_string();
        let config =
            EngineConfig::parse(&config_text(GH_URL, IOP_URL, &sqlite, "T_"), "test.toml").unwrap();
        let secrets = secrets_for(&config, "T_");
        let engine =
            Engine::open(config.clone(), secrets, Arc::new(http.clone()), shared).await.unwrap();
        http.register("engine.test", engine.router());
        Self { clock, http, engine, config, _dir: dir }
    }

    /// A second engine on the same store, as after a restart (registered as `engine.test`).
    pub async fn reopen(&self) -> Arc<Engine> {
        let secrets = secrets_for(&self.config, "T_");
        let shared: SharedClock = self.clock.clone();
        let engine =
            Engine::open(self.config.clone(), secrets, Arc::new(self.http.clone()), shared)
                .await
                .unwrap();
        self.http.register("engine.test", engine.router());
        engine
    }
}

/// Both mocks served on 127.0.0.1 ephemeral ports, on the wall clock. The servers stop when
/// the test's runtime ends.
pub struct Served {
    pub greenhouse: String,
    pub iop: String,
}

impl Served {
    pub async fn start() -> Self {
        let clock: SharedClock = Arc::new(SystemClock);
        let http = Arc::new(ReqwestClient::new(Duration::from_secs(10)).unwrap());
        let gh_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let greenhouse = format!("http://{}", gh_listener.local_addr().unwrap());
        let iop_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let iop = format!("http://{}", iop_listener.local_addr().unwrap());

        let gh_mock = MockGreenhouse::new(
            GreenhouseMockConfig {
                base_url: greenhouse.clone(),
                // Generous, so pacing never slows a burst test down; pacing has its own tests.
                rate_limit_per_window: 100_000,
                ..Default::default()
            },
            clock.clone(),
            http.clone(),
        );
        let iop_mock = MockIop::new(
            IopMockConfig {
                base_url: iop.clone(),
                rate_limit_per_window: 100_000,
                ..Default::default()
            },
            clock,
            http,
        );
        tokio::spawn(async move { axum::serve(gh_listener, gh_mock.router()).await });
        tokio::spawn(async move { axum::serve(iop_listener, iop_mock.router()).await });
        Self { greenhouse, iop }
    }
}

/// Polls `condition` every 50 ms until it holds or `limit` passes; the bound keeps a broken
/// build from hanging the suite, it is not a speed assertion.
pub async fn wait_for<F, Fut>(limit: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if condition().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    condition().await
}

/// A Greenhouse webhook with `body`, signed with [`GH_HOOK`], to the engine registered as
/// `engine.test`.
pub fn signed_greenhouse_webhook(
    body: bytes::Bytes,
    event_id: &str,
) -> http::Request<bytes::Bytes> {
    let signature = rehearsal::greenhouse::signature::sign(GH_HOOK, &body);
    raw_request(
        http::Method::POST,
        "http://engine.test/webhooks/greenhouse",
        body,
        Some("application/json"),
        &[("signature", signature), ("greenhouse-event-id", event_id.to_owned())],
    )
    .expect("a well-formed request")
}
