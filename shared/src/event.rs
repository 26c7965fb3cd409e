//! What happens in a run: [`Event`]s and the types they are made of (exit statuses, task
//! results, kill reasons, outcomes). Part of the protocol; re-exported at the crate root.

use crate::{DemoRequest, ProcId, RunId, RunTime, Scheduled};
use serde::{Deserialize, Serialize};
use std::fmt;

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

impl Event {
    /// Reads an event from its JSON (one line of a recording). A non-generic function of this
    /// crate, so the reading code is compiled with this crate's optimization: the page's
    /// WebAssembly build optimizes the protocol for speed (it runs for every event of a
    /// million-task recording) and the page's own code for size.
    pub fn from_json(line: &[u8]) -> Result<Event, serde_json::Error> {
        serde_json::from_slice(line)
    }

    /// Reads the events of NDJSON `text` (whole lines: one event per line, blank lines
    /// allowed), in order, without splitting it into lines first: `each` gets every event,
    /// or a line that is not one (its bytes, trimmed, and why), after which reading goes on
    /// at the next line. Compiled in this crate, as [`Event::from_json`] is, and one pass over
    /// the text instead of two (a 1M-task recording is about 500 MB).
    pub fn each_in_lines(text: &[u8], each: &mut dyn FnMut(Result<Event, BadLine<'_>>)) {
        let mut at = 0;
        while at < text.len() {
            let mut stream = serde_json::Deserializer::from_slice(&text[at..]).into_iter::<Event>();
            let failed = loop {
                match stream.next() {
                    None => return,
                    Some(Ok(event)) => each(Ok(event)),
                    Some(Err(e)) => break e,
                }
            };
            // The line that failed starts after the last event read (and the white space
            // after it); reading goes on after its end.
            let read = at + stream.byte_offset();
            let start = text[read..]
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .map_or(text.len(), |n| read + n);
            let rest = &text[start..];
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |n| start + n);
            each(Err((text[start..end].trim_ascii(), failed)));
            at = end + 1;
        }
    }
}

/// A line of NDJSON that is not an event ([`Event::each_in_lines`]): its bytes, trimmed, and
/// why it is not one.
pub type BadLine<'a> = (&'a [u8], serde_json::Error);

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
    /// ([`crate::ClientMessage::StartRun::request`]); absent when it gave none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The timed actions the run carries out ([`crate::ClientMessage::StartRun::schedule`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<Scheduled>,
    /// The interpreter that runs the program, for a run of a real Python program
    /// ([`DemoRequest::Python`]); absent for procviz's own runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<Interpreter>,
    /// The program a real Python run runs, exactly as it ran (a shipped program's text too,
    /// so the page can show and edit it); absent for procviz's own runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<ProgramText>,
}

/// The text of the program a real Python run ran ([`RunStart::program`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramText {
    /// Its file name (`pool_imap.py`; typed code runs as `main.py`).
    pub file: String,
    /// Its source.
    pub source: String,
}

/// The interpreter of a real Python run ([`RunStart::interpreter`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interpreter {
    /// Its implementation: `CPython`.
    pub name: String,
    /// Its version, `3.11.7`.
    pub version: String,
    /// Its executable (`sys.executable`).
    pub executable: String,
    /// `multiprocessing`'s default start method on it (`fork`, `spawn`, `forkserver`); the
    /// program may choose another (its processes' own method is in the trace). Absent when
    /// unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_method: Option<String>,
}

crate::tagged::tagged_enum! {
/// What happened.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind / ExternalEventKind ("EventKind") {
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
        /// Lines discarded so far for this run (a running total, as this process's output
        /// reader saw it: reports from the readers of two processes may arrive out of order,
        /// so the largest one seen is the run's total).
        lines: u64,
    },
    /// A thread of a process began running (a real Python program's `threading.Thread`; its
    /// main thread, whose ID is the PID, gets none). Boxed: events stay small.
    ThreadStarted(Box<ThreadStart>),
    /// A thread of a process ended (daemon threads killed at exit report none: their process's
    /// exit ends them).
    ThreadEnded {
        /// The process.
        proc: ProcId,
        /// The thread's ID, as in `/proc/<pid>/task/<tid>` and [`EventKind::ThreadSegment`].
        tid: u32,
    },
}
}

/// What [`EventKind::ThreadStarted`] says of a thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadStart {
    /// The process it belongs to.
    pub proc: ProcId,
    /// Its thread ID (native, as in `/proc/<pid>/task/<tid>`).
    pub tid: u32,
    /// Its name (`Thread-1 (burn_cpu)`, `Thread-3 (_handle_results)`).
    pub name: String,
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

crate::tagged::tagged_enum! {
/// What a task produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskResult / ExternalTaskResult ("TaskResult") {
    /// It returned this value.
    Value {
        /// The value.
        value: i64,
    },
    /// It raised, or was lost with its worker (boxed: a result is small in memory).
    Error(Box<TaskError>),
    /// It returned a value that is not an integer (a real Python program's result: its
    /// `repr`, at most 200 characters, cut with `…`).
    Repr {
        /// The value's `repr` (`'done'`, `(1, 2)`, `None`).
        text: String,
    },
}
}

/// An error a task raised (or the loss of a task with its worker).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskError {
    /// The exception type (`ZeroDivisionError`), or `WorkerLost` for a task whose worker died.
    pub error_type: String,
    /// The message (`division by zero`).
    pub message: String,
    /// Where it happened: worker, task and step (`PoolWorker-1, task 0, step 2 (fail)`), or
    /// for a real Python program the innermost frame (`pool_imap.py:8 in my_awesome_foo`).
    pub location: String,
    /// The worker's formatted traceback, as Python prints it (a real Python program's errors;
    /// absent for procviz's runtime and where it is unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceback: Option<String>,
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
            TaskResult::Repr { text } => f.write_str(text),
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
    /// The program itself: a real Python program's `Pool.terminate()`, or leaving its
    /// `with Pool()` block.
    Program,
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
