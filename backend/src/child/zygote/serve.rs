//! The fork server process (`procviz __zygote`) and a child between its fork and its script.
//!
//! Single-threaded: it polls its channel and a signalfd for SIGCHLD. A request forks a child
//! (no exec) that joins its run's group, asks for the death signal, restores its signal
//! mask, takes its affinity and its three descriptors, and runs [`crate::worker`]; every
//! reaped child is reported with its status and CPU time.

use crate::child::zygote::wire::{
    ChildKind, MAX_MESSAGE, Reply, SpawnRequest, ZYGOTE_FD, decode_request, encode_reply,
};
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use shared::ExitStatus;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

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
    let body = match encode_reply(reply) {
        Ok(body) => body,
        Err(e) => {
            eprintln!("procviz zygote: reply not sent: {e}");
            return;
        }
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
    let request = decode_request(&buf[..n]).map_err(|e| format!("bad request: {e}"))?;
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
        ChildKind::Exec(spec) => exec(spec),
    }
}

/// Replaces this child by `spec`'s program: no control channel, stdin from `/dev/null`, the
/// given environment and directory. Returns only when that fails (127, said on stderr, which
/// is the child's pipe to the server).
fn exec(spec: &super::wire::ExecSpec) -> i32 {
    use std::ffi::CString;
    // SAFETY: closing and opening descriptors this new process owns.
    unsafe {
        libc::close(crate::ipc::CONTROL_FD);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null == -1 || (null != 0 && libc::dup2(null, 0) == -1) {
            eprintln!("procviz: opening /dev/null as stdin failed");
            return 127;
        }
        if null != 0 {
            libc::close(null);
        }
    }
    let cstring = |s: &str| CString::new(s.as_bytes().to_vec());
    let program = cstring(&spec.program);
    let argv: Result<Vec<CString>, _> = std::iter::once(spec.program.as_str())
        .chain(spec.args.iter().map(String::as_str))
        .map(cstring)
        .collect();
    let env: Result<Vec<CString>, _> = spec
        .env
        .iter()
        .map(|(k, v)| cstring(&format!("{k}={v}")))
        .collect();
    let (Ok(program), Ok(argv), Ok(env)) = (program, argv, env) else {
        eprintln!("procviz: the program, an argument or the environment holds a NUL byte");
        return 127;
    };
    if let Err(e) = nix::unistd::chdir(spec.cwd.as_str()) {
        eprintln!("procviz: cannot enter {}: {e}", spec.cwd);
        return 127;
    }
    // execvpe looks the program up on the PATH of the *new* environment.
    let error = nix::unistd::execvpe(&program, &argv, &env);
    eprintln!(
        "procviz: could not run {}: {}",
        spec.program,
        error.map_or_else(|e| e.desc().to_string(), |never| match never {})
    );
    127
}
