//! The canvas layer of the timeline for big runs: paints the shapes of [`crate::scene`] in
//! the SVG's coordinates (the SVG keeps the axis, lane names, markers and buttons).

use super::timeline::{LABEL_W, RIGHT_PAD, WIDTH, allowed_cores, core_lane_top};
use crate::layout::{LaneStack, TimeAxis};
use crate::run::RunModel;
use crate::scene::{Geometry, SELECTED, Shape, scene};
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

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

/// Whether the page is in the projector theme (bigger labels).
fn projector() -> bool {
    leptos::prelude::document()
        .document_element()
        .and_then(|e| e.get_attribute("data-theme"))
        .is_some_and(|t| t == "projector")
}

/// The geometry of the timeline with `cores` core lanes.
pub fn geometry(cores: u32) -> Geometry {
    Geometry {
        stack: LaneStack::new(36.0, cores),
        plot_end: WIDTH - RIGHT_PAD,
        label_px: if projector() { 12.0 } else { 9.0 },
    }
}

/// Draws `m` on `axis`, outlining the bars of task `selected`.
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
    // Cores the run may not use are greyed (the SVG hatches them too).
    let allowed = allowed_cores(m);
    for core in (0..m.cores_sampled()).filter(|c| !allowed.contains(c)) {
        ctx.set_fill_style_str("rgba(127,127,127,0.25)");
        ctx.fill_rect(
            LABEL_W,
            core_lane_top(core),
            WIDTH - LABEL_W - RIGHT_PAD,
            LaneStack::CORE_HEIGHT,
        );
    }
    let g = geometry(m.cores_sampled());
    ctx.set_font(&format!(
        "600 {}px system-ui, sans-serif",
        if g.label_px > 10.0 { 16 } else { 12 }
    ));
    for shape in scene(m, axis, &g, selected) {
        match shape {
            Shape::Rect {
                x,
                y,
                w,
                h,
                fill,
                alpha,
            } => {
                ctx.set_global_alpha(alpha);
                ctx.set_fill_style_str(fill);
                ctx.fill_rect(x, y, w, h);
            }
            Shape::Outline { x, y, w, h } => {
                ctx.set_global_alpha(1.0);
                ctx.set_stroke_style_str(SELECTED);
                ctx.set_line_width(4.0);
                ctx.stroke_rect(x, y, w, h);
            }
            Shape::Label { x, y, text } => {
                ctx.set_global_alpha(1.0);
                ctx.set_fill_style_str("#ffffff");
                if ctx.fill_text(&text, x, y).is_err() {
                    // Only a non-finite coordinate fails; the label is skipped.
                    leptos::logging::warn!("procviz: could not draw label {text}");
                }
            }
        }
    }
    ctx.set_global_alpha(1.0);
    ctx.restore();
}
