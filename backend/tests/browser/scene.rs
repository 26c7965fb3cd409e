//! One drawing path: a demo-size run drawn as SVG and the same run on the canvas answer the
//! pointer alike, and the SVG export writes the scene's shapes (not the page's elements).

use crate::export::exported_svg;
use std::time::Duration;
use testkit::*;

/// JavaScript that finds the timeline's SVG (`svg`), its box (`r`), its viewBox (`vb`), and
/// the page pixels per drawing unit (`k`) as the SVG places the drawing in its box
/// (`xMinYMin meet`: scaled to the box's height where full screen caps it).
const PLACED: &str = "const svg = document.querySelector('[data-testid=timeline]');
     const r = svg.getBoundingClientRect();
     const vb = svg.viewBox.baseVal;
     const k = Math.min(r.width / vb.width, r.height / vb.height);";

/// Dispatches a pointer move on the main timeline at drawing coordinates (`x`, `y`) (the
/// SVG's viewBox units, the same for the SVG and the canvas), placed as the SVG places the
/// drawing in its box (scaled to the box's height where full screen caps it), and returns
/// the hover panel's text (empty when there is none).
async fn hover_at(browser: &Browser, x: f64, y: f64) -> String {
    let script = format!(
        "{PLACED}
         svg.dispatchEvent(new PointerEvent('pointermove', {{
             clientX: r.left + {x} * k, clientY: r.top + {y} * k,
             buttons: 0, button: 0, bubbles: true, isPrimary: true, pointerId: 1 }}));
         return 'ok';"
    );
    assert_eq!(browser.js(&script).await, "ok");
    eventually("the hover panel", 20, async || {
        let text = browser
            .js("const h = document.querySelector('[data-testid=hover]'); return h ? h.innerText : '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string();
        if text.is_empty() {
            Err("no hover panel".to_string())
        } else {
            Ok(text)
        }
    })
    .await
}

/// Task 0's bar as the SVG draws it: x, y, width, height in drawing coordinates.
async fn failed_bar(browser: &Browser) -> [f64; 4] {
    let bar = browser
        .js(
            "const r = document.querySelector('[data-testid=task-bar][data-task=\"0\"] rect');
             return ['x', 'y', 'width', 'height'].map(a => Number(r.getAttribute(a)));",
        )
        .await;
    let at = |i: usize| bar[i].as_f64().expect("a number");
    [at(0), at(1), at(2), at(3)]
}

/// Opens the finished run of `url` again, drawn on the canvas (forced).
async fn open_on_canvas(browser: &Browser, url: &str) {
    browser.open(&format!("{url}&render=canvas")).await;
    browser
        .text_becomes("[data-testid=run-status]", "finished")
        .await;
    browser
        .element("section.timeline[data-render=canvas]")
        .await;
}

/// A page of `width`×`height` that has run the pool demo of `query` to its end, and the
/// URL of that page (to open the run again in another view); `None` without chromedriver.
async fn finished_pool(width: u32, height: u32, query: &str) -> Option<(Page, String)> {
    let page = Page::start(width, height).await?;
    page.finished_run(query, "pool").await;
    let url = page.server.page_url(query);
    Some((page, url))
}

#[tokio::test]
async fn a_failed_task_answers_the_pointer_alike_on_svg_and_canvas_and_the_export_writes_its_bars()
{
    let Some((page, url)) = finished_pool(1280, 720, "?tasks=6&task_ms=300").await else {
        return;
    };
    let browser = &page.browser;
    browser.element("section.timeline[data-render=svg]").await;
    // Task 0 fails at once: its bar is drawn at the least width of a failed bar, and task 4
    // starts under it on the same worker. A point near the failed bar's right end.
    let at = failed_bar(browser).await;
    let (x, y) = (at[0] + at[2] - 2.0, at[1] + at[3] / 2.0);
    let on_svg = hover_at(browser, x, y).await;
    assert!(
        on_svg.starts_with("Task 0") && on_svg.contains("ZeroDivisionError"),
        "{on_svg:?}"
    );
    browser.screenshot("scene-svg.png").await;

    // The export writes the scene: every task bar, with its number and resolved colours.
    let svg = exported_svg(browser).await;
    assert_eq!(
        svg.matches("data-testid=\"task-bar\"").count(),
        6,
        "one bar per task"
    );
    for task in 0..6 {
        assert!(
            svg.contains(&format!("data-task=\"{task}\"")),
            "task {task} exported"
        );
    }
    assert!(svg.contains("class=\"task failed\""), "the failed bar");
    assert!(!svg.contains("var(--"), "colours are resolved");
    assert!(!svg.contains("data-testid=\"kill\""), "no page controls");

    // The same run drawn on the canvas (forced): the same point, the same panel.
    open_on_canvas(browser, &url).await;
    assert_eq!(
        browser
            .js("return document.querySelectorAll('[data-testid=task-bar]').length")
            .await,
        0,
        "the bars are on the canvas"
    );
    let on_canvas = hover_at(browser, x, y).await;
    assert_eq!(on_canvas, on_svg, "one hit-test rule for both drawings");
    browser.screenshot("scene-forced-canvas.png").await;
    page.close().await;
}

/// The timeline canvas's pixels: how many were painted on, and a checksum of all of them.
async fn canvas_pixels(browser: &Browser) -> (u64, u64) {
    let v = browser
        .js(
            "const c = document.querySelector('section.timeline canvas');
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             let n = 0, h = 0;
             for (let i = 0; i < d.length; i += 1) {
               h = (h * 31 + d[i]) % 1000000007;
               if (i % 4 === 3 && d[i] > 0) n++;
             }
             return [n, h];",
        )
        .await;
    let at = |i: usize| v[i].as_u64().expect("a count");
    (at(0), at(1))
}

/// Waits for the run to be drawn on the canvas, checks the canvas holds its bars, and takes
/// the screenshot `name`.
async fn canvas_drawn(browser: &Browser, name: &str) {
    browser
        .element("section.timeline[data-render=canvas]")
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (painted, _) = canvas_pixels(browser).await;
    assert!(
        painted > 1_000,
        "{name}: the canvas holds the run's bars ({painted} pixels)"
    );
    browser.screenshot(name).await;
}

#[tokio::test]
async fn a_big_run_on_the_canvas_in_the_light_and_projector_themes() {
    let Some((page, url)) =
        finished_pool(1280, 720, "?tasks=20000&task_ms=0&work=none&fail=0,9999").await
    else {
        return;
    };
    let browser = &page.browser;
    canvas_drawn(browser, "scene-canvas.png").await;
    // A theme switch repaints the canvas at once (the dark theme's colours), not at the
    // next zoom or new event.
    let before = canvas_pixels(browser).await.1;
    browser
        .js("document.body.dispatchEvent(new KeyboardEvent('keydown', {key: 't', bubbles: true})); return true;")
        .await;
    eventually("the canvas repainted in the dark theme", 5, async || {
        let now = canvas_pixels(browser).await.1;
        if now != before {
            Ok(())
        } else {
            Err(format!("pixels unchanged ({now})"))
        }
    })
    .await;
    browser.open(&format!("{url}&theme=projector")).await;
    browser
        .text_becomes("[data-testid=run-status]", "finished")
        .await;
    canvas_drawn(browser, "scene-canvas-projector.png").await;
    page.close().await;
}

/// The canvas pixel (r, g, b, a) under drawing coordinates (`x`, `y`) (the SVG's viewBox
/// units), placed as the SVG places them (scaled to its box, `xMinYMin meet`), and whether the
/// page caps the SVG's height (full screen) so that the drawing is scaled to its height.
async fn canvas_pixel_at(browser: &Browser, x: f64, y: f64) -> ([u64; 4], bool) {
    let v = browser
        .js(&format!(
            "{PLACED}
             const c = document.querySelector('section.timeline canvas');
             const cr = c.getBoundingClientRect();
             const px = Math.floor((r.left + {x} * k - cr.left) * c.width / cr.width);
             const py = Math.floor((r.top + {y} * k - cr.top) * c.height / cr.height);
             const d = c.getContext('2d').getImageData(px, py, 1, 1).data;
             return [d[0], d[1], d[2], d[3], r.height < r.width * vb.height / vb.width - 2];"
        ))
        .await;
    let at = |i: usize| v[i].as_u64().expect("a channel");
    (
        [at(0), at(1), at(2), at(3)],
        v[4].as_bool().expect("capped"),
    )
}

/// The page's colour `--name` as (r, g, b).
async fn page_colour(browser: &Browser, name: &str) -> [u64; 3] {
    let v = browser
        .js(&format!(
            "const c = document.createElement('canvas').getContext('2d');
             c.fillStyle = getComputedStyle(document.documentElement).getPropertyValue('{name}').trim();
             c.fillRect(0, 0, 1, 1);
             return Array.from(c.getImageData(0, 0, 1, 1).data).slice(0, 3);"
        ))
        .await;
    let at = |i: usize| v[i].as_u64().expect("a channel");
    [at(0), at(1), at(2)]
}

#[tokio::test]
async fn the_canvas_paints_a_bar_where_the_svg_draws_it_also_in_full_screen() {
    // Low enough that full screen caps the drawing's height.
    let Some((page, url)) = finished_pool(1280, 560, "?tasks=6&task_ms=300").await else {
        return;
    };
    let browser = &page.browser;
    // A point inside the failed bar near its top left corner (its middle holds the label), in
    // drawing coordinates, from the SVG drawing.
    let at = failed_bar(browser).await;
    let (x, y) = (at[0] + 3.0, at[1] + 3.0);
    open_on_canvas(browser, &url).await;
    let failed = page_colour(browser, "--failed").await;
    let mut hovered = None;
    for full_screen in [false, true] {
        if full_screen {
            browser
                .js("document.body.dispatchEvent(new KeyboardEvent('keydown', {key: 'f', bubbles: true})); return true;")
                .await;
        }
        let (pixel, capped) = eventually("the failed bar on the canvas", 20, async || {
            let (pixel, capped) = canvas_pixel_at(browser, x, y).await;
            if capped == full_screen && pixel[..3] == failed && pixel[3] == 255 {
                Ok((pixel, capped))
            } else {
                Err(format!(
                    "pixel {pixel:?} (the failed colour {failed:?}), height capped: {capped}"
                ))
            }
        })
        .await;
        assert_eq!(pixel[..3], failed, "full screen: {full_screen}");
        assert_eq!(capped, full_screen, "full screen caps the drawing's height");
        // The pointer is read back at the same scale: the same bar answers.
        let on_canvas = hover_at(browser, x, y).await;
        assert!(on_canvas.starts_with("Task 0"), "{on_canvas:?}");
        if let Some(before) = &hovered {
            assert_eq!(
                &on_canvas, before,
                "the same panel in and out of full screen"
            );
        }
        hovered = Some(on_canvas);
    }
    browser.screenshot("scene-canvas-full-screen.png").await;
    page.close().await;
}
