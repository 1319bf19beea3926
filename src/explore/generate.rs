//! How transitions are drawn: [`Model`] is the proptest-state-machine reference machine whose
//! `transitions` offer only what the model's state makes possible (feedback and no-shows once
//! something is booked, an unreject after a reject, bookings while a request is open) and
//! whose `preconditions` re-check every transition while shrinking.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;
use proptest_state_machine::ReferenceStateMachine;

use super::model::{
    AppStatus, Burst, BurstKind, GreenhouseFaults, IopFaults, MAX_ADVANCE_HOURS, MAX_BURST,
    MAX_STALE_SECS, RECOMMENDATIONS, State, Transition,
};
use super::world::{Opening, World};

/// The reference state machine of `rehearsal explore`.
pub struct Model;

impl ReferenceStateMachine for Model {
    type State = State;
    type Transition = Transition;

    /// Any of the synthetic worlds (which middle stages trigger, and how; the outcome
    /// policies). `rehearsal explore` starts from the world of the configuration it is given
    /// instead (see [`super::search`]).
    fn init_state() -> BoxedStrategy<State> {
        let opening =
            prop_oneof![Just(None), Just(Some(Opening::LinkSent)), Just(Some(Opening::Pending))];
        (opening.clone(), opening, any::<bool>(), any::<bool>())
            .prop_map(|(phone, onsite, decline_rejects, no_show_rejects)| {
                let world = World::synthetic([phone, onsite], decline_rejects, no_show_rejects);
                State::new(Arc::new(world))
            })
            .boxed()
    }

    fn transitions(state: &State) -> BoxedStrategy<Transition> {
        transitions(state)
    }

    fn preconditions(state: &State, transition: &Transition) -> bool {
        if !state.allows(transition) {
            return false;
        }
        let next = state.clone().after(transition);
        next.is_certain() && next.is_closable()
    }

    fn apply(state: State, transition: &Transition) -> State {
        state.after(transition)
    }
}

type Arm = (u32, BoxedStrategy<Transition>);

/// Candidates (by index) for which `keep` holds.
fn who(state: &State, keep: impl Fn(usize) -> bool) -> Vec<usize> {
    (0..state.candidates.len()).filter(|&c| keep(c)).collect()
}

/// Transitions on one of `candidates`, when there is any.
fn on(
    arms: &mut Vec<Arm>,
    weight: u32,
    candidates: Vec<usize>,
    make: impl Fn(usize) -> Transition + Send + Sync + 'static,
) {
    if !candidates.is_empty() {
        arms.push((weight, select(candidates).prop_map(make).boxed()));
    }
}

/// The hours (after the start) at which an interview may be booked now: from the first whole
/// hour after the latest the clock can be, up to three days on.
fn booking_hours(state: &State) -> std::ops::Range<u32> {
    let first = u32::try_from(state.now_max / 60 + 1).unwrap_or(u32::MAX - 80);
    first..first.saturating_add(72)
}

/// What is possible from `state`, weighted towards the integration's main paths. Arms come
/// in rough order of simplicity, since shrinking prefers earlier ones.
pub fn transitions(state: &State) -> BoxedStrategy<Transition> {
    let mut arms: Vec<Arm> = Vec::new();
    arms.push((6, (1..=MAX_ADVANCE_HOURS).prop_map(|hours| Transition::Advance { hours }).boxed()));

    let stages = state.world.stages.len();
    let active = who(state, |c| {
        let c = &state.candidates[c];
        !c.merged && c.status == AppStatus::Active
    });
    if !active.is_empty() {
        let moves = (select(active.clone()), 0..stages)
            .prop_map(|(candidate, stage)| Transition::Move { candidate, stage });
        arms.push((14, moves.boxed()));
    }
    on(&mut arms, 2, active.clone(), |candidate| Transition::Reject { candidate });
    on(&mut arms, 1, active, |candidate| Transition::Hire { candidate });
    let rejected = who(state, |c| {
        let c = &state.candidates[c];
        !c.merged && c.status == AppStatus::Rejected
    });
    on(&mut arms, 4, rejected, |candidate| Transition::Unreject { candidate });
    let present = who(state, |c| !state.candidates[c].merged);
    on(&mut arms, 2, present, |candidate| Transition::Edit { candidate });
    let mergeable = who(state, |c| state.allows(&Transition::Merge { candidate: c }));
    on(&mut arms, 1, mergeable, |candidate| Transition::Merge { candidate });

    let bookable =
        who(state, |c| state.allows(&Transition::Schedule { candidate: c, hour: u32::MAX }));
    if !bookable.is_empty() {
        let bookings = (select(bookable), booking_hours(state))
            .prop_map(|(candidate, hour)| Transition::Schedule { candidate, hour });
        arms.push((14, bookings.boxed()));
    }
    let declinable = who(state, |c| state.allows(&Transition::Decline { candidate: c }));
    on(&mut arms, 2, declinable, |candidate| Transition::Decline { candidate });
    let live = who(state, |c| state.allows(&Transition::CancelInterview { candidate: c }));
    if !live.is_empty() {
        let moves = (select(live.clone()), booking_hours(state))
            .prop_map(|(candidate, hour)| Transition::Reschedule { candidate, hour });
        arms.push((4, moves.boxed()));
    }
    on(&mut arms, 2, live.clone(), |candidate| Transition::CancelInterview { candidate });
    on(&mut arms, 3, live, |candidate| Transition::NoShow { candidate });
    let reviewable =
        who(state, |c| state.allows(&Transition::Feedback { candidate: c, recommendation: 0 }));
    if !reviewable.is_empty() {
        let feedback = (select(reviewable), 0..RECOMMENDATIONS.len()).prop_map(
            |(candidate, recommendation)| Transition::Feedback { candidate, recommendation },
        );
        arms.push((8, feedback.boxed()));
    }

    arms.push((4, greenhouse_faults().prop_map(Transition::GreenhouseFaults).boxed()));
    arms.push((3, iop_faults().prop_map(Transition::IopFaults).boxed()));
    arms.push((2, Just(Transition::ClearFaults).boxed()));
    if state.allows(&Transition::Reconcile) {
        arms.push((2, Just(Transition::Reconcile).boxed()));
    }
    arms.push((2, Just(Transition::RestartEngine).boxed()));
    Union::new_weighted(arms).boxed()
}

/// Bursts of `kinds`, or none.
fn burst(kinds: &[BurstKind]) -> impl Strategy<Value = Option<Burst>> + use<> {
    let kind = select(kinds.to_vec());
    proptest::option::of((kind, 1..=MAX_BURST).prop_map(|(kind, times)| Burst { kind, times }))
}

fn stale_read_secs() -> impl Strategy<Value = u8> {
    prop_oneof![2 => Just(0u8), 1 => 5..=MAX_STALE_SECS]
}

fn greenhouse_faults() -> impl Strategy<Value = GreenhouseFaults> {
    // Drops are rarer than the rest: while they last, the IOP side of whatever changed is
    // unknown, so nothing can be booked for it until a sweep.
    let burst = burst(&[BurstKind::Unavailable, BurstKind::TooManyRequests, BurstKind::Timeout]);
    (any::<bool>(), proptest::bool::weighted(0.3), stale_read_secs(), burst).prop_map(
        |(duplicate, drop, stale_read_secs, burst)| GreenhouseFaults {
            duplicate,
            drop,
            stale_read_secs,
            burst,
        },
    )
}

fn iop_faults() -> impl Strategy<Value = IopFaults> {
    let burst = burst(&[BurstKind::Unavailable, BurstKind::TooManyRequests, BurstKind::Timeout]);
    (any::<bool>(), stale_read_secs(), burst).prop_map(
        |(duplicate_and_reorder, stale_read_secs, burst)| IopFaults {
            duplicate_and_reorder,
            stale_read_secs,
            burst,
        },
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest_state_machine::ReferenceStateMachine;

    use super::Model;
    use crate::explore::render;
    use crate::scenario::load;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Every generated transition meets its precondition in the state it meets, the
        /// model's own rules hold after each, and every sequence renders a valid scenario.
        #[test]
        fn generated_sequences_keep_the_models_preconditions_and_rules(
            (initial, transitions, _) in Model::sequential_strategy(1..40)
        ) {
            let mut state = initial.clone();
            for transition in &transitions {
                prop_assert!(Model::preconditions(&state, transition), "{transition:?} in {state:?}");
                state = Model::apply(state, transition);
                prop_assert_eq!(state.check_consistency(), Ok(()));
                prop_assert!(state.is_closable());
            }
            let rendered = render::scenario(&initial, &transitions);
            prop_assert_eq!(rendered.first_steps.len(), transitions.len());
            let parsed = load::parse(&rendered.yaml, "generated.yaml");
            prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed.err(), rendered.yaml);
            // The closing leaves nothing dropped unrepaired and every interview's state known.
            prop_assert!(rendered.end.candidates.iter().all(|c| !c.unsynced));
            prop_assert_eq!(rendered.end.check_consistency(), Ok(()));
        }
    }
}
