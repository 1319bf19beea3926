//! Builds a load run's system: both mocks (their APIs tapped), and either the real engine
//! in-process under a virtual clock, or nothing more when an external engine on loopback is
//! under load (then the mocks listen on 127.0.0.1 and send their webhooks to its URL).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::Method;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::LoadError;
use super::record::Recorder;
use crate::clock::{ManualClock, SharedClock, SystemClock};
use crate::engine::Engine;
use crate::engine::config::{EngineConfig, EnvSecrets, Secrets};
use crate::mock::greenhouse::{Credential, GreenhouseMockConfig, MockGreenhouse};
use crate::mock::iop::{IopMockConfig, MockIop};
use crate::transport::{HttpClient, ReqwestClient, RouterClient, SharedHttp, json_request};

const GREENHOUSE_HOST: &str = "greenhouse.load";
const IOP_HOST: &str = "iop.load";
const ENGINE_HOST: &str = "engine.load";

/// Which side a control call goes to.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    Greenhouse,
    Iop,
}

/// The running system.
pub struct World {
    /// `Some` for the in-process engine, whose clock the driver moves.
    pub virtual_clock: Option<Arc<ManualClock>>,
    pub clock: SharedClock,
    pub engine: Option<Arc<Engine>>,
    pub recorder: Recorder,
    /// Reaches both mocks' control APIs in-process, whatever the engine's transport.
    control: RouterClient,
    pub greenhouse_webhook_secret: String,
    pub iop_webhook_secret: String,
    /// Where an external engine must find the mocks (loopback URLs), else empty.
    pub mock_urls: Vec<String>,
    _store_dir: Option<tempfile::TempDir>,
}

/// The credentials the mocks accept and sign with.
struct Keys {
    client_id: String,
    client_secret: String,
    iop_key: String,
    gh_hook: String,
    iop_hook: String,
}

impl World {
    /// The real engine in-process, with its SQLite store on disk, under a virtual clock.
    pub async fn in_process(config: &EngineConfig, seed: u64) -> Result<Self, LoadError> {
        let manual = Arc::new(ManualClock::new(ManualClock::scenario_epoch()));
        let clock: SharedClock = manual.clone();
        let recorder = Recorder::new(clock.clone());
        let http = RouterClient::new();
        let keys = generated_keys(seed);
        let (greenhouse, iop) = mocks(
            &keys,
            seed,
            &clock,
            &recorder,
            Arc::new(http.clone()),
            GREENHOUSE_HOST,
            IOP_HOST,
        );

        let mut config = config.clone();
        config.greenhouse.base_url = format!("http://{GREENHOUSE_HOST}");
        config.greenhouse.token_url = format!("http://{GREENHOUSE_HOST}/token");
        config.iop.base_url = format!("http://{IOP_HOST}");
        let store_dir = tempfile::tempdir().map_err(|e| LoadError::Setup(e.to_string()))?;
        config.store.sqlite_path = store_dir.path().join("engine.db").display().to_string();
        config.service.seed = seed;
        let secrets = Secrets::resolve(&config, &keys.as_env(&config))
            .map_err(|e| LoadError::Setup(e.to_string()))?;
        let engine = Engine::open(config, secrets, Arc::new(http.clone()), clock.clone())
            .await
            .map_err(|e| LoadError::Setup(format!("cannot open the engine's store: {e}")))?;

        http.register(GREENHOUSE_HOST, recorder.api_tap(greenhouse.router()));
        http.register(IOP_HOST, recorder.api_tap(iop.router()));
        http.register(ENGINE_HOST, engine.router());
        let world = Self {
            virtual_clock: Some(manual),
            clock,
            engine: Some(engine),
            recorder,
            control: http,
            greenhouse_webhook_secret: keys.gh_hook,
            iop_webhook_secret: keys.iop_hook,
            mock_urls: Vec::new(),
            _store_dir: Some(store_dir),
        };
        world.point_webhooks(&format!("http://{ENGINE_HOST}")).await?;
        Ok(world)
    }

    /// Mocks on loopback sockets for an engine running elsewhere on this machine. The mocks
    /// listen where the engine's config expects them (its loopback `base_url`s, else an
    /// ephemeral port) and accept the secrets the engine reads from the same environment.
    pub async fn external(
        config: &EngineConfig,
        seed: u64,
        engine_url: &str,
    ) -> Result<Self, LoadError> {
        let clock: SharedClock = Arc::new(SystemClock);
        let recorder = Recorder::new(clock.clone());
        // Unset secrets are bad input (exit 2), like any other unusable option.
        let secrets = Secrets::resolve(config, &EnvSecrets).map_err(|e| LoadError::Option {
            flag: "engine-url",
            reason: format!("{e}; the external engine's secrets must be set here too"),
        })?;
        let first = |list: &[String]| list.first().cloned().unwrap_or_default();
        let keys = Keys {
            client_id: secrets.greenhouse_client_id.clone(),
            client_secret: secrets.greenhouse_client_secret.clone(),
            iop_key: secrets.iop_api_key.clone(),
            gh_hook: first(&secrets.greenhouse_webhook_secrets),
            iop_hook: first(&secrets.iop_webhook_secrets),
        };
        let gh_listener = bind(&config.greenhouse.base_url).await?;
        let iop_listener = bind(&config.iop.base_url).await?;
        let gh_url = format!("http://{}", local(&gh_listener)?);
        let iop_url = format!("http://{}", local(&iop_listener)?);
        let sockets: SharedHttp = Arc::new(
            ReqwestClient::new(Duration::from_secs(30))
                .map_err(|e| LoadError::Setup(e.to_string()))?,
        );
        let (greenhouse, iop) = mocks(&keys, seed, &clock, &recorder, sockets, &gh_url, &iop_url);

        let control = RouterClient::new();
        control.register(GREENHOUSE_HOST, greenhouse.router());
        control.register(IOP_HOST, iop.router());
        serve(gh_listener, recorder.api_tap(greenhouse.router()));
        serve(iop_listener, recorder.api_tap(iop.router()));
        let world = Self {
            virtual_clock: None,
            clock,
            engine: None,
            recorder,
            control,
            greenhouse_webhook_secret: keys.gh_hook,
            iop_webhook_secret: keys.iop_hook,
            mock_urls: vec![gh_url, iop_url],
            _store_dir: None,
        };
        world.point_webhooks(engine_url.trim_end_matches('/')).await?;
        Ok(world)
    }

    async fn point_webhooks(&self, engine: &str) -> Result<(), LoadError> {
        let endpoint = crate::mock::greenhouse::control::WebhookEndpoint {
            url: format!("{engine}/webhooks/greenhouse"),
            secret: self.greenhouse_webhook_secret.clone(),
        };
        let _: Value =
            self.control(Side::Greenhouse, Method::PUT, "/_rehearsal/webhook", &endpoint).await?;
        Ok(())
    }

    /// Calls a mock's control API; a non-2xx answer becomes an error naming the call.
    pub async fn control<T: DeserializeOwned>(
        &self,
        side: Side,
        method: Method,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, LoadError> {
        let host = match side {
            Side::Greenhouse => GREENHOUSE_HOST,
            Side::Iop => IOP_HOST,
        };
        let body = serde_json::to_value(body).unwrap_or(Value::Null);
        let body = (!body.is_null()).then_some(body);
        let failed =
            |reason: String| LoadError::Control { call: format!("{method} {path}"), reason };
        let request =
            json_request(method.clone(), &format!("http://{host}{path}"), body.as_ref(), &[])
                .map_err(|e| failed(e.to_string()))?;
        let response = self.control.send(request).await.map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            let text = String::from_utf8_lossy(response.body()).into_owned();
            return Err(failed(format!("{}: {text}", response.status().as_u16())));
        }
        let text = if response.body().is_empty() { b"null".as_slice() } else { response.body() };
        serde_json::from_slice(text).map_err(|e| failed(format!("unexpected answer: {e}")))
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

impl Keys {
    /// The keys under the environment-variable names the config gives for them.
    fn as_env(&self, config: &EngineConfig) -> HashMap<String, String> {
        let mut values = HashMap::new();
        values.insert(config.greenhouse.client_id_env.clone(), self.client_id.clone());
        values.insert(config.greenhouse.client_secret_env.clone(), self.client_secret.clone());
        values.insert(config.iop.api_key_env.clone(), self.iop_key.clone());
        for name in &config.greenhouse.webhook_secret_envs {
            values.insert(name.clone(), self.gh_hook.clone());
        }
        for name in &config.iop.webhook_secret_envs {
            values.insert(name.clone(), self.iop_hook.clone());
        }
        values
    }
}

fn generated_keys(seed: u64) -> Keys {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut secret = |prefix: &str| format!("{prefix}{:016x}", rng.random::<u64>());
    Keys {
        client_id: format!("rehearsal-load-{}", 1 + seed % 9),
        client_secret: secret("ghs_"),
        iop_key: secret("iop_"),
        gh_hook: secret("ghwh_"),
        iop_hook: secret("whsec_"),
    }
}

/// Both mocks with their default rate limits; `base_*` is where they say they are reached.
fn mocks(
    keys: &Keys,
    seed: u64,
    clock: &SharedClock,
    recorder: &Recorder,
    webhook_http: SharedHttp,
    base_gh: &str,
    base_iop: &str,
) -> (MockGreenhouse, MockIop) {
    let url =
        |base: &str| if base.contains("://") { base.to_owned() } else { format!("http://{base}") };
    let greenhouse = MockGreenhouse::new(
        GreenhouseMockConfig {
            base_url: url(base_gh),
            credentials: vec![Credential {
                client_id: keys.client_id.clone(),
                client_secret: keys.client_secret.clone(),
                scopes: vec!["*".into()],
            }],
            seed,
            ..GreenhouseMockConfig::default()
        },
        clock.clone(),
        recorder.webhook_tap(webhook_http.clone()),
    );
    let iop = MockIop::new(
        IopMockConfig {
            base_url: url(base_iop),
            api_keys: vec![keys.iop_key.clone()],
            seed,
            ..IopMockConfig::default()
        },
        clock.clone(),
        recorder.webhook_tap(webhook_http),
    );
    (greenhouse, iop)
}

/// Binds where a loopback `base_url` with a port points, else an ephemeral loopback port.
async fn bind(base_url: &str) -> Result<tokio::net::TcpListener, LoadError> {
    let address = http::Uri::try_from(base_url)
        .ok()
        .and_then(|uri| Some((uri.host()?.to_owned(), uri.port_u16()?)))
        .filter(|(host, _)| super::is_loopback_host(host))
        .map(|(host, port)| format!("{host}:{port}"))
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    tokio::net::TcpListener::bind(&address)
        .await
        .map_err(|e| LoadError::Setup(format!("cannot listen on {address}: {e}")))
}

fn local(listener: &tokio::net::TcpListener) -> Result<std::net::SocketAddr, LoadError> {
    listener.local_addr().map_err(|e| LoadError::Setup(e.to_string()))
}

fn serve(listener: tokio::net::TcpListener, router: axum::Router) {
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "a load-run mock stopped serving");
        }
    });
}
