//! The fixed world every generated scenario starts from, derived from the engine
//! configuration under test: one job whose stages include the stages the trigger rules name,
//! two candidates, one interviewer. Ids are pinned so a raw webhook (a merge) can name them.

use crate::engine::config::{
    EngineConfig, FeedbackWriteback, JobRef, OutcomePolicy, SchedulingMode, StageRef, TriggerAction,
};

/// The candidates of every generated scenario: (name, email local part).
pub const CANDIDATES: &[(&str, &str)] = &[("Ana Ruiz", "ana.ruiz"), ("Ben Okafor", "ben.okafor")];
/// The interviewer every trigger stage's interview is given to.
pub const INTERVIEWER: &str = "Priya Shah";
/// Every interview lasts an hour, so its end is its start plus 60 minutes.
pub const INTERVIEW_MINUTES: i64 = 60;
/// Candidate ids are this plus 1, 2, …; application ids likewise from `APPLICATION_ID_BASE`.
pub const CANDIDATE_ID_BASE: i64 = 7_100_000_000;
pub const APPLICATION_ID_BASE: i64 = 7_200_000_000;
/// The surviving profile a merged-away candidate is merged into (not seeded: the mock has no
/// merge, so only the webhook announces it).
pub const MERGED_INTO_ID: i64 = 7_199_999_999;
const JOB_ID: i64 = 4_100_000_001;
const STAGE_ID_BASE: i64 = 4_300_000_000;
const JOB_NAME: &str = "Backend Engineer";
/// At most this many trigger stages are taken from the configuration: more make the search
/// spread thin without exercising anything new.
const MAX_TRIGGER_STAGES: usize = 3;

/// How a request the engine opens starts out in the IOP: a `coordinator` request waits
/// (`pending`); the others send the candidate a link at once (`availability_requested`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    Pending,
    LinkSent,
}

impl Opening {
    pub fn status(self) -> &'static str {
        match self {
            Opening::Pending => "pending",
            Opening::LinkSent => "availability_requested",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub name: String,
    pub id: i64,
    /// `Some` when the configuration opens a scheduling request on entering the stage.
    pub trigger: Option<Opening>,
}

/// What the reference model needs to know about the world and the engine's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct World {
    pub job_name: String,
    pub job_id: i64,
    pub stages: Vec<Stage>,
    /// `policies.on_decline = reject`.
    pub decline_rejects: bool,
    /// `policies.on_no_show = reject`.
    pub no_show_rejects: bool,
    pub writeback: FeedbackWriteback,
    /// How far back the engine's first reconciliation sweep looks, in minutes.
    pub initial_lookback_minutes: i64,
}

impl World {
    /// The world for `config`: the job is the one its job-specific trigger rules name (if any),
    /// the stages are Application Review, the stages its rules open requests for, and Offer;
    /// which of them trigger (and how) is asked of `config` itself, as the engine asks it.
    pub fn from_config(config: &EngineConfig) -> World {
        let opening: Vec<_> = config
            .triggers
            .iter()
            .filter(|rule| rule.action == TriggerAction::OpenSchedulingRequest)
            .collect();
        let (job_name, job_id) = match opening.iter().find_map(|rule| rule.jobs.first()) {
            Some(JobRef::Name(name)) => (name.trim().to_owned(), JOB_ID),
            Some(JobRef::Id(id)) => (JOB_NAME.to_owned(), *id),
            None => (JOB_NAME.to_owned(), JOB_ID),
        };

        let mut named: Vec<(String, Option<i64>)> = vec![("Application Review".into(), None)];
        for rule in &opening {
            let stage = match &rule.stage {
                StageRef::Name(name) => (name.trim().to_owned(), None),
                StageRef::Id(id) => (format!("Stage {id}"), Some(*id)),
            };
            let known = named.iter().any(|(n, _)| n.eq_ignore_ascii_case(&stage.0));
            if !known && named.len() <= MAX_TRIGGER_STAGES {
                named.push(stage);
            }
        }
        if !named.iter().any(|(n, _)| n.eq_ignore_ascii_case("Offer")) {
            named.push(("Offer".into(), None));
        }

        let stages = named
            .into_iter()
            .zip(1..)
            .map(|((name, pinned), n)| {
                let id = pinned.unwrap_or(STAGE_ID_BASE + n);
                let trigger = config
                    .trigger_for(job_id, &job_name, id, &name)
                    .filter(|rule| rule.action == TriggerAction::OpenSchedulingRequest)
                    .map(|rule| match rule.mode {
                        Some(SchedulingMode::Coordinator) => Opening::Pending,
                        _ => Opening::LinkSent,
                    });
                Stage { name, id, trigger }
            })
            .collect();
        World {
            job_name,
            job_id,
            stages,
            decline_rejects: config.policies.on_decline == OutcomePolicy::Reject,
            no_show_rejects: config.policies.on_no_show == OutcomePolicy::Reject,
            writeback: config.policies.feedback_writeback,
            initial_lookback_minutes: i64::try_from(config.reconcile.initial_lookback_secs / 60)
                .unwrap_or(i64::MAX),
        }
    }

    /// A world with four stages whose two middle ones open requests as given: the reference
    /// model's own tests use it to range over configurations without a file.
    pub fn synthetic(
        triggers: [Option<Opening>; 2],
        decline_rejects: bool,
        no_show_rejects: bool,
    ) -> World {
        let names = ["Application Review", "Phone Screen", "Onsite", "Offer"];
        let trigger = [None, triggers[0], triggers[1], None];
        World {
            job_name: JOB_NAME.into(),
            job_id: JOB_ID,
            stages: (0..names.len())
                .map(|i| Stage {
                    name: names[i].into(),
                    id: STAGE_ID_BASE + 1 + i as i64,
                    trigger: trigger[i],
                })
                .collect(),
            decline_rejects,
            no_show_rejects,
            writeback: FeedbackWriteback::Scorecard,
            initial_lookback_minutes: 24 * 60,
        }
    }

    pub fn candidate_id(index: usize) -> i64 {
        CANDIDATE_ID_BASE + 1 + index as i64
    }

    pub fn application_id(index: usize) -> i64 {
        APPLICATION_ID_BASE + 1 + index as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> EngineConfig {
        EngineConfig::parse(text, "test.toml").unwrap()
    }

    #[test]
    fn the_default_configuration_gives_its_trigger_stages_and_modes() {
        let default = config(include_str!("../../fixtures/engine.toml"));
        let world = World::from_config(&default);
        let stages: Vec<(&str, Option<Opening>)> =
            world.stages.iter().map(|s| (s.name.as_str(), s.trigger)).collect();
        assert_eq!(
            stages,
            vec![
                ("Application Review", None),
                ("Phone Screen", Some(Opening::LinkSent)),
                ("Technical Interview", Some(Opening::LinkSent)),
                ("Onsite", Some(Opening::LinkSent)),
                ("Offer", None),
            ]
        );
        assert!(!world.decline_rejects && !world.no_show_rejects);
    }

    #[test]
    fn a_job_specific_coordinator_rule_names_the_job_and_its_mode() {
        let base = include_str!("../../fixtures/engine.toml");
        let head = base.split("[[triggers]]").next().unwrap();
        let text = format!(
            "{head}[[triggers]]\nstage = \"Hiring Manager\"\njobs = [\"Data Engineer\"]\n\
             action = \"open_scheduling_request\"\nmode = \"coordinator\"\n\n\
             [policies]\non_decline = \"reject\"\n"
        );
        let world = World::from_config(&config(&text));
        assert_eq!(world.job_name, "Data Engineer");
        let manager = world.stages.iter().find(|s| s.name == "Hiring Manager").unwrap();
        assert_eq!(manager.trigger, Some(Opening::Pending));
        assert!(world.decline_rejects);
    }
}
