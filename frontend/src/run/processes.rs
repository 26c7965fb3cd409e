//! The processes of a run: one row per child, from spawn to exit.

use super::moment::Moment;
use shared::{ExitStatus, KillReason, ProcId};

/// One process of the run as the page draws it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessRow {
    /// Its id in the run.
    pub proc: ProcId,
    /// Its name.
    pub name: String,
    /// Its PID.
    pub pid: u32,
    /// When it was spawned, seconds.
    pub spawned: f64,
    /// When it reported that it runs, seconds.
    pub started: Option<f64>,
    /// When it exited, seconds.
    pub exited: Option<f64>,
    /// How it exited.
    pub status: Option<ExitStatus>,
    /// Who killed it, if someone did.
    pub killed_by: Option<KillReason>,
    /// CPU time it used, from the kernel at its exit.
    pub cpu_time_ns: Option<u64>,
    /// The cores it was allowed on.
    pub cpus: Vec<u32>,
}

impl ProcessRow {
    /// Python's view of the exit code (`-9` for SIGKILL).
    pub fn exit_code(&self) -> Option<i32> {
        self.status.map(ExitStatus::python_exitcode)
    }
}

impl Moment for ProcessRow {
    fn at(&self, t: f64) -> Option<Self> {
        if self.spawned > t {
            return None;
        }
        let mut p = self.clone();
        if p.started.is_some_and(|s| s > t) {
            p.started = None;
        }
        if p.exited.is_some_and(|e| e > t) {
            p.exited = None;
            p.status = None;
            p.killed_by = None;
            p.cpu_time_ns = None;
        }
        Some(p)
    }
}
