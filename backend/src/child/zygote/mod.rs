//! The fork server ("zygote"): where children are born.
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
//!   (`PR_SET_PDEATHSIG`; the zygote asks the same of the server), takes its pipes as fds 1, 2
//!   and 3, and runs the worker code ([`crate::worker`]) without exec.
//! - The zygote reaps its children (signalfd for SIGCHLD) and reports each exit status.
//!   If the server dies, the zygote reads end-of-file and exits; the kernel then kills every
//!   child (death signal), so nothing outlives the server.

use crate::workload::Step;
use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};
use serde::{Deserialize, Serialize};
use shared::ExitStatus;
use std::collections::HashMap;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The zygote's descriptor of its channel to the server (out of the way of fds 0–3).
const ZYGOTE_FD: RawFd = 100;
/// The largest request (a script of some thousands of steps fits).
const MAX_MESSAGE: usize = 512 * 1024;

/// What the child is.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub enum ChildKind {
    /// A plain process running its script once as task `task`.
    Process {
        /// Its task number.
        task: u64,
    },
    /// A pool worker.
    PoolWorker {
        /// `maxtasksperchild`.
        maxtasks: Option<u32>,
    },
}

/// A request to fork a child.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SpawnRequest {
    /// Matches the reply.
    pub id: u64,
    /// The child's name.
    pub name: String,
    /// What it is.
    pub kind: ChildKind,
    /// What it runs.
    pub script: Vec<Step>,
    /// The process group to join (0: lead a new one).
    pub pgid: i32,
    /// The cores it may use.
    pub affinity: Option<Vec<u32>>,
}

/// A message from the zygote.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Reply {
    Spawned {
        id: u64,
        pid: i32,
        pgid: i32,
    },
    Failed {
        id: u64,
        message: String,
    },
    Exited {
        pid: i32,
        status: ExitStatus,
        cpu_time_ns: Option<u64>,
    },
}

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
    /// It is gone.
    #[error("the fork server is gone")]
    Gone,
    /// It could not fork.
    #[error("fork failed: {0}")]
    Fork(String),
    /// A request could not be sent.
    #[error("could not send to the fork server: {0}")]
    Send(String),
}

type Pending = HashMap<u64, oneshot::Sender<Result<Spawned, ZygoteError>>>;

#[derive(Default)]
struct Waiting {
    spawns: Pending,
    exits: HashMap<i32, oneshot::Sender<Exit>>,
    gone: bool,
}

/// The server's handle on its zygote.
pub struct Zygote {
    channel: OwnedFd,
    waiting: Arc<Mutex<Waiting>>,
    send_lock: Mutex<()>,
    next_id: std::sync::atomic::AtomicU64,
    process: Mutex<Option<std::process::Child>>,
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
    /// Starts `exe __zygote` and a reader thread for its replies. Must be called from a
    /// thread that lives as long as the server (the zygote dies with the thread that forked
    /// it).
    pub fn start(exe: &Path) -> Result<Zygote, ZygoteError> {
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
        let waiting = Arc::new(Mutex::new(Waiting::default()));
        let reader_fd = ours.try_clone().map_err(ZygoteError::Start)?;
        let reader_waiting = waiting.clone();
        std::thread::Builder::new()
            .name("zygote-replies".into())
            .spawn(move || read_replies(reader_fd, reader_waiting))
            .map_err(ZygoteError::Start)?;
        Ok(Zygote {
            channel: ours,
            waiting,
            send_lock: Mutex::new(()),
            next_id: std::sync::atomic::AtomicU64::new(1),
            process: Mutex::new(Some(process)),
        })
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
        let body = serde_json::to_vec(&request).map_err(|e| ZygoteError::Send(e.to_string()))?;
        if body.len() > MAX_MESSAGE {
            return Err(ZygoteError::Send(format!(
                "request of {} bytes is too large",
                body.len()
            )));
        }
        let (tx, rx) = oneshot::channel();
        {
            let mut waiting = lock(&self.waiting);
            if waiting.gone {
                return Err(ZygoteError::Gone);
            }
            waiting.spawns.insert(request.id, tx);
        }
        {
            let _one_at_a_time = lock(&self.send_lock);
            let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
            let cmsg = [ControlMessage::ScmRights(&raw)];
            let iov = [IoSlice::new(&body)];
            if let Err(e) = sendmsg::<()>(
                self.channel.as_raw_fd(),
                &iov,
                &cmsg,
                MsgFlags::empty(),
                None,
            ) {
                lock(&self.waiting).spawns.remove(&request.id);
                return Err(ZygoteError::Send(e.to_string()));
            }
        }
        drop(fds);
        rx.await.map_err(|_| ZygoteError::Gone)?
    }
}

impl Drop for Zygote {
    fn drop(&mut self) {
        if let Some(mut child) = lock(&self.process).take() {
            // It exits by itself when the channel closes; this makes sure and reaps it.
            if let Err(e) = child.kill() {
                tracing::debug!(error = %e, "the fork server had already exited");
            }
            if let Err(e) = child.wait() {
                tracing::debug!(error = %e, "reaping the fork server");
            }
        }
    }
}

/// The server's reader of the zygote's replies (a plain thread: blocking reads).
fn read_replies(channel: OwnedFd, waiting: Arc<Mutex<Waiting>>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(channel.as_raw_fd(), &mut iov, None, MsgFlags::empty()) {
                Ok(msg) => msg.bytes,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => 0,
            }
        };
        if n == 0 {
            break;
        }
        let reply: Reply = match serde_json::from_slice(&buf[..n]) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "undecodable reply from the fork server");
                continue;
            }
        };
        let mut w = lock(&waiting);
        match reply {
            Reply::Spawned { id, pid, pgid } => {
                let (exit_tx, exit_rx) = oneshot::channel();
                w.exits.insert(pid, exit_tx);
                if let Some(tx) = w.spawns.remove(&id) {
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
                if let Some(tx) = w.spawns.remove(&id) {
                    // The requester may have given up; nothing else to tell.
                    let _ignored = tx.send(Err(ZygoteError::Fork(message)));
                }
            }
            Reply::Exited {
                pid,
                status,
                cpu_time_ns,
            } => {
                if let Some(tx) = w.exits.remove(&pid) {
                    let _ignored = tx.send(Exit {
                        status,
                        cpu_time_ns,
                    });
                }
            }
        }
    }
    // The zygote is gone: its children got SIGKILL from the kernel.
    let mut w = lock(&waiting);
    w.gone = true;
    for (_, tx) in w.spawns.drain() {
        let _ignored = tx.send(Err(ZygoteError::Gone));
    }
    for (_, tx) in w.exits.drain() {
        let _ignored = tx.send(Exit {
            status: ExitStatus::Signal { signal: 9 },
            cpu_time_ns: None,
        });
    }
}

// ---------------------------------------------------------------------------------------
// The zygote side.
// ---------------------------------------------------------------------------------------

/// `procviz __zygote`: serves spawn requests until the server goes away. Returns the exit code.
pub fn serve() -> i32 {
    use nix::sys::signal::{SigSet, Signal};
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    // SAFETY: fcntl only inspects the descriptor number.
    if unsafe { libc::fcntl(ZYGOTE_FD, libc::F_GETFD) } == -1 {
        eprintln!("procviz: __zygote is started by the procviz server, not by hand");
        return 2;
    }
    // SAFETY: the server placed our end of the channel at ZYGOTE_FD; nothing else owns it.
    let channel = unsafe { OwnedFd::from_raw_fd(ZYGOTE_FD) };
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    if let Err(e) = mask.thread_block() {
        eprintln!("procviz zygote: blocking SIGCHLD: {e}");
        return 2;
    }
    let sigfd = match SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC) {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("procviz zygote: signalfd: {e}");
            return 2;
        }
    };
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let mut fds = [
            libc::pollfd {
                fd: channel.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sigfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } == -1 {
            continue;
        }
        if fds[1].revents != 0 {
            while let Ok(Some(_)) = sigfd.read_signal() {}
            reap(&channel);
        }
        if fds[0].revents != 0 {
            match receive(&channel, &mut buf) {
                Ok(Some((request, received))) => spawn(&channel, &sigfd, request, received),
                Ok(None) => return 0,
                Err(e) => eprintln!("procviz zygote: {e}"),
            }
        }
    }
}

fn send_reply(channel: &OwnedFd, reply: &Reply) {
    let Ok(body) = serde_json::to_vec(reply) else {
        return;
    };
    let iov = [IoSlice::new(&body)];
    if let Err(e) = sendmsg::<()>(channel.as_raw_fd(), &iov, &[], MsgFlags::empty(), None) {
        // The server is gone: the next read sees end-of-file and we exit.
        eprintln!("procviz zygote: reply lost: {e}");
    }
}

/// Reports every child that has exited, with the CPU time it used.
fn reap(channel: &OwnedFd) {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: an all-zero rusage is a valid value to be overwritten.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 writes into the two locals.
        let pid = unsafe { libc::wait4(-1, &mut status, libc::WNOHANG, &mut usage) };
        if pid <= 0 {
            return;
        }
        let status = if libc::WIFEXITED(status) {
            ExitStatus::Code {
                code: libc::WEXITSTATUS(status),
            }
        } else if libc::WIFSIGNALED(status) {
            ExitStatus::Signal {
                signal: libc::WTERMSIG(status),
            }
        } else {
            continue;
        };
        let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
        send_reply(
            channel,
            &Reply::Exited {
                pid,
                status,
                cpu_time_ns: Some(tv(usage.ru_utime) + tv(usage.ru_stime)),
            },
        );
    }
}

/// One request and its three descriptors; `None` when the server closed the channel.
fn receive(
    channel: &OwnedFd,
    buf: &mut [u8],
) -> Result<Option<(SpawnRequest, Vec<OwnedFd>)>, String> {
    let mut space = nix::cmsg_space!([RawFd; 3]);
    let (n, received) = {
        let mut iov = [IoSliceMut::new(buf)];
        let msg = recvmsg::<()>(
            channel.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| format!("receiving a request: {e}"))?;
        let mut received = Vec::new();
        for cmsg in msg.cmsgs().map_err(|e| e.to_string())? {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                // SAFETY: the kernel just installed these descriptors for us.
                received.extend(
                    fds.into_iter()
                        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                );
            }
        }
        (msg.bytes, received)
    };
    if n == 0 {
        return Ok(None);
    }
    let request = serde_json::from_slice(&buf[..n]).map_err(|e| format!("bad request: {e}"))?;
    Ok(Some((request, received)))
}

fn spawn(
    channel: &OwnedFd,
    sigfd: &nix::sys::signalfd::SignalFd,
    request: SpawnRequest,
    fds: Vec<OwnedFd>,
) {
    let Ok([control, stdout, stderr]) = <[OwnedFd; 3]>::try_from(fds) else {
        send_reply(
            channel,
            &Reply::Failed {
                id: request.id,
                message: "a spawn request must carry three descriptors".into(),
            },
        );
        return;
    };
    let zygote = std::process::id() as libc::pid_t;
    // SAFETY: the zygote is single-threaded, so the child may run ordinary code.
    match unsafe { libc::fork() } {
        -1 => send_reply(
            channel,
            &Reply::Failed {
                id: request.id,
                message: std::io::Error::last_os_error().to_string(),
            },
        ),
        0 => {
            let code = child_main(
                channel.as_raw_fd(),
                sigfd.as_raw_fd(),
                zygote,
                &request,
                [control, stdout, stderr],
            );
            std::process::exit(code);
        }
        pid => {
            // Both sides set the group, so it is set whichever runs first.
            let pgid = join_group(pid, request.pgid);
            drop((control, stdout, stderr));
            send_reply(
                channel,
                &Reply::Spawned {
                    id: request.id,
                    pid,
                    pgid,
                },
            );
        }
    }
}

/// Puts `pid` into group `pgid` (0 or vanished: its own new group); returns the group.
fn join_group(pid: libc::pid_t, pgid: i32) -> i32 {
    // SAFETY: setpgid/getpgid on our own child (or ourselves with pid 0).
    unsafe {
        if pgid == 0 || libc::setpgid(pid, pgid) == -1 {
            libc::setpgid(pid, 0);
        }
        libc::getpgid(pid)
    }
}

/// The child: set up, then run the worker code. Returns its exit code.
fn child_main(
    channel: RawFd,
    sigfd: RawFd,
    zygote: libc::pid_t,
    request: &SpawnRequest,
    fds: [OwnedFd; 3],
) -> i32 {
    // SAFETY: plain system calls on descriptors and state this new process owns.
    unsafe {
        libc::close(channel);
        libc::close(sigfd);
        let empty = nix::sys::signal::SigSet::empty();
        if empty.thread_set_mask().is_err() {
            return 70;
        }
        join_group(0, request.pgid);
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 || libc::getppid() != zygote {
            return 70;
        }
        if let Some(cores) = &request.affinity {
            let mut set = nix::sched::CpuSet::new();
            for &c in cores {
                if set.set(c as usize).is_err() {
                    return 70;
                }
            }
            if nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).is_err() {
                return 70;
            }
        }
        // Move the three out of the way first, so no target number clobbers a source.
        let [control, stdout, stderr] = fds;
        let moved: Vec<RawFd> = [control, stdout, stderr]
            .into_iter()
            .map(|fd| {
                let raw = fd.into_raw_fd();
                let high = libc::fcntl(raw, libc::F_DUPFD_CLOEXEC, 200);
                libc::close(raw);
                high
            })
            .collect();
        for (from, to) in moved.iter().zip([crate::ipc::CONTROL_FD, 1, 2]) {
            if *from == -1 || libc::dup2(*from, to) == -1 {
                return 70;
            }
            libc::close(*from);
        }
    }
    match &request.kind {
        ChildKind::Process { task } => crate::worker::run(&request.name, *task, &request.script),
        ChildKind::PoolWorker { maxtasks } => {
            crate::worker::run_pool(&request.name, &request.script, *maxtasks)
        }
    }
}
