//! # procviz wire protocol
//!
//! The types the backend and the page exchange over `/ws`, and that the headless CLI writes as
//! NDJSON. This crate is the protocol only: serde types, no I/O, no runtime, no web framework.
//!
//! ## Shape of a session
//! 1. The client opens `/ws`; the server sends [`ServerMessage::Hello`] with [`PROTOCOL_VERSION`].
//! 2. The client sends [`ClientMessage`] commands as JSON text frames (at most
//!    [`MAX_CLIENT_MESSAGE_BYTES`] each).
//! 3. The server answers a command it cannot carry out with [`ServerMessage::Error`]; the
//!    connection stays open.
//! 4. For every run the client started or subscribed to, the server sends the events recorded
//!    so far (the snapshot) and then, on each tick, the new ones, many per frame
//!    ([`ServerMessage::Events`]). Nothing is dropped silently: a gap is counted in
//!    [`ServerMessage::Events::dropped`].
//!
//! ## Time
//! Every [`Event`] carries a [`RunTime`]: nanoseconds since its run started, read from the
//! system monotonic clock (`CLOCK_MONOTONIC`, one clock for every process on the machine) by
//! the process where the event happened.
//!
//! ## Versioning
//! Adding an optional field or a new variant that old clients may ignore keeps the version;
//! removing or changing the meaning of anything bumps [`PROTOCOL_VERSION`].

use serde::{Deserialize, Serialize};
use std::fmt;

pub mod demo;
pub mod lessons;
pub use demo::{CrashSignal, DemoRequest, PoolParams, ProcessesParams, TwoProcessesParams, Work};
pub use lessons::{Lesson, LessonRun};

/// Version of this protocol, sent in [`ServerMessage::Hello`]. A client that does not know the
/// version should say so rather than guess.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest client→server message the server accepts, in bytes. A larger one is answered
/// with an [`ErrorKind::TooLarge`] error and otherwise ignored.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;

/// Nanoseconds since the start of a run, on the system monotonic clock.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct RunTime(pub u64);

impl RunTime {
    /// The start of the run.
    pub const ZERO: RunTime = RunTime(0);

    /// From milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        RunTime(ms * 1_000_000)
    }

    /// Nanoseconds since the run started.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since the run started, as a float (for display and layout).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: RunTime) -> RunTime {
        RunTime(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Display for RunTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3} s", self.as_secs_f64())
    }
}

/// Identifies a run on one server, unique for the server's lifetime (starting at 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub u64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "run {}", self.0)
    }
}

/// Identifies a process within a run. `ProcId(0)` is always the run's main process (the
/// procviz server itself, which plays the role of Python's `MainProcess`); children count from 1
/// in the order they were spawned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProcId(pub u32);

impl ProcId {
    /// The run's main process.
    pub const MAIN: ProcId = ProcId(0);
}

/// A command from the client (the page, or any WebSocket client) to the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Start a new run of a demo. The server answers with the run's events (starting with
    /// [`EventKind::RunStarted`]) or with an [`ServerMessage::Error`].
    StartRun {
        /// Which demo, with its parameters.
        demo: DemoRequest,
        /// Keep the run going when this connection closes (default false: a closed tab
        /// cancels the runs it started).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        keep_on_disconnect: bool,
        /// How often the run's threads are sampled for the per-core lanes, in milliseconds
        /// (1 to 100; absent: the server's default, announced in `sampler_started`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sample_ms: Option<u32>,
        /// Actions the server carries out at set times into the run (empty: none). The lesson
        /// "A worker dies" kills a worker this way, so the page, the CLI and the tests run
        /// exactly the same thing.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        schedule: Vec<Scheduled>,
        /// The client's own label for this request, echoed in the run's
        /// [`EventKind::RunStarted::request`] so that a client can tell the runs it started
        /// from other clients' runs (absent: no label).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<String>,
    },
    /// Stop a run: its processes get SIGTERM, then SIGKILL after a grace period. The run
    /// ends with [`RunOutcome::Cancelled`]. Cancelling a finished run is not an error.
    CancelRun {
        /// The run to stop.
        run: RunId,
    },
    /// Send SIGKILL to one process of a run (a pool worker, say), to see what happens. The
    /// process's exit records [`KillReason::User`].
    KillProcess {
        /// The run.
        run: RunId,
        /// The process within the run (not the main process).
        proc: ProcId,
    },
    /// Receive a run's events: everything recorded so far, then new events as they happen.
    /// Used after a reload or by a second viewer.
    Subscribe {
        /// The run to follow.
        run: RunId,
    },
}

impl ClientMessage {
    /// [`ClientMessage::StartRun`] of `demo`, cancelled when the connection closes.
    pub const fn start(demo: DemoRequest) -> Self {
        ClientMessage::StartRun {
            demo,
            keep_on_disconnect: false,
            sample_ms: None,
            schedule: Vec::new(),
            request: None,
        }
    }
}

/// An action the server carries out at a set time into a run (see
/// [`ClientMessage::StartRun::schedule`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scheduled {
    /// When, in milliseconds after the run started (at most [`Scheduled::MAX_AT_MS`]).
    pub at_ms: u64,
    /// What.
    pub action: RunAction,
}

impl Scheduled {
    /// The latest time an action may be scheduled for, milliseconds (the longest run).
    pub const MAX_AT_MS: u64 = 10 * 60 * 1000;
    /// The most actions one run may schedule.
    pub const MAX_ACTIONS: usize = 16;
}

/// What a [`Scheduled`] action does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RunAction {
    /// SIGKILL the run's process with this name (`PoolWorker-2`), as
    /// [`ClientMessage::KillProcess`] would; its exit records [`KillReason::User`]. If no
    /// live process has the name at that time, nothing happens.
    KillProcess {
        /// The process's name.
        name: String,
    },
}

/// A message from the server to the client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First message on every connection.
    Hello {
        /// The server's [`PROTOCOL_VERSION`].
        protocol_version: u32,
        /// The procviz version (the backend crate's version).
        server_version: String,
        /// Number of CPU cores the machine has online.
        cores: u32,
        /// Runs the server still holds, oldest first (empty when there are none), so a
        /// reloaded page can subscribe to them again.
        runs: Vec<RunSummary>,
    },
    /// A batch of events, in sequence order per run. Sent once per tick when there is
    /// anything new, never one frame per event.
    Events {
        /// The events, possibly of several runs; within a run, `seq` increases by one.
        events: Vec<Event>,
        /// Events the server could not deliver to this client since the previous batch
        /// (0 when nothing was lost). The client should show this number.
        dropped: u64,
    },
    /// A command could not be carried out. The connection stays open.
    Error(CommandError),
}

/// A short description of a run the server holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The run.
    pub run: RunId,
    /// The demo it runs.
    pub demo: DemoRequest,
    /// Whether the run has finished.
    pub finished: bool,
}

/// Why a client's command was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandError {
    /// The category of the problem.
    pub kind: ErrorKind,
    /// A sentence for the user saying what was wrong and, where possible, what to do.
    pub message: String,
}

/// Categories of [`CommandError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The message was not valid JSON, or not a text frame.
    Malformed,
    /// Valid JSON, but not a command this server knows (unknown type or fields).
    Unknown,
    /// The message was larger than [`MAX_CLIENT_MESSAGE_BYTES`].
    TooLarge,
    /// A parameter was out of range; nothing was started.
    InvalidParameter,
    /// The run named does not exist (or was forgotten).
    NotFound,
    /// A server limit (for example concurrent runs) was reached; nothing was started.
    LimitReached,
    /// The server failed to carry out a valid command (for example a process could not be
    /// spawned). The message says what failed.
    Internal,
}

/// Something that happened in a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The run it belongs to.
    pub run: RunId,
    /// Position in the run's event log, from 0, without gaps.
    pub seq: u64,
    /// When it happened, taken at the source.
    pub t: RunTime,
    /// What happened.
    pub kind: EventKind,
}

/// What [`EventKind::RunStarted`] says of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStart {
    /// The demo and its parameters, as started.
    pub demo: DemoRequest,
    /// A human title for the run ("Two processes").
    pub title: String,
    /// The machine's online core count when the run started.
    pub cores: u32,
    /// PID of the main process (the procviz server).
    pub main_pid: u32,
    /// The label the starting client gave its request
    /// ([`ClientMessage::StartRun::request`]); absent when it gave none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The timed actions the run carries out ([`ClientMessage::StartRun::schedule`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<Scheduled>,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The run began (always `seq` 0, `t` 0). Its fields are those of [`RunStart`], on the
    /// event itself (boxed in memory: events stay small).
    RunStarted(Box<RunStart>),
    /// A process was created (the parent's view: it has a PID but may not run yet).
    ProcessSpawned {
        /// The process within the run.
        proc: ProcId,
        /// Its operating-system process ID.
        pid: u32,
        /// Its name, as Python would name it (`Process-1`, `PoolWorker-3`, ...).
        name: String,
        /// The process that started it ([`ProcId::MAIN`] for the run's own children).
        parent: ProcId,
    },
    /// The process began executing its work (the child's own report).
    ProcessStarted {
        /// The process.
        proc: ProcId,
        /// The CPU cores it is allowed to run on (its affinity), ascending.
        cpus: Vec<u32>,
    },
    /// A line the process wrote to its stdout or stderr (without the line break).
    Output {
        /// The process that wrote it.
        proc: ProcId,
        /// Which stream.
        stream: Stream,
        /// The line, decoded as UTF-8 (invalid bytes replaced).
        text: String,
    },
    /// The process ended and was reaped.
    ProcessExited {
        /// The process.
        proc: ProcId,
        /// How it ended.
        status: ExitStatus,
        /// Who ended it when it did not end by itself (absent when it did).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        killed_by: Option<KillReason>,
        /// CPU time it used (user + system, all threads), in nanoseconds, from the kernel's
        /// accounting at its exit (absent when unknown).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cpu_time_ns: Option<u64>,
    },
    /// The run ended: every process of it has exited.
    RunFinished {
        /// How it ended.
        outcome: RunOutcome,
    },
    /// A pool was created (before its workers are spawned).
    PoolStarted {
        /// Number of worker processes.
        workers: u32,
        /// The API the caller uses.
        api: PoolApi,
        /// Tasks per chunk (Python's default for the API unless given).
        chunksize: u32,
        /// Number of tasks.
        tasks: u64,
    },
    /// Tasks `first .. first + count` were put into the pool's one FIFO queue (Python queues
    /// every input at once).
    TasksQueued {
        /// First task number.
        first: u64,
        /// How many.
        count: u64,
    },
    /// A worker took a chunk of tasks from the queue (stamped by the worker).
    TaskDispatched {
        /// First task of the chunk.
        first: u64,
        /// Tasks in the chunk.
        count: u32,
        /// The worker that took it.
        worker: ProcId,
    },
    /// A worker began a task (stamped by the worker).
    TaskStarted {
        /// The task number.
        task: u64,
        /// The worker.
        worker: ProcId,
    },
    /// A task ended with a value or an error (stamped by the worker; for a task lost with its
    /// worker, by the server when it saw the worker die).
    TaskFinished {
        /// The task number.
        task: u64,
        /// The worker that ran it.
        worker: ProcId,
        /// Its value or error.
        result: TaskResult,
    },
    /// The caller received a task's result, in the order and at the moment its API delivers
    /// it (`imap`: input order as soon as all earlier tasks are done; `imap_unordered` and
    /// `apply_async` callbacks: completion order; `map`: all at once at the end).
    ResultConsumed {
        /// The task number (the input's index).
        index: u64,
        /// What the caller got: a value, or the error `next()`/`get()` raised.
        result: TaskResult,
    },
    /// The caller's call raised and the remaining results are lost (`map` with a failing
    /// task: the first error, after every task finished; `imap` with chunks: the first failing
    /// chunk, after which the iterator is exhausted).
    CallerRaised {
        /// The error raised.
        error: Box<TaskError>,
        /// Results the caller will never see because of it.
        lost_results: u64,
    },
    /// A worker ended and a new one took its place (`maxtasksperchild`, or a worker that
    /// died).
    WorkerReplaced {
        /// The worker that ended.
        exited: ProcId,
        /// Its replacement.
        replacement: ProcId,
    },
    /// The pool stopped taking work; its workers finish the queue and exit (Python's `close`
    /// then `join`).
    PoolClosed,
    /// The pool's workers were stopped with SIGTERM (Python's `terminate`).
    PoolTerminated {
        /// Why.
        reason: KillReason,
    },
    /// The run's processes are sampled from the kernel every `interval_ms` (per-core lanes).
    SamplerStarted {
        /// The sampling interval, milliseconds.
        interval_ms: u32,
    },
    /// Where one thread of the run was during `start .. end` (the event's `t` is `end`), from
    /// `/proc/<pid>/task/<tid>/{stat,schedstat}`: `on_cpu_ns` running on `core` (the core it
    /// last ran on in the interval), `waiting_ns` runnable but waiting for a core, the rest
    /// sleeping or blocked. Consecutive intervals of the same kind (fully running on one core,
    /// or fully asleep) are merged into one segment.
    ThreadSegment {
        /// The process.
        proc: ProcId,
        /// The thread's ID (equal to the PID for its main thread).
        tid: u32,
        /// The core it ran on; absent for a segment spent asleep.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        core: Option<u32>,
        /// Start of the segment.
        start: RunTime,
        /// Nanoseconds on a CPU during the segment.
        on_cpu_ns: u64,
        /// Nanoseconds runnable but waiting for a core.
        waiting_ns: u64,
        /// Time slices it got on a CPU during the segment.
        slices: u32,
    },
    /// Each core's load during `start .. end` (the event's `t` is `end`), from `/proc/stat`,
    /// one entry per core in core order.
    CoreLoad {
        /// Start of the window.
        start: RunTime,
        /// Per core: how busy it was, and how much of that was this run.
        cores: Vec<CoreShare>,
    },
    /// Output of a process was discarded because the run's output limit was reached.
    OutputDropped {
        /// The process.
        proc: ProcId,
        /// Lines discarded so far for this run (a running total).
        lines: u64,
    },
}

/// One core's load over a window: `busy` (anything) and `run` (this run's threads), each a
/// fraction from 0 to 1; `busy - run` is load from outside the run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoreShare {
    /// Fraction of the window the core was busy.
    pub busy: f32,
    /// Fraction of the window this run's threads ran on it.
    pub run: f32,
}

/// The pool APIs procviz mirrors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolApi {
    /// `pool.map(f, inputs)`: results in input order, all at the end; the first error is
    /// raised after every task finished.
    Map,
    /// `pool.imap(f, inputs)`: results in input order, each as soon as it and all before it
    /// are done; an error is raised by `next()` and iteration continues.
    #[default]
    Imap,
    /// `pool.imap_unordered(f, inputs)`: results in completion order.
    ImapUnordered,
    /// `pool.apply_async(f, (n,), callback=...)` per input: callbacks in completion order.
    ApplyAsync,
}

impl PoolApi {
    /// Python's name of the call.
    pub fn python_name(self) -> &'static str {
        match self {
            PoolApi::Map => "map",
            PoolApi::Imap => "imap",
            PoolApi::ImapUnordered => "imap_unordered",
            PoolApi::ApplyAsync => "apply_async",
        }
    }

    /// Python's default chunk size for `tasks` inputs on `workers` workers: 1 for `imap`,
    /// `imap_unordered` and `apply_async`; for `map`, `ceil(tasks / (4 × workers))` (0 for no
    /// tasks).
    pub fn default_chunksize(self, tasks: u64, workers: u32) -> u32 {
        match self {
            PoolApi::Map => {
                if tasks == 0 {
                    return 0;
                }
                let per = 4 * u64::from(workers.max(1));
                tasks.div_ceil(per).min(u64::from(u32::MAX)) as u32
            }
            _ => 1,
        }
    }
}

/// What a task produced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskResult {
    /// It returned this value.
    Value {
        /// The value.
        value: i64,
    },
    /// It raised, or was lost with its worker (boxed: a result is small in memory).
    Error(Box<TaskError>),
}

/// An error a task raised (or the loss of a task with its worker).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskError {
    /// The exception type (`ZeroDivisionError`), or `WorkerLost` for a task whose worker died.
    pub error_type: String,
    /// The message (`division by zero`).
    pub message: String,
    /// Where it happened: worker, task and step (`PoolWorker-1, task 0, step 2 (fail)`).
    pub location: String,
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl fmt::Display for TaskResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskResult::Value { value } => write!(f, "{value}"),
            TaskResult::Error(e) => e.fmt(f),
        }
    }
}

/// An output stream of a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExitStatus {
    /// It exited with this code (0 = success).
    Code {
        /// The exit code.
        code: i32,
    },
    /// It was ended by this signal.
    Signal {
        /// The signal number (9 = SIGKILL, 15 = SIGTERM, ...).
        signal: i32,
    },
}

impl ExitStatus {
    /// The value Python's `Process.exitcode` shows: the code, or minus the signal number.
    pub fn python_exitcode(self) -> i32 {
        match self {
            ExitStatus::Code { code } => code,
            ExitStatus::Signal { signal } => -signal,
        }
    }

    /// True when the process exited with code 0.
    pub fn success(self) -> bool {
        self == ExitStatus::Code { code: 0 }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ExitStatus::Code { code } => write!(f, "exit code {code}"),
            ExitStatus::Signal { signal } => {
                write!(
                    f,
                    "killed by {} (exit code {})",
                    signal_name(signal),
                    -signal
                )
            }
        }
    }
}

/// Who ended a process that did not end by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KillReason {
    /// The user cancelled the run.
    Cancelled,
    /// The client that started the run disconnected.
    ClientGone,
    /// The server was shutting down.
    ServerShutdown,
    /// A run limit (for example the run-time limit) was reached.
    LimitReached,
    /// The user killed this process (the kill button on its lane).
    User,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunOutcome {
    /// Everything ran to its end (individual processes may still have failed).
    Completed,
    /// The run was stopped before its end.
    Cancelled {
        /// Why.
        reason: KillReason,
    },
    /// The run could not continue (for example a process could not be spawned).
    Failed {
        /// What went wrong.
        message: String,
    },
}

/// The conventional name of a Linux signal number (`SIGKILL` for 9), or `signal N`.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests;
