//! The server's end of a child's control channel: the child's start becomes
//! `process_started`; a pool worker's other reports go to its pool ([`WorkerMsg`]), in the
//! order they were written.

use crate::events::EventSink;
use crate::ipc::{Decoder, Report};
use shared::{EventKind, ExitStatus, ProcId};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

/// What a pool worker's supervisor tells the pool, in order: report batches, then the exit.
#[derive(Debug)]
pub enum WorkerMsg {
    /// The worker reported that it runs: it can take work.
    Ready(ProcId),
    /// Reports other than `Started`.
    Reports(ProcId, Vec<Report>),
    /// The worker exited and everything it reported was delivered before this.
    Exited(ProcId, ExitStatus),
}

/// Turns the child's control reports into events (its start) or hands them to its pool, until
/// the child closes the channel.
pub async fn read_control(
    mut control: impl tokio::io::AsyncRead + Unpin,
    proc: ProcId,
    sink: EventSink,
    pool: Option<mpsc::Sender<WorkerMsg>>,
) {
    let mut decoder = Decoder::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut reports = Vec::new();
    loop {
        let n = match control.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(?proc, error = %e, "control channel failed");
                break;
            }
        };
        if let Err(e) = decoder.feed(&buf[..n], &mut reports) {
            tracing::warn!(?proc, error = %e, "corrupt control channel; ignoring the rest");
            break;
        }
        let mut rest = Vec::with_capacity(reports.len());
        for report in reports.drain(..) {
            match report {
                Report::Started {
                    at_ns,
                    pid: _,
                    cpus,
                } => {
                    sink.emit(
                        sink.clock().at(at_ns),
                        EventKind::ProcessStarted { proc, cpus },
                    )
                    .await;
                    if let Some(pool) = &pool
                        && pool.send(WorkerMsg::Ready(proc)).await.is_err()
                    {
                        tracing::debug!(?proc, "the pool had already ended");
                    }
                }
                other => rest.push(other),
            }
        }
        if let (Some(pool), false) = (&pool, rest.is_empty())
            && pool.send(WorkerMsg::Reports(proc, rest)).await.is_err()
        {
            tracing::debug!(?proc, "the pool had already ended");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::RunClock;
    use crate::events::{Recorder, RunLog};
    use crate::ipc::{Outcome, encode};
    use shared::RunId;
    use std::sync::Arc;

    #[tokio::test]
    async fn the_start_is_an_event_and_a_workers_other_reports_go_to_its_pool_in_order() {
        let clock = RunClock::start_now();
        let log = Arc::new(RunLog::new(RunId(1)));
        let (sink, recorder) = Recorder::start(clock, log.clone());
        let (tx, mut rx) = mpsc::channel(16);
        let reports = [
            Report::Started {
                at_ns: 0,
                pid: 42,
                cpus: vec![0, 1],
            },
            Report::Took {
                at_ns: 1,
                first: 4,
                count: 1,
            },
            Report::TaskStarted { at_ns: 2, task: 4 },
            Report::TaskFinished {
                at_ns: 3,
                task: 4,
                outcome: Outcome::Value(4),
            },
        ];
        let mut bytes = Vec::new();
        reports.iter().for_each(|r| encode(r, &mut bytes));
        read_control(&bytes[..], ProcId(3), sink, Some(tx)).await;
        assert!(matches!(rx.recv().await, Some(WorkerMsg::Ready(ProcId(3)))));
        match rx.recv().await {
            Some(WorkerMsg::Reports(ProcId(3), got)) => assert_eq!(got, reports[1..]),
            other => panic!("reports expected, got {other:?}"),
        }
        assert!(rx.recv().await.is_none(), "nothing else: the channel ended");
        assert!(recorder.finished().await.is_ok());
        let (events, _) = log.read_from(0, 10);
        let kinds: Vec<&EventKind> = events.iter().map(|e| &e.kind).collect();
        assert_eq!(
            kinds,
            [&EventKind::ProcessStarted {
                proc: ProcId(3),
                cpus: vec![0, 1]
            }]
        );
    }

    #[tokio::test]
    async fn a_corrupt_stream_ends_the_reading_without_passing_garbage_on() {
        let log = Arc::new(RunLog::new(RunId(1)));
        let (sink, recorder) = Recorder::start(RunClock::start_now(), log.clone());
        let (tx, mut rx) = mpsc::channel(16);
        let mut bytes = u32::MAX.to_le_bytes().to_vec();
        encode(&Report::TaskStarted { at_ns: 1, task: 0 }, &mut bytes);
        read_control(&bytes[..], ProcId(1), sink, Some(tx)).await;
        assert!(rx.recv().await.is_none());
        assert!(recorder.finished().await.is_ok());
        assert!(log.is_empty());
    }
}
