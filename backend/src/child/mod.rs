//! A child process of a run: spawned through the fork server ([`zygote`]) and supervised.
//!
//! ## Theory of operation
//! Every child is forked, without exec, by the fork server `procviz __zygote` (see
//! [`zygote`]): a real PID in about 0.3 ms, and no fork of the multi-threaded server. Before
//! it runs its script ([`crate::worker`]) the child
//! - joins its run's process group ([`groups`]: the run is signalled as a whole, grandchildren
//!   too),
//! - asks the kernel for SIGKILL when the fork server dies (`PR_SET_PDEATHSIG`; the fork server
//!   asks the same of the server),
//! - gets its stdout and stderr pipes as fds 1 and 2 and its end of the control socket as fd
//!   [`crate::ipc::CONTROL_FD`].
//!
//! One supervisor per child then turns what the child does into events: its stdout and stderr
//! lines ([`output`], within the run's budget of lines), its control reports ([`control`]:
//! its start; a pool worker's task reports go to its pool), and finally its exit status as the
//! fork server reaped it (after its output has been read, so a process's lines always precede
//! its exit in the log).

pub mod control;
pub mod groups;
pub mod output;
pub mod zygote;

pub use control::WorkerMsg;
pub use groups::ProcessGroups;
pub use output::{MAX_LINE_BYTES, OutputBudget};

use crate::events::EventSink;
use crate::workload::Step;
use control::read_control;
use output::pump_lines;
use shared::{EventKind, ExitStatus, KillReason, ProcId, Stream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;
use zygote::{ChildKind, Exit, SpawnRequest, Spawned, Zygote, ZygoteError};

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
    Fork {
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
    /// The run's supervisors: the run waits for them all before it records its end, also when
    /// its demo was dropped midway.
    pub supervisors: TaskTracker,
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
        supervisors,
    } = wiring;
    let control_error = |source: std::io::Error| SpawnError::Control {
        name: spec.name.clone(),
        source,
    };
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(control_error)?;
    let (out_r, out_w) = pipe().map_err(control_error)?;
    let (err_r, err_w) = pipe().map_err(control_error)?;
    let pool_worker = match &spec.kind {
        ChildKind::PoolWorker { .. } => true,
        ChildKind::Process { .. } | ChildKind::Exec(_) => false,
    };
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
        .map_err(|source| SpawnError::Fork {
            name: spec.name.clone(),
            source,
        })?;
    groups.record(pgid);
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
    let input = if pool_worker {
        Some(
            ours.try_clone()
                .and_then(|s| {
                    s.set_nonblocking(true)?;
                    tokio::net::UnixStream::from_std(s)
                })
                .map_err(|source| SpawnError::Control {
                    name: spec.name.clone(),
                    source,
                })?,
        )
    } else {
        None
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
    let done = supervisors.spawn(async move {
        // The fork server reports the exit; if it died, so did the child (death signal), and
        // its keeper says so (see `zygote`).
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
