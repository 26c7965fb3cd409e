//! A run recorded with `procviz run … > run.ndjson`, opened in the page.

use testkit::*;

#[tokio::test]
async fn a_recorded_run_opens_from_its_ndjson_file() {
    let Some(page) = Page::open(1280, 720, "").await else {
        return;
    };
    // Record a run with the CLI, as a user would: procviz run pool ... > run.ndjson
    let dir = TempDir::create("rec");
    let file = dir.path().join("run.ndjson");
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
    let input = page.element("[data-testid=open-recording]").await;
    input
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    eventually("the recording's title", 30, async || {
        let title = page.text("section.timeline h2").await;
        if title.contains("recording run.ndjson") {
            Ok(())
        } else {
            Err(format!("{title:?}"))
        }
    })
    .await;
    page.text_becomes("[data-testid=run-status]", "finished")
        .await;
    page.element("section.timeline[data-render=canvas]").await;
    let first = page.elements("[data-testid=result]", 130).await;
    assert!(
        first[0]
            .text()
            .await
            .unwrap_or_default()
            .contains("ZeroDivisionError")
    );
    // A file that is not a recording: a clear error, nothing else changes.
    let bad = dir.path().join("notes.ndjson");
    std::fs::write(&bad, "hello\n").expect("write");
    input
        .send_keys(&bad.display().to_string())
        .await
        .expect("choose");
    let banner = page.text("[data-testid=command-error]").await;
    assert!(banner.contains("not a procviz recording"), "{banner}");
    assert!(
        page.text("section.timeline h2")
            .await
            .contains("recording run.ndjson")
    );
    // A live run replaces the recording (even with the same run number).
    page.click("[data-testid=demo-two_processes]").await;
    page.text_becomes("section.timeline h2", "Two processes — run 1")
        .await;
    page.elements("[data-testid=lane]", 3).await;
}
