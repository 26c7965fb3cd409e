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
//!   (`PR_SET_PDEATHSIG`; the zygote asks the same of the server), takes its control socket and
//!   pipes as fds 3, 1 and 2, and runs the worker code ([`crate::worker`]) without exec.
//! - The zygote reaps its children (signalfd for SIGCHLD) and reports each exit status.
//!   If the server dies, the zygote reads end-of-file and exits; the kernel then kills every
//!   child (death signal), so nothing outlives the server.
//!
//! | file | side |
//! |---|---|
//! | `mod.rs` | the server's handle ([`Zygote`]): start it, send requests, route its replies |
//! | [`serve`] | the fork server process itself, and the child between fork and its script |
//! | [`wire`] | the messages and their encoding |

pub mod serve;
pub mod wire;

pub use serve::serve;
pub use wire::{ChildKind, SpawnRequest};

use nix::sys::socket::{
    AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, recvmsg, sendmsg, socketpair,
};
use shared::ExitStatus;
use std::collections::HashMap;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use wire::{Reply, ZYGOTE_FD, decode_reply, encode_request};
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
        let body = encode_request(&request).map_err(|e| ZygoteError::Send(e.to_string()))?;
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
        let reply = match decode_reply(&buf[..n]) {
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
