//! The pool's state machine: worker messages in, actions and events out. No I/O, no clock
//! reads, no tasks: the caller passes the time of each step, carries out the [`Action`]s (spawn
//! a worker, write task records to one) and records the events. So every rule of the pool is
//! unit-tested without a process (see `tests.rs`).
//!
//! ```text
//!   Pool::new ──▶ PoolStarted, Spawn × n
//!   worker_spawned(proc)            ◀── the driver spawned the oldest requested worker
//!   on_message(Ready | Reports | Exited) ──▶ task events, results, Spawn (a replacement)
//!   advance(now)                    ──▶ TasksQueued once all are up; Send (chunks to idle
//!                                       workers); PoolClosed + Send(Stop) × n when done
//!   is_done()                           closed and every worker gone
//! ```

use crate::child::WorkerMsg;
use crate::clock::RunClock;
use crate::ipc::{Outcome, Report, TaskRecord};
use crate::pool::results::Results;
use crate::workload::Step;
use shared::{
    EventKind, ExitStatus, KillReason, PoolApi, ProcId, RunTime, TaskError, TaskResult, signal_name,
};
use std::collections::{HashMap, VecDeque};

/// A task shorter than this counts as fast.
pub const FAST_TASK_NS: u64 = 1_000_000;
/// Consecutive fast tasks before a worker is sent more than one chunk at a time.
pub const FAST_STREAK: u32 = 8;
/// The most chunks a worker is sent at a time.
pub const MAX_WINDOW: u32 = 256;

/// A pool to run.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// Worker processes.
    pub workers: u32,
    /// Tasks `0..tasks`.
    pub tasks: u64,
    /// The caller's API.
    pub api: PoolApi,
    /// Tasks per chunk (≥ 1).
    pub chunksize: u32,
    /// `maxtasksperchild`.
    pub maxtasks: Option<u32>,
    /// Cores the workers may use.
    pub affinity: Option<Vec<u32>>,
    /// What each task does.
    pub script: Vec<Step>,
}

/// What the pool asks of whoever runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start a worker process with this name, then report its id with
    /// [`Pool::worker_spawned`] (spawns are reported in the order they were asked for).
    Spawn {
        /// `PoolWorker-<k>`.
        name: String,
    },
    /// Write these records to the worker's control channel, in order.
    Send {
        /// The worker.
        worker: ProcId,
        /// Chunks to run (or the stop sentinel).
        records: Vec<TaskRecord>,
    },
}

#[derive(Debug)]
struct Worker {
    name: String,
    /// Chunks sent to it and not finished, in order.
    assigned: VecDeque<u64>,
    /// Whether it reported taking the first of `assigned`.
    took_front: bool,
    /// The task it reported started and has not finished, and when it started.
    current: Option<(u64, u64)>,
    /// Chunks sent in its life (for `maxtasksperchild`).
    sent: u32,
    /// Consecutive fast tasks.
    fast_streak: u32,
    /// Whether it is in the idle FIFO.
    queued: bool,
}

impl Worker {
    fn new(name: String) -> Self {
        Worker {
            name,
            assigned: VecDeque::new(),
            took_front: false,
            current: None,
            sent: 0,
            fast_streak: 0,
            queued: false,
        }
    }

    /// Chunks it may hold at once: one, or (a fast worker) a window that grows with its
    /// streak of fast tasks, up to [`MAX_WINDOW`].
    fn window(&self) -> u32 {
        if self.fast_streak < FAST_STREAK {
            1
        } else {
            (self.fast_streak / 4).min(MAX_WINDOW)
        }
    }

    /// How many more chunks it may be sent now.
    fn room(&self, maxtasks: Option<u32>) -> u32 {
        let room = self.window().saturating_sub(self.assigned.len() as u32);
        match maxtasks {
            Some(k) => room.min(k.saturating_sub(self.sent)),
            None => room,
        }
    }
}

/// The state of one `Pool(n)` and the caller's one call on it.
#[derive(Debug)]
pub struct Pool {
    config: PoolConfig,
    clock: RunClock,
    results: Results,
    /// The next chunk never sent to anyone.
    next_new: u64,
    /// Chunks sent to a worker that died before beginning them: sent again first.
    requeued: VecDeque<u64>,
    /// Workers with room, in the order they got it.
    idle: VecDeque<ProcId>,
    /// The inputs were queued (every first worker was up and waiting).
    queued: bool,
    /// The pool was closed (every task finished, the caller has its results).
    closed: bool,
    workers: HashMap<ProcId, Worker>,
    next_worker_number: u32,
    /// Spawns asked for and not reported yet: the name, and the worker it replaces.
    spawning: VecDeque<(String, Option<ProcId>)>,
    events: Vec<(RunTime, EventKind)>,
    actions: VecDeque<Action>,
}

impl Pool {
    /// A pool about to start its workers: records `pool_started` at `now` and asks for
    /// `config.workers` spawns. `clock` turns the workers' own stamps into run time.
    pub fn new(config: PoolConfig, clock: RunClock, now: RunTime) -> Self {
        let mut pool = Pool {
            results: Results::new(config.api, config.tasks, config.chunksize),
            next_new: 0,
            requeued: VecDeque::new(),
            idle: VecDeque::new(),
            queued: false,
            closed: false,
            workers: HashMap::new(),
            next_worker_number: 1,
            spawning: VecDeque::new(),
            events: Vec::new(),
            actions: VecDeque::new(),
            clock,
            config,
        };
        pool.events.push((
            now,
            EventKind::PoolStarted {
                workers: pool.config.workers,
                api: pool.config.api,
                chunksize: pool.config.chunksize,
                tasks: pool.config.tasks,
            },
        ));
        for _ in 0..pool.config.workers {
            pool.request_spawn(None);
        }
        pool
    }

    /// The next thing to do, oldest first.
    pub fn next_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The events recorded since the last call, in order.
    pub fn take_events(&mut self) -> Vec<(RunTime, EventKind)> {
        std::mem::take(&mut self.events)
    }

    /// Whether the pool has closed and every worker has exited.
    pub fn is_done(&self) -> bool {
        self.closed && self.workers.is_empty()
    }

    /// The oldest requested spawn is worker `proc`, started by `now`. A replacement records
    /// `worker_replaced`.
    pub fn worker_spawned(&mut self, proc: ProcId, now: RunTime) {
        let Some((name, replaces)) = self.spawning.pop_front() else {
            tracing::warn!(?proc, "a pool worker was spawned that nobody asked for");
            return;
        };
        self.workers.insert(proc, Worker::new(name));
        if let Some(exited) = replaces {
            self.events.push((
                now,
                EventKind::WorkerReplaced {
                    exited,
                    replacement: proc,
                },
            ));
        }
    }

    /// Takes in what a worker's supervisor said, at `now`.
    pub fn on_message(&mut self, msg: WorkerMsg, now: RunTime) {
        match msg {
            WorkerMsg::Ready(proc) => self.mark_idle(proc),
            WorkerMsg::Reports(proc, reports) => {
                for report in reports {
                    self.on_report(proc, report, now);
                }
                self.mark_idle(proc);
            }
            WorkerMsg::Exited(proc, status) => {
                let Some(worker) = self.workers.remove(&proc) else {
                    return;
                };
                self.idle.retain(|&p| p != proc);
                self.worker_gone(proc, worker, status, now);
                // Until the pool is closed it keeps its size, as Python's does.
                if !self.closed {
                    self.request_spawn(Some(proc));
                }
            }
        }
    }

    /// Moves the pool on after the messages of one wake-up: queues the inputs once every
    /// first worker is up and waiting, closes the pool when the caller is done, and hands
    /// queued chunks to idle workers.
    pub fn advance(&mut self, now: RunTime) {
        if !self.queued && self.idle.len() as u32 >= self.config.workers {
            // Like `Pool(n)` returning before the caller's `imap`: the inputs are queued once
            // every worker is up and waiting, all at once, into one FIFO.
            self.queued = true;
            self.events.push((
                now,
                EventKind::TasksQueued {
                    first: 0,
                    count: self.config.tasks,
                },
            ));
        }
        if !self.closed && self.queued && self.results.all_done() {
            self.closed = true;
            self.events.push((now, EventKind::PoolClosed));
            // Python's `close`: a stop sentinel to each worker.
            let mut procs: Vec<ProcId> = self.workers.keys().copied().collect();
            procs.sort_unstable();
            for worker in procs {
                self.actions.push_back(Action::Send {
                    worker,
                    records: vec![TaskRecord::Stop],
                });
            }
        }
        if self.queued && !self.closed {
            self.assign();
        }
    }

    /// The run is being stopped: records `pool_terminated` (Python's `terminate`).
    pub fn terminate(&mut self, reason: KillReason, now: RunTime) {
        self.events
            .push((now, EventKind::PoolTerminated { reason }));
    }

    fn request_spawn(&mut self, replaces: Option<ProcId>) {
        let name = format!("PoolWorker-{}", self.next_worker_number);
        self.next_worker_number += 1;
        self.spawning.push_back((name.clone(), replaces));
        self.actions.push_back(Action::Spawn { name });
    }

    fn next_chunk_to_send(&mut self) -> Option<u64> {
        if let Some(c) = self.requeued.pop_front() {
            return Some(c);
        }
        (self.next_new < self.results.chunks()).then(|| {
            self.next_new += 1;
            self.next_new - 1
        })
    }

    fn has_chunks_to_send(&self) -> bool {
        !self.requeued.is_empty() || self.next_new < self.results.chunks()
    }

    /// Puts `proc` at the end of the idle FIFO if it has room.
    fn mark_idle(&mut self, proc: ProcId) {
        let maxtasks = self.config.maxtasks;
        if let Some(w) = self.workers.get_mut(&proc)
            && !w.queued
            && w.room(maxtasks) > 0
        {
            w.queued = true;
            self.idle.push_back(proc);
        }
    }

    /// Hands queued chunks to idle workers, first come first served.
    fn assign(&mut self) {
        let maxtasks = self.config.maxtasks;
        let chunksize = u64::from(self.config.chunksize);
        while self.has_chunks_to_send() {
            let Some(proc) = self.idle.pop_front() else {
                break;
            };
            let Some(room) = self.workers.get(&proc).map(|w| w.room(maxtasks)) else {
                continue;
            };
            let mut records = Vec::with_capacity(room as usize);
            let mut given = Vec::with_capacity(room as usize);
            for _ in 0..room {
                let Some(chunk) = self.next_chunk_to_send() else {
                    break;
                };
                let first = chunk * chunksize;
                let count = (self.config.tasks - first).min(chunksize) as u32;
                records.push(TaskRecord::Chunk { first, count });
                given.push(chunk);
            }
            let Some(w) = self.workers.get_mut(&proc) else {
                continue;
            };
            w.queued = false;
            w.sent += given.len() as u32;
            w.assigned.extend(given);
            self.actions.push_back(Action::Send {
                worker: proc,
                records,
            });
        }
    }

    /// A worker exited: the chunk it was running is lost (each unfinished task an error naming
    /// the worker and how it died); chunks it had not begun go back to the front of the queue.
    fn worker_gone(&mut self, proc: ProcId, worker: Worker, status: ExitStatus, now: RunTime) {
        let how = match status {
            ExitStatus::Signal { signal } => format!("was killed by {}", signal_name(signal)),
            ExitStatus::Code { code } => format!("exited with code {code}"),
        };
        let mut begun = worker.took_front;
        let mut back = Vec::new();
        for chunk in worker.assigned {
            let range = self.results.chunk_tasks(chunk);
            let touched = begun || range.clone().any(|t| !self.results.is_pending(t));
            begun = false;
            if !touched {
                back.push(chunk);
                continue;
            }
            for task in range {
                if !self.results.is_pending(task) {
                    continue;
                }
                let message = if worker.current.is_some_and(|(t, _)| t == task) {
                    format!("{} {how} while running task {task}", worker.name)
                } else {
                    format!("{} {how} before task {task} started", worker.name)
                };
                let error = TaskError {
                    error_type: "WorkerLost".into(),
                    message,
                    location: format!("{}, task {task}", worker.name),
                    traceback: None,
                };
                self.finish(task, proc, now, TaskResult::Error(Box::new(error)), now);
            }
        }
        for chunk in back.into_iter().rev() {
            self.requeued.push_front(chunk);
        }
    }

    fn on_report(&mut self, proc: ProcId, report: Report, now: RunTime) {
        match report {
            Report::Started { .. } => {}
            Report::Took {
                at_ns,
                first,
                count,
            } => {
                if let Some(w) = self.workers.get_mut(&proc) {
                    w.took_front = true;
                }
                self.events.push((
                    self.clock.at(at_ns),
                    EventKind::TaskDispatched {
                        first,
                        count,
                        worker: proc,
                    },
                ));
            }
            Report::TaskStarted { at_ns, task } => {
                if let Some(w) = self.workers.get_mut(&proc) {
                    w.current = Some((task, at_ns));
                }
                self.events.push((
                    self.clock.at(at_ns),
                    EventKind::TaskStarted { task, worker: proc },
                ));
            }
            Report::TaskFinished {
                at_ns,
                task,
                outcome,
            } => {
                let chunksize = u64::from(self.config.chunksize);
                if let Some(w) = self.workers.get_mut(&proc) {
                    if let Some((_, started)) = w.current.take() {
                        if at_ns.saturating_sub(started) < FAST_TASK_NS {
                            w.fast_streak = w.fast_streak.saturating_add(1);
                        } else {
                            w.fast_streak = 0;
                        }
                    }
                    let chunk = task / chunksize;
                    let last_of_chunk =
                        (chunk + 1) * chunksize - 1 == task || task + 1 == self.config.tasks;
                    if last_of_chunk && w.assigned.front() == Some(&chunk) {
                        w.assigned.pop_front();
                        w.took_front = false;
                    }
                }
                let result = match outcome {
                    Outcome::Value(value) => TaskResult::Value { value },
                    Outcome::Error {
                        error_type,
                        message,
                        location,
                    } => TaskResult::Error(Box::new(TaskError {
                        error_type,
                        message,
                        location,
                        traceback: None,
                    })),
                };
                self.finish(task, proc, self.clock.at(at_ns), result, now);
            }
        }
    }

    /// Records a task's end at `t` and lets the caller consume, at `now`, whatever its API
    /// now delivers.
    fn finish(&mut self, task: u64, worker: ProcId, t: RunTime, result: TaskResult, now: RunTime) {
        let Some(complete) = self.results.record(task, &result) else {
            return;
        };
        self.events.push((
            t,
            EventKind::TaskFinished {
                task,
                worker,
                result,
            },
        ));
        if let Some(chunk) = complete {
            self.results.chunk_done(chunk, now, &mut self.events);
        }
    }
}
