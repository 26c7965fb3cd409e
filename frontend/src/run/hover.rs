//! The hover panel's rows for a task bar or a process lane.

use super::model::RunModel;
use shared::{KillReason, ProcId, TaskResult};

/// Cores for people: `0, 1`.
fn core_list(cores: &[u32]) -> String {
    cores
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl RunModel {
    /// The hover panel of task bar `i`: (label, value) rows.
    pub fn describe_task(&self, i: usize) -> Vec<(&'static str, String)> {
        use crate::layout::format_duration;
        let Some(bar) = self.tasks.get(i) else {
            return Vec::new();
        };
        let pid = self
            .processes
            .iter()
            .find(|p| p.proc == bar.worker)
            .map_or(0, |p| p.pid);
        let end = bar.end(self.last_t);
        let cores = self.cores_during(bar.worker, bar.started, end);
        let cores = if cores.is_empty() {
            "— (not seen on a core)".to_string()
        } else {
            core_list(&cores)
        };
        let outcome = match &bar.result {
            None => ("State", "running".to_string()),
            Some(TaskResult::Value { value }) => ("Result", value.to_string()),
            Some(TaskResult::Error(e)) => ("Error", format!("{e} (in {})", e.location)),
            Some(TaskResult::Repr { text }) => ("Result", text.clone()),
        };
        let traceback = match &bar.result {
            Some(TaskResult::Error(e)) => e.traceback.clone(),
            _ => None,
        };
        let mut rows = vec![
            ("Task", bar.task.to_string()),
            (
                "Process",
                format!("{} (PID {pid})", self.name_of(bar.worker)),
            ),
            ("Start", format_duration(bar.started)),
            (
                "End",
                bar.finished
                    .map(format_duration)
                    .unwrap_or_else(|| "—".into()),
            ),
            ("Duration", format_duration(end - bar.started)),
            ("Core(s)", cores),
            outcome,
        ];
        if let Some(traceback) = traceback {
            rows.push(("Traceback", traceback));
        }
        rows
    }

    /// The hover panel of a process lane: (label, value) rows.
    pub fn describe_process(&self, proc: ProcId) -> Vec<(&'static str, String)> {
        use crate::layout::format_duration;
        if proc == ProcId::MAIN {
            return vec![
                (
                    "Process",
                    format!("{} (the procviz server)", self.main_name()),
                ),
                ("PID", self.main_pid.to_string()),
            ];
        }
        let Some(p) = self.processes.iter().find(|p| p.proc == proc) else {
            return Vec::new();
        };
        let end = p.exited.unwrap_or(self.last_t);
        let waited = self.waited_ns(proc);
        let exit = match (p.status, p.killed_by) {
            (None, _) => "running".to_string(),
            (Some(s), by) => {
                let code = s.python_exitcode();
                match (s, by) {
                    (shared::ExitStatus::Signal { signal }, Some(by)) => {
                        let who = match by {
                            KillReason::User => "killed from the page",
                            KillReason::Cancelled => "run cancelled",
                            KillReason::ClientGone => "tab closed",
                            KillReason::ServerShutdown => "server stopped",
                            KillReason::LimitReached => "run limit reached",
                            KillReason::Program => "by the program",
                        };
                        format!("{code} ({}, {who})", shared::signal_name(signal))
                    }
                    (shared::ExitStatus::Signal { signal }, None) => {
                        format!("{code} ({})", shared::signal_name(signal))
                    }
                    _ => code.to_string(),
                }
            }
        };
        let tasks = self.index.of(proc).len();
        let mut rows = vec![
            ("Process", p.name.clone()),
            ("PID", p.pid.to_string()),
            ("Spawned", format_duration(p.spawned)),
            (
                "Exited",
                p.exited.map(format_duration).unwrap_or_else(|| "—".into()),
            ),
            ("Alive for", format_duration(end - p.spawned)),
            ("Exit code", exit),
            (
                "Core(s)",
                core_list(&self.cores_during(proc, p.spawned, end)),
            ),
            ("Allowed on", format!("{:?}", p.cpus)),
            ("Waited for a core", format_duration(waited as f64 / 1e9)),
        ];
        if let Some(ns) = p.cpu_time_ns {
            rows.push(("CPU time", format_duration(ns as f64 / 1e9)));
        }
        if tasks > 0 {
            rows.push(("Tasks", tasks.to_string()));
        }
        rows
    }
}
