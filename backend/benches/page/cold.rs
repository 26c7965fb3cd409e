//! A cold load: a new Chromium profile (empty cache) opens the URL procviz prints (token
//! included: the redirect that trades it for a cookie is part of the path a user takes) and
//! the page becomes interactive (its lesson buttons are there and its WebSocket is
//! connected). Times from the page's own clock (`performance.now()`, 0 at navigation start),
//! bytes from Resource Timing.

use serde_json::json;
use testkit::{Browser, Server};

/// Marks the moments the page gets its lesson buttons and its connection (a mutation observer
/// installed before any script of the page runs).
const READY_PROBE: &str = r#"
window.__cold = {};
new MutationObserver(() => {
  const c = window.__cold;
  if (c.buttons === undefined && document.querySelector('[data-testid^=lesson-]')) {
    c.buttons = performance.now();
  }
  if (c.connected === undefined &&
      document.querySelector('[data-testid=connection][data-state=Connected]')) {
    c.connected = performance.now();
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"#;

/// One cold load.
pub struct Cold {
    /// Navigation start → the lesson buttons drawn, ms.
    pub buttons_ms: f64,
    /// Navigation start → the WebSocket connected (interactive), ms.
    pub connected_ms: f64,
    /// Bytes over the wire for the WebAssembly, and its decoded size.
    pub wasm_transferred: u64,
    pub wasm_decoded: u64,
    /// Bytes over the wire for every resource of the page.
    pub total_transferred: u64,
}

/// Loads the page `n` times, each in a new browser, from one server.
pub async fn cold_loads(n: usize) -> Option<Vec<Cold>> {
    let server = Server::start();
    let mut loads = Vec::with_capacity(n);
    for _ in 0..n {
        let browser = Browser::start(1280, 720).await?;
        browser
            .cdp(
                "Page.addScriptToEvaluateOnNewDocument",
                json!({ "source": READY_PROBE }),
            )
            .await;
        browser.open(&server.page_url("")).await;
        let got = browser
            .js("const r = performance.getEntriesByType('resource');
                 const w = r.find(e => e.name.endsWith('.wasm')) || {};
                 const nav = performance.getEntriesByType('navigation')[0] || {};
                 return { c: window.__cold, wt: w.transferSize || 0, wd: w.decodedBodySize || 0,
                          total: r.reduce((s, e) => s + (e.transferSize || 0), nav.transferSize || 0) };")
            .await;
        let num = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
        loads.push(Cold {
            buttons_ms: num(&got["c"]["buttons"]),
            connected_ms: num(&got["c"]["connected"]),
            wasm_transferred: got["wt"].as_u64().unwrap_or(0),
            wasm_decoded: got["wd"].as_u64().unwrap_or(0),
            total_transferred: got["total"].as_u64().unwrap_or(0),
        });
        browser.close().await;
    }
    Some(loads)
}

/// The report's lines for the cold loads (median and worst).
pub fn print_cold(loads: &[Cold]) {
    let median = |f: fn(&Cold) -> f64| {
        let mut v: Vec<f64> = loads.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() - 1])
    };
    let (buttons, buttons_max) = median(|c| c.buttons_ms);
    let (connected, connected_max) = median(|c| c.connected_ms);
    let first = &loads[0];
    println!(
        "| cold load ({} new browsers, loopback, through the token redirect): lesson buttons drawn (median / worst) | {buttons:.0} / {buttons_max:.0} ms | |",
        loads.len()
    );
    println!(
        "| cold load: interactive (WebSocket connected; median / worst) | {connected:.0} / {connected_max:.0} ms | |"
    );
    println!(
        "| cold load: bytes over the wire | WebAssembly {} KiB ({} KiB decoded), the whole page {} KiB | |",
        first.wasm_transferred / 1024,
        first.wasm_decoded / 1024,
        first.total_transferred / 1024
    );
}
