//! The page's picture of a run, rebuilt from its events. Pure: no DOM, no signals; tested
//! natively.

use shared::{
    DemoRequest, Event, EventKind, ExitStatus, KillReason, ProcId, RunId, RunOutcome, Stream,
};

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

/// A line of console output.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsoleLine {
    /// Its position in the run's log (unique, for keyed lists).
    pub seq: u64,
    /// When it was read, seconds.
    pub t: f64,
    /// Who wrote it.
    pub proc: ProcId,
    /// Which stream.
    pub stream: Stream,
    /// The text.
    pub text: String,
}

/// Everything the page knows about one run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunModel {
    /// The run.
    pub run: RunId,
    /// Its title.
    pub title: String,
    /// Its demo request.
    pub demo: Option<DemoRequest>,
    /// PID of the main process.
    pub main_pid: u32,
    /// The machine's cores.
    pub cores: u32,
    /// Child processes, in spawn order.
    pub processes: Vec<ProcessRow>,
    /// Console output, in arrival order.
    pub console: Vec<ConsoleLine>,
    /// How the run ended, once it has.
    pub outcome: Option<RunOutcome>,
    /// The latest event time seen, seconds (the run's length once finished).
    pub last_t: f64,
    /// The next sequence number expected; a jump is counted in `gaps`.
    pub next_seq: u64,
    /// Events missing from the stream (never expected; shown if it happens).
    pub gaps: u64,
}

impl RunModel {
    /// An empty model of `run`.
    pub fn new(run: RunId) -> Self {
        RunModel {
            run,
            title: String::new(),
            demo: None,
            main_pid: 0,
            cores: 0,
            processes: Vec::new(),
            console: Vec::new(),
            outcome: None,
            last_t: 0.0,
            next_seq: 0,
            gaps: 0,
        }
    }

    /// Whether the run has finished.
    pub fn finished(&self) -> bool {
        self.outcome.is_some()
    }

    /// The name of a process of the run.
    pub fn name_of(&self, proc: ProcId) -> &str {
        if proc == ProcId::MAIN {
            return "MainProcess";
        }
        self.processes
            .iter()
            .find(|p| p.proc == proc)
            .map_or("?", |p| p.name.as_str())
    }

    /// Applies one event (of this run; others are ignored). Replayed events (seq already
    /// seen) are ignored, so a re-subscription can resend the snapshot safely.
    pub fn apply(&mut self, event: &Event) {
        if event.run != self.run || event.seq < self.next_seq {
            return;
        }
        self.gaps += event.seq - self.next_seq;
        self.next_seq = event.seq + 1;
        let t = event.t.as_secs_f64();
        self.last_t = self.last_t.max(t);
        match &event.kind {
            EventKind::RunStarted {
                demo,
                title,
                cores,
                main_pid,
            } => {
                self.demo = Some((**demo).clone());
                self.title = title.clone();
                self.cores = *cores;
                self.main_pid = *main_pid;
            }
            EventKind::ProcessSpawned {
                proc,
                pid,
                name,
                parent: _,
            } => {
                self.processes.push(ProcessRow {
                    proc: *proc,
                    name: name.clone(),
                    pid: *pid,
                    spawned: t,
                    started: None,
                    exited: None,
                    status: None,
                    killed_by: None,
                    cpu_time_ns: None,
                    cpus: Vec::new(),
                });
            }
            EventKind::ProcessStarted { proc, cpus } => {
                if let Some(row) = self.row_mut(*proc) {
                    row.started = Some(t);
                    row.cpus = cpus.clone();
                }
            }
            EventKind::Output { proc, stream, text } => self.console.push(ConsoleLine {
                seq: event.seq,
                t,
                proc: *proc,
                stream: *stream,
                text: text.clone(),
            }),
            EventKind::ProcessExited {
                proc,
                status,
                killed_by,
                cpu_time_ns,
            } => {
                if let Some(row) = self.row_mut(*proc) {
                    row.exited = Some(t);
                    row.status = Some(*status);
                    row.killed_by = *killed_by;
                    row.cpu_time_ns = *cpu_time_ns;
                }
            }
            EventKind::RunFinished { outcome } => self.outcome = Some(outcome.clone()),
            // Pool events are drawn by the pool view (issue #5); the process lanes need none.
            _ => {}
        }
    }

    fn row_mut(&mut self, proc: ProcId) -> Option<&mut ProcessRow> {
        self.processes.iter_mut().find(|p| p.proc == proc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{RunTime, TwoProcessesParams};

    fn ev(seq: u64, ms: u64, kind: EventKind) -> Event {
        Event {
            run: RunId(1),
            seq,
            t: RunTime::from_millis(ms),
            kind,
        }
    }

    fn two_process_run() -> Vec<Event> {
        vec![
            ev(
                0,
                0,
                EventKind::RunStarted {
                    demo: Box::new(DemoRequest::TwoProcesses(TwoProcessesParams::default())),
                    title: "Two processes".into(),
                    cores: 2,
                    main_pid: 10,
                },
            ),
            ev(
                1,
                1,
                EventKind::ProcessSpawned {
                    proc: ProcId(1),
                    pid: 11,
                    name: "Process-1".into(),
                    parent: ProcId::MAIN,
                },
            ),
            ev(
                2,
                2,
                EventKind::ProcessSpawned {
                    proc: ProcId(2),
                    pid: 12,
                    name: "Process-2".into(),
                    parent: ProcId::MAIN,
                },
            ),
            ev(
                3,
                3,
                EventKind::ProcessStarted {
                    proc: ProcId(1),
                    cpus: vec![0, 1],
                },
            ),
            ev(
                4,
                4,
                EventKind::Output {
                    proc: ProcId(1),
                    stream: Stream::Stdout,
                    text: "Square: 100".into(),
                },
            ),
            ev(
                5,
                5,
                EventKind::ProcessExited {
                    proc: ProcId(1),
                    status: ExitStatus::Code { code: 0 },
                    killed_by: None,
                    cpu_time_ns: None,
                },
            ),
            ev(
                6,
                6,
                EventKind::ProcessExited {
                    proc: ProcId(2),
                    status: ExitStatus::Signal { signal: 9 },
                    killed_by: Some(KillReason::Cancelled),
                    cpu_time_ns: Some(5_000_000),
                },
            ),
            ev(
                7,
                7,
                EventKind::RunFinished {
                    outcome: RunOutcome::Completed,
                },
            ),
        ]
    }

    #[test]
    fn events_build_lanes_console_and_outcome() {
        let mut model = RunModel::new(RunId(1));
        for e in two_process_run() {
            model.apply(&e);
        }
        assert_eq!(model.title, "Two processes");
        assert_eq!(model.processes.len(), 2);
        let p1 = &model.processes[0];
        assert_eq!(
            (p1.pid, p1.started, p1.exited, p1.exit_code()),
            (11, Some(0.003), Some(0.005), Some(0))
        );
        assert_eq!(p1.cpus, vec![0, 1]);
        assert_eq!(model.processes[1].exit_code(), Some(-9));
        assert_eq!(model.processes[1].killed_by, Some(KillReason::Cancelled));
        assert_eq!(model.console.len(), 1);
        assert_eq!(model.name_of(ProcId(1)), "Process-1");
        assert_eq!(model.name_of(ProcId::MAIN), "MainProcess");
        assert!(model.finished());
        assert_eq!(model.last_t, 0.007);
        assert_eq!(model.gaps, 0);
    }

    #[test]
    fn replayed_events_are_ignored_and_gaps_counted() {
        let events = two_process_run();
        let mut model = RunModel::new(RunId(1));
        for e in events.iter().chain(events.iter()) {
            model.apply(e);
        }
        assert_eq!(
            model.processes.len(),
            2,
            "a re-sent snapshot must not duplicate lanes"
        );
        let mut gappy = RunModel::new(RunId(1));
        gappy.apply(&events[0]);
        gappy.apply(&events[4]);
        assert_eq!(gappy.gaps, 3);
    }

    #[test]
    fn events_of_other_runs_are_ignored() {
        let mut model = RunModel::new(RunId(2));
        for e in two_process_run() {
            model.apply(&e);
        }
        assert!(model.processes.is_empty());
    }
}
