//! A child's stdout and stderr: read line by line, each line an `output` event stamped when it
//! is read, within the run's budget of lines ([`OutputBudget`]; past it, lines are counted and
//! the count reported, never dropped silently).

use crate::events::EventSink;
use shared::{EventKind, ProcId, Stream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

/// The longest output line kept whole; longer lines are split.
pub const MAX_LINE_BYTES: u64 = 16 * 1024;

/// Dropped lines between two `output_dropped` events of a stream (and the first one).
const REPORT_DROPPED_EVERY: u64 = 10_000;

/// The run's budget of output lines: past it, lines are counted and dropped, and the count
/// is reported ([`EventKind::OutputDropped`]).
#[derive(Debug)]
pub struct OutputBudget {
    limit: u64,
    used: AtomicU64,
    dropped: AtomicU64,
}

/// What becomes of one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Within the budget: record it.
    Keep,
    /// Past the budget: dropped, the run's `total`th; `report` when that count is to be
    /// recorded now (the first, then every [`REPORT_DROPPED_EVERY`]).
    Drop {
        /// Lines the run has dropped, this one included.
        total: u64,
        /// Whether to record the count now.
        report: bool,
    },
}

impl OutputBudget {
    /// A budget of `limit` lines.
    pub fn new(limit: u64) -> Self {
        OutputBudget {
            limit,
            used: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Counts one more line of the run and says whether it is kept.
    pub fn admit(&self) -> Admit {
        if self.used.fetch_add(1, Ordering::Relaxed) < self.limit {
            return Admit::Keep;
        }
        let total = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        Admit::Drop {
            total,
            report: total == 1 || total.is_multiple_of(REPORT_DROPPED_EVERY),
        }
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The text of a line as read (up to and with its `\n`, if any): without its line end
/// (`\n` or `\r\n`), invalid UTF-8 replaced.
pub fn line_text(raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    String::from_utf8_lossy(raw).into_owned()
}

/// Emits every line of `pipe` as an output event, stamped when it is read, while the run's
/// budget lasts; after that, counts the lines it drops and says so.
pub async fn pump_lines(
    pipe: impl AsyncRead + Unpin,
    proc: ProcId,
    stream: Stream,
    sink: EventSink,
    budget: Arc<OutputBudget>,
) {
    let mut reader = BufReader::new(pipe);
    let mut buf = Vec::with_capacity(256);
    let mut dropped_here = 0u64;
    loop {
        buf.clear();
        match (&mut reader)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(0) => break,
            Ok(_) => match budget.admit() {
                Admit::Keep => {
                    let text = line_text(&buf);
                    sink.emit_now(EventKind::Output { proc, stream, text })
                        .await;
                }
                Admit::Drop { total, report } => {
                    dropped_here += 1;
                    if report {
                        sink.emit_now(EventKind::OutputDropped { proc, lines: total })
                            .await;
                    }
                }
            },
            Err(e) => {
                tracing::warn!(?proc, ?stream, error = %e, "reading child output failed");
                break;
            }
        }
    }
    if dropped_here > 0 {
        sink.emit_now(EventKind::OutputDropped {
            proc,
            lines: budget.dropped(),
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::RunClock;
    use crate::events::{Recorder, RunLog};
    use shared::RunId;

    #[test]
    fn a_line_loses_its_line_end_and_keeps_everything_else() {
        assert_eq!(line_text(b"Square: 100\n"), "Square: 100");
        assert_eq!(line_text(b"dos\r\n"), "dos");
        assert_eq!(line_text(b"no end"), "no end");
        assert_eq!(line_text(b"  spaced \t\n"), "  spaced \t");
        assert_eq!(line_text(b"\n"), "");
        assert_eq!(
            line_text(b"a\rb\n"),
            "a\rb",
            "only a \\r before the \\n goes"
        );
        assert_eq!(line_text(b"bad \xff byte\n"), "bad \u{fffd} byte");
    }

    #[test]
    fn past_the_budget_lines_are_dropped_counted_and_reported_now_and_then() {
        let budget = OutputBudget::new(2);
        assert_eq!(budget.admit(), Admit::Keep);
        assert_eq!(budget.admit(), Admit::Keep);
        assert_eq!(
            budget.admit(),
            Admit::Drop {
                total: 1,
                report: true
            }
        );
        let reported: Vec<u64> = (0..2 * REPORT_DROPPED_EVERY)
            .filter_map(|_| match budget.admit() {
                Admit::Drop {
                    total,
                    report: true,
                } => Some(total),
                Admit::Drop { report: false, .. } => None,
                Admit::Keep => panic!("kept past the budget"),
            })
            .collect();
        assert_eq!(reported, [REPORT_DROPPED_EVERY, 2 * REPORT_DROPPED_EVERY]);
        assert_eq!(budget.dropped(), 2 * REPORT_DROPPED_EVERY + 1);
    }

    /// What `pump_lines` records for `input` under a budget of `limit` lines.
    async fn pumped(input: &[u8], limit: u64) -> Vec<EventKind> {
        let log = Arc::new(RunLog::new(RunId(1)));
        let (sink, recorder) = Recorder::start(RunClock::start_now(), log.clone());
        let budget = Arc::new(OutputBudget::new(limit));
        pump_lines(input, ProcId(2), Stream::Stderr, sink, budget).await;
        assert!(recorder.finished().await.is_ok());
        log.read_from(0, usize::MAX)
            .0
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    fn texts(kinds: &[EventKind]) -> Vec<String> {
        kinds
            .iter()
            .filter_map(|k| match k {
                EventKind::Output {
                    proc: ProcId(2),
                    stream: Stream::Stderr,
                    text,
                } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn lines_become_events_in_order_and_a_long_line_is_split() {
        let long = "x".repeat(MAX_LINE_BYTES as usize + 10);
        let input = format!("first\r\n{long}\nlast without end");
        let kinds = pumped(input.as_bytes(), 100).await;
        let got = texts(&kinds);
        assert_eq!(
            got.len(),
            4,
            "{:?}",
            got.iter().map(String::len).collect::<Vec<_>>()
        );
        assert_eq!(got[0], "first");
        assert_eq!(got[1].len(), MAX_LINE_BYTES as usize);
        assert_eq!(got[2], "x".repeat(10));
        assert_eq!(got[3], "last without end");
        assert_eq!(kinds.len(), 4, "nothing dropped, nothing else recorded");
    }

    #[tokio::test]
    async fn a_stream_past_the_budget_says_how_many_lines_the_run_dropped() {
        let kinds = pumped(b"1\n2\n3\n4\n5\n", 2).await;
        assert_eq!(texts(&kinds), ["1", "2"]);
        let dropped: Vec<u64> = kinds
            .iter()
            .filter_map(|k| match k {
                EventKind::OutputDropped {
                    proc: ProcId(2),
                    lines,
                } => Some(*lines),
                _ => None,
            })
            .collect();
        assert_eq!(
            dropped,
            [1, 3],
            "the first drop at once, the total at the end"
        );
    }
}
