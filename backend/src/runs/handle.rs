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

    /// Asks the run to SIGKILL one of its processes. Returns false if the run has ended.
    pub fn kill(&self, proc: ProcId) -> bool {
        !self.log.is_finished() && self.commands.send(RunCommand::Kill(proc)).is_ok()
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
