//! The reference model: what a correct integration looks like after each transition, small
//! enough to trust by reading. Per candidate it keeps the Greenhouse side (stage, status,
//! merged), what has reached the engine (a change whose webhook was dropped has not), the
//! scheduling requests a correct engine opened in the IOP and what became of them, the
//! interviews booked, and the feedback, decline and no-show counts.
//!
//! Time is an interval: each step may let up to one quiet window pass while the system
//! settles, so the model knows the clock only to within `[now_min, now_max]`. A transition is
//! allowed only if every interview's state stays certain (no booked interview ends inside the
//! interval), which keeps the model exact without knowing how long retries took.

use std::sync::Arc;

use super::world::{CANDIDATES, INTERVIEW_MINUTES, Opening, World};
use crate::scenario::harness::QUIET_WINDOW_MINUTES;

/// IOP feedback recommendations (the IOP's vocabulary).
pub const RECOMMENDATIONS: &[&str] = &["definitely_not", "no", "yes", "strong_yes", "no_decision"];
/// Longest single `advance`, in hours.
pub const MAX_ADVANCE_HOURS: u32 = 96;
/// Virtual hours every case ends with at least, so retries and redeliveries settle.
pub const CLOSING_HOURS: u32 = 24;
/// Virtual minutes before a sweep. A sweep that finds the Greenhouse rate-limit window spent
/// pauses until it resets and goes on; a minute's pause starts it on a fresh 30 s window, as a
/// periodic sweep usually would, so generated cases read simply.
pub const SWEEP_PAUSE_MINUTES: i64 = 1;
/// Longest burst of injected API errors, in requests: short enough that the default retry
/// budget (8 attempts) rides it out, long enough to need retries.
pub const MAX_BURST: u8 = 3;
/// Longest stale-read lag, in seconds (the mocks accept up to an hour).
pub const MAX_STALE_SECS: u8 = 60;

/// One thing that happens in a generated scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// A recruiter moves the application to another stage (any direction, skips allowed).
    Move {
        candidate: usize,
        stage: usize,
    },
    Reject {
        candidate: usize,
    },
    Unreject {
        candidate: usize,
    },
    Hire {
        candidate: usize,
    },
    /// The candidate's email changes in Greenhouse.
    Edit {
        candidate: usize,
    },
    /// The profile is merged into another one (Greenhouse's `merge_candidate` webhook).
    Merge {
        candidate: usize,
    },
    /// A coordinator books the open request's interview `hour` hours after the start.
    Schedule {
        candidate: usize,
        hour: u32,
    },
    Reschedule {
        candidate: usize,
        hour: u32,
    },
    CancelInterview {
        candidate: usize,
    },
    Decline {
        candidate: usize,
    },
    NoShow {
        candidate: usize,
    },
    /// The interviewer submits feedback on the candidate's newest interview: before it ends,
    /// just after, or days later (after moves, rejections or a hire).
    Feedback {
        candidate: usize,
        recommendation: usize,
    },
    Advance {
        hours: u32,
    },
    GreenhouseFaults(GreenhouseFaults),
    IopFaults(IopFaults),
    ClearFaults,
    /// `engine: reconcile`, the sweep that repairs dropped webhooks, after a minute's pause
    /// (see [`SWEEP_PAUSE_MINUTES`]).
    Reconcile,
    RestartEngine,
}

/// The Greenhouse fault set (a `faults` step replaces the whole set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GreenhouseFaults {
    pub duplicate: bool,
    /// Every webhook is lost (Greenhouse does not retry what it never sent).
    pub drop: bool,
    pub stale_read_secs: u8,
    pub burst: Option<Burst>,
}

/// The IOP fault set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IopFaults {
    pub duplicate_and_reorder: bool,
    pub stale_read_secs: u8,
    pub burst: Option<Burst>,
}

/// The next `times` API requests fail this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    pub kind: BurstKind,
    pub times: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BurstKind {
    TooManyRequests,
    Unavailable,
    Timeout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppStatus {
    Active,
    Rejected,
    Hired,
}

impl AppStatus {
    /// As Harvest v3 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AppStatus::Active => "in_process",
            AppStatus::Rejected => "rejected",
            AppStatus::Hired => "hired",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    Pending,
    AvailabilityRequested,
    Scheduled,
    Completed,
    Cancelled,
    Declined,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::AvailabilityRequested => "availability_requested",
            RequestStatus::Scheduled => "scheduled",
            RequestStatus::Completed => "completed",
            RequestStatus::Cancelled => "cancelled",
            RequestStatus::Declined => "candidate_declined",
        }
    }

    pub fn is_open(self) -> bool {
        matches!(
            self,
            RequestStatus::Pending
                | RequestStatus::AvailabilityRequested
                | RequestStatus::Scheduled
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterviewStatus {
    Scheduled,
    AwaitingFeedback,
    Complete,
    NoShow,
    Cancelled,
}

impl InterviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InterviewStatus::Scheduled => "scheduled",
            InterviewStatus::AwaitingFeedback => "awaiting_feedback",
            InterviewStatus::Complete => "complete",
            InterviewStatus::NoShow => "no_show",
            InterviewStatus::Cancelled => "cancelled",
        }
    }

    /// Still movable, cancellable and markable (the IOP's `scheduled|awaiting_feedback`).
    pub fn is_live(self) -> bool {
        matches!(self, InterviewStatus::Scheduled | InterviewStatus::AwaitingFeedback)
    }

    fn is_settled(self) -> bool {
        !self.is_live()
    }

    fn is_held(self) -> bool {
        matches!(self, InterviewStatus::Complete | InterviewStatus::NoShow)
    }
}

/// A scheduling request a correct engine opened, for one stay of the application in a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub stage: usize,
    pub stay: u32,
    pub episode: u32,
    pub status: RequestStatus,
}

/// A booked interview; its IOP id is `int_` and its 1-based position in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interview {
    pub candidate: usize,
    /// Index into the candidate's `requests`.
    pub request: usize,
    /// Hours after the scenario's start.
    pub start_hour: u32,
    pub status: InterviewStatus,
    pub feedback: bool,
}

impl Interview {
    pub fn end_minute(&self) -> i64 {
        i64::from(self.start_hour) * 60 + INTERVIEW_MINUTES
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub stage: usize,
    pub status: AppStatus,
    pub merged: bool,
    /// Counts entries into a stage, as Greenhouse's application stages record them: a request
    /// belongs to one stay, and a new stay in the same stage wants a new request.
    pub stay: u32,
    /// Counts stays and unrejections: a decline or a completed interview ends scheduling for
    /// the episode it happened in, not for the next one.
    pub episode: u32,
    /// A Greenhouse change whose webhook was dropped has not reached the engine yet.
    pub unsynced: bool,
    /// When the latest such change happened (at the earliest), in minutes.
    pub unsynced_at: i64,
    pub requests: Vec<Request>,
    pub feedback: usize,
    pub declines: usize,
    pub no_shows: usize,
}

/// The reference state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub world: Arc<World>,
    /// Minutes since the scenario's start: the clock is at least `now_min`, at most `now_max`.
    pub now_min: i64,
    pub now_max: i64,
    pub candidates: Vec<Candidate>,
    /// Every interview booked, in booking order.
    pub interviews: Vec<Interview>,
    pub greenhouse_faults: GreenhouseFaults,
    pub iop_faults: IopFaults,
    pub merged_any: bool,
    /// A reconciliation sweep has run: later sweeps look back to it, not a fixed span.
    pub swept: bool,
}

impl State {
    pub fn new(world: Arc<World>) -> State {
        let candidate = Candidate {
            stage: 0,
            status: AppStatus::Active,
            merged: false,
            stay: 0,
            episode: 0,
            unsynced: false,
            unsynced_at: 0,
            requests: Vec::new(),
            feedback: 0,
            declines: 0,
            no_shows: 0,
        };
        State {
            world,
            now_min: 0,
            now_max: 0,
            candidates: vec![candidate; CANDIDATES.len()],
            interviews: Vec::new(),
            greenhouse_faults: GreenhouseFaults::default(),
            iop_faults: IopFaults::default(),
            merged_any: false,
            swept: false,
        }
    }

    /// The candidate's open request, if any (a correct engine keeps at most one).
    pub fn open_request(&self, candidate: usize) -> Option<usize> {
        self.candidates[candidate].requests.iter().rposition(|r| r.status.is_open())
    }

    /// The interview an `iop:` step acts on for `candidate`: the newest not cancelled, else
    /// the newest (as the scenario runner chooses).
    pub fn target(&self, candidate: usize) -> Option<usize> {
        let mine = || self.interviews.iter().enumerate().filter(|(_, i)| i.candidate == candidate);
        mine()
            .filter(|(_, i)| i.status != InterviewStatus::Cancelled)
            .map(|(n, _)| n)
            .next_back()
            .or_else(|| mine().map(|(n, _)| n).next_back())
    }

    /// The IOP side of the candidate is known: nothing dropped is waiting for a sweep.
    fn iop_ready(&self, candidate: usize) -> bool {
        let c = &self.candidates[candidate];
        !c.merged && !c.unsynced
    }

    /// The target interview, when it is live and belongs to the open request.
    fn live_target(&self, candidate: usize) -> Option<usize> {
        let open = self.open_request(candidate)?;
        self.target(candidate).filter(|&n| {
            let interview = &self.interviews[n];
            interview.status.is_live() && interview.request == open
        })
    }

    fn has_live_interview(&self, candidate: usize, request: usize) -> bool {
        self.interviews
            .iter()
            .any(|i| i.candidate == candidate && i.request == request && i.status.is_live())
    }

    /// An interview booked at `hour` starts after any moment the clock can be at now.
    fn starts_later(&self, hour: u32) -> bool {
        i64::from(hour) * 60 > self.now_max
    }

    /// Whether `transition` is something a person (or the harness) can do now: the IOP would
    /// accept it, and the model can tell what follows.
    pub fn allows(&self, transition: &Transition) -> bool {
        use Transition as T;
        let known = |c: usize| c < self.candidates.len();
        let present = |c: usize| known(c) && !self.candidates[c].merged;
        let status = |c: usize| self.candidates[c].status;
        let ready = |c: usize| known(c) && self.iop_ready(c);
        match *transition {
            T::Move { candidate, stage } => {
                present(candidate)
                    && status(candidate) == AppStatus::Active
                    && stage < self.world.stages.len()
                    && stage != self.candidates[candidate].stage
            }
            T::Reject { candidate } | T::Hire { candidate } => {
                present(candidate) && status(candidate) == AppStatus::Active
            }
            T::Unreject { candidate } => {
                present(candidate) && status(candidate) == AppStatus::Rejected
            }
            T::Edit { candidate } => present(candidate),
            // The mock cannot merge, so its application stays active in its stage: a sweep
            // after a merge would be converging on a world that does not exist.
            T::Merge { candidate } => {
                present(candidate)
                    && !self.greenhouse_faults.drop
                    && self.candidates.iter().all(|c| !c.unsynced)
            }
            T::Schedule { candidate, hour } => {
                ready(candidate)
                    && self.starts_later(hour)
                    && self
                        .open_request(candidate)
                        .is_some_and(|r| !self.has_live_interview(candidate, r))
            }
            T::Reschedule { candidate, hour } => {
                ready(candidate) && self.starts_later(hour) && self.live_target(candidate).is_some()
            }
            T::CancelInterview { candidate } | T::NoShow { candidate } => {
                ready(candidate) && self.live_target(candidate).is_some()
            }
            T::Decline { candidate } => ready(candidate) && self.open_request(candidate).is_some(),
            T::Feedback { candidate, recommendation } => {
                known(candidate)
                    && recommendation < RECOMMENDATIONS.len()
                    && self.target(candidate).is_some_and(|n| !self.interviews[n].feedback)
            }
            T::Advance { hours } => (1..=MAX_ADVANCE_HOURS).contains(&hours),
            T::GreenhouseFaults(faults) => {
                !(faults.drop && self.merged_any)
                    && faults.stale_read_secs <= MAX_STALE_SECS
                    && faults.burst.is_none_or(valid_burst)
            }
            T::IopFaults(faults) => {
                faults.stale_read_secs <= MAX_STALE_SECS && faults.burst.is_none_or(valid_burst)
            }
            // A sweep that meets an injected error fails its step, and one that reads a lagging
            // list converges on the past: sweep on a quiet, fresh Greenhouse.
            T::Reconcile => {
                self.greenhouse_faults.burst.is_none()
                    && self.iop_faults.burst.is_none()
                    && self.greenhouse_faults.stale_read_secs == 0
                    && !self.merged_any
                    && (0..self.candidates.len()).all(|c| self.sweep_finds(c))
            }
            T::ClearFaults | T::RestartEngine => true,
        }
    }

    /// A sweep now lists the candidate's application if it has a change the engine missed:
    /// the first sweep looks back `initial_lookback` from when it starts, later ones to the
    /// previous sweep (changes after it are always found). A minute of margin covers the
    /// seconds the model does not count.
    fn sweep_finds(&self, candidate: usize) -> bool {
        let c = &self.candidates[candidate];
        !c.unsynced
            || self.swept
            || self.now_max - c.unsynced_at + 1 < self.world.initial_lookback_minutes
    }

    /// No booked interview ends inside the clock's uncertainty, so every state is certain.
    pub fn is_certain(&self) -> bool {
        self.interviews
            .iter()
            .all(|i| i.status != InterviewStatus::Scheduled || i.end_minute() > self.now_max)
    }

    /// The steps every case ends with: faults off (when any are on), a sweep when a dropped
    /// change is still unrepaired, then at least [`CLOSING_HOURS`]; a step that could straddle
    /// a booked interview's end is preceded by enough time to pass it.
    pub fn closing(&self) -> Vec<Transition> {
        let mut wanted = Vec::new();
        if self.greenhouse_faults != GreenhouseFaults::default()
            || self.iop_faults != IopFaults::default()
        {
            wanted.push(Transition::ClearFaults);
        }
        if self.candidates.iter().any(|c| c.unsynced) {
            wanted.push(Transition::Reconcile);
        }

        let mut out = Vec::new();
        let mut state = self.clone();
        for transition in wanted {
            if !state.clone().after(&transition).is_certain() {
                let wait = (1..)
                    .map(|hours| Transition::Advance { hours })
                    .find(|wait| {
                        let waited = state.clone().after(wait);
                        waited.is_certain() && waited.after(&transition).is_certain()
                    })
                    .unwrap_or(Transition::Advance { hours: CLOSING_HOURS });
                state = state.after(&wait);
                out.push(wait);
            }
            state = state.after(&transition);
            out.push(transition);
        }
        let last = (CLOSING_HOURS..)
            .map(|hours| Transition::Advance { hours })
            .find(|wait| state.clone().after(wait).is_certain())
            .unwrap_or(Transition::Advance { hours: CLOSING_HOURS });
        out.push(last);
        out
    }

    /// Whether the closing can run from here: its sweep (if it needs one) still finds every
    /// change whose webhook was dropped.
    pub fn is_closable(&self) -> bool {
        let mut state = self.clone();
        for transition in self.closing() {
            if transition == Transition::Reconcile && !state.allows(&transition) {
                return false;
            }
            state = state.after(&transition);
        }
        true
    }

    /// The state after `transition` (which [`Self::allows`] has accepted).
    pub fn after(mut self, transition: &Transition) -> State {
        use Transition as T;
        match *transition {
            T::Move { candidate, stage } => {
                let c = &mut self.candidates[candidate];
                c.stage = stage;
                c.stay += 1;
                c.episode += 1;
                self.deliver_greenhouse(candidate);
            }
            T::Reject { candidate } => {
                self.candidates[candidate].status = AppStatus::Rejected;
                self.deliver_greenhouse(candidate);
            }
            T::Unreject { candidate } => {
                let c = &mut self.candidates[candidate];
                c.status = AppStatus::Active;
                c.episode += 1;
                self.deliver_greenhouse(candidate);
            }
            T::Hire { candidate } => {
                self.candidates[candidate].status = AppStatus::Hired;
                self.deliver_greenhouse(candidate);
            }
            T::Edit { .. } | T::RestartEngine => {}
            T::Merge { candidate } => {
                self.candidates[candidate].merged = true;
                self.merged_any = true;
                self.sync(candidate);
            }
            T::Schedule { candidate, hour } => self.book(candidate, hour),
            T::Reschedule { candidate, hour } => {
                if let Some(n) = self.target(candidate) {
                    // A new time after now: the IOP puts the interview back to `scheduled`.
                    self.interviews[n].start_hour = hour;
                    self.interviews[n].status = InterviewStatus::Scheduled;
                }
            }
            T::CancelInterview { candidate } => {
                if let Some(n) = self.target(candidate) {
                    self.interviews[n].status = InterviewStatus::Cancelled;
                }
            }
            T::Decline { candidate } => self.decline(candidate),
            T::NoShow { candidate } => self.no_show(candidate),
            T::Feedback { candidate, .. } => {
                if let Some(n) = self.target(candidate) {
                    self.interviews[n].feedback = true;
                    self.candidates[candidate].feedback += 1;
                    if self.interviews[n].status == InterviewStatus::AwaitingFeedback {
                        self.complete(n);
                    }
                }
            }
            T::Advance { .. } => {}
            T::GreenhouseFaults(faults) => self.greenhouse_faults = faults,
            T::IopFaults(faults) => self.iop_faults = faults,
            T::ClearFaults => {
                self.greenhouse_faults = GreenhouseFaults::default();
                self.iop_faults = IopFaults::default();
            }
            T::Reconcile => {
                self.swept = true;
                for candidate in 0..self.candidates.len() {
                    self.sync(candidate);
                }
            }
        }

        // The steps' own time, then at most one quiet window per step while all settles.
        let (minutes, steps) = match *transition {
            T::Advance { hours } => (i64::from(hours) * 60, 1),
            T::Reconcile => (SWEEP_PAUSE_MINUTES, 2),
            _ => (0, 1),
        };
        self.now_min += minutes;
        self.now_max += minutes + steps * QUIET_WINDOW_MINUTES;
        self.settle_time();
        self
    }

    /// Interviews that have certainly ended await feedback, or complete if it came early.
    fn settle_time(&mut self) {
        for n in 0..self.interviews.len() {
            let interview = &mut self.interviews[n];
            if interview.status == InterviewStatus::Scheduled
                && interview.end_minute() <= self.now_min
            {
                interview.status = InterviewStatus::AwaitingFeedback;
                if interview.feedback {
                    self.complete(n);
                }
            }
        }
    }

    fn deliver_greenhouse(&mut self, candidate: usize) {
        if self.greenhouse_faults.drop {
            let c = &mut self.candidates[candidate];
            c.unsynced = true;
            c.unsynced_at = self.now_min;
        } else {
            self.sync(candidate);
        }
    }

    /// What a correct engine does on learning the application's current state, whatever it
    /// missed on the way: cancel a request that is not for the stay the application stands in
    /// (another stage, an earlier stay, or the application is no longer active), and open one
    /// for a trigger stage unless this stay has one, or this episode had one the candidate
    /// declined or completed.
    fn sync(&mut self, candidate: usize) {
        let c = &self.candidates[candidate];
        let desired = match (c.status, c.merged) {
            (AppStatus::Active, false) => self.world.stages[c.stage].trigger.map(|o| (c.stage, o)),
            _ => None,
        };
        if let Some(open) = self.open_request(candidate) {
            let request = &c.requests[open];
            let current =
                desired.is_some_and(|(stage, _)| stage == request.stage) && request.stay == c.stay;
            if !current {
                self.cancel_request(candidate, open);
            }
        }

        let c = &mut self.candidates[candidate];
        c.unsynced = false;
        let Some((stage, opening)) = desired else { return };
        let open_here = c.requests.iter().any(|r| r.status.is_open());
        let ended_this_episode = c.requests.last().is_some_and(|r| {
            r.stage == stage
                && r.episode == c.episode
                && matches!(r.status, RequestStatus::Declined | RequestStatus::Completed)
        });
        if !open_here && !ended_this_episode {
            let status = match opening {
                Opening::Pending => RequestStatus::Pending,
                Opening::LinkSent => RequestStatus::AvailabilityRequested,
            };
            c.requests.push(Request { stage, stay: c.stay, episode: c.episode, status });
        }
    }

    /// The IOP cancels the request and, with it, its interviews that have not happened yet.
    fn cancel_request(&mut self, candidate: usize, request: usize) {
        self.candidates[candidate].requests[request].status = RequestStatus::Cancelled;
        for interview in self.interviews.iter_mut() {
            if interview.candidate == candidate
                && interview.request == request
                && interview.status == InterviewStatus::Scheduled
            {
                interview.status = InterviewStatus::Cancelled;
            }
        }
    }

    fn book(&mut self, candidate: usize, hour: u32) {
        let Some(request) = self.open_request(candidate) else { return };
        self.candidates[candidate].requests[request].status = RequestStatus::Scheduled;
        self.interviews.push(Interview {
            candidate,
            request,
            start_hour: hour,
            status: InterviewStatus::Scheduled,
            feedback: false,
        });
    }

    fn decline(&mut self, candidate: usize) {
        let Some(request) = self.open_request(candidate) else { return };
        self.cancel_request(candidate, request);
        let c = &mut self.candidates[candidate];
        c.requests[request].status = RequestStatus::Declined;
        c.declines += 1;
        if self.world.decline_rejects && c.status == AppStatus::Active {
            c.status = AppStatus::Rejected;
        }
    }

    fn no_show(&mut self, candidate: usize) {
        let Some(n) = self.target(candidate) else { return };
        self.interviews[n].status = InterviewStatus::NoShow;
        self.settle_request(candidate, self.interviews[n].request);
        let c = &mut self.candidates[candidate];
        c.no_shows += 1;
        if self.world.no_show_rejects && c.status == AppStatus::Active {
            c.status = AppStatus::Rejected;
        }
    }

    fn complete(&mut self, interview: usize) {
        self.interviews[interview].status = InterviewStatus::Complete;
        let (candidate, request) =
            (self.interviews[interview].candidate, self.interviews[interview].request);
        self.settle_request(candidate, request);
    }

    /// A booked request whose interviews are all settled, one at least held, is completed.
    fn settle_request(&mut self, candidate: usize, request: usize) {
        let mine: Vec<InterviewStatus> = self
            .interviews
            .iter()
            .filter(|i| i.candidate == candidate && i.request == request)
            .map(|i| i.status)
            .collect();
        let r = &mut self.candidates[candidate].requests[request];
        if r.status == RequestStatus::Scheduled
            && mine.iter().all(|s| s.is_settled())
            && mine.iter().any(|s| s.is_held())
        {
            r.status = RequestStatus::Completed;
        }
    }

    /// Rules the model keeps by construction; its own tests check them after every transition.
    pub fn check_consistency(&self) -> Result<(), String> {
        if !self.is_certain() {
            return Err(format!("an interview ends inside [{}, {}]", self.now_min, self.now_max));
        }
        for (n, c) in self.candidates.iter().enumerate() {
            let open: Vec<&Request> = c.requests.iter().filter(|r| r.status.is_open()).collect();
            if open.len() > 1 {
                return Err(format!("candidate {n} has {} open requests", open.len()));
            }
            if let Some(request) = open.first()
                && !c.unsynced
            {
                let wanted = c.status == AppStatus::Active
                    && !c.merged
                    && request.stage == c.stage
                    && request.stay == c.stay
                    && self.world.stages[c.stage].trigger.is_some();
                if !wanted {
                    return Err(format!("candidate {n} has a request open for nothing: {c:?}"));
                }
            }
            for (r, _) in c.requests.iter().enumerate().filter(|(_, r)| r.status.is_open()) {
                let live = self
                    .interviews
                    .iter()
                    .filter(|i| i.candidate == n && i.request == r && i.status.is_live())
                    .count();
                if live > 1 {
                    return Err(format!("candidate {n}'s open request has {live} live interviews"));
                }
            }
            let given = self.interviews.iter().filter(|i| i.candidate == n && i.feedback).count();
            if given != c.feedback {
                return Err(format!(
                    "candidate {n}: {} feedback counted, {given} given",
                    c.feedback
                ));
            }
        }
        Ok(())
    }
}

fn valid_burst(burst: Burst) -> bool {
    (1..=MAX_BURST).contains(&burst.times)
}
