//! The page's connection to its server: a reload gets a finished or a running run back whole;
//! a lost server shows a countdown and the page reconnects by itself.

use std::time::Duration;
use testkit::*;

#[tokio::test]
async fn after_a_reload_the_finished_run_comes_back() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser.finished_run(&server.url(), "two_processes").await;
    browser.client.refresh().await.unwrap();
    browser
        .text_becomes("[data-testid=run-status]", "finished")
        .await;
    browser.elements("[data-testid=lane]", 3).await;
    browser.elements(".console-line", 3).await;
    browser.close().await;
}

#[tokio::test]
async fn a_reload_during_a_run_finds_it_still_running_and_intact() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser
        .open(&format!("{}?tasks=8&task_ms=1000&fail=0", server.url()))
        .await;
    browser.click("[data-testid=demo-pool]").await;
    browser.elements("[data-testid=task-bar]", 5).await;
    browser.client.refresh().await.unwrap();
    browser
        .element("[data-testid=connection][data-state=Connected]")
        .await;
    browser
        .text_becomes("[data-testid=run-status]", "finished")
        .await;
    // Nothing was lost: every result, the error first, and no cancellation.
    let results = browser.elements("[data-testid=result]", 8).await;
    assert!(
        results[0]
            .text()
            .await
            .unwrap()
            .contains("ZeroDivisionError")
    );
    browser.elements("[data-testid=lane]", 5).await;
    browser.close().await;
}

#[tokio::test]
async fn the_connection_state_shows_a_countdown_and_comes_back() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let mut first = Server::start();
    let port = first.addr.rsplit(':').next().unwrap().to_string();
    browser.open(&first.url()).await;
    first.signal_and_wait(libc::SIGTERM, Duration::from_secs(5));
    let badge = browser
        .element("[data-testid=connection][data-state^=Reconnecting]")
        .await;
    let text = badge.text().await.unwrap();
    assert!(text.starts_with("disconnected — reconnecting in"), "{text}");
    let _second = Server::start_on(&port, &[]);
    // Back by itself (the countdown grows 1, 2, 4, 8 s between failed attempts).
    eventually("not reconnected", 20, async || {
        let state = browser
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
    browser.close().await;
}
