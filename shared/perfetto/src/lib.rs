//! # A procviz run as a Perfetto trace
//!
//! One file in the Chrome JSON trace format, which Perfetto (ui.perfetto.dev) and
//! `chrome://tracing` open, written from a run's events ([`shared::Event`]) by the same
//! [`TraceWriter`] in three places: `procviz run … --trace FILE.json` while the run goes,
//! `procviz convert RUN.ndjson --perfetto FILE.json` from a recording, and the page's
//! **Download trace** / **Open in Perfetto**. No I/O but the [`std::io::Write`] it is given.
//!
//! ## What the file holds
//! ```text
//! {"traceEvents":[ …one event per line… ],
//! "systemTraceEvents":"# tracer: nop\n…sched_switch lines…\n",
//! "metadata":{ the run, its parameters, its outcome, what the CPU tracks are }}
//! ```
//! - `traceEvents`: `M` events naming every process (`process_name`, the real PID) and
//!   thread, with sort indices in the page's lane order (the cores' `CPUs`, `MainProcess`,
//!   then the children in spawn order); an `X` event per pool task on its worker's main
//!   thread (`task 4`, its result or error, its worker); an instant per exit (code or
//!   signal, and who killed it), for the caller's raise and for the run's start (with its
//!   parameters) and end; a counter per core (`core 0`: busy % and this run's %) on the
//!   pseudo-process `CPUs` ([`CPUS_PID`]). Times (`ts`, `dur`) are microseconds since the run
//!   started, with the nanoseconds as decimals, so tasks that touch in the run touch here
//!   and a worker's tasks nest (Perfetto moves partial overlaps to another track).
//! - `systemTraceEvents`: ftrace text in which `sched_switch` lines put each thread on the
//!   core it ran on, built from the sampler's `thread_segment`s ([`sched`]): sampled (every
//!   20 ms by default), not exact switches, which the metadata says. Same clock as
//!   `traceEvents` (seconds since the run started).
//!
//! ## Streaming
//! Events are taken one by one, in `seq` order, and each `traceEvents` entry is written as
//! soon as it is known (a task when it finishes). Kept in memory until [`TraceWriter::finish`]:
//! the processes' names, the tasks still running, and the sampled segments on a core (a few
//! per thread per interval: thousands for a long run, not one per task). A million-task run
//! is written without a second copy of it in memory.

pub mod sched;
pub mod text;
mod writer;

pub use writer::{CPUS_PID, Exit, RunInfo, TraceWriter};

/// Why a trace could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The output refused the bytes.
    #[error("writing the trace")]
    Write(#[from] std::io::Error),
}

/// Converts a whole run, given as events in `seq` order, into a trace on `out`.
pub fn convert<'a, W: std::io::Write>(
    events: impl IntoIterator<Item = &'a shared::Event>,
    out: W,
) -> Result<W, Error> {
    let mut writer = TraceWriter::new(out)?;
    for event in events {
        writer.event(event)?;
    }
    writer.finish()
}
