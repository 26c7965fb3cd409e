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

use crate::ipc::{CONTROL_FD, Decoder, Report};
use crate::run::EventSink;
use crate::workload::Step;
use shared::{EventKind, ExitStatus, KillReason, ProcId, Stream};
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
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
    /// fork/exec failed.
    #[error("could not start {name}: {source}")]
    Exec {
        /// The child's name.
        name: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The script could not be encoded.
    #[error("could not encode the script of {name}: {source}")]
    Script {
        /// The child's name.
        name: String,
        /// The cause.
        source: serde_json::Error,
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
    pub role: Role,
    /// The cores it may run on (absent: the server's own affinity).
    pub affinity: Option<Vec<u32>>,
}

/// What kind of child.
#[derive(Clone, Copy, Debug)]
pub enum Role {
    /// Runs its script once, as task `task`.
    Process {
        /// Its task number (for `{task}`).
        task: u64,
    },
    /// Takes the tasks its pool sends on the control channel.
    PoolWorker {
        /// Exit after this many chunks.
        maxtasks: Option<u32>,
    },
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

fn cpu_set(cores: &[u32]) -> Option<nix::sched::CpuSet> {
    let mut set = nix::sched::CpuSet::new();
    for &c in cores {
        set.set(c as usize).ok()?;
    }
    Some(set)
}

/// Starts a child running `spec.script` and a supervisor that turns what it does into events.
pub async fn spawn_child(
    exe: &Path,
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
    let script = serde_json::to_string(&spec.script).map_err(|source| SpawnError::Script {
        name: spec.name.clone(),
        source,
    })?;
    let (ours, theirs) =
        std::os::unix::net::UnixStream::pair().map_err(|source| SpawnError::Control {
            name: spec.name.clone(),
            source,
        })?;
    let attempt = |pgid: i32| {
        let mut cmd = tokio::process::Command::new(exe);
        cmd.arg("__worker")
            .arg("--name")
            .arg(&spec.name)
            .arg("--script")
            .arg(&script);
        match spec.role {
            Role::Process { task } => {
                cmd.arg("--task").arg(task.to_string());
            }
            Role::PoolWorker { maxtasks } => {
                cmd.arg("--pool");
                if let Some(k) = maxtasks {
                    cmd.arg("--maxtasksperchild").arg(k.to_string());
                }
            }
        }
        let affinity = spec.affinity.as_deref().and_then(cpu_set);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(pgid);
        let theirs_fd = theirs.as_raw_fd();
        let parent_pid = std::process::id() as libc::pid_t;
        // SAFETY: the closure runs between fork and exec and only calls async-signal-safe
        // functions (dup2, fcntl, prctl, getppid) on values copied in.
        unsafe {
            cmd.pre_exec(move || {
                if theirs_fd == CONTROL_FD {
                    if libc::fcntl(CONTROL_FD, libc::F_SETFD, 0) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if libc::dup2(theirs_fd, CONTROL_FD) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                if let Some(set) = affinity {
                    if libc::sched_setaffinity(
                        0,
                        std::mem::size_of_val(&set),
                        (&raw const set).cast(),
                    ) == -1
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != parent_pid {
                    return Err(std::io::Error::other("the server exited during spawn"));
                }
                Ok(())
            });
        }
        cmd.spawn()
    };
    // Stamped before fork: the child's own `Started` report can reach us before `spawn`
    // returns, and must not precede its spawn on the timeline.
    let spawned_at = sink.clock().now();
    let mut child = match groups.current() {
        Some(pgid) => match attempt(pgid) {
            Ok(child) => Ok(child),
            // The group is gone (every member exited): lead a new one.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => attempt(0),
            Err(e) => Err(e),
        },
        None => attempt(0),
    }
    .map_err(|source| SpawnError::Exec {
        name: spec.name.clone(),
        source,
    })?;
    drop(theirs);
    let pid = child.id().ok_or_else(|| SpawnError::Exec {
        name: spec.name.clone(),
        source: std::io::Error::other("the child was reaped before its PID was read"),
    })?;
    {
        let mut list = groups.lock();
        let pgid = nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid as i32)))
            .map(|p| p.as_raw())
            .unwrap_or(pid as i32);
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
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(pump_lines(
            out,
            proc,
            Stream::Stdout,
            sink.clone(),
            budget.clone(),
        )));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(pump_lines(
            err,
            proc,
            Stream::Stderr,
            sink.clone(),
            budget,
        )));
    }
    // A pool worker receives its tasks on the control channel: keep a second descriptor of
    // our end for writing (closing it later does not shut the channel down).
    let input = match spec.role {
        Role::PoolWorker { .. } => Some(
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
        Role::Process { .. } => None,
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
        let waited = child.wait().await;
        let t = sink.clock().now();
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, futures_util::future::join_all(readers));
        if drained.await.is_err() {
            tracing::warn!(%name, "output pipes still open after exit (a grandchild holds them)");
        }
        let status = match waited {
            Ok(s) => match (s.code(), s.signal()) {
                (Some(code), _) => ExitStatus::Code { code },
                (None, Some(signal)) => ExitStatus::Signal { signal },
                (None, None) => ExitStatus::Code { code: -1 },
            },
            Err(e) => {
                tracing::error!(%name, error = %e, "waiting for the child failed");
                ExitStatus::Code { code: -1 }
            }
        };
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
            },
        )
        .await;
        if let Some(pool) = pool {
            if pool.send(WorkerMsg::Exited(proc, status)).await.is_err() {
                tracing::debug!(%name, "the pool had already ended");
            }
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
                    if total == 1 || total % 10_000 == 0 {
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
                    if let Some(pool) = &pool {
                        if pool.send(WorkerMsg::Ready(proc)).await.is_err() {
                            tracing::debug!(?proc, "the pool had already ended");
                        }
                    }
                }
                other => rest.push(other),
            }
        }
        if let (Some(pool), false) = (&pool, rest.is_empty()) {
            if pool.send(WorkerMsg::Reports(proc, rest)).await.is_err() {
                tracing::debug!(?proc, "the pool had already ended");
            }
        }
    }
}
