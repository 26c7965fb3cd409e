//! The timeline: one time axis; one lane per core (what ran there, sampled from the kernel);
//! one lane per process (the main process first) with its spawn, its running span, its exit,
//! a strip of its state (running, waiting for a core, sleeping) and, for pool workers, a bar
//! per task (failed tasks marked ✗ with their error). Geometry comes from [`crate::layout`].
//!
//! Demo-sized runs are drawn as SVG (every bar an element). Bigger runs draw their bars and
//! blocks on a canvas under the same coordinates with level of detail
//! ([`crate::layout::lod_rects`]), so 1,000,000 tasks pan as smoothly as ten.

use super::timeline_canvas;
use crate::layout::{LaneStack, Lanes, TimeAxis, format_duration, process_colour, span_at};
use crate::run::{CoreBlock, RunModel};
use leptos::prelude::*;
use shared::ProcId;
use std::sync::Arc;

pub(super) const WIDTH: f64 = 1200.0;
pub(super) const LABEL_W: f64 = 200.0;
pub(super) const RIGHT_PAD: f64 = 90.0;
const CORE_LANE: f64 = LaneStack::CORE_HEIGHT;
/// Above this many task bars (or sampled blocks) the run is drawn on a canvas.
pub const SVG_TASKS: usize = 500;
const SVG_BLOCKS: usize = 3_000;

/// The axis of the plot area showing `span` seconds from `t0`.
pub fn plot_axis(t0: f64, span: f64) -> TimeAxis {
    TimeAxis {
        x0: LABEL_W,
        width: WIDTH - LABEL_W - RIGHT_PAD,
        t0,
        span,
    }
}

/// Whether `m` is drawn on the canvas (too many elements for SVG).
pub fn dense(m: &RunModel) -> bool {
    m.tasks.len() > SVG_TASKS || m.core_blocks.len() + m.state_blocks.len() > SVG_BLOCKS
}

/// Where the process lanes start, below `cores` core lanes.
pub(super) fn process_lanes(cores: u32) -> Lanes {
    LaneStack::new(36.0, cores).processes
}

/// The core lanes.
pub(super) fn core_lane_top(core: u32) -> f64 {
    LaneStack::new(36.0, core + 1).cores.top(core as usize)
}

/// One core's lane: blocks of sampled time, coloured by process.
#[derive(Clone, Debug, PartialEq)]
struct CoreLaneView {
    core: u32,
    y: f64,
    /// Whether the run's processes may run on this core (their affinity).
    allowed: bool,
    /// x, width, colour, offset and height (shares of the lane: the blocks of one interval
    /// stack, each as tall as its share of the interval on the core), tooltip.
    blocks: Vec<(f64, f64, &'static str, f64, f64, String)>,
    /// Load from outside the run: x, width, share (drawn up from the lane's bottom).
    outside: Vec<(f64, f64, f64)>,
}

/// The cores any child of the run may use (all, before a child has started).
pub(super) fn allowed_cores(m: &RunModel) -> Vec<u32> {
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

fn core_lanes(m: &RunModel, axis: &TimeAxis) -> Vec<CoreLaneView> {
    let svg = !dense(m);
    let allowed = allowed_cores(m);
    (0..m.cores_sampled())
        .map(|core| CoreLaneView {
            core,
            y: core_lane_top(core),
            allowed: allowed.contains(&core),
            blocks: m
                .core_blocks
                .iter()
                .filter(|b| svg && b.core == core)
                .map(|b| {
                    (
                        axis.x(b.start),
                        axis.width_of(b.start, b.end, 1.0),
                        process_colour(b.proc.0),
                        b.offset,
                        b.share,
                        format!(
                            "{} on core {core}: {:.0} % of {}",
                            m.name_of(b.proc),
                            b.share * 100.0,
                            format_duration(b.end - b.start)
                        ),
                    )
                })
                .collect(),
            outside: m
                .outside
                .iter()
                .filter(|b| svg && b.core == core)
                .map(|b| (axis.x(b.start), axis.width_of(b.start, b.end, 1.0), b.share))
                .collect(),
        })
        .collect()
}

/// A task bar: x, width, label, error text (if it failed), tooltip, x of its label.
type Bar = (f64, f64, String, Option<String>, String, f64);

/// One lane as drawn.
#[derive(Clone, Debug, PartialEq)]
struct LaneView {
    proc: u32,
    name: String,
    pid: u32,
    y: f64,
    colour: &'static str,
    /// Waiting to start (spawned → started): x, width.
    pending: Option<(f64, f64)>,
    /// Running: x, width.
    running: Option<(f64, f64)>,
    /// Exit marker: x and label; `ok` when the exit code is 0.
    exit: Option<(f64, String, bool)>,
    exit_code: Option<i32>,
    tooltip: String,
    /// Whether the process runs tasks (its running span is then drawn faint, as "idle").
    has_tasks: bool,
    bars: Vec<Bar>,
    /// State strip (SVG only): x, running width, waiting width, interval width.
    strip: Vec<(f64, f64, f64, f64)>,
}

/// The state strip of a process: per sampled interval, the part on a core, then the part
/// waiting for one; the rest it slept.
fn strip_of(m: &RunModel, proc: ProcId, axis: &TimeAxis) -> Vec<(f64, f64, f64, f64)> {
    m.state_blocks
        .iter()
        .filter(|b| b.proc == proc)
        .map(|b| {
            let w = axis.width_of(b.start, b.end, 0.5);
            (axis.x(b.start), w * b.running, w * b.waiting, w)
        })
        .collect()
}

/// The task bars of a worker; failed ones last, so they are drawn on top and stay visible.
fn bars_of(m: &RunModel, proc: shared::ProcId, axis: &TimeAxis) -> Vec<Bar> {
    let mut bars: Vec<Bar> = m
        .tasks
        .iter()
        .filter(|b| b.worker == proc)
        .map(|b| {
            let end = b.end(m.last_t);
            let error = b.error().map(ToString::to_string);
            // A failed task stays visible (and marked) however short it was.
            let min_px = if error.is_some() { 14.0 } else { 3.0 };
            let outcome = match &b.result {
                Some(r) => r.to_string(),
                None => "running".into(),
            };
            (
                axis.x(b.started),
                axis.width_of(b.started, end, min_px),
                b.task.to_string(),
                error,
                format!(
                    "task {} on {} — {} → {}\n{}",
                    b.task,
                    m.name_of(proc),
                    format_duration(b.started),
                    format_duration(end),
                    outcome
                ),
                axis.x(b.started) + 3.0,
            )
        })
        .collect();
    bars.sort_by_key(|b| b.3.is_some());
    // A failed bar is drawn on top, at least 14 px wide: the label of a bar starting under it
    // moves to its right so both stay readable.
    let failed: Vec<(f64, f64)> = bars
        .iter()
        .filter(|b| b.3.is_some())
        .map(|b| (b.0, b.0 + b.1))
        .collect();
    for bar in bars.iter_mut().filter(|b| b.3.is_none()) {
        if let Some(&(_, end)) = failed
            .iter()
            .find(|(x, end)| *x <= bar.0 + 1.0 && bar.0 < *end)
        {
            bar.5 = end + 3.0;
        }
    }
    bars
}

fn lanes(m: &RunModel, axis: &TimeAxis) -> Vec<LaneView> {
    let svg = !dense(m);
    let end = m.last_t;
    let lanes_at = process_lanes(m.cores_sampled());
    let mut out = vec![LaneView {
        proc: 0,
        name: "MainProcess".into(),
        pid: m.main_pid,
        y: lanes_at.top(0),
        colour: process_colour(0),
        pending: None,
        running: Some((axis.x(0.0), axis.width_of(0.0, end, 2.0))),
        exit: None,
        exit_code: None,
        tooltip: format!("MainProcess (the procviz server), PID {}", m.main_pid),
        has_tasks: false,
        bars: Vec::new(),
        strip: Vec::new(),
    }];
    for (i, p) in m.processes.iter().enumerate() {
        let started = p.started.unwrap_or(end.max(p.spawned));
        let stop = p.exited.unwrap_or(end);
        let pending = Some((
            axis.x(p.spawned),
            axis.width_of(p.spawned, started.min(stop), 1.0),
        ));
        let running = p
            .started
            .map(|s| (axis.x(s), axis.width_of(s, stop.max(s), 3.0)));
        let exit = p.status.map(|s| {
            let label = match s {
                shared::ExitStatus::Code { code } => format!("exit {code}"),
                shared::ExitStatus::Signal { signal } => {
                    format!("{} ({})", -signal, shared::signal_name(signal))
                }
            };
            (axis.x(stop), label, s.success())
        });
        let tooltip = format!(
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
        );
        out.push(LaneView {
            proc: p.proc.0,
            name: p.name.clone(),
            pid: p.pid,
            y: lanes_at.top(i + 1),
            colour: process_colour(p.proc.0),
            pending,
            running,
            exit,
            exit_code: p.exit_code(),
            tooltip,
            has_tasks: !m.index.of(p.proc).is_empty(),
            bars: if svg {
                bars_of(m, p.proc, axis)
            } else {
                Vec::new()
            },
            strip: if svg {
                strip_of(m, p.proc, axis)
            } else {
                Vec::new()
            },
        });
    }
    out
}

/// The drawing's coordinates under a pointer at (`client_x`, `client_y`) (page pixels), if
/// the timeline is on the page.
fn svg_point(svg: &web_sys::Element, client_x: i32, client_y: i32) -> Option<(f64, f64)> {
    let rect = svg.get_bounding_client_rect();
    let scale = WIDTH / rect.width();
    (rect.width() > 0.0).then(|| {
        (
            (f64::from(client_x) - rect.left()) * scale,
            (f64::from(client_y) - rect.top()) * scale,
        )
    })
}

fn svg_x(svg: &web_sys::Element, client_x: i32) -> Option<f64> {
    svg_point(svg, client_x, 0).map(|(x, _)| x)
}

/// What the pointer is over.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Hit {
    /// A task bar (index into the run's tasks).
    Task(usize),
    /// A process lane, away from its bars.
    Process(ProcId),
    /// A core lane, and the block under the pointer if any (index into the core blocks).
    Core(u32, Option<usize>),
}

/// Hit-testing: what lies at drawing coordinates (`x`, `y`) on `axis`. Bars within 4 px
/// count, so short tasks can be pointed at.
pub fn hit(m: &RunModel, axis: &TimeAxis, x: f64, y: f64) -> Option<Hit> {
    let cores = m.cores_sampled();
    let t = axis.t_at(x);
    let in_plot = (LABEL_W..=WIDTH - RIGHT_PAD).contains(&x);
    for core in 0..cores {
        let top = core_lane_top(core);
        if (top..top + CORE_LANE).contains(&y) {
            // The blocks of an interval stack: the one whose band is under the pointer, or
            // else the first of the interval.
            let frac = (y - top - 2.0) / (CORE_LANE - 4.0);
            let here: Vec<(usize, &CoreBlock)> = m
                .core_blocks
                .iter()
                .enumerate()
                .filter(|(_, b)| in_plot && b.core == core && b.start <= t && t <= b.end)
                .collect();
            let block = here
                .iter()
                .find(|(_, b)| b.offset <= frac && frac < b.offset + b.share)
                .or(here.first())
                .map(|(i, _)| *i);
            return Some(Hit::Core(core, block));
        }
    }
    let lanes = process_lanes(cores);
    if y < lanes.y0 {
        return None;
    }
    let i = ((y - lanes.y0) / (lanes.height + lanes.gap)).floor() as usize;
    if y > lanes.top(i) + lanes.height {
        return None;
    }
    let proc = match i {
        0 => ProcId::MAIN,
        _ => m.processes.get(i - 1)?.proc,
    };
    if in_plot {
        // Failed bars first: they are drawn on top, at least 14 px wide in SVG (with their ✗)
        // and 3 px on the canvas.
        let px = axis.span / axis.width;
        let min_failed = if dense(m) { 3.0 } else { 14.0 };
        let failed = m.index.failed.iter().copied().find(|&i| {
            let b = &m.tasks[i];
            let end = b.end(m.last_t).max(b.started + min_failed * px);
            b.worker == proc && b.started - 2.0 * px <= t && t <= end
        });
        if let Some(i) = failed {
            return Some(Hit::Task(i));
        }
        let list = m.index.of(proc);
        let span = |k: usize| {
            let b = &m.tasks[list[k]];
            (b.started, b.end(m.last_t))
        };
        let tolerance = 4.0 * px;
        if let Some(k) = span_at(list.len(), span, t, tolerance) {
            return Some(Hit::Task(list[k]));
        }
    }
    Some(Hit::Process(proc))
}

/// The hover panel's title and rows for a hit.
/// (None for a hit that no longer exists: the run changed under a resting pointer.)
fn describe(m: &RunModel, hit: Hit) -> Option<(String, Vec<(&'static str, String)>)> {
    match hit {
        Hit::Task(i) => Some((format!("Task {}", m.tasks.get(i)?.task), m.describe_task(i))),
        Hit::Process(p) => Some((m.name_of(p).to_string(), m.describe_process(p))),
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

/// The inside of a process lane (rebuilt when the lane changes; the lane's element stays).
fn lane_body(
    lane: LaneView,
    run: Option<shared::RunId>,
    selected: RwSignal<Option<u64>>,
) -> impl IntoView {
    let y = lane.y;
    // A live child can be killed from its lane (SIGKILL), to see what the pool does.
    let kill = (lane.proc != 0 && lane.exit.is_none())
        .then_some(run)
        .flatten()
        .map(|run| {
            let proc = shared::ProcId(lane.proc);
            view! {
                <g
                    class="kill"
                    role="button"
                    data-testid="kill"
                    data-proc=lane.proc
                    on:click=move |_| {
                        crate::ws::send(&shared::ClientMessage::KillProcess { run, proc });
                    }
                >
                    <title>{format!("Kill {} (SIGKILL)", lane.name)}</title>
                    <rect x=WIDTH - RIGHT_PAD + 8.0 y=y + 6.0 width=64.0 height=22.0 rx=4.0 />
                    <text x=WIDTH - RIGHT_PAD + 40.0 y=y + 21.0 text-anchor="middle">"☠ kill"</text>
                </g>
            }
        });
    view! {
        {kill}
        <title>{lane.tooltip.clone()}</title>
        <text class="lane-name" x=8.0 y=y + 15.0>{lane.name.clone()}</text>
        <text class="lane-pid" x=8.0 y=y + 30.0>{format!("PID {}", lane.pid)}</text>
        <g clip-path="url(#plot)">
        {lane.pending.map(|(x, w)| view! {
            <rect class="bar pending" x=x y=y + 12.0 width=w height=10.0 fill=lane.colour />
        })}
        {lane.running.map(|(x, w)| view! {
            <rect class="bar running" class:has-tasks=lane.has_tasks x=x y=y + 4.0 width=w height=26.0 rx=3.0 fill=lane.colour />
        })}
        {(!lane.strip.is_empty()).then(|| view! {
            <g class="state-strip" data-testid="state-strip">
                {lane.strip.iter().map(|&(x, run, wait, _)| view! {
                    <rect class="on-cpu" x=x y=y + 29.0 width=run height=5.0 />
                    <rect class="waiting" x=x + run y=y + 29.0 width=wait height=5.0 />
                }).collect_view()}
            </g>
        })}
        {lane.bars.into_iter().map(|(x, w, label, error, tip, label_x)| {
            let failed = error.is_some();
            let shown = match (failed, w < 30.0) {
                (true, true) => "✗".to_string(),
                (true, false) => format!("✗ {label}"),
                (false, _) => label.clone(),
            };
            let task: Option<u64> = label.parse().ok();
            view! {
                <g
                    class="task"
                    class:failed=failed
                    class:selected=move || task.is_some() && selected.get() == task
                    data-testid="task-bar"
                    data-task=label
                    data-error=error.unwrap_or_default()
                    on:click=move |_| selected.set(task)
                >
                    <title>{tip}</title>
                    <rect x=x y=y + 6.0 width=w height=22.0 rx=2.0 />
                    <text x=label_x y=y + 22.0>{shown}</text>
                </g>
            }
        }).collect_view()}
        </g>
        {lane.exit.map(|(x, label, ok)| view! {
            <g class="exit" class:failed=!ok data-testid="exit-marker" clip-path="url(#plot-and-labels)">
                <line x1=x x2=x y1=y y2=y + 34.0 />
                <text x=x + 5.0 y=y + 22.0>{if ok { "✓ " } else { "✗ " }}{label}</text>
            </g>
        })}
    }
}

/// The inside of a core lane.
fn core_body(lane: CoreLaneView) -> impl IntoView {
    let y = lane.y;
    let allowed = lane.allowed;
    view! {
        <text class="lane-name" x=8.0 y=y + 17.0>{format!("core {}", lane.core)}</text>
        <rect class="core-bg" class:not-allowed=!allowed x=LABEL_W y=y width=WIDTH - LABEL_W - RIGHT_PAD height=CORE_LANE />
        {(!allowed).then(|| view! {
            <text class="not-allowed-label" x=LABEL_W + 10.0 y=y + 17.0>"not allowed for this run"</text>
        })}
        <g clip-path="url(#plot)">
        {lane.outside.into_iter().map(|(x, w, share)| view! {
            <rect
                class="outside-load"
                x=x
                y=y + 2.0 + (1.0 - share) * (CORE_LANE - 4.0)
                width=w
                height=share * (CORE_LANE - 4.0)
            >
                <title>{format!("core {}: {:.0} % busy with work outside this run", lane.core, share * 100.0)}</title>
            </rect>
        }).collect_view()}
        {lane.blocks.into_iter().map(|(x, w, colour, offset, share, tip)| view! {
            <rect
                class="core-block"
                x=x
                y=y + 2.0 + offset * (CORE_LANE - 4.0)
                width=w
                height=(share * (CORE_LANE - 4.0)).max(1.5)
                fill=colour
            >
                <title>{tip}</title>
            </rect>
        }).collect_view()}
        </g>
    }
}

/// The timeline panel.
#[component]
pub fn Timeline(
    run: Signal<Option<Arc<RunModel>>>,
    selected: RwSignal<Option<u64>>,
    /// The run still in progress (kill buttons), as opposed to a replay of it.
    live: Signal<Option<shared::RunId>>,
    /// A time span to show at least (compare mode: two runs on the same scale), seconds.
    #[prop(optional, into)]
    span: Option<Signal<f64>>,
) -> impl IntoView {
    let svg_ref: NodeRef<leptos::svg::Svg> = NodeRef::new();
    let svg_el = move || svg_ref.get_untracked().map(web_sys::Element::from);
    // Zoom and pan: the wheel zooms around the pointer, shift+wheel or a drag pans, keys
    // + − ← → 0.
    let zoom: RwSignal<Option<TimeAxis>> = RwSignal::new(None);
    let fitted = Memo::new(move |_| {
        run.with(|r| {
            TimeAxis::fit(
                LABEL_W,
                WIDTH - LABEL_W - RIGHT_PAD,
                r.as_ref()
                    .map_or(0.0, |m| m.last_t)
                    .max(span.map_or(0.0, |s| s.get())),
                0.001,
            )
        })
    });
    let axis = Memo::new(move |_| zoom.get().unwrap_or_else(|| fitted.get()));
    let limit = move || {
        let f = fitted.get_untracked();
        f.t0 + f.span
    };
    let on_wheel = move |ev: web_sys::WheelEvent| {
        ev.prevent_default();
        let a = axis.get_untracked();
        let Some(x) = svg_el().and_then(|svg| svg_x(&svg, ev.client_x())) else {
            return;
        };
        let next = if ev.shift_key() {
            a.panned(ev.delta_y().signum() * a.span * 0.1, limit())
        } else {
            let factor = if ev.delta_y() < 0.0 { 1.25 } else { 0.8 };
            a.zoomed(a.t_at(x), factor, limit())
        };
        zoom.set(Some(next));
    };
    let on_key = move |ev: web_sys::KeyboardEvent| {
        let a = axis.get_untracked();
        let middle = a.t0 + a.span / 2.0;
        let next = match ev.key().as_str() {
            "+" | "=" => Some(a.zoomed(middle, 1.25, limit())),
            "-" | "_" => Some(a.zoomed(middle, 0.8, limit())),
            "ArrowLeft" => Some(a.panned(-a.span * 0.1, limit())),
            "ArrowRight" => Some(a.panned(a.span * 0.1, limit())),
            "0" => None,
            _ => return,
        };
        ev.prevent_default();
        zoom.set(next);
    };
    let rows = Memo::new(move |_| {
        run.with(|r| {
            r.as_ref()
                .map(|m| lanes(m, &axis.get()))
                .unwrap_or_default()
        })
    });
    let cores = Memo::new(move |_| {
        run.with(|r| {
            r.as_ref()
                .map(|m| core_lanes(m, &axis.get()))
                .unwrap_or_default()
        })
    });
    let on_canvas = Memo::new(move |_| run.with(|r| r.as_ref().is_some_and(|m| dense(m))));
    let lane = move |proc: u32| rows.with(|ls| ls.iter().find(|l| l.proc == proc).cloned());
    let live_run = move || live.get();
    let core_lane = move |core: u32| cores.with(|cs| cs.iter().find(|c| c.core == core).cloned());
    let height = move || {
        run.with(|r| {
            let (n, cores) = r
                .as_ref()
                .map_or((1, 0), |m| (m.processes.len() + 1, m.cores_sampled()));
            let lanes = process_lanes(cores);
            lanes.y0 + lanes.total(n) + 12.0
        })
    };
    let title = move || run.with(|r| r.as_ref().map(|m| format!("{} — run {}", m.title, m.run.0)));
    // The scrub cursor: press or drag along the time axis to see the run at that moment.
    let cursor: RwSignal<Option<f64>> = RwSignal::new(None);
    let scrub = move |ev: web_sys::PointerEvent| {
        if ev.type_() == "pointermove" && ev.buttons() == 0 {
            return;
        }
        let Some(x) = svg_el().and_then(|svg| svg_x(&svg, ev.client_x())) else {
            return;
        };
        cursor.set(Some(axis.get_untracked().t_at(x)));
    };
    let state = move || {
        let t = cursor.get()?;
        run.with(|r| r.as_ref().map(|m| m.state_at(t)))
    };
    // Hover panel, drag-to-pan and clicks on canvas-drawn bars.
    let hovered: RwSignal<Option<Hit>> = RwSignal::new(None);
    let drag: RwSignal<Option<(f64, TimeAxis, bool)>> = RwSignal::new(None);
    let hit_at = move |ev: &web_sys::PointerEvent| {
        let (x, y) = svg_point(&svg_el()?, ev.client_x(), ev.client_y())?;
        run.with_untracked(|r| r.as_ref().and_then(|m| hit(m, &axis.get_untracked(), x, y)))
    };
    let on_down = move |ev: web_sys::PointerEvent| {
        let Some((x, y)) = svg_el().and_then(|svg| svg_point(&svg, ev.client_x(), ev.client_y()))
        else {
            return;
        };
        if ev.button() == 0 && y > 30.0 && x > LABEL_W && x < WIDTH - RIGHT_PAD {
            drag.set(Some((x, axis.get_untracked(), false)));
        }
    };
    let on_move = move |ev: web_sys::PointerEvent| {
        if let Some((x0, start, _)) = drag.get_untracked() {
            if ev.buttons() & 1 == 1 {
                let Some(x) = svg_el().and_then(|svg| svg_x(&svg, ev.client_x())) else {
                    return;
                };
                if (x - x0).abs() > 3.0 {
                    let dt = (x0 - x) * start.span / start.width;
                    zoom.set(Some(start.panned(dt, limit())));
                    drag.set(Some((x0, start, true)));
                }
                return;
            }
            drag.set(None);
        }
        hovered.set(hit_at(&ev));
    };
    let on_up = move |ev: web_sys::PointerEvent| {
        let dragged = drag.get_untracked().is_some_and(|d| d.2);
        drag.set(None);
        if dragged || !on_canvas.get_untracked() {
            return;
        }
        // Bars on the canvas have no element of their own: a click selects the one under
        // the pointer (SVG bars handle their own clicks).
        if let Some(Hit::Task(i)) = hit_at(&ev) {
            let task =
                run.with_untracked(|r| r.as_ref().and_then(|m| m.tasks.get(i)).map(|b| b.task));
            selected.set(task);
        }
    };
    let hover_panel = move || {
        let h = hovered.get()?;
        let (title, rows) = run.with(|r| r.as_ref().and_then(|m| describe(m, h)))?;
        Some(view! {
            <div class="hover-panel" data-testid="hover">
                <strong>{title}</strong>
                <dl>
                    {rows.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                </dl>
            </div>
        })
    };
    let canvas: NodeRef<leptos::html::Canvas> = NodeRef::new();
    Effect::new(move |_| {
        let a = axis.get();
        let sel = selected.get();
        let dense_now = on_canvas.get();
        let (Some(el), Some(svg)) = (canvas.get(), svg_ref.get()) else {
            return;
        };
        run.with(|r| match r.as_ref() {
            Some(m) if dense_now => timeline_canvas::draw(&el, &svg, m, &a, sel),
            _ => timeline_canvas::clear(&el),
        });
    });
    view! {
        <section
            class="panel timeline"
            aria-label="Timeline (wheel: zoom, drag or shift+wheel: pan, keys + − ← → 0)"
            tabindex="0"
            on:keydown=on_key
            data-render=move || if on_canvas.get() { "canvas" } else { "svg" }
        >
            <h2>{move || title().unwrap_or_else(|| "Pick a demo to start".into())}</h2>
            <div class="plot" class:dragging=move || drag.with(|d| d.is_some_and(|d| d.2))>
            <svg
                class="timeline-svg"
                node_ref=svg_ref
                data-testid="timeline"
                data-t0=move || axis.get().t0
                data-span=move || axis.get().span
                viewBox=move || format!("0 0 {WIDTH} {}", height())
                preserveAspectRatio="xMinYMin meet"
                on:wheel=on_wheel
                on:pointerdown=on_down
                on:pointermove=on_move
                on:pointerup=on_up
                on:pointerleave=move |_| hovered.set(None)
                role="img"
                aria-label="Processes over time"
            >
                <defs>
                    <clipPath id="plot">
                        <rect x=LABEL_W y=0.0 width=WIDTH - LABEL_W - RIGHT_PAD + 2.0 height=100000.0 />
                    </clipPath>
                    <clipPath id="plot-and-labels">
                        <rect x=LABEL_W y=0.0 width=WIDTH - LABEL_W height=100000.0 />
                    </clipPath>
                    <pattern id="outside-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)">
                        <rect width="6" height="6" fill="#7f7f7f" fill-opacity="0.25" />
                        <line x1="0" y1="0" x2="0" y2="6" stroke="#7f7f7f" stroke-width="2.5" />
                    </pattern>
                    <pattern id="not-allowed" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                        <rect width="8" height="8" class="not-allowed-bg" />
                        <line x1="0" y1="0" x2="0" y2="8" class="not-allowed-hatch" />
                    </pattern>
                </defs>
                <rect
                    class="scrub"
                    data-testid="scrub"
                    x=LABEL_W
                    y=0.0
                    width=WIDTH - LABEL_W - RIGHT_PAD
                    height=30.0
                    on:pointerdown=scrub
                    on:pointermove=scrub
                >
                    <title>"Press or drag here to see the run at that moment"</title>
                </rect>
                <g class="axis">
                    <For each=move || axis.get().ticks(110.0) key=|t| (t.label.clone(), t.x.round() as i64) let:tick>
                        <line class="tick" x1=tick.x x2=tick.x y1=22.0 y2=move || height() - 8.0 />
                        <text class="tick-label" x=tick.x y=16.0 text-anchor="middle">{tick.label.clone()}</text>
                    </For>
                </g>
                <For each=move || cores.with(|cs| cs.iter().map(|c| c.core).collect::<Vec<_>>()) key=|c| *c let:core>
                    <g class="core-lane" data-testid="core-lane" data-core=core data-allowed=move || core_lane(core).is_none_or(|c| c.allowed).to_string()>
                        {move || core_lane(core).map(core_body)}
                    </g>
                </For>
                <For
                    each=move || rows.with(|ls| ls.iter().map(|l| (l.proc, l.name.clone(), l.pid)).collect::<Vec<_>>())
                    key=|k| k.0
                    let:key
                >
                    <g
                        class="lane"
                        data-testid="lane"
                        data-proc=key.0
                        data-name=key.1.clone()
                        data-pid=key.2
                        data-exit-code=move || lane(key.0).and_then(|l| l.exit_code).map(|c| c.to_string()).unwrap_or_default()
                    >
                        {move || lane(key.0).map(|l| lane_body(l, live_run(), selected))}
                    </g>
                </For>
                {move || cursor.get().map(|t| {
                    let x = axis.get().x(t);
                    view! { <line class="cursor" x1=x x2=x y1=0.0 y2=height() /> }
                })}
            </svg>
            <canvas class="timeline-canvas" data-testid="timeline-canvas" node_ref=canvas aria-hidden="true"></canvas>
            {hover_panel}
            </div>
            <p class="legend">
                <span class="key stacked"></span>"core lane: each process's share, stacked "
                <span class="key on-cpu"></span>"on a core "
                <span class="key waiting"></span>"waiting for a core "
                <span class="key asleep"></span>"sleeping "
                <span class="key task"></span>"task "
                <span class="key failed">"✗"</span>"failed task "
                <span class="key many"></span>"many tasks (zoom in) "
                <span class="key not-allowed"></span>"core not allowed "
                <span class="key outside"></span>"load from outside the run"
            </p>
            <p class="cursor-state" data-testid="cursor-state" data-running=move || state().map(|s| s.running.len()).unwrap_or(0)>
                {move || state().map(|s| s.describe()).unwrap_or_else(|| "Press or drag along the time axis to see the run at any moment; drag the plot to pan, wheel to zoom.".into())}
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{Event, EventKind, RunId, RunTime};

    /// One core; Process-1 and Process-2 share it half and half over 0–20 ms; Process-1 runs
    /// task 7 from 0 to 10 ms.
    fn model() -> RunModel {
        let mut m = RunModel::new(RunId(1));
        m.cores = 1;
        let kinds = [
            EventKind::ProcessSpawned {
                proc: ProcId(1),
                pid: 11,
                name: "Process-1".into(),
                parent: ProcId::MAIN,
            },
            EventKind::ProcessSpawned {
                proc: ProcId(2),
                pid: 12,
                name: "Process-2".into(),
                parent: ProcId::MAIN,
            },
            EventKind::TaskStarted {
                task: 7,
                worker: ProcId(1),
            },
        ];
        for (seq, kind) in kinds.into_iter().enumerate() {
            m.apply(&Event {
                run: RunId(1),
                seq: seq as u64,
                t: RunTime::ZERO,
                kind,
            });
        }
        m.apply(&Event {
            run: RunId(1),
            seq: 3,
            t: RunTime::from_millis(10),
            kind: EventKind::TaskFinished {
                task: 7,
                worker: ProcId(1),
                result: shared::TaskResult::Value { value: 7 },
            },
        });
        for (seq, proc) in [(4, 1), (5, 2)] {
            m.apply(&Event {
                run: RunId(1),
                seq,
                t: RunTime::from_millis(20),
                kind: EventKind::ThreadSegment {
                    proc: ProcId(proc),
                    tid: proc,
                    core: Some(0),
                    start: RunTime::ZERO,
                    on_cpu_ns: 10_000_000,
                    waiting_ns: 10_000_000,
                    slices: 5,
                },
            });
        }
        m
    }

    #[test]
    fn the_pointer_finds_the_stacked_band_and_the_task_under_it() {
        let m = model();
        let axis = plot_axis(0.0, 0.04);
        let x = axis.x(0.005);
        let top = core_lane_top(0);
        assert_eq!(hit(&m, &axis, x, top + 4.0), Some(Hit::Core(0, Some(0))));
        assert_eq!(
            hit(&m, &axis, x, top + CORE_LANE - 4.0),
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
}
