//! Spawning and supervising one child process.
//!
//! ## Theory of operation
//! A child is the server's own binary re-executed as `procviz __worker` (see [`crate::worker`]):
//! a fresh process with a real PID, started with fork+exec from a runtime thread. Before exec
//! the child
//! - joins its run's process group (so the run can be signalled as a whole, grandchildren too),
//! - asks the kernel for SIGKILL when the server dies (`PR_SET_PDEATHSIG`),
//! - gets its end of the control socket as fd [`CONTROL_FD`].
//!
//! One supervisor task per child then turns what the child does into events: its stdout and
//! stderr lines, its control reports, and finally its exit status (after its output has been
//! read, so a process's lines always precede its exit in the log).

use crate::ipc::{Decoder, Report};
use crate::runs::EventSink;
use crate::workload::Step;
pub mod zygote;

use zygote::{ChildKind, Exit, SpawnRequest, Spawned, Zygote, ZygoteError};
use shared::{EventKind, ExitStatus, KillReason, ProcId, Stream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The longest output line kept whole; longer lines are split.
pub const MAX_LINE_BYTES: u64 = 16 * 1024;

/// How long a supervisor waits for a child's pipes to close after it exited (a grandchild may
/// still hold them).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// Errors while starting a child.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The control socket could not be created.
    #[error("could not create the control channel for {name}: {source}")]
    Control {
        /// The child's name.
        name: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The fork server could not start it.
    #[error("could not start {name}: {source}")]
    Exec {
        /// The child's name.
        name: String,
        /// The cause.
        source: ZygoteError,
    },
}

/// What a new child is.
#[derive(Clone, Debug)]
pub struct ChildSpec {
    /// Its id within the run.
    pub proc: ProcId,
    /// Its name (`Process-1`).
    pub name: String,
    /// Who started it.
    pub parent: ProcId,
    /// What it does (once, or per pool task).
    pub script: Vec<Step>,
    /// A plain process or a pool worker.
    pub kind: ChildKind,
    /// The cores it may run on (absent: the server's own affinity).
    pub affinity: Option<Vec<u32>>,
}

/// What a pool worker's supervisor tells the pool, in order: report batches, then the exit.
#[derive(Debug)]
pub enum WorkerMsg {
    /// The worker reported that it runs: it can take work.
    Ready(ProcId),
    /// Reports other than `Started`.
    Reports(ProcId, Vec<Report>),
    /// The worker exited and everything it reported was delivered before this.
    Exited(ProcId, ExitStatus),
}

/// The run's budget of output lines: past it, lines are counted and dropped, and the count
/// is reported ([`EventKind::OutputDropped`]).
#[derive(Debug)]
pub struct OutputBudget {
    limit: u64,
    used: AtomicU64,
    dropped: AtomicU64,
}

impl OutputBudget {
    /// A budget of `limit` lines.
    pub fn new(limit: u64) -> Self {
        OutputBudget {
            limit,
            used: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Who asked for a child's death: its own entry (a kill from the page) or the run's (cancel,
/// shutdown).
#[derive(Clone, Debug, Default)]
pub struct KillReasons {
    /// Set for this child alone.
    pub own: Arc<OnceLock<KillReason>>,
    /// Set for the whole run.
    pub run: Arc<OnceLock<KillReason>>,
}

impl KillReasons {
    fn get(&self) -> Option<KillReason> {
        self.own.get().or(self.run.get()).copied()
    }
}

/// How a child is wired to its run.
#[derive(Clone, Debug)]
pub struct Wiring {
    /// Where events go.
    pub sink: EventSink,
    /// Who killed it, if someone did.
    pub reasons: KillReasons,
    /// The run's output budget.
    pub budget: Arc<OutputBudget>,
    /// For pool workers: where reports and the exit go.
    pub pool: Option<mpsc::Sender<WorkerMsg>>,
}

/// The process groups of one run: children join the current group; if it has vanished (all
/// its members exited), the next child leads a new one. Every group ever used is remembered so
/// the run can signal all of them.
#[derive(Debug, Default)]
pub struct ProcessGroups {
    groups: Mutex<Vec<i32>>,
}

impl ProcessGroups {
    /// The group a new child should join: the latest one, if it still has a member (a group
    /// whose members have all exited cannot be joined; the next child then leads a new one).
    fn current(&self) -> Option<i32> {
        let pgid = self.lock().last().copied()?;
        nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), None)
            .is_ok()
            .then_some(pgid)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<i32>> {
        // A poisoned lock only means another task panicked while pushing a number.
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `signal` to every group of the run. Groups that no longer exist are skipped.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        for &pgid in self.lock().iter() {
            match nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), signal) {
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                Err(e) => {
                    tracing::warn!(pgid, %signal, error = %e, "could not signal process group")
                }
            }
        }
    }

    /// True while any process of any of the run's groups exists (zombies included).
    pub fn any_alive(&self) -> bool {
        self.lock()
            .iter()
            .any(|&pgid| nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), None).is_ok())
    }
}

/// A running child and its supervisor.
#[derive(Debug)]
pub struct ChildHandle {
    /// Its id within the run.
    pub proc: ProcId,
    /// Its PID.
    pub pid: u32,
    /// Resolves when the child has exited and its events are all emitted.
    pub done: JoinHandle<ExitStatus>,
    /// For pool workers: the server's writing end of the control channel, to send tasks.
    pub input: Option<tokio::net::UnixStream>,
}

/// A pipe whose ends are close-on-exec, the read end non-blocking (for the async reader).
fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two new descriptors into `fds`, which we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both were just created and are owned by nobody else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: setting a flag on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(r.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(r.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    Ok((r, w))
}

/// Starts a child running `spec.script` (forked by the fork server) and a supervisor that
/// turns what it does into events.
pub async fn spawn_child(
    zygote: &Zygote,
    spec: ChildSpec,
    groups: &ProcessGroups,
    wiring: Wiring,
) -> Result<ChildHandle, SpawnError> {
    let Wiring {
        sink,
        reasons,
        budget,
        pool,
    } = wiring;
    let control_error = |source: std::io::Error| SpawnError::Control {
        name: spec.name.clone(),
        source,
    };
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(control_error)?;
    let (out_r, out_w) = pipe().map_err(control_error)?;
    let (err_r, err_w) = pipe().map_err(control_error)?;
    let request = SpawnRequest {
        id: 0,
        name: spec.name.clone(),
        kind: spec.kind,
        script: spec.script,
        pgid: groups.current().unwrap_or(0),
        affinity: spec.affinity,
    };
    // Stamped before fork: the child's own `Started` report can reach us before the fork
    // server answers, and must not precede its spawn on the timeline.
    let spawned_at = sink.clock().now();
    let Spawned { pid, pgid, exit } = zygote
        .spawn(request, [OwnedFd::from(theirs), out_w, err_w])
        .await
        .map_err(|source| SpawnError::Exec {
            name: spec.name.clone(),
            source,
        })?;
    {
        let mut list = groups.lock();
        if list.last() != Some(&pgid) {
            list.push(pgid);
        }
    }
    sink.emit(
        spawned_at,
        EventKind::ProcessSpawned {
            proc: spec.proc,
            pid,
            name: spec.name.clone(),
            parent: spec.parent,
        },
    )
    .await;

    let proc = spec.proc;
    let mut readers = Vec::with_capacity(3);
    for (read_end, stream) in [(out_r, Stream::Stdout), (err_r, Stream::Stderr)] {
        match tokio::net::unix::pipe::Receiver::from_owned_fd(read_end) {
            Ok(pipe) => readers.push(tokio::spawn(pump_lines(
                pipe,
                proc,
                stream,
                sink.clone(),
                budget.clone(),
            ))),
            Err(e) => tracing::warn!(name = %spec.name, error = %e, "output pipe unusable"),
        }
    }
    // A pool worker receives its tasks on the control channel: keep a second descriptor of
    // our end for writing (closing it later does not shut the channel down).
    let input = match spec.kind {
        ChildKind::PoolWorker { .. } => Some(
            ours.try_clone()
                .and_then(|s| {
                    s.set_nonblocking(true)?;
                    tokio::net::UnixStream::from_std(s)
                })
                .map_err(|source| SpawnError::Control {
                    name: spec.name.clone(),
                    source,
                })?,
        ),
        ChildKind::Process { .. } => None,
    };
    match ours
        .set_nonblocking(true)
        .and_then(|()| tokio::net::UnixStream::from_std(ours))
    {
        Ok(control) => readers.push(tokio::spawn(read_control(
            control,
            proc,
            sink.clone(),
            pool.clone(),
        ))),
        Err(e) => tracing::warn!(name = %spec.name, error = %e, "control channel unusable"),
    }

    let name = spec.name;
    let done = tokio::spawn(async move {
        // The fork server reports the exit; if it died, so did the child (death signal).
        let exit = exit.await.unwrap_or(Exit {
            status: ExitStatus::Signal { signal: 9 },
            cpu_time_ns: None,
        });
        let status = exit.status;
        let t = sink.clock().now();
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, futures_util::future::join_all(readers));
        if drained.await.is_err() {
            tracing::warn!(%name, "output pipes still open after exit (a grandchild holds them)");
        }
        let killed_by = match status {
            ExitStatus::Signal { .. } => reasons.get(),
            ExitStatus::Code { .. } => None,
        };
        sink.emit(
            t,
            EventKind::ProcessExited {
                proc,
                status,
                killed_by,
                cpu_time_ns: exit.cpu_time_ns,
            },
        )
        .await;
        if let Some(pool) = pool
            && pool.send(WorkerMsg::Exited(proc, status)).await.is_err()
        {
            tracing::debug!(%name, "the pool had already ended");
        }
        status
    });
    Ok(ChildHandle {
        proc,
        pid,
        done,
        input,
    })
}

/// Emits every line of `pipe` as an output event, stamped when it is read, while the run's
/// budget lasts; after that, counts the lines it drops and says so.
async fn pump_lines(
    pipe: impl AsyncRead + Unpin,
    proc: ProcId,
    stream: Stream,
    sink: EventSink,
    budget: Arc<OutputBudget>,
) {
    let mut reader = BufReader::new(pipe);
    let mut buf = Vec::with_capacity(256);
    let mut dropped_here = 0u64;
    loop {
        buf.clear();
        match (&mut reader)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(0) => break,
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
                if budget.used.fetch_add(1, Ordering::Relaxed) >= budget.limit {
                    let total = budget.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    dropped_here += 1;
                    if total == 1 || total.is_multiple_of(10_000) {
                        sink.emit_now(EventKind::OutputDropped { proc, lines: total })
                            .await;
                    }
                    continue;
                }
                let text = String::from_utf8_lossy(&buf).into_owned();
                sink.emit_now(EventKind::Output { proc, stream, text })
                    .await;
            }
            Err(e) => {
                tracing::warn!(?proc, ?stream, error = %e, "reading child output failed");
                break;
            }
        }
    }
    if dropped_here > 0 {
        sink.emit_now(EventKind::OutputDropped {
            proc,
            lines: budget.dropped(),
        })
        .await;
    }
}

/// Turns the child's control reports into events (its start) or hands them to its pool, until
/// the child closes the channel.
async fn read_control(
    mut control: tokio::net::UnixStream,
    proc: ProcId,
    sink: EventSink,
    pool: Option<mpsc::Sender<WorkerMsg>>,
) {
    let mut decoder = Decoder::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut reports = Vec::new();
    loop {
        let n = match control.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(?proc, error = %e, "control channel failed");
                break;
            }
        };
        if let Err(e) = decoder.feed(&buf[..n], &mut reports) {
            tracing::warn!(?proc, error = %e, "corrupt control channel; ignoring the rest");
            break;
        }
        let mut rest = Vec::with_capacity(reports.len());
        for report in reports.drain(..) {
            match report {
                Report::Started {
                    at_ns,
                    pid: _,
                    cpus,
                } => {
                    sink.emit(
                        sink.clock().at(at_ns),
                        EventKind::ProcessStarted { proc, cpus },
                    )
                    .await;
                    if let Some(pool) = &pool
                        && pool.send(WorkerMsg::Ready(proc)).await.is_err()
                    {
                        tracing::debug!(?proc, "the pool had already ended");
                    }
                }
                other => rest.push(other),
            }
        }
        if let (Some(pool), false) = (&pool, rest.is_empty())
            && pool.send(WorkerMsg::Reports(proc, rest)).await.is_err()
        {
            tracing::debug!(?proc, "the pool had already ended");
        }
    }
}
