//! The page tried as a new user would: lessons clicked the moment a tab opens (before its
//! connection is up), a second tab, observations read while a run is still going, compare
//! mode after a single run, and the projector theme at projector resolutions (1280×720,
//! 1024×768) with full screen refused by the browser. Each test failed before its fix.
//!
//! "Before the connection is up" is made certain rather than left to a race: a script
//! installed before the page's own (Chrome DevTools `Page.addScriptToEvaluateOnNewDocument`,
//! through chromedriver) refuses to open WebSockets until the test lets it.

use crate::lessons::observed;
use serde_json::{Value, json};
use std::time::Duration;
use testkit::*;

/// Installed before the page's scripts: `new WebSocket(..)` throws while
/// `window.__holdSocket` is true (the page then shows it is not connected and retries).
const HOLD_SOCKET: &str = r#"(() => {
  const Native = window.WebSocket;
  window.__holdSocket = true;
  window.WebSocket = class extends Native {
    constructor(...args) {
      if (window.__holdSocket) throw new DOMException('held by the test', 'NetworkError');
      super(...args);
    }
  };
})();"#;

/// Opens `url` in the browser's current tab with its connection held back; returns once the
/// lesson buttons are there and the page says it is not connected.
async fn open_unconnected(b: &Browser, url: &str) {
    b.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": HOLD_SOCKET }),
    )
    .await;
    b.client.goto(url).await.expect("load the page");
    b.element("[data-testid^=lesson-]").await;
    let state = b
        .element("[data-testid=connection]")
        .await
        .attr("data-state")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    assert_ne!(state, "Connected", "the hold keeps the page unconnected");
}

/// Lets the page's connection open (it retries within a second or two).
async fn release_socket(b: &Browser) {
    b.js("window.__holdSocket = false; return true;").await;
    b.element("[data-testid=connection][data-state=Connected]")
        .await;
}

async fn machine_cores(b: &Browser) -> u32 {
    b.text("[data-testid=cores]").await.parse().unwrap_or(1)
}

/// The wall time in an "Observed" line (`label: 1.02 s wall …`), seconds.
fn wall_secs(line: &str) -> f64 {
    let figure = line
        .split_once(": ")
        .map(|(_, rest)| rest)
        .and_then(|rest| rest.split(" wall").next())
        .unwrap_or_default();
    match figure.split_once(' ') {
        Some((n, "s")) => n.parse().unwrap_or(f64::NAN),
        Some((n, "ms")) => n.parse::<f64>().map_or(f64::NAN, |ms| ms / 1000.0),
        _ => f64::NAN,
    }
}

#[tokio::test]
async fn a_lesson_clicked_before_the_page_is_connected_still_observes_its_runs() {
    let _one = one_at_a_time();
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    let (b, server) = (&page.browser, &page.server);
    // The single-run lesson and a lesson whose runs depend on the machine's cores.
    open_unconnected(b, &server.page_url("?with=runtime")).await;
    b.click("[data-testid=lesson-who_prints_first]").await;
    release_socket(b).await;
    let lines = observed(b, 1, 20).await;
    for n in 1..=4 {
        assert!(lines[0].contains(&format!("Num: {n}")), "{lines:?}");
    }

    open_unconnected(b, &server.page_url("?with=runtime")).await;
    b.click("[data-testid=lesson-chef_alone]").await;
    release_socket(b).await;
    let cores = machine_cores(b).await;
    let runs = if cores < 2 { 1 } else { 2 };
    let lines = observed(b, runs, 40).await;
    assert!(lines[0].starts_with("4 jobs, 1 core:"), "{lines:?}");
    if cores >= 2 {
        assert!(
            lines[1].starts_with(&format!("4 jobs, {cores} cores:")),
            "{lines:?}"
        );
        assert!(
            lines[2].contains("took"),
            "the two runs compared: {lines:?}"
        );
    }
    let banner = b
        .js("return document.querySelector('[data-testid=command-error]') === null")
        .await;
    assert_eq!(banner, true, "no error banner");
    page.close().await;
}

#[tokio::test]
async fn a_fresh_tab_observes_only_the_runs_it_started() {
    let _one = one_at_a_time();
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    let (b, server) = (&page.browser, &page.server);
    // The first tab runs the pool demo (3 s) and stays open.
    page.finished_run("", "pool").await;
    let first = b.client.window().await.expect("this tab");
    let second = b.client.new_window(true).await.expect("a second tab");
    b.client
        .switch_to_window(second.handle)
        .await
        .expect("switch tabs");
    // The new tab: "Sleeping vs working" clicked at once.
    open_unconnected(b, &server.page_url("?with=runtime")).await;
    b.click("[data-testid=lesson-sleeping_vs_working]").await;
    release_socket(b).await;
    let lines = observed(b, 2, 40).await;
    assert!(lines[0].starts_with("sleeping tasks: "), "{lines:?}");
    assert!(lines[1].starts_with("CPU tasks: "), "{lines:?}");
    // 8 × 0.5 s sleeping tasks on 4 workers: about 1 s, not the other tab's 3 s.
    let asleep = wall_secs(&lines[0]);
    assert!((0.9..2.0).contains(&asleep), "sleeping run: {lines:?}");
    let compared = b.text("[data-testid=compare-a-run]").await;
    assert!(
        compared.contains("sleeping tasks") && !compared.contains("ZeroDivisionError"),
        "run A is this tab's sleeping run: {compared}"
    );
    b.client.switch_to_window(first).await.expect("back");
    page.close().await;
}

#[tokio::test]
async fn observations_say_running_until_the_run_has_finished() {
    let _one = one_at_a_time();
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    let (b, server) = (&page.browser, &page.server);
    open_unconnected(b, &server.page_url("?with=runtime")).await;
    b.click("[data-testid=lesson-pool_imap]").await;
    release_socket(b).await;
    // Sample the story and the run's status together until the run has finished.
    let mut mid_run = 0;
    eventually("the seed lesson's run finished", 30, async || {
        let v = b
            .js("const s = document.querySelector('[data-testid=run-status]');
                 return [s ? s.textContent : '',
                         [...document.querySelectorAll('[data-testid=observed] li')].map(x => x.textContent)];")
            .await;
        let status = v[0].as_str().unwrap_or_default().to_string();
        let lines: Vec<String> = v[1]
            .as_array()
            .map(|a| a.iter().filter_map(|l| l.as_str().map(String::from)).collect())
            .unwrap_or_default();
        if status == "finished" {
            return Ok(());
        }
        if status == "running" {
            mid_run += 1;
            assert!(
                lines.iter().all(|l| l.contains("running") && !l.contains('[')),
                "mid-run, the lesson shows no figures: {lines:?}"
            );
        }
        Err(format!("{status}: {lines:?}"))
    })
    .await;
    assert!(
        mid_run > 5,
        "sampled the run while it ran ({mid_run} times)"
    );
    let lines = observed(b, 1, 10).await;
    assert!(
        lines[0].starts_with(
            "Pool(4).imap: [ZeroDivisionError: division by zero, 1, 2, 3, 4, 5, 6, 7, 8, 9] in"
        ),
        "{lines:?}"
    );
    page.close().await;
}

/// Whether the compare panel (`[data-testid=compare]`) is on the page and shown.
async fn compare_shown(b: &Browser) -> bool {
    b.js("const c = document.querySelector('[data-testid=compare]');
          return !!c && c.getClientRects().length > 0;")
        .await
        == true
}

#[tokio::test]
async fn a_single_run_lesson_opens_no_comparison() {
    let _one = one_at_a_time();
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    let (b, server) = (&page.browser, &page.server);
    b.open(&server.page_url("?with=runtime")).await;
    b.click("[data-testid=lesson-two_processes]").await;
    observed(b, 1, 20).await;
    // Give the page a moment to open anything it would.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!compare_shown(b).await, "one run: nothing to compare");
    // A second finished run: the picker is offered, but no comparison opens by itself,
    // and one side picked alone does not compare a run with itself.
    b.click("[data-testid=lesson-who_prints_first]").await;
    b.element("[data-testid=lesson][data-lesson=who_prints_first]")
        .await;
    observed(b, 1, 20).await;
    b.element("[data-testid=compare]").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let opened = b
        .js("return document.querySelector('[data-testid=compare-verdict]') !== null")
        .await;
    assert_eq!(
        opened, false,
        "no comparison opens after single-run lessons"
    );
    let first = b
        .js("return document.querySelector('[data-testid=compare-a] option:last-child').value")
        .await;
    let first = first.as_str().unwrap_or_default().to_string();
    b.click(&format!("[data-testid=compare-a] option[value='{first}']"))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let opened = b
        .js("return document.querySelector('[data-testid=compare-verdict]') !== null")
        .await;
    assert_eq!(opened, false, "A alone picked: no run compared with itself");
    let second = b
        .js("return document.querySelector('[data-testid=compare-b] option:nth-child(2)').value")
        .await;
    let second = second.as_str().unwrap_or_default().to_string();
    assert_ne!(first, second);
    b.click(&format!("[data-testid=compare-b] option[value='{second}']"))
        .await;
    b.text_contains("[data-testid=compare-verdict]", "A took")
        .await;
    page.close().await;
}

/// The layout figures the projector test checks, measured in the page.
async fn layout(b: &Browser) -> Value {
    b.js(
        "const t = document.querySelector('section.timeline').getBoundingClientRect();
          const text = document.querySelector('.console-line .text');
          const fs = text ? parseFloat(getComputedStyle(text).fontSize) : 0;
          return {
            scroll_w: document.documentElement.scrollWidth, inner_w: innerWidth,
            inner_h: innerHeight, top: t.top, bottom: t.bottom, left: t.left, right: t.right,
            text_w: text ? text.getBoundingClientRect().width : 0,
            text_h: text ? text.getBoundingClientRect().height : 0, font: fs,
          };",
    )
    .await
}

#[tokio::test]
async fn the_projector_theme_shows_a_lesson_run_at_projector_resolutions() {
    let _one = one_at_a_time();
    for (w, h) in [(1280, 720), (1024, 768)] {
        let Some(page) = Page::start(w, h).await else {
            return;
        };
        let (b, server) = (&page.browser, &page.server);
        // The page as a projector shows it: a viewport of exactly w×h (a browser in full
        // screen, or presenting).
        b.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": w, "height": h, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await;
        b.open(&server.page_url("?theme=projector&with=runtime"))
            .await;
        b.click("[data-testid=lesson-pool_imap]").await;
        b.elements("[data-testid=lane]", 5).await;
        // The view follows the run's timeline once it starts.
        let on_screen = |l: &Value| {
            let f = |k: &str| l[k].as_f64().unwrap_or(f64::NAN);
            f("top") >= -1.0 && f("bottom") <= f("inner_h") + 1.0
        };
        let mut at_start = layout(b).await;
        for _ in 0..40 {
            if on_screen(&at_start) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            at_start = layout(b).await;
        }
        b.screenshot(&format!("projector-{w}x{h}.png")).await;
        let f = |k: &str| at_start[k].as_f64().unwrap_or(f64::NAN);
        assert_eq!((f("inner_w"), f("inner_h")), (w as f64, h as f64));
        assert!(
            on_screen(&at_start),
            "{w}×{h}: the timeline on screen: {at_start}"
        );
        assert!(
            f("scroll_w") <= f("inner_w"),
            "{w}×{h}: no horizontal scrollbar: {at_start}"
        );
        assert!(
            f("left") >= 0.0 && f("right") <= f("inner_w"),
            "{w}×{h}: {at_start}"
        );
        b.text_becomes("[data-testid=run-status]", "finished").await;
        // Console lines readable: a text column at least 30 characters wide, one line tall.
        let done = layout(b).await;
        let g = |k: &str| done[k].as_f64().unwrap_or(f64::NAN);
        assert!(g("scroll_w") <= g("inner_w"), "{w}×{h}: {done}");
        assert!(
            g("text_w") >= 30.0 * 0.6 * g("font"),
            "{w}×{h}: console text column too narrow: {done}"
        );
        assert!(
            g("text_h") <= 1.8 * g("font"),
            "{w}×{h}: a console line wraps: {done}"
        );
        // Only this run's lines (at 1024×768 the page showed the previous run first): in a
        // pool run each line names its task, so no line comes twice.
        let console = b
            .js("return [...document.querySelectorAll('.console-line')]
                     .map(l => l.querySelector('.text').textContent)")
            .await;
        let lines: Vec<&str> = console
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut unique = lines.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            unique.len(),
            lines.len(),
            "{w}×{h}: each line once: {lines:?}"
        );
        b.js("document.querySelector('.console').scrollIntoView(); return true;")
            .await;
        b.screenshot(&format!("projector-{w}x{h}-console.png"))
            .await;
        page.close().await;
    }
}

#[tokio::test]
async fn full_screen_falls_back_to_a_page_filling_view_when_the_browser_refuses() {
    let _one = one_at_a_time();
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    let b = &page.browser;
    page.finished_run("?theme=projector", "two_processes").await;
    // This browser refuses full screen (as a kiosk, an iframe or a policy may).
    b.js("Element.prototype.requestFullscreen = function () {
            return Promise.reject(new TypeError('Permissions check failed'));
          }; return true;")
        .await;
    let key = |k: &'static str| {
        format!(
            "document.body.dispatchEvent(new KeyboardEvent('keydown', {{key: {k:?}, bubbles: true}})); return true;"
        )
    };
    let fills = async || {
        let v = b
            .js(
                "const t = document.querySelector('section.timeline').getBoundingClientRect();
                 return [t.left, t.top, t.width, t.height, innerWidth, innerHeight];",
            )
            .await;
        let n = |i: usize| v[i].as_f64().unwrap_or(f64::NAN);
        n(0).abs() < 1.0 && n(1).abs() < 1.0 && (n(2) - n(4)).abs() < 1.0 && n(3) >= n(5) - 1.0
    };
    for leave in ["Escape", "f"] {
        b.js(&key("f")).await;
        eventually("the timeline fills the page", 5, async || {
            match fills().await {
                true => Ok(()),
                false => Err("not filling the page".to_string()),
            }
        })
        .await;
        if leave == "Escape" {
            b.screenshot("projector-full-screen-fallback.png").await;
        }
        b.js(&key(leave)).await;
        eventually(&format!("{leave} leaves"), 5, async || {
            match fills().await {
                false => Ok(()),
                true => Err("still filling the page".to_string()),
            }
        })
        .await;
    }
    page.close().await;
}
