//! The hover panel's rows for a task bar, a process lane or a thread's sub-lane.

use super::model::RunModel;
use super::threads::ThreadState;
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
                ("Process", self.main_described()),
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

    /// The hover panel of thread `tid` of `proc` (its sub-lane), with what it was doing at
    /// `t` if the pointer is on the plot: its name, then (label, value) rows.
    pub fn describe_thread(
        &self,
        proc: ProcId,
        tid: u32,
        t: Option<f64>,
    ) -> Option<(String, Vec<(&'static str, String)>)> {
        use crate::layout::format_duration;
        let p = self.processes.iter().find(|p| p.proc == proc)?;
        let row = self.threads_of(proc).iter().find(|r| r.tid == tid)?;
        let mut rows = vec![
            ("Process", format!("{} (PID {})", p.name, p.pid)),
            ("Thread ID", tid.to_string()),
        ];
        if let Some(t) = t {
            rows.push(("At", format_duration(t)));
            rows.push(("State", thread_state(&row.state_at(t))));
        }
        rows.push(("On a core in all", format_duration(row.on_cpu())));
        Some((row.name(p.pid), rows))
    }
}

/// What a thread was doing over a sampled interval, for people: "on core 1", "waiting for
/// a core", "asleep or blocked", or a mix with its shares.
fn thread_state(state: &ThreadState) -> String {
    let ThreadState::Sampled(s) = state else {
        return "— (not sampled then)".into();
    };
    let pct = |share: f64| (share * 100.0).round();
    let on = match s.core {
        Some(core) => format!("on core {core}"),
        None => "on a core".into(),
    };
    // The sampled shares may add up to a little more than the interval.
    let waiting = s.waiting.min(1.0 - s.running);
    let asleep = (1.0 - s.running - waiting).max(0.0);
    let parts: Vec<String> = [
        (s.running, on),
        (waiting, "waiting for a core".to_string()),
        (asleep, "asleep or blocked".to_string()),
    ]
    .into_iter()
    .filter(|(share, _)| pct(*share) > 0.0)
    .map(|(share, what)| format!("{what} {:.0} %", pct(share)))
    .collect();
    if parts.is_empty() {
        "asleep or blocked".into()
    } else {
        parts.join(", ")
    }
}
