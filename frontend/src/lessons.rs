//! The lecture demos on the page: the figures a lesson states read off the page's run models
//! ([`facts`]), and the "How many workers?" chart. Pure; tested natively. The runs each
//! lesson starts, its texts and the observation lines ([`shared::lessons::story`], given each
//! finished run's [`facts`]) are [`shared::lessons`]'s, the same `procviz run lesson` prints.

use crate::run::RunModel;
use shared::lessons::{self, RunFacts};

/// What a lesson states about a run, read off its model: the same figures
/// `procviz run lesson` folds from the run's events ([`RunFacts::add`]).
pub fn facts(m: &RunModel) -> RunFacts {
    RunFacts {
        wall_s: m.last_t,
        cores: m.cores,
        processes: m
            .processes
            .iter()
            .map(|p| lessons::ProcessFacts {
                proc: p.proc,
                name: p.name.clone(),
                pid: p.pid,
                exit_code: p.exit_code(),
            })
            .collect(),
        printed: m.printed().map(String::from).collect(),
        results: m.results.iter().map(|r| r.result.clone()).collect(),
        raised: m.raised.as_ref().map(|(e, lost, _)| (e.clone(), *lost)),
        core_busy_s: m.core_busy(),
        waited_ns: m.total_waited_ns(),
        slices: m.slices,
        outcome: m.outcome.clone(),
    }
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

/// The title of a lesson's run: the lesson's title, then the run's label unless the title
/// already says it, and "CPython" for a real Python run ("Pool(4).imap with a failing task —
/// CPython", "The chef alone — 4 jobs, 1 core").
pub fn run_title(lesson: &str, label: &str, cpython: bool) -> String {
    let mut parts = vec![lesson.to_string()];
    if !lesson.contains(label) {
        parts.push(label.to_string());
    }
    if cpython {
        parts.push("CPython".to_string());
    }
    parts.join(" — ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_lesson_runs_title_says_each_thing_once() {
        use super::run_title;
        assert_eq!(
            run_title("Pool(4).imap with a failing task", "Pool(4).imap", true),
            "Pool(4).imap with a failing task — CPython"
        );
        assert_eq!(
            run_title("The chef alone", "4 jobs, 1 core", false),
            "The chef alone — 4 jobs, 1 core"
        );
    }

    use super::*;
    use shared::{Lesson, RunId};

    /// What finished runs showed, as the page states it: their facts told by
    /// [`shared::lessons::observed`].
    fn observed(lesson: Lesson, runs: &[(String, &RunModel)]) -> Vec<String> {
        let runs: Vec<(String, RunFacts)> =
            runs.iter().map(|(l, m)| (l.clone(), facts(m))).collect();
        lessons::observed(lesson, &runs)
    }

    fn run_of(secs: f64) -> RunModel {
        let mut m = RunModel::new(RunId(1));
        m.last_t = secs;
        m
    }

    /// Runs recorded with `procviz run [--sample-ms 100] lesson NAME > FILE` (the pool
    /// lesson with `--api map`).
    const RECORDED: [(Lesson, &str); 4] = [
        (
            Lesson::TwoProcesses,
            include_str!("../tests/fixtures/lesson-two_processes.ndjson"),
        ),
        (
            Lesson::PoolImap,
            include_str!("../tests/fixtures/lesson-pool_imap-map.ndjson"),
        ),
        (
            Lesson::WorkerDies,
            include_str!("../tests/fixtures/lesson-worker_dies.ndjson"),
        ),
        (
            Lesson::ChefAlone,
            include_str!("../tests/fixtures/lesson-chef_alone.ndjson"),
        ),
    ];

    /// A recording's runs, in order: each run's label (from its request, `chef_alone: 4
    /// jobs, 1 core`) and events.
    fn runs_of(ndjson: &str) -> Vec<(String, Vec<shared::Event>)> {
        let mut runs: Vec<(String, Vec<shared::Event>)> = Vec::new();
        for line in ndjson.lines() {
            let event: shared::Event = serde_json::from_str(line).expect("an event");
            if let shared::EventKind::RunStarted(start) = &event.kind {
                let request = start.request.as_deref().expect("a lesson run's label");
                let label = request.split_once(": ").expect("lesson: label").1;
                runs.push((label.to_string(), Vec::new()));
            }
            runs.last_mut().expect("run_started first").1.push(event);
        }
        runs
    }

    #[test]
    fn the_page_states_what_procviz_run_lesson_states_from_the_same_events() {
        for (lesson, ndjson) in RECORDED {
            let runs = runs_of(ndjson);
            let models: Vec<(String, RunModel)> = runs
                .iter()
                .map(|(label, events)| {
                    let mut m = RunModel::new(events[0].run);
                    for e in events {
                        m.apply(e);
                    }
                    (label.clone(), m)
                })
                .collect();
            let cli: Vec<(String, RunFacts)> = runs
                .iter()
                .map(|(label, events)| (label.clone(), RunFacts::of(events)))
                .collect();
            for ((_, m), (_, f)) in models.iter().zip(&cli) {
                assert!(m.finished() && f.completed(), "{lesson:?}");
                assert_eq!(facts(m), *f, "{lesson:?}: the same figures");
            }
            let page: Vec<(String, &RunModel)> =
                models.iter().map(|(l, m)| (l.clone(), m)).collect();
            // Every lesson's way of telling runs, over these real runs.
            for telling in Lesson::ALL {
                assert_eq!(
                    observed(telling, &page),
                    lessons::observed(telling, &cli),
                    "{lesson:?} told as {telling:?}"
                );
            }
            let lines = observed(lesson, &page);
            assert_eq!(
                lines.len(),
                runs.len() + usize::from(runs.len() > 1),
                "{lines:?}"
            );
        }
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
