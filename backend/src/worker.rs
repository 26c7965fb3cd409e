//! The child side: the code a child runs, in the process the fork server forked for it (no
//! exec: `procviz __zygote` is single-threaded, so its fork may run ordinary code; see
//! [`crate::child::zygote`]).
//!
//! A plain process reports that it started, runs its [`Step`] script once and exits (0, the
//! script's exit code, or 1 after an uncaught error, like Python). A pool worker reports that
//! it started, then takes the [`TaskRecord`]s the pool sends it, one chunk after the other,
//! and runs the script for each task of the chunk, reporting took/started/finished, until it
//! reads the stop sentinel or reaches `maxtasksperchild`. A child needs no watchdog thread (it
//! would show up in the per-core lanes): when the fork server dies, the kernel kills it (death
//! signal), and a pool worker waiting for work also reads end-of-file.

use crate::clock::monotonic_ns;
use crate::ipc::{CONTROL_FD, Outcome, Report, TaskRecord, encode};
use crate::workload::{Ended, Step, TaskCtx, execute};
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;

/// Exit code of a child that lost its server.
pub const EXIT_ORPHANED: i32 = 70;

/// Reports, buffered and written in batches.
struct Reporter {
    control: UnixStream,
    buf: Vec<u8>,
}

impl Reporter {
    fn push(&mut self, report: &Report) {
        encode(report, &mut self.buf);
        if self.buf.len() >= 64 * 1024 {
            self.flush();
        }
    }

    /// Writes the batch; exits if the server is gone.
    fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        if self.control.write_all(&self.buf).is_err() {
            std::process::exit(EXIT_ORPHANED);
        }
        self.buf.clear();
    }
}

/// Opens the control channel and reports the start.
fn connect() -> Result<Reporter, String> {
    // SAFETY: fcntl only inspects the descriptor number.
    if unsafe { libc::fcntl(CONTROL_FD, libc::F_GETFD) } == -1 {
        return Err(format!(
            "no control channel on fd {CONTROL_FD}; workers are started by procviz"
        ));
    }
    // SAFETY: the fork server placed our end of the control socket at CONTROL_FD before running
    // this code, and nothing else in this process owns it.
    let control = unsafe { UnixStream::from_raw_fd(CONTROL_FD) };
    let mut reporter = Reporter {
        control,
        buf: Vec::with_capacity(64 * 1024),
    };
    reporter.push(&Report::Started {
        at_ns: monotonic_ns(),
        pid: std::process::id(),
        cpus: allowed_cpus(),
    });
    reporter.flush();
    Ok(reporter)
}

/// Runs a plain process (task number `task`) and returns its exit code.
pub fn run(name: &str, task: u64, script: &[Step]) -> i32 {
    let mut reporter = match connect() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("procviz worker: {e}");
            return 2;
        }
    };
    let ctx = TaskCtx {
        name,
        pid: std::process::id(),
        task,
    };
    let code = match execute(script, ctx, &mut || reporter.flush()) {
        Ended::Done(Outcome::Value(_)) => 0,
        Ended::Done(Outcome::Error {
            error_type,
            message,
            location,
        }) => {
            eprintln!(
                "Process {name}:\nTraceback (most recent call last):\n  {location}\n{error_type}: {message}"
            );
            1
        }
        Ended::Exit(code) => code,
    };
    reporter.flush();
    if std::io::stdout().flush().is_err() {
        return 1;
    }
    code
}

/// Runs a pool worker and returns its exit code.
pub fn run_pool(name: &str, script: &[Step], maxtasks: Option<u32>) -> i32 {
    let mut reporter = match connect() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("procviz worker: {e}");
            return 2;
        }
    };
    let mut inbox = match reporter.control.try_clone() {
        Ok(s) => Inbox {
            control: s,
            queue: VecDeque::new(),
            partial: Vec::new(),
        },
        Err(e) => {
            eprintln!("procviz worker: control channel: {e}");
            return 2;
        }
    };
    let pid = std::process::id();
    let mut chunks = 0u32;
    while let Some(record) = inbox.next(&mut reporter) {
        let TaskRecord::Chunk { first, count } = record else {
            break;
        };
        reporter.push(&Report::Took {
            at_ns: monotonic_ns(),
            first,
            count,
        });
        for task in first..first.saturating_add(u64::from(count)) {
            reporter.push(&Report::TaskStarted {
                at_ns: monotonic_ns(),
                task,
            });
            let ctx = TaskCtx { name, pid, task };
            match execute(script, ctx, &mut || reporter.flush()) {
                Ended::Done(outcome) => reporter.push(&Report::TaskFinished {
                    at_ns: monotonic_ns(),
                    task,
                    outcome,
                }),
                Ended::Exit(code) => {
                    reporter.flush();
                    return code;
                }
            }
        }
        chunks += 1;
        if maxtasks == Some(chunks) {
            break;
        }
    }
    reporter.flush();
    if std::io::stdout().flush().is_err() {
        return 1;
    }
    0
}

/// The chunks the pool sent this worker, in order.
struct Inbox {
    control: UnixStream,
    queue: VecDeque<TaskRecord>,
    partial: Vec<u8>,
}

impl Inbox {
    /// The next record; when none is queued, flushes the reports (so the pool hears about
    /// finished work before this worker waits) and blocks for more. `None` when the server is
    /// gone.
    fn next(&mut self, reporter: &mut Reporter) -> Option<TaskRecord> {
        let mut buf = [0u8; 4096];
        while self.queue.is_empty() {
            reporter.flush();
            match self.control.read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => {
                    self.partial.extend_from_slice(&buf[..n]);
                    let whole = self.partial.len() / TaskRecord::SIZE * TaskRecord::SIZE;
                    for rec in self.partial[..whole].chunks_exact(TaskRecord::SIZE) {
                        let mut r = [0u8; TaskRecord::SIZE];
                        r.copy_from_slice(rec);
                        self.queue.push_back(TaskRecord::decode(&r));
                    }
                    self.partial.drain(..whole);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        self.queue.pop_front()
    }
}

/// The cores this process may run on, ascending.
pub fn allowed_cpus() -> Vec<u32> {
    cpus_of(0)
}

/// The cores process `pid` (0: this one) may run on, ascending; none if they cannot be read.
pub fn cpus_of(pid: u32) -> Vec<u32> {
    use nix::sched::{CpuSet, sched_getaffinity};
    use nix::unistd::Pid;
    match sched_getaffinity(Pid::from_raw(pid as i32)) {
        Ok(set) => (0..CpuSet::count())
            .filter(|&i| set.is_set(i).unwrap_or(false))
            .map(|i| i as u32)
            .collect(),
        Err(_) => Vec::new(),
    }
}
