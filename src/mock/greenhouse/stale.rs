//! The `stale_read_secs` fault: Harvest reads that lag behind writes, as an eventually
//! consistent read replica would. Each write that lands while the fault is on keeps a copy of
//! the world from just before it; a read answers from the copy kept by the earliest write of
//! the last `stale_read_secs` (virtual time), so it sees the world as it stood that long ago.
//!
//! TODO(perf): every write under the fault copies the whole world (once per virtual instant);
//! fine for scenarios, too heavy for a long `serve` soak with the fault on.
//! TODO(fidelity): every read lags by exactly the same window; a real replica lags by a varying
//! amount, and some reads (by id) may be consistent where lists are not.

use std::collections::VecDeque;

use chrono::Duration;

use super::reply::Reply;
use super::server::Inner;
use super::state::{Instant, State as World};

/// Pre-write copies of the world, oldest first, one per virtual instant that saw a write.
#[derive(Default)]
pub(crate) struct StaleReads {
    window_secs: i64,
    snapshots: VecDeque<(Instant, World)>,
}

impl StaleReads {
    pub(crate) fn new(window_secs: i64) -> Self {
        Self { window_secs: window_secs.max(0), snapshots: VecDeque::new() }
    }

    /// Forgets copies whose window has closed by `now`.
    fn expire(&mut self, now: Instant) {
        let window = Duration::seconds(self.window_secs);
        while self.snapshots.front().is_some_and(|(at, _)| *at + window <= now) {
            self.snapshots.pop_front();
        }
    }

    /// Whether a write at `now` needs a copy of the world: the fault is on and no earlier
    /// write at this same instant already kept one (that copy is the older state).
    pub(crate) fn wants_copy(&self, now: Instant) -> bool {
        self.window_secs > 0 && self.snapshots.back().is_none_or(|(at, _)| *at != now)
    }

    /// Keeps `before`, the world as it was before a write that landed at `now`.
    pub(crate) fn keep(&mut self, now: Instant, before: World) {
        self.expire(now);
        if self.wants_copy(now) {
            self.snapshots.push_back((now, before));
        }
    }
}

/// Runs a v3 handler under the stale-read fault: a write keeps the world it changes, a read
/// within a window answers from the kept world and says so in the journal (`fault:stale_read`).
pub(crate) fn around(
    inner: &mut Inner,
    is_read: bool,
    now: Instant,
    handle: impl FnOnce(&mut Inner) -> Reply,
) -> Reply {
    if is_read {
        inner.stale.expire(now);
        let Some((_, old)) = inner.stale.snapshots.front_mut() else {
            return handle(inner);
        };
        // Swap the old world in for the read, then back; a read changes nothing.
        std::mem::swap(&mut *inner.state, old);
        let reply = handle(inner);
        if let Some((_, old)) = inner.stale.snapshots.front_mut() {
            std::mem::swap(&mut *inner.state, old);
        }
        return reply.note("fault:stale_read");
    }
    let before = inner.stale.wants_copy(now).then(|| inner.state.clone());
    let reply = handle(inner);
    if let Some(before) = before
        && reply.status.is_success()
    {
        inner.stale.keep(now, before);
    }
    reply
}
