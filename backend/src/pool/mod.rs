//! The process pool: Python's `multiprocessing.Pool` semantics over real worker processes.
//!
//! ## Theory of operation
//! ```text
//!                    ┌──── TaskRecords (control channel) ───▶ PoolWorker-1..n
//!   coordinator ─────┤                                            │ reports (batched)
//!   (this module) ◀──┴──── WorkerMsg: reports, then the exit ─────┘
//!        │ events, batched per wake-up
//!        ▼
//!     RunLog
//! ```
//! - All inputs are queued at once, in one FIFO of chunks. Idle workers wait in a FIFO too,
//!   in the order they became idle, and the coordinator hands the next chunk to the first
//!   idle worker — what Python's pool does with its queue lock. So the worker that failed
//!   task 0 at once takes task 4 at once, and slow tasks run in waves.
//! - Throughput without changing what anyone can see: a worker whose tasks keep finishing in
//!   under [`FAST_TASK`] is given a window of several chunks at a time (up to [`MAX_WINDOW`]);
//!   it flushes its reports in one write when its window runs dry. A worker whose tasks take
//!   longer holds one chunk at a time, exactly like Python's.
//! - The coordinator is the only owner of the pool's state (no shared mutable state): it turns
//!   reports into task events, decides when the caller consumes each result (per API), and
//!   replaces workers that exit early (`maxtasksperchild`) or die.
//! - A worker that dies mid-task loses that task: it ends as an error naming the worker and
//!   the signal; chunks it had been sent but not begun go back to the front of the queue; a
//!   replacement starts, and every other task completes.
//! - When every task has finished and the caller has what its API gives it, the pool is
//!   closed (a stop sentinel to each worker) and joined: the workers exit 0.

use crate::ipc::{Outcome, Report, TaskRecord};
use crate::child::{ChildHandle, WorkerMsg};
use crate::runs::{DemoError, RunContext};
use crate::workload::Step;
use crate::child::zygote::ChildKind;
use shared::{
    EventKind, ExitStatus, PoolApi, PoolParams, ProcId, RunTime, TaskError, TaskResult, Work,
    signal_name,
};
use std::collections::{HashMap, VecDeque};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// A task shorter than this counts as fast.
pub const FAST_TASK_NS: u64 = 1_000_000;
/// Consecutive fast tasks before a worker is sent more than one chunk at a time.
pub const FAST_STREAK: u32 = 8;
/// The most chunks a worker is sent at a time.
pub const MAX_WINDOW: u32 = 256;

/// The per-task script of the pool demo: print started → fail if n is listed → work →
/// print ended → return n.
pub fn task_script(p: &PoolParams) -> Vec<Step> {
    let mut steps = Vec::new();
    if p.print {
        steps.push(Step::Print {
            text: "Process {name} started working on task {task}".into(),
            stderr: false,
        });
    }
    if !p.fail.is_empty() {
        let mut only = p.fail.clone();
        only.sort_unstable();
        only.dedup();
        steps.push(Step::Fail {
            error_type: p.error_type.clone(),
            message: p.error_message.clone(),
            only: Some(only),
        });
    }
    match p.work {
        Work::Sleep if p.task_ms > 0 => steps.push(Step::Sleep { ms: p.task_ms }),
        Work::Cpu if p.task_ms > 0 => steps.push(Step::Cpu { ms: p.task_ms }),
        _ => {}
    }
    if p.print {
        steps.push(Step::Print {
            text: "Process {name} ended working on task {task}".into(),
            stderr: false,
        });
    }
    steps
}

/// Runs the pool demo: `Pool(workers)` and the API's call over `0..tasks`.
pub async fn pool_demo(p: &PoolParams, ctx: &mut RunContext) -> Result<(), DemoError> {
    let chunksize = match p.api {
        PoolApi::ApplyAsync => 1,
        _ => p.effective_chunksize().max(1),
    };
    let config = PoolConfig {
        workers: p.workers,
        tasks: p.tasks,
        api: p.api,
        chunksize,
        maxtasks: p.maxtasksperchild,
        affinity: p.cores.clone(),
        script: task_script(p),
    };
    run_pool(config, ctx).await
}

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

/// A task's state, compactly (a million of them fit in 16 MB).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Pending,
    Value(i64),
    /// Index into `Coordinator::errors`.
    Error(u32),
}

struct Worker {
    name: String,
    handle: ChildHandle,
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

struct Coordinator {
    config: PoolConfig,
    chunks: u64,
    slots: Vec<Slot>,
    errors: Vec<TaskError>,
    /// Tasks left per chunk.
    chunk_left: Vec<u32>,
    finished: u64,
    /// The next chunk never sent to anyone.
    next_new: u64,
    /// Chunks sent to a worker that died before beginning them: sent again first.
    requeued: VecDeque<u64>,
    /// Workers with room, in the order they got it.
    idle: VecDeque<ProcId>,
    /// Chunks whose results the caller has had.
    consumed_chunks: u64,
    /// imap: the next chunk the caller waits for.
    next_chunk: u64,
    /// The caller has everything its API will give it.
    caller_done: bool,
    workers: HashMap<ProcId, Worker>,
    next_worker_number: u32,
    tx: mpsc::Sender<WorkerMsg>,
    events: Vec<(RunTime, EventKind)>,
}

/// Runs a pool to its end (or until the run is cancelled).
pub async fn run_pool(config: PoolConfig, ctx: &mut RunContext) -> Result<(), DemoError> {
    let chunksize = u64::from(config.chunksize.max(1));
    let chunks = config.tasks.div_ceil(chunksize);
    let (tx, mut rx) = mpsc::channel(1024);
    let mut pool = Coordinator {
        chunks,
        slots: vec![Slot::Pending; config.tasks as usize],
        errors: Vec::new(),
        chunk_left: (0..chunks)
            .map(|c| (config.tasks - c * chunksize).min(chunksize) as u32)
            .collect(),
        finished: 0,
        next_new: 0,
        requeued: VecDeque::new(),
        idle: VecDeque::new(),
        consumed_chunks: 0,
        next_chunk: 0,
        caller_done: config.tasks == 0,
        workers: HashMap::new(),
        next_worker_number: 1,
        tx,
        events: Vec::new(),
        config,
    };
    let clock = ctx.sink().clock();
    ctx.sink()
        .emit_now(EventKind::PoolStarted {
            workers: pool.config.workers,
            api: pool.config.api,
            chunksize: pool.config.chunksize,
            tasks: pool.config.tasks,
        })
        .await;
    for _ in 0..pool.config.workers {
        pool.spawn_worker(ctx).await?;
    }
    let cancel = ctx.cancelled().clone();
    let mut closed = false;
    // Like `Pool(n)` returning before the caller's `imap`: the inputs are queued once every
    // worker is up and waiting, all at once, into one FIFO.
    let mut queued = false;
    loop {
        if !queued && pool.idle.len() as u32 >= pool.config.workers {
            queued = true;
            pool.events.push((
                clock.now(),
                EventKind::TasksQueued {
                    first: 0,
                    count: pool.config.tasks,
                },
            ));
        }
        if !closed && queued && pool.caller_done && pool.finished == pool.config.tasks {
            closed = true;
            pool.events.push((clock.now(), EventKind::PoolClosed));
            pool.stop_all().await;
        }
        if closed && pool.workers.is_empty() {
            break;
        }
        if queued && !closed {
            pool.assign().await;
        }
        ctx.sink()
            .emit_batch(std::mem::take(&mut pool.events))
            .await;
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { break };
                pool.on_message(msg, clock, ctx, closed).await?;
                // Take everything already waiting in one go: one event batch per wake-up.
                while let Ok(msg) = rx.try_recv() {
                    pool.on_message(msg, clock, ctx, closed).await?;
                }
            }
            command = ctx.next_command() => ctx.apply(command),
            () = cancel.cancelled() => {
                let reason = ctx.kill_reason();
                ctx.sink().emit_batch(std::mem::take(&mut pool.events)).await;
                ctx.sink().emit_now(EventKind::PoolTerminated { reason }).await;
                let handles: Vec<ChildHandle> = pool.workers.drain().map(|(_, w)| w.handle).collect();
                ctx.stop(handles).await;
                return Err(DemoError::Cancelled(reason));
            }
        }
    }
    ctx.sink()
        .emit_batch(std::mem::take(&mut pool.events))
        .await;
    Ok(())
}

impl Coordinator {
    async fn spawn_worker(&mut self, ctx: &mut RunContext) -> Result<ProcId, DemoError> {
        let name = format!("PoolWorker-{}", self.next_worker_number);
        self.next_worker_number += 1;
        let kind = ChildKind::PoolWorker {
            maxtasks: self.config.maxtasks,
        };
        let handle = ctx
            .spawn_child(
                name.clone(),
                self.config.script.clone(),
                kind,
                self.config.affinity.clone(),
                Some(self.tx.clone()),
            )
            .await?;
        let proc = handle.proc;
        self.workers.insert(
            proc,
            Worker {
                name,
                handle,
                assigned: VecDeque::new(),
                took_front: false,
                current: None,
                sent: 0,
                fast_streak: 0,
                queued: false,
            },
        );
        Ok(proc)
    }

    fn next_chunk_to_send(&mut self) -> Option<u64> {
        if let Some(c) = self.requeued.pop_front() {
            return Some(c);
        }
        (self.next_new < self.chunks).then(|| {
            self.next_new += 1;
            self.next_new - 1
        })
    }

    fn has_chunks_to_send(&self) -> bool {
        !self.requeued.is_empty() || self.next_new < self.chunks
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
    async fn assign(&mut self) {
        let maxtasks = self.config.maxtasks;
        let chunksize = u64::from(self.config.chunksize);
        while self.has_chunks_to_send() {
            let Some(proc) = self.idle.pop_front() else {
                break;
            };
            let Some(room) = self.workers.get(&proc).map(|w| w.room(maxtasks)) else {
                continue;
            };
            let mut records = Vec::with_capacity(room as usize * TaskRecord::SIZE);
            let mut given = Vec::with_capacity(room as usize);
            for _ in 0..room {
                let Some(chunk) = self.next_chunk_to_send() else {
                    break;
                };
                let first = chunk * chunksize;
                let count = (self.config.tasks - first).min(chunksize) as u32;
                records.extend_from_slice(&TaskRecord::Chunk { first, count }.encode());
                given.push(chunk);
            }
            let Some(w) = self.workers.get_mut(&proc) else {
                continue;
            };
            w.queued = false;
            w.sent += given.len() as u32;
            w.assigned.extend(given);
            if let Some(input) = w.handle.input.as_mut()
                && let Err(e) = input.write_all(&records).await
            {
                // It died; its exit will give the chunks back.
                tracing::debug!(worker = %w.name, error = %e, "sending tasks failed");
            }
        }
    }

    /// Sends every worker the stop sentinel (Python's `close`).
    async fn stop_all(&mut self) {
        let stop = TaskRecord::Stop.encode();
        for w in self.workers.values_mut() {
            if let Some(input) = w.handle.input.as_mut()
                && let Err(e) = input.write_all(&stop).await
            {
                tracing::debug!(worker = %w.name, error = %e, "sending stop failed");
            }
        }
    }

    async fn on_message(
        &mut self,
        msg: WorkerMsg,
        clock: crate::clock::RunClock,
        ctx: &mut RunContext,
        closed: bool,
    ) -> Result<(), DemoError> {
        match msg {
            WorkerMsg::Ready(proc) => self.mark_idle(proc),
            WorkerMsg::Reports(proc, reports) => {
                for report in reports {
                    self.on_report(proc, report, clock);
                }
                self.mark_idle(proc);
            }
            WorkerMsg::Exited(proc, status) => {
                ctx.forget(proc);
                let Some(worker) = self.workers.remove(&proc) else {
                    return Ok(());
                };
                self.idle.retain(|&p| p != proc);
                self.worker_gone(proc, worker, status, clock);
                // Until the pool is closed it keeps its size, as Python's does.
                if !closed {
                    let replacement = self.spawn_worker(ctx).await?;
                    self.events.push((
                        clock.now(),
                        EventKind::WorkerReplaced {
                            exited: proc,
                            replacement,
                        },
                    ));
                }
            }
        }
        Ok(())
    }

    /// A worker exited: the chunk it was running is lost (each unfinished task an error naming
    /// the worker and how it died); chunks it had not begun go back to the front of the queue.
    fn worker_gone(
        &mut self,
        proc: ProcId,
        worker: Worker,
        status: ExitStatus,
        clock: crate::clock::RunClock,
    ) {
        let how = match status {
            ExitStatus::Signal { signal } => format!("was killed by {}", signal_name(signal)),
            ExitStatus::Code { code } => format!("exited with code {code}"),
        };
        let now = clock.now();
        let mut begun = worker.took_front;
        let mut back = Vec::new();
        for chunk in worker.assigned {
            let range = self.chunk_tasks(chunk);
            let touched = begun
                || range
                    .clone()
                    .any(|t| self.slots[t as usize] != Slot::Pending);
            begun = false;
            if !touched {
                back.push(chunk);
                continue;
            }
            for task in range {
                if self.slots[task as usize] != Slot::Pending {
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
                };
                self.finish(task, proc, now, TaskResult::Error(Box::new(error)), clock);
            }
        }
        for chunk in back.into_iter().rev() {
            self.requeued.push_front(chunk);
        }
    }

    fn on_report(&mut self, proc: ProcId, report: Report, clock: crate::clock::RunClock) {
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
                    clock.at(at_ns),
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
                    clock.at(at_ns),
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
                    })),
                };
                self.finish(task, proc, clock.at(at_ns), result, clock);
            }
        }
    }
    /// Records a task's end and lets the caller consume whatever its API now delivers.
    fn finish(
        &mut self,
        task: u64,
        worker: ProcId,
        t: RunTime,
        result: TaskResult,
        clock: crate::clock::RunClock,
    ) {
        let Some(slot) = self.slots.get_mut(task as usize) else {
            tracing::warn!(task, "a worker reported a task that does not exist");
            return;
        };
        if *slot != Slot::Pending {
            return;
        }
        *slot = match &result {
            TaskResult::Value { value } => Slot::Value(*value),
            TaskResult::Error(e) => {
                self.errors.push((**e).clone());
                Slot::Error((self.errors.len() - 1) as u32)
            }
        };
        self.finished += 1;
        self.events.push((
            t,
            EventKind::TaskFinished {
                task,
                worker,
                result,
            },
        ));
        let chunk = task / u64::from(self.config.chunksize);
        self.chunk_left[chunk as usize] -= 1;
        if self.chunk_left[chunk as usize] == 0 {
            self.chunk_done(chunk, clock.now());
        }
    }

    fn result_of(&self, task: u64) -> TaskResult {
        match self.slots[task as usize] {
            Slot::Value(value) => TaskResult::Value { value },
            Slot::Error(i) => TaskResult::Error(Box::new(self.errors[i as usize].clone())),
            Slot::Pending => TaskResult::Error(Box::new(TaskError {
                error_type: "Pending".into(),
                message: "not finished".into(),
                location: String::new(),
            })),
        }
    }

    /// The caller receives the results of `tasks`, in that order, at `now`.
    fn deliver(&mut self, tasks: std::ops::Range<u64>, now: RunTime) {
        for index in tasks {
            let result = self.result_of(index);
            self.events
                .push((now, EventKind::ResultConsumed { index, result }));
        }
    }

    fn chunk_tasks(&self, chunk: u64) -> std::ops::Range<u64> {
        let size = u64::from(self.config.chunksize);
        chunk * size..((chunk + 1) * size).min(self.config.tasks)
    }

    /// The caller takes chunk `chunk`: each result, or (a chunk of several tasks with an
    /// error) the chunk's first error raised, after which the iterator is exhausted.
    fn consume_chunk(&mut self, chunk: u64, now: RunTime) {
        if self.caller_done {
            return;
        }
        let range = self.chunk_tasks(chunk);
        let first_error = range.clone().find_map(|t| match self.slots[t as usize] {
            Slot::Error(i) => Some(i),
            _ => None,
        });
        match first_error {
            Some(i) if self.config.chunksize > 1 => {
                self.events.push((
                    now,
                    EventKind::CallerRaised {
                        error: Box::new(self.errors[i as usize].clone()),
                        lost_results: self.config.tasks.saturating_sub(
                            self.consumed_chunks * u64::from(self.config.chunksize),
                        ),
                    },
                ));
                self.caller_done = true;
            }
            _ => {
                self.deliver(range, now);
                self.consumed_chunks += 1;
                if self.consumed_chunks == self.chunks {
                    self.caller_done = true;
                }
            }
        }
    }

    fn chunk_done(&mut self, chunk: u64, now: RunTime) {
        match self.config.api {
            PoolApi::Imap => {
                if chunk != self.next_chunk {
                    return;
                }
                while self.next_chunk < self.chunks
                    && self.chunk_left[self.next_chunk as usize] == 0
                {
                    let c = self.next_chunk;
                    self.next_chunk += 1;
                    self.consume_chunk(c, now);
                }
            }
            PoolApi::ImapUnordered | PoolApi::ApplyAsync => self.consume_chunk(chunk, now),
            PoolApi::Map => {
                if self.finished < self.config.tasks {
                    return;
                }
                let first_error = self.slots.iter().find_map(|s| match s {
                    Slot::Error(i) => Some(*i),
                    _ => None,
                });
                match first_error {
                    Some(i) => self.events.push((
                        now,
                        EventKind::CallerRaised {
                            error: Box::new(self.errors[i as usize].clone()),
                            lost_results: self.config.tasks - 1,
                        },
                    )),
                    None => self.deliver(0..self.config.tasks, now),
                }
                self.caller_done = true;
            }
        }
    }
}
