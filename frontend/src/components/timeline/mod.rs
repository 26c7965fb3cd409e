//! The timeline panel: one time axis; one lane per core (what ran there, sampled from the
//! kernel); one lane per process (the main process first) with its spawn, its running span,
//! its exit, a strip of its state (running, waiting for a core, sleeping), for pool
//! workers a bar per task (failed tasks marked ✗ with their error), and for a process with
//! two or more threads that ran a thin sub-lane per thread with that thread's own strip.
//!
//! What is drawn is the run's [`Scene`] at the current view, computed once per redraw by
//! [`crate::timeline`]; this component only holds the view (zoom, pan, scrub cursor, hover)
//! and hands the scene to its painters: [`svg`] draws demo-size runs as SVG elements; with
//! level of detail (more than 500 tasks or 3,000 sampled blocks, or `?render=canvas`) the
//! lanes' shapes go to [`canvas`], under the same coordinates, and the SVG keeps the axis,
//! names, spans, exit marks and buttons. Hovering uses the one hit-test rule
//! ([`crate::timeline::hit`]) whichever paints.

mod canvas;
mod svg;

use crate::app::{AppState, Theme};
use crate::layout::TimeAxis;
use crate::run::RunModel;
use crate::timeline::geometry::{
    AXIS_H, LABEL_W, PLOT_END, PLOT_W, TICK_BOTTOM_PAD, TICK_LABEL_Y, TICK_PX, TICK_TOP, WIDTH,
    fitted_axis, height, meet_scale, plot_axis,
};
use crate::timeline::hit::{Hit, describe, hit};
use crate::timeline::palette::Palette;
use crate::timeline::scene::{Scene, scene, selection};
use crate::timeline::shape::{Detail, View};
use leptos::prelude::*;
use std::sync::Arc;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// The page's theme, from the app's state (tracked where it is read inside a memo or an
/// effect: a theme switch redraws the timeline, canvas included).
fn theme() -> Theme {
    use_context::<AppState>().map_or_else(
        || Theme::from_url().unwrap_or_default(),
        |app| app.theme.get(),
    )
}

/// Whether the page is in the projector theme (bigger labels).
fn projector() -> bool {
    theme() == Theme::Projector
}

/// Pixels per character of a task label in the current theme.
fn label_px() -> f64 {
    if projector() { 12.0 } else { 9.0 }
}

/// The page's palette: the timeline's colours as the current theme sets them.
pub fn page_palette() -> Palette {
    let style = document()
        .document_element()
        .and_then(|root| window().get_computed_style(&root).ok().flatten());
    Palette::read(|name| {
        style
            .as_ref()
            .and_then(|s| s.get_property_value(name).ok())
            .unwrap_or_default()
    })
}

/// Whether the URL asks for the canvas whatever the run's size (`?render=canvas`: to see a
/// demo-size run drawn the way big runs are).
fn canvas_forced() -> bool {
    window()
        .location()
        .search()
        .ok()
        .and_then(|q| web_sys::UrlSearchParams::new_with_str(&q).ok())
        .and_then(|q| q.get("render"))
        .is_some_and(|r| r == "canvas")
}

/// The view of `m` the main timeline shows (its zoom and detail), for the export.
pub fn shown_view(m: &RunModel) -> View {
    let el = document()
        .query_selector("[data-testid=timeline]")
        .ok()
        .flatten();
    let attr = |name: &str| {
        el.as_ref()
            .and_then(|e| e.get_attribute(name))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let axis = match (attr("data-t0"), attr("data-span")) {
        (Some(t0), Some(span)) => plot_axis(t0, span),
        _ => fitted_axis(m.last_t),
    };
    View {
        axis,
        detail: detail_of(m),
        label_px: label_px(),
    }
}

/// The detail `m` is drawn with on this page.
fn detail_of(m: &RunModel) -> Detail {
    if canvas_forced() {
        Detail::Merged
    } else {
        Detail::of(m)
    }
}

/// The coordinates in a drawing `drawing_h` high under a pointer at (`client_x`, `client_y`)
/// (page pixels), if the timeline is on the page.
fn svg_point(
    svg: &web_sys::Element,
    drawing_h: f64,
    client_x: i32,
    client_y: i32,
) -> Option<(f64, f64)> {
    let rect = svg.get_bounding_client_rect();
    let scale = meet_scale(rect.width(), rect.height(), drawing_h);
    (scale > 0.0).then(|| {
        (
            (f64::from(client_x) - rect.left()) / scale,
            (f64::from(client_y) - rect.top()) / scale,
        )
    })
}

/// The size (width, height) of the SVG of `svg_ref` on the page (page pixels), kept by a
/// resize observer: known after the browser's layout, without asking for one (a redraw that
/// asked would make the browser lay out the page in the middle of it). The observer reports
/// a change before the frame is painted. `None` until the SVG has been laid out.
fn svg_size(svg_ref: NodeRef<leptos::svg::Svg>) -> ReadSignal<Option<(f64, f64)>> {
    let (size, set_size) = signal(None::<(f64, f64)>);
    let on_resize = Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
        // One element is observed: the latest entry is its size.
        let last = entries.at(-1).dyn_into::<web_sys::ResizeObserverEntry>();
        if let Ok(entry) = last {
            let rect = entry.content_rect();
            let now = Some((rect.width(), rect.height()));
            if size.get_untracked() != now {
                set_size.set(now);
            }
        }
    });
    let Ok(observer) = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()) else {
        return size;
    };
    let kept = StoredValue::new_local(Some((observer, on_resize)));
    Effect::new(move |_| {
        if let Some(svg) = svg_ref.get() {
            kept.with_value(|k| {
                if let Some((observer, _)) = k {
                    observer.observe(&svg);
                }
            });
        }
    });
    on_cleanup(move || {
        kept.update_value(|k| {
            if let Some((observer, _)) = k.take() {
                observer.disconnect();
            }
        })
    });
    size
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
    let forced = canvas_forced();
    // Zoom and pan: the wheel zooms around the pointer, shift+wheel or a drag pans, keys
    // + − ← → 0.
    let zoom: RwSignal<Option<TimeAxis>> = RwSignal::new(None);
    let fitted = Memo::new(move |_| {
        run.with(|r| {
            fitted_axis(
                r.as_ref()
                    .map_or(0.0, |m| m.last_t)
                    .max(span.map_or(0.0, |s| s.get())),
            )
        })
    });
    let axis = Memo::new(move |_| zoom.get().unwrap_or_else(|| fitted.get()));
    let limit = move || {
        let f = fitted.get_untracked();
        f.t0 + f.span
    };
    // The one scene, painted by the SVG and (with level of detail) the canvas.
    let drawn: Memo<Option<Scene>> = Memo::new(move |_| {
        let a = axis.get();
        run.with(|r| {
            r.as_ref().map(|m| {
                let detail = if forced {
                    Detail::Merged
                } else {
                    Detail::of(m)
                };
                let view = View {
                    axis: a,
                    detail,
                    label_px: label_px(),
                };
                scene(m, &view)
            })
        })
    });
    // A memo: the drawing's size changes with its lanes, not with a pan or a zoom.
    let drawing_height =
        Memo::new(move |_| drawn.with(|s| s.as_ref().map_or_else(|| height(0, 1), |s| s.height)));
    // The drawing's coordinates under the pointer at page pixels (x, y).
    let pointer_at = move |x: i32, y: i32| {
        svg_el().and_then(|svg| svg_point(&svg, drawing_height.get_untracked(), x, y))
    };
    let pointer_x = move |x: i32| pointer_at(x, 0).map(|(x, _)| x);
    let on_canvas = Memo::new(move |_| {
        drawn.with(|s| s.as_ref().is_some_and(|s| s.view.detail == Detail::Merged))
    });
    // What the SVG paints (with level of detail, the lanes without their shapes: a pan of a
    // big run then leaves the core lanes' elements alone).
    let svg_part = Memo::new(move |_| drawn.with(|s| s.as_ref().map(Scene::svg_part)));
    let on_wheel = move |ev: web_sys::WheelEvent| {
        ev.prevent_default();
        let a = axis.get_untracked();
        let Some(x) = pointer_x(ev.client_x()) else {
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
    let live_run = move || live.get();
    let lane_ids = move || {
        svg_part.with(|s| {
            s.as_ref().map_or_else(Vec::new, |(_, lanes)| {
                lanes
                    .iter()
                    .map(|l| (l.proc.0, l.name.clone(), l.pid))
                    .collect::<Vec<_>>()
            })
        })
    };
    let core_ids = move || {
        svg_part.with(|s| {
            s.as_ref().map_or_else(Vec::new, |(cores, _)| {
                cores.iter().map(|c| c.core).collect()
            })
        })
    };
    let lane = move |proc: u32| {
        svg_part.with(|s| {
            s.as_ref()
                .and_then(|(_, lanes)| lanes.iter().find(|l| l.proc.0 == proc).cloned())
        })
    };
    let core_lane = move |core: u32| {
        svg_part.with(|s| {
            s.as_ref()
                .and_then(|(cores, _)| cores.iter().find(|c| c.core == core).cloned())
        })
    };
    let lane_view = move |proc: u32| {
        let l = lane(proc)?;
        let live = live_run();
        run.with_untracked(|r| r.as_ref().map(|m| svg::lane_body(l, m, live, selected)))
    };
    let core_view = move |core: u32| {
        let c = core_lane(core)?;
        run.with_untracked(|r| r.as_ref().map(|m| svg::core_body(c, m)))
    };
    let ticks = move || {
        drawn.with(|s| {
            s.as_ref()
                .map_or_else(|| axis.get().ticks(TICK_PX), |s| s.ticks.clone())
        })
    };
    let height = move || drawing_height.get();
    let title = move || run.with(|r| r.as_ref().map(|m| format!("{} — run {}", m.title, m.run.0)));
    // The scrub cursor: press or drag along the time axis to see the run at that moment.
    let cursor: RwSignal<Option<f64>> = RwSignal::new(None);
    let scrub = move |ev: web_sys::PointerEvent| {
        if ev.type_() == "pointermove" && ev.buttons() == 0 {
            return;
        }
        let Some(x) = pointer_x(ev.client_x()) else {
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
        let (x, y) = pointer_at(ev.client_x(), ev.client_y())?;
        run.with_untracked(|r| r.as_ref().and_then(|m| hit(m, &axis.get_untracked(), x, y)))
    };
    let on_down = move |ev: web_sys::PointerEvent| {
        let Some((x, y)) = pointer_at(ev.client_x(), ev.client_y()) else {
            return;
        };
        if ev.button() == 0 && y > AXIS_H && x > LABEL_W && x < PLOT_END {
            drag.set(Some((x, axis.get_untracked(), false)));
        }
    };
    let on_move = move |ev: web_sys::PointerEvent| {
        if let Some((x0, start, _)) = drag.get_untracked() {
            if ev.buttons() & 1 == 1 {
                let Some(x) = pointer_x(ev.client_x()) else {
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
    // The palette, read from the page's style again only when the theme has changed.
    let palette: StoredValue<Option<(Theme, Palette)>> = StoredValue::new(None);
    let current_palette = move || {
        let theme = theme();
        // The style sheet is told the theme before its colours are read (the app's own
        // effect that does this may run after this one).
        crate::app::theme::apply(theme);
        let cached = palette.with_value(|c| {
            c.as_ref()
                .filter(|(t, _)| *t == theme)
                .map(|(_, p)| p.clone())
        });
        cached.unwrap_or_else(|| {
            let p = page_palette();
            palette.set_value(Some((theme, p.clone())));
            p
        })
    };
    let svg_size = svg_size(svg_ref);
    Effect::new(move |_| {
        let sel = selected.get();
        let (Some(el), Some(size)) = (canvas.get(), svg_size.get()) else {
            return;
        };
        drawn.with(|s| match s {
            Some(s) if s.view.detail == Detail::Merged => {
                let outlines = run.with_untracked(|r| match (r, sel) {
                    (Some(m), Some(task)) => selection(m, &s.view.axis, task),
                    _ => Vec::new(),
                });
                canvas::draw(&el, size, s, &current_palette(), &outlines);
            }
            _ => canvas::clear(&el),
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
                {svg::defs()}
                <rect
                    class="scrub"
                    data-testid="scrub"
                    x=LABEL_W
                    y=0.0
                    width=PLOT_W
                    height=AXIS_H
                    on:pointerdown=scrub
                    on:pointermove=scrub
                >
                    <title>"Press or drag here to see the run at that moment"</title>
                </rect>
                <g class="axis">
                    <For each=ticks key=|t| (t.label.clone(), t.x.round() as i64) let:tick>
                        <line class="tick" x1=tick.x x2=tick.x y1=TICK_TOP y2=move || height() - TICK_BOTTOM_PAD />
                        <text class="tick-label" x=tick.x y=TICK_LABEL_Y text-anchor="middle">{tick.label.clone()}</text>
                    </For>
                </g>
                <For each=core_ids key=|c| *c let:core>
                    <g class="core-lane" data-testid="core-lane" data-core=core data-allowed=move || core_lane(core).is_none_or(|c| c.allowed).to_string()>
                        {move || core_view(core)}
                    </g>
                </For>
                <For each=lane_ids key=|k| k.clone() let:key>
                    <g
                        class="lane"
                        data-testid="lane"
                        data-proc=key.0
                        data-name=key.1.clone()
                        data-pid=key.2
                        data-exit-code=move || lane(key.0).and_then(|l| l.exit_code).map(|c| c.to_string()).unwrap_or_default()
                    >
                        {move || lane_view(key.0)}
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
