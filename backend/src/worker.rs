//! The child side: `procviz __worker` runs here, in a fresh process that re-executed the
//! server's own binary (a real PID, no fork of the multi-threaded server).
//!
//! It reports on the control channel ([`crate::ipc`]), runs its [`Script`], and exits. If the
//! server goes away, the channel reads end-of-file and the child exits at once.

use crate::clock::monotonic_ns;
use crate::ipc::{CONTROL_FD, WorkerReport};
use crate::workload::{Script, execute};
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;

/// Exit code of a child that lost its server.
pub const EXIT_ORPHANED: i32 = 70;

/// Runs the worker and returns its exit code.
pub fn run(script: &Script) -> i32 {
    // SAFETY: the server placed our end of the control socket at CONTROL_FD before exec; we
    // check it is open before taking ownership of it.
    if unsafe { libc::fcntl(CONTROL_FD, libc::F_GETFD) } == -1 {
        eprintln!("procviz worker: no control channel on fd {CONTROL_FD}; start it from procviz");
        return 2;
    }
    let control = unsafe { UnixStream::from_raw_fd(CONTROL_FD) };
    match control.try_clone() {
        Ok(watch) => {
            std::thread::spawn(move || watchdog(watch));
        }
        Err(e) => {
            eprintln!("procviz worker: control channel: {e}");
            return 2;
        }
    }
    let report = WorkerReport::Started {
        at_ns: monotonic_ns(),
        pid: std::process::id(),
        cpus: allowed_cpus(),
    };
    if send(&control, &report).is_err() {
        return EXIT_ORPHANED;
    }
    let code = execute(script);
    // Output must be complete before the exit is observed.
    if std::io::stdout().flush().is_err() {
        return 1;
    }
    code
}

fn send(mut control: &UnixStream, report: &WorkerReport) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(report).map_err(std::io::Error::other)?;
    line.push(b'\n');
    control.write_all(&line)
}

/// Blocks until the server closes the channel (it died or gave up on us), then exits.
fn watchdog(mut control: UnixStream) {
    let mut buf = [0u8; 256];
    loop {
        match control.read(&mut buf) {
            Ok(0) | Err(_) => std::process::exit(EXIT_ORPHANED),
            Ok(_) => {}
        }
    }
}

/// The cores this process may run on, ascending.
pub fn allowed_cpus() -> Vec<u32> {
    use nix::sched::{CpuSet, sched_getaffinity};
    use nix::unistd::Pid;
    match sched_getaffinity(Pid::from_raw(0)) {
        Ok(set) => (0..CpuSet::count())
            .filter(|&i| set.is_set(i).unwrap_or(false))
            .map(|i| i as u32)
            .collect(),
        Err(_) => Vec::new(),
    }
}
