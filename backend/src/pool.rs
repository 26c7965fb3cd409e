//! The process pool: Python's `multiprocessing.Pool` semantics over real worker processes.
//!
//! ## Theory of operation
//! ```text
//!   dispatcher task ──TaskRecords──▶ [ one shared pipe: the FIFO ] ──▶ PoolWorker-1..n
//!        ▲ stop sentinels at close                                        │ reports (fd 3)
//!        │                                                                ▼
//!   coordinator (this module) ◀──── WorkerMsg (reports, exit) ──── supervisors
//!        │ events (batched)                 └── replacements, kills, lost tasks
//!        ▼
//!     RunLog
//! ```
//! - All inputs are queued at once: the dispatcher writes every chunk as a fixed-size record
//!   into one pipe; an idle worker reads exactly one record, so whichever worker is free takes
//!   the next chunk (the worker that failed task 0 at once takes task 4 at once).
//! - The coordinator is the only owner of the pool's state (no shared mutable state): it turns
//!   reports into task events, decides when the caller consumes each result (per API), and
//!   replaces workers that exit early (`maxtasksperchild`) or die.
//! - A worker that dies mid-task loses that task: it ends as an error naming the worker and
//!   the signal, a replacement starts, and every other task completes. Tasks a dying worker
//!   had taken silently (short tasks whose reports were still buffered) are found by a sweep
//!   once the queue is empty and the workers have been quiet for [`SWEEP_QUIET`].
//! - When every task has finished and the caller has what its API gives it, the pool is
//!   closed (one stop sentinel per worker) and joined: the workers exit 0.

use crate::ipc::{Outcome, Report, TaskRecord};
use crate::process::{ChildHandle, Role, WorkerMsg};
use crate::run::{DemoError, RunContext};
use crate::workload::Step;
use shared::{
    EventKind, ExitStatus, PoolApi, PoolParams, ProcId, RunTime, TaskError, TaskResult, Work,
    signal_name,
};
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// How long the workers must be silent, with the queue empty, before tasks that nobody
/// reported are declared lost with a dead worker.
pub const SWEEP_QUIET: Duration = Duration::from_millis(150);

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
    /// The chunk it took and how many of its tasks it finished.
    chunk: Option<(u64, u32, u32)>,
    /// The task it reported started and has not finished.
    current: Option<u64>,
}

struct Coordinator {
    config: PoolConfig,
    chunks: u64,
    slots: Vec<Slot>,
    errors: Vec<TaskError>,
    /// Tasks left per chunk.
    chunk_left: Vec<u32>,
    finished: u64,
    /// Chunks whose results the caller has had.
    consumed_chunks: u64,
    /// imap: the next chunk the caller waits for.
    next_chunk: u64,
    /// The caller has everything its API will give it.
    caller_done: bool,
    workers: HashMap<ProcId, Worker>,
    next_worker_number: u32,
    queue: OwnedFd,
    tx: mpsc::Sender<WorkerMsg>,
    events: Vec<(RunTime, EventKind)>,
    /// A worker died; tasks may have been lost without a report.
    suspect_loss: Option<String>,
    last_report: tokio::time::Instant,
}

/// Runs a pool to its end (or until the run is cancelled).
pub async fn run_pool(config: PoolConfig, ctx: &mut RunContext) -> Result<(), DemoError> {
    let (read, write) = queue_pipe().map_err(|e| spawn_error("the task queue", e))?;
    // A bigger pipe lets the dispatcher queue more at once (best effort: 1 MiB is the
    // default per-pipe maximum for unprivileged users).
    // SAFETY: F_SETPIPE_SZ on a pipe we own.
    if unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) } == -1 {
        tracing::debug!("could not enlarge the task queue pipe");
    }
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
        consumed_chunks: 0,
        next_chunk: 0,
        caller_done: config.tasks == 0,
        workers: HashMap::new(),
        next_worker_number: 1,
        queue: read,
        tx,
        events: Vec::new(),
        suspect_loss: None,
        last_report: tokio::time::Instant::now(),
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
    // Every input is queued at once, into one FIFO.
    ctx.sink()
        .emit_now(EventKind::TasksQueued {
            first: 0,
            count: pool.config.tasks,
        })
        .await;
    let (stop_tx, stop_rx) = mpsc::unbounded_channel();
    let mut dispatcher = tokio::spawn(dispatch(write, pool.config.tasks, chunksize, stop_rx));
    let mut dispatched = false;
    let cancel = ctx.cancelled().clone();
    let mut closed = false;
    loop {
        if !closed && pool.caller_done && pool.finished == pool.config.tasks {
            closed = true;
            pool.events.push((clock.now(), EventKind::PoolClosed));
            if stop_tx.send(pool.workers.len() as u32).is_err() {
                tracing::warn!("the dispatcher ended early; workers will see the queue close");
            }
        }
        if closed && pool.workers.is_empty() {
            break;
        }
        ctx.sink().emit_batch(std::mem::take(&mut pool.events)).await;
        let sweep_due = !closed && dispatched && pool.suspect_loss.is_some();
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { break };
                pool.on_message(msg, clock, ctx, closed).await?;
                // Take everything already queued in one go: one event batch per wake-up.
                while let Ok(msg) = rx.try_recv() {
                    pool.on_message(msg, clock, ctx, closed).await?;
                }
            }
            command = ctx.next_command() => ctx.apply(command),
            result = &mut dispatcher, if !dispatched => {
                dispatched = true;
                match result {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "writing the task queue failed"),
                    Err(e) => tracing::error!(error = %e, "the dispatcher failed"),
                }
            }
            () = tokio::time::sleep_until(pool.last_report + SWEEP_QUIET), if sweep_due => {
                pool.sweep(clock);
            }
            () = cancel.cancelled() => {
                let reason = ctx.kill_reason();
                ctx.sink().emit_batch(std::mem::take(&mut pool.events)).await;
                ctx.sink().emit_now(EventKind::PoolTerminated { reason }).await;
                let handles: Vec<ChildHandle> = pool.workers.drain().map(|(_, w)| w.handle).collect();
                ctx.stop(handles).await;
                dispatcher.abort();
                return Err(DemoError::Cancelled(reason));
            }
        }
    }
    ctx.sink().emit_batch(std::mem::take(&mut pool.events)).await;
    drop(stop_tx);
    dispatcher.abort();
    Ok(())
}

/// A pipe for the task queue: both ends close-on-exec (workers get the read end by `dup2`)
/// and non-blocking (workers poll; the dispatcher is async).
fn queue_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`, which we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn spawn_error(what: &str, source: std::io::Error) -> DemoError {
    DemoError::Spawn(crate::process::SpawnError::Control {
        name: what.to_string(),
        source,
    })
}

/// Writes every chunk into the queue (in blocks of at most `PIPE_BUF`, each written
/// atomically), then a stop sentinel per worker whenever the coordinator asks.
async fn dispatch(
    write: OwnedFd,
    tasks: u64,
    chunksize: u64,
    mut stops: mpsc::UnboundedReceiver<u32>,
) -> std::io::Result<()> {
    let mut pipe = tokio::net::unix::pipe::Sender::from_owned_fd(write)?;
    const BLOCK: usize = 4096;
    let mut buf = Vec::with_capacity(BLOCK);
    let mut first = 0;
    while first < tasks {
        let count = (tasks - first).min(chunksize) as u32;
        buf.extend_from_slice(&TaskRecord::Chunk { first, count }.encode());
        first += u64::from(count);
        if buf.len() == BLOCK {
            pipe.write_all(&buf).await?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        pipe.write_all(&buf).await?;
        buf.clear();
    }
    while let Some(n) = stops.recv().await {
        for _ in 0..n {
            pipe.write_all(&TaskRecord::Stop.encode()).await?;
        }
    }
    Ok(())
}

impl Coordinator {
    async fn spawn_worker(&mut self, ctx: &mut RunContext) -> Result<ProcId, DemoError> {
        let name = format!("PoolWorker-{}", self.next_worker_number);
        self.next_worker_number += 1;
        let role = Role::PoolWorker {
            queue: self.queue.as_raw_fd(),
            maxtasks: self.config.maxtasks,
        };
        let handle = ctx
            .spawn_child(
                name.clone(),
                self.config.script.clone(),
                role,
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
                chunk: None,
                current: None,
            },
        );
        Ok(proc)
    }

    async fn on_message(
        &mut self,
        msg: WorkerMsg,
        clock: crate::clock::RunClock,
        ctx: &mut RunContext,
        closed: bool,
    ) -> Result<(), DemoError> {
        match msg {
            WorkerMsg::Reports(proc, reports) => {
                self.last_report = tokio::time::Instant::now();
                for report in reports {
                    self.on_report(proc, report, clock);
                }
            }
            WorkerMsg::Exited(proc, status) => {
                ctx.forget(proc);
                let Some(worker) = self.workers.remove(&proc) else {
                    return Ok(());
                };
                let now = clock.now();
                let how = match status {
                    ExitStatus::Signal { signal } => format!("was killed by {}", signal_name(signal)),
                    ExitStatus::Code { code } => format!("exited with code {code}"),
                };
                if !status.success() {
                    self.suspect_loss = Some(format!("{} {how}", worker.name));
                }
                if let Some((first, count, _)) = worker.chunk {
                    for task in first..first + u64::from(count) {
                        if self.slots[task as usize] != Slot::Pending {
                            continue;
                        }
                        let message = if worker.current == Some(task) {
                            format!("{} {how} while running task {task}", worker.name)
                        } else {
                            format!("{} {how} before task {task} started", worker.name)
                        };
                        let error = TaskError {
                            error_type: "WorkerLost".into(),
                            message,
                            location: format!("{}, task {task}", worker.name),
                        };
                        self.finish(task, proc, now, TaskResult::Error(error), clock);
                    }
                }
                let needed = !closed && (self.finished < self.config.tasks || !self.caller_done);
                if needed {
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

    fn on_report(&mut self, worker: ProcId, report: Report, clock: crate::clock::RunClock) {
        match report {
            Report::Started { .. } => {}
            Report::Took { at_ns, first, count } => {
                if let Some(w) = self.workers.get_mut(&worker) {
                    w.chunk = Some((first, count, 0));
                }
                self.events.push((
                    clock.at(at_ns),
                    EventKind::TaskDispatched { first, count, worker },
                ));
            }
            Report::TaskStarted { at_ns, task } => {
                if let Some(w) = self.workers.get_mut(&worker) {
                    w.current = Some(task);
                }
                self.events
                    .push((clock.at(at_ns), EventKind::TaskStarted { task, worker }));
            }
            Report::TaskFinished { at_ns, task, outcome } => {
                if let Some(w) = self.workers.get_mut(&worker) {
                    w.current = None;
                    if let Some((first, count, done)) = w.chunk.as_mut() {
                        *done += 1;
                        if *done == *count {
                            w.chunk = None;
                        } else {
                            let _ = first;
                        }
                    }
                }
                let result = match outcome {
                    Outcome::Value(value) => TaskResult::Value { value },
                    Outcome::Error {
                        error_type,
                        message,
                        location,
                    } => TaskResult::Error(TaskError {
                        error_type,
                        message,
                        location,
                    }),
                };
                self.finish(task, worker, clock.at(at_ns), result, clock);
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
                self.errors.push(e.clone());
                Slot::Error((self.errors.len() - 1) as u32)
            }
        };
        self.finished += 1;
        self.events.push((t, EventKind::TaskFinished { task, worker, result }));
        let chunk = task / u64::from(self.config.chunksize);
        self.chunk_left[chunk as usize] -= 1;
        if self.chunk_left[chunk as usize] == 0 {
            self.chunk_done(chunk, clock.now());
        }
    }

    fn result_of(&self, task: u64) -> TaskResult {
        match self.slots[task as usize] {
            Slot::Value(value) => TaskResult::Value { value },
            Slot::Error(i) => TaskResult::Error(self.errors[i as usize].clone()),
            Slot::Pending => TaskResult::Error(TaskError {
                error_type: "Pending".into(),
                message: "not finished".into(),
                location: String::new(),
            }),
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
        let first_error = range
            .clone()
            .find_map(|t| match self.slots[t as usize] {
                Slot::Error(i) => Some(i),
                _ => None,
            });
        match first_error {
            Some(i) if self.config.chunksize > 1 => {
                let consumed: u64 = (0..self.consumed_chunks).map(|_| 0).sum::<u64>();
                let _ = consumed;
                self.events.push((
                    now,
                    EventKind::CallerRaised {
                        error: self.errors[i as usize].clone(),
                        lost_results: self.config.tasks.saturating_sub(
                            self.consumed_chunks * u64::from(self.config.chunksize),
                        ),
                    },
                ));
                self.caller_done = true;
            }
            _ => {
                for task in range {
                    let result = self.result_of(task);
                    self.events
                        .push((now, EventKind::ResultConsumed { index: task, result }));
                }
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
                while self.next_chunk < self.chunks && self.chunk_left[self.next_chunk as usize] == 0 {
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
                            error: self.errors[i as usize].clone(),
                            lost_results: self.config.tasks - 1,
                        },
                    )),
                    None => {
                        for task in 0..self.config.tasks {
                            let result = self.result_of(task);
                            self.events
                                .push((now, EventKind::ResultConsumed { index: task, result }));
                        }
                    }
                }
                self.caller_done = true;
            }
        }
    }

    /// After a worker died: if the queue is empty and nobody has reported for a while, tasks
    /// that no live worker took were taken by the dead one without a word. They are lost.
    fn sweep(&mut self, clock: crate::clock::RunClock) {
        let mut queued: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int: the bytes waiting in the pipe.
        if unsafe { libc::ioctl(self.queue.as_raw_fd(), libc::FIONREAD, &mut queued) } == -1 || queued > 0 {
            self.last_report = tokio::time::Instant::now();
            return;
        }
        let Some(who) = self.suspect_loss.take() else {
            return;
        };
        let held: Vec<(u64, u64)> = self
            .workers
            .values()
            .filter_map(|w| w.chunk.map(|(f, c, _)| (f, f + u64::from(c))))
            .collect();
        let now = clock.now();
        let lost: Vec<u64> = (0..self.config.tasks)
            .filter(|&t| self.slots[t as usize] == Slot::Pending)
            .filter(|t| !held.iter().any(|(a, b)| (a..b).contains(&t)))
            .collect();
        for task in lost {
            let error = TaskError {
                error_type: "WorkerLost".into(),
                message: format!("{who} while running task {task}"),
                location: format!("task {task}"),
            };
            self.finish(task, ProcId::MAIN, now, TaskResult::Error(error), clock);
        }
    }
}
