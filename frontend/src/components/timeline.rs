//! The timeline: one time axis; one lane per core (what ran there, sampled from the kernel);
//! one lane per process (the main process first) with its spawn, its running span, its exit
//! and, for pool workers, a bar per task (failed tasks marked ✗ with their error). Geometry
//! comes from [`crate::layout`].

use crate::layout::{LaneStack, Lanes, TimeAxis, format_duration, process_colour};
use crate::model::RunModel;
use leptos::prelude::*;

const WIDTH: f64 = 1200.0;
const LABEL_W: f64 = 200.0;
const RIGHT_PAD: f64 = 90.0;
const CORE_LANE: f64 = LaneStack::CORE_HEIGHT;

/// Where the process lanes start, below `cores` core lanes.
fn process_lanes(cores: u32) -> Lanes {
    LaneStack::new(36.0, cores).processes
}

/// The core lanes.
fn core_lane_top(core: u32) -> f64 {
    LaneStack::new(36.0, core + 1).cores.top(core as usize)
}

/// One core's lane: blocks of sampled time, coloured by process.
#[derive(Clone, Debug, PartialEq)]
struct CoreLaneView {
    core: u32,
    y: f64,
    /// x, width, colour, opacity (the share of the interval on the core), tooltip.
    blocks: Vec<(f64, f64, &'static str, f64, String)>,
}

fn core_lanes(m: &RunModel, axis: &TimeAxis) -> Vec<CoreLaneView> {
    (0..m.cores_sampled())
        .map(|core| CoreLaneView {
            core,
            y: core_lane_top(core),
            blocks: m
                .core_blocks
                .iter()
                .filter(|b| b.core == core)
                .map(|b| {
                    (
                        axis.x(b.start),
                        axis.width_of(b.start, b.end, 1.0),
                        process_colour(b.proc.0),
                        0.25 + 0.75 * b.share,
                        format!(
                            "{} on core {core}: {:.0} % of {}",
                            m.name_of(b.proc),
                            b.share * 100.0,
                            format_duration(b.end - b.start)
                        ),
                    )
                })
                .collect(),
        })
        .collect()
}

/// A task bar: x, width, label, error text (if it failed), tooltip.
type Bar = (f64, f64, String, Option<String>, String);

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
    bars: Vec<Bar>,
}

/// The task bars of a worker; failed ones last, so they are drawn on top and stay visible.
fn bars_of(m: &RunModel, proc: shared::ProcId, axis: &TimeAxis) -> Vec<Bar> {
    let mut bars: Vec<Bar> = m
        .tasks
        .iter()
        .filter(|b| b.worker == proc)
        .map(|b| {
            let end = b.finished.unwrap_or(m.last_t);
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
            )
        })
        .collect();
    bars.sort_by_key(|b| b.3.is_some());
    bars
}

fn lanes(m: &RunModel, axis: &TimeAxis) -> Vec<LaneView> {
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
        bars: Vec::new(),
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
            bars: bars_of(m, p.proc, axis),
        });
    }
    out
}

/// The drawing's x coordinate under a pointer at `client_x` (page pixels), if the timeline
/// is on the page.
fn svg_x(client_x: i32) -> Option<f64> {
    let svg = document().query_selector("[data-testid=timeline]").ok()??;
    let rect = svg.get_bounding_client_rect();
    (rect.width() > 0.0).then(|| (f64::from(client_x) - rect.left()) * WIDTH / rect.width())
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
            <rect class="bar running" class:has-tasks=!lane.bars.is_empty() x=x y=y + 4.0 width=w height=26.0 rx=3.0 fill=lane.colour />
        })}
        {lane.bars.into_iter().map(|(x, w, label, error, tip)| {
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
                    <text x=x + 3.0 y=y + 22.0>{shown}</text>
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
    view! {
        <text class="lane-name" x=8.0 y=y + 17.0>{format!("core {}", lane.core)}</text>
        <rect class="core-bg" x=LABEL_W y=y width=WIDTH - LABEL_W - RIGHT_PAD height=CORE_LANE />
        <g clip-path="url(#plot)">
        {lane.blocks.into_iter().map(|(x, w, colour, opacity, tip)| view! {
            <rect class="core-block" x=x y=y + 2.0 width=w height=CORE_LANE - 4.0 fill=colour fill-opacity=opacity>
                <title>{tip}</title>
            </rect>
        }).collect_view()}
        </g>
    }
}

/// The timeline panel.
#[component]
pub fn Timeline(
    run: Signal<Option<RunModel>>,
    selected: RwSignal<Option<u64>>,
    /// The run still in progress (kill buttons), as opposed to a replay of it.
    live: Signal<Option<shared::RunId>>,
) -> impl IntoView {
    // Zoom and pan: the wheel zooms around the pointer, shift+wheel pans, keys + − ← → 0.
    let zoom: RwSignal<Option<TimeAxis>> = RwSignal::new(None);
    let fitted = Memo::new(move |_| {
        run.with(|r| {
            TimeAxis::fit(
                LABEL_W,
                WIDTH - LABEL_W - RIGHT_PAD,
                r.as_ref().map_or(0.0, |m| m.last_t),
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
        let Some(x) = svg_x(ev.client_x()) else {
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
        let Some(x) = svg_x(ev.client_x()) else {
            return;
        };
        cursor.set(Some(axis.get_untracked().t_at(x)));
    };
    let state = move || {
        let t = cursor.get()?;
        run.with(|r| r.as_ref().map(|m| m.state_at(t)))
    };
    view! {
        <section
            class="panel timeline"
            aria-label="Timeline (wheel: zoom, shift+wheel: pan, keys + − ← → 0)"
            tabindex="0"
            on:keydown=on_key
        >
            <h2>{move || title().unwrap_or_else(|| "Pick a demo to start".into())}</h2>
            <svg
                class="timeline-svg"
                data-testid="timeline"
                viewBox=move || format!("0 0 {WIDTH} {}", height())
                preserveAspectRatio="xMinYMin meet"
                on:wheel=on_wheel
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
                    <g class="core-lane" data-testid="core-lane" data-core=core>
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
            <p class="cursor-state" data-testid="cursor-state" data-running=move || state().map(|s| s.running.len()).unwrap_or(0)>
                {move || state().map(|s| s.describe()).unwrap_or_else(|| "Press or drag along the time axis to see the run at any moment.".into())}
            </p>
        </section>
    }
}
