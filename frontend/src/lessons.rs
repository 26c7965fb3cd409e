//! The lecture demos as the page tells them: a two-line caption, what to expect, and what the
//! runs actually showed (computed from their models). Pure; tested natively. The runs each
//! lesson starts come from [`shared::Lesson::runs`].

use crate::layout::format_duration;
use crate::run::{RunModel, print_order};
use shared::{Lesson, TaskResult};

/// The two-line caption of a lesson: the concept.
pub fn caption(lesson: Lesson) -> [&'static str; 2] {
    match lesson {
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

/// The label of a lesson's button (short, so the eight fit one row).
pub fn short_title(lesson: Lesson) -> &'static str {
    match lesson {
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

/// What to expect, in one sentence.
pub fn expected(lesson: Lesson, cores: u32) -> String {
    match lesson {
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

/// Why a lesson cannot make its point on this machine, if it cannot.
pub fn honesty_note(lesson: Lesson, cores: u32) -> Option<String> {
    (lesson.needs_many_cores() && cores < 2).then(|| {
        format!(
            "This machine has {cores} core: the \"many cores\" side of this demo cannot be shown here, so it is left out rather than drawn misleadingly. Run procviz on a machine with 2 or more cores to see it."
        )
    })
}

fn core_use(m: &RunModel) -> f64 {
    m.core_busy().iter().sum::<f64>()
}

fn results_line(m: &RunModel) -> String {
    let shown: Vec<String> = m
        .results
        .iter()
        .map(|r| match &r.result {
            TaskResult::Value { value } => value.to_string(),
            TaskResult::Error(e) => e.to_string(),
            TaskResult::Repr { text } => text.clone(),
        })
        .collect();
    format!("[{}]", shown.join(", "))
}

/// What finished runs showed (in lesson order), one line each, and after two or more, how
/// the last compares with the first.
pub fn observed(lesson: Lesson, runs: &[(String, &RunModel)]) -> Vec<String> {
    let mut lines = run_lines(lesson, runs);
    lines.extend(comparison(lesson, runs));
    lines
}

/// One line per finished run.
fn run_lines(lesson: Lesson, runs: &[(String, &RunModel)]) -> Vec<String> {
    let wall = |m: &RunModel| format_duration(m.last_t);
    match lesson {
        Lesson::TwoProcesses | Lesson::WhoPrintsFirst => runs
            .iter()
            .map(|(_, m)| {
                let codes: Vec<String> = m
                    .processes
                    .iter()
                    .map(|p| {
                        format!(
                            "{} (PID {}) exit {}",
                            p.name,
                            p.pid,
                            p.exit_code().map_or("—".into(), |c| c.to_string())
                        )
                    })
                    .collect();
                format!(
                    "printed {} · {} · {}",
                    print_order(m),
                    codes.join(", "),
                    wall(m)
                )
            })
            .collect(),
        Lesson::PoolImap | Lesson::WorkerDies => runs
            .iter()
            .map(|(label, m)| {
                let raised = m
                    .raised
                    .as_ref()
                    .map(|(e, lost, _)| format!(" · raised {e}, {lost} results lost"))
                    .unwrap_or_default();
                let killed: Vec<String> = m
                    .processes
                    .iter()
                    .filter(|p| p.exit_code() == Some(-9))
                    .map(|p| format!("{} killed (-9)", p.name))
                    .collect();
                let killed = if killed.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", killed.join(", "))
                };
                format!(
                    "{label}: {} in {}{raised}{killed}",
                    results_line(m),
                    wall(m)
                )
            })
            .collect(),
        Lesson::ChefAlone | Lesson::ThreadsVsProcesses | Lesson::SleepingVsWorking => runs
            .iter()
            .map(|(label, m)| {
                let waited: u64 = m.waiting_ns.iter().map(|(_, ns)| ns).sum();
                format!(
                    "{label}: {} wall · {} on the cores · waited {} · {} slices",
                    wall(m),
                    format_duration(core_use(m)),
                    format_duration(waited as f64 / 1e9),
                    m.slices
                )
            })
            .collect(),
        Lesson::HowManyWorkers => {
            let base = runs.first().map(|(_, m)| m.last_t);
            runs.iter()
                .map(|(label, m)| {
                    let speedup = base.map_or(1.0, |b| b / m.last_t.max(1e-9));
                    format!("{label}: {} · {speedup:.2}× Pool(1)", wall(m))
                })
                .collect()
        }
    }
}

/// How the last of two or more finished runs compares with the first.
fn comparison(lesson: Lesson, runs: &[(String, &RunModel)]) -> Option<String> {
    match runs {
        [(a, first), .., (b, last)]
            if first.last_t > 0.0 && last.last_t > 0.0 && lesson != Lesson::HowManyWorkers =>
        {
            Some(format!(
                "{b} took {:.2}× the time of {a}",
                last.last_t / first.last_t
            ))
        }
        _ => None,
    }
}

/// Where one of a lesson's runs is.
#[derive(Clone, Copy, Debug)]
pub enum Progress<'a> {
    /// Requested; the server has not started it yet (`connected`: the request went out).
    Requested {
        /// Whether the page is connected (otherwise the request waits for the connection).
        connected: bool,
    },
    /// Started and not finished: nothing to observe yet.
    Running,
    /// Finished: observed.
    Finished(&'a RunModel),
}

/// The "Observed" lines of a lesson: the finished runs' figures and their comparison; a run
/// still going (or not yet started) says so instead of showing figures that are not final.
pub fn story(lesson: Lesson, runs: &[(String, Progress)]) -> Vec<String> {
    let finished: Vec<(String, &RunModel)> = runs
        .iter()
        .filter_map(|(label, p)| match p {
            Progress::Finished(m) => Some((label.clone(), *m)),
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

/// One bar of the "How many workers?" chart.
#[derive(Clone, Debug, PartialEq)]
pub struct SpeedupBar {
    /// The label under it ("Pool(4)").
    pub label: String,
    /// Measured speedup over the first run.
    pub speedup: f64,
    /// Left edge and height in the chart's pixels (bottom at `CHART_H`).
    pub x: f64,
    /// Height, pixels.
    pub h: f64,
}

/// Chart size, pixels.
pub const CHART_W: f64 = 420.0;
/// Chart height (the plot area), pixels.
pub const CHART_H: f64 = 160.0;

/// The speedup chart: one bar per run (speedup = first run's wall time / this one's), on a
/// scale that also shows the core count as a line at `cores`. Returns the bars and the y
/// of the core line.
pub fn speedup_chart(runs: &[(String, f64)], cores: u32) -> (Vec<SpeedupBar>, f64) {
    let base = runs.first().map_or(1.0, |r| r.1);
    let speedups: Vec<f64> = runs.iter().map(|r| base / r.1.max(1e-9)).collect();
    let top = speedups
        .iter()
        .copied()
        .fold(f64::from(cores), f64::max)
        .max(1.0)
        * 1.15;
    let slot = CHART_W / runs.len().max(1) as f64;
    let bars = runs
        .iter()
        .zip(&speedups)
        .enumerate()
        .map(|(i, ((label, _), &s))| SpeedupBar {
            label: label.clone(),
            speedup: s,
            x: i as f64 * slot + slot * 0.2,
            h: s / top * CHART_H,
        })
        .collect();
    (bars, CHART_H - f64::from(cores) / top * CHART_H)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::RunId;

    fn run_of(secs: f64) -> RunModel {
        let mut m = RunModel::new(RunId(1));
        m.last_t = secs;
        m
    }

    #[test]
    fn every_lesson_has_a_caption_and_an_expectation() {
        for lesson in Lesson::ALL {
            let [a, b] = caption(lesson);
            assert!(!a.is_empty() && !b.is_empty());
            assert!(!expected(lesson, 2).is_empty());
        }
        assert!(expected(Lesson::ThreadsVsProcesses, 2).contains("GIL"));
        assert!(expected(Lesson::ChefAlone, 2).contains("about 2 s on 2 cores"));
    }

    #[test]
    fn a_one_core_machine_is_told_why_the_demo_is_partial() {
        let note = honesty_note(Lesson::ChefAlone, 1).expect("a note on one core");
        assert!(note.contains("1 core"));
        assert_eq!(honesty_note(Lesson::ChefAlone, 2), None);
        assert_eq!(honesty_note(Lesson::PoolImap, 1), None);
    }

    #[test]
    fn observations_compare_the_runs() {
        let (a, b) = (run_of(4.0), run_of(2.0));
        let lines = observed(
            Lesson::ChefAlone,
            &[("1 core".into(), &a), ("2 cores".into(), &b)],
        );
        assert!(lines[0].starts_with("1 core: 4.00 s wall"), "{lines:?}");
        assert_eq!(lines[2], "2 cores took 0.50× the time of 1 core");
        let pools = [run_of(4.0), run_of(2.0), run_of(2.1)];
        let named: Vec<(String, &RunModel)> = ["Pool(1)", "Pool(2)", "Pool(4)"]
            .into_iter()
            .map(String::from)
            .zip(pools.iter())
            .collect();
        let lines = observed(Lesson::HowManyWorkers, &named);
        assert_eq!(lines[1], "Pool(2): 2.00 s · 2.00× Pool(1)");
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn a_run_still_going_shows_no_figures() {
        let a = run_of(1.0);
        let lines = story(
            Lesson::SleepingVsWorking,
            &[
                ("sleeping tasks".into(), Progress::Finished(&a)),
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
        let b = run_of(2.0);
        let lines = story(
            Lesson::SleepingVsWorking,
            &[
                ("sleeping tasks".into(), Progress::Finished(&a)),
                ("CPU tasks".into(), Progress::Finished(&b)),
            ],
        );
        assert_eq!(lines[2], "CPU tasks took 2.00× the time of sleeping tasks");
    }

    #[test]
    fn the_speedup_chart_scales_bars_and_the_core_line_together() {
        let runs = [
            ("Pool(1)".to_string(), 4.0),
            ("Pool(2)".to_string(), 2.0),
            ("Pool(4)".to_string(), 2.0),
            ("Pool(8)".to_string(), 2.0),
        ];
        let (bars, core_y) = speedup_chart(&runs, 2);
        assert_eq!(bars.len(), 4);
        assert_eq!(bars[0].speedup, 1.0);
        assert_eq!(bars[1].speedup, 2.0);
        assert!(
            (bars[1].h - (CHART_H - core_y)).abs() < 1e-9,
            "2× reaches the 2-core line"
        );
        assert!(bars[0].x < bars[1].x && bars[3].x + 10.0 < CHART_W);
        assert!(bars.iter().all(|b| b.h <= CHART_H));
    }
}
