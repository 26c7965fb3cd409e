//! What the pointer is over and what the timeline says about it: the one hit-test rule for
//! demo-size and big runs alike (the scene's lane geometry and bar widths; a worker's bars
//! are found by binary search in the run's task index, so a million tasks answer about as
//! fast as ten), the hover panel's rows, and the tooltip texts the SVG and the export attach
//! to shapes. Pure; tested natively.

use super::geometry::{FAILED_HIT_LEFT_PX, HIT_TOLERANCE_PX, core, in_plot, lane_stack, task_rect};
use super::scene::allowed_cores;
use super::strips::lane_places;
use crate::layout::{LaneStack, TimeAxis, format_duration, span_at};
use crate::run::{CoreBlock, RunModel, ran_in_order};
use shared::ProcId;

/// What the pointer is over.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Hit {
    /// A task bar (index into the run's tasks).
    Task(usize),
    /// A process lane, away from its bars.
    Process(ProcId),
    /// A thread's sub-lane of a process lane, and the time under the pointer (in the plot).
    Thread {
        /// The process.
        proc: ProcId,
        /// The thread's ID.
        tid: u32,
        /// The moment pointed at.
        t: Option<f64>,
    },
    /// A core lane, and the block under the pointer if any (index into the core blocks).
    Core(u32, Option<usize>),
}

/// What lies at drawing coordinates (`x`, `y`) on `axis`. A failed bar is found over the
/// whole of its drawn bar (at least 14 px wide) and first, since it is drawn on top; other
/// bars within 4 px count, so short tasks can be pointed at.
pub fn hit(m: &RunModel, axis: &TimeAxis, x: f64, y: f64) -> Option<Hit> {
    let cores = m.cores_sampled();
    let stack = lane_stack(cores);
    let t = axis.t_at(x);
    let plot = in_plot(x);
    for c in 0..cores {
        let top = stack.cores.top(c as usize);
        if (top..top + LaneStack::CORE_HEIGHT).contains(&y) {
            // The blocks of an interval stack: the one whose band is under the pointer, or
            // else the first of the interval.
            let frac = (y - top - core::PAD) / core::INNER;
            let here: Vec<(usize, &CoreBlock)> = m
                .core_blocks
                .iter()
                .enumerate()
                .filter(|(_, b)| plot && b.core == c && b.start <= t && t <= b.end)
                .collect();
            let block = here
                .iter()
                .find(|(_, b)| b.offset <= frac && frac < b.offset + b.share)
                .or(here.first())
                .map(|(i, _)| *i);
            return Some(Hit::Core(c, block));
        }
    }
    let places = lane_places(m);
    let i = places.at(y)?;
    let top = places.top(i);
    let proc = match i {
        0 => ProcId::MAIN,
        _ => m.processes.get(i - 1)?.proc,
    };
    let child = i.checked_sub(1).and_then(|k| m.processes.get(k));
    if let (Some(row), Some(p)) = (places.rows[i].at(top, y), child) {
        let pid = p.pid;
        // The "+N threads" line is the process's.
        return Some(match ran_in_order(m.threads_of(proc), pid).get(row) {
            Some(thread) if row < places.rows[i].drawn => Hit::Thread {
                proc,
                tid: thread.tid,
                t: plot.then_some(t),
            },
            _ => Hit::Process(proc),
        });
    }
    if plot {
        let failed = m.index.failed.iter().copied().find(|&k| {
            let b = &m.tasks[k];
            let bar = task_rect(axis, top, b.started, b.end(m.last_t), true);
            b.worker == proc && bar.x - FAILED_HIT_LEFT_PX <= x && x <= bar.right()
        });
        if let Some(k) = failed {
            return Some(Hit::Task(k));
        }
        let (list, span) = m.index.spans_of(proc, m.last_t);
        let tolerance = HIT_TOLERANCE_PX * axis.span / axis.width;
        if let Some(k) = span_at(list.len(), span, t, tolerance) {
            return Some(Hit::Task(list[k]));
        }
    }
    Some(Hit::Process(proc))
}

/// The hover panel's title and rows for a hit (`None` for a hit that no longer exists: the
/// run changed under a resting pointer).
pub fn describe(m: &RunModel, hit: Hit) -> Option<(String, Vec<(&'static str, String)>)> {
    match hit {
        Hit::Task(i) => Some((format!("Task {}", m.tasks.get(i)?.task), m.describe_task(i))),
        Hit::Process(p) => Some((m.name_of(p).to_string(), m.describe_process(p))),
        Hit::Thread { proc, tid, t } => m.describe_thread(proc, tid, t),
        Hit::Core(core, block) => {
            let mut rows = vec![("Core", core.to_string())];
            if let Some(b) = block.and_then(|i| m.core_blocks.get(i)) {
                rows.push(("Process", m.name_of(b.proc).to_string()));
                rows.push((
                    "Interval",
                    format!("{} → {}", format_duration(b.start), format_duration(b.end)),
                ));
                rows.push(("On this core", format!("{:.0} % of it", b.share * 100.0)));
            }
            if !allowed_cores(m).contains(&core) {
                rows.push(("Note", "not allowed for this run's processes".into()));
            }
            Some((format!("core {core}"), rows))
        }
    }
}

/// The tooltip of a process lane.
pub fn process_tooltip(m: &RunModel, proc: ProcId) -> String {
    if proc == ProcId::MAIN {
        return format!("{}, PID {}", m.main_described(), m.main_pid);
    }
    let Some(p) = m.processes.iter().find(|p| p.proc == proc) else {
        return String::new();
    };
    let stop = p.exited.unwrap_or(m.last_t);
    format!(
        "{} — PID {}\nspawned {}\nstarted {}\nexited {}\nduration {}\ncores {:?}",
        p.name,
        p.pid,
        format_duration(p.spawned),
        p.started.map(format_duration).unwrap_or_else(|| "—".into()),
        p.exited
            .map(format_duration)
            .unwrap_or_else(|| "running".into()),
        format_duration(stop - p.spawned),
        p.cpus,
    )
}

/// The tooltip of task bar `i`.
pub fn task_tooltip(m: &RunModel, i: usize) -> String {
    let Some(b) = m.tasks.get(i) else {
        return String::new();
    };
    let outcome = match &b.result {
        Some(r) => r.to_string(),
        None => "running".into(),
    };
    format!(
        "task {} on {} — {} → {}\n{}",
        b.task,
        m.name_of(b.worker),
        format_duration(b.started),
        format_duration(b.end(m.last_t)),
        outcome
    )
}

/// The tooltip of core block `i`.
pub fn block_tooltip(m: &RunModel, i: usize) -> String {
    let Some(b) = m.core_blocks.get(i) else {
        return String::new();
    };
    format!(
        "{} on core {}: {:.0} % of {}",
        m.name_of(b.proc),
        b.core,
        b.share * 100.0,
        format_duration(b.end - b.start)
    )
}

/// The tooltip of load from outside the run on `core`.
pub fn outside_tooltip(core: u32, share: f64) -> String {
    format!(
        "core {core}: {:.0} % busy with work outside this run",
        share * 100.0
    )
}

/// The error text of task bar `i`, if it failed.
pub fn task_error(m: &RunModel, i: usize) -> Option<String> {
    m.tasks.get(i)?.error().map(ToString::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::geometry::{FAILED_MIN_PX, plot_axis, process_lanes};
    use crate::timeline::scene::scene;
    use crate::timeline::shape::{Detail, Shape, View};
    use shared::{Event, EventKind, RunId, RunTime, TaskError, TaskResult};

    fn push(m: &mut RunModel, us: u64, kind: EventKind) {
        let seq = m.next_seq;
        m.apply(&Event {
            run: RunId(1),
            seq,
            t: RunTime(us * 1_000),
            kind,
        });
    }

    /// One core; Process-1 and Process-2 share it half and half over 0–20 ms; Process-1 runs
    /// task 7 from 0 to 10 ms.
    fn model() -> RunModel {
        let mut m = RunModel::new(RunId(1));
        m.cores = 1;
        for (proc, pid) in [(1, 11), (2, 12)] {
            push(
                &mut m,
                0,
                EventKind::ProcessSpawned {
                    proc: ProcId(proc),
                    pid,
                    name: format!("Process-{proc}"),
                    parent: ProcId::MAIN,
                },
            );
        }
        let worker = ProcId(1);
        push(&mut m, 0, EventKind::TaskStarted { task: 7, worker });
        push(
            &mut m,
            10_000,
            EventKind::TaskFinished {
                task: 7,
                worker,
                result: TaskResult::Value { value: 7 },
            },
        );
        for proc in [1, 2] {
            push(
                &mut m,
                20_000,
                EventKind::ThreadSegment {
                    proc: ProcId(proc),
                    tid: proc,
                    core: Some(0),
                    start: RunTime::ZERO,
                    on_cpu_ns: 10_000_000,
                    waiting_ns: 10_000_000,
                    slices: 5,
                },
            );
        }
        m
    }

    #[test]
    fn the_pointer_finds_the_stacked_band_and_the_task_under_it() {
        let m = model();
        let axis = plot_axis(0.0, 0.04);
        let x = axis.x(0.005);
        let top = lane_stack(1).cores.top(0);
        assert_eq!(hit(&m, &axis, x, top + 4.0), Some(Hit::Core(0, Some(0))));
        assert_eq!(
            hit(&m, &axis, x, top + LaneStack::CORE_HEIGHT - 4.0),
            Some(Hit::Core(0, Some(1))),
            "the lower band is Process-2's"
        );
        let lanes = process_lanes(1);
        // Lane 0 is MainProcess; lane 1 Process-1 with task 7 (index 0) from 0 to 10 ms.
        assert_eq!(hit(&m, &axis, x, lanes.top(1) + 10.0), Some(Hit::Task(0)));
        assert_eq!(
            hit(&m, &axis, axis.x(0.03), lanes.top(1) + 10.0),
            Some(Hit::Process(ProcId(1))),
            "away from its bars, the process"
        );
        assert_eq!(
            hit(&m, &axis, 20.0, lanes.top(2) + 10.0),
            Some(Hit::Process(ProcId(2)))
        );
        assert_eq!(hit(&m, &axis, x, lanes.top(9)), None, "below the last lane");
    }

    /// Task 0 fails after 10 µs; task 4 starts at once after it on the same worker and runs
    /// 100 ms.
    fn failed_then_long() -> RunModel {
        let mut m = RunModel::new(RunId(1));
        push(
            &mut m,
            0,
            EventKind::ProcessSpawned {
                proc: ProcId(1),
                pid: 10,
                name: "PoolWorker-1".into(),
                parent: ProcId::MAIN,
            },
        );
        let worker = ProcId(1);
        push(&mut m, 0, EventKind::TaskStarted { task: 0, worker });
        let error = TaskResult::Error(Box::new(TaskError {
            error_type: "ZeroDivisionError".into(),
            message: "division by zero".into(),
            location: "here".into(),
            traceback: None,
        }));
        push(
            &mut m,
            10,
            EventKind::TaskFinished {
                task: 0,
                worker,
                result: error,
            },
        );
        push(&mut m, 10, EventKind::TaskStarted { task: 4, worker });
        push(
            &mut m,
            100_010,
            EventKind::TaskFinished {
                task: 4,
                worker,
                result: TaskResult::Value { value: 4 },
            },
        );
        m
    }

    #[test]
    fn a_failed_bar_answers_over_all_of_its_drawn_width_in_both_details() {
        let m = failed_then_long();
        let axis = plot_axis(0.0, 0.2);
        let y = process_lanes(0).top(1) + 10.0;
        let x0 = axis.x(0.0);
        assert_eq!(
            hit(&m, &axis, x0 + FAILED_MIN_PX - 1.0, y),
            Some(Hit::Task(0))
        );
        assert_eq!(
            hit(&m, &axis, x0 + FAILED_MIN_PX + 2.0, y),
            Some(Hit::Task(1))
        );
        // The point is on the failed bar as drawn, whatever the detail.
        for detail in [Detail::Every, Detail::Merged] {
            let view = View {
                axis,
                detail,
                label_px: 9.0,
            };
            let s = scene(&m, &view);
            let failed = s.lanes[1]
                .shapes
                .iter()
                .find_map(|shape| match shape {
                    Shape::Bar(b) if b.failed => Some(b.rect),
                    _ => None,
                })
                .expect("the failed bar");
            assert_eq!(failed.w, FAILED_MIN_PX, "{detail:?}");
            assert_eq!(
                hit(&m, &axis, failed.right() - 1.0, failed.y + 1.0),
                Some(Hit::Task(0)),
                "{detail:?}"
            );
        }
    }

    #[test]
    fn hover_rows_and_tooltips_name_what_is_there() {
        let m = failed_then_long();
        let (title, rows) = describe(&m, Hit::Task(0)).expect("task 0");
        assert_eq!(title, "Task 0");
        assert!(
            rows.iter()
                .any(|(k, v)| *k == "Error" && v.contains("ZeroDivisionError"))
        );
        assert_eq!(describe(&m, Hit::Task(9)), None, "gone");
        assert!(task_tooltip(&m, 1).starts_with("task 4 on PoolWorker-1 — 10 µs → 100.0 ms"));
        assert_eq!(
            task_error(&m, 0).as_deref(),
            Some("ZeroDivisionError: division by zero")
        );
        assert!(process_tooltip(&m, ProcId(1)).starts_with("PoolWorker-1 — PID 10"));
        assert_eq!(
            outside_tooltip(1, 0.25),
            "core 1: 25 % busy with work outside this run"
        );
    }
}
