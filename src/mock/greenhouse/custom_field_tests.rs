//! `GET /v3/custom_fields` and custom-field values on records, through the router: filters,
//! pagination, sparse fields, scopes, seeding rules and the webhook form.

use std::sync::Arc;
use std::sync::atomic::AtomicU16;

use http::StatusCode;
use serde_json::{Value, json};

use super::tests::{control, get, point_webhooks, receiver, rig, seed_world, token, token_as};

/// Five definitions over three record kinds, one inactive, and Ada with values on her
/// candidate and her application. Returns both seeds' answers: the world's, then this one's.
pub(super) async fn seed_fields(router: &axum::Router) -> (Value, Value) {
    let world = seed_world(router).await;
    let seed = json!({
        "custom_fields": [
            {"key": "level", "field_type": "candidate", "value_type": "single_select",
             "options": ["Junior", "Senior"]},
            {"key": "relocate", "field_type": "candidate", "value_type": "yes_no", "private": true},
            {"key": "start_date", "field_type": "application", "value_type": "date",
             "required": true},
            {"key": "budget", "name": "Hiring budget", "field_type": "application",
             "value_type": "currency", "active": false},
            {"key": "cost_center", "field_type": "job", "value_type": "short_text"},
        ],
        "candidates": [{
            "key": "bea", "first_name": "Bea", "last_name": "Lopez",
            "custom_fields": {"level": "Senior", "relocate": true},
            "applications": [{"job_key": "eng", "custom_fields": {
                "start_date": "2026-11-30", "budget": {"unit": "EUR", "amount": 90000}
            }}],
        }],
    });
    let answer = control(router, "POST", "seed", seed).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    (world, answer.body)
}

fn keys(page: &Value) -> Vec<&str> {
    page.as_array().unwrap().iter().map(|f| f["name_key"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn definitions_are_listed_newest_first_and_filtered_by_v3_filters() {
    let rig = rig();
    let (_, seeded) = seed_fields(&rig.router).await;
    let token = token(&rig.router).await;

    let all = get(&rig.router, &token, "/v3/custom_fields").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(keys(&all.body), ["cost_center", "budget", "start_date", "relocate", "level"]);
    let level = &all.body[4];
    assert_eq!(level["id"], seeded["custom_fields"]["candidate.level"]);
    assert_eq!(
        (level["field_type"].as_str(), level["value_type"].as_str(), level["name"].as_str()),
        (Some("candidate"), Some("single_select"), Some("Level"))
    );
    assert_eq!(all.body[3]["private"], true);
    assert_eq!(all.body[2]["required"], true);
    assert_eq!(all.body[2]["sort_order"], 0, "first among application fields");
    assert_eq!(all.body[1]["sort_order"], 1);

    let filtered = |query: &'static str| {
        let (router, token) = (rig.router.clone(), token.clone());
        async move { get(&router, &token, &format!("/v3/custom_fields?{query}")).await.body }
    };
    assert_eq!(keys(&filtered("field_type=application").await), ["budget", "start_date"]);
    assert_eq!(keys(&filtered("active=false").await), ["budget"]);
    assert_eq!(keys(&filtered("name_key=start_date").await), ["start_date"]);
    assert_eq!(keys(&filtered("name=Hiring%20budget").await), ["budget"]);
    assert_eq!(keys(&filtered("field_type=candidate&active=true").await), ["relocate", "level"]);
    assert_eq!(keys(&filtered("field_type=offer").await), Vec::<&str>::new());
}

#[tokio::test]
async fn definitions_page_by_cursor_and_honour_fields() {
    let rig = rig();
    seed_fields(&rig.router).await;
    let token = token(&rig.router).await;

    let first = get(&rig.router, &token, "/v3/custom_fields?per_page=2&fields=name_key").await;
    assert_eq!(
        first.body,
        json!([
            {"id": first.body[0]["id"], "name_key": "cost_center"},
            {"id": first.body[1]["id"], "name_key": "budget"},
        ])
    );
    let mut seen = keys(&first.body).into_iter().map(str::to_owned).collect::<Vec<_>>();
    let mut link = first.header("link").to_owned();
    while !link.is_empty() {
        let next = link.trim_start_matches('<').split('>').next().unwrap().to_owned();
        let path = next.trim_start_matches("http://greenhouse.test");
        assert!(path.starts_with("/v3/custom_fields?cursor="), "{link}");
        let page = get(&rig.router, &token, path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body[0].get("value_type").is_none(), "the cursor carries `fields`");
        seen.extend(keys(&page.body).into_iter().map(str::to_owned));
        link = page.header("link").to_owned();
    }
    assert_eq!(seen, ["cost_center", "budget", "start_date", "relocate", "level"]);

    let bad = get(&rig.router, &token, "/v3/custom_fields?active=maybe").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = get(&rig.router, &token, "/v3/custom_fields?value_type=date").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.body["errors"][0], "Invalid query params: value_type");
}

#[tokio::test]
async fn listing_definitions_needs_its_scope() {
    let rig = rig();
    seed_fields(&rig.router).await;
    let limited = token_as(&rig.router, "limited-2", "limited-secret", None).await;
    let denied = get(&rig.router, &limited, "/v3/custom_fields").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        denied.body,
        json!({"message": "Forbidden", "errors": ["Missing required scope: harvest:custom_fields:list"]})
    );
}

#[tokio::test]
async fn records_show_their_values_and_null_for_every_other_active_field() {
    let rig = rig();
    let (world, seeded) = seed_fields(&rig.router).await;
    let token = token(&rig.router).await;
    let bea = seeded["candidates"]["bea"]["id"].as_i64().unwrap();
    let ada = world["candidates"]["ada"]["id"].as_i64().unwrap();

    let candidates = get(&rig.router, &token, &format!("/v3/candidates?ids={bea},{ada}")).await;
    // Ada's pinned id is the higher one, so she comes first.
    assert_eq!(candidates.body[0]["custom_fields"], json!({"level": null, "relocate": null}));
    assert_eq!(candidates.body[1]["custom_fields"], json!({"level": "Senior", "relocate": true}));

    let app = seeded["candidates"]["bea"]["applications"][0].as_i64().unwrap();
    let apps = get(&rig.router, &token, &format!("/v3/applications?ids={app}")).await;
    // The inactive field's value stays on the record; inactive fields add no nulls.
    assert_eq!(
        apps.body[0]["custom_fields"],
        json!({"start_date": "2026-11-30", "budget": {"unit": "EUR", "amount": 90000}})
    );
    let jobs = get(&rig.router, &token, "/v3/jobs").await;
    assert_eq!(jobs.body[0]["custom_fields"], json!({}), "job values are not seeded");
}

#[tokio::test]
async fn webhooks_carry_values_keyed_with_name_and_type() {
    let rig = rig();
    let (world, seeded) = seed_fields(&rig.router).await;
    let received = receiver(&rig, Arc::new(AtomicU16::new(200)));
    point_webhooks(&rig.router).await;
    let app = seeded["candidates"]["bea"]["applications"][0].as_i64().unwrap();
    let to = world["jobs"]["eng"]["stages"]["Technical Interview"]["id"].as_i64().unwrap();
    let action = json!({"action": "move_application", "application_id": app, "to_stage_id": to});
    assert_eq!(control(&rig.router, "POST", "actions", action).await.status, StatusCode::OK);
    control(&rig.router, "POST", "deliver", Value::Null).await;

    let deliveries = received.lock().unwrap();
    let body: Value = serde_json::from_slice(&deliveries[0].1).unwrap();
    let application = &body["payload"]["application"];
    assert_eq!(
        application["custom_fields"]["start_date"],
        json!({"name": "Start date", "type": "date", "value": "2026-11-30"})
    );
    assert_eq!(
        application["candidate"]["custom_fields"]["relocate"],
        json!({"name": "Relocate", "type": "boolean", "value": true}),
        "webhooks name the yes/no type boolean"
    );
}

#[tokio::test]
async fn a_typed_world_refuses_undeclared_keys_and_ill_typed_values() {
    let rig = rig();
    seed_fields(&rig.router).await;
    let refused = |custom: Value, app_custom: Value| {
        let router = rig.router.clone();
        async move {
            let seed = json!({"candidates": [{
                "key": "cy", "first_name": "Cy", "last_name": "Ng", "custom_fields": custom,
                "applications": [{"job_key": "eng", "custom_fields": app_custom}],
            }]});
            let answer = control(&router, "POST", "seed", seed).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
            answer.body["message"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(
        refused(json!({"level": "Staff"}), json!({})).await,
        "candidate `cy`: custom_fields.level: `level` is a single_select field and takes one of its options (Junior, Senior)"
    );
    assert_eq!(
        refused(json!({}), json!({"start_date": "11/30/2026"})).await,
        "candidate `cy` application 0: custom_fields.start_date: `start_date` is a date field and takes a YYYY-MM-DD date"
    );
    assert_eq!(
        refused(json!({}), json!({"level": "Senior"})).await,
        "candidate `cy` application 0: custom_fields.level: no application custom field `level` is declared (declared: start_date, budget)"
    );
    assert_eq!(
        refused(json!({"relocate": "yes"}), json!({})).await,
        "candidate `cy`: custom_fields.relocate: `relocate` is a yes_no field and takes true or false"
    );

    let bad_definition = json!({"custom_fields": [
        {"key": "team", "field_type": "candidate", "value_type": "dropdown"}
    ]});
    let answer = control(&rig.router, "POST", "seed", bad_definition).await;
    assert!(answer.body["message"].as_str().unwrap().starts_with(
        "custom field `team`: value_type `dropdown` is not one of short_text, long_text"
    ));
    let twice = json!({"custom_fields": [
        {"key": "level", "field_type": "candidate", "value_type": "short_text"}
    ]});
    let answer = control(&rig.router, "POST", "seed", twice).await;
    assert_eq!(
        answer.body["message"],
        "custom field `level`: a candidate field with this key exists"
    );

    let token = token(&rig.router).await;
    let listed = get(&rig.router, &token, "/v3/custom_fields").await;
    assert_eq!(listed.body.as_array().unwrap().len(), 5, "refused seeds change nothing");
}

#[tokio::test]
async fn an_untyped_world_derives_a_definition_per_key() {
    let rig = rig();
    seed_world(&rig.router).await;
    let seed = json!({"candidates": [{
        "key": "dee", "first_name": "Dee", "last_name": "Ho",
        "custom_fields": {"notice_weeks": "two weeks", "relocate": true, "skills": ["Go", "Rust"]},
        "applications": [{"job_key": "eng", "custom_fields": {"budget": {"unit": "EUR", "amount": 1}}}],
    }]});
    let answer = control(&rig.router, "POST", "seed", seed).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["custom_fields"].as_object().unwrap().len(), 4);

    let token = token(&rig.router).await;
    let page = get(&rig.router, &token, "/v3/custom_fields").await.body;
    let typed: Vec<(String, String)> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                format!(
                    "{}.{}",
                    f["field_type"].as_str().unwrap(),
                    f["name_key"].as_str().unwrap()
                ),
                f["value_type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        typed,
        [
            ("application.budget".to_owned(), "currency".to_owned()),
            ("candidate.skills".to_owned(), "multi_select".to_owned()),
            ("candidate.relocate".to_owned(), "yes_no".to_owned()),
            ("candidate.notice_weeks".to_owned(), "short_text".to_owned()),
        ]
    );

    // Derived definitions type nothing: a later value of another shape still seeds.
    let later = json!({"candidates": [{
        "key": "eve", "first_name": "Eve", "last_name": "Li", "custom_fields": {"notice_weeks": 3},
    }]});
    assert_eq!(control(&rig.router, "POST", "seed", later).await.status, StatusCode::OK);
}

#[tokio::test]
async fn seeding_definitions_drops_kept_pages() {
    let rig = rig();
    seed_world(&rig.router).await;
    let token = token(&rig.router).await;
    let before = get(&rig.router, &token, "/v3/custom_fields").await;
    assert_eq!(before.body, json!([]));
    assert_eq!(rig.mock.lock().state.kept_pages(), 1);

    let seed = json!({"custom_fields": [
        {"key": "level", "field_type": "candidate", "value_type": "short_text"}
    ]});
    assert_eq!(control(&rig.router, "POST", "seed", seed).await.status, StatusCode::OK);
    let after = get(&rig.router, &token, "/v3/custom_fields").await;
    assert_eq!(keys(&after.body), ["level"]);
    let candidates = get(&rig.router, &token, "/v3/candidates").await;
    assert_eq!(candidates.body[0]["custom_fields"], json!({"level": null}));
}
