//! The scene written as SVG text, with resolved colours (for the export: it must look the
//! same outside the page, with no stylesheet). The elements, classes and test ids are the
//! page's SVG view's, so the file reads like the page; colours come from a [`Palette`] and
//! font sizes are the page's (light theme). Pure; tested natively.

use super::geometry::{
    LABEL_W, PLOT_W, Rect, TICK_BOTTOM_PAD, TICK_LABEL_Y, TICK_TOP, WIDTH, core, process, thread,
};
use super::hit::{block_tooltip, outside_tooltip, process_tooltip, task_error, task_tooltip};
use super::palette::{Colour, Palette};
use super::scene::{CoreLane, ProcessLane, Scene};
use super::shape::{Bar, Shape, Tasks};
use super::strips::more_threads;
use crate::layout::{LaneStack, ThreadRows};
use crate::run::RunModel;

/// Fonts of the exported drawing.
const FONT: &str = "DejaVu Sans, Arial, sans-serif";
/// Font of PIDs.
const MONO: &str = "DejaVu Sans Mono, Menlo, Consolas, monospace";

/// The drawing of `scene` (a run `m` at one view) as the inside of an `<svg>` of
/// [`WIDTH`] × `scene.height`, coloured from `p`.
pub fn drawing(scene: &Scene, m: &RunModel, p: &Palette) -> String {
    let mut out = format!("<g font-family=\"{FONT}\" fill=\"{}\">", p.get(Colour::Ink));
    out.push_str(&defs(p));
    out.push_str("<g class=\"axis\">");
    for tick in &scene.ticks {
        out.push_str(&format!(
            "<line class=\"tick\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TICK_TOP}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"1\"/>\
<text class=\"tick-label\" x=\"{x:.1}\" y=\"{TICK_LABEL_Y}\" text-anchor=\"middle\" font-size=\"13\" fill=\"{}\">{}</text>",
            scene.height - TICK_BOTTOM_PAD,
            p.get(Colour::Line),
            p.get(Colour::Muted),
            xml_escape(&tick.label),
            x = tick.x,
        ));
    }
    out.push_str("</g>");
    for lane in &scene.cores {
        core_lane(&mut out, lane, m, p);
    }
    for lane in &scene.lanes {
        process_lane(&mut out, lane, m, p);
    }
    out.push_str("</g>");
    out
}

/// Clip paths (the plot; the plot and the exit labels right of it) and hatches.
fn defs(p: &Palette) -> String {
    let outside = p.get(Colour::Outside);
    format!(
        "<defs><clipPath id=\"plot\"><rect x=\"{LABEL_W}\" y=\"0\" width=\"{}\" height=\"100000\"/></clipPath>\
<clipPath id=\"plot-and-labels\"><rect x=\"{LABEL_W}\" y=\"0\" width=\"{}\" height=\"100000\"/></clipPath>\
<pattern id=\"outside-hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(-45)\">\
<rect width=\"6\" height=\"6\" fill=\"{outside}\" fill-opacity=\"0.25\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"{outside}\" stroke-width=\"2.5\"/></pattern>\
<pattern id=\"not-allowed\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
<rect width=\"8\" height=\"8\" fill=\"{}\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"{}\" stroke-width=\"2\" opacity=\"0.5\"/></pattern></defs>",
        PLOT_W + 2.0,
        WIDTH - LABEL_W,
        p.get(Colour::CoreBg),
        p.get(Colour::Muted),
    )
}

/// Escapes text for XML.
pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `x`, `y`, `width`, `height` attributes.
fn at(r: &Rect) -> String {
    format!(
        "x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"",
        r.x, r.y, r.w, r.h
    )
}

fn title(text: &str) -> String {
    format!("<title>{}</title>", xml_escape(text))
}

fn core_lane(out: &mut String, lane: &CoreLane, m: &RunModel, p: &Palette) {
    let bg = Rect {
        x: LABEL_W,
        y: lane.top,
        w: PLOT_W,
        h: LaneStack::CORE_HEIGHT,
    };
    let (class, fill) = if lane.allowed {
        ("core-bg", p.get(Colour::CoreBg).to_string())
    } else {
        ("core-bg not-allowed", "url(#not-allowed)".to_string())
    };
    out.push_str(&format!(
        "<g class=\"core-lane\" data-testid=\"core-lane\" data-core=\"{c}\" data-allowed=\"{}\">\
<text class=\"lane-name\" x=\"8\" y=\"{:.1}\" font-size=\"15\" font-weight=\"600\">core {c}</text>\
<rect class=\"{class}\" {} fill=\"{fill}\"/>",
        lane.allowed,
        lane.top + core::NAME_Y,
        at(&bg),
        c = lane.core,
    ));
    if !lane.allowed {
        out.push_str(&format!(
            "<text class=\"not-allowed-label\" x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" font-style=\"italic\" font-weight=\"600\">not allowed for this run</text>",
            LABEL_W + core::NOTE_DX,
            lane.top + core::NAME_Y
        ));
    }
    out.push_str("<g clip-path=\"url(#plot)\">");
    for shape in &lane.shapes {
        let tip = match shape {
            Shape::Outside { share, .. } => outside_tooltip(lane.core, *share),
            Shape::Block { block, .. } => block_tooltip(m, *block),
            _ => String::new(),
        };
        let fill = match shape {
            Shape::Outside { .. } => "url(#outside-hatch)",
            other => p.get(other.colour()),
        };
        out.push_str(&format!(
            "<rect class=\"{}\" {} fill=\"{fill}\">{}</rect>",
            shape.class(),
            at(&shape.rect()),
            title(&tip)
        ));
    }
    out.push_str("</g></g>");
}

fn process_lane(out: &mut String, lane: &ProcessLane, m: &RunModel, p: &Palette) {
    let colour = p.get(lane.colour);
    out.push_str(&format!(
        "<g class=\"lane\" data-testid=\"lane\" data-proc=\"{}\" data-name=\"{}\" data-pid=\"{}\" data-exit-code=\"{}\">{}\
<text class=\"lane-name\" x=\"8\" y=\"{:.1}\" font-size=\"15\" font-weight=\"600\">{}</text>\
<text class=\"lane-pid\" x=\"8\" y=\"{:.1}\" font-size=\"12\" font-family=\"{MONO}\" fill=\"{}\">PID {}</text>\
<g clip-path=\"url(#plot)\">",
        lane.proc.0,
        xml_escape(&lane.name),
        lane.pid,
        lane.exit_code.map(|c| c.to_string()).unwrap_or_default(),
        title(&process_tooltip(m, lane.proc)),
        lane.top + process::NAME_Y,
        xml_escape(&lane.name),
        lane.top + process::PID_Y,
        p.get(Colour::Muted),
        lane.pid,
    ));
    if let Some(r) = &lane.pending {
        out.push_str(&format!(
            "<rect class=\"bar pending\" {} fill=\"{colour}\" opacity=\"0.35\"/>",
            at(r)
        ));
    }
    if let Some(r) = &lane.running {
        let (class, opacity) = if lane.has_tasks {
            ("bar running has-tasks", " opacity=\"0.18\"")
        } else {
            ("bar running", "")
        };
        out.push_str(&format!(
            "<rect class=\"{class}\" {} rx=\"3\" fill=\"{colour}\"{opacity}/>",
            at(r)
        ));
    }
    let strip: Vec<&Shape> = lane
        .shapes
        .iter()
        .filter(|s| matches!(s, Shape::Strip { .. }))
        .collect();
    if !strip.is_empty() {
        out.push_str("<g class=\"state-strip\" data-testid=\"state-strip\">");
        strip_rects(out, strip, p);
        out.push_str("</g>");
    }
    for shape in &lane.shapes {
        if let Shape::Bar(bar) = shape {
            task_bar(out, shape, bar, m, p);
        }
    }
    out.push_str("</g>");
    thread_lanes(out, lane, p);
    if let Some(exit) = &lane.exit {
        let (class, colour, dash) = if exit.ok {
            ("exit", p.get(Colour::Ok), "")
        } else {
            (
                "exit failed",
                p.get(Colour::Bad),
                " stroke-dasharray=\"3 2\"",
            )
        };
        let label_x = exit.x + process::EXIT_LABEL.1;
        out.push_str(&format!(
            "<g class=\"{class}\" data-testid=\"exit-marker\" clip-path=\"url(#plot-and-labels)\">{}\
<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>\
<text x=\"{label_x:.1}\" y=\"{:.1}\" font-size=\"14\" font-weight=\"600\" fill=\"{colour}\">{}{}</text></g>",
            title(&exit.text()),
            lane.top,
            lane.top + LaneStack::PROCESS_HEIGHT,
            lane.top + process::EXIT_LABEL.0,
            xml_escape(&exit.head()),
            exit.signal.as_deref().map_or_else(String::new, |signal| format!(
                "<tspan x=\"{label_x:.1}\" dy=\"1em\" font-size=\"{:.1}\">{}</tspan>",
                14.0 * process::EXIT_SIGNAL_EM,
                xml_escape(signal)
            )),
            x = exit.x,
        ));
    }
    out.push_str("</g>");
}

/// A state strip's parts, filled.
fn strip_rects<'a>(out: &mut String, shapes: impl IntoIterator<Item = &'a Shape>, p: &Palette) {
    for s in shapes {
        out.push_str(&format!(
            "<rect class=\"{}\" {} fill=\"{}\"/>",
            s.class(),
            at(&s.rect()),
            p.get(s.colour())
        ));
    }
}

/// A process lane's thread sub-lanes (names, faint lives and strips), then "+N threads".
fn thread_lanes(out: &mut String, lane: &ProcessLane, p: &Palette) {
    let colour = p.get(lane.colour);
    for t in &lane.threads {
        out.push_str(&format!(
            "<g class=\"thread-lane\" data-testid=\"thread-lane\" data-tid=\"{}\" data-name=\"{}\">{}\
<text class=\"thread-name\" x=\"{}\" y=\"{:.1}\" font-size=\"10\" fill=\"{}\">{}</text><g clip-path=\"url(#plot)\">",
            t.tid,
            xml_escape(&t.name),
            title(&t.tooltip()),
            thread::NAME_X,
            t.top + thread::NAME_Y,
            p.get(Colour::Muted),
            xml_escape(&t.label()),
        ));
        if let Some(r) = &t.life {
            out.push_str(&format!(
                "<rect class=\"thread-life\" {} fill=\"{colour}\" opacity=\"0.25\"/>",
                at(r)
            ));
        }
        out.push_str("<g class=\"state-strip\">");
        strip_rects(out, &t.shapes, p);
        out.push_str("</g></g></g>");
    }
    if lane.more_threads > 0 {
        out.push_str(&format!(
            "<text class=\"thread-more\" data-testid=\"more-threads\" data-more=\"{n}\" x=\"{}\" y=\"{:.1}\" font-size=\"10\" fill=\"{}\">{}</text>",
            thread::NAME_X,
            ThreadRows::top(lane.top, lane.threads.len()) + thread::NAME_Y,
            p.get(Colour::Muted),
            more_threads(lane.more_threads),
            n = lane.more_threads,
        ));
    }
}

fn task_bar(out: &mut String, shape: &Shape, bar: &Bar, m: &RunModel, p: &Palette) {
    let (edge, dash) = if bar.failed {
        (p.get(Colour::FailedEdge), " stroke-dasharray=\"3 2\"")
    } else {
        (p.get(Colour::TaskEdge), "")
    };
    let rect = format!(
        "<rect {} rx=\"2\" fill=\"{}\" stroke=\"{edge}\" stroke-width=\"1\"{dash}/>",
        at(&bar.rect),
        p.get(shape.colour())
    );
    let label = bar.label.as_ref().map_or(String::new(), |l| {
        format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" font-weight=\"600\" fill=\"{}\">{}</text>",
            l.x,
            l.y,
            p.get(Colour::BarText),
            xml_escape(&l.text)
        )
    });
    out.push_str(&match bar.tasks {
        Tasks::One { index, task } => format!(
            "<g class=\"{}\" data-testid=\"task-bar\" data-task=\"{task}\" data-error=\"{}\">{}{rect}{label}</g>",
            shape.class(),
            xml_escape(&task_error(m, index).unwrap_or_default()),
            title(&task_tooltip(m, index)),
        ),
        Tasks::Many(n) => format!(
            "<g class=\"{}\">{}{rect}{label}</g>",
            shape.class(),
            title(&format!("{n} tasks: zoom in to see each"))
        ),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::geometry::{PLOT_END, plot_axis};
    use crate::timeline::scene::scene;
    use crate::timeline::shape::{Detail, View};
    use shared::{Event, EventKind, ProcId, RunId, RunTime, TaskError, TaskResult};

    /// A pool worker with tasks 0 (failed at once) and 1 (100 ms), exited 0.
    fn run() -> RunModel {
        let mut m = RunModel::new(RunId(1));
        let worker = ProcId(1);
        let error = TaskResult::Error(Box::new(TaskError {
            error_type: "ZeroDivisionError".into(),
            message: "division by zero".into(),
            location: "here".into(),
            traceback: None,
        }));
        let kinds = [
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
                1,
                EventKind::TaskFinished {
                    task: 0,
                    worker,
                    result: error,
                },
            ),
            (1, EventKind::TaskStarted { task: 1, worker }),
            (
                100,
                EventKind::TaskFinished {
                    task: 1,
                    worker,
                    result: TaskResult::Value { value: 1 },
                },
            ),
        ];
        for (seq, (ms, kind)) in kinds.into_iter().enumerate() {
            m.apply(&Event {
                run: RunId(1),
                seq: seq as u64,
                t: RunTime::from_millis(ms),
                kind,
            });
        }
        m
    }

    #[test]
    fn the_export_writes_each_bar_of_the_scene_with_resolved_colours() {
        let m = run();
        let view = View {
            axis: plot_axis(0.0, 0.2),
            detail: Detail::Every,
            label_px: 9.0,
        };
        let s = scene(&m, &view);
        let p = Palette::read(|name| format!("[{name}]"));
        let svg = drawing(&s, &m, &p);
        assert_eq!(svg.matches("data-testid=\"task-bar\"").count(), 2);
        assert!(svg.contains(
            "class=\"task failed\" data-testid=\"task-bar\" data-task=\"0\" data-error=\"ZeroDivisionError: division by zero\""
        ));
        assert!(svg.contains("fill=\"[--failed]\" stroke=\"[--failed-edge]\""));
        assert!(svg.contains(">✗</text>"), "the failed bar's mark");
        assert!(svg.contains("data-name=\"PoolWorker-1\""));
        assert!(!svg.contains("var(--"), "no custom property left");
        assert_eq!(svg.matches("<g").count(), svg.matches("</g>").count());
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    }

    #[test]
    fn a_signal_is_written_under_its_exit_code() {
        let mut m = run();
        m.apply(&Event {
            run: RunId(1),
            seq: m.next_seq,
            t: RunTime::from_millis(200),
            kind: EventKind::ProcessExited {
                proc: ProcId(1),
                status: shared::ExitStatus::Signal { signal: 9 },
                killed_by: None,
                cpu_time_ns: None,
            },
        });
        let view = View {
            axis: plot_axis(0.0, 0.2),
            detail: Detail::Every,
            label_px: 9.0,
        };
        let svg = drawing(&scene(&m, &view), &m, &Palette::read(|_| "#123456".into()));
        // The mark at the plot's end: "-9" on the lane's line, the signal one line lower.
        let x = PLOT_END + process::EXIT_LABEL.1;
        assert!(
            svg.contains(&format!(
                ">✗ -9<tspan x=\"{x:.1}\" dy=\"1em\" font-size=\"11.2\">SIGKILL</tspan></text>"
            )),
            "{svg}"
        );
        assert!(
            svg.contains("<title>✗ -9 (SIGKILL)</title>"),
            "the whole label"
        );
    }

    #[test]
    fn merged_bars_are_written_too() {
        let m = run();
        let view = View {
            axis: plot_axis(0.0, 1000.0),
            detail: Detail::Merged,
            label_px: 9.0,
        };
        let svg = drawing(&scene(&m, &view), &m, &Palette::read(|_| "#123456".into()));
        assert!(
            svg.contains("class=\"task failed\""),
            "the failed task stays: {svg}"
        );
        assert!(svg.contains("fill=\"#123456\""));
    }
}
