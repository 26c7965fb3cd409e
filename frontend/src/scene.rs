//! The bars and blocks of a big run at one zoom, as plain shapes in the timeline's
//! coordinates: painted on the canvas by the page, written as SVG by the export. Pure; tested
//! natively. Level of detail comes from [`lod_rects`]: what cannot be told apart at this zoom
//! is one "many tasks" shape, and failed tasks are always drawn on top, at least 3 px wide.

use crate::layout::{LaneStack, Lanes, TimeAxis, lod_rects, process_colour};
use crate::run::RunModel;

/// Colour of a task bar.
pub const TASK: &str = "#0072b2";
/// Colour of merged task bars ("many tasks, zoom in").
pub const MANY: &str = "#56b4e9";
/// Colour of a failed task.
pub const FAILED: &str = "#c2410c";
/// Colour of "waiting for a core" in the state strip.
pub const WAITING: &str = "#d55e00";
/// Colour of "on a core" in the state strip.
pub const ON_CPU: &str = "#1f2937";
/// Colour of load from outside the run on a core lane.
pub const OUTSIDE: &str = "#7f7f7f";
/// Outline of the selected task.
pub const SELECTED: &str = "#f0e442";

/// One shape.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// A filled rectangle.
    Rect {
        /// Left, top, width, height.
        x: f64,
        /// Top.
        y: f64,
        /// Width.
        w: f64,
        /// Height.
        h: f64,
        /// Fill colour.
        fill: &'static str,
        /// Opacity, 0 to 1.
        alpha: f64,
    },
    /// An outlined rectangle (the selected task).
    Outline {
        /// Left.
        x: f64,
        /// Top.
        y: f64,
        /// Width.
        w: f64,
        /// Height.
        h: f64,
    },
    /// White text (a task number, ✗).
    Label {
        /// Left.
        x: f64,
        /// Baseline.
        y: f64,
        /// The text.
        text: String,
    },
}

/// Where the lanes are: core lane `c` at `core_top(c)`, process lane `i` (0: main) at
/// `processes.top(i)`.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    /// The lane stack.
    pub stack: LaneStack,
    /// Width of the plot's right end, pixels (shapes are clipped there by the painter).
    pub plot_end: f64,
    /// Pixels per character of a task label (wider in the projector theme).
    pub label_px: f64,
}

impl Geometry {
    fn processes(&self) -> Lanes {
        self.stack.processes
    }
}

/// Whether `[start, end]` is visible and not within half a pixel of what `last` (the right
/// edge drawn so far on this lane) covers; returns x and width.
fn worth_drawing(axis: &TimeAxis, start: f64, end: f64, last: &mut f64) -> Option<(f64, f64)> {
    if end < axis.t0 || start > axis.t0 + axis.span {
        return None;
    }
    let x = axis.x(start);
    let w = axis.width_of(start, end, 1.0);
    if x + w <= *last + 0.5 {
        return None;
    }
    *last = x + w;
    Some((x, w))
}

/// The shapes of `m` at `axis`: core blocks, state strips, task bars (merged where too
/// close), failed tasks, the outline of task `selected`.
pub fn scene(m: &RunModel, axis: &TimeAxis, g: &Geometry, selected: Option<u64>) -> Vec<Shape> {
    let mut out = Vec::new();
    let cores = m.cores_sampled();
    // Load from outside the run, up from each core lane's bottom, under the run's blocks.
    let inner = LaneStack::CORE_HEIGHT - 4.0;
    let mut last_outside = vec![f64::MIN; cores as usize];
    for b in &m.outside {
        let Some(edge) = last_outside.get_mut(b.core as usize) else {
            continue;
        };
        if let Some((x, w)) = worth_drawing(axis, b.start, b.end, edge) {
            out.push(Shape::Rect {
                x,
                y: g.stack.cores.top(b.core as usize) + 2.0 + (1.0 - b.share) * inner,
                w,
                h: b.share * inner,
                fill: OUTSIDE,
                alpha: 0.45,
            });
        }
    }
    // Blocks of one core and interval stack, each as tall as its share of the interval.
    let mut last = vec![(f64::MIN, f64::MIN); cores as usize];
    for b in &m.core_blocks {
        let Some((edge, start)) = last.get_mut(b.core as usize) else {
            continue;
        };
        // A new interval may not start within half a pixel of the last one drawn; blocks
        // stacked in the same interval always draw.
        let mut seen = if b.start == *start { f64::MIN } else { *edge };
        if let Some((x, w)) = worth_drawing(axis, b.start, b.end, &mut seen) {
            *edge = seen;
            *start = b.start;
            out.push(Shape::Rect {
                x,
                y: g.stack.cores.top(b.core as usize) + 2.0 + b.offset * inner,
                w,
                h: (b.share * inner).max(1.5),
                fill: process_colour(b.proc.0),
                alpha: 0.9,
            });
        }
    }
    let lanes = g.processes();
    for (lane, p) in m.processes.iter().enumerate() {
        let y = lanes.top(lane + 1);
        let mut last = f64::MIN;
        for b in m.state_blocks.iter().filter(|b| b.proc == p.proc) {
            if let Some((x, w)) = worth_drawing(axis, b.start, b.end, &mut last) {
                let strip = |x, w, fill| Shape::Rect {
                    x,
                    y: y + 29.0,
                    w,
                    h: 5.0,
                    fill,
                    alpha: 1.0,
                };
                out.push(strip(x, w * b.running, ON_CPU));
                out.push(strip(x + w * b.running, w * b.waiting, WAITING));
            }
        }
        let bar = |x, w, fill| Shape::Rect {
            x,
            y: y + 6.0,
            w,
            h: 22.0,
            fill,
            alpha: 1.0,
        };
        let list = m.index.of(p.proc);
        let span = |k: usize| {
            let b = &m.tasks[list[k]];
            (b.started, b.end(m.last_t))
        };
        for r in lod_rects(list.len(), span, axis, 1.0) {
            if r.count > 1 {
                out.push(bar(r.x, r.w, MANY));
                continue;
            }
            let task = &m.tasks[list[r.first]];
            let failed = task.error().is_some();
            out.push(bar(r.x, r.w, if failed { FAILED } else { TASK }));
            let text = task.task.to_string();
            if r.w > text.len() as f64 * g.label_px + 6.0 {
                out.push(Shape::Label {
                    x: r.x + 3.0,
                    y: y + 22.0,
                    text,
                });
            }
        }
        // Failed tasks on top, never hidden by merging.
        let failed: Vec<usize> = m
            .index
            .failed
            .iter()
            .copied()
            .filter(|&i| m.tasks[i].worker == p.proc)
            .collect();
        let fspan = |k: usize| {
            let b = &m.tasks[failed[k]];
            (b.started, b.end(m.last_t))
        };
        for r in lod_rects(failed.len(), fspan, axis, 3.0) {
            out.push(bar(r.x, r.w.max(3.0), FAILED));
            if r.w > 12.0 {
                out.push(Shape::Label {
                    x: r.x + 2.0,
                    y: y + 22.0,
                    text: "✗".into(),
                });
            }
        }
    }
    if let Some(task) = selected {
        for b in m.tasks.iter().filter(|b| b.task == task) {
            let Some(lane) = m.processes.iter().position(|p| p.proc == b.worker) else {
                continue;
            };
            let end = b.end(m.last_t);
            out.push(Shape::Outline {
                x: axis.x(b.started),
                y: lanes.top(lane + 1) + 6.0,
                w: axis.width_of(b.started, end, 3.0),
                h: 22.0,
            });
        }
    }
    out
}

/// The shapes as SVG elements, clipped to the plot (`clip`: the id of a clip path).
pub fn to_svg(shapes: &[Shape], clip: &str) -> String {
    let mut svg = format!("<g clip-path=\"url(#{clip})\">");
    for s in shapes {
        svg.push_str(&match s {
            Shape::Rect {
                x,
                y,
                w,
                h,
                fill,
                alpha,
            } => format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{fill}\" fill-opacity=\"{alpha:.2}\"/>"
            ),
            Shape::Outline { x, y, w, h } => format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"none\" stroke=\"{SELECTED}\" stroke-width=\"4\"/>"
            ),
            Shape::Label { x, y, text } => format!(
                "<text x=\"{x:.1}\" y=\"{y:.1}\" fill=\"#ffffff\" font-size=\"12\" font-weight=\"600\">{}</text>",
                crate::export::xml_escape(text)
            ),
        });
    }
    svg.push_str("</g>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{Event, EventKind, ProcId, RunId, RunTime, TaskError, TaskResult};

    /// A run of `n` 1 ms tasks on one worker, task 0 failing.
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

    fn geometry() -> Geometry {
        Geometry {
            stack: LaneStack::new(36.0, 0),
            plot_end: 1110.0,
            label_px: 9.0,
        }
    }

    fn axis(span: f64) -> TimeAxis {
        TimeAxis {
            x0: 200.0,
            width: 910.0,
            t0: 0.0,
            span,
        }
    }

    #[test]
    fn a_hundred_thousand_tasks_make_a_few_shapes_and_the_error_stays_visible() {
        let m = big_run(100_000);
        let shapes = scene(&m, &axis(100.0), &geometry(), None);
        assert!(shapes.len() < 50, "{} shapes", shapes.len());
        let failed = shapes
            .iter()
            .filter(|s| matches!(s, Shape::Rect { fill, w, .. } if *fill == FAILED && *w >= 3.0))
            .count();
        assert_eq!(
            failed, 1,
            "the failed task is drawn on top, 3 px wide at least"
        );
        assert!(
            shapes
                .iter()
                .any(|s| matches!(s, Shape::Rect { fill, .. } if *fill == MANY))
        );
    }

    #[test]
    fn zoomed_in_every_task_is_its_own_labelled_bar() {
        let m = big_run(1_000);
        let shapes = scene(&m, &axis(0.010), &geometry(), Some(3));
        let bars = shapes
            .iter()
            .filter(|s| matches!(s, Shape::Rect { fill, .. } if *fill == TASK))
            .count();
        assert!(
            (9..=11).contains(&bars),
            "{bars} bars in 10 ms of 1 ms tasks"
        );
        assert!(
            shapes
                .iter()
                .any(|s| matches!(s, Shape::Label { text, .. } if text == "5"))
        );
        assert_eq!(
            shapes
                .iter()
                .filter(|s| matches!(s, Shape::Outline { .. }))
                .count(),
            1,
            "the selected task is outlined"
        );
        let svg = to_svg(&shapes, "plot");
        assert!(svg.starts_with("<g clip-path=\"url(#plot)\">") && svg.ends_with("</g>"));
        assert!(svg.contains(&format!("fill=\"{FAILED}\"")));
    }
}
