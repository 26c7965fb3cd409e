//! Looking back at a run: the scrub cursor, replay and stepping from event to event.

use testkit::*;

#[tokio::test]
async fn the_scrub_cursor_shows_the_run_at_a_chosen_moment() {
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    page.finished_run("", "pool").await;
    // Press the axis in the middle of the plot (about 1.6 s into the 3 s run: second wave).
    page
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
        let state = page.element("[data-testid=cursor-state]").await;
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
}

#[tokio::test]
async fn replay_rebuilds_the_run_in_time_and_steps_go_event_by_event() {
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    page.finished_run("?tasks=8&task_ms=500", "pool").await;
    page.elements("[data-testid=result]", 8).await;

    page.click("[data-testid=replay]").await;
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
        let n = count(&page).await;
        let label = page.text("[data-testid=replay-time]").await;
        if (1..8).contains(&n) && label.starts_with("replay") {
            Ok(())
        } else {
            Err(format!("{n} results, {label:?}"))
        }
    })
    .await;
    // It ends showing everything again.
    page.text_becomes("[data-testid=replay-time]", "showing everything")
        .await;
    assert_eq!(count(&page).await, 8);

    // Stepping back from the end goes to the last event, then further back.
    page.click("[data-testid=step-back]").await;
    let label = page
        .element("[data-testid=replay-time]")
        .await
        .text()
        .await
        .unwrap();
    assert!(label.starts_with("replay"), "{label}");
}
