//! A run recorded with `procviz run … > run.ndjson`, opened in the page.

use testkit::*;

/// Records a run as a user would: `procviz COMMAND > NAME` (`COMMAND` split at spaces), in
/// a directory of its own (gone when the first value is dropped); returns it and the file.
pub(crate) fn record(name: &str, command: &str) -> (TempDir, std::path::PathBuf) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_procviz"))
        .args(command.split_whitespace())
        .output()
        .expect("procviz run");
    assert!(
        out.status.success(),
        "procviz {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = TempDir::create(&format!("rec-{name}"));
    let file = dir.path().join(name);
    std::fs::write(&file, &out.stdout).expect("write the recording");
    (dir, file)
}

/// Opens the recording `file` in the page and waits until it is shown whole.
pub(crate) async fn open_recording(page: &Page, file: &std::path::Path) {
    page.element("[data-testid=open-recording]")
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    page.text_becomes("[data-testid=run-status]", "finished")
        .await;
}

#[tokio::test]
async fn a_recorded_run_opens_from_its_ndjson_file() {
    let Some(page) = Page::open(1280, 720, "").await else {
        return;
    };
    // Record a run with the CLI, as a user would: procviz run pool ... > run.ndjson
    let (dir, file) = record(
        "run.ndjson",
        "run pool --tasks 5000 --work none --task-ms 0",
    );
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

/// The right edges of the exit labels of the timeline and of its SVG box, page pixels.
async fn exit_label_edges(page: &Page) -> (Vec<(String, f64)>, f64) {
    let v = page
        .js(
            "const svg = document.querySelector('[data-testid=timeline]');
             const labels = [...document.querySelectorAll('[data-testid=exit-marker] text')]
               .map(t => [t.textContent, t.getBoundingClientRect().right]);
             return [labels, svg.getBoundingClientRect().right];",
        )
        .await;
    let labels = v[0]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| {
                    let text = l[0].as_str().unwrap_or_default().to_string();
                    (text, l[1].as_f64().expect("a right edge"))
                })
                .collect()
        })
        .unwrap_or_default();
    (labels, v[1].as_f64().expect("the SVG's right edge"))
}

#[tokio::test]
async fn a_process_killed_at_the_end_of_the_run_has_its_whole_exit_label_on_screen() {
    let Some(page) = Page::open(1280, 720, "").await else {
        return;
    };
    // A real run whose child is killed at its very end: its exit mark is at the plot's right
    // end, where its label ("-9", SIGKILL) has the least room.
    let (_dir, file) = record(
        "killed.ndjson",
        "run processes --count 1 --work-ms 1000 --kill Process-1@300",
    );
    for theme in ["light", "projector"] {
        page.load(&format!("?theme={theme}")).await;
        open_recording(&page, &file).await;
        let (labels, svg_right) = exit_label_edges(&page).await;
        let killed = labels
            .iter()
            .find(|(text, _)| text.contains("SIGKILL"))
            .unwrap_or_else(|| panic!("{theme}: the killed child's exit label in {labels:?}"));
        assert!(killed.0.contains("-9"), "{theme}: {killed:?}");
        for (text, right) in &labels {
            assert!(
                *right <= svg_right + 0.5,
                "{theme}: the exit label {text:?} ends at {right:.0} px, past the drawing's edge at {svg_right:.0} px"
            );
        }
        page.screenshot(&format!("exit-label-at-the-end-{theme}.png"))
            .await;
    }
    page.close().await;
}
