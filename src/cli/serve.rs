//! `rehearsal serve`: the mock Greenhouse and the mock IOP on loopback ports, on the wall
//! clock, for a staging engine or a person with curl.
//!
//! Start-up prints one JSON line per service on stdout (URLs and this run's test credentials,
//! made from the seed) and nothing else there, so a script can read them. Logs go to stderr
//! and never carry a credential. A background task sends due webhooks every second, since no
//! scenario runner is there to call `/_rehearsal/deliver`. SIGINT or SIGTERM stops both
//! servers gracefully and exits 0.

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use clap::Args;
use fake::Fake;
use fake::faker::address::en::TimeZone;
use fake::faker::internet::en::SafeEmail;
use fake::faker::name::en::{FirstName, LastName};
use fake::faker::phone_number::en::PhoneNumber;
use fake::rand::RngExt as _;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{Value, json};
use serde_saphyr::SnippetMode;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use super::{EXIT_BAD_INPUT, bad_input};
use crate::clock::{SharedClock, SystemClock};
use crate::mock::greenhouse::control::{
    Seed, SeedApplication, SeedCandidate, Seeded, TypedValue, WebhookEndpoint,
};
use crate::mock::greenhouse::{Credential, GreenhouseMockConfig, MockGreenhouse};
use crate::mock::iop::{IopMockConfig, MockIop};
use crate::transport::{ReqwestClient, SharedHttp};

/// How often queued webhooks are looked at, in real seconds.
const DELIVERY_TICK_SECS: u64 = 1;
/// A webhook receiver that has not answered within 10 s counts as failed; Greenhouse does not
/// publish its own timeout, and the retry schedule covers the rest.
const WEBHOOK_TIMEOUT_SECS: u64 = 10;
/// RNG stream for credentials, apart from the mocks' own stream on the same seed, so no
/// minted token repeats the bytes of a secret.
const CREDENTIAL_STREAM: u64 = 7;

#[derive(Args)]
pub struct ServeArgs {
    /// Address both mocks listen on. Keep loopback unless the test data may be seen by others.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port of the mock Greenhouse; 0 picks a free one (printed at start).
    #[arg(long, default_value_t = 0)]
    pub greenhouse_port: u16,
    /// Port of the mock IOP; 0 picks a free one (printed at start).
    #[arg(long, default_value_t = 0)]
    pub iop_port: u16,
    /// A YAML or JSON file holding a Greenhouse seed (users, jobs, candidates,
    /// rejection_reasons, custom_fields), as `POST /_rehearsal/seed` takes it; seeded at start.
    #[arg(long)]
    pub world: Option<PathBuf>,
    /// Adds this many fake candidates, each with an application on a random stage of a
    /// random job of the world.
    #[arg(long, default_value_t = 0)]
    pub fake_candidates: usize,
    /// Seed for credentials, fake data and the mocks' random choices; printed at start.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Sends the mock Greenhouse's webhooks here, signed with its printed `webhook_secret`.
    #[arg(long)]
    pub greenhouse_webhook_url: Option<String>,
    /// Subscribes this URL to every mock IOP event, signed with its printed `webhook_secret`.
    #[arg(long)]
    pub iop_webhook_url: Option<String>,
}

/// This run's test credentials.
struct RunSecrets {
    client_id: String,
    client_secret: String,
    greenhouse_webhook_secret: String,
    iop_api_key: String,
    iop_webhook_secret: String,
}

impl RunSecrets {
    fn from_seed(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(CREDENTIAL_STREAM);
        // Greenhouse client ids end in `-<digits>`.
        let client_id = format!("rehearsal-{}", rng.random_range(1..1_000_000u32));
        let mut secret = |prefix: &str| format!("{prefix}{:032x}", rng.random::<u128>());
        Self {
            client_id,
            client_secret: secret("ghs_"),
            greenhouse_webhook_secret: secret("ghwh_"),
            iop_api_key: secret("iop_"),
            iop_webhook_secret: secret("whsec_"),
        }
    }
}

pub async fn main(args: ServeArgs) -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();

    let world = match args.world.as_deref().map(load_world).transpose() {
        Ok(world) => world.unwrap_or_default(),
        Err(message) => return bad_input(&message),
    };
    match serve(args, world).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(anstream::stderr(), "error: {error:#}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

async fn serve(args: ServeArgs, world: Seed) -> anyhow::Result<()> {
    let seed = args.seed.unwrap_or_else(super::run::fresh_seed);
    let secrets = RunSecrets::from_seed(seed);
    let greenhouse_listener = bind(args.host, args.greenhouse_port).await?;
    let iop_listener = bind(args.host, args.iop_port).await?;
    let greenhouse_url = format!("http://{}", greenhouse_listener.local_addr()?);
    let iop_url = format!("http://{}", iop_listener.local_addr()?);

    let clock: SharedClock = Arc::new(SystemClock);
    let http: SharedHttp = Arc::new(ReqwestClient::new(Duration::from_secs(WEBHOOK_TIMEOUT_SECS))?);
    let greenhouse = MockGreenhouse::new(
        greenhouse_config(&greenhouse_url, &secrets, seed),
        clock.clone(),
        http.clone(),
    );
    let iop_config = IopMockConfig {
        base_url: iop_url.clone(),
        api_keys: vec![secrets.iop_api_key.clone()],
        seed,
        ..IopMockConfig::default()
    };
    let iop = MockIop::new(iop_config, clock, http);
    let iop_router = iop.router();

    let world_file = args.world.as_deref().map(|p| p.display().to_string());
    let seeded =
        seed_greenhouse(&greenhouse, &world, args.fake_candidates, seed, world_file.as_deref())?;
    seed_iop(&iop_router, &world, &seeded, &args, &secrets).await?;
    if let Some(url) = &args.greenhouse_webhook_url {
        let endpoint = WebhookEndpoint { url: url.clone(), secret: String::new() };
        greenhouse
            .set_webhook(endpoint)
            .map_err(|m| anyhow::anyhow!("--greenhouse-webhook-url: {m}"))?;
    }

    // Signal handlers go in before the credentials are printed: a script may send SIGINT as
    // soon as it has read them.
    let stop_signal = StopSignal::install()?;
    print_services(&greenhouse_url, &iop_url, &secrets, seed)?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let greenhouse_server =
        tokio::spawn(serve_until(greenhouse_listener, greenhouse.router(), stop_rx.clone()));
    let iop_server = tokio::spawn(serve_until(iop_listener, iop_router.clone(), stop_rx.clone()));
    let deliveries = tokio::spawn(deliver_forever(greenhouse, iop_router, stop_rx));

    let signal = stop_signal.wait().await;
    tracing::info!(signal, "stopping the mocks");
    let _ = stop_tx.send(true);
    for server in [greenhouse_server, iop_server] {
        server.await.context("a server task failed")??;
    }
    deliveries.await.context("the delivery task failed")?;
    Ok(())
}

async fn bind(host: IpAddr, port: u16) -> anyhow::Result<TcpListener> {
    let address = SocketAddr::new(host, port);
    TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))
}

fn greenhouse_config(base_url: &str, secrets: &RunSecrets, seed: u64) -> GreenhouseMockConfig {
    GreenhouseMockConfig {
        base_url: base_url.to_owned(),
        credentials: vec![Credential {
            client_id: secrets.client_id.clone(),
            client_secret: secrets.client_secret.clone(),
            scopes: vec!["*".to_owned()],
        }],
        seed,
        webhook_secret: Some(secrets.greenhouse_webhook_secret.clone()),
        ..GreenhouseMockConfig::default()
    }
}

/// One start-up line; fields in this order, `service` first, so a person can read it too.
#[derive(Serialize)]
struct ServiceLine<'a> {
    service: &'static str,
    base_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<&'a str>,
    webhook_secret: &'a str,
    seed: u64,
}

/// The two start-up lines, the only output on stdout.
fn print_services(
    greenhouse_url: &str,
    iop_url: &str,
    secrets: &RunSecrets,
    seed: u64,
) -> anyhow::Result<()> {
    let greenhouse = ServiceLine {
        service: "greenhouse",
        base_url: greenhouse_url,
        token_url: Some(format!("{greenhouse_url}/token")),
        client_id: Some(&secrets.client_id),
        client_secret: Some(&secrets.client_secret),
        api_key: None,
        webhook_secret: &secrets.greenhouse_webhook_secret,
        seed,
    };
    let iop = ServiceLine {
        service: "iop",
        base_url: iop_url,
        token_url: None,
        client_id: None,
        client_secret: None,
        api_key: Some(&secrets.iop_api_key),
        webhook_secret: &secrets.iop_webhook_secret,
        seed,
    };
    let mut stdout = std::io::stdout().lock();
    for line in [greenhouse, iop] {
        writeln!(stdout, "{}", serde_json::to_string(&line)?)?;
    }
    stdout.flush()?;
    Ok(())
}

/// Reads a world file: JSON when it ends in `.json`, YAML otherwise. Errors read
/// `file:line: message`.
fn load_world(path: &Path) -> Result<Seed, String> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{file}: cannot read: {e}"))?;
    let is_json = path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    if is_json {
        return serde_json::from_str(&text).map_err(|error| {
            format!("{file}:{}: {}", error.line().max(1), without_location(&error.to_string()))
        });
    }
    // Strict booleans: a name such as `No` or `On` stays a string.
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options(&text, options).map_err(|error| {
        let line = error.location().map(|l| l.line()).unwrap_or(1);
        let rendered =
            error.render_with_options(serde_saphyr::render_options! { snippets: SnippetMode::Off });
        format!("{file}:{line}: {}", without_location(&rendered))
    })
}

/// Drops the " at line …" tail parsers append, since the line leads the message already.
fn without_location(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message).trim();
    match first.rfind(" at line ") {
        Some(cut) => first[..cut].trim_end_matches(',').to_owned(),
        None => first.to_owned(),
    }
}

fn seed_greenhouse(
    greenhouse: &MockGreenhouse,
    world: &Seed,
    fake_count: usize,
    seed: u64,
    world_file: Option<&str>,
) -> anyhow::Result<Seeded> {
    // TODO(cleanup): seed errors (an unknown job key, say) name the file but not the line;
    // the seed types carry no spans.
    let seeded = greenhouse.seed(world).map_err(|message| match world_file {
        Some(file) => anyhow::anyhow!("{file}: {message}"),
        None => anyhow::anyhow!("{message}"),
    })?;
    let fakes = fake_candidates(world, fake_count, seed);
    if !fakes.is_empty() {
        let fake_seed = Seed { candidates: fakes, ..Seed::default() };
        greenhouse.seed(&fake_seed).map_err(|m| anyhow::anyhow!("--fake-candidates: {m}"))?;
    }
    if fake_count > 0 && world.jobs.iter().all(|job| job.stages.is_empty()) {
        tracing::warn!("the world has no job with stages: fake candidates have no applications");
    }
    tracing::info!(
        users = seeded.users.len(),
        jobs = seeded.jobs.len(),
        candidates = seeded.candidates.len() + fake_count,
        "greenhouse world seeded"
    );
    Ok(seeded)
}

/// `count` fake candidates from `seed`, keyed `fake-<n>`, applications spread uniformly over
/// the world's jobs and their stages.
fn fake_candidates(world: &Seed, count: usize, seed: u64) -> Vec<SeedCandidate> {
    // fake draws from its own rand generation; a ChaCha stream keeps it reproducible.
    let mut rng = <fake::rand::rngs::ChaCha8Rng as fake::rand::SeedableRng>::seed_from_u64(seed);
    let jobs: Vec<_> = world.jobs.iter().filter(|job| !job.stages.is_empty()).collect();
    (0..count)
        .map(|n| {
            let applications = if jobs.is_empty() {
                Vec::new()
            } else {
                let job = jobs[rng.random_range(0..jobs.len())];
                let stage = &job.stages[rng.random_range(0..job.stages.len())];
                vec![SeedApplication {
                    id: None,
                    job_key: job.key.clone(),
                    stage: Some(stage.name.clone()),
                    status: None,
                    custom_fields: Default::default(),
                }]
            };
            let typed = |value: String, kind: &str| TypedValue { value, kind: kind.to_owned() };
            SeedCandidate {
                key: format!("fake-{n}"),
                id: None,
                first_name: FirstName().fake_with_rng(&mut rng),
                last_name: LastName().fake_with_rng(&mut rng),
                email_addresses: vec![typed(SafeEmail().fake_with_rng(&mut rng), "personal")],
                phone_numbers: vec![typed(PhoneNumber().fake_with_rng(&mut rng), "mobile")],
                time_zone: Some(TimeZone().fake_with_rng(&mut rng)),
                custom_fields: Default::default(),
                applications,
            }
        })
        .collect()
}

/// Mirrors the world's users as IOP interviewers and subscribes `--iop-webhook-url`.
async fn seed_iop(
    iop: &Router,
    world: &Seed,
    seeded: &Seeded,
    args: &ServeArgs,
    secrets: &RunSecrets,
) -> anyhow::Result<()> {
    let users: Vec<Value> = world
        .users
        .iter()
        .map(|user| {
            json!({
                "key": user.key,
                "name": format!("{} {}", user.first_name, user.last_name),
                "email": user.email,
                "greenhouse_user_id": seeded.users.get(&user.key),
            })
        })
        .collect();
    if !users.is_empty() {
        control(iop, "/_rehearsal/seed", &json!({ "users": users })).await?;
    }
    if let Some(url) = &args.iop_webhook_url {
        // The IOP journal redacts `secrets` in bodies, so this never reaches the journal.
        let webhook = json!({ "url": url, "secrets": [secrets.iop_webhook_secret] });
        control(iop, "/_rehearsal/seed", &json!({ "webhook": webhook }))
            .await
            .context("--iop-webhook-url")?;
    }
    Ok(())
}

/// Posts a control call to the in-process IOP router; a non-2xx answer is an error.
async fn control(router: &Router, path: &str, body: &Value) -> anyhow::Result<()> {
    let request = http::Request::post(path)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))?;
    let response = router.clone().oneshot(request).await?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap_or_default();
    anyhow::bail!("mock IOP refused {path} with {status}: {}", String::from_utf8_lossy(&bytes))
}

async fn serve_until(
    listener: TcpListener,
    router: Router,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        })
        .await
}

/// Every second, sends what is due from both mocks (retries included, on their schedules).
async fn deliver_forever(greenhouse: MockGreenhouse, iop: Router, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(DELIVERY_TICK_SECS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            _ = tick.tick() => {}
        }
        greenhouse.deliver().await;
        // TODO(perf): the mock IOP has no public deliver method, so this goes through its
        // control route and adds one journal entry per second.
        if let Err(error) = control(&iop, "/_rehearsal/deliver", &Value::Null).await {
            tracing::warn!(%error, "mock IOP delivery round failed");
        }
    }
}

/// SIGINT or SIGTERM, whichever comes first.
struct StopSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn install() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
            let terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
            Ok(Self { interrupt, terminate })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn wait(mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
