//! What the benchmark measures inside the page: frame gaps (a `requestAnimationFrame` loop
//! stamping `performance.now()`), marks (the first frame a condition held), long tasks, the
//! WebSocket's traffic, and zoom or pan steps sent one per animation frame.

use crate::FPS_TARGET;
use crate::cdp::{Busy, Metrics, cdp, metrics};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use testkit::Browser;

/// Installed before the page's own scripts (CDP `Page.addScriptToEvaluateOnNewDocument`):
/// counts the messages of the page's WebSocket, the highest event `seq` and the
/// `task_finished` events they carried, and keeps the long tasks Chromium reports.
pub const BEFORE_PAGE: &str = r#"(() => {
  const Native = window.WebSocket;
  const ws = (window.__ws = { messages: 0, bytes: 0, lastSeq: -1, tasksFinished: 0 });
  const finished = '"type":"task_finished"';
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      window.__socket = this;
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

/// Frame-to-frame gaps (ms) of one phase, and what else the page recorded meanwhile.
#[derive(Debug, Default)]
pub struct Frames {
    pub gaps: Vec<f64>,
    /// Durations of the long tasks (> 50 ms) Chromium reported, ms.
    pub long_tasks: Vec<f64>,
    /// When each of them started, ms from the start of the phase.
    pub long_tasks_at: Vec<f64>,
    /// ms from the start of the phase to each mark (first frame its condition held).
    pub marks: Vec<(String, f64)>,
    pub elapsed_ms: f64,
    /// What the page's main thread did meanwhile.
    pub busy: Busy,
}

impl Frames {
    pub fn max(&self) -> f64 {
        self.gaps.iter().copied().fold(0.0, f64::max)
    }

    /// When the longest frame ended, seconds from the start of the phase.
    pub fn max_at_s(&self) -> f64 {
        let mut t = 0.0;
        let mut at = (0.0, 0.0);
        for &g in &self.gaps {
            t += g;
            if g > at.0 {
                at = (g, t);
            }
        }
        at.1 / 1000.0
    }

    pub fn percentile(&self, p: f64) -> f64 {
        let mut v = self.gaps.clone();
        if v.is_empty() {
            return 0.0;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        v[((v.len() - 1) as f64 * p).round() as usize]
    }

    pub fn over(&self, ms: f64) -> usize {
        self.gaps.iter().filter(|&&g| g > ms).count()
    }

    pub fn mark(&self, name: &str) -> Option<f64> {
        self.marks.iter().find(|(n, _)| n == name).map(|(_, t)| *t)
    }

    /// "max 38 ms, p99 21 ms, 2 > 50 ms, 0 > 100 ms, 1,234 frames; 1 long task (max 62 ms)"
    pub fn describe(&self) -> String {
        let longest = self.long_tasks.iter().copied().fold(0.0, f64::max);
        let when: Vec<String> = self
            .long_tasks_at
            .iter()
            .map(|t| format!("{:.2}", t / 1000.0))
            .collect();
        let when = match when.is_empty() {
            true => String::new(),
            false => format!(", starting at {} s", when.join(", ")),
        };
        format!(
            "max {:.0} ms (ending {:.2} s in), p99 {:.0} ms, {} > 50 ms, {} > 100 ms of {} frames; {} long tasks (longest {:.0} ms{when})",
            self.max(),
            self.max_at_s(),
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
pub struct Steps {
    pub steps: usize,
    pub elapsed_ms: f64,
    pub max_gap: f64,
    /// How many different first tick labels the axis showed (each step should move it).
    pub views: usize,
    pub busy: Busy,
}

impl Steps {
    pub fn fps(&self) -> f64 {
        self.steps as f64 / (self.elapsed_ms / 1000.0)
    }

    pub fn describe(&self) -> String {
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

/// Starts the frame recorder: a `requestAnimationFrame` loop stamping `performance.now()`.
/// `marks` are named JavaScript conditions; the first frame each holds is recorded.
pub async fn record_frames(browser: &Browser, marks: &[(&str, &str)]) -> Metrics {
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
pub async fn marked(browser: &Browser, name: &str) -> bool {
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
pub async fn wait_mark(browser: &Browser, name: &str, timeout: Duration) {
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
pub async fn stop_frames(browser: &Browser, start: Metrics) -> Frames {
    let end = metrics(browser).await;
    let v = browser
        .client
        .execute(
            "const P = window.__probe; P.stop = true;
             const lt = (window.__longtasks || []).slice(P.lt).filter(([start]) => start >= P.t0);
             return { gaps: P.gaps, marks: P.marks, elapsed: P.last - P.t0,
                      long_tasks: lt.map(([, d]) => d), long_tasks_at: lt.map(([s]) => s - P.t0) };",
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
        long_tasks_at: numbers("long_tasks_at"),
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
pub async fn timeline_steps(browser: &Browser, plan: &[(&str, usize)]) -> Steps {
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

/// Installs the probes before the page's own scripts and turns Chromium's counters on.
pub async fn install(browser: &Browser) {
    browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": BEFORE_PAGE }),
        )
        .await;
    cdp(browser, "Performance.enable", json!({})).await;
}
