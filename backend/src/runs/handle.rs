//! A run as the server holds it ([`RunHandle`]: its log, its cancellation, its command queue)
//! and a connection's following of it ([`Viewing`]).

use crate::context::RunCommand;
use crate::events::RunLog;
use shared::{DemoRequest, KillReason, ProcId, RunId};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A run the server holds.
#[derive(Debug)]
pub struct RunHandle {
    /// Its id.
    pub id: RunId,
    /// What it runs.
    pub demo: DemoRequest,
    /// Its events.
    pub log: Arc<RunLog>,
    /// Kept going when nobody watches (`keep_on_disconnect`, the CLI).
    kept: bool,
    /// Connections following it now.
    viewers: AtomicUsize,
    pub(super) cancel: CancellationToken,
    pub(super) reason: Arc<OnceLock<KillReason>>,
    pub(super) commands: mpsc::UnboundedSender<RunCommand>,
}

/// Why a kill was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KillRefused {
    /// The run is over.
    #[error("{0} has finished; its processes are gone")]
    Finished(RunId),
    /// The run has spawned no process of that number (so far).
    #[error("{run} has no process {}: {}", proc.0, numbered(*last))]
    NoSuchProcess {
        /// The run.
        run: RunId,
        /// The process asked for.
        proc: ProcId,
        /// The last process it has spawned.
        last: ProcId,
    },
}

fn numbered(last: ProcId) -> String {
    match last.0 {
        0 => "it has not started any yet".into(),
        1 => "its only process so far is 1".into(),
        n => format!("its processes so far are numbered 1 to {n}"),
    }
}

/// How long a run nobody watches any more (its tab closed) is given before it is cancelled,
/// so a reload finds it still running.
pub const UNWATCHED_GRACE: Duration = Duration::from_secs(1);

impl RunHandle {
    /// A run about to start, and the receiving end of its command queue.
    pub(super) fn new(
        id: RunId,
        demo: DemoRequest,
        kept: bool,
        cancel: CancellationToken,
    ) -> (Arc<RunHandle>, mpsc::UnboundedReceiver<RunCommand>) {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let handle = RunHandle {
            id,
            demo,
            log: Arc::new(RunLog::new(id)),
            kept,
            viewers: AtomicUsize::new(0),
            cancel,
            reason: Arc::new(OnceLock::new()),
            commands,
        };
        (Arc::new(handle), command_rx)
    }

    /// A run nothing drives: its log is filled by the caller (tests).
    #[cfg(test)]
    pub(crate) fn detached(id: RunId, demo: DemoRequest) -> Arc<RunHandle> {
        Self::new(id, demo, true, CancellationToken::new()).0
    }

    /// Asks the run to SIGKILL one of its processes (a child it has spawned: its
    /// `process_spawned` is in the log). A process that has already exited is left alone.
    pub fn kill(&self, proc: ProcId) -> Result<(), KillRefused> {
        if self.log.is_finished() {
            return Err(KillRefused::Finished(self.id));
        }
        if !self.log.has_process(proc) {
            return Err(KillRefused::NoSuchProcess {
                run: self.id,
                proc,
                last: self.log.last_process(),
            });
        }
        self.commands
            .send(RunCommand::Kill(proc))
            .map_err(|_| KillRefused::Finished(self.id))
    }

    /// Stops the run (a no-op if it has finished or is already stopping).
    pub fn cancel(&self, reason: KillReason) {
        // The first reason wins: a later one does not rewrite history.
        if self.reason.set(reason).is_ok() || !self.cancel.is_cancelled() {
            self.cancel.cancel();
        }
    }
}

/// A connection's following of a run: counted while it lives. When the last viewer of a run
/// that is not kept goes away, the run is cancelled after [`UNWATCHED_GRACE`] unless someone
/// follows it again by then.
#[derive(Debug)]
pub struct Viewing(Arc<RunHandle>);

impl Viewing {
    /// Starts following `run`.
    pub fn new(run: Arc<RunHandle>) -> Self {
        run.viewers.fetch_add(1, Ordering::SeqCst);
        Viewing(run)
    }

    /// The run followed.
    pub fn run(&self) -> &Arc<RunHandle> {
        &self.0
    }
}

impl Drop for Viewing {
    fn drop(&mut self) {
        let run = self.0.clone();
        let last = run.viewers.fetch_sub(1, Ordering::SeqCst) == 1;
        if !last || run.kept || run.log.is_finished() {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    tokio::time::sleep(UNWATCHED_GRACE).await;
                    if run.viewers.load(Ordering::SeqCst) == 0 {
                        run.cancel(KillReason::ClientGone);
                    }
                });
            }
            Err(_) => run.cancel(KillReason::ClientGone),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{DemoRequest, EventKind, RunTime, TwoProcessesParams};

    #[test]
    fn a_kill_reaches_the_run_only_for_a_process_it_has_spawned() {
        let demo = DemoRequest::TwoProcesses(TwoProcessesParams::default());
        let (run, mut commands) = RunHandle::new(RunId(3), demo, true, CancellationToken::new());
        let refused = run.kill(ProcId(1)).map_err(|e| e.to_string());
        assert_eq!(
            refused,
            Err("run 3 has no process 1: it has not started any yet".into())
        );
        let spawned = |proc| {
            (
                RunTime(u64::from(proc)),
                EventKind::ProcessSpawned {
                    proc: ProcId(proc),
                    pid: 1000 + proc,
                    name: format!("Process-{proc}"),
                    parent: ProcId::MAIN,
                },
            )
        };
        run.log.append(vec![spawned(1), spawned(2)]);
        let refused = run.kill(ProcId(99)).map_err(|e| e.to_string());
        assert_eq!(
            refused,
            Err("run 3 has no process 99: its processes so far are numbered 1 to 2".into())
        );
        assert!(commands.try_recv().is_err(), "nothing was sent");
        assert_eq!(run.kill(ProcId(2)), Ok(()));
        assert_eq!(commands.try_recv().ok(), Some(RunCommand::Kill(ProcId(2))));
        run.log.finish();
        assert_eq!(run.kill(ProcId(2)), Err(KillRefused::Finished(RunId(3))));
        assert_eq!(
            KillRefused::Finished(RunId(3)).to_string(),
            "run 3 has finished; its processes are gone"
        );
    }
}
