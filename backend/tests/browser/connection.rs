//! The page's connection to its server: a reload gets a finished or a running run back whole;
//! a lost server shows a countdown and the page reconnects by itself.

use std::time::Duration;
use testkit::*;

#[tokio::test]
async fn after_a_reload_the_finished_run_comes_back() {
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    page.finished_run("", "two_processes").await;
    page.client.refresh().await.unwrap();
    page.text_becomes("[data-testid=run-status]", "finished")
        .await;
    page.elements("[data-testid=lane]", 3).await;
    page.elements(".console-line", 3).await;
}

#[tokio::test]
async fn a_reload_during_a_run_finds_it_still_running_and_intact() {
    let Some(page) = Page::open(1280, 720, "?tasks=8&task_ms=1000&fail=0").await else {
        return;
    };
    page.click("[data-testid=demo-pool]").await;
    page.elements("[data-testid=task-bar]", 5).await;
    page.client.refresh().await.unwrap();
    page.element("[data-testid=connection][data-state=Connected]")
        .await;
    page.text_becomes("[data-testid=run-status]", "finished")
        .await;
    // Nothing was lost: every result, the error first, and no cancellation.
    let results = page.elements("[data-testid=result]", 8).await;
    assert!(
        results[0]
            .text()
            .await
            .unwrap()
            .contains("ZeroDivisionError")
    );
    page.elements("[data-testid=lane]", 5).await;
}

#[tokio::test]
async fn the_connection_state_shows_a_countdown_and_comes_back() {
    let Some(mut page) = Page::open(1280, 720, "").await else {
        return;
    };
    let port = page.server.addr.rsplit(':').next().unwrap().to_string();
    page.server
        .signal_and_wait(libc::SIGTERM, Duration::from_secs(5));
    let badge = page
        .element("[data-testid=connection][data-state^=Reconnecting]")
        .await;
    let text = badge.text().await.unwrap();
    assert!(text.starts_with("disconnected — reconnecting in"), "{text}");
    // The same server again, with the same token (a new one would be refused: the page's
    // cookie holds the old one; `lecture_hall` checks that case).
    let token = page.server.token.clone();
    let _second = Server::start_on(&port, &["--token", &token]);
    // Back by itself (the countdown grows 1, 2, 4, 8 s between failed attempts).
    eventually("not reconnected", 20, async || {
        let state = page
            .element("[data-testid=connection]")
            .await
            .attr("data-state")
            .await
            .unwrap()
            .unwrap_or_default();
        if state == "Connected" {
            Ok(())
        } else {
            Err(state)
        }
    })
    .await;
}
