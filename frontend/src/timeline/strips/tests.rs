//! Thread sub-lanes in the scene, the lanes they push down, and hovering them.

use super::*;
use crate::layout::LaneStack;
use crate::timeline::geometry::plot_axis;
use crate::timeline::hit::{Hit, describe, hit};
use crate::timeline::scene::scene;
use shared::{Event, EventKind, RunId, RunTime};

/// Processes 1 (PID 100) with `threads[0]` threads, 2 (PID 200) with `threads[1]`, … each
/// thread (the main one's ID is the PID) on a core half of 0–20 ms and all of 20–40 ms.
fn run(threads: &[u32]) -> RunModel {
    let mut m = RunModel::new(RunId(1));
    m.cores = 2;
    let mut seq = 0;
    let mut push = |m: &mut RunModel, ms: u64, kind: EventKind| {
        m.apply(&Event {
            run: RunId(1),
            seq,
            t: RunTime::from_millis(ms),
            kind,
        });
        seq += 1;
    };
    for (i, _) in threads.iter().enumerate() {
        let proc = i as u32 + 1;
        push(
            &mut m,
            0,
            EventKind::ProcessSpawned {
                proc: ProcId(proc),
                pid: proc * 100,
                name: format!("Process-{proc}"),
                parent: ProcId::MAIN,
            },
        );
    }
    for (from, on_ms) in [(0, 10), (20, 20)] {
        for (i, n) in threads.iter().enumerate() {
            let proc = i as u32 + 1;
            for k in 0..*n {
                push(
                    &mut m,
                    from + 20,
                    EventKind::ThreadSegment {
                        proc: ProcId(proc),
                        tid: proc * 100 + k,
                        core: Some(k % 2),
                        start: RunTime::from_millis(from),
                        on_cpu_ns: on_ms * 1_000_000,
                        waiting_ns: 0,
                        slices: 1,
                    },
                );
            }
        }
    }
    m
}

fn view(detail: Detail) -> View {
    View {
        axis: plot_axis(0.0, 0.04),
        detail,
        label_px: 9.0,
    }
}

#[test]
fn a_single_threaded_process_has_no_sub_lanes_and_keeps_its_place() {
    let m = run(&[1, 1]);
    let s = scene(&m, &view(Detail::Every));
    assert!(
        s.lanes
            .iter()
            .all(|l| l.threads.is_empty() && l.more_threads == 0)
    );
    let lanes = lane_stack(2).processes;
    assert_eq!(s.lanes[2].top, lanes.top(2));
    assert_eq!(s.height, crate::timeline::geometry::height(2, 3));
}

#[test]
fn each_thread_gets_a_named_sub_lane_with_its_own_strip() {
    let m = run(&[4, 1]);
    let s = scene(&m, &view(Detail::Every));
    let p1 = &s.lanes[1];
    let names: Vec<&str> = p1.threads.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["MainThread", "thread 101", "thread 102", "thread 103"]
    );
    for (i, t) in p1.threads.iter().enumerate() {
        assert_eq!(t.top, ThreadRows::top(p1.top, i));
        let (dy, h) = thread::STRIP;
        // Half of the first interval on a core, all of the second: 10 + 20 ms of 40.
        let on: f64 = t
            .shapes
            .iter()
            .filter(|s| matches!(s, Shape::Strip { waiting: false, .. }))
            .map(|s| {
                assert_eq!((s.rect().y, s.rect().h), (t.top + dy, h));
                s.rect().w
            })
            .sum();
        assert!((on - 0.75 * crate::timeline::geometry::PLOT_W).abs() < 1e-6);
        let life = t.life.expect("sampled");
        assert_eq!(
            (life.x, life.right()),
            (s.view.axis.x(0.0), s.view.axis.x(0.04))
        );
    }
    // The next lane moves down by the four rows.
    let lanes = lane_stack(2).processes;
    assert_eq!(s.lanes[2].top, lanes.top(2) + ThreadRows::of(4).height());
    assert!(s.lanes[2].threads.is_empty());
    assert_eq!(
        s.height,
        lane_places(&m).bottom + crate::timeline::geometry::BOTTOM_PAD
    );
    // With level of detail the SVG keeps the sub-lanes' names and lives, the canvas their strips.
    let merged = scene(&m, &view(Detail::Merged));
    let (_, frames) = merged.svg_part();
    assert_eq!(frames[1].threads.len(), 4);
    assert!(
        frames[1]
            .threads
            .iter()
            .all(|t| t.shapes.is_empty() && t.life.is_some())
    );
    assert!(merged.lanes[1].threads.iter().all(|t| !t.shapes.is_empty()));
}

#[test]
fn a_hundred_threads_draw_eight_and_say_how_many_more() {
    let m = run(&[100]);
    let s = scene(&m, &view(Detail::Every));
    assert_eq!(s.lanes[1].threads.len(), ThreadRows::MAX);
    assert_eq!(s.lanes[1].more_threads, 92);
    assert_eq!(more_threads(92), "+92 threads");
    assert_eq!(more_threads(1), "+1 thread");
    assert_eq!(
        s.height,
        lane_stack(2).processes.y0
            + LaneStack::PROCESS_HEIGHT * 2.0
            + lane_stack(2).processes.gap
            + ThreadRows::of(100).height()
            + crate::timeline::geometry::BOTTOM_PAD
    );
    // Only the drawn threads' intervals count towards the choice of detail.
    assert_eq!(m.thread_slices_drawn(), ThreadRows::MAX * 2);
    assert_eq!(run(&[1, 1]).thread_slices_drawn(), 0);
}

#[test]
fn a_long_thread_name_is_elided_but_kept_whole_in_its_tooltip() {
    let lane = ThreadLane {
        tid: 7,
        name: "Thread-12 (a_rather_long_function_name)".into(),
        top: 0.0,
        life: None,
        shapes: Vec::new(),
    };
    assert_eq!(lane.label(), "Thread-12 (a_rather_long_func…");
    assert_eq!(lane.label().chars().count(), LABEL_CHARS);
    assert!(lane.tooltip().contains("a_rather_long_function_name") && lane.tooltip().contains('7'));
}

#[test]
fn hovering_a_sub_lane_names_the_thread_and_its_state_then() {
    let m = run(&[4, 1]);
    let axis = plot_axis(0.0, 0.04);
    let s = scene(&m, &view(Detail::Every));
    let row = &s.lanes[1].threads[2];
    let y = row.top + 5.0;
    let h = hit(&m, &axis, axis.x(0.01), y);
    assert_eq!(
        h,
        Some(Hit::Thread {
            proc: ProcId(1),
            tid: 102,
            t: Some(axis.t_at(axis.x(0.01)))
        })
    );
    let (title, rows) = describe(&m, h.expect("a hit")).expect("described");
    assert_eq!(title, "thread 102");
    let state = &rows.iter().find(|(k, _)| *k == "State").expect("a state").1;
    assert_eq!(state, "on core 0 50 %, asleep or blocked 50 %");
    // On the names: the thread, without a moment.
    assert_eq!(
        hit(&m, &axis, 30.0, y),
        Some(Hit::Thread {
            proc: ProcId(1),
            tid: 102,
            t: None
        })
    );
    // The process's own bars, and the lane pushed down below.
    assert_eq!(
        hit(&m, &axis, axis.x(0.01), s.lanes[1].top + 10.0),
        Some(Hit::Process(ProcId(1)))
    );
    assert_eq!(
        hit(&m, &axis, axis.x(0.01), s.lanes[2].top + 10.0),
        Some(Hit::Process(ProcId(2)))
    );
}

#[test]
fn the_export_writes_the_sub_lanes_as_the_page_does() {
    let m = run(&[10, 1]);
    let s = scene(&m, &view(Detail::Every));
    let p = crate::timeline::palette::Palette::read(|name| format!("[{name}]"));
    let svg = crate::timeline::svg::drawing(&s, &m, &p);
    assert_eq!(svg.matches("data-testid=\"thread-lane\"").count(), 8);
    assert!(svg.contains("data-tid=\"100\" data-name=\"MainThread\""));
    assert!(svg.contains("data-more=\"2\""));
    assert!(svg.contains(">+2 threads</text>"));
    assert_eq!(svg.matches("<g").count(), svg.matches("</g>").count());
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
}
