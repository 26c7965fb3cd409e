//! The canvas painter of the scene (runs drawn with level of detail): each lane's shapes,
//! filled with the page's palette, in the SVG's coordinates (the SVG under it keeps the axis,
//! names, spans, exit marks and buttons). It paints what the scene says and places nothing
//! itself; the canvas has no hatches, so load from outside the run is a translucent fill.

use crate::timeline::geometry::{LABEL_W, PLOT_W, Rect, meet_scale};
use crate::timeline::palette::{Colour, Palette};
use crate::timeline::scene::Scene;
use crate::timeline::shape::Shape;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

/// Opacity of load from outside the run (hatched in SVG).
const OUTSIDE_ALPHA: f64 = 0.45;
/// Width of the selected task's outline.
const OUTLINE_PX: f64 = 4.0;

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

/// Sizes the canvas to the timeline's SVG, `size` (width, height) page pixels, in device
/// pixels, and returns a context whose coordinates are the scene's, scaled as the SVG scales
/// them (to its width, or to its height where the page caps it). The size comes from the
/// caller (a resize observer): reading it from the SVG here would make the browser lay out
/// the page again in the middle of a redraw.
fn fit(
    canvas: &HtmlCanvasElement,
    size: (f64, f64),
    scene: &Scene,
) -> Option<CanvasRenderingContext2d> {
    let (width, height) = size;
    if width <= 0.0 || height <= 0.0 {
        return None;
    }
    let dpr = leptos::prelude::window().device_pixel_ratio().max(1.0);
    let (w, h) = ((width * dpr).round() as u32, (height * dpr).round() as u32);
    if canvas.width() != w || canvas.height() != h {
        canvas.set_width(w);
        canvas.set_height(h);
    }
    let ctx = context(canvas)?;
    let scale = meet_scale(width, height, scene.height) * dpr;
    ctx.set_transform(scale, 0.0, 0.0, scale, 0.0, 0.0).ok()?;
    ctx.clear_rect(0.0, 0.0, f64::from(w) / scale, f64::from(h) / scale);
    Some(ctx)
}

/// Paints the lanes' shapes of `scene` with `palette`, and `outlines` (the selected task), on
/// a canvas over the SVG of `size` (width, height) page pixels.
pub fn draw(
    canvas: &HtmlCanvasElement,
    size: (f64, f64),
    scene: &Scene,
    palette: &Palette,
    outlines: &[Rect],
) {
    let Some(ctx) = fit(canvas, size, scene) else {
        return;
    };
    ctx.save();
    ctx.begin_path();
    ctx.rect(LABEL_W, 0.0, PLOT_W + 2.0, 1e6);
    ctx.clip();
    ctx.set_font(&format!(
        "600 {}px system-ui, sans-serif",
        if scene.view.label_px > 10.0 { 16 } else { 12 }
    ));
    let shapes = scene
        .cores
        .iter()
        .flat_map(|c| &c.shapes)
        .chain(scene.lanes.iter().flat_map(|l| {
            let threads = l.threads.iter().flat_map(|t| &t.shapes);
            l.shapes.iter().chain(threads)
        }));
    // The style is set only when it changes, and each colour's string crosses into the
    // browser once per redraw (kept as a JavaScript string): a big run's redraw used to
    // spend more on decoding colour names than on the rectangles.
    let mut alpha_now = 1.0;
    let mut fill_now = None;
    let mut strings: Vec<(Colour, wasm_bindgen::JsValue)> = Vec::new();
    let mut fill = |ctx: &CanvasRenderingContext2d, colour: Colour| {
        if fill_now == Some(colour) {
            return;
        }
        fill_now = Some(colour);
        let at = match strings.iter().position(|(c, _)| *c == colour) {
            Some(at) => at,
            None => {
                strings.push((colour, palette.get(colour).into()));
                strings.len() - 1
            }
        };
        // The setter taking any value (deprecated for the typed ones, which take a `&str`
        // and so decode it again each time).
        #[allow(deprecated)]
        ctx.set_fill_style(&strings[at].1);
    };
    ctx.set_global_alpha(alpha_now);
    for shape in shapes {
        let r = shape.rect();
        let alpha = match shape {
            Shape::Outside { .. } => OUTSIDE_ALPHA,
            _ => 1.0,
        };
        if alpha != alpha_now {
            alpha_now = alpha;
            ctx.set_global_alpha(alpha);
        }
        fill(&ctx, shape.colour());
        ctx.fill_rect(r.x, r.y, r.w, r.h);
        if let Shape::Bar(bar) = shape
            && let Some(label) = &bar.label
        {
            fill(&ctx, Colour::BarText);
            if ctx.fill_text(&label.text, label.x, label.y).is_err() {
                // Only a non-finite coordinate fails; the label is skipped.
                leptos::logging::warn!("procviz: could not draw label {}", label.text);
            }
        }
    }
    ctx.set_global_alpha(1.0);
    ctx.set_stroke_style_str(palette.get(Colour::Selected));
    ctx.set_line_width(OUTLINE_PX);
    for r in outlines {
        ctx.stroke_rect(r.x, r.y, r.w, r.h);
    }
    ctx.restore();
}
