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

/// The mark of a run's end: the summary says "finished".
const FINISHED: (&str, &str) = (
    "finished",
    "document.querySelector('[data-testid=run-status]').textContent === 'finished'",
);

/// What the page's WebSocket carried so far (counted by the probe: messages, bytes, the
/// highest event `seq`, `task_finished` events).
async fn ws_counts(browser: &Browser) -> Value {
    browser
        .client
        .execute("return window.__ws;", vec![])
        .await
        .expect("WebSocket counts")
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

/// What the page holds, bytes: its JavaScript heap (used), its WebAssembly memory, and the
/// resident memory of the largest Chromium renderer process (which holds both, and the rest).
#[derive(Debug, Default)]
pub struct PageMemory {
    pub js_heap: f64,
    pub wasm: f64,
    pub renderer_rss: f64,
}

/// The page's memory now (see [`PageMemory`]); a figure that cannot be read is 0.
async fn page_memory(browser: &Browser) -> PageMemory {
    let heap = crate::cdp::cdp(browser, "Runtime.getHeapUsage", json!({})).await;
    // Every WebAssembly.Memory of the page (CDP Runtime.queryObjects by prototype).
    let proto = crate::cdp::cdp(
        browser,
        "Runtime.evaluate",
        json!({ "expression": "WebAssembly.Memory.prototype" }),
    )
    .await;
    let mut wasm = 0.0;
    if let Some(id) = proto["result"]["objectId"].as_str() {
        let found = crate::cdp::cdp(
            browser,
            "Runtime.queryObjects",
            json!({ "prototypeObjectId": id }),
        )
        .await;
        if let Some(list) = found["objects"]["objectId"].as_str() {
            let sum = crate::cdp::cdp(
                browser,
                "Runtime.callFunctionOn",
                json!({
                    "objectId": list,
                    "functionDeclaration": "function () { return this.reduce((n, m) => n + m.buffer.byteLength, 0); }",
                    "returnByValue": true
                }),
            )
            .await;
            wasm = sum["result"]["value"].as_f64().unwrap_or(0.0);
        }
    }
    PageMemory {
        js_heap: heap["usedSize"].as_f64().unwrap_or(0.0),
        wasm,
        renderer_rss: renderer_rss(),
    }
}

/// The resident memory of the largest Chromium renderer process, bytes (0 if none is found).
fn renderer_rss() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.flatten()
        .filter_map(|e| {
            let path = e.path();
            let cmdline = std::fs::read(path.join("cmdline")).ok()?;
            let renderer = cmdline.split(|&b| b == 0).any(|a| a == b"--type=renderer");
            renderer.then_some(())?;
            let status = std::fs::read_to_string(path.join("status")).ok()?;
            let kib: f64 = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()?;
            Some(kib * 1024.0)
        })
        .fold(0.0, f64::max)
}

pub struct Opened {
    pub memory: PageMemory,
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
            FINISHED,
        ],
    )
    .await;
    profile_start(browser).await;
    browser.click("[data-testid=demo-pool]").await;
    wait_mark(browser, "finished", Duration::from_secs(600)).await;
    let frames = stop_frames(browser, start).await;
    let profile = profile_stop(browser, "live-run").await;
    let ws = ws_counts(browser).await;
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

/// The traced CPython program of the CPython phase: `Pool(4).imap` over `tasks` no-op tasks,
/// chunksize 1 (the tracing-overhead benchmark's program).
fn noop_pool(tasks: u64) -> String {
    format!(
        "import multiprocessing as mp\n\n\
def noop(x):\n    return x\n\n\
if __name__ == \"__main__\":\n    with mp.Pool(4) as pool:\n        n = sum(1 for _ in pool.imap(noop, range({tasks}), chunksize=1))\n    print(n, \"results\")\n"
    )
}

/// What the CPython phase measured: a traced program's run streaming into the page.
pub struct LivePython {
    pub frames: Frames,
    pub events: i64,
    pub tasks: u64,
    pub run_wall: String,
}

/// A real CPython program, traced, streaming `tasks` tasks into the page (started on the
/// page's own WebSocket, as its Run button does); `None` when no `python3` can run it here.
pub async fn live_python_run(browser: &Browser, tasks: u64) -> Option<LivePython> {
    let server = Server::start();
    browser.open(&server.page_url("")).await;
    let hello_python = browser
        .client
        .execute(
            "return document.querySelector('[data-testid=with-cpython]')?.disabled === false;",
            vec![],
        )
        .await
        .ok()
        .and_then(|v| v.as_bool());
    if hello_python != Some(true) {
        println!("(the CPython phase was skipped: the server cannot run python3 here)");
        return None;
    }
    let start_run =
        shared::ClientMessage::start(shared::DemoRequest::Python(shared::PythonParams {
            program: shared::PythonProgram::Code {
                source: noop_pool(tasks),
            },
            args: Vec::new(),
            hang_after_ms: None,
        }));
    let start_run = serde_json::to_string(&start_run).expect("encode the start");
    let start = record_frames(browser, &[FINISHED]).await;
    browser
        .client
        .execute(
            "window.__socket.send(arguments[0]);",
            vec![json!(start_run)],
        )
        .await
        .expect("start the Python run on the page's socket");
    wait_mark(browser, "finished", Duration::from_secs(600)).await;
    let frames = stop_frames(browser, start).await;
    let ws = ws_counts(browser).await;
    let run_wall = text_of(browser, "[data-testid=wall-time]").await;
    drop(server);
    Some(LivePython {
        frames,
        events: ws["lastSeq"].as_i64().unwrap_or(-1) + 1,
        tasks: ws["tasksFinished"].as_u64().unwrap_or(0),
        run_wall,
    })
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
    let memory = page_memory(browser).await;
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
        memory,
        zoom,
        pan,
        profile,
    }
}
