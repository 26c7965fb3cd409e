//! The canvas layer of the timeline for big runs: core blocks, state strips and task bars
//! drawn in the SVG's coordinates, with level of detail ([`lod_rects`]): what cannot be told
//! apart at the current zoom is drawn once, as a "many tasks" block. Failed tasks are always
//! drawn on top, at least 3 px wide, so an error never disappears into a merged block.

use super::timeline::{LABEL_W, RIGHT_PAD, WIDTH, allowed_cores, core_lane_top, process_lanes};
use crate::layout::{LaneStack, TimeAxis, lod_rects, process_colour};
use crate::model::RunModel;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

const TASK: &str = "#0072b2";
const MANY: &str = "#56b4e9";
const FAILED: &str = "#c2410c";
const WAITING: &str = "#d55e00";
const SELECTED: &str = "#f0e442";

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok()??.dyn_into().ok()
}

/// Empties the canvas (a run drawn as SVG).
pub fn clear(canvas: &HtmlCanvasElement) {
    if canvas.width() != 0 {
        canvas.set_width(0);
        canvas.set_height(0);
    }
}

/// Sizes the canvas to the timeline's SVG (device pixels) and returns a context whose
/// coordinates are the SVG's.
fn fit(canvas: &HtmlCanvasElement, svg: &web_sys::Element) -> Option<CanvasRenderingContext2d> {
    let rect = svg.get_bounding_client_rect();
    if rect.width() <= 0.0 {
        return None;
    }
    let dpr = leptos::prelude::window().device_pixel_ratio().max(1.0);
    let (w, h) = (
        (rect.width() * dpr).round() as u32,
        (rect.height() * dpr).round() as u32,
    );
    if canvas.width() != w || canvas.height() != h {
        canvas.set_width(w);
        canvas.set_height(h);
    }
    let ctx = context(canvas)?;
    let scale = rect.width() / WIDTH * dpr;
    ctx.set_transform(scale, 0.0, 0.0, scale, 0.0, 0.0).ok()?;
    ctx.clear_rect(0.0, 0.0, WIDTH, f64::from(h) / scale);
    Some(ctx)
}

/// Draws `m` on `axis`, highlighting the bars of task `selected`.
pub fn draw(
    canvas: &HtmlCanvasElement,
    svg: &web_sys::Element,
    m: &RunModel,
    axis: &TimeAxis,
    selected: Option<u64>,
) {
    let Some(ctx) = fit(canvas, svg) else {
        return;
    };
    ctx.save();
    ctx.begin_path();
    ctx.rect(LABEL_W, 0.0, WIDTH - LABEL_W - RIGHT_PAD + 2.0, 1e6);
    ctx.clip();
    draw_cores(&ctx, m, axis);
    draw_lanes(&ctx, m, axis, selected);
    ctx.restore();
}

/// Whether a block `[start, end]` is visible and not within a pixel of the previous one
/// drawn on its lane (`last`: the right edge drawn so far).
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

fn draw_cores(ctx: &CanvasRenderingContext2d, m: &RunModel, axis: &TimeAxis) {
    let cores = m.cores_sampled();
    let allowed = allowed_cores(m);
    let mut last = vec![f64::MIN; cores as usize];
    for core in 0..cores {
        if !allowed.contains(&core) {
            ctx.set_fill_style_str("rgba(127,127,127,0.25)");
            ctx.fill_rect(
                LABEL_W,
                core_lane_top(core),
                WIDTH - LABEL_W - RIGHT_PAD,
                LaneStack::CORE_HEIGHT,
            );
        }
    }
    for b in &m.core_blocks {
        let Some(slot) = last.get_mut(b.core as usize) else {
            continue;
        };
        if let Some((x, w)) = worth_drawing(axis, b.start, b.end, slot) {
            ctx.set_global_alpha(0.25 + 0.75 * b.share);
            ctx.set_fill_style_str(process_colour(b.proc.0));
            ctx.fill_rect(
                x,
                core_lane_top(b.core) + 2.0,
                w,
                LaneStack::CORE_HEIGHT - 4.0,
            );
        }
    }
    ctx.set_global_alpha(1.0);
}

fn draw_lanes(
    ctx: &CanvasRenderingContext2d,
    m: &RunModel,
    axis: &TimeAxis,
    selected: Option<u64>,
) {
    let lanes = process_lanes(m.cores_sampled());
    let projector = leptos::prelude::document()
        .document_element()
        .and_then(|e| e.get_attribute("data-theme"))
        .is_some_and(|t| t == "projector");
    ctx.set_font(if projector {
        "600 16px system-ui, sans-serif"
    } else {
        "600 12px system-ui, sans-serif"
    });
    let label_room = if projector { 12.0 } else { 9.0 };
    for (lane, p) in m.processes.iter().enumerate() {
        let y = lanes.top(lane + 1);
        // The state strip: on a core, waiting for one (the rest of the interval: asleep).
        let mut last = f64::MIN;
        for b in m.state_blocks.iter().filter(|b| b.proc == p.proc) {
            if let Some((x, w)) = worth_drawing(axis, b.start, b.end, &mut last) {
                ctx.set_fill_style_str("#1f2937");
                ctx.fill_rect(x, y + 29.0, w * b.running, 5.0);
                ctx.set_fill_style_str(WAITING);
                ctx.fill_rect(x + w * b.running, y + 29.0, w * b.waiting, 5.0);
            }
        }
        let list = m.index.of(p.proc);
        let span = |k: usize| {
            let b = &m.tasks[list[k]];
            (b.started, b.finished.unwrap_or(m.last_t))
        };
        for r in lod_rects(list.len(), span, axis, 1.0) {
            if r.count == 1 {
                let bar = &m.tasks[list[r.first]];
                ctx.set_fill_style_str(if bar.error().is_some() { FAILED } else { TASK });
                ctx.fill_rect(r.x, y + 6.0, r.w, 22.0);
                let label = bar.task.to_string();
                if r.w > label.len() as f64 * label_room + 6.0 {
                    ctx.set_fill_style_str("#ffffff");
                    let _ = ctx.fill_text(&label, r.x + 3.0, y + 22.0);
                }
            } else {
                ctx.set_fill_style_str(MANY);
                ctx.fill_rect(r.x, y + 6.0, r.w, 22.0);
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
            (b.started, b.finished.unwrap_or(m.last_t))
        };
        for r in lod_rects(failed.len(), fspan, axis, 3.0) {
            ctx.set_fill_style_str(FAILED);
            ctx.fill_rect(r.x, y + 6.0, r.w.max(3.0), 22.0);
            if r.w > 12.0 {
                ctx.set_fill_style_str("#ffffff");
                let _ = ctx.fill_text("✗", r.x + 2.0, y + 22.0);
            }
        }
    }
    if let Some(task) = selected {
        ctx.set_stroke_style_str(SELECTED);
        ctx.set_line_width(4.0);
        for bar in m.tasks.iter().filter(|b| b.task == task) {
            let Some(lane) = m.processes.iter().position(|p| p.proc == bar.worker) else {
                continue;
            };
            let end = bar.finished.unwrap_or(m.last_t);
            ctx.stroke_rect(
                axis.x(bar.started),
                lanes.top(lane + 1) + 6.0,
                axis.width_of(bar.started, end, 3.0),
                22.0,
            );
        }
    }
}
