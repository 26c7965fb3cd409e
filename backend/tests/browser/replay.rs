//! Looking back at a run: the scrub cursor, replay and stepping from event to event.

use testkit::*;

#[tokio::test]
async fn the_scrub_cursor_shows_the_run_at_a_chosen_moment() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser.finished_run(&server.url(), "pool").await;
    // Press the axis in the middle of the plot (about 1.6 s into the 3 s run: second wave).
    browser
        .client
        .execute(
            "const svg = document.querySelector('[data-testid=timeline]');
             const r = svg.getBoundingClientRect();
             const s = r.width / 1200;
             const x = r.left + (200 + (1200 - 200 - 90) / 2) * s;
             const y = r.top + 15 * s;
             document.querySelector('[data-testid=scrub]').dispatchEvent(
               new PointerEvent('pointerdown', { clientX: x, clientY: y, buttons: 1, bubbles: true }));",
            vec![],
        )
        .await
        .unwrap();
    let (state, text) = eventually("no cursor state", 10, async || {
        let state = browser.element("[data-testid=cursor-state]").await;
        let text = state.text().await.unwrap();
        if text.starts_with("at ") {
            Ok((state, text))
        } else {
            Err(text)
        }
    })
    .await;
    assert_eq!(
        state.attr("data-running").await.unwrap().as_deref(),
        Some("4"),
        "{text}"
    );
    assert!(text.contains("4 processes alive"), "{text}");
    assert!(
        text.contains("5 results"),
        "results 0–4 were consumed by then: {text}"
    );
    browser.close().await;
}

#[tokio::test]
async fn replay_rebuilds_the_run_in_time_and_steps_go_event_by_event() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser
        .finished_run(&format!("{}?tasks=8&task_ms=500", server.url()), "pool")
        .await;
    browser.elements("[data-testid=result]", 8).await;

    browser.click("[data-testid=replay]").await;
    let count = |b: &Browser| {
        let c = b.client.clone();
        async move {
            c.find_all(fantoccini::Locator::Css("[data-testid=result]"))
                .await
                .unwrap()
                .len()
        }
    };
    // Partway through the replay, only the results consumed by then are shown.
    eventually("no partial state seen during the replay", 10, async || {
        let n = count(&browser).await;
        let label = browser.text("[data-testid=replay-time]").await;
        if (1..8).contains(&n) && label.starts_with("replay") {
            Ok(())
        } else {
            Err(format!("{n} results, {label:?}"))
        }
    })
    .await;
    // It ends showing everything again.
    browser
        .text_becomes("[data-testid=replay-time]", "showing everything")
        .await;
    assert_eq!(count(&browser).await, 8);

    // Stepping back from the end goes to the last event, then further back.
    browser.click("[data-testid=step-back]").await;
    let label = browser
        .element("[data-testid=replay-time]")
        .await
        .text()
        .await
        .unwrap();
    assert!(label.starts_with("replay"), "{label}");
    browser.close().await;
}
