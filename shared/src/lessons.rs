//! The lecture demos: each example of the teaching material as the run requests its button
//! sends, and the lesson as it is told: caption, what to expect, and what its finished runs
//! showed. Shared so the server's integration tests and `procviz run lesson` run exactly what
//! the page's buttons run, and the CLI states exactly what the page states.
//!
//! - this file: the lessons and their runs ([`Lesson::runs`]);
//! - `facts`: the figures a lesson states about one run ([`RunFacts`]), folded from its
//!   events;
//! - `story`: the texts ([`Lesson::caption`], [`Lesson::expected`], [`observed`], [`story`]).

use crate::demo::{
    DemoRequest, PoolParams, ProcessesParams, PythonParams, TwoProcessesParams, Work,
};
use crate::{ClientMessage, PoolApi, RunAction, RunOutcome, Scheduled};
use serde::{Deserialize, Serialize};

mod facts;
mod story;
pub use facts::{ProcessFacts, RunFacts};
pub use story::{Progress, format_duration, observed, story};

/// One lecture demo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lesson {
    /// Square and cube in two processes, started and joined, then `Done!`.
    TwoProcesses,
    /// Four processes print `Num: 1` … `Num: 4`; the order varies.
    WhoPrintsFirst,
    /// The seed: `Pool(4).imap` over 10 one-second tasks, task 0 raising ZeroDivisionError.
    PoolImap,
    /// Four CPU-bound jobs on one core (time-slicing), then the same on every core.
    ChefAlone,
    /// The same CPU work as four threads of one process, then as four processes.
    ThreadsVsProcesses,
    /// A pool whose worker is killed mid-task: the task is lost and reported, the pool goes on.
    WorkerDies,
    /// `Pool(1)`, `Pool(2)`, `Pool(4)`, `Pool(8)` over the same CPU-bound tasks.
    HowManyWorkers,
    /// The same pool with sleeping tasks, then with CPU tasks.
    SleepingVsWorking,
}

/// What runs a lesson's programs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RunWith {
    /// procviz's own runtime, which mirrors CPython's `multiprocessing` (no Python needed).
    #[default]
    #[serde(rename = "runtime")]
    Runtime,
    /// A real CPython running the teaching material's programs as written, traced.
    #[serde(rename = "cpython")]
    CPython,
}

impl RunWith {
    /// Both, in the order the page offers them.
    pub const ALL: [RunWith; 2] = [RunWith::CPython, RunWith::Runtime];

    /// Its id in URLs and the CLI (`cpython`, `runtime`).
    pub fn id(self) -> &'static str {
        match self {
            RunWith::Runtime => "runtime",
            RunWith::CPython => "cpython",
        }
    }

    /// The one with this id.
    pub fn from_id(id: &str) -> Option<RunWith> {
        RunWith::ALL.into_iter().find(|w| w.id() == id)
    }

    /// Its name for people.
    pub fn label(self) -> &'static str {
        match self {
            RunWith::Runtime => "procviz runtime",
            RunWith::CPython => "CPython",
        }
    }
}

/// One run of a lesson: a label for people and the request.
#[derive(Clone, Debug, PartialEq)]
pub struct LessonRun {
    /// What distinguishes this run within the lesson ("1 core", "Pool(4)").
    pub label: String,
    /// What to start.
    pub request: DemoRequest,
    /// Timed actions the server carries out during the run (the kill of "A worker dies").
    pub schedule: Vec<Scheduled>,
}

/// Whether a lesson starts its next run after one of its runs (`request`) ended with
/// `outcome`: after a completed run, and after a program stopped as hung when the run set a
/// hang limit ([`PythonParams::hang_after_ms`]: the hang is the lesson's point, as in
/// "A worker dies"); not after a cancel or any other failure.
pub fn goes_on(request: &DemoRequest, outcome: &RunOutcome) -> bool {
    match outcome {
        RunOutcome::Completed => true,
        RunOutcome::Failed { .. } => {
            matches!(request, DemoRequest::Python(p) if p.hang_after_ms.is_some())
        }
        RunOutcome::Cancelled { .. } => false,
    }
}

impl LessonRun {
    /// The command that starts this run; `request` is the client's label for it (echoed in
    /// the run's `run_started`, so the lesson knows its own runs).
    pub fn start_message(&self, request: Option<String>) -> ClientMessage {
        ClientMessage::StartRun {
            demo: self.request.clone(),
            keep_on_disconnect: false,
            sample_ms: None,
            schedule: self.schedule.clone(),
            request,
        }
    }
}

impl Lesson {
    /// Every lesson, in the order of the teaching material.
    pub const ALL: [Lesson; 8] = [
        Lesson::TwoProcesses,
        Lesson::WhoPrintsFirst,
        Lesson::PoolImap,
        Lesson::ChefAlone,
        Lesson::ThreadsVsProcesses,
        Lesson::WorkerDies,
        Lesson::HowManyWorkers,
        Lesson::SleepingVsWorking,
    ];

    /// CPU time of one job of the CPU-bound lessons, milliseconds.
    pub const JOB_MS: u64 = 1000;
    /// When the worker of [`Lesson::WorkerDies`] is killed, milliseconds into the run.
    pub const KILL_AT_MS: u64 = 1500;
    /// The worker [`Lesson::WorkerDies`] kills.
    pub const KILLED_WORKER: &'static str = "PoolWorker-2";
    /// The pool sizes of [`Lesson::HowManyWorkers`].
    pub const POOL_SIZES: [u32; 4] = [1, 2, 4, 8];

    /// Its id in URLs and test ids (`chef_alone`).
    pub fn id(self) -> &'static str {
        match self {
            Lesson::TwoProcesses => "two_processes",
            Lesson::WhoPrintsFirst => "who_prints_first",
            Lesson::PoolImap => "pool_imap",
            Lesson::ChefAlone => "chef_alone",
            Lesson::ThreadsVsProcesses => "threads_vs_processes",
            Lesson::WorkerDies => "worker_dies",
            Lesson::HowManyWorkers => "how_many_workers",
            Lesson::SleepingVsWorking => "sleeping_vs_working",
        }
    }

    /// Its presenter key on the page: its place in [`Lesson::ALL`], from `1`.
    pub fn key(self) -> char {
        let place = Lesson::ALL.iter().position(|l| *l == self).unwrap_or(0);
        char::from(b'1' + place as u8)
    }

    /// The lesson with this id.
    pub fn from_id(id: &str) -> Option<Lesson> {
        Lesson::ALL.into_iter().find(|l| l.id() == id)
    }

    /// Its title.
    pub fn title(self) -> &'static str {
        match self {
            Lesson::TwoProcesses => "Two processes",
            Lesson::WhoPrintsFirst => "Who prints first?",
            Lesson::PoolImap => "Pool(4).imap with a failing task",
            Lesson::ChefAlone => "The chef alone",
            Lesson::ThreadsVsProcesses => "Threads vs processes",
            Lesson::WorkerDies => "A worker dies",
            Lesson::HowManyWorkers => "How many workers?",
            Lesson::SleepingVsWorking => "Sleeping is not working",
        }
    }

    /// Whether the lesson's point needs more than one core (on a 1-core machine the
    /// "many cores" side is left out and the page says so).
    pub fn needs_many_cores(self) -> bool {
        matches!(
            self,
            Lesson::ChefAlone | Lesson::ThreadsVsProcesses | Lesson::HowManyWorkers
        )
    }

    /// How long [`Lesson::WorkerDies`] lets CPython's `Pool.map` wait for the lost result
    /// before it stops the program as hung, milliseconds.
    pub const HANG_MS: u64 = 3000;

    /// The runs to start with `with`: [`Lesson::runs`] or [`Lesson::python_runs`].
    pub fn runs_with(self, cores: u32, api: PoolApi, with: RunWith) -> Vec<LessonRun> {
        match with {
            RunWith::Runtime => self.runs(cores, api),
            RunWith::CPython => self.python_runs(cores),
        }
    }

    /// The runs of the lesson with a real CPython: the teaching material's programs as
    /// written (shipped in the binary), with their arguments. The pool lesson's API switch
    /// does not apply (the program is `imap` as written; edit it on the page to change it).
    pub fn python_runs(self, cores: u32) -> Vec<LessonRun> {
        let run = |label: &str, name: &str, args: &[&str]| LessonRun {
            label: label.to_string(),
            request: DemoRequest::Python(PythonParams::shipped(name, args)),
            schedule: Vec::new(),
        };
        let many = cores > 1;
        let mut runs = match self {
            Lesson::TwoProcesses => vec![run("two processes", "two_processes", &[])],
            Lesson::WhoPrintsFirst => vec![run("four processes", "four_processes", &[])],
            Lesson::PoolImap => vec![run("Pool(4).imap", "pool_imap", &[])],
            Lesson::ChefAlone => vec![
                run("4 jobs, 1 core", "chef_alone", &[]),
                run(&format!("4 jobs, {cores} cores"), "chef_alone", &["free"]),
            ],
            Lesson::ThreadsVsProcesses => vec![
                run("4 threads, 1 process", "threads_vs_processes", &["threads"]),
                run("4 processes", "threads_vs_processes", &["processes"]),
            ],
            Lesson::WorkerDies => {
                let mut map = run("Pool(4).map, a worker killed", "worker_dies", &[]);
                if let DemoRequest::Python(p) = &mut map.request {
                    p.hang_after_ms = Some(Self::HANG_MS);
                }
                vec![
                    map,
                    run(
                        "ProcessPoolExecutor(4), a worker killed",
                        "worker_dies",
                        &["executor"],
                    ),
                ]
            }
            Lesson::HowManyWorkers => Self::POOL_SIZES
                .into_iter()
                .map(|n| run(&format!("Pool({n})"), "how_many_workers", &[&n.to_string()]))
                .collect(),
            Lesson::SleepingVsWorking => vec![
                run("sleeping tasks", "sleeping_vs_working", &["sleep"]),
                run("CPU tasks", "sleeping_vs_working", &["cpu"]),
            ],
        };
        if !many && self.needs_many_cores() {
            runs.truncate(1);
        }
        runs
    }

    /// The runs to start, in order, on a machine with `cores` cores; `api` is the pool API
    /// of [`Lesson::PoolImap`] (its switch).
    pub fn runs(self, cores: u32, api: PoolApi) -> Vec<LessonRun> {
        let run = |label: &str, request| LessonRun {
            label: label.to_string(),
            request,
            schedule: Vec::new(),
        };
        let cpu_jobs = |cores_allowed: Option<Vec<u32>>, threads: u32, count: u32| {
            DemoRequest::Processes(ProcessesParams {
                count,
                print: String::new(),
                work: Work::Cpu,
                work_ms: Self::JOB_MS,
                threads,
                cores: cores_allowed,
                ..ProcessesParams::default()
            })
        };
        let cpu_pool = |workers: u32, work: Work| {
            DemoRequest::Pool(PoolParams {
                workers,
                tasks: 8,
                api: PoolApi::Map,
                work,
                task_ms: 500,
                fail: Vec::new(),
                print: false,
                ..PoolParams::default()
            })
        };
        let many = cores > 1;
        match self {
            Lesson::TwoProcesses => vec![run(
                "two processes",
                DemoRequest::TwoProcesses(TwoProcessesParams::default()),
            )],
            Lesson::WhoPrintsFirst => vec![run(
                "four processes",
                DemoRequest::Processes(ProcessesParams::default()),
            )],
            Lesson::PoolImap => vec![run(
                &format!("Pool(4).{}", api.python_name()),
                DemoRequest::Pool(PoolParams {
                    api,
                    ..PoolParams::default()
                }),
            )],
            Lesson::ChefAlone => {
                let mut runs = vec![run("4 jobs, 1 core", cpu_jobs(Some(vec![0]), 0, 4))];
                if many {
                    runs.push(run(&format!("4 jobs, {cores} cores"), cpu_jobs(None, 0, 4)));
                }
                runs
            }
            Lesson::ThreadsVsProcesses => {
                let mut runs = vec![run("4 threads, 1 process", cpu_jobs(None, 4, 1))];
                if many {
                    runs.push(run("4 processes", cpu_jobs(None, 0, 4)));
                }
                runs
            }
            Lesson::WorkerDies => vec![LessonRun {
                schedule: vec![Scheduled {
                    at_ms: Self::KILL_AT_MS,
                    action: RunAction::KillProcess {
                        name: Self::KILLED_WORKER.to_string(),
                    },
                }],
                ..run(
                    "Pool(4), a worker killed",
                    DemoRequest::Pool(PoolParams {
                        fail: Vec::new(),
                        ..PoolParams::default()
                    }),
                )
            }],
            Lesson::HowManyWorkers => Self::POOL_SIZES
                .into_iter()
                .filter(|&n| many || n == 1)
                .map(|n| run(&format!("Pool({n})"), cpu_pool(n, Work::Cpu)))
                .collect(),
            Lesson::SleepingVsWorking => vec![
                run("sleeping tasks", cpu_pool(4, Work::Sleep)),
                run("CPU tasks", cpu_pool(4, Work::Cpu)),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lesson_has_a_unique_id_and_valid_runs() {
        for lesson in Lesson::ALL {
            assert_eq!(Lesson::from_id(lesson.id()), Some(lesson));
            let place = Lesson::ALL.iter().position(|l| *l == lesson).map(|i| i + 1);
            assert_eq!(lesson.key().to_digit(10), place.map(|p| p as u32));
            for cores in [1, 2, 8] {
                let runs = lesson.runs(cores, PoolApi::Imap);
                assert!(!runs.is_empty());
                for r in runs {
                    assert_eq!(r.request.validate(cores), Ok(()), "{lesson:?} {}", r.label);
                }
            }
        }
    }

    #[test]
    fn a_one_core_machine_leaves_out_the_many_core_side() {
        for lesson in Lesson::ALL {
            let one = lesson.runs(1, PoolApi::Imap).len();
            let two = lesson.runs(2, PoolApi::Imap).len();
            assert_eq!(lesson.needs_many_cores(), one < two, "{lesson:?}");
        }
        assert_eq!(Lesson::HowManyWorkers.runs(2, PoolApi::Imap).len(), 4);
    }

    #[test]
    fn cpython_runs_mirror_the_runtime_runs() {
        for lesson in Lesson::ALL {
            for cores in [1, 2, 8] {
                let runtime = lesson.runs_with(cores, PoolApi::Imap, RunWith::Runtime);
                let python = lesson.runs_with(cores, PoolApi::Imap, RunWith::CPython);
                // WorkerDies adds the executor's contrast; otherwise run for run.
                let extra = usize::from(lesson == Lesson::WorkerDies);
                assert_eq!(python.len(), runtime.len() + extra, "{lesson:?} on {cores}");
                for r in &python {
                    assert!(matches!(r.request, DemoRequest::Python(_)), "{lesson:?}");
                    assert_eq!(r.request.validate(cores), Ok(()), "{lesson:?} {}", r.label);
                }
            }
        }
        let dies = Lesson::WorkerDies.python_runs(2);
        assert!(
            matches!(&dies[0].request, DemoRequest::Python(p) if p.hang_after_ms == Some(Lesson::HANG_MS))
        );
        let failed = RunOutcome::Failed {
            message: "hung: the result of task 5 never arrived".into(),
        };
        assert!(
            goes_on(&dies[0].request, &failed),
            "the hang is the lesson's point"
        );
        assert!(!goes_on(&dies[1].request, &failed));
        assert!(goes_on(&dies[1].request, &RunOutcome::Completed));
        let cancelled = RunOutcome::Cancelled {
            reason: crate::KillReason::Cancelled,
        };
        assert!(!goes_on(&dies[0].request, &cancelled));
        assert_eq!(RunWith::from_id("cpython"), Some(RunWith::CPython));
        assert_eq!(
            serde_json::to_string(&RunWith::CPython).ok().as_deref(),
            Some("\"cpython\"")
        );
    }

    #[test]
    fn the_pool_lesson_switches_its_api() {
        let runs = Lesson::PoolImap.runs(2, PoolApi::Map);
        assert_eq!(runs[0].label, "Pool(4).map");
        assert!(
            matches!(&runs[0].request, DemoRequest::Pool(p) if p.api == PoolApi::Map && p.fail == vec![0])
        );
    }
}
