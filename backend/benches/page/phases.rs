//! The benchmark's two phases: a live run streaming into the page, then a recording opened
//! from its file; each followed by zoom and pan.

use crate::probe::{Frames, Steps, record_frames, stop_frames, timeline_steps, wait_mark};
use crate::profile::{profile_start, profile_stop};
use crate::{LIVE_TASKS, PAN_PLAN, RECORDED_TASKS, ZOOM_PLAN};
use serde_json::{Value, json};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testkit::{Browser, Server, TempDir};

const PROCVIZ: &str = env!("CARGO_BIN_EXE_procviz");

/// The text of the first element matching `css` ("" if none).
async fn text_of(browser: &Browser, css: &str) -> String {
    browser
        .client
        .execute(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
            vec![json!(css)],
        )
        .await
        .expect("read the page")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Writes a recording of `tasks` no-op tasks with the CLI; returns its path, size and lines.
fn record(dir: &Path, tasks: u64) -> (PathBuf, u64, u64, f64) {
    let path = dir.join(format!("pool-{tasks}.ndjson"));
    let out = File::create(&path).expect("create the recording file");
    let start = Instant::now();
    let status = Command::new(PROCVIZ)
        .args(["run", "pool", "--tasks", &tasks.to_string()])
        .args(["--work", "none", "--task-ms", "0"])
        .stdout(out)
        .stderr(Stdio::null())
        .status()
        .expect("run procviz run pool");
    let secs = start.elapsed().as_secs_f64();
    assert!(status.success(), "procviz run pool failed: {status}");
    let size = std::fs::metadata(&path).expect("recording size").len();
    let lines = BufReader::new(File::open(&path).expect("open the recording"))
        .split(b'\n')
        .count() as u64;
    (path, size, lines, secs)
}

pub struct Live {
    pub chromium: String,
    pub idle: Frames,
    pub frames: Frames,
    pub events: i64,
    pub messages: u64,
    pub megabytes: f64,
    pub tasks: u64,
    pub run_wall: String,
    pub zoom: Steps,
    pub pan: Steps,
    pub profile: Option<String>,
}

pub struct Opened {
    pub size: u64,
    pub lines: u64,
    pub record_secs: f64,
    pub frames: Frames,
    pub title: String,
    pub zoom: Steps,
    pub pan: Steps,
    pub profile: Option<String>,
}

pub async fn live_run(browser: &Browser) -> Live {
    let server = Server::start();
    let query = format!("?workers=8&tasks={LIVE_TASKS}&task_ms=1&work=sleep&api=imap");
    browser.open(&server.page_url(&query)).await;
    let chromium = browser
        .client
        .capabilities()
        .and_then(|c| c.get("browserVersion"))
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    // The page at rest, for reference: the frame cadence of this headless Chromium.
    let start = record_frames(browser, &[]).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = stop_frames(browser, start).await;

    let start = record_frames(
        browser,
        &[
            (
                "canvas",
                "document.querySelector('section.timeline[data-render=canvas]')",
            ),
            (
                "finished",
                "document.querySelector('[data-testid=run-status]').textContent === 'finished'",
            ),
        ],
    )
    .await;
    profile_start(browser).await;
    browser.click("[data-testid=demo-pool]").await;
    wait_mark(browser, "finished", Duration::from_secs(600)).await;
    let frames = stop_frames(browser, start).await;
    let profile = profile_stop(browser, "live-run").await;
    let ws = browser
        .client
        .execute("return window.__ws;", vec![])
        .await
        .expect("WebSocket counts");
    let run_wall = text_of(browser, "[data-testid=wall-time]").await;
    browser
        .element("section.timeline[data-render=canvas]")
        .await;
    let zoom = timeline_steps(browser, &ZOOM_PLAN).await;
    let pan = timeline_steps(browser, &PAN_PLAN).await;
    drop(server);
    Live {
        chromium,
        idle,
        frames,
        events: ws["lastSeq"].as_i64().unwrap_or(-1) + 1,
        messages: ws["messages"].as_u64().unwrap_or(0),
        megabytes: ws["bytes"].as_f64().unwrap_or(0.0) / 1e6,
        tasks: ws["tasksFinished"].as_u64().unwrap_or(0),
        run_wall,
        zoom,
        pan,
        profile,
    }
}

pub async fn open_recording(browser: &Browser) -> Opened {
    let dir = TempDir::create("page-bench");
    let (path, size, lines, record_secs) = record(dir.path(), RECORDED_TASKS);
    // A fresh server: the page must not follow the live run of phase 1 again.
    let server = Server::start();
    browser.open(&server.page_url("")).await;
    let input = browser.element("[data-testid=open-recording]").await;
    let start = record_frames(
        browser,
        &[
            (
                "reading",
                "document.querySelector('[data-testid=loading]').textContent !== ''",
            ),
            (
                "loaded",
                "document.querySelector('[data-testid=loading]').textContent === '' \
                 && document.querySelector('section.timeline h2').textContent.includes('recording')",
            ),
        ],
    )
    .await;
    profile_start(browser).await;
    input
        .send_keys(&path.to_string_lossy())
        .await
        .expect("give the file to the file input");
    wait_mark(browser, "loaded", Duration::from_secs(600)).await;
    let frames = stop_frames(browser, start).await;
    let profile = profile_stop(browser, "open-recording").await;
    let title = text_of(browser, "section.timeline h2").await;
    browser
        .element("section.timeline[data-render=canvas]")
        .await;
    let zoom = timeline_steps(browser, &ZOOM_PLAN).await;
    let pan = timeline_steps(browser, &PAN_PLAN).await;
    drop(server);
    Opened {
        size,
        lines,
        record_secs,
        frames,
        title,
        zoom,
        pan,
        profile,
    }
}
