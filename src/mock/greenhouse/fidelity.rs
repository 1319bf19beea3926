//! Switches for Greenhouse behaviour our sources do not pin down. Each default is the reading
//! we consider most likely; a scenario flips a switch to check the engine copes either way.

use serde::{Deserialize, Serialize};

/// Uncertain Greenhouse facts, one switch each. Set with [`super::MockGreenhouse::with_fidelity`]
/// or at run time with `PUT /_rehearsal/fidelity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fidelity {
    /// What an application's `stage_id` (and the `stage_ids` filter, and a move's
    /// `from_stage_id`) means. Default [`StageIdMode::ApplicationStageRow`], as the official
    /// field registry describes it; third-party schemas read it as the job interview stage.
    pub stage_id_mode: StageIdMode,
    /// Status of a successful `DELETE /v3/interviews/{id}`. Default 204: v3 answers lifecycle
    /// verbs with No Content, but the delete reference page was not captured.
    pub delete_interview_status: u16,
    /// Whether deleting an interview through the API fires `interview_deleted` like a UI
    /// delete does. Default true; the webhook docs do not say.
    pub interview_deleted_on_api_delete: bool,
    /// Whether each retry of an event carries a fresh `Greenhouse-Event-ID`. Default false:
    /// the docs call the header an event id, so a retry repeats it.
    pub new_event_id_per_attempt: bool,
    /// Whether list date filters also take the bracket form `created_at[gte]=…` besides the
    /// documented pipe form `created_at=gte|…`. Default false: only the pipe form is
    /// documented; one third party saw brackets work live, so an engine that relies on them
    /// should learn here that it leans on an undocumented form.
    pub bracket_date_filters: bool,
}

/// See [`Fidelity::stage_id_mode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StageIdMode {
    /// `stage_id` is the id of the application's current `/v3/application_stages` row.
    #[default]
    ApplicationStageRow,
    /// `stage_id` is the `/v3/job_interview_stages` id the application stands in.
    JobInterviewStage,
}

impl Default for Fidelity {
    fn default() -> Self {
        Self {
            stage_id_mode: StageIdMode::ApplicationStageRow,
            delete_interview_status: 204,
            interview_deleted_on_api_delete: true,
            new_event_id_per_attempt: false,
            bracket_date_filters: false,
        }
    }
}
