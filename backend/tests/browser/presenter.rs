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
