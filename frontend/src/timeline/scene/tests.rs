//! The scene at demo size and at level of detail.

use super::*;
use crate::timeline::geometry::{FAILED_MIN_PX, TASK_MIN_PX, plot_axis, process_lanes};
use crate::timeline::shape::{Bar, Tasks};
use shared::{Event, EventKind, ProcId, RunId, RunTime, TaskError, TaskResult};

/// A run of `n` 1 ms tasks on one worker (0.9 ms each), task 0 failing.
fn big_run(n: u64) -> RunModel {
    let mut m = RunModel::new(RunId(1));
    let mut seq = 0;
    let mut push = |m: &mut RunModel, us: u64, kind| {
        m.apply(&Event {
            run: RunId(1),
            seq,
            t: RunTime(us * 1_000),
            kind,
        });
        seq += 1;
    };
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
    for task in 0..n {
        let worker = ProcId(1);
        push(&mut m, task * 1000, EventKind::TaskStarted { task, worker });
        let result = if task == 0 {
            TaskResult::Error(Box::new(TaskError {
                error_type: "ZeroDivisionError".into(),
                message: "division by zero".into(),
                location: "here".into(),
                traceback: None,
            }))
        } else {
            TaskResult::Value { value: task as i64 }
        };
        push(
            &mut m,
            task * 1000 + 900,
            EventKind::TaskFinished {
                task,
                worker,
                result,
            },
        );
    }
    m
}

fn view(span: f64, detail: Detail) -> View {
    View {
        axis: plot_axis(0.0, span),
        detail,
        label_px: 9.0,
    }
}

/// The bars of the worker's lane.
fn bars(s: &Scene) -> Vec<&Bar> {
    s.lanes[1]
        .shapes
        .iter()
        .filter_map(|shape| match shape {
            Shape::Bar(b) => Some(b),
            _ => None,
        })
        .collect()
}

#[test]
fn a_hundred_thousand_tasks_make_a_few_shapes_and_the_error_stays_visible() {
    let m = big_run(100_000);
    assert_eq!(Detail::of(&m), Detail::Merged);
    let s = scene(&m, &view(100.0, Detail::Merged));
    let shapes: usize = s.lanes.iter().map(|l| l.shapes.len()).sum();
    assert!(shapes < 50, "{shapes} shapes");
    let all = bars(&s);
    let failed: Vec<&&Bar> = all.iter().filter(|b| b.failed).collect();
    assert_eq!(failed.len(), 1, "the failed task is drawn on top");
    assert!(failed[0].rect.w >= FAILED_MIN_PX);
    assert_eq!(failed[0].label.as_ref().map(|l| l.text.as_str()), Some("✗"));
    assert_eq!(
        bars(&s).last().map(|b| b.failed),
        Some(true),
        "failed bars come last"
    );
    assert!(bars(&s).iter().any(|b| matches!(b.tasks, Tasks::Many(_))));
}

#[test]
fn zoomed_in_every_task_is_its_own_labelled_bar() {
    let m = big_run(1_000);
    let s = scene(&m, &view(0.010, Detail::Merged));
    let single = bars(&s)
        .iter()
        .filter(|b| !b.failed && matches!(b.tasks, Tasks::One { .. }))
        .count();
    assert!(
        (9..=11).contains(&single),
        "{single} bars in 10 ms of 1 ms tasks"
    );
    assert!(
        bars(&s)
            .iter()
            .any(|b| b.label.as_ref().is_some_and(|l| l.text == "5"))
    );
}

#[test]
fn demo_sizes_draw_every_bar_failed_last_with_its_label_clear_of_it() {
    let m = big_run(10);
    assert_eq!(Detail::of(&m), Detail::Every);
    let s = scene(&m, &view(0.0105, Detail::Every));
    let b = bars(&s);
    assert_eq!(b.len(), 10);
    let failed = b.last().expect("a bar");
    assert!(failed.failed && failed.tasks == Tasks::One { index: 0, task: 0 });
    // 0.9 ms at 910 px per 10.5 ms: 78 px, room for the number after ✗.
    assert_eq!(failed.label.as_ref().map(|l| l.text.as_str()), Some("✗ 0"));
    for bar in &b[..9] {
        assert!(bar.rect.w >= TASK_MIN_PX);
        assert!(bar.label.is_some(), "every bar labelled");
    }
}

#[test]
fn a_label_under_a_short_failed_bar_moves_to_its_right() {
    // Zoomed out: task 0 (failed) is 14 px wide over task 1, which starts 1 ms later.
    let m = big_run(10);
    let s = scene(&m, &view(1.0, Detail::Every));
    let b = bars(&s);
    let failed = b.iter().find(|b| b.failed).expect("the failed bar").rect;
    assert_eq!(failed.w, FAILED_MIN_PX);
    let under = b
        .iter()
        .find(|b| b.tasks == Tasks::One { index: 1, task: 1 })
        .expect("task 1");
    assert!(under.rect.x < failed.right());
    let label = under.label.as_ref().expect("its label");
    assert!(label.x >= failed.right(), "{label:?} under {failed:?}");
}

#[test]
fn lanes_spans_and_exit_marks_are_placed_on_the_lane_geometry() {
    let mut m = big_run(3);
    m.apply(&Event {
        run: RunId(1),
        seq: m.next_seq,
        t: RunTime::from_millis(5),
        kind: EventKind::ProcessExited {
            proc: ProcId(1),
            status: shared::ExitStatus::Code { code: 1 },
            killed_by: None,
            cpu_time_ns: None,
        },
    });
    let s = scene(&m, &view(0.01, Detail::Every));
    assert_eq!(s.lanes.len(), 2);
    assert_eq!(s.lanes[0].name, "MainProcess");
    let lanes = process_lanes(0);
    let worker = &s.lanes[1];
    assert_eq!(worker.top, lanes.top(1));
    assert_eq!(worker.exit_code, Some(1));
    let exit = worker.exit.as_ref().expect("exited");
    assert_eq!(exit.text(), "✗ exit 1");
    assert!((exit.x - plot_axis(0.0, 0.01).x(0.005)).abs() < 1e-9);
    assert!(!worker.alive() && !s.lanes[0].alive());
    assert!(worker.has_tasks);
    assert_eq!(s.height, crate::timeline::geometry::height(0, 2));
}

#[test]
fn selection_outlines_the_bar_as_drawn() {
    let m = big_run(10);
    let axis = plot_axis(0.0, 1.0);
    let s = scene(
        &m,
        &View {
            axis,
            detail: Detail::Every,
            label_px: 9.0,
        },
    );
    for task in [0, 3] {
        let drawn = bars(&s)
            .iter()
            .find(|b| matches!(b.tasks, Tasks::One { task: t, .. } if t == task))
            .map(|b| b.rect);
        assert_eq!(selection(&m, &axis, task).first().copied(), drawn);
    }
}

#[test]
fn shapes_name_their_class_and_colour() {
    let m = big_run(10);
    let s = scene(&m, &view(0.0105, Detail::Every));
    let failed = s.lanes[1].shapes.last().expect("a shape");
    assert_eq!(failed.class(), "task failed");
    assert_eq!(failed.colour(), Colour::Failed);
    assert_eq!(s.lanes[1].shapes[0].colour(), Colour::Task);
    assert_eq!(s.lanes[1].colour, Colour::Process(1));
}

/// Task 0 fails after 10 µs; task 4 starts 1 ms later on the same worker and runs 100 ms.
fn failed_then_long() -> RunModel {
    let mut m = RunModel::new(RunId(1));
    let worker = ProcId(1);
    let error = TaskResult::Error(Box::new(TaskError {
        error_type: "ZeroDivisionError".into(),
        message: "division by zero".into(),
        location: "here".into(),
        traceback: None,
    }));
    let events = [
        (
            0,
            EventKind::ProcessSpawned {
                proc: worker,
                pid: 10,
                name: "PoolWorker-1".into(),
                parent: ProcId::MAIN,
            },
        ),
        (0, EventKind::TaskStarted { task: 0, worker }),
        (
            10,
            EventKind::TaskFinished {
                task: 0,
                worker,
                result: error,
            },
        ),
        (1_010, EventKind::TaskStarted { task: 4, worker }),
        (
            101_010,
            EventKind::TaskFinished {
                task: 4,
                worker,
                result: TaskResult::Value { value: 4 },
            },
        ),
    ];
    for (seq, (us, kind)) in events.into_iter().enumerate() {
        m.apply(&Event {
            run: RunId(1),
            seq: seq as u64,
            t: RunTime(us * 1_000),
            kind,
        });
    }
    m
}

#[test]
fn with_either_detail_a_label_under_a_failed_bar_clears_it() {
    let m = failed_then_long();
    for detail in [Detail::Every, Detail::Merged] {
        let s = scene(&m, &view(0.2, detail));
        let b = bars(&s);
        let failed = b.iter().find(|b| b.failed).expect("the failed bar").rect;
        let four = b
            .iter()
            .find(|b| matches!(b.tasks, Tasks::One { task: 4, .. }))
            .expect("task 4's own bar");
        assert!(four.rect.x < failed.right(), "{detail:?}: it starts under");
        let label = four.label.as_ref().expect("its label");
        assert_eq!(label.text, "4");
        assert!(label.x >= failed.right(), "{detail:?}: {label:?}");
    }
}

#[test]
fn with_level_of_detail_the_svg_keeps_only_the_lanes_frames() {
    let m = big_run(10);
    let every = scene(&m, &view(0.0105, Detail::Every));
    let (_, lanes) = every.svg_part();
    assert_eq!(lanes, every.lanes, "demo sizes: all of it");
    let merged = scene(&m, &view(0.0105, Detail::Merged));
    let (cores, lanes) = merged.svg_part();
    assert!(lanes.iter().all(|l| l.shapes.is_empty()) && cores.is_empty());
    assert_eq!(lanes[1].running, merged.lanes[1].running);
    assert!(!merged.lanes[1].shapes.is_empty(), "the canvas's part");
}

#[test]
fn a_run_whose_pool_announces_many_tasks_is_drawn_merged_from_its_start() {
    let announce = |tasks: u64| {
        let mut m = big_run(3);
        m.apply(&Event {
            run: RunId(1),
            seq: m.next_seq,
            t: RunTime(4_000_000),
            kind: EventKind::PoolStarted {
                workers: 8,
                api: shared::PoolApi::Imap,
                chunksize: 1,
                tasks,
            },
        });
        m
    };
    assert_eq!(Detail::of(&big_run(3)), Detail::Every);
    assert_eq!(Detail::of(&announce(500)), Detail::Every, "a demo size");
    let big = announce(100_000);
    assert_eq!(Detail::of(&big), Detail::Merged, "3 bars so far of 100,000");
    assert_eq!(
        Detail::of(&big.until(0.001)),
        Detail::Merged,
        "replayed too"
    );
    let mut queued = big_run(3);
    queued.apply(&Event {
        run: RunId(1),
        seq: queued.next_seq,
        t: RunTime(4_000_000),
        kind: EventKind::TasksQueued {
            first: 0,
            count: 501,
        },
    });
    assert_eq!(
        Detail::of(&queued),
        Detail::Merged,
        "a CPython pool queues them"
    );
}
