//! The tracer's lines → events: `backend/python/PROTOCOL.md`, "Mapping to `shared::EventKind`".
//!
//! [`Mapper`] is pure (no I/O): each connection's lines go in, in the order that connection
//! sent them, and [`Action`]s come out — events stamped with the line's `t` (the tracer reads
//! the same `CLOCK_MONOTONIC` as [`RunClock`]), processes for the sampler to watch, and the
//! process limit being passed.
//!
//! - **Processes.** Every pid gets a [`ProcId`] when first heard of (a `spawn` line naming it,
//!   or its own `hello`). Its `process_spawned` goes out at the first of: the parent's `spawn`
//!   (Python's name, `t` just before the fork), the child's `start` (helpers: forkserver,
//!   resource tracker; or a child whose parent's line is still unread), or any other line or
//!   the end of its connection (a bare `os.fork()` child or a `subprocess` Python:
//!   `python (pid N)`). Its `process_exited` goes out once a parent's `reaped` gave the status
//!   **and** its connection has ended (so its lines precede its exit), stamped with the
//!   earliest of its `exit`, its end of file and the `reaped`. Whatever was never reaped is
//!   ended by [`Mapper::finish`].
//! - **Tasks.** Task numbers are unique in the run: a job's tasks are numbered from the sum of
//!   the sizes of every earlier job of the run (of any pool, in the order the job lines were
//!   read), since events carry no pool id. A line that cannot be numbered yet (a worker's `ts`
//!   before its parent's `spawn` told its pool; a job after an `imap` of unknown length) waits
//!   in its connection's queue, with every later line of that connection, until a `spawn`,
//!   `job` or `jobn` line resolves it (at most [`MAX_DEFERRED`] lines in all).
//! - **Order.** Actions come out in the order lines are read; each event keeps its source's
//!   `t`. The run ([`crate::demos::python`]) holds events back briefly and records them in `t`
//!   order; the log itself requires only `seq` order.

use crate::child::OutputBudget;
use crate::child::output::Admit;
use crate::clock::RunClock;
use serde_json::Value;
use shared::{
    EventKind, ExitStatus, KillReason, PoolApi, ProcId, RunTime, Stream, TaskError, TaskResult,
    ThreadStart,
};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Lines that may wait for a line of another connection, in all.
pub const MAX_DEFERRED: usize = 100_000;
/// The longest partial output line kept before it is emitted as it is.
const MAX_PARTIAL: usize = 1024 * 1024;

/// One traced connection (one process) of a run.
pub type ConnId = u64;

/// What the run must do for a line.
#[derive(Debug, PartialEq)]
pub enum Action {
    /// Record this event.
    Emit(RunTime, EventKind),
    /// Sample this process's threads (per-core lanes).
    Watch(ProcId, u32),
    /// The run has more processes than [`Mapper::new`]'s limit.
    TooMany,
}

#[derive(Debug)]
struct Proc {
    proc: ProcId,
    announced: bool,
    hello_t: Option<u64>,
    ppid: u32,
    /// (owner pid, pool number) for a pool worker.
    pool: Option<(u32, u64)>,
    exit: Option<(u64, i32)>,
    reaped: Option<(u64, i32)>,
    connected: bool,
    eof_t: Option<u64>,
    exited: bool,
    killed_by: Option<KillReason>,
    name: String,
    /// An unfinished output line per stream, in [`STREAMS`] order.
    partial: [Option<String>; 2],
}

impl Proc {
    fn new(proc: ProcId) -> Self {
        Proc {
            proc,
            announced: false,
            hello_t: None,
            ppid: 0,
            pool: None,
            exit: None,
            reaped: None,
            connected: false,
            eof_t: None,
            exited: false,
            killed_by: None,
            name: String::new(),
            partial: [None, None],
        }
    }
}

#[derive(Debug)]
struct Pool {
    size: u32,
    t: u64,
    started: bool,
    terminated: bool,
}

impl Pool {
    fn new(size: u32, t: u64) -> Self {
        Pool {
            size,
            t,
            started: false,
            terminated: false,
        }
    }
}

#[derive(Debug)]
struct Job {
    cs: u64,
    n: Option<u64>,
    base: Option<u64>,
    t: u64,
    got: u64,
}

#[derive(Debug, Default)]
struct Conn {
    pid: Option<u32>,
    deferred: VecDeque<Value>,
}

/// A line could not be numbered yet.
struct Defer;

/// Turns a run's tracer lines into events.
pub struct Mapper {
    clock: RunClock,
    budget: Arc<OutputBudget>,
    cpus_of: fn(u32) -> Vec<u32>,
    main_pid: u32,
    main: ProcId,
    next_proc: u32,
    max_processes: usize,
    over_limit: bool,
    procs: HashMap<u32, Proc>,
    conns: HashMap<ConnId, Conn>,
    pools: HashMap<(u32, u64), Pool>,
    jobs: Vec<Job>,
    job_index: HashMap<(u32, u64, u64), usize>,
    /// Jobs whose base is known: `jobs[..settled]`.
    settled: usize,
    /// Jobs whose tasks were queued: `jobs[..queued]`.
    queued: usize,
    errors: HashMap<u64, (String, Option<String>)>,
    deferred: usize,
    discarded: u64,
    dropped_output: bool,
    /// The task each worker is running (by pid), from its start to its end.
    running: HashMap<u32, u64>,
    /// The first task whose worker died while running it.
    lost: Option<Lost>,
}

/// A task whose worker died while running it: CPython's `Pool` is never told, so its result
/// never arrives ([`Mapper::lost`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Lost {
    /// The task's index.
    pub task: u64,
    /// Its worker's name (`ForkPoolWorker-2`).
    pub worker: String,
    /// When the worker's connection ended (monotonic nanoseconds).
    pub t: u64,
}

fn num(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

fn unum(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

/// A pid field.
fn pid_at(v: &Value, key: &str) -> Option<u32> {
    unum(v, key).and_then(|p| u32::try_from(p).ok())
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The stream of `Proc::partial`'s slot `i`.
const STREAMS: [Stream; 2] = [Stream::Stdout, Stream::Stderr];

fn api_of(name: &str) -> PoolApi {
    match name {
        "imap" => PoolApi::Imap,
        "imap_unordered" => PoolApi::ImapUnordered,
        "apply" | "apply_async" | "submit" => PoolApi::ApplyAsync,
        _ => PoolApi::Map,
    }
}

fn status_of(code: i32) -> ExitStatus {
    if code < 0 {
        ExitStatus::Signal { signal: -code }
    } else {
        ExitStatus::Code { code }
    }
}

/// A value's `repr` as a result: an integer stays a number.
fn value_of(r: Option<String>) -> TaskResult {
    match r {
        Some(r) => match r.parse::<i64>() {
            Ok(value) => TaskResult::Value { value },
            Err(_) => TaskResult::Repr { text: r },
        },
        None => TaskResult::Repr {
            text: "(value not seen: its chunk failed)".into(),
        },
    }
}

impl Mapper {
    /// A mapper for a run whose main Python process is `main_pid`, recorded as `main`;
    /// new processes are numbered after `main`. More than `max_processes` processes (the main
    /// one included) gives [`Action::TooMany`] once. `cpus_of` reads a process's affinity.
    pub fn new(
        clock: RunClock,
        budget: Arc<OutputBudget>,
        main: ProcId,
        main_pid: u32,
        max_processes: usize,
        cpus_of: fn(u32) -> Vec<u32>,
    ) -> Self {
        let mut procs = HashMap::new();
        procs.insert(
            main_pid,
            Proc {
                announced: true,
                name: "MainProcess".into(),
                ..Proc::new(main)
            },
        );
        Mapper {
            clock,
            budget,
            cpus_of,
            main_pid,
            main,
            next_proc: main.0,
            max_processes,
            over_limit: false,
            procs,
            conns: HashMap::new(),
            pools: HashMap::new(),
            jobs: Vec::new(),
            job_index: HashMap::new(),
            settled: 0,
            queued: 0,
            errors: HashMap::new(),
            deferred: 0,
            discarded: 0,
            dropped_output: false,
            running: HashMap::new(),
            lost: None,
        }
    }

    /// Lines that could not be kept (unparsable, or waiting when [`MAX_DEFERRED`] were).
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// Whether `conn` is the main process's connection.
    pub fn is_main(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).and_then(|c| c.pid) == Some(self.main_pid)
    }

    /// Every traced process's pid and id, the main one included.
    pub fn pids(&self) -> Vec<(ProcId, u32)> {
        self.procs.iter().map(|(pid, p)| (p.proc, *pid)).collect()
    }

    /// The process `proc` is: its pid and name, if it is a traced one that has not exited.
    pub fn live(&self, proc: ProcId) -> Option<u32> {
        self.procs
            .iter()
            .find(|(_, p)| p.proc == proc && !p.exited)
            .map(|(pid, _)| *pid)
    }

    /// The live traced process named `name`.
    pub fn named(&self, name: &str) -> Option<ProcId> {
        self.procs
            .values()
            .find(|p| p.name == name && p.announced && !p.exited)
            .map(|p| p.proc)
    }

    /// Says who ended `proc` if it dies by a signal (a kill from the page).
    pub fn killed(&mut self, proc: ProcId, reason: KillReason) {
        if let Some(p) = self.procs.values_mut().find(|p| p.proc == proc) {
            p.killed_by.get_or_insert(reason);
        }
    }

    fn at(&self, t: u64) -> RunTime {
        self.clock.at(t)
    }

    fn emit(&self, out: &mut Vec<Action>, t: u64, kind: EventKind) {
        out.push(Action::Emit(self.at(t), kind));
    }

    /// The process `pid`, made known (not yet announced) if it was not.
    fn know(&mut self, pid: u32, out: &mut Vec<Action>) -> ProcId {
        if let Some(p) = self.procs.get(&pid) {
            return p.proc;
        }
        self.next_proc += 1;
        let proc = ProcId(self.next_proc);
        self.procs.insert(pid, Proc::new(proc));
        if self.procs.len() > self.max_processes && !self.over_limit {
            self.over_limit = true;
            out.push(Action::TooMany);
        }
        proc
    }

    fn proc_of(&self, pid: u32) -> ProcId {
        self.procs.get(&pid).map_or(self.main, |p| p.proc)
    }

    /// Emits `process_spawned` for `pid` unless it was.
    fn announce(&mut self, pid: u32, t: u64, name: String, parent: ProcId, out: &mut Vec<Action>) {
        let proc = self.know(pid, out);
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        if p.announced {
            return;
        }
        p.announced = true;
        p.name = name.clone();
        self.emit(
            out,
            t,
            EventKind::ProcessSpawned {
                proc,
                pid,
                name,
                parent,
            },
        );
        out.push(Action::Watch(proc, pid));
    }

    /// Announces a process heard of only by its own lines: `python (pid N)`, running.
    fn announce_bare(&mut self, pid: u32, out: &mut Vec<Action>) {
        let Some(p) = self.procs.get(&pid) else {
            return;
        };
        if p.announced {
            return;
        }
        let t = p.hello_t.unwrap_or(0);
        let parent = self.proc_of(p.ppid);
        self.announce(pid, t, format!("python (pid {pid})"), parent, out);
        let proc = self.proc_of(pid);
        let cpus = (self.cpus_of)(pid);
        self.emit(out, t, EventKind::ProcessStarted { proc, cpus });
    }

    /// A connection's line (its bytes without the `\n`).
    pub fn line(&mut self, conn: ConnId, raw: &[u8]) -> Vec<Action> {
        let mut out = Vec::new();
        let Ok(v) = serde_json::from_slice::<Value>(raw) else {
            self.discarded += 1;
            return out;
        };
        if !self.conns.entry(conn).or_default().deferred.is_empty() {
            // Behind a waiting line of its connection.
            self.defer(conn, v);
            return out;
        }
        let unblocks = matches!(
            v.get("k").and_then(Value::as_str),
            Some("spawn" | "job" | "jobn" | "hello")
        );
        if self.apply(conn, &v, &mut out).is_err() {
            self.defer(conn, v);
        }
        if unblocks {
            self.retry(&mut out);
        }
        out
    }

    /// Keeps `v` to wait in its connection's queue (or counts it discarded when
    /// [`MAX_DEFERRED`] lines wait).
    fn defer(&mut self, conn: ConnId, v: Value) {
        if self.deferred >= MAX_DEFERRED {
            self.discarded += 1;
        } else if let Some(c) = self.conns.get_mut(&conn) {
            c.deferred.push_back(v);
            self.deferred += 1;
        }
    }

    /// Processes waiting lines that can now be numbered, connection by connection in order.
    fn retry(&mut self, out: &mut Vec<Action>) {
        if self.deferred == 0 {
            return;
        }
        let waiting: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| !c.deferred.is_empty())
            .map(|(id, _)| *id)
            .collect();
        for conn in waiting {
            while let Some(v) = self
                .conns
                .get_mut(&conn)
                .and_then(|c| c.deferred.pop_front())
            {
                if self.apply(conn, &v, out).is_err() {
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.deferred.push_front(v);
                    }
                    break;
                }
                self.deferred -= 1;
            }
        }
    }

    /// The first task whose worker died while running it, if one did.
    pub fn lost(&self) -> Option<&Lost> {
        self.lost.as_ref()
    }

    /// The end of a connection, at monotonic time `t`.
    pub fn closed(&mut self, conn: ConnId, t: u64) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(c) = self.conns.remove(&conn) else {
            return out;
        };
        // Lines still waiting can never be numbered now.
        self.deferred -= c.deferred.len();
        self.discarded += c.deferred.len() as u64;
        if let Some(pid) = c.pid {
            self.announce_bare(pid, &mut out);
            self.flush_partial(pid, &mut out, t);
            if let Some(p) = self.procs.get_mut(&pid) {
                p.eof_t = Some(t);
            }
            self.lose_task(pid, t, &mut out);
            self.try_exit(pid, &mut out);
        }
        out
    }

    /// Ends the record of every traced process still without an exit (the run is over and
    /// its processes are gone): the code it reported, else the signal procviz last sent the
    /// run (`signal`), by `reason`; stamped `now` (monotonic) unless something earlier is known.
    pub fn finish(&mut self, signal: i32, reason: Option<KillReason>, now: u64) -> Vec<Action> {
        let mut out = Vec::new();
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            out.extend(self.closed(conn, now));
        }
        let pids: Vec<u32> = self
            .procs
            .iter()
            .filter(|(pid, p)| **pid != self.main_pid && !p.exited)
            .map(|(pid, _)| *pid)
            .collect();
        for pid in pids {
            self.announce_bare(pid, &mut out);
            let Some(p) = self.procs.get_mut(&pid) else {
                continue;
            };
            let (t, status, killed_by) = match (p.reaped, p.exit) {
                (Some((t, code)), _) | (None, Some((t, code))) => {
                    let status = status_of(code);
                    let by = matches!(status, ExitStatus::Signal { .. })
                        .then_some(p.killed_by.or(reason))
                        .flatten();
                    (t, status, by)
                }
                (None, None) => (
                    p.eof_t.unwrap_or(now),
                    ExitStatus::Signal { signal },
                    p.killed_by.or(reason),
                ),
            };
            let t = p.exit.map_or(t, |(e, _)| e.min(t));
            p.exited = true;
            let proc = p.proc;
            self.emit(
                &mut out,
                t,
                EventKind::ProcessExited {
                    proc,
                    status,
                    killed_by,
                    cpu_time_ns: None,
                },
            );
        }
        if self.dropped_output {
            out.push(Action::Emit(
                self.at(now),
                EventKind::OutputDropped {
                    proc: self.main,
                    lines: self.budget.dropped(),
                },
            ));
        }
        out
    }

    /// A worker whose connection ended while it ran a task died with it (a worker leaves only
    /// between tasks): the task ends failed, `WorkerLost`, as procviz's own pool reports it.
    fn lose_task(&mut self, pid: u32, t: u64, out: &mut Vec<Action>) {
        let Some(task) = self.running.remove(&pid) else {
            return;
        };
        let Some(p) = self.procs.get(&pid) else {
            return;
        };
        let (worker, name) = (p.proc, p.name.clone());
        let error = TaskError {
            error_type: "WorkerLost".into(),
            message: format!("{name} died while running task {task}: no result comes from it"),
            location: format!("{name}, task {task}"),
            traceback: None,
        };
        self.emit(
            out,
            t,
            EventKind::TaskFinished {
                task,
                worker,
                result: TaskResult::Error(Box::new(error)),
            },
        );
        self.lost.get_or_insert(Lost {
            task,
            worker: name,
            t,
        });
    }

    fn try_exit(&mut self, pid: u32, out: &mut Vec<Action>) {
        if pid == self.main_pid {
            return;
        }
        let pools = &self.pools;
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        let Some((reaped_t, code)) = p.reaped else {
            return;
        };
        if p.exited || (p.connected && p.eof_t.is_none()) || !p.announced {
            return;
        }
        p.exited = true;
        let status = status_of(code);
        let by_program = p
            .pool
            .and_then(|k| pools.get(&k))
            .is_some_and(|pool| pool.terminated);
        let killed_by = match status {
            ExitStatus::Signal { .. } => p.killed_by.or(by_program.then_some(KillReason::Program)),
            ExitStatus::Code { .. } => None,
        };
        let t = [Some(reaped_t), p.eof_t, p.exit.map(|(t, _)| t)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(reaped_t);
        let proc = p.proc;
        self.emit(
            out,
            t,
            EventKind::ProcessExited {
                proc,
                status,
                killed_by,
                cpu_time_ns: None,
            },
        );
    }

    fn output(
        &mut self,
        proc: ProcId,
        stream: Stream,
        text: String,
        t: u64,
        out: &mut Vec<Action>,
    ) {
        match self.budget.admit() {
            Admit::Keep => self.emit(out, t, EventKind::Output { proc, stream, text }),
            Admit::Drop { total, report } => {
                self.dropped_output = true;
                if report {
                    self.emit(out, t, EventKind::OutputDropped { proc, lines: total });
                }
            }
        }
    }

    fn flush_partial(&mut self, pid: u32, out: &mut Vec<Action>, t: u64) {
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        let proc = p.proc;
        let pieces: Vec<(usize, String)> = p
            .partial
            .iter_mut()
            .enumerate()
            .filter_map(|(i, s)| s.take().map(|s| (i, s)))
            .collect();
        for (i, text) in pieces {
            self.output(proc, STREAMS[i], text, t, out);
        }
    }

    /// Numbers the jobs whose earlier jobs' sizes are all known; queues their tasks.
    fn settle(&mut self, out: &mut Vec<Action>) {
        while self.settled < self.jobs.len() {
            let i = self.settled;
            let base = if i == 0 {
                0
            } else {
                let prev = &self.jobs[i - 1];
                match (prev.base, prev.n) {
                    (Some(b), Some(n)) => b + n,
                    _ => break,
                }
            };
            self.jobs[i].base = Some(base);
            self.settled += 1;
        }
        // A job is queued once its base and size are known; the next job's base needs this
        // one's size, so the queued jobs are a prefix of the settled ones.
        while self.queued < self.settled {
            let job = &self.jobs[self.queued];
            let (Some(first), Some(count)) = (job.base, job.n) else {
                break;
            };
            let t = job.t;
            self.queued += 1;
            if count > 0 {
                self.emit(out, t, EventKind::TasksQueued { first, count });
            }
        }
    }

    /// The job `(owner, pool, job)` and its base, if it can be numbered.
    fn job(&self, owner: u32, pool: u64, job: u64) -> Result<(usize, u64, u64), Defer> {
        let &i = self.job_index.get(&(owner, pool, job)).ok_or(Defer)?;
        let j = &self.jobs[i];
        Ok((i, j.base.ok_or(Defer)?, j.cs.max(1)))
    }

    /// The task number of a worker's `ts`/`te` line.
    fn worker_task(&self, pid: u32, v: &Value) -> Result<u64, Defer> {
        let (owner, pool) = self.procs.get(&pid).and_then(|p| p.pool).ok_or(Defer)?;
        let (_, base, cs) = self.job(owner, pool, unum(v, "job").unwrap_or(0))?;
        let i = unum(v, "i").unwrap_or(0);
        Ok(base + i * cs + unum(v, "c").unwrap_or(0))
    }

    fn error_of(v: &Value, location: String, traceback: Option<String>) -> TaskError {
        TaskError {
            error_type: text(v, "et").unwrap_or_else(|| "Exception".into()),
            message: text(v, "em").unwrap_or_default(),
            location,
            traceback,
        }
    }

    fn apply(&mut self, conn: ConnId, v: &Value, out: &mut Vec<Action>) -> Result<(), Defer> {
        let kind = v.get("k").and_then(Value::as_str).unwrap_or("");
        let t = unum(v, "t").unwrap_or(0);
        if kind == "hello" {
            let Some(pid) = pid_at(v, "pid") else {
                return Ok(());
            };
            if let Some(c) = self.conns.get_mut(&conn) {
                c.pid = Some(pid);
            }
            let first = !self.procs.contains_key(&pid);
            self.know(pid, out);
            let main = pid == self.main_pid;
            let mut started = false;
            if let Some(p) = self.procs.get_mut(&pid) {
                p.connected = true;
                p.eof_t = None;
                if p.hello_t.is_none() {
                    p.hello_t = Some(t);
                    started = main;
                }
                if first {
                    p.ppid = pid_at(v, "ppid").unwrap_or(0);
                }
            }
            if started {
                let cpus = (self.cpus_of)(pid);
                let proc = self.main;
                self.emit(out, t, EventKind::ProcessStarted { proc, cpus });
            }
            return Ok(());
        }
        let Some(pid) = self.conns.get(&conn).and_then(|c| c.pid) else {
            // No `hello` first: not a traced process's connection.
            self.discarded += 1;
            return Ok(());
        };
        if kind != "start" {
            self.announce_bare(pid, out);
        }
        let me = self.proc_of(pid);
        match kind {
            "spawn" => {
                let Some(child) = pid_at(v, "pid") else {
                    return Ok(());
                };
                let name = text(v, "name").unwrap_or_else(|| format!("python (pid {child})"));
                self.announce(child, t, name, me, out);
                let proc = self.proc_of(child);
                if let (Some(pool), Some(p)) = (unum(v, "pool"), self.procs.get_mut(&child)) {
                    p.pool = Some((pid, pool));
                }
                if let Some(old) = pid_at(v, "replaces")
                    && let Some(exited) = self.procs.get(&old).map(|p| p.proc)
                {
                    self.emit(
                        out,
                        t,
                        EventKind::WorkerReplaced {
                            exited,
                            replacement: proc,
                        },
                    );
                }
            }
            "start" => {
                let hello_t = self.procs.get(&pid).and_then(|p| p.hello_t).unwrap_or(t);
                let parent = pid_at(v, "parent").map_or(self.main, |p| self.proc_of(p));
                let name = text(v, "name").unwrap_or_else(|| format!("python (pid {pid})"));
                self.announce(pid, hello_t, name, parent, out);
                let cpus = v
                    .get("cpus")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|c| c.as_u64())
                            .map(|c| c as u32)
                            .collect()
                    })
                    .unwrap_or_else(|| (self.cpus_of)(pid));
                self.emit(out, t, EventKind::ProcessStarted { proc: me, cpus });
            }
            "exit" => {
                if let (Some(code), Some(p)) = (num(v, "code"), self.procs.get_mut(&pid)) {
                    p.exit = Some((t, code as i32));
                }
            }
            "reaped" => {
                let Some(child) = pid_at(v, "pid") else {
                    return Ok(());
                };
                self.know(child, out);
                if let (Some(code), Some(p)) = (num(v, "code"), self.procs.get_mut(&child)) {
                    p.reaped.get_or_insert((t, code as i32));
                }
                self.announce_bare(child, out);
                self.try_exit(child, out);
            }
            "pool" => {
                let key = (pid, unum(v, "pool").unwrap_or(0));
                let size = unum(v, "size").unwrap_or(0) as u32;
                self.pools.insert(key, Pool::new(size, t));
            }
            "job" => {
                let pool = unum(v, "pool").unwrap_or(0);
                let api = api_of(&text(v, "api").unwrap_or_default());
                let cs = unum(v, "cs").unwrap_or(1).max(1);
                let n = unum(v, "n");
                let entry = self.pools.entry((pid, pool)).or_insert(Pool::new(0, t));
                if !entry.started {
                    entry.started = true;
                    let (workers, pool_t) = (entry.size, entry.t);
                    self.emit(
                        out,
                        pool_t,
                        EventKind::PoolStarted {
                            workers,
                            api,
                            chunksize: cs as u32,
                            tasks: n.unwrap_or(0),
                        },
                    );
                }
                self.job_index
                    .insert((pid, pool, unum(v, "job").unwrap_or(0)), self.jobs.len());
                self.jobs.push(Job {
                    cs,
                    n,
                    base: None,
                    t,
                    got: 0,
                });
                self.settle(out);
            }
            "jobn" => {
                let key = (
                    pid,
                    unum(v, "pool").unwrap_or(0),
                    unum(v, "job").unwrap_or(0),
                );
                if let Some(&i) = self.job_index.get(&key) {
                    let job = &mut self.jobs[i];
                    if job.n.is_none() {
                        job.n = unum(v, "n").or_else(|| unum(v, "chunks").map(|c| c * job.cs));
                        job.t = t;
                    }
                    self.settle(out);
                }
            }
            "ts" => {
                let task = self.worker_task(pid, v)?;
                if v.get("cn").is_some() || v.get("c").is_none() {
                    let count = unum(v, "cn").unwrap_or(1) as u32;
                    self.emit(
                        out,
                        t,
                        EventKind::TaskDispatched {
                            first: task,
                            count,
                            worker: me,
                        },
                    );
                }
                self.running.insert(pid, task);
                self.emit(out, t, EventKind::TaskStarted { task, worker: me });
            }
            "te" => {
                let task = self.worker_task(pid, v)?;
                self.running.remove(&pid);
                let result = if num(v, "ok") == Some(1) {
                    value_of(text(v, "r"))
                } else {
                    let name = self.procs.get(&pid).map_or("", |p| p.name.as_str());
                    let location = text(v, "at").unwrap_or_else(|| format!("{name}, task {task}"));
                    let tb = text(v, "tb");
                    self.errors.insert(task, (location.clone(), tb.clone()));
                    TaskResult::Error(Box::new(Self::error_of(v, location, tb)))
                };
                self.emit(
                    out,
                    t,
                    EventKind::TaskFinished {
                        task,
                        worker: me,
                        result,
                    },
                );
            }
            "got" => {
                let pool = unum(v, "pool").unwrap_or(0);
                let (i, base, _) = self.job(pid, pool, unum(v, "job").unwrap_or(0))?;
                self.jobs[i].got += 1;
                let index = base + unum(v, "x").unwrap_or(0);
                let result = if num(v, "ok") == Some(1) {
                    value_of(text(v, "r"))
                } else {
                    let (location, tb) = self
                        .errors
                        .remove(&index)
                        .unwrap_or_else(|| ("the caller".into(), None));
                    TaskResult::Error(Box::new(Self::error_of(v, location, tb)))
                };
                self.emit(out, t, EventKind::ResultConsumed { index, result });
            }
            "raised" => {
                let pool = unum(v, "pool").unwrap_or(0);
                let (i, _, _) = self.job(pid, pool, unum(v, "job").unwrap_or(0))?;
                let job = &self.jobs[i];
                let lost = match num(v, "lost") {
                    Some(n) if n >= 0 => n as u64,
                    _ => job.n.map_or(0, |n| n.saturating_sub(job.got)),
                };
                let error = Self::error_of(v, "the caller".into(), None);
                self.emit(
                    out,
                    t,
                    EventKind::CallerRaised {
                        error: Box::new(error),
                        lost_results: lost,
                    },
                );
            }
            "close" => self.emit(out, t, EventKind::PoolClosed),
            "terminate" => {
                if let Some(pool) = self.pools.get_mut(&(pid, unum(v, "pool").unwrap_or(0))) {
                    pool.terminated = true;
                }
                self.emit(
                    out,
                    t,
                    EventKind::PoolTerminated {
                        reason: KillReason::Program,
                    },
                );
            }
            "th_start" => {
                let tid = unum(v, "tid").unwrap_or(0) as u32;
                let name = text(v, "name").unwrap_or_default();
                let start = ThreadStart {
                    proc: me,
                    tid,
                    name,
                };
                self.emit(out, t, EventKind::ThreadStarted(Box::new(start)));
            }
            "th_end" => {
                let tid = unum(v, "tid").unwrap_or(0) as u32;
                self.emit(out, t, EventKind::ThreadEnded { proc: me, tid });
            }
            "out" => {
                let fd = if num(v, "fd") == Some(2) { 1 } else { 0 };
                let s = text(v, "s").unwrap_or_default();
                let partial = num(v, "p") == Some(1);
                let Some(p) = self.procs.get_mut(&pid) else {
                    return Ok(());
                };
                let joined = match p.partial[fd].take() {
                    Some(mut before) => {
                        before.push_str(&s);
                        before
                    }
                    None => s,
                };
                if partial && joined.len() < MAX_PARTIAL {
                    p.partial[fd] = Some(joined);
                } else {
                    self.output(me, STREAMS[fd], joined, t, out);
                }
            }
            "err" => {
                let text = format!(
                    "procviz tracer: {}: {} (×{})",
                    text(v, "where").unwrap_or_default(),
                    text(v, "msg").unwrap_or_default(),
                    unum(v, "count").unwrap_or(1)
                );
                tracing::warn!(pid, %text, "the Python tracer reported an error");
                self.output(me, Stream::Stderr, text, t, out);
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: u32 = 100;

    fn mapper() -> Mapper {
        Mapper::new(
            RunClock::starting_at(1_000),
            Arc::new(OutputBudget::new(1_000)),
            ProcId(1),
            MAIN,
            64,
            |_| vec![0, 1],
        )
    }

    fn events(actions: Vec<Action>) -> Vec<EventKind> {
        actions
            .into_iter()
            .filter_map(|a| match a {
                Action::Emit(_, k) => Some(k),
                _ => None,
            })
            .collect()
    }

    fn feed(m: &mut Mapper, conn: ConnId, lines: &[&str]) -> Vec<EventKind> {
        lines
            .iter()
            .flat_map(|l| events(m.line(conn, l.as_bytes())))
            .collect()
    }

    /// The main process's `hello` at `t`, on connection 1.
    fn main_hello(m: &mut Mapper, t: u64) {
        let line = format!(r#"{{"k":"hello","t":{t},"pid":{MAIN},"ppid":1,"via":"exec"}}"#);
        feed(m, 1, &[&line]);
    }

    #[test]
    fn a_worker_line_read_before_its_pool_is_known_waits_for_it() {
        let mut m = mapper();
        main_hello(&mut m, 2000);
        // The worker's lines arrive before the parent's spawn and job lines were read.
        let early = feed(
            &mut m,
            2,
            &[
                r#"{"k":"hello","t":3000,"pid":101,"ppid":100,"via":"fork"}"#,
                r#"{"k":"start","t":3100,"name":"ForkPoolWorker-1","role":"pool_worker","parent":100,"cpus":[0]}"#,
                r#"{"k":"ts","t":5000,"job":0,"i":0}"#,
                r#"{"k":"te","t":6000,"job":0,"i":0,"ok":0,"et":"ZeroDivisionError","em":"division by zero","at":"p.py:8 in f","tb":"Traceback"}"#,
                r#"{"k":"ts","t":6100,"job":0,"i":4}"#,
            ],
        );
        assert!(
            matches!(&early[..], [EventKind::ProcessSpawned { name, .. }, EventKind::ProcessStarted { .. }] if name == "ForkPoolWorker-1"),
            "{early:?}"
        );
        let late = feed(
            &mut m,
            1,
            &[
                r#"{"k":"pool","t":2500,"pool":1,"kind":"pool","size":4,"method":"fork"}"#,
                r#"{"k":"spawn","t":2500,"pid":101,"name":"ForkPoolWorker-1","method":"fork","daemon":1,"pool":1}"#,
                r#"{"k":"job","t":4000,"pool":1,"job":0,"api":"imap","cs":1,"n":10}"#,
                r#"{"k":"got","t":6500,"pool":1,"job":0,"x":0,"ok":0,"et":"ZeroDivisionError","em":"division by zero"}"#,
                r#"{"k":"got","t":7000,"pool":1,"job":0,"x":1,"ok":1,"r":"'one'"}"#,
            ],
        );
        let w = ProcId(2);
        assert_eq!(
            late,
            vec![
                EventKind::PoolStarted {
                    workers: 4,
                    api: PoolApi::Imap,
                    chunksize: 1,
                    tasks: 10
                },
                EventKind::TasksQueued {
                    first: 0,
                    count: 10
                },
                EventKind::TaskDispatched {
                    first: 0,
                    count: 1,
                    worker: w
                },
                EventKind::TaskStarted { task: 0, worker: w },
                EventKind::TaskFinished {
                    task: 0,
                    worker: w,
                    result: TaskResult::Error(Box::new(TaskError {
                        error_type: "ZeroDivisionError".into(),
                        message: "division by zero".into(),
                        location: "p.py:8 in f".into(),
                        traceback: Some("Traceback".into()),
                    })),
                },
                EventKind::TaskDispatched {
                    first: 4,
                    count: 1,
                    worker: w
                },
                EventKind::TaskStarted { task: 4, worker: w },
                EventKind::ResultConsumed {
                    index: 0,
                    result: TaskResult::Error(Box::new(TaskError {
                        error_type: "ZeroDivisionError".into(),
                        message: "division by zero".into(),
                        location: "p.py:8 in f".into(),
                        traceback: Some("Traceback".into()),
                    })),
                },
                EventKind::ResultConsumed {
                    index: 1,
                    result: TaskResult::Repr {
                        text: "'one'".into()
                    }
                },
            ]
        );
    }

    #[test]
    fn a_job_after_an_imap_of_unknown_length_is_numbered_once_that_length_is_known() {
        let mut m = mapper();
        let queued = |events: Vec<EventKind>| -> Vec<(u64, u64)> {
            events
                .into_iter()
                .filter_map(|e| match e {
                    EventKind::TasksQueued { first, count } => Some((first, count)),
                    _ => None,
                })
                .collect()
        };
        main_hello(&mut m, 2000);
        let before = feed(
            &mut m,
            1,
            &[
                r#"{"k":"job","t":3000,"pool":1,"job":0,"api":"imap","cs":1}"#,
                r#"{"k":"job","t":4000,"pool":1,"job":1,"api":"map","cs":1,"n":3}"#,
            ],
        );
        assert_eq!(queued(before), []);
        let after = feed(
            &mut m,
            1,
            &[
                r#"{"k":"jobn","t":5000,"pool":1,"job":0,"n":5}"#,
                r#"{"k":"job","t":6000,"pool":1,"job":2,"api":"apply_async","cs":1,"n":1}"#,
            ],
        );
        assert_eq!(queued(after), [(0, 5), (5, 3), (8, 1)]);
    }

    #[test]
    fn a_reaped_child_exits_after_its_last_line_with_the_signal_and_who_sent_it() {
        let mut m = mapper();
        main_hello(&mut m, 2000);
        feed(
            &mut m,
            2,
            &[r#"{"k":"hello","t":3000,"pid":101,"ppid":100,"via":"fork"}"#],
        );
        let spawned = feed(
            &mut m,
            1,
            &[
                r#"{"k":"pool","t":2500,"pool":1,"kind":"pool","size":1,"method":"fork"}"#,
                r#"{"k":"spawn","t":2500,"pid":101,"name":"ForkPoolWorker-1","method":"fork","daemon":1,"pool":1}"#,
                r#"{"k":"terminate","t":8000,"pool":1}"#,
                r#"{"k":"reaped","t":9000,"pid":101,"code":-15}"#,
            ],
        );
        assert!(
            !spawned
                .iter()
                .any(|e| matches!(e, EventKind::ProcessExited { .. })),
            "the worker's connection is still open: {spawned:?}"
        );
        let last = feed(
            &mut m,
            2,
            &[r#"{"k":"out","t":8500,"fd":1,"s":"last words"}"#],
        );
        assert!(matches!(&last[..], [EventKind::Output { text, .. }] if text == "last words"));
        let end = m.closed(2, 8600);
        assert_eq!(
            end,
            vec![Action::Emit(
                RunTime(7600),
                EventKind::ProcessExited {
                    proc: ProcId(2),
                    status: ExitStatus::Signal { signal: 15 },
                    killed_by: Some(KillReason::Program),
                    cpu_time_ns: None,
                }
            )]
        );
    }

    #[test]
    fn partial_lines_join_and_the_process_limit_is_said_once() {
        let mut m = Mapper::new(
            RunClock::starting_at(0),
            Arc::new(OutputBudget::new(1_000)),
            ProcId(1),
            MAIN,
            3,
            |_| Vec::new(),
        );
        main_hello(&mut m, 1);
        let out = feed(
            &mut m,
            1,
            &[
                r#"{"k":"out","t":2,"fd":1,"s":"Sq","p":1}"#,
                r#"{"k":"out","t":3,"fd":2,"s":"oops"}"#,
                r#"{"k":"out","t":4,"fd":1,"s":"uare: 100"}"#,
            ],
        );
        let texts: Vec<&str> = out
            .iter()
            .filter_map(|e| match e {
                EventKind::Output { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, ["oops", "Square: 100"]);
        let mut too_many = 0;
        for pid in 101..106 {
            let line = format!(r#"{{"k":"hello","t":5,"pid":{pid},"ppid":100,"via":"fork"}}"#);
            too_many += m
                .line(pid as u64, line.as_bytes())
                .iter()
                .filter(|a| **a == Action::TooMany)
                .count();
        }
        assert_eq!(too_many, 1);
    }
}
