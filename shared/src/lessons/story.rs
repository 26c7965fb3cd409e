//! The lessons as they are told: a two-line caption, what to expect, why a 1-core machine
//! shows only part of one, and what finished runs showed ([`observed`], [`story`]), stated
//! from their [`RunFacts`]. One implementation for the page's lesson panel and for
//! `procviz run lesson`.

use super::{Lesson, RunFacts, RunWith};
use crate::RunOutcome;

/// A duration for people: `1.50 s`, `12.5 ms`, `800 µs`.
pub fn format_duration(secs: f64) -> String {
    if secs >= 1.0 {
        format!("{secs:.2} s")
    } else if secs >= 0.001 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{:.0} µs", secs * 1e6)
    }
}

impl Lesson {
    /// The two-line caption: the concept.
    pub fn caption(self) -> [&'static str; 2] {
        match self {
            Lesson::TwoProcesses => [
                "A process is a running program with its own PID and memory.",
                "start() launches both children; join() waits for them, so Done! comes last.",
            ],
            Lesson::WhoPrintsFirst => [
                "Started processes run independently; the OS decides who gets a core first.",
                "The order of their output is not the order they were started in — run it 10×.",
            ],
            Lesson::PoolImap => [
                "A Pool hands tasks to idle workers from one queue; imap yields results in order.",
                "A failing task does not stop the others: the caller gets its error in its place.",
            ],
            Lesson::ChefAlone => [
                "One core is a chef alone in a kitchen: it does many jobs by switching between them.",
                "Time-slicing makes them all progress, but it does not make them finish sooner.",
            ],
            Lesson::ThreadsVsProcesses => [
                "Threads share one process (one PID); processes each have their own.",
                "Native threads spread over the cores; Python threads cannot run Python code in parallel (the GIL).",
            ],
            Lesson::WorkerDies => [
                "A worker killed mid-task loses that task; the pool must notice and carry on.",
                "Python's Pool replaces the worker but the lost result never arrives: map() hangs. ProcessPoolExecutor breaks (BrokenProcessPool).",
            ],
            Lesson::HowManyWorkers => [
                "More workers help only while there are idle cores to run them.",
                "CPU-bound tasks: the speedup stops at the number of cores.",
            ],
            Lesson::SleepingVsWorking => [
                "A sleeping (I/O-bound) task waits off the CPU; a CPU-bound task needs a core.",
                "Watch the core lanes: empty while tasks sleep, full while they compute.",
            ],
        }
    }

    /// The label of its button (short, so the eight fit one row).
    pub fn short_title(self) -> &'static str {
        match self {
            Lesson::TwoProcesses => "Two processes",
            Lesson::WhoPrintsFirst => "Who prints first?",
            Lesson::PoolImap => "Pool.imap + error",
            Lesson::ChefAlone => "Chef alone",
            Lesson::ThreadsVsProcesses => "Threads vs processes",
            Lesson::WorkerDies => "Worker dies",
            Lesson::HowManyWorkers => "How many workers?",
            Lesson::SleepingVsWorking => "Sleeping vs working",
        }
    }

    /// What to expect on a machine with `cores` cores when `with` runs it, in one sentence.
    pub fn expected_with(self, cores: u32, with: RunWith) -> String {
        let n = (4.0 / f64::from(cores.clamp(1, 4))).ceil();
        match (with, self) {
            (RunWith::Runtime, _) => self.expected(cores),
            (RunWith::CPython, Lesson::WhoPrintsFirst) => {
                "Num: 4 … Num: 1 (as written, the first process prints Num: 4), in an order that changes from run to run".into()
            }
            (RunWith::CPython, Lesson::ThreadsVsProcesses) => format!(
                "4 threads of one CPython process take about 4 s: the GIL lets one thread run Python at a time, so together they use about one core; 4 processes take about {n:.0} s"
            ),
            (RunWith::CPython, Lesson::WorkerDies) => format!(
                "The worker of task 5 is killed (SIGKILL): Pool.map never returns, so procviz stops it as hung {:.0} s later; ProcessPoolExecutor raises BrokenProcessPool at once",
                Lesson::HANG_MS as f64 / 1000.0
            ),
            (RunWith::CPython, _) => self.expected(cores),
        }
    }

    /// What to expect on a machine with `cores` cores, in one sentence (the runtime's runs).
    pub fn expected(self, cores: u32) -> String {
        match self {
            Lesson::TwoProcesses => {
                "Square: 100 and Cube: 1000 from two PIDs, both exit 0, then Done!".into()
            }
            Lesson::WhoPrintsFirst => {
                "Num: 1 … Num: 4, in an order that changes from run to run".into()
            }
            Lesson::PoolImap => {
                "Results [ZeroDivisionError: division by zero, 1, …, 9] in about 3.0 s, in three waves"
                    .into()
            }
            Lesson::ChefAlone => format!(
                "4 one-second jobs: about 4 s on one core (sliced, each waiting); about {:.0} s on {cores} cores",
                (4.0 / f64::from(cores.clamp(1, 4))).ceil()
            ),
            Lesson::ThreadsVsProcesses => format!(
                "Here both take about {:.0} s, the threads of one PID spread over the cores. In Python, 4 threads took 4.1 s and 4 processes 2.0 s on 2 cores (measured): about 2× longer because of the GIL",
                (4.0 / f64::from(cores.clamp(1, 4))).ceil()
            ),
            Lesson::WorkerDies => format!(
                "{} is killed at {:.1} s: its task is reported lost (SIGKILL), a new worker takes over, all 10 tasks get a result",
                Lesson::KILLED_WORKER,
                Lesson::KILL_AT_MS as f64 / 1000.0
            ),
            Lesson::HowManyWorkers => format!(
                "8 tasks of 0.5 s CPU: Pool(1) about 4 s; the speedup grows up to {cores}× ({cores} cores), not beyond"
            ),
            Lesson::SleepingVsWorking => {
                "Same pool, same 8 × 0.5 s tasks: sleeping leaves the cores idle (about 1 s); CPU tasks fill them"
                    .into()
            }
        }
    }

    /// Why the lesson cannot make its point on a machine with `cores` cores, if it cannot
    /// (its "many cores" runs are left out: [`Lesson::runs`]).
    pub fn honesty_note(self, cores: u32) -> Option<String> {
        (self.needs_many_cores() && cores < 2).then(|| {
            format!(
                "This machine has {cores} core: the \"many cores\" side of this demo cannot be shown here, so it is left out rather than drawn misleadingly. Run procviz on a machine with 2 or more cores to see it."
            )
        })
    }
}

/// Where one of a lesson's runs is.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// Requested; not started yet (`connected`: the request went out).
    Requested {
        /// Whether the page is connected (otherwise the request waits for the connection).
        connected: bool,
    },
    /// Started and not finished: nothing to observe yet.
    Running,
    /// Finished: observed (boxed: the other states are small).
    Finished(Box<RunFacts>),
}

/// What finished runs showed (in lesson order, each with its label), one line each, and after
/// two or more, how the last compares with the first.
pub fn observed(lesson: Lesson, runs: &[(String, RunFacts)]) -> Vec<String> {
    let mut lines = run_lines(lesson, runs);
    lines.extend(comparison(lesson, runs));
    lines
}

/// The "Observed" lines of a lesson: the finished runs' figures and their comparison; a run
/// still going (or not yet started) says so instead of showing figures that are not final.
pub fn story(lesson: Lesson, runs: &[(String, Progress)]) -> Vec<String> {
    let finished: Vec<(String, RunFacts)> = runs
        .iter()
        .filter_map(|(label, p)| match p {
            Progress::Finished(facts) => Some((label.clone(), (**facts).clone())),
            _ => None,
        })
        .collect();
    let mut lines = run_lines(lesson, &finished);
    lines.extend(runs.iter().filter_map(|(label, p)| match p {
        Progress::Requested { connected: true } => Some(format!("{label}: starting…")),
        Progress::Requested { connected: false } => Some(format!(
            "{label}: waiting for the connection to the server…"
        )),
        Progress::Running => Some(format!("{label}: running…")),
        Progress::Finished(_) => None,
    }));
    lines.extend(comparison(lesson, &finished));
    lines
}

fn results_line(facts: &RunFacts) -> String {
    let shown: Vec<String> = facts.results.iter().map(ToString::to_string).collect();
    format!("[{}]", shown.join(", "))
}

/// One line per finished run.
fn run_lines(lesson: Lesson, runs: &[(String, RunFacts)]) -> Vec<String> {
    let wall = |f: &RunFacts| format_duration(f.wall_s);
    match lesson {
        Lesson::TwoProcesses | Lesson::WhoPrintsFirst => runs
            .iter()
            .map(|(_, f)| {
                let codes: Vec<String> = f
                    .processes
                    .iter()
                    .map(|p| {
                        format!(
                            "{} (PID {}) exit {}",
                            p.name,
                            p.pid,
                            p.exit_code.map_or("—".into(), |c| c.to_string())
                        )
                    })
                    .collect();
                format!(
                    "printed {} · {} · {}",
                    f.print_order(),
                    codes.join(", "),
                    wall(f)
                )
            })
            .collect(),
        Lesson::PoolImap | Lesson::WorkerDies => runs
            .iter()
            .map(|(label, f)| {
                let raised = f
                    .raised
                    .as_ref()
                    .map(|(e, lost)| format!(" · raised {e}, {lost} results lost"))
                    .unwrap_or_default();
                let killed: Vec<String> = f
                    .processes
                    .iter()
                    .filter(|p| p.exit_code == Some(-9))
                    .map(|p| format!("{} killed (-9)", p.name))
                    .collect();
                let killed = if killed.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", killed.join(", "))
                };
                let failed = match &f.outcome {
                    Some(RunOutcome::Failed { message }) => format!(" · {message}"),
                    _ => String::new(),
                };
                format!(
                    "{label}: {} in {}{raised}{killed}{failed}",
                    results_line(f),
                    wall(f)
                )
            })
            .collect(),
        Lesson::ChefAlone | Lesson::ThreadsVsProcesses | Lesson::SleepingVsWorking => runs
            .iter()
            .map(|(label, f)| {
                format!(
                    "{label}: {} wall · {} on the cores · waited {} · {} slices",
                    wall(f),
                    format_duration(f.on_core_s()),
                    format_duration(f.waited_ns as f64 / 1e9),
                    f.slices
                )
            })
            .collect(),
        Lesson::HowManyWorkers => {
            let base = runs.first().map(|(_, f)| f.wall_s);
            runs.iter()
                .map(|(label, f)| {
                    let speedup = base.map_or(1.0, |b| b / f.wall_s.max(1e-9));
                    format!("{label}: {} · {speedup:.2}× Pool(1)", wall(f))
                })
                .collect()
        }
    }
}

/// How the last of two or more finished runs compares with the first (the ratio of their
/// wall times; "How many workers?" states a speedup on every line instead).
fn comparison(lesson: Lesson, runs: &[(String, RunFacts)]) -> Option<String> {
    match runs {
        [(a, first), .., (b, last)]
            if first.wall_s > 0.0 && last.wall_s > 0.0 && lesson != Lesson::HowManyWorkers =>
        {
            Some(format!(
                "{b} took {:.2}× the time of {a}",
                last.wall_s / first.wall_s
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lessons::ProcessFacts;
    use crate::{ProcId, TaskError, TaskResult};

    fn run_of(secs: f64) -> RunFacts {
        RunFacts {
            wall_s: secs,
            ..RunFacts::default()
        }
    }

    fn named(labels: &[&str], runs: &[RunFacts]) -> Vec<(String, RunFacts)> {
        labels
            .iter()
            .map(|l| l.to_string())
            .zip(runs.iter().cloned())
            .collect()
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(format_duration(3.014), "3.01 s");
        assert_eq!(format_duration(0.0125), "12.5 ms");
        assert_eq!(format_duration(0.0008), "800 µs");
    }

    #[test]
    fn every_lesson_has_a_caption_and_an_expectation() {
        for lesson in Lesson::ALL {
            let [a, b] = lesson.caption();
            assert!(!a.is_empty() && !b.is_empty());
            assert!(!lesson.expected(2).is_empty());
            assert!(!lesson.short_title().is_empty());
        }
        assert!(Lesson::ThreadsVsProcesses.expected(2).contains("GIL"));
        assert!(
            Lesson::ThreadsVsProcesses
                .expected_with(2, RunWith::CPython)
                .starts_with("4 threads of one CPython process")
        );
        assert!(
            Lesson::WorkerDies
                .expected_with(2, RunWith::CPython)
                .contains("hung 3 s later")
        );
        assert_eq!(
            Lesson::PoolImap.expected_with(2, RunWith::CPython),
            Lesson::PoolImap.expected(2)
        );
        assert!(
            Lesson::ChefAlone
                .expected(2)
                .contains("about 2 s on 2 cores")
        );
    }

    #[test]
    fn a_one_core_machine_is_told_why_the_demo_is_partial() {
        let note = Lesson::ChefAlone
            .honesty_note(1)
            .expect("a note on one core");
        assert!(note.contains("1 core"));
        assert_eq!(Lesson::ChefAlone.honesty_note(2), None);
        assert_eq!(Lesson::PoolImap.honesty_note(1), None);
    }

    #[test]
    fn the_cpu_lessons_state_wall_core_time_waiting_and_slices_then_the_ratio() {
        let one = RunFacts {
            wall_s: 4.02,
            core_busy_s: vec![3.9, 0.0],
            waited_ns: 11_800_000_000,
            slices: 812,
            ..RunFacts::default()
        };
        let all = RunFacts {
            wall_s: 2.01,
            core_busy_s: vec![1.95, 1.97],
            waited_ns: 40_000_000,
            slices: 150,
            ..RunFacts::default()
        };
        let lines = observed(
            Lesson::ChefAlone,
            &named(&["4 jobs, 1 core", "4 jobs, 2 cores"], &[one, all]),
        );
        assert_eq!(
            lines,
            [
                "4 jobs, 1 core: 4.02 s wall · 3.90 s on the cores · waited 11.80 s · 812 slices",
                "4 jobs, 2 cores: 2.01 s wall · 3.92 s on the cores · waited 40.0 ms · 150 slices",
                "4 jobs, 2 cores took 0.50× the time of 4 jobs, 1 core",
            ]
        );
    }

    #[test]
    fn how_many_workers_states_each_speedup_and_no_ratio() {
        let lines = observed(
            Lesson::HowManyWorkers,
            &named(
                &["Pool(1)", "Pool(2)", "Pool(4)"],
                &[run_of(4.0), run_of(2.0), run_of(2.1)],
            ),
        );
        assert_eq!(
            lines,
            [
                "Pool(1): 4.00 s · 1.00× Pool(1)",
                "Pool(2): 2.00 s · 2.00× Pool(1)",
                "Pool(4): 2.10 s · 1.90× Pool(1)",
            ]
        );
    }

    #[test]
    fn the_process_lessons_state_the_print_order_pids_and_exit_codes() {
        let facts = RunFacts {
            wall_s: 0.0312,
            printed: vec!["Square: 100".into(), "Cube: 1000".into()],
            processes: vec![
                ProcessFacts {
                    proc: ProcId(1),
                    name: "Process-1".into(),
                    pid: 41,
                    exit_code: Some(0),
                },
                ProcessFacts {
                    proc: ProcId(2),
                    name: "Process-2".into(),
                    pid: 42,
                    exit_code: None,
                },
            ],
            ..RunFacts::default()
        };
        assert_eq!(
            observed(Lesson::TwoProcesses, &named(&["two processes"], &[facts])),
            [
                "printed Square: 100 · Cube: 1000 · Process-1 (PID 41) exit 0, Process-2 (PID 42) exit — · 31.2 ms"
            ]
        );
    }

    #[test]
    fn the_pool_lessons_state_results_what_was_raised_and_who_was_killed() {
        let error = TaskError {
            error_type: "ZeroDivisionError".into(),
            message: "division by zero".into(),
            location: "PoolWorker-1, task 0".into(),
            traceback: None,
        };
        let map = RunFacts {
            wall_s: 3.01,
            raised: Some((error.clone(), 9)),
            ..RunFacts::default()
        };
        assert_eq!(
            observed(Lesson::PoolImap, &named(&["Pool(4).map"], &[map])),
            [
                "Pool(4).map: [] in 3.01 s · raised ZeroDivisionError: division by zero, 9 results lost"
            ]
        );
        let killed = RunFacts {
            wall_s: 3.5,
            results: vec![
                TaskResult::Error(Box::new(error)),
                TaskResult::Value { value: 1 },
            ],
            processes: vec![ProcessFacts {
                proc: ProcId(2),
                name: "PoolWorker-2".into(),
                pid: 7,
                exit_code: Some(-9),
            }],
            ..RunFacts::default()
        };
        assert_eq!(
            observed(Lesson::WorkerDies, &named(&["Pool(4)"], &[killed])),
            [
                "Pool(4): [ZeroDivisionError: division by zero, 1] in 3.50 s · PoolWorker-2 killed (-9)"
            ]
        );
    }

    #[test]
    fn a_run_still_going_shows_no_figures() {
        let lines = story(
            Lesson::SleepingVsWorking,
            &[
                (
                    "sleeping tasks".into(),
                    Progress::Finished(Box::new(run_of(1.0))),
                ),
                ("CPU tasks".into(), Progress::Running),
            ],
        );
        assert_eq!(
            lines.len(),
            2,
            "no comparison before both finished: {lines:?}"
        );
        assert!(lines[0].starts_with("sleeping tasks: 1.00 s wall"));
        assert_eq!(lines[1], "CPU tasks: running…");
        let lines = story(
            Lesson::PoolImap,
            &[(
                "Pool(4).imap".into(),
                Progress::Requested { connected: false },
            )],
        );
        assert_eq!(
            lines,
            ["Pool(4).imap: waiting for the connection to the server…"]
        );
        let lines = story(
            Lesson::SleepingVsWorking,
            &[
                (
                    "sleeping tasks".into(),
                    Progress::Finished(Box::new(run_of(1.0))),
                ),
                (
                    "CPU tasks".into(),
                    Progress::Finished(Box::new(run_of(2.0))),
                ),
            ],
        );
        assert_eq!(lines[2], "CPU tasks took 2.00× the time of sleeping tasks");
    }
}
