//! The run on screen as a Perfetto trace, and the pure half of "Open in Perfetto".
//!
//! The trace is written by the `perfetto` crate's writer, the one `procviz run --trace` and
//! `procviz convert` use; the page keeps the run model rather than the events, so
//! [`write_trace`] hands the writer the model's rows (processes, task bars, exits, the
//! sampled blocks on the cores with their threads, the cores' load) instead of events. For
//! a recording the result is the file `procviz convert` writes, up to the order of
//! `traceEvents` (tested below).
//!
//! Opening it in Perfetto follows Perfetto's documented `postMessage` handshake for a window
//! it is opened in: the opener pings `'PING'` until the Perfetto window answers `'PONG'`,
//! then posts `{perfetto: {buffer, title, fileName}}` once ([`Handshake`]). Nothing is
//! uploaded: Perfetto keeps posted traces in the browser.

use crate::run::RunModel;
use perfetto::sched::Segment;
use perfetto::{Exit, RunInfo, TraceWriter};
use shared::RunTime;
use std::io::Write;

/// Perfetto's UI: the address the page opens, and the origin it talks to.
pub const PERFETTO_URL: &str = "https://ui.perfetto.dev";

/// How often the opener pings the Perfetto window, milliseconds.
pub const PING_MS: u32 = 100;

/// Pings before giving up (30 s: Perfetto's UI loads megabytes before it answers).
pub const MAX_PINGS: u32 = 300;

/// A model time (seconds) as a run time (nanoseconds), exactly: the model's seconds are the
/// events' nanoseconds divided by 10⁹, which a double holds closely enough to round back.
fn ns(secs: f64) -> RunTime {
    RunTime((secs * 1e9).round().max(0.0) as u64)
}

/// Writes the run `m` as a Perfetto trace to `out` (see the module's comment).
pub fn write_trace<W: Write>(m: &RunModel, out: W) -> Result<W, perfetto::Error> {
    let mut w = TraceWriter::new(out)?;
    w.run_started(RunInfo {
        run: m.run,
        title: m.title.clone(),
        demo: m.demo.clone(),
        cores: m.cores,
        main_pid: m.main_pid,
    })?;
    if let Some(ms) = m.sample_ms {
        w.sampler_started(ms);
    }
    for p in &m.processes {
        w.process_spawned(p.proc, p.pid, &p.name)?;
    }
    for bar in &m.tasks {
        let end = bar.finished.unwrap_or(m.last_t).max(bar.started);
        w.task(
            bar.task,
            bar.worker,
            ns(bar.started),
            ns(end),
            bar.result.as_ref(),
        )?;
    }
    if let Some((error, lost, t)) = &m.raised {
        w.caller_raised(ns(*t), error, *lost)?;
    }
    for p in &m.processes {
        if let (Some(t), Some(status)) = (p.exited, p.status) {
            let exit = Exit {
                status,
                killed_by: p.killed_by,
                cpu_time_ns: p.cpu_time_ns,
            };
            w.process_exited(p.proc, ns(t), exit)?;
        }
    }
    for b in &m.core_blocks {
        let (start, end) = (ns(b.start), ns(b.end));
        let span = end.saturating_since(start).as_nanos() as f64;
        w.thread_segment(
            b.proc,
            Segment {
                tid: b.tid,
                core: b.core,
                start,
                end,
                on_cpu_ns: (b.share * span).round() as u64,
            },
        );
    }
    for window in &m.loads {
        w.core_load(ns(window.start), &window.cores)?;
    }
    if let Some(outcome) = &m.outcome {
        w.run_finished(ns(m.last_t), outcome)?;
    }
    w.finish()
}

/// The trace's file name: `procviz-run-3.trace.json`.
pub fn trace_file_name(m: &RunModel) -> String {
    format!("procviz-run-{}.trace.json", m.run.0)
}

/// The trace's title in Perfetto: `procviz run 3: Pool`, in the characters Perfetto keeps
/// (`A-Z a-z 0-9 . - _ # : / ? = & ; % + $` and space; others become spaces, runs of spaces
/// one).
pub fn trace_title(m: &RunModel) -> String {
    let raw = format!("procviz run {}: {}", m.run.0, m.title);
    let kept: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_#:/?=&;%+$ ".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Why the trace could not be handed to Perfetto (the page offers the download instead).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotOpened {
    /// The browser is offline: Perfetto's UI cannot load.
    Offline,
    /// The browser opened no window (a pop-up blocker).
    Blocked,
    /// The window never answered the handshake.
    NoAnswer,
}

impl NotOpened {
    /// What the page says.
    pub fn message(self) -> &'static str {
        match self {
            NotOpened::Offline => {
                "You are offline: Perfetto (ui.perfetto.dev) cannot load. Download the trace and open it in Perfetto when you are online (Open trace file)."
            }
            NotOpened::Blocked => {
                "The browser did not open a window for Perfetto (pop-ups blocked?). Download the trace and open it at ui.perfetto.dev (Open trace file)."
            }
            NotOpened::NoAnswer => {
                "Perfetto did not answer within 30 s. Download the trace and open it at ui.perfetto.dev (Open trace file)."
            }
        }
    }
}

/// What the opener does next in the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Post `'PING'` to the Perfetto window.
    Ping,
    /// Post the trace (once) and stop.
    Post,
    /// Nothing (a message that is not Perfetto's answer, or after the trace was posted).
    Wait,
    /// Stop pinging: Perfetto never answered.
    GiveUp,
}

/// Perfetto's handshake for a window the page opened: ping every [`PING_MS`] until the
/// window answers `'PONG'` (its message listener is up), then post the trace once.
#[derive(Clone, Debug, Default)]
pub struct Handshake {
    pings: u32,
    posted: bool,
}

impl Handshake {
    /// The ping timer fired.
    pub fn tick(&mut self) -> Step {
        if self.posted {
            Step::Wait
        } else if self.pings >= MAX_PINGS {
            Step::GiveUp
        } else {
            self.pings += 1;
            Step::Ping
        }
    }

    /// A message reached the page: from `origin`, from the Perfetto window or not, with
    /// `data` when it is a string. Only the window's `'PONG'` from Perfetto's origin counts.
    pub fn message(&mut self, origin: &str, from_window: bool, data: Option<&str>) -> Step {
        if self.posted || !from_window || origin != PERFETTO_URL || data != Some("PONG") {
            return Step::Wait;
        }
        self.posted = true;
        Step::Post
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::Recording;
    use serde_json::Value;

    const RECORDING: &str =
        include_str!("../../../shared/perfetto/tests/fixtures/pool-kill.ndjson");
    const CONVERTED: &str =
        include_str!("../../../shared/perfetto/tests/fixtures/pool-kill.trace.json");

    fn model(ndjson: &str) -> RunModel {
        let mut rec = Recording::default();
        rec.feed(ndjson.as_bytes());
        rec.finish().expect("a recording").0
    }

    fn page_trace(m: &RunModel) -> Value {
        let out = write_trace(m, Vec::new()).expect("written");
        serde_json::from_slice(&out).expect("JSON")
    }

    fn sorted_events(trace: &Value) -> Vec<String> {
        let mut events: Vec<String> = trace["traceEvents"]
            .as_array()
            .expect("traceEvents")
            .iter()
            .map(Value::to_string)
            .collect();
        events.sort();
        events
    }

    #[test]
    fn the_page_writes_the_trace_procviz_convert_writes() {
        let page = page_trace(&model(RECORDING));
        let cli: Value = serde_json::from_str(CONVERTED).expect("JSON");
        assert_eq!(page["systemTraceEvents"], cli["systemTraceEvents"]);
        assert_eq!(page["metadata"], cli["metadata"]);
        assert_eq!(sorted_events(&page), sorted_events(&cli));
    }

    #[test]
    fn a_run_cut_short_ends_its_open_tasks_with_it() {
        let m = model(RECORDING).until(0.1);
        let trace = page_trace(&m);
        let open: Vec<&Value> = trace["traceEvents"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["args"]["unfinished"] == true)
            .collect();
        assert_eq!(open.len(), 2, "tasks 3 and 4 ran at 0.1 s: {open:?}");
        for e in open {
            let end = e["ts"].as_f64().unwrap_or(0.0) + e["dur"].as_f64().unwrap_or(0.0);
            assert!((end - 100_000.0).abs() < 0.01, "ends at the cut: {e}");
        }
        assert_eq!(trace["metadata"]["outcome"], Value::Null);
    }

    #[test]
    fn title_and_file_name_name_the_run() {
        let mut m = RunModel::new(shared::RunId(3));
        m.title = "Pool — recording «run».ndjson".into();
        assert_eq!(trace_title(&m), "procviz run 3: Pool recording run .ndjson");
        assert_eq!(trace_file_name(&m), "procviz-run-3.trace.json");
    }

    #[test]
    fn the_handshake_pings_until_perfetto_answers_then_posts_once() {
        let mut h = Handshake::default();
        assert_eq!(h.tick(), Step::Ping);
        assert_eq!(h.tick(), Step::Ping);
        // Not the answer: another window, another origin, another message.
        assert_eq!(h.message(PERFETTO_URL, false, Some("PONG")), Step::Wait);
        assert_eq!(
            h.message("https://evil.example", true, Some("PONG")),
            Step::Wait
        );
        assert_eq!(h.message(PERFETTO_URL, true, Some("PING")), Step::Wait);
        assert_eq!(h.message(PERFETTO_URL, true, None), Step::Wait);
        assert_eq!(h.message(PERFETTO_URL, true, Some("PONG")), Step::Post);
        // Once: a second PONG (an interval already in flight) posts nothing more.
        assert_eq!(h.message(PERFETTO_URL, true, Some("PONG")), Step::Wait);
        assert_eq!(h.tick(), Step::Wait);
    }

    #[test]
    fn the_handshake_gives_up_when_perfetto_never_answers() {
        let mut h = Handshake::default();
        for _ in 0..MAX_PINGS {
            assert_eq!(h.tick(), Step::Ping);
        }
        assert_eq!(h.tick(), Step::GiveUp);
        assert!(NotOpened::NoAnswer.message().contains("30 s"));
        assert!(NotOpened::Offline.message().contains("offline"));
    }
}
