//! A run recorded with `procviz run … > run.ndjson`, opened in the page.

use testkit::*;

#[tokio::test]
async fn a_recorded_run_opens_from_its_ndjson_file() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser.open(&server.url()).await;
    // Record a run with the CLI, as a user would: procviz run pool ... > run.ndjson
    let dir = std::env::temp_dir().join(format!("procviz-rec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("run.ndjson");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_procviz"))
        .args([
            "run",
            "pool",
            "--tasks",
            "5000",
            "--work",
            "none",
            "--task-ms",
            "0",
        ])
        .output()
        .expect("procviz run");
    assert!(out.status.success());
    std::fs::write(&file, &out.stdout).expect("write the recording");
    let input = browser.element("[data-testid=open-recording]").await;
    input
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    eventually("the recording's title", 30, async || {
        let title = browser.text("section.timeline h2").await;
        if title.contains("recording run.ndjson") {
            Ok(())
        } else {
            Err(format!("{title:?}"))
        }
    })
    .await;
    browser
        .text_becomes("[data-testid=run-status]", "finished")
        .await;
    browser
        .element("section.timeline[data-render=canvas]")
        .await;
    let first = browser.elements("[data-testid=result]", 130).await;
    assert!(
        first[0]
            .text()
            .await
            .unwrap_or_default()
            .contains("ZeroDivisionError")
    );
    // A file that is not a recording: a clear error, nothing else changes.
    let bad = dir.join("notes.ndjson");
    std::fs::write(&bad, "hello\n").expect("write");
    input
        .send_keys(&bad.display().to_string())
        .await
        .expect("choose");
    let banner = browser.text("[data-testid=command-error]").await;
    assert!(banner.contains("not a procviz recording"), "{banner}");
    assert!(
        browser
            .text("section.timeline h2")
            .await
            .contains("recording run.ndjson")
    );
    // A live run replaces the recording (even with the same run number).
    browser.click("[data-testid=demo-two_processes]").await;
    browser
        .text_becomes("section.timeline h2", "Two processes — run 1")
        .await;
    browser.elements("[data-testid=lane]", 3).await;
    let _ = std::fs::remove_dir_all(&dir);
    browser.close().await;
}
