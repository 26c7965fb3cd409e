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
//! Every tagged object (events, task results, server messages) has its `"type"` as its first
//! field: procviz writes it first, and readers of this crate require it (so they read without
//! buffering; see `tagged.rs`).
//!
//! ## Versioning
//! Adding an optional field or a new variant that old clients may ignore keeps the version;
//! removing or changing the meaning of anything bumps [`PROTOCOL_VERSION`].

use serde::{Deserialize, Serialize};
use std::fmt;

pub mod demo;
pub mod event;
pub mod lessons;
mod tagged;
pub use demo::{
    CrashSignal, DemoRequest, PoolParams, ProcessesParams, PythonParams, PythonProgram,
    TwoProcessesParams, Work,
};
pub use event::{
    CoreShare, Event, EventKind, ExitStatus, Interpreter, KillReason, PoolApi, ProgramText,
    RunOutcome, RunStart, Stream, TaskError, TaskResult, ThreadStart, signal_name,
};
pub use lessons::{Lesson, LessonRun, RunWith};

/// Version of this protocol, sent in [`ServerMessage::Hello`]. A client that does not know the
/// version should say so rather than guess.
///
/// - 1: the first version.
/// - 2: `/ws` needs a token (see [`Role`]); the hello says the connection's role; the error
///   kind [`ErrorKind::Forbidden`]; the [`ServerMessage::Audience`] message. A version-1
///   hello (no `role`) still reads, as a presenter's.
pub const PROTOCOL_VERSION: u32 = 2;

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
        /// [`RunStart::request`] so that a client can tell the runs it started
        /// from other clients' runs (absent: no label).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<String>,
    },
    /// Stop a run: its processes get SIGTERM, then SIGKILL after a grace period. The run
    /// ends with [`RunOutcome::Cancelled`]. Cancelling a finished run the server still holds
    /// is not an error; a run it does not hold (never started, or forgotten) is
    /// [`ErrorKind::NotFound`]. Presenters only ([`ErrorKind::Forbidden`] for viewers).
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

crate::tagged::tagged_enum! {
/// A message from the server to the client.
#[derive(Clone, Debug, PartialEq)]
pub enum ServerMessage / ExternalServerMessage ("ServerMessage") {
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
        /// What this connection may do: the token it showed decides.
        #[serde(default)]
        role: Role,
        /// Whether this server can run real Python programs ([`DemoRequest::Python`]), and with
        /// which interpreter; absent from servers that do not say (read it as unavailable).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        python: Option<PythonSupport>,
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
    /// How many view-only connections follow this server's runs (students' screens in
    /// lecture-hall mode). Sent after the hello and whenever the number changes.
    Audience {
        /// View-only connections open now.
        viewers: u32,
    },
}
}

impl ServerMessage {
    /// Reads a message from its JSON text (a WebSocket text frame). Compiled here, not in
    /// each reader: the page's WebAssembly build optimizes this crate for speed and the rest
    /// for size ([`Event::from_json`] says why).
    pub fn from_json(text: &str) -> Result<ServerMessage, serde_json::Error> {
        // Bytes, as events are read (one copy of the reader in the page's WebAssembly).
        serde_json::from_slice(text.as_bytes())
    }
}

/// Whether a server can run real Python programs ([`ServerMessage::Hello::python`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PythonSupport {
    /// This interpreter runs them (probed when the server started).
    Available {
        /// The interpreter.
        interpreter: Interpreter,
    },
    /// None can: why (no `python3` on PATH, a version before 3.8, …).
    Unavailable {
        /// The reason, one sentence.
        reason: String,
    },
}

/// What a connection may do, decided by the token it showed when it connected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The presenter's token: may start, cancel and kill, and follow every run.
    #[default]
    Presenter,
    /// A view-only token (lecture-hall mode): follows every run live, and is refused
    /// ([`ErrorKind::Forbidden`]) when it asks to start, cancel or kill.
    Viewer,
}

impl Role {
    /// Whether this role may start, cancel and kill runs.
    pub fn may_command(self) -> bool {
        self == Role::Presenter
    }
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
    /// The connection's token does not allow this command (a view-only token asked to
    /// start, cancel or kill); nothing was done.
    Forbidden,
    /// The server failed to carry out a valid command (for example a process could not be
    /// spawned). The message says what failed.
    Internal,
}

#[cfg(test)]
mod tests;
