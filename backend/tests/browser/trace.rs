//! The run as a Perfetto trace from the page: "Download trace" gives the file, "Open in
//! Perfetto" hands it to a window by Perfetto's handshake, or says why it cannot (offline).
//! ui.perfetto.dev is out of reach here, so the handshake is checked against a stand-in
//! window that behaves as Perfetto's documentation says (answers `PONG` to `PING` once it is
//! loaded, then takes `{perfetto: {buffer, title, fileName}}`).

use serde_json::{Value, json};
use testkit::*;

/// The tasks of a trace: task number → its `X` event.
fn tasks(trace: &Value) -> Vec<&Value> {
    trace["traceEvents"]
        .as_array()
        .expect("traceEvents")
        .iter()
        .filter(|e| e["ph"] == "X" && e["cat"] == "task")
        .collect()
}

/// A 4-task pool run's trace, as the page wrote it.
fn assert_is_the_runs_trace(trace: &Value) {
    let tasks = tasks(trace);
    assert_eq!(tasks.len(), 4, "every task of the run");
    for n in 0..4 {
        let task = tasks
            .iter()
            .find(|e| e["args"]["task"] == n)
            .unwrap_or_else(|| panic!("task {n}"));
        assert_eq!(task["name"], format!("task {n}"));
        assert!(
            task["args"]["worker"]
                .as_str()
                .is_some_and(|w| w.starts_with("PoolWorker-")),
            "{task}"
        );
    }
    assert_eq!(
        tasks
            .iter()
            .filter(|e| e["args"]["error_type"] == "ZeroDivisionError")
            .count(),
        1,
        "task 0 raised"
    );
    let ftrace = trace["systemTraceEvents"].as_str().expect("ftrace text");
    assert!(ftrace.starts_with("# tracer: nop\n"), "{ftrace}");
    assert_eq!(trace["metadata"]["run"], 1);
    assert_eq!(trace["metadata"]["outcome"]["type"], "completed");
}

#[tokio::test]
async fn download_trace_gives_the_runs_trace() {
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    page.finished_run("?tasks=4&task_ms=200", "pool").await;
    page.click("[data-testid=export-trace]").await;
    let link = page.element("[data-testid=export-trace-link]").await;
    let name = link.attr("download").await.ok().flatten();
    assert_eq!(name.as_deref(), Some("procviz-run-1.trace.json"));
    let text = page
        .js(
            "const a = document.querySelector('[data-testid=export-trace-link]');
             return fetch(a.href).then(r => r.text());",
        )
        .await;
    let trace: Value = serde_json::from_str(text.as_str().expect("the file's text")).expect("JSON");
    assert_is_the_runs_trace(&trace);
}

/// Makes `window.open` return a same-origin frame that stands in for Perfetto's window: it
/// records what it is sent, answers a `PONG` from another origin first (to be ignored), then
/// Perfetto's `PONG` to the third `PING`, asynchronously as a real window would.
const STAND_IN: &str = r#"
const frame = document.createElement('iframe');
frame.style.display = 'none';
document.body.appendChild(frame);
const perfetto = frame.contentWindow;
window.__sent = [];
window.__opened = [];
const answer = (origin) => setTimeout(() => window.dispatchEvent(
  new MessageEvent('message', { data: 'PONG', origin, source: perfetto })), 0);
perfetto.postMessage = (message, targetOrigin) => {
  window.__sent.push({ message, targetOrigin });
  const pings = window.__sent.filter(s => s.message === 'PING').length;
  if (message === 'PING' && pings === 1) answer('https://elsewhere.example');
  if (message === 'PING' && pings === 3) answer('https://ui.perfetto.dev');
};
window.open = (url, target) => { window.__opened.push([url, target]); return perfetto; };
return true;"#;

#[tokio::test]
async fn open_in_perfetto_hands_the_trace_over_by_the_handshake() {
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    page.finished_run("?tasks=4&task_ms=200", "pool").await;
    page.js(STAND_IN).await;
    page.click("[data-testid=open-perfetto]").await;
    page.text_contains("[data-testid=perfetto-note]", "sent to Perfetto")
        .await;
    let opened = page.js("return window.__opened;").await;
    assert_eq!(opened, json!([["https://ui.perfetto.dev", "_blank"]]));
    let sent = page
        .js("return window.__sent.map(s => typeof s.message === 'string'
               ? { message: s.message, targetOrigin: s.targetOrigin }
               : { targetOrigin: s.targetOrigin,
                   title: s.message.perfetto.title,
                   fileName: s.message.perfetto.fileName,
                   trace: new TextDecoder().decode(s.message.perfetto.buffer) });")
        .await;
    let sent = sent.as_array().expect("messages");
    let pings = sent.iter().filter(|s| s["message"] == "PING").count();
    assert_eq!(pings, 3, "pings until Perfetto's own PONG: {sent:?}");
    assert!(
        sent.iter()
            .all(|s| s["targetOrigin"] == "https://ui.perfetto.dev"),
        "only Perfetto's origin is written to"
    );
    let posted: Vec<&Value> = sent.iter().filter(|s| s.get("trace").is_some()).collect();
    assert_eq!(posted.len(), 1, "the trace is posted once, last");
    assert!(sent.last().is_some_and(|s| s.get("trace").is_some()));
    assert_eq!(posted[0]["title"], "procviz run 1: Pool");
    assert_eq!(posted[0]["fileName"], "procviz-run-1.trace.json");
    let trace: Value =
        serde_json::from_str(posted[0]["trace"].as_str().expect("text")).expect("JSON");
    assert_is_the_runs_trace(&trace);
}

#[tokio::test]
async fn offline_open_in_perfetto_says_so_and_offers_the_file() {
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    page.finished_run("?tasks=4&task_ms=200", "pool").await;
    page.js("window.__opened = 0; window.open = () => { window.__opened++; return null; }; return true;")
        .await;
    page.cdp("Network.enable", json!({})).await;
    page.cdp(
        "Network.emulateNetworkConditions",
        json!({ "offline": true, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
    )
    .await;
    assert_eq!(
        page.js("return navigator.onLine;").await,
        json!(false),
        "the browser is offline"
    );
    page.click("[data-testid=open-perfetto]").await;
    let note = page
        .text_contains("[data-testid=perfetto-note]", "offline")
        .await;
    assert!(note.contains("Download the trace"), "{note}");
    assert_eq!(
        page.js("return window.__opened;").await,
        json!(0),
        "no window"
    );
    // The file is offered, and it is the run's trace.
    let text = page
        .js(
            "const a = document.querySelector('[data-testid=export-trace-link]');
             return a ? fetch(a.href).then(r => r.text()) : 'no link';",
        )
        .await;
    let trace: Value = serde_json::from_str(text.as_str().expect("text")).expect("JSON");
    assert_is_the_runs_trace(&trace);
    // A window that will not open (a pop-up blocker) is said as plainly.
    page.cdp(
        "Network.emulateNetworkConditions",
        json!({ "offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
    )
    .await;
    page.click("[data-testid=open-perfetto]").await;
    page.text_contains("[data-testid=perfetto-note]", "pop-ups blocked")
        .await;
    assert_eq!(page.js("return window.__opened;").await, json!(1));
}
