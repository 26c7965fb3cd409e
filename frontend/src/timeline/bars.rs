//! Task bars of the scene: every bar of a worker (demo sizes) or its bars at level of
//! detail (big runs: [`lod_rects`] merges what is closer than a pixel), and the one rule for
//! their labels. Failed tasks are never merged away: they come last, on top, at least
//! [`FAILED_MIN_PX`] wide with their ✗.

use super::geometry::{FAILED_MIN_PX, FAILED_NUMBER_PX, Rect, TASK_MIN_PX, process, task_rect};
use super::shape::{Bar, Detail, Label, Shape, Tasks, View};
use crate::layout::lod_rects;
use crate::run::RunModel;
use shared::ProcId;

/// The text of a bar: a failed one shows ✗ (and its number when there is room), another its
/// number. `None` for merged bars that did not fail.
fn label_text(tasks: Tasks, failed: bool, w: f64) -> Option<String> {
    match (tasks, failed) {
        (Tasks::One { task, .. }, true) if w >= FAILED_NUMBER_PX => Some(format!("✗ {task}")),
        (_, true) => Some("✗".into()),
        (Tasks::One { task, .. }, false) => Some(task.to_string()),
        (Tasks::Many(_), false) => None,
    }
}

/// A bar with its label. The one label rule: a failed bar always shows its ✗ (it is wide
/// enough for it); with every bar drawn each shows its number; merged, a number is shown
/// only where it fits.
fn bar(rect: Rect, tasks: Tasks, failed: bool, view: &View) -> Bar {
    let label = label_text(tasks, failed, rect.w)
        .filter(|text| {
            failed
                || view.detail == Detail::Every
                || fits(
                    text,
                    rect.x + process::LABEL_DX,
                    rect.right(),
                    view.label_px,
                )
        })
        .map(|text| Label {
            x: rect.x + process::LABEL_DX,
            y: rect.y - process::BAR.0 + process::LABEL_Y,
            text,
        });
    Bar {
        rect,
        tasks,
        failed,
        label,
    }
}

/// Every task bar of a worker; failed ones last, so they are drawn on top.
pub(super) fn every_bar(m: &RunModel, proc: ProcId, top: f64, view: &View, out: &mut Vec<Shape>) {
    let mut bars: Vec<Bar> = m
        .index
        .of(proc)
        .iter()
        .map(|&index| {
            let b = &m.tasks[index];
            let failed = b.error().is_some();
            let rect = task_rect(&view.axis, top, b.started, b.end(m.last_t), failed);
            let tasks = Tasks::One {
                index,
                task: b.task,
            };
            bar(rect, tasks, failed, view)
        })
        .collect();
    bars.sort_by_key(|b| b.failed);
    clear_of_failed(&mut bars, view);
    out.extend(bars.into_iter().map(Shape::Bar));
}

/// Whether `text` fits in a bar from `x` to `right` (pixels per character: `label_px`).
fn fits(text: &str, x: f64, right: f64, label_px: f64) -> bool {
    x + text.chars().count() as f64 * label_px + process::LABEL_DX < right
}

/// A failed bar is drawn on top, at least 14 px wide: the label of a bar starting under it
/// moves to its right so both stay readable (with level of detail, a label that no longer
/// fits its bar is dropped). `bars`: the others in start order, then the failed ones in
/// start order.
fn clear_of_failed(bars: &mut [Bar], view: &View) {
    let failed: Vec<Rect> = bars.iter().filter(|b| b.failed).map(|b| b.rect).collect();
    // The right edge covered by the failed bars so far (they may overlap).
    let reach: Vec<f64> = failed
        .iter()
        .scan(f64::MIN, |edge, f| {
            *edge = edge.max(f.right());
            Some(*edge)
        })
        .collect();
    for b in bars.iter_mut().filter(|b| !b.failed) {
        let x = b.rect.x;
        let started_before = failed.partition_point(|f| f.x <= x + 1.0);
        let Some(&right) = started_before.checked_sub(1).and_then(|i| reach.get(i)) else {
            continue;
        };
        if right <= x {
            continue;
        }
        let moved = right + process::LABEL_DX;
        let end = b.rect.right();
        b.label = b.label.take().and_then(|mut label| {
            label.x = moved;
            (view.detail == Detail::Every || fits(&label.text, moved, end, view.label_px))
                .then_some(label)
        });
    }
}

/// A worker's task bars with level of detail: bars closer than a pixel merge; failed tasks
/// are left out of that and drawn after, merged only with each other (3 px).
pub(super) fn merged_bars(m: &RunModel, proc: ProcId, top: f64, view: &View, out: &mut Vec<Shape>) {
    let axis = &view.axis;
    let mut bars = Vec::new();
    let (dy, h) = process::BAR;
    let (list, span) = m.index.spans_of(proc, m.last_t);
    for r in lod_rects(list.len(), span, axis, 1.0) {
        let rect = |min: f64| Rect {
            x: r.x,
            y: top + dy,
            w: r.w.max(min),
            h,
        };
        if r.count > 1 {
            bars.push(bar(rect(1.0), Tasks::Many(r.count), false, view));
            continue;
        }
        let index = list[r.first];
        let task = &m.tasks[index];
        if task.error().is_none() {
            let tasks = Tasks::One {
                index,
                task: task.task,
            };
            bars.push(bar(rect(TASK_MIN_PX), tasks, false, view));
        }
    }
    let failed: Vec<usize> = m
        .index
        .failed
        .iter()
        .copied()
        .filter(|&i| m.tasks[i].worker == proc)
        .collect();
    let fspan = |k: usize| {
        let b = &m.tasks[failed[k]];
        (b.started, b.end(m.last_t))
    };
    for r in lod_rects(failed.len(), fspan, axis, 3.0) {
        let tasks = if r.count > 1 {
            Tasks::Many(r.count)
        } else {
            Tasks::One {
                index: failed[r.first],
                task: m.tasks[failed[r.first]].task,
            }
        };
        let rect = Rect {
            x: r.x,
            y: top + dy,
            w: r.w.max(FAILED_MIN_PX),
            h,
        };
        bars.push(bar(rect, tasks, true, view));
    }
    clear_of_failed(&mut bars, view);
    out.extend(bars.into_iter().map(Shape::Bar));
}
