//! Export buttons: the timeline as a standalone SVG or a PNG, for slides. The drawing is the
//! scene of the run at the view the timeline shows, written with the page's palette (not the
//! page's elements read back). And the whole run as a Perfetto trace ([`trace`]).

pub mod trace;

use super::timeline::{page_palette, shown_view};
use crate::export::{Heading, params_text, standalone_svg, svg_data_url};
use crate::run::RunModel;
use crate::timeline::geometry::WIDTH;
use crate::timeline::scene::scene;
use crate::timeline::svg::drawing;
use leptos::prelude::*;
use std::sync::Arc;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// The shown timeline as a standalone SVG document, with its size.
fn timeline_svg(run: RwSignal<Option<Arc<RunModel>>>) -> Option<(String, f64, f64)> {
    let date = js_sys::Date::new_0()
        .to_iso_string()
        .as_string()
        .unwrap_or_default();
    let palette = page_palette();
    run.with_untracked(|r| {
        r.as_ref().map(|m| {
            let params = m.demo.as_ref().map(params_text).unwrap_or_default();
            let mut processes = vec![(0, m.main_name().to_string())];
            processes.extend(m.processes.iter().map(|p| (p.proc.0, p.name.clone())));
            let shown = scene(m, &shown_view(m));
            let svg = standalone_svg(
                &Heading {
                    title: &format!("procviz — {} (run {})", m.title, m.run.0),
                    params: &params,
                    date: &date,
                },
                WIDTH,
                shown.height,
                &drawing(&shown, m, &palette),
                &processes,
                &palette,
            );
            let total = svg_height(&svg).unwrap_or(shown.height);
            (svg, WIDTH, total)
        })
    })
}

/// The height attribute of an SVG document made by [`standalone_svg`].
fn svg_height(svg: &str) -> Option<f64> {
    let at = svg.find("height=\"")? + 8;
    svg[at..].split('"').next()?.parse().ok()
}

/// Hands a file to the browser as a download.
fn download(href: &str, name: &str) {
    let Ok(a) = document().create_element("a") else {
        return;
    };
    let Ok(a) = a.dyn_into::<web_sys::HtmlAnchorElement>() else {
        return;
    };
    a.set_href(href);
    a.set_download(name);
    a.click();
}

/// The export buttons and the links to the last exports.
#[component]
pub fn Export(run: RwSignal<Option<Arc<RunModel>>>) -> impl IntoView {
    let svg_href = RwSignal::new(String::new());
    let png_href = RwSignal::new(String::new());
    let file = move |ext: &str| {
        let id = run.with_untracked(|r| r.as_ref().map_or(0, |m| m.run.0));
        format!("{id}.{ext}")
    };
    let export_svg = move |_| {
        if let Some((svg, _, _)) = timeline_svg(run) {
            let url = svg_data_url(&svg);
            download(&url, &format!("procviz-run-{}", file("svg")));
            svg_href.set(url);
        }
    };
    let export_png = move |_| {
        let Some((svg, width, height)) = timeline_svg(run) else {
            return;
        };
        let Ok(img) = web_sys::HtmlImageElement::new() else {
            return;
        };
        let name = format!("procviz-run-{}", file("png"));
        let image = img.clone();
        let onload = Closure::once_into_js(move || {
            let scale = 2.0;
            let Some(canvas) = document()
                .create_element("canvas")
                .ok()
                .and_then(|c| c.dyn_into::<web_sys::HtmlCanvasElement>().ok())
            else {
                return;
            };
            canvas.set_width((width * scale) as u32);
            canvas.set_height((height * scale) as u32);
            let Some(ctx) = canvas
                .get_context("2d")
                .ok()
                .flatten()
                .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
            else {
                return;
            };
            if ctx.scale(scale, scale).is_err()
                || ctx
                    .draw_image_with_html_image_element(&image, 0.0, 0.0)
                    .is_err()
            {
                return;
            }
            if let Ok(url) = canvas.to_data_url_with_type("image/png") {
                download(&url, &name);
                png_href.set(url);
            }
        });
        img.set_onload(Some(onload.unchecked_ref()));
        img.set_src(&svg_data_url(&svg));
    };
    let has_run = move || run.with(Option::is_some);
    view! {
        <div class="export">
            <button data-testid="export-svg" disabled=move || !has_run() on:click=export_svg>"Export SVG"</button>
            <button data-testid="export-png" disabled=move || !has_run() on:click=export_png>"Export PNG"</button>
            <Show when=move || !svg_href.with(String::is_empty)>
                <a data-testid="export-svg-link" href=move || svg_href.get() download="procviz.svg">"last SVG"</a>
            </Show>
            <Show when=move || !png_href.with(String::is_empty)>
                <a data-testid="export-png-link" href=move || png_href.get() download="procviz.png">"last PNG"</a>
            </Show>
        </div>
    }
}
