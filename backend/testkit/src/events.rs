//! Reading a run's events: times, spawned PIDs, exits, the sampler's thread segments; and
//! the start of a plain pool run.

use shared::{ClientMessage, DemoRequest, Event, EventKind, ExitStatus, KillReason, PoolParams};

/// `start_run` of `Pool(4).imap` over `tasks` tasks of `task_ms` ms of sleep, none failing.
pub fn pool_request(tasks: u64, task_ms: u64) -> ClientMessage {
    ClientMessage::start(DemoRequest::Pool(PoolParams {
        tasks,
        task_ms,
        fail: vec![],
        ..PoolParams::default()
    }))
}

/// Every `ProcessExited`: how the process ended, and what procviz killed it for (if it did).
pub fn exits(events: &[Event]) -> Vec<(ExitStatus, Option<KillReason>)> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ProcessExited {
                status, killed_by, ..
            } => Some((status, killed_by)),
            _ => None,
        })
        .collect()
}

/// PIDs of `ProcessSpawned` events.
pub fn spawned_pids(events: &[Event]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ProcessSpawned { pid, .. } => Some(pid),
            _ => None,
        })
        .collect()
}

/// Seconds of an event's time.
pub fn secs(e: &Event) -> f64 {
    e.t.as_secs_f64()
}

/// A run's length: the time of its last event (`run_finished`), seconds.
pub fn run_secs(events: &[Event]) -> f64 {
    events.last().map_or(0.0, secs)
}

/// A `thread_segment` event, flattened (times in seconds).
#[derive(Debug, Clone, Copy)]
pub struct Seg {
    pub proc: u32,
    pub tid: u32,
    pub core: Option<u32>,
    pub start: f64,
    pub end: f64,
    pub on: u64,
    pub waiting: u64,
    pub slices: u32,
}

/// The `thread_segment` events of a run.
pub fn segments(events: &[Event]) -> Vec<Seg> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ThreadSegment {
                proc,
                tid,
                core,
                start,
                on_cpu_ns,
                waiting_ns,
                slices,
            } => Some(Seg {
                proc: proc.0,
                tid,
                core,
                start: start.as_secs_f64(),
                end: secs(e),
                on: on_cpu_ns,
                waiting: waiting_ns,
                slices,
            }),
            _ => None,
        })
        .collect()
}
