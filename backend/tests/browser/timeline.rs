//! The timeline: hover details, results and bars selecting each other, wheel and keys zoom,
//! drag pans, load from outside the run on the core lanes.

use std::time::Duration;
use testkit::*;

#[tokio::test]
async fn a_result_and_its_task_bar_highlight_each_other() {
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    page.finished_run("?tasks=6&task_ms=200", "pool").await;
    page.click("[data-testid=result][data-index='3']").await;
    let bar = page.element("[data-testid=task-bar][data-task='3']").await;
    assert!(
        bar.attr("class")
            .await
            .unwrap()
            .unwrap()
            .contains("selected")
    );
    page.click("[data-testid=task-bar][data-task='5']").await;
    let five = page.element("[data-testid=result][data-index='5']").await;
    assert!(
        five.attr("class")
            .await
            .unwrap()
            .unwrap()
            .contains("selected")
    );
    let three = page.element("[data-testid=result][data-index='3']").await;
    assert!(
        !three
            .attr("class")
            .await
            .unwrap()
            .unwrap()
            .contains("selected")
    );
}

#[tokio::test]
async fn the_wheel_zooms_around_the_pointer_and_keys_pan_and_reset() {
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    page.finished_run("?tasks=8&task_ms=500", "pool").await;
    let ticks = |b: &Browser| {
        let c = b.client.clone();
        async move {
            let mut labels = Vec::new();
            for t in c
                .find_all(fantoccini::Locator::Css(".tick-label"))
                .await
                .unwrap()
            {
                labels.push(t.text().await.unwrap());
            }
            labels
        }
    };
    let before = ticks(&page).await;
    assert_eq!(before.first().map(String::as_str), Some("0.0 s"));
    // Wheel up three times over the middle of the plot.
    let wheel = "const svg = document.querySelector('[data-testid=timeline]');
        const r = svg.getBoundingClientRect(); const s = r.width / 1200;
        const x = r.left + (200 + (1200 - 200 - 90) / 2) * s; const y = r.top + 200 * s;
        for (let i = 0; i < 3; i++) svg.dispatchEvent(new WheelEvent('wheel',
            { clientX: x, clientY: y, deltaY: -100, bubbles: true, cancelable: true }));";
    page.client.execute(wheel, vec![]).await.unwrap();
    let zoomed = eventually("the axis changed", 5, async || {
        let now = ticks(&page).await;
        if now != before {
            Ok(now)
        } else {
            Err(format!("{now:?}"))
        }
    })
    .await;
    assert_ne!(
        zoomed.first().map(String::as_str),
        Some("0.0 s"),
        "zoomed into the middle: {zoomed:?}"
    );
    // Keys: 0 resets to the whole run.
    page.element("section.timeline")
        .await
        .send_keys("0")
        .await
        .unwrap();
    eventually("reset did not restore the axis", 5, async || {
        let now = ticks(&page).await;
        if now == before {
            Ok(())
        } else {
            Err(format!("{now:?}"))
        }
    })
    .await;
}

#[tokio::test]
async fn hovering_a_bar_shows_its_details_and_a_console_line_links_to_its_bar() {
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    page.finished_run("?tasks=6&task_ms=300", "pool").await;
    // The failed task's bar: name, PID, times, cores and the error, in the hover panel.
    let bar = "[data-testid=task-bar][data-task='0'] rect";
    page.pointer_at("pointermove", bar, 0.5, 0.5, 0).await;
    let hover = page.text("[data-testid=hover]").await;
    for expected in [
        "Task 0",
        "PoolWorker-",
        "(PID ",
        "Start",
        "Duration",
        "Core(s)",
        "ZeroDivisionError: division by zero",
    ] {
        assert!(
            hover.contains(expected),
            "{expected:?} missing from {hover:?}"
        );
    }
    // Task 4 starts right after task 0 fails on the same worker: its label is not hidden
    // under the failed bar drawn on top.
    let clear = page
        .js("const f = document.querySelector('[data-testid=task-bar][data-task=\"0\"] rect');
             const t = document.querySelector('[data-testid=task-bar][data-task=\"4\"] text');
             return Number(t.getAttribute('x')) >= Number(f.getAttribute('x')) + Number(f.getAttribute('width'));")
        .await;
    assert_eq!(clear, true, "task 4's label clears the failed bar");
    // A process lane away from its bars: the process itself.
    page.pointer_at(
        "pointermove",
        "[data-testid=lane][data-proc='1'] .lane-name",
        0.5,
        0.5,
        0,
    )
    .await;
    let hover = page.text("[data-testid=hover]").await;
    assert!(
        hover.contains("Exit code") && hover.contains("Allowed on"),
        "{hover:?}"
    );
    // "Process PoolWorker-k started working on task 3" links to task 3's bar.
    let link = page
        .element("[data-testid=console-task][data-task='3']")
        .await;
    link.click().await.expect("click the console link");
    page.element("[data-testid=task-bar][data-task='3'].selected")
        .await;
}

#[tokio::test]
async fn dragging_the_plot_pans_the_zoomed_timeline() {
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    page.finished_run("?tasks=8&task_ms=250", "pool").await;
    let ticks = || async {
        page
            .js("return [...document.querySelectorAll('[data-testid=timeline] .tick-label')].map(t => t.textContent).join(' ')")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    page
        .js("document.querySelector('section.timeline').dispatchEvent(new KeyboardEvent('keydown', {key: '+', bubbles: true})); document.querySelector('section.timeline').dispatchEvent(new KeyboardEvent('keydown', {key: '+', bubbles: true})); return true;")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let zoomed = ticks().await;
    // Drag from the right of the plot to its left: later times come into view.
    let plot = "[data-testid=timeline]";
    page.pointer_at("pointerdown", plot, 0.8, 0.6, 1).await;
    page.pointer_at("pointermove", plot, 0.6, 0.6, 1).await;
    page.pointer_at("pointermove", plot, 0.4, 0.6, 1).await;
    page.pointer_at("pointerup", plot, 0.4, 0.6, 0).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let panned = ticks().await;
    assert_ne!(zoomed, panned, "the drag moved the axis");
    let first = |s: &str| {
        s.split(' ')
            .next()
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("a first tick label: {s:?}"))
    };
    assert!(
        first(&panned) > first(&zoomed),
        "dragging left shows later times: {zoomed} → {panned}"
    );
}

#[tokio::test]
async fn load_from_outside_the_run_is_drawn_on_the_core_lanes() {
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    // Another program keeps a core busy while a sleeping pool runs (ended however the test
    // ends).
    struct Burner(std::process::Child);
    impl Drop for Burner {
        fn drop(&mut self) {
            if let Err(e) = self.0.kill() {
                eprintln!("ending the busy loop: {e}");
            }
            if let Err(e) = self.0.wait() {
                eprintln!("waiting for the busy loop: {e}");
            }
        }
    }
    let burner = Burner(
        std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("start a busy loop"),
    );
    page.finished_run("?tasks=4&task_ms=1000&fail=", "pool")
        .await;
    drop(burner);
    let outside = page
        .js(
            "return [...document.querySelectorAll('[data-testid=core-lane] .outside-load')]
                 .map(r => Number(r.getAttribute('height')))",
        )
        .await;
    let heights: Vec<f64> = outside
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
        .unwrap_or_default();
    assert!(
        heights.iter().filter(|h| **h > 10.0).count() >= 3,
        "the busy loop shows as outside load: {heights:?}"
    );
    let legend = page.text(".legend").await;
    assert!(legend.contains("load from outside the run"), "{legend}");
}
