//! The `stale_read_secs` fault (contract §3.10): `/v1` reads that lag behind writes, as an
//! eventually consistent read replica would. Each write that lands while the fault is on keeps
//! a copy of the resources from just before it; a read answers from the copy kept by the
//! earliest write of the last `stale_read_secs` (virtual time), so it sees the resources as
//! they stood that long ago. Subscriptions, deliveries, idempotency records and rate windows
//! are never stale.
//!
//! TODO(perf): every write under the fault copies the whole world (once per virtual instant);
//! fine for scenarios, too heavy for a long `serve` soak with the fault on.
//! TODO(fidelity): every read lags by exactly the same window; a real replica lags by a varying
//! amount, and some reads (by id) may be consistent where lists are not.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Duration, Utc};
use http::Method;

use super::api::{ApiRequest, ApiResult};
use super::routes::dispatch;
use super::state::{Candidate, Event, Feedback, Interview, SchedulingRequest, State, User};

/// The readable resources at one moment.
struct Resources {
    candidates: BTreeMap<String, Candidate>,
    users: BTreeMap<String, User>,
    requests: BTreeMap<String, SchedulingRequest>,
    interviews: BTreeMap<String, Interview>,
    feedback: BTreeMap<String, Feedback>,
    events: Vec<Event>,
}

impl Resources {
    fn copy(state: &State) -> Self {
        Self {
            candidates: state.candidates.clone(),
            users: state.users.clone(),
            requests: state.requests.clone(),
            interviews: state.interviews.clone(),
            feedback: state.feedback.clone(),
            events: state.events.clone(),
        }
    }

    /// Exchanges these resources with the live ones.
    fn swap(&mut self, state: &mut State) {
        std::mem::swap(&mut self.candidates, &mut state.candidates);
        std::mem::swap(&mut self.users, &mut state.users);
        std::mem::swap(&mut self.requests, &mut state.requests);
        std::mem::swap(&mut self.interviews, &mut state.interviews);
        std::mem::swap(&mut self.feedback, &mut state.feedback);
        std::mem::swap(&mut self.events, &mut state.events);
    }
}

/// Pre-write copies of the resources, oldest first, one per virtual instant that saw a write.
#[derive(Default)]
pub(crate) struct StaleReads {
    window_secs: i64,
    snapshots: VecDeque<(DateTime<Utc>, Resources)>,
}

impl StaleReads {
    pub(crate) fn new(window_secs: i64) -> Self {
        Self { window_secs: window_secs.max(0), snapshots: VecDeque::new() }
    }

    /// Forgets copies whose window has closed by `now`.
    fn expire(&mut self, now: DateTime<Utc>) {
        let window = Duration::seconds(self.window_secs);
        while self.snapshots.front().is_some_and(|(at, _)| *at + window <= now) {
            self.snapshots.pop_front();
        }
    }

    /// Whether a write at `now` needs a copy: the fault is on and no earlier write at this
    /// same instant already kept one (that copy is the older state).
    fn wants_copy(&self, now: DateTime<Utc>) -> bool {
        self.window_secs > 0 && self.snapshots.back().is_none_or(|(at, _)| *at != now)
    }
}

/// Runs a write; when it succeeds under the fault, keeps the resources it changed.
pub(crate) fn write<T, E>(
    state: &mut State,
    run: impl FnOnce(&mut State) -> Result<T, E>,
) -> Result<T, E> {
    let now = state.now;
    let before = state.stale.wants_copy(now).then(|| Resources::copy(state));
    let result = run(state);
    if let (Some(before), Ok(_)) = (before, &result) {
        state.stale.expire(now);
        if state.stale.wants_copy(now) {
            state.stale.snapshots.push_back((now, before));
        }
    }
    result
}

/// [`dispatch`] under the stale-read fault. Returns whether the answer came from an old copy.
pub(crate) fn dispatch_lagging(state: &mut State, request: &ApiRequest) -> (ApiResult, bool) {
    if request.method != Method::GET {
        return (write(state, |state| dispatch(state, request)), false);
    }
    let now = state.now;
    state.stale.expire(now);
    let Some((at, mut old)) = state.stale.snapshots.pop_front() else {
        return (dispatch(state, request), false);
    };
    // Swap the old resources in for the read, then back.
    old.swap(state);
    let result = dispatch(state, request);
    old.swap(state);
    state.stale.snapshots.push_front((at, old));
    (result, true)
}
