//! State strips of the scene — on a core, waiting for one, asleep — and where the process
//! lanes are once they hold their threads: a process's own strip (its threads averaged) and,
//! for a process with two or more threads that ran, one thin sub-lane per thread (at most
//! [`ThreadRows::MAX`], then "+N threads") drawing that thread's own strip. So Python
//! threads taking turns under the GIL look unlike native threads running side by side.
//!
//! A thread's strip walks only its own intervals (the model keeps them per thread), so the
//! sub-lanes cost what the process strip costs, not a pass over the run per thread.

use super::geometry::{Rect, STRIP_MIN_PX, lane_stack, process, thread};
use super::shape::{Detail, Shape, View};
use crate::layout::{LanePlaces, ThreadRows};
use crate::run::{ProcessRow, RunModel, ran_in_order};
use shared::ProcId;

/// A thread's sub-lane in its process's lane.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadLane {
    /// The thread's ID.
    pub tid: u32,
    /// Its name (`Thread-1 (burn_cpu)`, `MainThread`, `thread 4242`).
    pub name: String,
    /// Top of the row.
    pub top: f64,
    /// Its sampled life (drawn faint: where it is neither on a core nor waiting, it slept
    /// or was blocked).
    pub life: Option<Rect>,
    /// Its strip: per sampled interval, the part on a core, then the part waiting.
    pub shapes: Vec<Shape>,
}

/// Most characters of a thread's name shown left of its sub-lane (the rest is elided; the
/// tooltip has all of it).
const LABEL_CHARS: usize = 30;

/// The line under a process's last thread sub-lane: `+92 threads`.
pub fn more_threads(n: usize) -> String {
    format!("+{n} thread{}", if n == 1 { "" } else { "s" })
}

impl ThreadLane {
    /// Its name as shown left of the sub-lane: elided past [`LABEL_CHARS`] characters.
    pub fn label(&self) -> String {
        if self.name.chars().count() <= LABEL_CHARS {
            self.name.clone()
        } else {
            let head: String = self.name.chars().take(LABEL_CHARS - 1).collect();
            format!("{head}…")
        }
    }

    /// Its tooltip: the name and thread ID.
    pub fn tooltip(&self) -> String {
        format!("{} — thread ID {}", self.name, self.tid)
    }

    /// The sub-lane without its shapes (what stays in SVG when the canvas paints them).
    pub fn frame(&self) -> ThreadLane {
        ThreadLane {
            shapes: Vec::new(),
            ..self.clone()
        }
    }
}

/// Where an interval `[start, end]` is drawn, at least `min_px` wide. With
/// [`Detail::Merged`], `None` if it is out of view or hides within half a pixel under what
/// `last` (the right edge drawn so far on this lane) covers.
pub(super) fn place(
    view: &View,
    start: f64,
    end: f64,
    min_px: f64,
    last: &mut f64,
) -> Option<(f64, f64)> {
    let axis = &view.axis;
    let x = axis.x(start);
    let w = axis.width_of(start, end, min_px);
    if view.detail == Detail::Merged {
        if end < axis.t0 || start > axis.t0 + axis.span || x + w <= *last + 0.5 {
            return None;
        }
        *last = x + w;
    }
    Some((x, w))
}

/// A strip `(y, h)` from intervals `(start, end, running share, waiting share)` in time
/// order: per interval the part on a core, then the part waiting for one; the rest slept.
fn strip_of(
    view: &View,
    (y, h): (f64, f64),
    intervals: impl Iterator<Item = (f64, f64, f64, f64)>,
) -> Vec<Shape> {
    let mut out = Vec::new();
    let mut last = f64::MIN;
    for (start, end, running, waiting) in intervals {
        if let Some((x, w)) = place(view, start, end, STRIP_MIN_PX, &mut last) {
            let on = w * running;
            out.push(Shape::Strip {
                rect: Rect { x, y, w: on, h },
                waiting: false,
            });
            out.push(Shape::Strip {
                rect: Rect {
                    x: x + on,
                    y,
                    w: w * waiting,
                    h,
                },
                waiting: true,
            });
        }
    }
    out
}

/// The state strip of a process (its threads averaged), in its lane whose top is `top`.
pub(super) fn strip(m: &RunModel, proc: ProcId, top: f64, view: &View) -> Vec<Shape> {
    let (dy, h) = process::STRIP;
    let blocks = m.state_blocks.iter().filter(|b| b.proc == proc);
    strip_of(
        view,
        (top + dy, h),
        blocks.map(|b| (b.start, b.end, b.running, b.waiting)),
    )
}

/// How many of `p`'s threads ran (what its lane's thread rows are sized by).
fn ran(m: &RunModel, proc: ProcId) -> usize {
    m.threads_of(proc)
        .iter()
        .filter(|t| t.ran.is_some())
        .count()
}

/// Where each process lane is (the main process first), grown by its thread rows.
pub fn lane_places(m: &RunModel) -> LanePlaces {
    let lanes = lane_stack(m.cores_sampled()).processes;
    let threads = m.processes.iter().map(|p| ran(m, p.proc));
    LanePlaces::new(&lanes, std::iter::once(0).chain(threads))
}

/// The thread sub-lanes of process `p` in its lane whose top is `top`, and how many more
/// threads it has than are drawn. None for a process with fewer than two threads that ran.
pub(super) fn thread_lanes(
    m: &RunModel,
    p: &ProcessRow,
    top: f64,
    view: &View,
) -> (Vec<ThreadLane>, usize) {
    let threads = ran_in_order(m.threads_of(p.proc), p.pid);
    let rows = ThreadRows::of(threads.len());
    let (dy, h) = thread::STRIP;
    let lanes = threads
        .iter()
        .take(rows.drawn)
        .enumerate()
        .map(|(i, t)| {
            let row = ThreadRows::top(top, i);
            let life = match (t.slices.first(), t.slices.last()) {
                (Some(first), Some(last)) => {
                    let end = t.ended.unwrap_or(last.end).max(first.start);
                    Some(Rect {
                        x: view.axis.x(first.start),
                        y: row + dy,
                        w: view.axis.width_of(first.start, end, STRIP_MIN_PX),
                        h,
                    })
                }
                _ => None,
            };
            let intervals = t
                .slices
                .iter()
                .map(|s| (s.start, s.end, s.running, s.waiting));
            ThreadLane {
                tid: t.tid,
                name: t.name(p.pid),
                top: row,
                life,
                shapes: strip_of(view, (row + dy, h), intervals),
            }
        })
        .collect();
    (lanes, rows.more)
}

#[cfg(test)]
mod tests;
