//! The reference model's own rules: what each transition requires, and what it leads to.

use std::sync::Arc;

use super::model::*;
use super::world::{Opening, World};

const ANA: usize = 0;
const APPLICATION_REVIEW: usize = 0;
const ONSITE: usize = 2;

/// Phone Screen and Onsite open requests that send a link; policies note only.
fn start() -> State {
    let triggers = [Some(Opening::LinkSent), Some(Opening::LinkSent)];
    State::new(Arc::new(World::synthetic(triggers, false, false)))
}

/// Applies `transitions`, insisting that each is allowed.
fn run(state: State, transitions: &[Transition]) -> State {
    transitions.iter().fold(state, |state, t| {
        assert!(state.allows(t) && state.clone().after(t).is_certain(), "{t:?} refused");
        state.after(t)
    })
}

fn onsite_booked_at(hour: u32) -> State {
    run(
        start(),
        &[
            Transition::Move { candidate: ANA, stage: ONSITE },
            Transition::Schedule { candidate: ANA, hour },
        ],
    )
}

#[test]
fn iop_actions_wait_for_a_request_and_a_booking() {
    let state = start();
    for t in [
        Transition::Schedule { candidate: ANA, hour: 10 },
        Transition::Decline { candidate: ANA },
        Transition::Feedback { candidate: ANA, recommendation: 2 },
        Transition::NoShow { candidate: ANA },
        Transition::CancelInterview { candidate: ANA },
        Transition::Reschedule { candidate: ANA, hour: 10 },
        Transition::Unreject { candidate: ANA },
        Transition::Move { candidate: ANA, stage: APPLICATION_REVIEW },
    ] {
        assert!(!state.allows(&t), "{t:?} allowed at the start");
    }

    let requested = run(state, &[Transition::Move { candidate: ANA, stage: ONSITE }]);
    assert_eq!(requested.open_request(ANA), Some(0));
    assert!(requested.allows(&Transition::Decline { candidate: ANA }));
    assert!(requested.allows(&Transition::Schedule { candidate: ANA, hour: 10 }));
    assert!(!requested.allows(&Transition::Feedback { candidate: ANA, recommendation: 2 }));
    assert!(!requested.allows(&Transition::NoShow { candidate: ANA }));

    let booked = run(requested, &[Transition::Schedule { candidate: ANA, hour: 10 }]);
    assert!(booked.allows(&Transition::NoShow { candidate: ANA }));
    assert!(booked.allows(&Transition::Feedback { candidate: ANA, recommendation: 2 }));
    // One live interview per request, and none booked before the clock may already be.
    assert!(!booked.allows(&Transition::Schedule { candidate: ANA, hour: 20 }));
    assert!(!booked.allows(&Transition::Reschedule { candidate: ANA, hour: 0 }));
}

#[test]
fn unreject_follows_reject_and_opens_a_new_request() {
    let rejected = run(
        start(),
        &[
            Transition::Move { candidate: ANA, stage: ONSITE },
            Transition::Reject { candidate: ANA },
        ],
    );
    let ana = &rejected.candidates[ANA];
    assert_eq!(ana.requests[0].status, RequestStatus::Cancelled);
    assert!(!rejected.allows(&Transition::Move { candidate: ANA, stage: 1 }));
    let back = run(rejected, &[Transition::Unreject { candidate: ANA }]);
    assert_eq!(back.candidates[ANA].requests.len(), 2);
    assert_eq!(back.open_request(ANA), Some(1));
}

#[test]
fn feedback_before_the_end_completes_the_request_when_the_interview_ends() {
    let given =
        run(onsite_booked_at(10), &[Transition::Feedback { candidate: ANA, recommendation: 3 }]);
    assert_eq!(given.interviews[0].status, InterviewStatus::Scheduled);
    // It ends 11 h after the start; three steps in, the clock may be 45 min ahead of the
    // start, so after 10 more hours the end may or may not have passed: refused.
    let straddling = Transition::Advance { hours: 10 };
    assert!(!given.clone().after(&straddling).is_certain());
    let ended = run(given, &[Transition::Advance { hours: 11 }]);
    assert_eq!(ended.interviews[0].status, InterviewStatus::Complete);
    assert_eq!(ended.candidates[ANA].requests[0].status, RequestStatus::Completed);
    assert_eq!(ended.open_request(ANA), None);
}

#[test]
fn feedback_days_later_and_a_stage_move_in_between() {
    let state = run(
        onsite_booked_at(10),
        &[
            Transition::Advance { hours: 48 },
            Transition::Move { candidate: ANA, stage: 3 },
            Transition::Feedback { candidate: ANA, recommendation: 0 },
        ],
    );
    // The interview had happened, so leaving Onsite did not cancel it; the request did go.
    assert_eq!(state.interviews[0].status, InterviewStatus::Complete);
    assert_eq!(state.candidates[ANA].requests[0].status, RequestStatus::Cancelled);
    assert_eq!(state.candidates[ANA].feedback, 1);
    assert!(!state.allows(&Transition::Feedback { candidate: ANA, recommendation: 0 }));
}

#[test]
fn a_dropped_move_waits_for_a_sweep() {
    let drop = GreenhouseFaults { drop: true, ..GreenhouseFaults::default() };
    let dropped = run(
        start(),
        &[Transition::GreenhouseFaults(drop), Transition::Move { candidate: ANA, stage: ONSITE }],
    );
    assert!(dropped.candidates[ANA].unsynced);
    assert_eq!(dropped.open_request(ANA), None);
    assert!(!dropped.allows(&Transition::Schedule { candidate: ANA, hour: 10 }));
    assert!(!dropped.allows(&Transition::Merge { candidate: 1 }));
    assert_eq!(dropped.closing()[1], Transition::Reconcile);

    let swept = run(dropped.clone(), &[Transition::Reconcile]);
    assert_eq!(swept.open_request(ANA), Some(0));
    assert!(!swept.candidates[ANA].unsynced);
    // The first sweep looks back a day: a drop older than that is out of its reach.
    assert!(!dropped.clone().after(&Transition::Advance { hours: 24 }).is_closable());
}

#[test]
fn a_sweep_waits_for_faults_that_would_fail_or_mislead_it() {
    let burst = Burst { kind: BurstKind::Unavailable, times: 2 };
    let noisy = GreenhouseFaults { burst: Some(burst), ..GreenhouseFaults::default() };
    let state = run(start(), &[Transition::GreenhouseFaults(noisy)]);
    assert!(!state.allows(&Transition::Reconcile));
    let lagging = GreenhouseFaults { stale_read_secs: 30, ..GreenhouseFaults::default() };
    let state = run(state, &[Transition::GreenhouseFaults(lagging)]);
    assert!(!state.allows(&Transition::Reconcile));
    let state = run(state, &[Transition::ClearFaults]);
    assert!(state.allows(&Transition::Reconcile));
}

#[test]
fn the_configured_policies_reject_after_a_decline_or_a_no_show() {
    let triggers = [Some(Opening::LinkSent), Some(Opening::Pending)];
    let strict = State::new(Arc::new(World::synthetic(triggers, true, true)));
    let declined = run(
        strict.clone(),
        &[
            Transition::Move { candidate: ANA, stage: ONSITE },
            Transition::Decline { candidate: ANA },
        ],
    );
    assert_eq!(declined.candidates[ANA].requests[0].status, RequestStatus::Declined);
    assert_eq!(declined.candidates[ANA].status, AppStatus::Rejected);

    let no_show = run(
        strict,
        &[
            Transition::Move { candidate: ANA, stage: ONSITE },
            Transition::Schedule { candidate: ANA, hour: 10 },
            Transition::NoShow { candidate: ANA },
        ],
    );
    assert_eq!(no_show.candidates[ANA].requests[0].status, RequestStatus::Completed);
    assert_eq!(no_show.candidates[ANA].status, AppStatus::Rejected);
    assert_eq!(no_show.candidates[ANA].no_shows, 1);
}

#[test]
fn a_merge_cancels_and_ends_the_candidates_actions() {
    let merged = run(onsite_booked_at(30), &[Transition::Merge { candidate: ANA }]);
    assert_eq!(merged.candidates[ANA].requests[0].status, RequestStatus::Cancelled);
    assert_eq!(merged.interviews[0].status, InterviewStatus::Cancelled);
    assert!(!merged.allows(&Transition::Move { candidate: ANA, stage: 1 }));
    let drop = GreenhouseFaults { drop: true, ..GreenhouseFaults::default() };
    assert!(!merged.allows(&Transition::GreenhouseFaults(drop)));
    assert!(!merged.allows(&Transition::Reconcile));
}

#[test]
fn fixed_engine_findings_are_searched_again() {
    // A return to the stage of a request the engine still holds for an earlier stay.
    let drop = GreenhouseFaults { drop: true, ..GreenhouseFaults::default() };
    let left = run(
        start(),
        &[
            Transition::Move { candidate: ANA, stage: ONSITE },
            Transition::GreenhouseFaults(drop),
            Transition::Move { candidate: ANA, stage: APPLICATION_REVIEW },
        ],
    );
    assert!(left.allows(&Transition::Move { candidate: ANA, stage: ONSITE }));

    // A sweep over a stay whose request the candidate declined.
    let declined = run(
        start(),
        &[
            Transition::Move { candidate: ANA, stage: ONSITE },
            Transition::Decline { candidate: ANA },
        ],
    );
    assert!(declined.allows(&Transition::Reconcile));

    // Harvest timeouts, and a lagging read together with an error burst.
    let timeouts = Burst { kind: BurstKind::Timeout, times: 1 };
    let state = start();
    let harvest_timeouts =
        GreenhouseFaults { burst: Some(timeouts), ..GreenhouseFaults::default() };
    assert!(state.allows(&Transition::GreenhouseFaults(harvest_timeouts)));
    let lagging = IopFaults { stale_read_secs: 20, ..IopFaults::default() };
    let state = run(state, &[Transition::IopFaults(lagging)]);
    let errors = Burst { kind: BurstKind::Unavailable, times: 2 };
    let harvest_errors = GreenhouseFaults { burst: Some(errors), ..GreenhouseFaults::default() };
    assert!(state.allows(&Transition::GreenhouseFaults(harvest_errors)));
}
