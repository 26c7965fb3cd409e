//! The SVG view of the scene: each lane's shapes as real SVG elements with their classes and
//! test ids (the stylesheet colours them from the palette's custom properties), tooltips,
//! clicks on task bars, and the kill button of a live child. With level of detail it is
//! given the lanes without their shapes ([`crate::timeline::scene::Scene::svg_part`]): the
//! canvas paints those; names, spans and exit marks stay here.

use crate::app::AppState;
use crate::layout::{LaneStack, ThreadRows};
use crate::run::RunModel;
use crate::timeline::geometry::{LABEL_W, PLOT_W, RIGHT_PAD, WIDTH, core, process, thread};
use crate::timeline::hit::{
    block_tooltip, outside_tooltip, process_tooltip, task_error, task_tooltip,
};
use crate::timeline::palette::Colour;
use crate::timeline::scene::{CoreLane, ProcessLane};
use crate::timeline::shape::{Shape, Tasks};
use crate::timeline::strips::more_threads;
use leptos::prelude::*;

/// The class that colours a shape of process colour `c` (`proc-3`).
fn process_class(c: Colour) -> String {
    match c {
        Colour::Process(slot) => format!("proc-{slot}"),
        _ => String::new(),
    }
}

/// Clip paths (the plot; the plot and the exit labels right of it) and hatches.
pub(super) fn defs() -> impl IntoView {
    view! {
        <defs>
            <clipPath id="plot">
                <rect x=LABEL_W y=0.0 width=PLOT_W + 2.0 height=100000.0 />
            </clipPath>
            <clipPath id="plot-and-labels">
                <rect x=LABEL_W y=0.0 width=WIDTH - LABEL_W height=100000.0 />
            </clipPath>
            <pattern id="outside-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)">
                <rect width="6" height="6" class="outside-hatch-bg" />
                <line x1="0" y1="0" x2="0" y2="6" class="outside-hatch-line" />
            </pattern>
            <pattern id="not-allowed" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                <rect width="8" height="8" class="not-allowed-bg" />
                <line x1="0" y1="0" x2="0" y2="8" class="not-allowed-hatch" />
            </pattern>
        </defs>
    }
}

/// The inside of a core lane.
pub(super) fn core_body(lane: CoreLane, m: &RunModel) -> impl IntoView + use<> {
    let y = lane.top;
    let c = lane.core;
    let allowed = lane.allowed;
    let blocks = {
        lane.shapes
            .iter()
            .map(|s| {
                let r = s.rect();
                let (class, tip) = match s {
                    Shape::Block { block, .. } => (
                        format!("core-block {}", process_class(s.colour())),
                        block_tooltip(m, *block),
                    ),
                    Shape::Outside { share, .. } => {
                        (s.class().to_string(), outside_tooltip(c, *share))
                    }
                    other => (other.class().to_string(), String::new()),
                };
                view! {
                    <rect class=class x=r.x y=r.y width=r.w height=r.h>
                        <title>{tip}</title>
                    </rect>
                }
            })
            .collect_view()
    };
    view! {
        <text class="lane-name" x=8.0 y=y + core::NAME_Y>{format!("core {c}")}</text>
        <rect class="core-bg" class:not-allowed=!allowed x=LABEL_W y=y width=PLOT_W height=LaneStack::CORE_HEIGHT />
        {(!allowed).then(|| view! {
            <text class="not-allowed-label" x=LABEL_W + core::NOTE_DX y=y + core::NAME_Y>"not allowed for this run"</text>
        })}
        <g clip-path="url(#plot)">{blocks}</g>
    }
}

/// A state strip's parts as rectangles.
fn strip_rects(shapes: &[Shape]) -> impl IntoView + use<> {
    shapes
        .iter()
        .map(|s| {
            let r = s.rect();
            view! { <rect class=s.class() x=r.x y=r.y width=r.w height=r.h /> }
        })
        .collect_view()
}

/// A process lane's thread sub-lanes (names, faint lives and strips), then "+N threads".
fn threads(lane: &ProcessLane) -> impl IntoView + use<> {
    let colour = process_class(lane.colour);
    let rows = lane
        .threads
        .iter()
        .map(|t| {
            view! {
                <g class="thread-lane" data-testid="thread-lane" data-tid=t.tid data-name=t.name.clone()>
                    <title>{t.tooltip()}</title>
                    <text class="thread-name" x=thread::NAME_X y=t.top + thread::NAME_Y>{t.label()}</text>
                    <g clip-path="url(#plot)">
                        {t.life.map(|r| view! {
                            <rect class=format!("thread-life {colour}") x=r.x y=r.y width=r.w height=r.h />
                        })}
                        <g class="state-strip">{strip_rects(&t.shapes)}</g>
                    </g>
                </g>
            }
        })
        .collect_view();
    let more = (lane.more_threads > 0).then(|| {
        let y = ThreadRows::top(lane.top, lane.threads.len()) + thread::NAME_Y;
        view! {
            <text class="thread-more" data-testid="more-threads" data-more=lane.more_threads x=thread::NAME_X y=y>
                {more_threads(lane.more_threads)}
            </text>
        }
    });
    view! { {rows} {more} }
}

/// The inside of a process lane (rebuilt when the lane changes; the lane's element stays).
pub(super) fn lane_body(
    lane: ProcessLane,
    m: &RunModel,
    run: Option<shared::RunId>,
    selected: RwSignal<Option<u64>>,
) -> impl IntoView + use<> {
    let y = lane.top;
    let app = AppState::expect();
    // A live child can be killed from its lane (SIGKILL), to see what the pool does.
    let presenting = app.role.with_untracked(|r| r.may_command());
    let kill = (lane.alive() && presenting).then_some(run).flatten().map(|run| {
        let proc = lane.proc;
        view! {
            <g
                class="kill"
                role="button"
                data-testid="kill"
                data-proc=proc.0
                on:click=move |_| app.kill(run, proc)
            >
                <title>{format!("Kill {} (SIGKILL)", lane.name)}</title>
                <rect x=WIDTH - RIGHT_PAD + 8.0 y=y + process::BAR.0 width=64.0 height=process::BAR.1 rx=4.0 />
                <text x=WIDTH - RIGHT_PAD + 40.0 y=y + 21.0 text-anchor="middle">"☠ kill"</text>
            </g>
        }
    });
    let colour = process_class(lane.colour);
    let strip: Vec<Shape> = lane
        .shapes
        .iter()
        .filter(|s| matches!(s, Shape::Strip { .. }))
        .cloned()
        .collect();
    let bars = lane
        .shapes
        .iter()
        .filter_map(|s| match s {
            Shape::Bar(bar) => Some((s.class(), bar.clone())),
            _ => None,
        })
        .map(|(class, bar)| {
            let r = bar.rect;
            let text = bar
                .label
                .map(|l| view! { <text x=l.x y=l.y>{l.text}</text> });
            match bar.tasks {
                Tasks::One { index, task } => view! {
                    <g
                        class="task"
                        class:failed=bar.failed
                        class:selected=move || selected.get() == Some(task)
                        data-testid="task-bar"
                        data-task=task
                        data-error=task_error(m, index).unwrap_or_default()
                        on:click=move |_| selected.set(Some(task))
                    >
                        <title>{task_tooltip(m, index)}</title>
                        <rect x=r.x y=r.y width=r.w height=r.h rx=2.0 />
                        {text}
                    </g>
                }
                .into_any(),
                Tasks::Many(n) => view! {
                    <g class=class>
                        <title>{format!("{n} tasks: zoom in to see each")}</title>
                        <rect x=r.x y=r.y width=r.w height=r.h rx=2.0 />
                        {text}
                    </g>
                }
                .into_any(),
            }
        })
        .collect_view();
    view! {
        {kill}
        <title>{process_tooltip(m, lane.proc)}</title>
        <text class="lane-name" x=8.0 y=y + process::NAME_Y>{lane.name.clone()}</text>
        <text class="lane-pid" x=8.0 y=y + process::PID_Y>{format!("PID {}", lane.pid)}</text>
        <g clip-path="url(#plot)">
        {lane.pending.map(|r| view! {
            <rect class=format!("bar pending {colour}") x=r.x y=r.y width=r.w height=r.h />
        })}
        {lane.running.map(|r| view! {
            <rect class=format!("bar running {colour}") class:has-tasks=lane.has_tasks x=r.x y=r.y width=r.w height=r.h rx=3.0 />
        })}
        {(!strip.is_empty()).then(|| view! {
            <g class="state-strip" data-testid="state-strip">{strip_rects(&strip)}</g>
        })}
        {bars}
        </g>
        {threads(&lane)}
        {lane.exit.map(|exit| view! {
            <g class="exit" class:failed=!exit.ok data-testid="exit-marker" clip-path="url(#plot-and-labels)">
                <title>{exit.text()}</title>
                <line x1=exit.x x2=exit.x y1=y y2=y + LaneStack::PROCESS_HEIGHT />
                <text x=exit.x + process::EXIT_LABEL.1 y=y + process::EXIT_LABEL.0>
                    {exit.head()}
                    {exit.signal.clone().map(|signal| view! {
                        <tspan class="signal" x=exit.x + process::EXIT_LABEL.1 dy="1em">{signal}</tspan>
                    })}
                </text>
            </g>
        })}
    }
}
