//! A big run: drawn on a canvas with level of detail, long lists elided, still inspectable
//! and exportable.

use crate::export::exported_svg;
use testkit::*;

/// Non-transparent pixels on the timeline's canvas.
async fn canvas_ink(browser: &Browser) -> u64 {
    browser
        .js(
            "const c = document.querySelector('[data-testid=timeline-canvas]');
             if (!c.width) return 0;
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
             return n;",
        )
        .await
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test]
async fn a_big_run_is_drawn_on_a_canvas_with_level_of_detail_and_stays_inspectable() {
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    page.finished_run("?tasks=20000&task_ms=0&work=none&fail=0,9999", "pool")
        .await;
    page.element("section.timeline[data-render=canvas]").await;
    assert_eq!(
        page.js("return document.querySelectorAll('[data-testid=task-bar]').length")
            .await,
        0,
        "no SVG element per task"
    );
    assert!(
        canvas_ink(&page).await > 10_000,
        "the canvas shows the bars"
    );
    // Long lists are elided, not rendered 20,000 times.
    page.text_contains("[data-testid=results-elided]", "19870 more results")
        .await;
    assert_eq!(
        page.js("return document.querySelectorAll('[data-testid=result]').length")
            .await,
        130
    );
    // Pointing into a worker lane names the task under the pointer (hit-testing, no DOM):
    // somewhere along the lane there is one.
    let mut hover = String::new();
    for step in 1..40 {
        page.pointer_at(
            "pointermove",
            "[data-testid=lane][data-proc='1'] .bar.running",
            f64::from(step) / 40.0,
            0.5,
            0,
        )
        .await;
        hover = page.text("[data-testid=hover]").await;
        if hover.starts_with("Task ") {
            break;
        }
    }
    assert!(hover.starts_with("Task "), "{hover:?}");
    assert!(hover.contains("PoolWorker-1"), "{hover:?}");
    // The SVG export carries the canvas's shapes as vectors (merged, so the file stays small),
    // the failed tasks among them.
    let svg = exported_svg(&page).await;
    let rects = svg.matches("<rect").count();
    assert!(
        (20..20_000).contains(&rects),
        "{rects} rects for 20,000 tasks"
    );
    assert!(svg.contains("fill=\"#c2410c\""), "failed tasks exported");
}
