//! The page at scale, measured in a real headless Chromium against the real server.
//!
//! `cargo bench -p backend --bench page` (release build of `procviz` with its page; needs
//! `chromium` and `chromedriver`). Prints a Markdown table for docs/BENCHMARKS.md:
//!
//! 1. a live `Pool(8).imap` over 100,000 one-millisecond sleeps streams into the page: every
//!    frame gap (a `requestAnimationFrame` loop stamping `performance.now()`), long tasks
//!    (`PerformanceObserver`), events received (counted on the page's own WebSocket);
//! 2. after it, zoom and pan steps on the timeline (keys sent to it), one per animation frame;
//! 3. a recording of 1,000,000 tasks (`procviz run pool --tasks 1000000 …`, about 500 MB)
//!    opened from the file input: load time and frame gaps while it loads, then zoom and pan.
//!
//! For each phase it also splits the page's main-thread time into script, style, layout and
//! the rest (Chromium's counters, CDP `Performance.getMetrics`). `PROCVIZ_BENCH_PROFILE=1` adds
//! a CPU profile of the streaming and loading phases (see [`profiling`]).
//!
//! Targets: no frame over 100 ms while a run streams or a recording loads, zoom and pan at
//! 30 frames per second or more. Everything started here (server, chromedriver, Chromium,
//! the recording's temporary file) is ended or removed on the way out, also on failure.

use serde_json::{Value, json};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use testkit::{Browser, Server};

const PROCVIZ: &str = env!("CARGO_BIN_EXE_procviz");
const LIVE_TASKS: u64 = 100_000;
const RECORDED_TASKS: u64 = 1_000_000;
/// The targets of the issue.
const FRAME_BUDGET_MS: f64 = 100.0;
const FPS_TARGET: f64 = 30.0;
/// Zoom steps (in, out, in again: ends zoomed 1.25^12 ≈ 15× around the middle) and pan steps
/// (right, left, right: every step moves the view, none hits the run's ends).
const ZOOM_PLAN: [(&str, usize); 3] = [("+", 12), ("-", 12), ("+", 12)];
const PAN_PLAN: [(&str, usize); 3] = [("ArrowRight", 40), ("ArrowLeft", 40), ("ArrowRight", 40)];

/// Installed before the page's own scripts (CDP `Page.addScriptToEvaluateOnNewDocument`):
/// counts the messages of the page's WebSocket, the highest event `seq` and the
/// `task_finished` events they carried, and keeps the long tasks Chromium reports.
const BEFORE_PAGE: &str = r#"(() => {
  const Native = window.WebSocket;
  const ws = (window.__ws = { messages: 0, bytes: 0, lastSeq: -1, tasksFinished: 0 });
  const finished = '"type":"task_finished"';
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (typeof e.data !== 'string') return;
        ws.messages += 1;
        ws.bytes += e.data.length;
        const at = e.data.lastIndexOf('"seq":');
        if (at >= 0) ws.lastSeq = Math.max(ws.lastSeq, parseInt(e.data.slice(at + 6, at + 30), 10));
        for (let i = e.data.indexOf(finished); i >= 0; i = e.data.indexOf(finished, i + 1)) ws.tasksFinished += 1;
      });
    }
  };
  window.__longtasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch (_) {}
})();"#;

/// A chromedriver extension command: one Chrome DevTools Protocol call.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// One Chrome DevTools Protocol call through chromedriver; its result.
async fn cdp(browser: &Browser, cmd: &'static str, params: Value) -> Value {
    browser
        .client
        .issue_cmd(Cdp { cmd, params })
        .await
        .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"))
}

/// `PROCVIZ_BENCH_PROFILE=1`: a CPU profile of the page (CDP `Profiler`, every 250 µs) around
/// each phase that streams or loads, saved as `target/page-bench/<phase>.cpuprofile` (open it
/// in Chromium's DevTools) and summed up by function under the table.
fn profiling() -> bool {
    std::env::var("PROCVIZ_BENCH_PROFILE").is_ok_and(|v| v == "1")
}

async fn profile_start(browser: &Browser) {
    if profiling() {
        cdp(browser, "Profiler.enable", json!({})).await;
        cdp(
            browser,
            "Profiler.setSamplingInterval",
            json!({ "interval": 250 }),
        )
        .await;
        cdp(browser, "Profiler.start", json!({})).await;
    }
}

/// Stops the profiler (if on), saves the profile and returns its summary.
async fn profile_stop(browser: &Browser, phase: &str) -> Option<String> {
    if !profiling() {
        return None;
    }
    let stopped = cdp(browser, "Profiler.stop", json!({})).await;
    let profile = &stopped["profile"];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/page-bench");
    std::fs::create_dir_all(&dir).expect("profile directory");
    let file = dir.join(format!("{phase}.cpuprofile"));
    std::fs::write(&file, profile.to_string()).expect("write the profile");
    Some(format!(
        "Profile of \"{phase}\" ({}):\n{}",
        file.display(),
        summarise(profile)
    ))
}

/// A function's name without the hashes of Rust symbols (`::h` and 16 hex digits): the
/// WebAssembly name section gives them demangled but hashed.
fn without_hashes(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find("::h") {
        let hash = rest.get(at + 3..at + 19);
        out.push_str(&rest[..at]);
        rest = if hash.is_some_and(|h| h.chars().all(|c| c.is_ascii_hexdigit())) {
            &rest[at + 19..]
        } else {
            out.push_str("::h");
            &rest[at + 3..]
        };
    }
    out.push_str(rest);
    out
}

/// The functions the profile's time went to: the top 15 by self time, and the top 20 of the
/// page's own code, its view library and its decoding by total time (the function anywhere on
/// the stack), in ms and % of the profile.
fn summarise(profile: &Value) -> String {
    let empty = Vec::new();
    let nodes = profile["nodes"].as_array().unwrap_or(&empty);
    let mut index = std::collections::HashMap::new();
    let mut names = Vec::with_capacity(nodes.len());
    let mut parent = vec![None; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        index.insert(n["id"].as_u64().unwrap_or(0), i);
        let frame = &n["callFrame"];
        let name = frame["functionName"].as_str().unwrap_or_default();
        names.push(if name.is_empty() {
            let url = frame["url"].as_str().unwrap_or_default();
            format!(
                "(anonymous) {}:{}",
                url.rsplit('/').next().unwrap_or_default(),
                frame["lineNumber"].as_i64().unwrap_or(0) + 1
            )
        } else {
            without_hashes(name)
        });
    }
    for (i, n) in nodes.iter().enumerate() {
        for child in n["children"].as_array().unwrap_or(&empty) {
            if let Some(&c) = child.as_u64().and_then(|id| index.get(&id)) {
                parent[c] = Some(i);
            }
        }
    }
    let samples: Vec<usize> = profile["samples"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter_map(|id| index.get(&id.as_u64()?).copied())
        .collect();
    let deltas: Vec<f64> = profile["timeDeltas"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let mut self_ms: std::collections::HashMap<&str, f64> = Default::default();
    let mut total_ms: std::collections::HashMap<&str, f64> = Default::default();
    let mut whole = 0.0;
    for (k, &node) in samples.iter().enumerate() {
        // A sample lasts until the next one.
        let ms = deltas.get(k + 1).copied().unwrap_or(0.0) / 1000.0;
        whole += ms;
        *self_ms.entry(&names[node]).or_default() += ms;
        let mut seen = std::collections::HashSet::new();
        let mut at = Some(node);
        while let Some(i) = at {
            if seen.insert(names[i].as_str()) {
                *total_ms.entry(&names[i]).or_default() += ms;
            }
            at = parent[i];
        }
    }
    let top =
        |map: &std::collections::HashMap<&str, f64>, n: usize, keep: &dyn Fn(&str) -> bool| {
            let mut v: Vec<(&str, f64)> = map
                .iter()
                .filter(|(n, _)| keep(n))
                .map(|(n, ms)| (*n, *ms))
                .collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1));
            v.iter()
                .take(n)
                .map(|(n, ms)| {
                    let n: String = n.chars().take(140).collect();
                    format!(
                        "  {ms:9.0} ms {:5.1} %  {n}\n",
                        ms / whole.max(f64::MIN_POSITIVE) * 100.0
                    )
                })
                .collect::<String>()
        };
    let own = |n: &str| {
        [
            "frontend::",
            "<tachys::",
            "tachys::",
            "shared::",
            "serde_json::de::from",
        ]
        .iter()
        .any(|p| n.starts_with(p))
    };
    format!(
        "{whole:.0} ms profiled: idle {:.0} ms, (program) {:.0} ms (outside script: style, layout, paint, …), GC {:.0} ms\nby self time:\n{}the page's code, its view library and decoding, by total time:\n{}",
        self_ms.get("(idle)").copied().unwrap_or(0.0),
        self_ms.get("(program)").copied().unwrap_or(0.0),
        self_ms.get("(garbage collector)").copied().unwrap_or(0.0),
        top(&self_ms, 15, &|n| !matches!(
            n,
            "(root)" | "(program)" | "(idle)" | "(garbage collector)"
        )),
        top(&total_ms, 20, &own)
    )
}

/// Frame-to-frame gaps (ms) of one phase, and what else the page recorded meanwhile.
#[derive(Debug, Default)]
struct Frames {
    gaps: Vec<f64>,
    /// Durations of the long tasks (> 50 ms) Chromium reported, ms.
    long_tasks: Vec<f64>,
    /// ms from the start of the phase to each mark (first frame its condition held).
    marks: Vec<(String, f64)>,
    elapsed_ms: f64,
    /// What the page's main thread did meanwhile.
    busy: Busy,
}

/// Chromium's own counters (CDP `Performance.getMetrics`): seconds of main-thread tasks,
/// of script, of style recalculation and of layout; DOM nodes at the time.
#[derive(Clone, Copy, Debug, Default)]
struct Metrics {
    task: f64,
    script: f64,
    style: f64,
    layout: f64,
    nodes: f64,
}

/// The main thread's work over a phase (the difference of two [`Metrics`]), seconds.
#[derive(Clone, Copy, Debug, Default)]
struct Busy {
    task: f64,
    script: f64,
    style: f64,
    layout: f64,
    /// DOM nodes at the end of the phase.
    nodes: f64,
}

impl Busy {
    fn between(a: Metrics, b: Metrics) -> Busy {
        Busy {
            task: b.task - a.task,
            script: b.script - a.script,
            style: b.style - a.style,
            layout: b.layout - a.layout,
            nodes: b.nodes,
        }
    }

    /// "main thread busy 21.0 s of 22.8 s: script 14.1 s, style 2.0 s, layout 1.5 s, other
    /// (paint, GC, …) 3.4 s; 3000 DOM nodes at the end"
    fn describe(&self, elapsed_ms: f64) -> String {
        format!(
            "main thread busy {:.1} s of {:.1} s: script {:.1} s, style {:.1} s, layout {:.1} s, other (paint, GC, …) {:.1} s; {:.0} DOM nodes at the end",
            self.task,
            elapsed_ms / 1000.0,
            self.script,
            self.style,
            self.layout,
            self.task - self.script - self.style - self.layout,
            self.nodes
        )
    }

    /// The same in ms, for short phases.
    fn describe_ms(&self) -> String {
        format!(
            "busy {:.0} ms: script {:.0}, style {:.0}, layout {:.0}, other {:.0}",
            self.task * 1e3,
            self.script * 1e3,
            self.style * 1e3,
            self.layout * 1e3,
            (self.task - self.script - self.style - self.layout) * 1e3
        )
    }
}

async fn metrics(browser: &Browser) -> Metrics {
    let v = cdp(browser, "Performance.getMetrics", json!({})).await;
    let get = |name: &str| -> f64 {
        v["metrics"]
            .as_array()
            .and_then(|all| all.iter().find(|m| m["name"] == name))
            .and_then(|m| m["value"].as_f64())
            .unwrap_or(0.0)
    };
    Metrics {
        task: get("TaskDuration"),
        script: get("ScriptDuration"),
        style: get("RecalcStyleDuration"),
        layout: get("LayoutDuration"),
        nodes: get("Nodes"),
    }
}

impl Frames {
    fn max(&self) -> f64 {
        self.gaps.iter().copied().fold(0.0, f64::max)
    }

    fn percentile(&self, p: f64) -> f64 {
        let mut v = self.gaps.clone();
        if v.is_empty() {
            return 0.0;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        v[((v.len() - 1) as f64 * p).round() as usize]
    }

    fn over(&self, ms: f64) -> usize {
        self.gaps.iter().filter(|&&g| g > ms).count()
    }

    fn mark(&self, name: &str) -> Option<f64> {
        self.marks.iter().find(|(n, _)| n == name).map(|(_, t)| *t)
    }

    /// "max 38 ms, p99 21 ms, 2 > 50 ms, 0 > 100 ms, 1,234 frames; 1 long task (max 62 ms)"
    fn describe(&self) -> String {
        let longest = self.long_tasks.iter().copied().fold(0.0, f64::max);
        format!(
            "max {:.0} ms, p99 {:.0} ms, {} > 50 ms, {} > 100 ms of {} frames; {} long tasks (longest {:.0} ms)",
            self.max(),
            self.percentile(0.99),
            self.over(50.0),
            self.over(100.0),
            self.gaps.len(),
            self.long_tasks.len(),
            longest
        )
    }
}

/// Zoom or pan steps, one per animation frame.
#[derive(Debug)]
struct Steps {
    steps: usize,
    elapsed_ms: f64,
    max_gap: f64,
    /// How many different first tick labels the axis showed (each step should move it).
    views: usize,
    busy: Busy,
}

impl Steps {
    fn fps(&self) -> f64 {
        self.steps as f64 / (self.elapsed_ms / 1000.0)
    }

    fn describe(&self) -> String {
        format!(
            "**{:.0} fps** = {:.1}× the {FPS_TARGET:.0} fps target ({} steps in {:.0} ms, max gap {:.0} ms, {} different first tick labels; {})",
            self.fps(),
            self.fps() / FPS_TARGET,
            self.steps,
            self.elapsed_ms,
            self.max_gap,
            self.views,
            self.busy.describe_ms()
        )
    }
}

fn budget(max_ms: f64) -> String {
    format!(
        "{:.2} of the {FRAME_BUDGET_MS:.0} ms budget",
        max_ms / FRAME_BUDGET_MS
    )
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

/// Starts the frame recorder: a `requestAnimationFrame` loop stamping `performance.now()`.
/// `marks` are named JavaScript conditions; the first frame each holds is recorded.
async fn record_frames(browser: &Browser, marks: &[(&str, &str)]) -> Metrics {
    let conditions: Vec<String> = marks
        .iter()
        .map(|(name, cond)| {
            format!(
                "[{name:?}, () => {{ try {{ return !!({cond}); }} catch (_) {{ return false; }} }}]"
            )
        })
        .collect();
    let script = format!(
        r#"const now = performance.now();
        const P = (window.__probe = {{ gaps: [], t0: now, last: now, stop: false, marks: {{}},
          lt: window.__longtasks ? window.__longtasks.length : 0 }});
        const conds = [{}];
        const tick = () => {{
          const t = performance.now();
          P.gaps.push(t - P.last);
          P.last = t;
          for (const [name, cond] of conds) if (!(name in P.marks) && cond()) P.marks[name] = t - P.t0;
          if (!P.stop) requestAnimationFrame(tick);
        }};
        requestAnimationFrame(tick);"#,
        conditions.join(", ")
    );
    browser
        .client
        .execute(&script, vec![])
        .await
        .expect("start the frame recorder");
    metrics(browser).await
}

/// Whether the recorder has seen mark `name`.
async fn marked(browser: &Browser, name: &str) -> bool {
    let script = format!("return window.__probe && ({name:?} in window.__probe.marks);");
    browser
        .client
        .execute(&script, vec![])
        .await
        .expect("read the recorder")
        .as_bool()
        .unwrap_or(false)
}

/// Polls (every 250 ms, at most `timeout`) until the recorder has seen mark `name`.
async fn wait_mark(browser: &Browser, name: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !marked(browser, name).await {
        assert!(
            Instant::now() < deadline,
            "{name}: not reached within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Stops the recorder (started when the counters read `start`) and returns what it saw.
async fn stop_frames(browser: &Browser, start: Metrics) -> Frames {
    let end = metrics(browser).await;
    let v = browser
        .client
        .execute(
            "const P = window.__probe; P.stop = true;
             const lt = (window.__longtasks || []).slice(P.lt)
               .filter(([start]) => start >= P.t0).map(([, d]) => d);
             return { gaps: P.gaps, marks: P.marks, elapsed: P.last - P.t0, long_tasks: lt };",
            vec![],
        )
        .await
        .expect("read the recorder");
    let numbers = |key: &str| -> Vec<f64> {
        v[key]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    Frames {
        gaps: numbers("gaps"),
        long_tasks: numbers("long_tasks"),
        marks: v["marks"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, t)| Some((k.clone(), t.as_f64()?)))
                    .collect()
            })
            .unwrap_or_default(),
        elapsed_ms: v["elapsed"].as_f64().unwrap_or(0.0),
        busy: Busy::between(start, end),
    }
}

/// Runs `plan` (keys sent to the focused timeline, one per animation frame, as keydown
/// events) and measures the frames until the one after the last step.
async fn timeline_steps(browser: &Browser, plan: &[(&str, usize)]) -> Steps {
    let keys: Vec<&str> = plan
        .iter()
        .flat_map(|&(key, n)| std::iter::repeat_n(key, n))
        .collect();
    // Start from a page at rest.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start = metrics(browser).await;
    browser
        .client
        .execute(
            "const el = document.querySelector('section.timeline');
             el.focus();
             const keys = arguments[0];
             const S = (window.__steps = { gaps: [], labels: [], done: false, t0: null, last: null, i: 0 });
             const label = () => { const l = document.querySelector('.tick-label'); return l ? l.textContent : ''; };
             const tick = () => {
               const t = performance.now();
               if (S.t0 === null) S.t0 = t; else S.gaps.push(t - S.last);
               S.last = t;
               S.labels.push(label());
               if (S.i < keys.length) {
                 el.dispatchEvent(new KeyboardEvent('keydown', { key: keys[S.i++], bubbles: true, cancelable: true }));
                 requestAnimationFrame(tick);
               } else {
                 S.elapsed = t - S.t0;
                 S.done = true;
               }
             };
             requestAnimationFrame(tick);",
            vec![json!(keys)],
        )
        .await
        .expect("start the steps");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let v = browser
            .client
            .execute(
                "return window.__steps.done ? window.__steps : null;",
                vec![],
            )
            .await
            .expect("read the steps");
        if !v.is_null() {
            let gaps: Vec<f64> = v["gaps"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            let mut labels: Vec<&str> = v["labels"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            labels.sort_unstable();
            labels.dedup();
            return Steps {
                steps: keys.len(),
                elapsed_ms: v["elapsed"].as_f64().expect("elapsed"),
                max_gap: gaps.iter().copied().fold(0.0, f64::max),
                views: labels.len(),
                busy: Busy::between(start, metrics(browser).await),
            };
        }
        assert!(
            Instant::now() < deadline,
            "the steps did not finish in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

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

/// A directory removed (with its contents) when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
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

struct Live {
    chromium: String,
    idle: Frames,
    frames: Frames,
    events: i64,
    messages: u64,
    megabytes: f64,
    tasks: u64,
    run_wall: String,
    zoom: Steps,
    pan: Steps,
    profile: Option<String>,
}

struct Opened {
    size: u64,
    lines: u64,
    record_secs: f64,
    frames: Frames,
    title: String,
    zoom: Steps,
    pan: Steps,
    profile: Option<String>,
}

async fn live_run(browser: &Browser) -> Live {
    let server = Server::start();
    let query = format!("?workers=8&tasks={LIVE_TASKS}&task_ms=1&work=sleep&api=imap");
    browser.open(&format!("{}{query}", server.url())).await;
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

async fn open_recording(browser: &Browser) -> Opened {
    let dir =
        TempDir(std::env::temp_dir().join(format!("procviz-page-bench-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("temporary directory");
    let (path, size, lines, record_secs) = record(&dir.0, RECORDED_TASKS);
    // A fresh server: the page must not follow the live run of phase 1 again.
    let server = Server::start();
    browser.open(&server.url()).await;
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

fn print_report(live: &Live, opened: &Opened) {
    let load_ms = opened
        .frames
        .mark("loaded")
        .unwrap_or(opened.frames.elapsed_ms);
    println!(
        "Chromium {} (headless, chromedriver), {} cores",
        live.chromium,
        cores()
    );
    if profiling() {
        println!(
            "(PROCVIZ_BENCH_PROFILE=1: the CPU profiler slows the page; use these figures to compare, not as results)"
        );
    }
    println!();
    println!("| measure | figure | against the target |");
    println!("|---|---|---|");
    println!(
        "| idle page, frame interval (median / max) | {:.1} / {:.1} ms ({} frames in 2 s) | |",
        live.idle.percentile(0.5),
        live.idle.max(),
        live.idle.gaps.len()
    );
    println!(
        "| live `Pool(8).imap`, {LIVE_TASKS} tasks of 1 ms sleep: streamed | {} events ({} tasks finished) in {} WebSocket messages ({:.0} MB); {:.1} s from the click to \"finished\" (run wall time {}); canvas from {:.1} s | |",
        live.events,
        live.tasks,
        live.messages,
        live.megabytes,
        live.frames
            .mark("finished")
            .unwrap_or(live.frames.elapsed_ms)
            / 1000.0,
        live.run_wall,
        live.frames.mark("canvas").unwrap_or(f64::NAN) / 1000.0,
    );
    print_phase(
        "live run, frames while it streams",
        "live run, the page's main thread",
        "after it:",
        &live.frames,
        [&live.zoom, &live.pan],
    );
    println!(
        "| recording of {RECORDED_TASKS} tasks (`procviz run pool --tasks {RECORDED_TASKS} --work none --task-ms 0`) | {:.0} MB, {} events, written in {:.1} s | |",
        opened.size as f64 / 1e6,
        opened.lines,
        opened.record_secs
    );
    println!(
        "| recording: open (file input → drawn) | **{:.1} s** ({:.0} MB/s); title \"{}\" | |",
        load_ms / 1000.0,
        opened.size as f64 / 1e6 / (load_ms / 1000.0),
        opened.title
    );
    print_phase(
        "recording, frames while it loads",
        "recording, the page's main thread while it loads",
        "recording:",
        &opened.frames,
        [&opened.zoom, &opened.pan],
    );
}

/// The rows of one phase: its frames against the budget, its main thread, then zoom and pan
/// against the fps target (`after` prefixes their names).
fn print_phase(
    frames_row: &str,
    thread_row: &str,
    after: &str,
    frames: &Frames,
    steps: [&Steps; 2],
) {
    println!(
        "| {frames_row} | {} | max frame {:.0} ms = {}: {} |",
        frames.describe(),
        frames.max(),
        budget(frames.max()),
        verdict(frames.max() <= FRAME_BUDGET_MS)
    );
    println!(
        "| {thread_row} | {} | |",
        frames.busy.describe(frames.elapsed_ms)
    );
    for (name, s) in ["zoom", "pan"].into_iter().zip(steps) {
        println!(
            "| {after} {name} ({} steps) | {} | {} |",
            s.steps,
            s.describe(),
            verdict(s.fps() >= FPS_TARGET)
        );
    }
}

fn print_profiles(live: &Live, opened: &Opened) {
    for profile in [&live.profile, &opened.profile].into_iter().flatten() {
        println!();
        print!("{profile}");
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

async fn bench() -> Option<(Live, Opened)> {
    let browser = Browser::start(1280, 720).await?;
    browser
        .client
        .issue_cmd(Cdp {
            cmd: "Page.addScriptToEvaluateOnNewDocument",
            params: json!({ "source": BEFORE_PAGE }),
        })
        .await
        .expect("install the page probes (CDP through chromedriver)");
    cdp(&browser, "Performance.enable", json!({})).await;
    let live = live_run(&browser).await;
    let opened = open_recording(&browser).await;
    browser.close().await;
    Some((live, opened))
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(bench()) {
        Some((live, opened)) => {
            print_report(&live, &opened);
            print_profiles(&live, &opened);
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "the page benchmark needs chromedriver and Chromium: apt-get install chromium chromium-driver"
            );
            ExitCode::FAILURE
        }
    }
}
