//! What a lesson observes of one finished run ([`RunFacts`]): the few figures its story
//! states, nothing more. The headless CLI folds a run's events into them
//! ([`RunFacts::add`]); the page reads the same figures off its run model. A test feeds the
//! same recorded events to both and compares the lines they make.

use crate::{Event, EventKind, ProcId, RunOutcome, Stream, TaskError, TaskResult};

/// One child process of a run as a lesson states it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessFacts {
    /// Its id in the run.
    pub proc: ProcId,
    /// Its name (`Process-1`).
    pub name: String,
    /// Its PID.
    pub pid: u32,
    /// Python's exit code (`-9` for SIGKILL); absent while it runs.
    pub exit_code: Option<i32>,
}

/// The figures a lesson states about one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunFacts {
    /// The run's length, seconds: the latest event time (its wall time once finished).
    pub wall_s: f64,
    /// The machine's cores (from `run_started`).
    pub cores: u32,
    /// Child processes, in spawn order.
    pub processes: Vec<ProcessFacts>,
    /// What the children printed on stdout, in arrival order (the main process's lines left
    /// out).
    pub printed: Vec<String>,
    /// The results the caller got, in the order it got them.
    pub results: Vec<TaskResult>,
    /// What the caller's call raised, and the results it lost, if it raised.
    pub raised: Option<(TaskError, u64)>,
    /// Sampled seconds the run's threads were on each core, per core: each sampled segment
    /// on a core adds its share of the segment (on-CPU time over its length, at most 1) times
    /// its length.
    pub core_busy_s: Vec<f64>,
    /// Nanoseconds the run's threads were runnable but waiting for a core (sampled).
    pub waited_ns: u64,
    /// Time slices the sampler counted.
    pub slices: u64,
    /// How the run ended, once it has.
    pub outcome: Option<RunOutcome>,
}

impl RunFacts {
    /// Takes one event of the run into account. Feed a run's events in order, each once (as
    /// `procviz run` writes them).
    pub fn add(&mut self, event: &Event) {
        let t = event.t.as_secs_f64();
        self.wall_s = self.wall_s.max(t);
        match &event.kind {
            EventKind::RunStarted(start) => {
                self.cores = start.cores;
                self.core_busy_s = vec![0.0; start.cores as usize];
            }
            EventKind::ProcessSpawned {
                proc, pid, name, ..
            } => self.processes.push(ProcessFacts {
                proc: *proc,
                name: name.clone(),
                pid: *pid,
                exit_code: None,
            }),
            EventKind::ProcessExited { proc, status, .. } => {
                if let Some(p) = self.processes.iter_mut().find(|p| p.proc == *proc) {
                    p.exit_code = Some(status.python_exitcode());
                }
            }
            EventKind::Output { proc, stream, text }
                if *proc != ProcId::MAIN && *stream == Stream::Stdout =>
            {
                self.printed.push(text.clone());
            }
            EventKind::ResultConsumed { result, .. } => self.results.push(result.clone()),
            EventKind::CallerRaised {
                error,
                lost_results,
            } => self.raised = Some(((**error).clone(), *lost_results)),
            EventKind::ThreadSegment {
                core,
                start,
                on_cpu_ns,
                waiting_ns,
                slices,
                ..
            } => {
                self.slices += u64::from(*slices);
                self.waited_ns += waiting_ns;
                if let (Some(core), true) = (core, *on_cpu_ns > 0) {
                    // The same arithmetic as the page's core blocks, so the sums agree.
                    let start = start.as_secs_f64();
                    let span = (t - start).max(1e-9);
                    let share = (*on_cpu_ns as f64 / 1e9 / span).min(1.0);
                    if let Some(busy) = self.core_busy_s.get_mut(*core as usize) {
                        *busy += share * (t - start);
                    }
                }
            }
            EventKind::RunFinished { outcome } => self.outcome = Some(outcome.clone()),
            _ => {}
        }
    }

    /// The facts of these events (one run's, in order).
    pub fn of<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut facts = RunFacts::default();
        for event in events {
            facts.add(event);
        }
        facts
    }

    /// Sampled seconds on the cores, all cores together.
    pub fn on_core_s(&self) -> f64 {
        self.core_busy_s.iter().sum()
    }

    /// What the children printed, as one line (`Num: 2 · Num: 1 · …`).
    pub fn print_order(&self) -> String {
        self.printed.join(" · ")
    }

    /// Whether the run ran to its end (neither cancelled nor failed).
    pub fn completed(&self) -> bool {
        self.outcome == Some(RunOutcome::Completed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ExitStatus, RunId, RunTime};

    fn at(ms: u64, kind: EventKind) -> Event {
        Event {
            run: RunId(1),
            seq: 0,
            t: RunTime::from_millis(ms),
            kind,
        }
    }

    fn segment(proc: u32, core: Option<u32>, from_ms: u64, on_ms: u64, wait_ms: u64) -> EventKind {
        EventKind::ThreadSegment {
            proc: ProcId(proc),
            tid: 100 + proc,
            core,
            start: RunTime::from_millis(from_ms),
            on_cpu_ns: on_ms * 1_000_000,
            waiting_ns: wait_ms * 1_000_000,
            slices: 3,
        }
    }

    #[test]
    fn the_facts_of_a_run_are_folded_from_its_events() {
        let start = EventKind::RunStarted(Box::new(crate::RunStart {
            demo: crate::DemoRequest::Processes(crate::ProcessesParams::default()),
            title: "Processes".into(),
            cores: 2,
            main_pid: 10,
            request: None,
            schedule: Vec::new(),
            interpreter: None,
            program: None,
        }));
        let spawned = |proc: u32, name: &str| EventKind::ProcessSpawned {
            proc: ProcId(proc),
            pid: 1000 + proc,
            name: name.into(),
            parent: ProcId::MAIN,
        };
        let print = |proc: u32, stream, text: &str| EventKind::Output {
            proc: ProcId(proc),
            stream,
            text: text.into(),
        };
        let events = [
            at(0, start),
            at(1, spawned(1, "Process-1")),
            at(2, spawned(2, "Process-2")),
            at(3, print(2, Stream::Stdout, "Num: 2")),
            at(4, print(1, Stream::Stderr, "a warning")),
            at(5, print(1, Stream::Stdout, "Num: 1")),
            at(6, print(0, Stream::Stdout, "Done!")),
            at(100, segment(1, Some(0), 0, 50, 40)),
            at(100, segment(2, Some(1), 0, 200, 0)),
            at(100, segment(2, Some(7), 0, 20, 0)),
            at(100, segment(2, None, 0, 0, 10)),
            at(
                120,
                EventKind::ProcessExited {
                    proc: ProcId(2),
                    status: ExitStatus::Signal { signal: 9 },
                    killed_by: None,
                    cpu_time_ns: None,
                },
            ),
            at(
                150,
                EventKind::RunFinished {
                    outcome: RunOutcome::Completed,
                },
            ),
        ];
        let facts = RunFacts::of(&events);
        assert_eq!(facts.wall_s, 0.15);
        assert_eq!(facts.print_order(), "Num: 2 · Num: 1");
        assert_eq!(
            facts
                .processes
                .iter()
                .map(|p| (p.name.as_str(), p.pid, p.exit_code))
                .collect::<Vec<_>>(),
            [("Process-1", 1001, None), ("Process-2", 1002, Some(-9))]
        );
        // Core 1's segment is capped at the whole interval; core 7 is not a core here.
        assert!((facts.core_busy_s[0] - 0.05).abs() < 1e-12, "{facts:?}");
        assert!((facts.core_busy_s[1] - 0.1).abs() < 1e-12, "{facts:?}");
        assert!((facts.on_core_s() - 0.15).abs() < 1e-12);
        assert_eq!(facts.waited_ns, 50_000_000);
        assert_eq!(facts.slices, 12);
        assert!(facts.completed());
    }
}
