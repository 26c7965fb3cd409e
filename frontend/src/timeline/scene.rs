//! The timeline's one scene: what is drawn for a run at one view (time range, level of
//! detail), as plain data in drawing coordinates — core lanes with their sampled blocks and
//! load from outside the run, process lanes with their spans, exit marks, state strips,
//! task bars (with task number, failed or not, label and tooltip key) and a sub-lane per
//! thread (`strips`). Pure and tested natively. The SVG view, the canvas and the SVG export all paint this scene; none of them
//! places anything itself.
//!
//! Demo-size runs are drawn with every bar ([`Detail::Every`]); above [`SVG_TASKS`](super::shape::SVG_TASKS) tasks or
//! [`SVG_BLOCKS`](super::shape::SVG_BLOCKS) sampled blocks, bars too close to tell apart merge into one "many tasks"
//! bar ([`Detail::Merged`], through [`crate::layout::lod_rects`]) and what hides under what
//! is already drawn is left out, so the shapes grow with the pixels, not with the run. Failed
//! tasks are never merged away: they are drawn last, on top, at least
//! [`super::geometry::FAILED_MIN_PX`] wide with their ✗, whatever the detail.

use super::bars::{every_bar, merged_bars};
use super::geometry::{
    BLOCK_MIN_PX, MAIN_MIN_PX, PENDING_MIN_PX, RUNNING_MIN_PX, Rect, TICK_PX, core, drawing_height,
    lane_stack, process, task_rect,
};
use super::palette::Colour;
use super::shape::{Detail, Shape, View};
pub use super::strips::ThreadLane;
use super::strips::{lane_places, place, strip, thread_lanes};
use crate::layout::{LanePlaces, Tick, TimeAxis, process_slot};
use crate::run::RunModel;
use shared::ProcId;

/// The whole drawing of a run at one view.
#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    /// The run's state it was drawn from (events applied, last time): scenes of a changed
    /// run differ even where their shapes do not (tooltips change with the run).
    pub version: (u64, f64),
    /// The view it was drawn for.
    pub view: View,
    /// Height of the drawing.
    pub height: f64,
    /// The axis's ticks.
    pub ticks: Vec<Tick>,
    /// One lane per core, top to bottom.
    pub cores: Vec<CoreLane>,
    /// One lane per process (the main process first), below the core lanes.
    pub lanes: Vec<ProcessLane>,
}

/// A core's lane.
#[derive(Clone, Debug, PartialEq)]
pub struct CoreLane {
    /// The core.
    pub core: u32,
    /// Top of the lane.
    pub top: f64,
    /// Whether the run's processes may run on it (their affinity); if not, it is hatched.
    pub allowed: bool,
    /// Load from outside the run, then the run's blocks.
    pub shapes: Vec<Shape>,
}

/// A process's lane.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessLane {
    /// The process.
    pub proc: ProcId,
    /// Its name.
    pub name: String,
    /// Its PID.
    pub pid: u32,
    /// Top of the lane.
    pub top: f64,
    /// Its exit code as Python reports it, once it has exited.
    pub exit_code: Option<i32>,
    /// Its colour.
    pub colour: Colour,
    /// Spawned, not yet started.
    pub pending: Option<Rect>,
    /// Running (drawn faint when the process runs tasks: it is then idle between them).
    pub running: Option<Rect>,
    /// Whether it runs tasks.
    pub has_tasks: bool,
    /// Its exit, once it has exited.
    pub exit: Option<ExitMark>,
    /// Its state strip, then its task bars (failed ones last, on top).
    pub shapes: Vec<Shape>,
    /// Its threads' sub-lanes, under its bars (none for a single-threaded process).
    pub threads: Vec<ThreadLane>,
    /// Threads that ran but have no sub-lane (past the most drawn).
    pub more_threads: usize,
}

impl ProcessLane {
    /// Whether the process is still alive (it can be killed from its lane).
    pub fn alive(&self) -> bool {
        self.proc != ProcId::MAIN && self.exit.is_none()
    }

    /// The lane without its shapes (what stays in SVG when the canvas paints them).
    pub fn frame(&self) -> ProcessLane {
        ProcessLane {
            proc: self.proc,
            name: self.name.clone(),
            pid: self.pid,
            top: self.top,
            exit_code: self.exit_code,
            colour: self.colour,
            pending: self.pending,
            running: self.running,
            has_tasks: self.has_tasks,
            exit: self.exit.clone(),
            shapes: Vec::new(),
            threads: self.threads.iter().map(ThreadLane::frame).collect(),
            more_threads: self.more_threads,
        }
    }
}

impl CoreLane {
    /// The lane without its shapes (what stays in SVG when the canvas paints them).
    pub fn frame(&self) -> CoreLane {
        CoreLane {
            core: self.core,
            top: self.top,
            allowed: self.allowed,
            shapes: Vec::new(),
        }
    }
}

impl Scene {
    /// What the SVG draws of the scene: all of it for [`Detail::Every`]; with level of
    /// detail, only the lanes' frames (the canvas paints their shapes).
    pub fn svg_part(&self) -> (Vec<CoreLane>, Vec<ProcessLane>) {
        if self.view.detail == Detail::Every {
            (self.cores.clone(), self.lanes.clone())
        } else {
            (
                self.cores.iter().map(CoreLane::frame).collect(),
                self.lanes.iter().map(ProcessLane::frame).collect(),
            )
        }
    }
}

/// A process's exit: a line at `x` and a label (`exit 0`; `-9` over `SIGKILL`).
#[derive(Clone, Debug, PartialEq)]
pub struct ExitMark {
    /// Where the line is.
    pub x: f64,
    /// The label, without its ✓ or ✗: `exit 0`, or Python's exit code for a signal (`-9`).
    pub label: String,
    /// The signal that ended the process (`SIGKILL`), drawn under the label: one line of
    /// both did not fit right of a mark at the plot's end (in the projector theme).
    pub signal: Option<String>,
    /// Exit code 0.
    pub ok: bool,
}

impl ExitMark {
    /// The label's first line as drawn: ✓ or ✗, then the label.
    pub fn head(&self) -> String {
        format!("{} {}", if self.ok { "✓" } else { "✗" }, self.label)
    }

    /// The whole label in one line (`✗ -9 (SIGKILL)`), as the mark's tooltip.
    pub fn text(&self) -> String {
        match &self.signal {
            Some(signal) => format!("{} ({signal})", self.head()),
            None => self.head(),
        }
    }
}

/// The cores any child of the run may use (all, before a child has started).
pub fn allowed_cores(m: &RunModel) -> Vec<u32> {
    let mut cores: Vec<u32> = m
        .processes
        .iter()
        .flat_map(|p| p.cpus.iter().copied())
        .collect();
    cores.sort_unstable();
    cores.dedup();
    if cores.is_empty() {
        (0..m.cores).collect()
    } else {
        cores
    }
}

/// The scene of `m` at `view`.
pub fn scene(m: &RunModel, view: &View) -> Scene {
    let places = lane_places(m);
    Scene {
        version: (m.next_seq, m.last_t),
        view: *view,
        height: drawing_height(&places),
        ticks: view.axis.ticks(TICK_PX),
        cores: core_lanes(m, view),
        lanes: process_lanes(m, view, &places),
    }
}

fn core_lanes(m: &RunModel, view: &View) -> Vec<CoreLane> {
    let stack = lane_stack(m.cores_sampled());
    let allowed = allowed_cores(m);
    let mut lanes: Vec<CoreLane> = (0..m.cores_sampled())
        .map(|c| CoreLane {
            core: c,
            top: stack.cores.top(c as usize),
            allowed: allowed.contains(&c),
            shapes: Vec::new(),
        })
        .collect();
    // Load from outside the run, up from each lane's bottom, under the run's blocks.
    let mut last = vec![f64::MIN; lanes.len()];
    for b in m.outside() {
        let (Some(lane), Some(edge)) = (
            lanes.get_mut(b.core as usize),
            last.get_mut(b.core as usize),
        ) else {
            continue;
        };
        if let Some((x, w)) = place(view, b.start, b.end, BLOCK_MIN_PX, edge) {
            lane.shapes.push(Shape::Outside {
                rect: Rect {
                    x,
                    y: lane.top + core::PAD + (1.0 - b.share) * core::INNER,
                    w,
                    h: b.share * core::INNER,
                },
                share: b.share,
            });
        }
    }
    // Blocks of one core and interval stack, each as tall as its share of the interval.
    let mut last = vec![(f64::MIN, f64::MIN); lanes.len()];
    for (i, b) in m.core_blocks.iter().enumerate() {
        let (Some(lane), Some((edge, start))) = (
            lanes.get_mut(b.core as usize),
            last.get_mut(b.core as usize),
        ) else {
            continue;
        };
        // A new interval may not hide under the last one drawn; blocks stacked in the same
        // interval always draw.
        let mut seen = if b.start == *start { f64::MIN } else { *edge };
        if let Some((x, w)) = place(view, b.start, b.end, BLOCK_MIN_PX, &mut seen) {
            *edge = seen;
            *start = b.start;
            lane.shapes.push(Shape::Block {
                rect: Rect {
                    x,
                    y: lane.top + core::PAD + b.offset * core::INNER,
                    w,
                    h: (b.share * core::INNER).max(core::MIN_BLOCK_H),
                },
                proc: b.proc,
                block: i,
            });
        }
    }
    lanes
}

fn process_lanes(m: &RunModel, view: &View, lanes_at: &LanePlaces) -> Vec<ProcessLane> {
    let axis = &view.axis;
    let end = m.last_t;
    let mut out = vec![ProcessLane {
        proc: ProcId::MAIN,
        name: m.main_name().into(),
        pid: m.main_pid,
        top: lanes_at.top(0),
        exit_code: None,
        colour: Colour::Process(process_slot(0)),
        pending: None,
        running: Some(span_rect(
            axis,
            lanes_at.top(0),
            0.0,
            end,
            process::RUNNING,
            MAIN_MIN_PX,
        )),
        has_tasks: false,
        exit: None,
        shapes: Vec::new(),
        threads: Vec::new(),
        more_threads: 0,
    }];
    for (i, p) in m.processes.iter().enumerate() {
        let top = lanes_at.top(i + 1);
        let started = p.started.unwrap_or(end.max(p.spawned));
        let stop = p.exited.unwrap_or(end);
        let pending = span_rect(
            axis,
            top,
            p.spawned,
            started.min(stop),
            process::PENDING,
            PENDING_MIN_PX,
        );
        let running = p
            .started
            .map(|s| span_rect(axis, top, s, stop.max(s), process::RUNNING, RUNNING_MIN_PX));
        let exit = p.status.map(|s| ExitMark {
            x: axis.x(stop),
            label: match s {
                shared::ExitStatus::Code { code } => format!("exit {code}"),
                shared::ExitStatus::Signal { signal } => format!("{}", -signal),
            },
            signal: match s {
                shared::ExitStatus::Code { .. } => None,
                shared::ExitStatus::Signal { signal } => Some(shared::signal_name(signal)),
            },
            ok: s.success(),
        });
        let mut shapes = strip(m, p.proc, top, view);
        match view.detail {
            Detail::Every => every_bar(m, p.proc, top, view, &mut shapes),
            Detail::Merged => merged_bars(m, p.proc, top, view, &mut shapes),
        }
        let (threads, more_threads) = thread_lanes(m, p, top, view);
        out.push(ProcessLane {
            proc: p.proc,
            name: p.name.clone(),
            pid: p.pid,
            top,
            exit_code: p.exit_code(),
            colour: Colour::Process(process_slot(p.proc.0)),
            pending: Some(pending),
            running,
            has_tasks: !m.index.of(p.proc).is_empty(),
            exit,
            shapes,
            threads,
            more_threads,
        });
    }
    out
}

/// A span of a process lane (pending, running) at `(top, height)` offsets.
fn span_rect(axis: &TimeAxis, top: f64, start: f64, end: f64, at: (f64, f64), min: f64) -> Rect {
    Rect {
        x: axis.x(start),
        y: top + at.0,
        w: axis.width_of(start, end, min),
        h: at.1,
    }
}

/// The outlines of task `task`'s bars (the selected task), whatever the detail.
pub fn selection(m: &RunModel, axis: &TimeAxis, task: u64) -> Vec<Rect> {
    let lanes = lane_places(m);
    m.tasks
        .iter()
        .filter(|b| b.task == task)
        .filter_map(|b| {
            let lane = m.processes.iter().position(|p| p.proc == b.worker)?;
            Some(task_rect(
                axis,
                lanes.top(lane + 1),
                b.started,
                b.end(m.last_t),
                b.error().is_some(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests;
