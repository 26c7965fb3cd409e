//! The fork server ("zygote"): where children are born, and what happens when it dies.
//!
//! ## Theory of operation
//! Forking the multi-threaded server is unsafe (another thread may hold a lock the child
//! needs), and exec'ing the 7 MB server binary for every child costs about 2 ms. So at start
//! the server re-executes itself once as `procviz __zygote`: a small, single-threaded process
//! that only forks. Python's `forkserver` start method works the same way.
//!
//! ```text
//!   server ──SpawnRequest + 3 fds (control socket, stdout, stderr)──▶ zygote ──fork──▶ child
//!          ◀──Spawned{pid, pgid} ─ Exited{pid, status} ────────────────┘ (reaps it)
//! ```
//! - The channel is a `SOCK_SEQPACKET` socket pair (one message per request or reply); the
//!   child's ends of its pipes travel with the request as `SCM_RIGHTS`.
//! - The child joins its run's process group, asks for SIGKILL when the zygote dies
//!   (`PR_SET_PDEATHSIG`; the zygote asks the same of the server's keeper thread), takes its
//!   control socket and pipes as fds 3, 1 and 2, and runs the worker code ([`crate::worker`])
//!   without exec.
//! - The zygote reaps its children (signalfd for SIGCHLD) and reports each exit status.
//!   If the server dies, the zygote gets SIGKILL (or reads end-of-file and exits); the kernel
//!   then kills every child (death signal), so nothing outlives the server.
//!
//! ### The keeper, and a zygote that dies
//! One thread of the server, the keeper, owns the zygote for the server's whole life: it starts
//! it (the death signal is tied to the thread that forked, so that thread must live as long
//! as the server), reads its replies and routes them to the waiting spawns and supervisors.
//! When the channel reads end-of-file the zygote has died (`kill -9`, a crash, the OOM killer)
//! and the keeper, in this order:
//! 1. reaps it (no zombie) and publishes the death in [`Zygote::health`] (deaths counted, the
//!    cause, "a new one is starting"): every run in flight watches it, stops its demo, and ends
//!    `failed` with [`Death::message`] (the runs' driver, [`crate::runs::driver`]);
//! 2. fails the spawns waiting for an answer ([`ZygoteError::Died`]) and resolves every
//!    child's exit as SIGKILL (they got the death signal when the zygote died), so each
//!    supervisor reports its child's `process_exited`;
//! 3. logs the death (`error`, shown at the default level) and starts a new zygote (logged at
//!    `warn`) at once, then publishes that it is up. If zygotes keep dying within
//!    [`QUICK_DEATH`] of their start (or fail to start), it pauses before each further one,
//!    1 s doubling up to [`MAX_PAUSE`].
//!
//! A spawn asked for while a new zygote is starting waits for it (at most [`START_WAIT`]), so
//! the next run works. Dropping the [`Zygote`] shuts the channel down: the zygote reads
//! end-of-file and exits, the keeper reaps it and ends.
//!
//! | file | side |
//! |---|---|
//! | `mod.rs` | the server's handle ([`Zygote`]) and its keeper: start, restart, send requests, route replies |
//! | [`mod@serve`] | the fork server process itself, and the child between fork and its script |
//! | [`wire`] | the messages and their encoding |

pub mod serve;
pub mod wire;

pub use serve::serve;
pub use wire::{ChildKind, ExecSpec, SpawnRequest};

use nix::sys::socket::{
    AddressFamily, ControlMessage, MsgFlags, Shutdown, SockFlag, SockType, recvmsg, sendmsg,
    shutdown, socketpair,
};
use shared::ExitStatus;
use std::collections::HashMap;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};
use wire::{Reply, ZYGOTE_FD, decode_reply, encode_request};

/// How long a spawn waits for a zygote that is being (re)started.
pub const START_WAIT: Duration = Duration::from_secs(10);
/// A zygote that dies sooner than this after its start is replaced only after a pause.
pub const QUICK_DEATH: Duration = Duration::from_secs(1);
/// The longest pause before starting a new zygote.
pub const MAX_PAUSE: Duration = Duration::from_secs(30);
/// How long a zygote that closed its channel is given to exit before it is killed.
const EXIT_WAIT: Duration = Duration::from_millis(500);

/// How a child ended, as the zygote saw it when it reaped it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    /// Its exit status.
    pub status: ExitStatus,
    /// CPU time it used (user + system), from `wait4`'s resource usage.
    pub cpu_time_ns: Option<u64>,
}

/// A child the zygote forked.
#[derive(Debug)]
pub struct Spawned {
    /// Its PID.
    pub pid: u32,
    /// Its process group.
    pub pgid: i32,
    /// Resolves with its exit once the zygote reaped it.
    pub exit: oneshot::Receiver<Exit>,
}

/// Errors of the zygote.
#[derive(Debug, thiserror::Error)]
pub enum ZygoteError {
    /// It could not be started.
    #[error("could not start the fork server: {0}")]
    Start(std::io::Error),
    /// It died before it answered.
    #[error("the fork server died before it answered")]
    Died,
    /// None came up in time after one died.
    #[error("no fork server is running (a new one did not start within {} s)", START_WAIT.as_secs())]
    Unavailable,
    /// It was stopped (the server is shutting down).
    #[error("the fork server was stopped")]
    Stopped,
    /// It could not fork.
    #[error("fork failed: {0}")]
    Fork(String),
    /// A request could not be sent.
    #[error("could not send to the fork server: {0}")]
    Send(String),
}

/// Whether a new zygote is up after a death.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Restart {
    /// It is being started.
    Pending,
    /// It is up, with this PID.
    Started {
        /// The new zygote's PID.
        pid: u32,
    },
    /// It could not be started (the keeper tries again after a pause).
    Failed(String),
}

/// A death of the zygote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Death {
    /// The dead zygote's PID.
    pub pid: u32,
    /// How it ended: `killed by signal 9`, `exited with code 2`.
    pub cause: String,
    /// Whether a new one is up.
    pub restart: Restart,
}

impl Death {
    /// What a run in flight says when it ends because of this death.
    pub fn message(&self) -> String {
        let then = match &self.restart {
            Restart::Pending => "a new one is being started".to_string(),
            Restart::Started { .. } => "a new one was started".to_string(),
            Restart::Failed(e) => format!("a new one could not be started ({e})"),
        };
        format!(
            "the fork server died ({}); its children were killed; {then}",
            self.cause
        )
    }
}

/// The zygote's deaths, as runs watch them ([`Zygote::health`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Health {
    /// How many zygotes have died.
    pub deaths: u64,
    /// The latest death.
    pub last: Option<Death>,
}

/// Whether spawns can be sent now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// A zygote is being started.
    Starting,
    /// A zygote is up.
    Up,
    /// The handle was dropped: no zygote any more.
    Stopped,
}

type Pending = HashMap<u64, oneshot::Sender<Result<Spawned, ZygoteError>>>;

/// What the keeper and the spawns share (under one lock).
#[derive(Default)]
struct State {
    /// The channel to the zygote that is up (none while one is starting, or after the end).
    channel: Option<Arc<OwnedFd>>,
    /// Spawns sent and not answered yet.
    spawns: Pending,
    /// Children forked and not reaped yet.
    exits: HashMap<i32, oneshot::Sender<Exit>>,
    /// The handle was dropped: the keeper ends.
    closing: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the keeper from a pause when the handle is dropped.
    wake: Condvar,
    phase: watch::Sender<Phase>,
    health: watch::Sender<Health>,
    send_lock: Mutex<()>,
}

/// The server's handle on its zygote (and on the keeper thread that restarts it).
pub struct Zygote {
    shared: Arc<Shared>,
    keeper: Option<std::thread::JoinHandle<()>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Zygote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zygote").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Zygote {
    /// Starts the keeper thread, which starts `exe __zygote` and keeps one running; returns once
    /// the first is up (or could not be started).
    pub fn start(exe: &Path) -> Result<Zygote, ZygoteError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            phase: watch::Sender::new(Phase::Starting),
            health: watch::Sender::new(Health::default()),
            send_lock: Mutex::new(()),
        });
        let (first_tx, first_rx) = std::sync::mpsc::channel();
        let keeper = {
            let shared = shared.clone();
            let exe = exe.to_path_buf();
            std::thread::Builder::new()
                .name("zygote-keeper".into())
                .spawn(move || keep(&exe, &shared, first_tx))
                .map_err(ZygoteError::Start)?
        };
        let first = first_rx.recv().unwrap_or_else(|_| {
            Err(ZygoteError::Start(std::io::Error::other(
                "the fork server's keeper ended before starting it",
            )))
        });
        if let Err(e) = first {
            if keeper.join().is_err() {
                tracing::error!("the fork server's keeper panicked");
            }
            return Err(e);
        }
        Ok(Zygote {
            shared,
            keeper: Some(keeper),
            next_id: std::sync::atomic::AtomicU64::new(1),
        })
    }

    /// The zygote's deaths so far; changes when one dies and when its replacement is up.
    pub fn health(&self) -> watch::Receiver<Health> {
        self.shared.health.subscribe()
    }

    /// The channel to the zygote that is up, waiting (at most [`START_WAIT`]) while one starts.
    async fn channel(&self) -> Result<Arc<OwnedFd>, ZygoteError> {
        let mut phase = self.shared.phase.subscribe();
        let now = match tokio::time::timeout(START_WAIT, phase.wait_for(|p| *p != Phase::Starting))
            .await
        {
            Err(_elapsed) => return Err(ZygoteError::Unavailable),
            Ok(Err(_closed)) => Phase::Stopped,
            Ok(Ok(phase)) => *phase,
        };
        if now == Phase::Stopped {
            return Err(ZygoteError::Stopped);
        }
        // It may have died since; then this spawn is one of the run in flight's that fail.
        lock(&self.shared.state)
            .channel
            .clone()
            .ok_or(ZygoteError::Died)
    }

    /// Forks a child with `fds` (control socket, stdout, stderr) as its fds 3, 1 and 2.
    pub async fn spawn(
        &self,
        mut request: SpawnRequest,
        fds: [OwnedFd; 3],
    ) -> Result<Spawned, ZygoteError> {
        request.id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = encode_request(&request).map_err(|e| ZygoteError::Send(e.to_string()))?;
        let channel = self.channel().await?;
        let (tx, rx) = oneshot::channel();
        {
            let mut state = lock(&self.shared.state);
            if !state
                .channel
                .as_ref()
                .is_some_and(|now| Arc::ptr_eq(now, &channel))
            {
                return Err(ZygoteError::Died);
            }
            state.spawns.insert(request.id, tx);
        }
        {
            let _one_at_a_time = lock(&self.shared.send_lock);
            let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
            let cmsg = [ControlMessage::ScmRights(&raw)];
            let iov = [IoSlice::new(&body)];
            if let Err(e) = sendmsg::<()>(channel.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
            {
                lock(&self.shared.state).spawns.remove(&request.id);
                return Err(ZygoteError::Send(e.to_string()));
            }
        }
        drop(fds);
        rx.await.map_err(|_| ZygoteError::Died)?
    }
}

impl Drop for Zygote {
    fn drop(&mut self) {
        let channel = {
            let mut state = lock(&self.shared.state);
            state.closing = true;
            state.channel.clone()
        };
        self.shared.wake.notify_all();
        // The zygote reads end-of-file and exits; the keeper reads it too, reaps it and ends.
        if let Some(channel) = channel
            && let Err(e) = shutdown(channel.as_raw_fd(), Shutdown::Both)
        {
            tracing::debug!(error = %e, "shutting the fork server's channel down");
        }
        if let Some(keeper) = self.keeper.take()
            && keeper.join().is_err()
        {
            tracing::error!("the fork server's keeper panicked");
        }
    }
}

/// The keeper thread: starts a zygote, routes its replies until it is gone, and starts another
/// until the handle is dropped. The first start's result goes to `first`.
fn keep(exe: &Path, shared: &Shared, first: std::sync::mpsc::Sender<Result<(), ZygoteError>>) {
    let mut first = Some(first);
    let mut quick_deaths = 0u32;
    loop {
        let started = Instant::now();
        let (mut process, channel) = match launch(exe) {
            Ok(launched) => launched,
            Err(e) => {
                if let Some(first) = first.take() {
                    stop(shared);
                    // Nobody to tell if `start` is gone; it cannot be, it waits for this.
                    let _told = first.send(Err(e));
                    return;
                }
                tracing::error!(error = %e, "could not start a new fork server; processes cannot be started until one starts");
                shared.health.send_modify(|h| {
                    if let Some(death) = &mut h.last {
                        death.restart = Restart::Failed(e.to_string());
                    }
                });
                quick_deaths += 1;
                if pause(shared, quick_deaths) {
                    stop(shared);
                    return;
                }
                continue;
            }
        };
        let pid = process.id();
        {
            let mut state = lock(&shared.state);
            if state.closing {
                drop(state);
                drop(channel);
                end(&mut process);
                stop(shared);
                return;
            }
            state.channel = Some(channel.clone());
        }
        shared.phase.send_replace(Phase::Up);
        match first.take() {
            Some(first) => {
                // `start` waits for this answer.
                let _told = first.send(Ok(()));
            }
            None => {
                tracing::warn!(pid, "a new fork server was started");
                shared.health.send_modify(|h| {
                    if let Some(death) = &mut h.last {
                        death.restart = Restart::Started { pid };
                    }
                });
            }
        }
        read_replies(&channel, shared);
        drop(channel);
        if lock(&shared.state).closing {
            end(&mut process);
            stop(shared);
            return;
        }
        let cause = end(&mut process);
        // The runs first: they must hear of the death before their children's exits.
        shared.health.send_modify(|h| {
            h.deaths += 1;
            h.last = Some(Death {
                pid,
                cause: cause.clone(),
                restart: Restart::Pending,
            });
        });
        let (spawns, children) = {
            let mut state = lock(&shared.state);
            state.channel = None;
            shared.phase.send_replace(Phase::Starting);
            fail_waiting(&mut state, || ZygoteError::Died)
        };
        tracing::error!(
            pid,
            %cause,
            children,
            spawns,
            "the fork server died; its children were killed with it and the runs in flight fail; starting a new one"
        );
        quick_deaths = if started.elapsed() < QUICK_DEATH {
            quick_deaths + 1
        } else {
            0
        };
        if pause(shared, quick_deaths) {
            stop(shared);
            return;
        }
    }
}

/// Starts `exe __zygote` with its end of a new channel at [`ZYGOTE_FD`]; returns the process and
/// the server's end.
fn launch(exe: &Path) -> Result<(std::process::Child, Arc<OwnedFd>), ZygoteError> {
    use std::os::unix::process::CommandExt;
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| ZygoteError::Start(e.into()))?;
    let theirs_fd = theirs.as_raw_fd();
    let parent = std::process::id() as libc::pid_t;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("__zygote")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(theirs_fd, ZYGOTE_FD) == -1
                || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1
            {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                return Err(std::io::Error::other("the server exited"));
            }
            Ok(())
        });
    }
    let process = cmd.spawn().map_err(ZygoteError::Start)?;
    drop(theirs);
    Ok((process, Arc::new(ours)))
}

/// Reaps a zygote whose channel has closed, killing it if it does not exit by itself within
/// [`EXIT_WAIT`]; returns how it ended.
fn end(process: &mut std::process::Child) -> String {
    use std::os::unix::process::ExitStatusExt;
    let deadline = Instant::now() + EXIT_WAIT;
    let status = loop {
        match process.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(None) => {
                if let Err(e) = process.kill() {
                    tracing::warn!(error = %e, "killing the fork server");
                }
                break process.wait();
            }
            Err(e) => break Err(e),
        }
    };
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("exited with code {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => s.to_string(),
        },
        Err(e) => {
            tracing::error!(error = %e, "reaping the fork server");
            format!("could not be reaped: {e}")
        }
    }
}

/// Fails every spawn waiting for an answer with `error()` and resolves every child's exit as
/// SIGKILL (the death signal); returns how many of each there were.
fn fail_waiting(state: &mut State, error: impl Fn() -> ZygoteError) -> (usize, usize) {
    let spawns = state.spawns.len();
    for (_, tx) in state.spawns.drain() {
        // The requester may have given up; nothing else to tell.
        let _ignored = tx.send(Err(error()));
    }
    let children = state.exits.len();
    for (_, tx) in state.exits.drain() {
        let _ignored = tx.send(Exit {
            status: ExitStatus::Signal {
                signal: libc::SIGKILL,
            },
            cpu_time_ns: None,
        });
    }
    (spawns, children)
}

/// The keeper's end: no zygote any more; whatever waits is told.
fn stop(shared: &Shared) {
    let mut state = lock(&shared.state);
    state.channel = None;
    fail_waiting(&mut state, || ZygoteError::Stopped);
    shared.phase.send_replace(Phase::Stopped);
}

/// Waits before the next start after `quick_deaths` quick deaths (or failed starts) in a row:
/// none after the first, then 1 s doubling up to [`MAX_PAUSE`]. Returns whether the handle was
/// dropped meanwhile.
fn pause(shared: &Shared, quick_deaths: u32) -> bool {
    let state = lock(&shared.state);
    if quick_deaths <= 1 || state.closing {
        return state.closing;
    }
    let wait = Duration::from_secs(1 << (quick_deaths - 2).min(5)).min(MAX_PAUSE);
    tracing::warn!(
        seconds = wait.as_secs(),
        "the fork server keeps dying; pausing before the next start"
    );
    let (state, _timeout) = shared
        .wake
        .wait_timeout_while(state, wait, |s| !s.closing)
        .unwrap_or_else(|e| e.into_inner());
    state.closing
}

/// Routes the zygote's replies until its channel closes (it died, or the handle was dropped).
fn read_replies(channel: &OwnedFd, shared: &Shared) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(channel.as_raw_fd(), &mut iov, None, MsgFlags::empty()) {
                Ok(msg) => msg.bytes,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "reading the fork server's replies");
                    0
                }
            }
        };
        if n == 0 {
            return;
        }
        let reply = match decode_reply(&buf[..n]) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "undecodable reply from the fork server");
                continue;
            }
        };
        let mut state = lock(&shared.state);
        match reply {
            Reply::Spawned { id, pid, pgid } => {
                let (exit_tx, exit_rx) = oneshot::channel();
                state.exits.insert(pid, exit_tx);
                if let Some(tx) = state.spawns.remove(&id) {
                    let spawned = Spawned {
                        pid: pid as u32,
                        pgid,
                        exit: exit_rx,
                    };
                    if tx.send(Ok(spawned)).is_err() {
                        tracing::warn!(pid, "a spawned child's requester is gone");
                    }
                }
            }
            Reply::Failed { id, message } => {
                if let Some(tx) = state.spawns.remove(&id) {
                    // The requester may have given up; nothing else to tell.
                    let _ignored = tx.send(Err(ZygoteError::Fork(message)));
                }
            }
            Reply::Exited {
                pid,
                status,
                cpu_time_ns,
            } => {
                if let Some(tx) = state.exits.remove(&pid) {
                    let _ignored = tx.send(Exit {
                        status,
                        cpu_time_ns,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_death_says_its_cause_and_whether_a_new_fork_server_is_up() {
        let death = |restart| Death {
            pid: 41,
            cause: "killed by signal 9".into(),
            restart,
        };
        assert_eq!(
            death(Restart::Started { pid: 42 }).message(),
            "the fork server died (killed by signal 9); its children were killed; a new one was started"
        );
        assert!(
            death(Restart::Pending)
                .message()
                .ends_with("a new one is being started")
        );
        let failed = death(Restart::Failed("No such file or directory".into())).message();
        assert!(
            failed.ends_with("a new one could not be started (No such file or directory)"),
            "{failed}"
        );
    }

    #[test]
    fn a_binary_that_cannot_be_started_is_a_start_error() {
        match Zygote::start(Path::new("/nonexistent/procviz")) {
            Err(ZygoteError::Start(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
            other => panic!("a start error expected, got {other:?}"),
        }
    }

    /// `true __zygote` exits at once: a fork server that dies as soon as it starts.
    #[tokio::test]
    async fn a_fork_server_that_keeps_dying_is_restarted_with_pauses_and_stops_promptly() {
        let zygote = Zygote::start(Path::new("/bin/true"));
        let Ok(zygote) = zygote else {
            panic!("{zygote:?}");
        };
        let mut health = zygote.health();
        let started = Instant::now();
        let third =
            tokio::time::timeout(Duration::from_secs(10), health.wait_for(|h| h.deaths >= 3))
                .await
                .is_ok_and(|seen| seen.is_ok());
        assert!(third, "three deaths within 10 s");
        // Restarted at once after the first death, after 1 s after the second.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(900), "{took:?}");
        let last = health.borrow().last.clone();
        assert_eq!(
            last.map(|d| d.cause),
            Some("exited with code 0".to_string())
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            health.borrow().deaths,
            3,
            "paused 2 s before the fourth start, not a busy loop"
        );
        // Dropping it ends the pause and the keeper at once.
        let dropping = Instant::now();
        drop(zygote);
        assert!(dropping.elapsed() < Duration::from_millis(500));
    }
}
