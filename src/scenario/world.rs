//! Turns a scenario's `given` section into seeds for both mocks, and remembers the ids they
//! assign, so steps and expectations can go by name.

use std::collections::BTreeMap;

use http::Method;

use super::expect::CandidateIds;
use super::harness::{Harness, Side};
use super::model::{Given, InterviewSpec, StageSpec};
use crate::mock::greenhouse::control as gh;
use crate::mock::iop::control as iop;

/// Names → ids on both sides.
#[derive(Debug, Clone, Default)]
pub struct Ids {
    pub candidates: BTreeMap<String, CandidateIds>,
    /// Candidate name → job name.
    pub candidate_jobs: BTreeMap<String, String>,
    /// Job name → stage name → job interview stage id.
    pub stages: BTreeMap<String, BTreeMap<String, i64>>,
    /// User name → Greenhouse user id.
    pub gh_users: BTreeMap<String, i64>,
    /// User name → IOP user id.
    pub iop_users: BTreeMap<String, String>,
    /// Rejection reason name → id.
    pub rejection_reasons: BTreeMap<String, i64>,
}

fn split_name(name: &str) -> (String, String) {
    let mut parts = name.trim().splitn(2, ' ');
    let first = parts.next().unwrap_or_default().to_owned();
    let last = parts.next().unwrap_or_default().trim().to_owned();
    (first, last)
}

/// Seeds both mocks and wires the IOP's webhooks to the engine.
pub async fn seed(
    harness: &Harness,
    given: &Given,
    acting_user_id: Option<i64>,
) -> Result<Ids, String> {
    let mut seed = gh::Seed::default();
    if let Some(id) = acting_user_id {
        seed.users.push(gh::SeedUser {
            key: "__integration".into(),
            id: Some(id),
            first_name: "Rehearsal".into(),
            last_name: "Integration".into(),
            email: "integration@rehearsal.test".into(),
            site_admin: true,
        });
    }
    for user in &given.users {
        let (first_name, last_name) = split_name(&user.value.name);
        seed.users.push(gh::SeedUser {
            key: user.value.name.clone(),
            id: user.value.id,
            first_name,
            last_name,
            email: user.value.email.clone(),
            site_admin: user.value.site_admin,
        });
    }
    for job in &given.jobs {
        let stages = job.value.stages.iter().map(seed_stage).collect();
        seed.jobs.push(gh::SeedJob {
            key: job.value.name.clone(),
            id: job.value.id,
            name: job.value.name.clone(),
            stages,
        });
    }
    seed.custom_fields = custom_field_seeds(given);
    for candidate in &given.candidates {
        let c = &candidate.value;
        let (first_name, last_name) = split_name(&c.name);
        let typed = |one: &Option<String>, kind: &str, many: &[super::model::TypedSpec]| {
            let one = one.iter().map(|v| gh::TypedValue { value: v.clone(), kind: kind.into() });
            let many = many
                .iter()
                .map(|t| gh::TypedValue { value: t.value.clone(), kind: t.kind.clone() });
            one.chain(many).collect::<Vec<_>>()
        };
        seed.candidates.push(gh::SeedCandidate {
            key: c.name.clone(),
            id: c.id,
            first_name,
            last_name,
            email_addresses: typed(&c.email, "personal", &c.emails),
            phone_numbers: typed(&c.phone, "mobile", &c.phones),
            time_zone: c.time_zone.clone(),
            custom_fields: c.custom_fields.clone(),
            applications: vec![gh::SeedApplication {
                id: c.application_id,
                job_key: c.applies_to.clone(),
                stage: c.stage.clone(),
                status: c.status.clone(),
                custom_fields: c.application_custom_fields.clone(),
            }],
        });
    }
    let seeded: gh::Seeded =
        harness.control(Side::Greenhouse, Method::POST, "/_rehearsal/seed", Some(&seed)).await?;

    let mut ids = Ids {
        gh_users: seeded.users.clone(),
        rejection_reasons: seeded.rejection_reasons.clone(),
        ..Ids::default()
    };
    for (job, seeded_job) in &seeded.jobs {
        let stages =
            seeded_job.stages.iter().map(|(name, stage)| (name.clone(), stage.id)).collect();
        ids.stages.insert(job.clone(), stages);
    }
    for candidate in &given.candidates {
        let name = &candidate.value.name;
        let seeded_candidate =
            seeded.candidates.get(name).ok_or_else(|| format!("the mock did not seed `{name}`"))?;
        let application_id = seeded_candidate.applications.first().copied().unwrap_or_default();
        ids.candidates.insert(
            name.clone(),
            CandidateIds { candidate_id: seeded_candidate.id, application_id },
        );
        ids.candidate_jobs.insert(name.clone(), candidate.value.applies_to.clone());
    }

    let iop_seed = iop::Seed {
        users: given
            .users
            .iter()
            .map(|u| iop::SeedUser {
                key: u.value.name.clone(),
                name: u.value.name.clone(),
                email: u.value.iop_email.clone().unwrap_or_else(|| u.value.email.clone()),
                timezone: "UTC".into(),
                // An account under another address is one the IOP never linked to Greenhouse.
                greenhouse_user_id: match u.value.iop_email {
                    Some(_) => None,
                    None => ids.gh_users.get(&u.value.name).copied(),
                },
            })
            .collect(),
        webhook: Some(iop::SeedWebhook {
            url: format!("{}/webhooks/iop", harness.engine_url),
            secrets: vec![harness.iop_webhook_secret()],
        }),
    };
    let seeded: iop::Seeded =
        harness.control(Side::Iop, Method::POST, "/_rehearsal/seed", Some(&iop_seed)).await?;
    ids.iop_users = seeded.users;
    Ok(ids)
}

/// `given.custom_fields` in the mock's seed vocabulary (`record` is Harvest's `field_type`,
/// `type` its `value_type`).
pub(crate) fn custom_field_seeds(given: &Given) -> Vec<gh::SeedCustomField> {
    given
        .custom_fields
        .iter()
        .map(|field| {
            let f = &field.value;
            gh::SeedCustomField {
                key: f.key.clone(),
                id: f.id,
                name: f.name.clone(),
                field_type: f.record.clone(),
                value_type: f.kind.clone(),
                options: f.options.clone(),
                active: f.active,
                private: f.private,
                required: f.required,
                description: None,
            }
        })
        .collect()
}

fn seed_stage(stage: &StageSpec) -> gh::SeedStage {
    match stage {
        StageSpec::Name(name) => {
            gh::SeedStage { name: name.clone(), id: None, interviews: Vec::new() }
        }
        StageSpec::Full(full) => gh::SeedStage {
            name: full.name.clone(),
            id: full.id,
            interviews: full
                .interviews
                .iter()
                .map(|interview| match interview {
                    InterviewSpec::Name(name) => gh::SeedInterview {
                        name: name.clone(),
                        id: None,
                        duration_minutes: None,
                        interviewer_keys: Vec::new(),
                    },
                    InterviewSpec::Full(i) => gh::SeedInterview {
                        name: i.name.clone(),
                        id: i.id,
                        duration_minutes: i.duration_minutes,
                        interviewer_keys: i.interviewers.clone(),
                    },
                })
                .collect(),
        },
    }
}
