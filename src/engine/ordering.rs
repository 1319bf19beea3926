//! Which due events may be handled at the same time (`service.concurrency`).
//!
//! Every stored event gets a [`Lane`]: the Greenhouse candidate it is about, or
//! [`Lane::Alone`] when that cannot be read from the stored payload. The worker handles events
//! of different candidates side by side and never two of one candidate at once; an event of a
//! candidate starts only after every earlier due event of that candidate has finished, so
//! events sharing a candidate keep their order. An `Alone` event waits until nothing runs and
//! nothing before it waits, and nothing after it starts until it has finished: it is handled as
//! the worker did before there was a setting.
//!
//! Why the candidate, not the application or the IOP object: everything the engine keeps and
//! changes for an event hangs off one Greenhouse candidate. An application's stage change opens
//! or cancels that application's request; a candidate edit, delete or merge touches every request
//! of the candidate; an IOP decline closes a request and writes a note on the candidate; an
//! interview or feedback event writes to the application its request was opened for. Keying
//! Greenhouse events by application and IOP events by interview would let a decline and a stage
//! change of the same candidate race on the same request link. One candidate rarely has more
//! than one event due at a time, so the coarser key costs little parallelism.
//!
//! Where the candidate is read from:
//! - Greenhouse application webhooks: `payload.application.candidate.id` (or `candidate_id`);
//!   candidate webhooks: `payload.candidate.id`, `payload.person.id` (delete and merge: the
//!   candidate merged away, whose requests the handler cancels).
//! - IOP events: `related.external_refs.greenhouse.candidate_id`, which the IOP contract puts on
//!   every envelope, else the object's own `external_refs.greenhouse.candidate_id` (a candidate).
//! - Nothing else: `interview_deleted` names only the interview, `delete_application` only the
//!   application, and the engine's own `application_recheck` only the application, so they run
//!   alone. Looking the candidate up in the store would make the choice depend on state that
//!   earlier events are still changing.

use std::collections::HashSet;

use serde_json::Value;

use super::store::{InboxItem, Source};

/// The ordering key of one stored event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Lane {
    /// The Greenhouse candidate id the event is about.
    Candidate(i64),
    /// Unknown: serialised with everything.
    Alone,
}

impl Lane {
    pub(crate) fn of(item: &InboxItem) -> Self {
        let Ok(envelope) = serde_json::from_str::<Value>(&item.payload) else {
            return Lane::Alone;
        };
        let paths: &[&str] = match item.source {
            Source::Greenhouse => &[
                "/payload/application/candidate/id",
                "/payload/application/candidate_id",
                "/payload/candidate/id",
                "/payload/person/id",
            ],
            Source::Iop => &[
                "/related/external_refs/greenhouse/candidate_id",
                "/data/object/external_refs/greenhouse/candidate_id",
            ],
        };
        paths
            .iter()
            .find_map(|path| envelope.pointer(path).and_then(Value::as_i64))
            .map_or(Lane::Alone, Lane::Candidate)
    }
}

/// The lanes in use by the events being handled, and the bound on how many run at once.
#[derive(Debug)]
pub(crate) struct Lanes {
    limit: usize,
    running: usize,
    busy: HashSet<i64>,
    alone: bool,
}

impl Lanes {
    pub(crate) fn new(limit: usize) -> Self {
        Self { limit: limit.max(1), running: 0, busy: HashSet::new(), alone: false }
    }

    #[cfg(test)]
    pub(crate) fn running(&self) -> usize {
        self.running
    }

    /// The position of the first waiting event (given oldest first) that may start now: there
    /// is room, no `Alone` event runs, and neither a running event nor an earlier waiting one
    /// has its lane. An `Alone` event may start only first in line with nothing running.
    pub(crate) fn startable(&self, waiting: impl IntoIterator<Item = Lane>) -> Option<usize> {
        if self.running >= self.limit || self.alone {
            return None;
        }
        let mut passed = HashSet::new();
        for (index, lane) in waiting.into_iter().enumerate() {
            match lane {
                Lane::Alone => return (index == 0 && self.running == 0).then_some(index),
                Lane::Candidate(id) if !self.busy.contains(&id) && !passed.contains(&id) => {
                    return Some(index);
                }
                Lane::Candidate(id) => {
                    passed.insert(id);
                }
            }
        }
        None
    }

    pub(crate) fn start(&mut self, lane: Lane) {
        self.running += 1;
        match lane {
            Lane::Candidate(id) => {
                self.busy.insert(id);
            }
            Lane::Alone => self.alone = true,
        }
    }

    pub(crate) fn finish(&mut self, lane: Lane) {
        self.running = self.running.saturating_sub(1);
        match lane {
            Lane::Candidate(id) => {
                self.busy.remove(&id);
            }
            Lane::Alone => self.alone = false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(source: Source, kind: &str, payload: &str) -> InboxItem {
        InboxItem {
            id: 1,
            source,
            event_id: "e".into(),
            kind: kind.into(),
            payload: payload.into(),
            attempts: 0,
        }
    }

    #[test]
    fn the_lane_is_the_greenhouse_candidate_wherever_the_payload_names_it() {
        let gh = |kind, payload| Lane::of(&item(Source::Greenhouse, kind, payload));
        let stage = r#"{"action":"candidate_stage_change","payload":{"application":{"id":7,"candidate":{"id":71}}}}"#;
        assert_eq!(gh("candidate_stage_change", stage), Lane::Candidate(71));
        let edit = r#"{"payload":{"candidate":{"id":72}}}"#;
        assert_eq!(gh("update_candidate", edit), Lane::Candidate(72));
        let merge = r#"{"payload":{"person":{"id":73,"new_candidate_id":99}}}"#;
        assert_eq!(gh("merge_candidate", merge), Lane::Candidate(73));
        assert_eq!(gh("interview_deleted", r#"{"payload":{"interview":{"id":5}}}"#), Lane::Alone);
        assert_eq!(
            gh("application_recheck", r#"{"payload":{"application":{"id":7}}}"#),
            Lane::Alone
        );
        assert_eq!(gh("candidate_stage_change", "not json"), Lane::Alone);
        let text_id = r#"{"payload":{"application":{"candidate":{"id":"71"}}}}"#;
        assert_eq!(gh("candidate_stage_change", text_id), Lane::Alone, "ids are numbers");

        let iop = |payload| Lane::of(&item(Source::Iop, "interview.scheduled", payload));
        let related = r#"{"data":{"object":{"id":"int_1"}},"related":{"external_refs":{"greenhouse":{"application_id":7,"candidate_id":71}}}}"#;
        assert_eq!(iop(related), Lane::Candidate(71));
        let unlinked = r#"{"data":{"object":{"id":"int_1"}},"related":{"external_refs":{"greenhouse":{"candidate_id":null}}}}"#;
        assert_eq!(iop(unlinked), Lane::Alone);
        let candidate = r#"{"data":{"object":{"id":"cand_1","external_refs":{"greenhouse":{"candidate_id":74}}}}}"#;
        assert_eq!(iop(candidate), Lane::Candidate(74));
    }

    /// Starts what `startable` allows, in its order, until nothing more may start; returns the
    /// positions (in the original `waiting`) started.
    fn start_all(lanes: &mut Lanes, waiting: &mut Vec<(usize, Lane)>) -> Vec<usize> {
        let mut started = Vec::new();
        while let Some(index) = lanes.startable(waiting.iter().map(|(_, lane)| *lane)) {
            let (position, lane) = waiting.remove(index);
            lanes.start(lane);
            started.push(position);
        }
        started
    }

    #[test]
    fn one_candidate_at_a_time_in_order_and_others_overtake_it() {
        use Lane::Candidate as C;
        let mut lanes = Lanes::new(4);
        let mut waiting: Vec<(usize, Lane)> =
            [C(1), C(1), C(2), C(1), C(3), C(2), C(4), C(5)].into_iter().enumerate().collect();

        // The first of 1, 2, 3 and 4 start; the later 1s and 2 wait behind their first.
        assert_eq!(start_all(&mut lanes, &mut waiting), [0, 2, 4, 6]);
        assert_eq!(lanes.startable(waiting.iter().map(|(_, l)| *l)), None, "full");

        // Candidate 1's first finishes: its second (not its third) starts.
        lanes.finish(C(1));
        assert_eq!(start_all(&mut lanes, &mut waiting), [1]);
        lanes.finish(C(3));
        assert_eq!(start_all(&mut lanes, &mut waiting), [7], "5 starts, 1 and 2 are still busy");
        lanes.finish(C(2));
        lanes.finish(C(1));
        assert_eq!(start_all(&mut lanes, &mut waiting), [3, 5]);
        assert!(waiting.is_empty());
    }

    #[test]
    fn an_event_without_a_candidate_runs_alone() {
        use Lane::{Alone, Candidate as C};
        let mut lanes = Lanes::new(8);
        let mut waiting: Vec<(usize, Lane)> =
            [C(1), C(2), Alone, C(3), C(1)].into_iter().enumerate().collect();

        // 1 and 2 start; the lone event waits for them, and 3 waits behind it.
        assert_eq!(start_all(&mut lanes, &mut waiting), [0, 1]);
        lanes.finish(C(1));
        assert_eq!(start_all(&mut lanes, &mut waiting), Vec::<usize>::new());
        lanes.finish(C(2));
        assert_eq!(start_all(&mut lanes, &mut waiting), [2], "alone, and nothing beside it");
        lanes.finish(Alone);
        assert_eq!(start_all(&mut lanes, &mut waiting), [3, 4]);
        assert_eq!(lanes.running(), 2);
    }

    #[test]
    fn a_limit_of_one_is_the_old_worker() {
        use Lane::Candidate as C;
        let mut lanes = Lanes::new(1);
        let mut waiting: Vec<(usize, Lane)> = [C(1), C(2), C(3)].into_iter().enumerate().collect();
        let mut order: Vec<usize> = Vec::new();
        while !waiting.is_empty() {
            let started = start_all(&mut lanes, &mut waiting);
            assert_eq!(started.len(), 1);
            order.extend(&started);
            lanes.finish(C(started[0] as i64 + 1));
        }
        assert_eq!(order, [0, 1, 2]);
    }
}
