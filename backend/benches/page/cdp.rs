//! The Chrome DevTools Protocol through chromedriver (its `goog/cdp/execute` extension
//! command, sent with fantoccini), and Chromium's own counters of the page's main thread.

use serde_json::{Value, json};
use testkit::Browser;

/// One Chrome DevTools Protocol call through chromedriver; its result.
pub async fn cdp(browser: &Browser, cmd: &'static str, params: Value) -> Value {
    browser.cdp(cmd, params).await
}

/// Chromium's own counters (CDP `Performance.getMetrics`): seconds of main-thread tasks,
/// of script, of style recalculation and of layout; DOM nodes at the time.
#[derive(Clone, Copy, Debug, Default)]
pub struct Metrics {
    pub task: f64,
    pub script: f64,
    pub style: f64,
    pub layout: f64,
    pub nodes: f64,
}

pub async fn metrics(browser: &Browser) -> Metrics {
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

/// The main thread's work over a phase (the difference of two [`Metrics`]), seconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Busy {
    pub task: f64,
    pub script: f64,
    pub style: f64,
    pub layout: f64,
    /// DOM nodes at the end of the phase.
    pub nodes: f64,
}

impl Busy {
    pub fn between(a: Metrics, b: Metrics) -> Busy {
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
    pub fn describe(&self, elapsed_ms: f64) -> String {
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
    pub fn describe_ms(&self) -> String {
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
