//! The timeline: one time axis, one lane per process (the main process first), each with its
//! spawn, its running span and its exit marked. Geometry comes from [`crate::layout`].

use crate::layout::{Lanes, TimeAxis, format_duration, process_colour};
use crate::model::RunModel;
use leptos::prelude::*;

const WIDTH: f64 = 1200.0;
const LABEL_W: f64 = 200.0;
const RIGHT_PAD: f64 = 90.0;
const LANES: Lanes = Lanes {
    y0: 36.0,
    height: 34.0,
    gap: 10.0,
};

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
}

fn lanes(m: &RunModel, axis: &TimeAxis) -> Vec<LaneView> {
    let end = m.last_t;
    let mut out = vec![LaneView {
        proc: 0,
        name: "MainProcess".into(),
        pid: m.main_pid,
        y: LANES.top(0),
        colour: process_colour(0),
        pending: None,
        running: Some((axis.x(0.0), axis.width_of(0.0, end, 2.0))),
        exit: None,
        exit_code: None,
        tooltip: format!("MainProcess (the procviz server), PID {}", m.main_pid),
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
            y: LANES.top(i + 1),
            colour: process_colour(p.proc.0),
            pending,
            running,
            exit,
            exit_code: p.exit_code(),
            tooltip,
        });
    }
    out
}

/// The timeline panel.
#[component]
pub fn Timeline(run: RwSignal<Option<RunModel>>) -> impl IntoView {
    let axis = Memo::new(move |_| {
        run.with(|r| {
            TimeAxis::fit(
                LABEL_W,
                WIDTH - LABEL_W - RIGHT_PAD,
                r.as_ref().map_or(0.0, |m| m.last_t),
                0.001,
            )
        })
    });
    let rows = move || {
        run.with(|r| {
            r.as_ref()
                .map(|m| lanes(m, &axis.get()))
                .unwrap_or_default()
        })
    };
    let height = move || {
        let n = run.with(|r| r.as_ref().map_or(1, |m| m.processes.len() + 1));
        LANES.y0 + LANES.total(n) + 12.0
    };
    let title = move || run.with(|r| r.as_ref().map(|m| format!("{} — run {}", m.title, m.run.0)));
    view! {
        <section class="panel timeline" aria-label="Timeline">
            <h2>{move || title().unwrap_or_else(|| "Pick a demo to start".into())}</h2>
            <svg
                class="timeline-svg"
                data-testid="timeline"
                viewBox=move || format!("0 0 {WIDTH} {}", height())
                preserveAspectRatio="xMinYMin meet"
                role="img"
                aria-label="Processes over time"
            >
                <g class="axis">
                    <For each=move || axis.get().ticks(110.0) key=|t| t.label.clone() let:tick>
                        <line class="tick" x1=tick.x x2=tick.x y1=22.0 y2=move || height() - 8.0 />
                        <text class="tick-label" x=tick.x y=16.0 text-anchor="middle">{tick.label.clone()}</text>
                    </For>
                </g>
                <For each=rows key=|l| (l.proc, l.exit_code, l.running.map(|r| (r.0 as i64, r.1 as i64))) let:lane>
                    <g
                        class="lane"
                        data-testid="lane"
                        data-proc=lane.proc
                        data-name=lane.name.clone()
                        data-pid=lane.pid
                        data-exit-code=lane.exit_code.map(|c| c.to_string()).unwrap_or_default()
                    >
                        <title>{lane.tooltip.clone()}</title>
                        <text class="lane-name" x=8.0 y=lane.y + 15.0>{lane.name.clone()}</text>
                        <text class="lane-pid" x=8.0 y=lane.y + 30.0>{format!("PID {}", lane.pid)}</text>
                        {lane.pending.map(|(x, w)| view! {
                            <rect class="bar pending" x=x y=lane.y + 12.0 width=w height=10.0 fill=lane.colour />
                        })}
                        {lane.running.map(|(x, w)| view! {
                            <rect class="bar running" x=x y=lane.y + 4.0 width=w height=LANES.height - 8.0 rx=3.0 fill=lane.colour />
                        })}
                        {lane.exit.clone().map(|(x, label, ok)| view! {
                            <g class="exit" class:failed=!ok data-testid="exit-marker">
                                <line x1=x x2=x y1=lane.y y2=lane.y + LANES.height />
                                <text x=x + 5.0 y=lane.y + 22.0>{if ok { "✓ " } else { "✗ " }}{label}</text>
                            </g>
                        })}
                    </g>
                </For>
            </svg>
        </section>
    }
}
