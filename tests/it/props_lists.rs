//! Property tests of list walks: seed either mock with an arbitrary number of records, walk a
//! list endpoint with our own client (Link cursors for Harvest v3, `next_cursor` for the IOP)
//! at an arbitrary page size and filter, and get every matching record exactly once.

use std::collections::BTreeSet;
use std::sync::Arc;

use http::Method;
use proptest::prelude::*;
use rehearsal::clock::{ManualClock, SharedClock};
use rehearsal::greenhouse::client::{HarvestClient, HarvestSettings};
use rehearsal::iop::client::{IopClient, IopSettings};
use rehearsal::mock::greenhouse::control as gh;
use rehearsal::mock::greenhouse::{Credential, GreenhouseMockConfig, MockGreenhouse};
use rehearsal::mock::iop::control as iop;
use rehearsal::mock::iop::{IopMockConfig, MockIop};
use rehearsal::transport::{HttpClient, RouterClient, json_request};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

const GH: &str = "greenhouse.test";
const IOP: &str = "iop.test";
const ADMIN_ID: i64 = 77;
/// Far above what one walk sends: these tests are about cursors, not pacing.
const NO_LIMIT: u32 = 1_000_000;
const STAGES: [&str; 3] = ["Application Review", "Onsite", "Offer"];
const STATUSES: [&str; 3] = ["in_process", "rejected", "hired"];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

async fn control<T: DeserializeOwned>(
    http: &RouterClient,
    host: &str,
    path: &str,
    body: &impl Serialize,
) -> T {
    let body = serde_json::to_value(body).unwrap();
    let request = json_request(Method::POST, &format!("http://{host}{path}"), Some(&body), &[]);
    let response = http.send(request.unwrap()).await.unwrap();
    assert!(response.status().is_success(), "{path}: {:?}", response.body());
    serde_json::from_slice(response.body()).unwrap()
}

/// One application per candidate: job (0 or 1), stage index and status index.
type AppSpec = (usize, usize, usize);

#[derive(Debug, Clone)]
enum AppFilter {
    None,
    Job(usize),
    Status(usize),
    StageName(usize),
}

impl AppFilter {
    fn keeps(&self, (job, stage, status): AppSpec) -> bool {
        match *self {
            AppFilter::None => true,
            AppFilter::Job(j) => job == j,
            AppFilter::Status(s) => status == s,
            AppFilter::StageName(s) => stage == s,
        }
    }
}

fn greenhouse_world() -> impl Strategy<Value = (Vec<AppSpec>, usize, AppFilter)> {
    let filter = prop_oneof![
        Just(AppFilter::None),
        (0usize..2).prop_map(AppFilter::Job),
        (0usize..3).prop_map(AppFilter::Status),
        (0usize..3).prop_map(AppFilter::StageName),
    ];
    prop::collection::vec((0usize..2, 0usize..3, 0usize..3), 0..600).prop_flat_map(move |apps| {
        // At most ~60 pages a walk keeps a case fast; the page size still spans 1..=500.
        let smallest = (apps.len() / 60).max(1);
        (Just(apps), smallest..=500usize, filter.clone())
    })
}

fn greenhouse_seed(apps: &[AppSpec]) -> gh::Seed {
    let job = |key: &str| gh::SeedJob {
        key: key.into(),
        id: None,
        name: key.into(),
        stages: STAGES
            .iter()
            .map(|name| gh::SeedStage { name: (*name).into(), id: None, interviews: Vec::new() })
            .collect(),
    };
    let candidates = apps
        .iter()
        .enumerate()
        .map(|(i, &(job, stage, status))| gh::SeedCandidate {
            key: format!("c{i}"),
            id: None,
            first_name: format!("Ana{i}"),
            last_name: "Ruiz".into(),
            email_addresses: Vec::new(),
            phone_numbers: Vec::new(),
            time_zone: None,
            custom_fields: Default::default(),
            applications: vec![gh::SeedApplication {
                id: None,
                job_key: format!("job{job}"),
                stage: Some(STAGES[stage].into()),
                status: Some(STATUSES[status].into()),
                custom_fields: Default::default(),
            }],
        })
        .collect();
    gh::Seed {
        users: vec![gh::SeedUser {
            key: "admin".into(),
            id: Some(ADMIN_ID),
            first_name: "Site".into(),
            last_name: "Admin".into(),
            email: "admin@example.test".into(),
            site_admin: true,
        }],
        jobs: vec![job("job0"), job("job1")],
        candidates,
        rejection_reasons: Vec::new(),
        custom_fields: Vec::new(),
    }
}

fn query_for(
    filter: &AppFilter,
    seeded: &gh::Seeded,
    per_page: usize,
) -> Vec<(&'static str, String)> {
    let mut query = vec![("per_page", per_page.to_string())];
    match *filter {
        AppFilter::None => {}
        AppFilter::Job(j) => {
            query.push(("job_ids", seeded.jobs[&format!("job{j}")].id.to_string()))
        }
        AppFilter::Status(s) => {
            query.push(("status", ["active", "rejected", "hired"][s].to_owned()))
        }
        AppFilter::StageName(s) => query.push(("stage_name", STAGES[s].to_owned())),
    }
    query
}

fn ids_of(records: &[Value]) -> Vec<i64> {
    records.iter().filter_map(|r| r.get("id").and_then(Value::as_i64)).collect()
}

async fn walk_greenhouse(
    apps: Vec<AppSpec>,
    per_page: usize,
    filter: AppFilter,
) -> Result<(), TestCaseError> {
    let clock: SharedClock = Arc::new(ManualClock::new(ManualClock::scenario_epoch()));
    let http = RouterClient::new();
    let credential = Credential {
        client_id: "rehearsal-1".into(),
        client_secret: "list-walk".into(),
        scopes: vec!["*".into()],
    };
    let config = GreenhouseMockConfig {
        base_url: format!("http://{GH}"),
        credentials: vec![credential.clone()],
        rate_limit_per_window: NO_LIMIT,
        ..GreenhouseMockConfig::default()
    };
    let mock = MockGreenhouse::new(config, clock.clone(), Arc::new(http.clone()));
    http.register(GH, mock.router());
    let seeded: gh::Seeded = control(&http, GH, "/_rehearsal/seed", &greenhouse_seed(&apps)).await;

    let client = HarvestClient::new(
        HarvestSettings {
            base_url: format!("http://{GH}"),
            token_url: format!("http://{GH}/token"),
            client_id: credential.client_id,
            client_secret: credential.client_secret,
            acting_user_id: Some(ADMIN_ID),
        },
        Arc::new(http.clone()),
        clock,
    );

    let records = client.list("applications", &query_for(&filter, &seeded, per_page)).await;
    let got = ids_of(&records.map_err(|e| TestCaseError::fail(e.to_string()))?);
    let expected: BTreeSet<i64> = apps
        .iter()
        .enumerate()
        .filter(|(_, app)| filter.keeps(**app))
        .map(|(i, _)| seeded.candidates[&format!("c{i}")].applications[0])
        .collect();
    let unique: BTreeSet<i64> = got.iter().copied().collect();
    prop_assert_eq!(unique.len(), got.len(), "an application came back twice");
    prop_assert_eq!(unique, expected);

    let candidates = client.list("candidates", &[("per_page", per_page.to_string())]).await;
    let got = ids_of(&candidates.map_err(|e| TestCaseError::fail(e.to_string()))?);
    let expected: BTreeSet<i64> = seeded.candidates.values().map(|c| c.id).collect();
    prop_assert_eq!(got.len(), expected.len());
    prop_assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), expected);
    Ok(())
}

/// IOP users: `Some(n)` links the user to Greenhouse user `n` (a few share one).
type UserSpec = Option<i64>;

#[derive(Debug, Clone)]
enum UserFilter {
    None,
    Active,
    GreenhouseUser(i64),
    Email(usize),
}

fn iop_world() -> impl Strategy<Value = (Vec<UserSpec>, usize, UserFilter)> {
    prop::collection::vec(prop::option::of(1i64..20), 0..600).prop_flat_map(|users| {
        let smallest = (users.len() / 60).max(1);
        let count = users.len().max(1);
        let filter = prop_oneof![
            Just(UserFilter::None),
            Just(UserFilter::Active),
            (1i64..20).prop_map(UserFilter::GreenhouseUser),
            (0..count).prop_map(UserFilter::Email),
        ];
        (Just(users), smallest..=200usize, filter)
    })
}

async fn walk_iop(
    users: Vec<UserSpec>,
    limit: usize,
    filter: UserFilter,
) -> Result<(), TestCaseError> {
    let clock: SharedClock = Arc::new(ManualClock::new(ManualClock::scenario_epoch()));
    let http = RouterClient::new();
    let config = IopMockConfig {
        base_url: format!("http://{IOP}"),
        api_keys: vec!["iop_walk".into()],
        rate_limit_per_window: NO_LIMIT,
        ..IopMockConfig::default()
    };
    let mock = MockIop::new(config, clock.clone(), Arc::new(http.clone()));
    http.register(IOP, mock.router());
    let seed = iop::Seed {
        users: users
            .iter()
            .enumerate()
            .map(|(i, gh_user)| iop::SeedUser {
                key: format!("u{i}"),
                name: format!("User {i}"),
                // Mixed case on purpose: the filter matches case-insensitively.
                email: format!("User{i}@Example.test"),
                timezone: "UTC".into(),
                greenhouse_user_id: *gh_user,
            })
            .collect(),
        webhook: None,
    };
    let seeded: iop::Seeded = control(&http, IOP, "/_rehearsal/seed", &seed).await;

    let client = IopClient::new(
        IopSettings { base_url: format!("http://{IOP}"), api_key: "iop_walk".into() },
        Arc::new(http.clone()),
        clock,
    );
    // The client asks for 200 a page after the caller's parameters; the mock reads the first
    // `limit`, so ours sets the page size.
    let mut query = vec![("limit", limit.to_string())];
    match &filter {
        UserFilter::None => {}
        UserFilter::Active => query.push(("status", "active".into())),
        UserFilter::GreenhouseUser(n) => {
            query.push(("external_ref.greenhouse.user_id", n.to_string()))
        }
        UserFilter::Email(i) => query.push(("email", format!("user{i}@example.TEST"))),
    }
    let listed = client.list("/v1/users", &query).await;
    let listed = listed.map_err(|e| TestCaseError::fail(e.to_string()))?;
    let got: Vec<String> = listed
        .iter()
        .filter_map(|u| u.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect();

    let expected: BTreeSet<String> = users
        .iter()
        .enumerate()
        .filter(|(i, gh_user)| match &filter {
            UserFilter::None | UserFilter::Active => true,
            UserFilter::GreenhouseUser(n) => **gh_user == Some(*n),
            UserFilter::Email(wanted) => i == wanted,
        })
        .map(|(i, _)| seeded.users[&format!("u{i}")].clone())
        .collect();
    let unique: BTreeSet<String> = got.iter().cloned().collect();
    prop_assert_eq!(unique.len(), got.len(), "a user came back twice");
    prop_assert_eq!(unique, expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn harvest_list_walks_return_every_match_once((apps, per_page, filter) in greenhouse_world()) {
        runtime().block_on(walk_greenhouse(apps, per_page, filter))?;
    }

    #[test]
    fn iop_list_walks_return_every_match_once((users, limit, filter) in iop_world()) {
        runtime().block_on(walk_iop(users, limit, filter))?;
    }
}
