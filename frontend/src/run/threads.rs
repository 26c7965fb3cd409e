//! The threads of the run's processes, as the sampler saw them (`thread_segment`, every
//! thread) and a CPython run's tracer named them (`thread_started`, `thread_ended`): one row
//! per thread with its own state strip, kept sorted by (process, thread ID) so a process's
//! threads are one contiguous slice (found by binary search, not by walking the run).
//!
//! A thread counts as one that *ran* (it gets a sub-lane once its process has two of them)
//! from its first sampled time on a core or its `thread_started`, whichever comes first:
//! a runtime worker's idle helper never shows, a named Python thread does at once.

use super::moment::{Moment, cut_all};
use shared::ProcId;

/// One sampled interval of one thread: the part of it on a core, then waiting for one; the
/// rest it slept (or was blocked, e.g. on the GIL).
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadSlice {
    /// Start of the interval, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Share of the interval on a core (0 to 1).
    pub running: f64,
    /// Share of the interval runnable but waiting for a core (0 to 1).
    pub waiting: f64,
    /// The core it last ran on in the interval, if it ran.
    pub core: Option<u32>,
}

/// One thread of a process.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadRow {
    /// The process.
    pub proc: ProcId,
    /// Its thread ID (the PID for the main thread).
    pub tid: u32,
    /// Its name as the program gave it (`Thread-1 (burn_cpu)`) and when it was told, if it
    /// was (only real Python runs name their threads).
    pub named: Option<(f64, String)>,
    /// Since when it counts as a thread that ran (first time on a core, or its start
    /// reported by the program); `None` while it has only slept.
    pub ran: Option<f64>,
    /// When it was first seen (its first interval's start, or its reported start).
    pub seen: f64,
    /// When it ended, if the program reported it.
    pub ended: Option<f64>,
    /// Its sampled intervals, in time order.
    pub slices: Vec<ThreadSlice>,
}

/// What a thread was doing at one moment (the hover panel of its sub-lane).
#[derive(Clone, Debug, PartialEq)]
pub enum ThreadState {
    /// Sampled over an interval: shares of it on a core and waiting for one.
    Sampled(ThreadSlice),
    /// Not sampled at that moment (before its first interval or after its last).
    Unknown,
}

impl ThreadRow {
    /// A row for thread `tid` of `proc`, first seen at `seen`.
    pub(super) fn new(proc: ProcId, tid: u32, seen: f64) -> ThreadRow {
        ThreadRow {
            proc,
            tid,
            named: None,
            ran: None,
            seen,
            ended: None,
            slices: Vec::new(),
        }
    }

    /// Its name for people: as the program named it, else `MainThread` for the main
    /// thread (its ID is the PID `pid`), else `thread <tid>`.
    pub fn name(&self, pid: u32) -> String {
        match &self.named {
            Some((_, name)) => name.clone(),
            None if self.tid == pid => "MainThread".into(),
            None => format!("thread {}", self.tid),
        }
    }

    /// What it was doing at `t`: the sampled interval holding `t` (binary search).
    pub fn state_at(&self, t: f64) -> ThreadState {
        let i = self.slices.partition_point(|s| s.end < t);
        match self.slices.get(i) {
            Some(s) if s.start <= t => ThreadState::Sampled(s.clone()),
            _ => ThreadState::Unknown,
        }
    }

    /// Seconds it was on a core (sampled), in all.
    pub fn on_cpu(&self) -> f64 {
        self.slices
            .iter()
            .map(|s| s.running * (s.end - s.start))
            .sum()
    }
}

/// A process's threads that ran, in the order their sub-lanes are drawn: the main thread
/// (its ID is the PID `pid`) first, then by thread ID.
pub fn ran_in_order(threads: &[ThreadRow], pid: u32) -> Vec<&ThreadRow> {
    let mut ran: Vec<&ThreadRow> = threads.iter().filter(|r| r.ran.is_some()).collect();
    ran.sort_by_key(|r| (r.tid != pid, r.tid));
    ran
}

/// The slice of `rows` (sorted by process, then thread ID) holding `proc`'s threads.
pub(super) fn of_proc(rows: &[ThreadRow], proc: ProcId) -> &[ThreadRow] {
    let from = rows.partition_point(|r| r.proc < proc);
    let to = from + rows[from..].partition_point(|r| r.proc == proc);
    &rows[from..to]
}

/// Where thread (`proc`, `tid`) is in `rows`, or where it would go.
pub(super) fn position(rows: &[ThreadRow], proc: ProcId, tid: u32) -> Result<usize, usize> {
    rows.binary_search_by(|r| (r.proc, r.tid).cmp(&(proc, tid)))
}

impl Moment for ThreadSlice {
    fn at(&self, t: f64) -> Option<Self> {
        (self.start <= t).then(|| ThreadSlice {
            end: self.end.min(t),
            ..self.clone()
        })
    }
}

impl Moment for ThreadRow {
    fn at(&self, t: f64) -> Option<Self> {
        if self.seen > t {
            return None;
        }
        Some(ThreadRow {
            proc: self.proc,
            tid: self.tid,
            named: self.named.clone().filter(|(at, _)| *at <= t),
            ran: self.ran.filter(|at| *at <= t),
            seen: self.seen,
            ended: self.ended.filter(|at| *at <= t),
            slices: cut_all(&self.slices, t),
        })
    }
}
