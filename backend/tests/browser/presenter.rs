//! Presenting: the projector theme, the presenter keys, the timeline full screen.

use crate::lessons::observed;
use std::time::Duration;
use testkit::*;

#[tokio::test]
async fn the_projector_theme_applies_and_is_read_from_the_url() {
    let Some(page) = Page::open(1280, 720, "?with=runtime").await else {
        return;
    };
    let size = |b: &Browser| {
        let client = b.client.clone();
        async move {
            client
                .execute(
                    "return getComputedStyle(document.documentElement).fontSize",
                    vec![],
                )
                .await
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(size(&page).await, "16px");
    page.click("[data-testid=theme] option[value=projector]")
        .await;
    page.element("html[data-theme=projector]").await;
    assert_eq!(size(&page).await, "20px");
    // A bookmarked configuration keeps its theme, and the pool demo reads its parameters.
    page.load("?theme=projector&tasks=10&workers=4&fail=0")
        .await;
    page.element("html[data-theme=projector]").await;
    page.click("[data-testid=demo-pool]").await;
    page.text_becomes("[data-testid=run-status]", "finished")
        .await;
    page.elements("[data-testid=result]", 10).await;
    page.screenshot("pool-projector.png").await;
}

#[tokio::test]
async fn presenter_keys_start_demos_switch_themes_and_show_help() {
    let _one = one_at_a_time();
    let Some(b) = Page::open(1280, 720, "?with=runtime").await else {
        return;
    };
    let key = |k: &'static str| {
        format!(
            "document.body.dispatchEvent(new KeyboardEvent('keydown', {{key: {k:?}, bubbles: true}})); return true;"
        )
    };
    b.js(&key("?")).await;
    assert!(
        b.text("[data-testid=help]")
            .await
            .contains("timeline full screen")
    );
    b.js(&key("?")).await;
    // The timeline alone, full screen (a click is the user gesture the browser asks for).
    b.click("[data-testid=full-screen]").await;
    let full = b
        .js("return document.fullscreenElement ? document.fullscreenElement.className : ''")
        .await;
    assert!(
        full.as_str().is_some_and(|c| c.contains("timeline")),
        "full screen shows the timeline: {full}"
    );
    // `f` leaves it again (the header with the button is behind the full-screen timeline).
    b.js(&key("f")).await;
    eventually("f leaves full screen", 5, async || {
        match b.js("return document.fullscreenElement === null").await == true {
            true => Ok(()),
            false => Err("still full screen".to_string()),
        }
    })
    .await;
    b.js(&key("t")).await;
    b.element("html[data-theme=dark]").await;
    b.js(&key("t")).await;
    b.element("html[data-theme=projector]").await;
    b.js(&key("1")).await;
    b.element("[data-testid=lesson][data-lesson=two_processes]")
        .await;
    observed(&b, 1, 20).await;
    // The replay of a run this short is over within a few frames: record what the replay
    // label showed while it ran.
    b.js(
        "window.__replay = []; new MutationObserver(() => window.__replay.push(
            document.querySelector('[data-testid=replay-time]').textContent))
          .observe(document.querySelector('[data-testid=replay-time]'),
                   {childList: true, characterData: true, subtree: true}); return true;",
    )
    .await;
    b.js(&key("p")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let shown = b.js("return window.__replay").await;
    assert!(
        shown.as_array().is_some_and(|a| a
            .iter()
            .any(|t| t.as_str().is_some_and(|t| t.starts_with("replay ")))),
        "p replays the run: {shown}"
    );
}

#[tokio::test]
async fn keys_are_commands_not_clicks_on_test_ids() {
    let _one = one_at_a_time();
    let Some(b) = Page::start(1280, 720).await else {
        return;
    };
    b.finished_run("?task_ms=300&tasks=4", "pool").await;
    // Every control loses its test id, and the replay buttons leave the page: a key must
    // not depend on finding a button.
    b.js(
        "document.querySelectorAll('button, select, input').forEach(e => e.removeAttribute('data-testid'));
         document.querySelectorAll('.replay button').forEach(e => e.style.display = 'none');
         window.__replay = [];
         window.__status = [];
         new MutationObserver(() => {
             window.__replay.push(document.querySelector('[data-testid=replay-time]').textContent);
             window.__status.push(document.querySelector('[data-testid=run-status]').textContent);
           })
           .observe(document.querySelector('[data-testid=replay-time]'),
                    {childList: true, characterData: true, subtree: true});
         return document.querySelectorAll('button[data-testid]').length;",
    )
    .await;
    let key = |k: &'static str| {
        format!(
            "document.body.dispatchEvent(new KeyboardEvent('keydown', {{key: {k:?}, bubbles: true}})); return true;"
        )
    };
    b.js(&key("p")).await;
    eventually("p replays without its button", 10, async || {
        let shown = b.js("return window.__replay").await;
        match shown.as_array().is_some_and(|a| {
            a.iter()
                .any(|t| t.as_str().is_some_and(|t| t.starts_with("replay ")))
        }) {
            true => Ok(()),
            false => Err(format!("replay label: {shown}")),
        }
    })
    .await;
    // A replay of a finished run says so; it never reads "running" (which would offer a
    // cancel that cannot apply).
    let states = b.js("return window.__status").await;
    let states: Vec<&str> = states
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str()).collect())
        .unwrap_or_default();
    assert!(
        states.contains(&"finished · replay") && !states.contains(&"running"),
        "the run's state during its replay: {states:?}"
    );
    b.js(&key("t")).await;
    b.element("html[data-theme=dark]").await;
    // `4` starts "The chef alone" (four 1 s jobs on one core) and `c` cancels it while it
    // runs.
    b.js(&key("4")).await;
    b.element("[data-testid=lesson][data-lesson=chef_alone]")
        .await;
    eventually("the lesson's run is going", 20, async || {
        match b.text("[data-testid=run-status]").await.as_str() {
            "running" => Ok(()),
            other => Err(other.to_string()),
        }
    })
    .await;
    b.js(&key("c")).await;
    b.text_contains("[data-testid=run-status]", "cancelled")
        .await;
}

/// WCAG contrast of every text of the top bar (labels, names, notes, the connection badge:
/// not the buttons, which have backgrounds of their own) against the bar; the lowest.
pub async fn lowest_top_bar_contrast(page: &Browser) -> (f64, String) {
    let found = page
        .client
        .execute(
            r#"
            const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
            const lum = ([r, g, b]) => {
              const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
              return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
            };
            const bar = document.querySelector('header.topbar');
            const back = lum(rgb(getComputedStyle(bar).backgroundColor));
            let low = [100, ''];
            for (const el of bar.querySelectorAll('*')) {
              if (el.closest('button, select, option')) continue;
              const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
              if (!own || el.getClientRects().length === 0) continue;
              const fore = lum(rgb(getComputedStyle(el).color));
              const ratio = (Math.max(fore, back) + 0.05) / (Math.min(fore, back) + 0.05);
              if (ratio < low[0]) low = [ratio, el.textContent.trim()];
            }
            return low;
            "#,
            vec![],
        )
        .await
        .expect("read the top bar's colours");
    (
        found[0].as_f64().unwrap_or(0.0),
        found[1].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn every_text_of_the_top_bar_is_readable_in_every_theme() {
    let Some(page) = Page::open(1280, 720, "").await else {
        return;
    };
    for theme in ["light", "dark", "projector"] {
        page.load(&format!("?theme={theme}")).await;
        page.element(&format!("html[data-theme={theme}]")).await;
        page.element("[data-testid=run-with]").await;
        let (ratio, text) = lowest_top_bar_contrast(&page).await;
        // WCAG AA for normal text: 4.5:1 ("Run with" was dark grey on the dark bar).
        assert!(
            ratio >= 4.5,
            "theme {theme}: {text:?} has a contrast of {ratio:.1}:1 on the top bar"
        );
    }
    page.close().await;
}
