//! A run's events: the append-only log they are kept in and the sink their sources send them to.
//!
//! ## Theory of operation
//! Everything that happens in a run is sent, already stamped, through a bounded channel
//! ([`EventSink`]) to the run's recorder task, which numbers the events (`seq`, gap-free from
//! 0) and appends them to the [`RunLog`]. The bound means a flood of output slows the child's
//! pipe down instead of growing a queue. The log grows in chunks of [`LOG_CHUNK`] events (never
//! by copying everything) and is kept after the run: a subscriber reads it from any position
//! (position 0 = the full snapshot), so a reloaded page or a second viewer sees the whole run,
//! and a slow client only lags, it never loses events.
//!
//! This module is the bottom of the runtime: it knows the clock and the protocol, nothing of
//! processes, pools or runs.

use crate::clock::RunClock;
use shared::{Event, EventKind, RunId, RunTime};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The run's recorder has ended (the run is over): nothing more can be recorded.
#[derive(Debug, thiserror::Error)]
#[error("the run's recorder has ended")]
pub struct RecorderGone;

/// Events per storage chunk: the log grows chunk by chunk, never by copying everything.
pub const LOG_CHUNK: usize = 16 * 1024;

/// Batches the sink's channel holds before senders wait.
const SINK_CAPACITY: usize = 1024;

/// The append-only event log of one run.
#[derive(Debug)]
pub struct RunLog {
    run: RunId,
    inner: Mutex<LogInner>,
}

#[derive(Debug, Default)]
struct LogInner {
    chunks: Vec<Vec<Event>>,
    len: usize,
    finished: bool,
}

impl RunLog {
    /// An empty log for run `run`.
    pub fn new(run: RunId) -> Self {
        RunLog {
            run,
            inner: Mutex::new(LogInner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogInner> {
        // Appends are single pushes: a panic elsewhere cannot leave the log half-written.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `batch` in order, numbering each event.
    pub fn append(&self, batch: Vec<(RunTime, EventKind)>) {
        let mut inner = self.lock();
        for (t, kind) in batch {
            let seq = inner.len as u64;
            if inner.chunks.last().is_none_or(|c| c.len() == LOG_CHUNK) {
                inner.chunks.push(Vec::with_capacity(LOG_CHUNK));
            }
            if let Some(chunk) = inner.chunks.last_mut() {
                chunk.push(Event {
                    run: self.run,
                    seq,
                    t,
                    kind,
                });
            }
            inner.len += 1;
        }
    }

    /// Number of events recorded.
    pub fn len(&self) -> usize {
        self.lock().len
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Up to `max` events from position `from` on, and whether the log is complete (finished
    /// and nothing after what was returned).
    pub fn read_from(&self, from: usize, max: usize) -> (Vec<Event>, bool) {
        let inner = self.lock();
        let end = inner.len.min(from.saturating_add(max));
        let mut batch = Vec::with_capacity(end.saturating_sub(from));
        let mut at = from;
        while at < end {
            let chunk = &inner.chunks[at / LOG_CHUNK];
            let offset = at % LOG_CHUNK;
            let take = (end - at).min(chunk.len() - offset);
            batch.extend_from_slice(&chunk[offset..offset + take]);
            at += take;
        }
        (batch, inner.finished && end >= inner.len)
    }

    /// Whether the run has finished.
    pub fn is_finished(&self) -> bool {
        self.lock().finished
    }

    /// Marks the log complete: nothing more will be appended.
    pub fn finish(&self) {
        self.lock().finished = true;
    }
}

/// Where a run's event sources send what happened: to the run's recorder, through a bounded
/// channel (a flood of output slows the child's pipe down instead of growing a queue).
#[derive(Clone, Debug)]
pub struct EventSink {
    clock: RunClock,
    tx: mpsc::Sender<Vec<(RunTime, EventKind)>>,
}

/// The task that appends what the sinks send to the log; it ends when every sink is dropped.
#[derive(Debug)]
pub struct Recorder(JoinHandle<()>);

impl Recorder {
    /// Starts recording into `log`; events are stamped with `clock`'s run time.
    pub fn start(clock: RunClock, log: Arc<RunLog>) -> (EventSink, Recorder) {
        let (tx, mut rx) = mpsc::channel::<Vec<(RunTime, EventKind)>>(SINK_CAPACITY);
        let task = tokio::spawn(async move {
            while let Some(batch) = rx.recv().await {
                log.append(batch);
            }
        });
        (EventSink { clock, tx }, Recorder(task))
    }

    /// Waits until everything sent before the last sink was dropped is in the log.
    pub async fn finished(self) -> Result<(), tokio::task::JoinError> {
        self.0.await
    }
}

impl EventSink {
    /// The run's clock.
    pub fn clock(&self) -> RunClock {
        self.clock
    }

    /// Records an event that happened at `t`.
    pub async fn emit(&self, t: RunTime, kind: EventKind) {
        self.emit_batch(vec![(t, kind)]).await;
    }

    /// Records several events at once from a plain (non-async) thread; fails when the run's
    /// recorder is gone.
    pub fn emit_batch_blocking(
        &self,
        batch: Vec<(RunTime, EventKind)>,
    ) -> Result<(), RecorderGone> {
        if batch.is_empty() {
            return Ok(());
        }
        self.tx.blocking_send(batch).map_err(|_| RecorderGone)
    }

    /// Records several events at once, in this order.
    pub async fn emit_batch(&self, batch: Vec<(RunTime, EventKind)>) {
        if batch.is_empty() {
            return;
        }
        // The recorder lives until every sink is dropped, so this only fails if it panicked.
        if self.tx.send(batch).await.is_err() {
            tracing::error!("the run's recorder is gone; events were lost");
        }
    }

    /// Records an event that happens now.
    pub async fn emit_now(&self, kind: EventKind) {
        self.emit(self.clock.now(), kind).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_reads_back_across_chunks_in_order() {
        let log = RunLog::new(RunId(1));
        let n = LOG_CHUNK * 2 + 10;
        log.append(
            (0..n)
                .map(|i| (RunTime(i as u64), EventKind::PoolClosed))
                .collect(),
        );
        assert_eq!(log.len(), n);
        let (batch, complete) = log.read_from(LOG_CHUNK - 5, 20);
        assert_eq!(batch.len(), 20);
        assert!(!complete);
        assert!(
            batch
                .iter()
                .enumerate()
                .all(|(i, e)| e.seq == (LOG_CHUNK - 5 + i) as u64)
        );
        let (all, _) = log.read_from(0, usize::MAX);
        assert_eq!(all.len(), n);
        assert!(
            all.iter()
                .enumerate()
                .all(|(i, e)| e.seq == i as u64 && e.t == RunTime(i as u64))
        );
        log.finish();
        let (tail, complete) = log.read_from(n - 3, 100);
        assert_eq!(tail.len(), 3);
        assert!(complete);
        assert_eq!(log.read_from(n + 5, 10).0.len(), 0);
    }

    #[tokio::test]
    async fn what_the_sinks_send_is_in_the_log_once_the_recorder_finished() {
        let log = Arc::new(RunLog::new(RunId(7)));
        let (sink, recorder) = Recorder::start(RunClock::start_now(), log.clone());
        let other = sink.clone();
        sink.emit(RunTime(5), EventKind::PoolClosed).await;
        let blocking = std::thread::spawn(move || {
            other.emit_batch_blocking(vec![(RunTime(6), EventKind::PoolClosed)])
        });
        assert!(blocking.join().is_ok_and(|sent| sent.is_ok()));
        sink.emit_batch(Vec::new()).await;
        drop(sink);
        assert!(recorder.finished().await.is_ok());
        let (events, complete) = log.read_from(0, 10);
        assert!(!complete, "only the run finishes the log");
        let times: Vec<RunTime> = events.iter().map(|e| e.t).collect();
        assert_eq!(times, [RunTime(5), RunTime(6)]);
        assert!(events.iter().all(|e| e.run == RunId(7)));
    }
}
