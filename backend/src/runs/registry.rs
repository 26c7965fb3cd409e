//! Every run of the server ([`Runs`]): starting one (parameters and limits checked before
//! anything starts), finding one, and stopping them all at shutdown.

use crate::child::zygote::{Zygote, ZygoteError};
use crate::runs::driver::drive;
use crate::runs::handle::RunHandle;
use crate::runs::options::{RunOptions, RuntimeConfig, StartError};
use shared::{DemoRequest, KillReason, RunId, RunSummary};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Starts announced to a follower that has not looked yet (more than this many starts within
/// one tick of a connection is not a lecture).
const STARTS_BUFFERED: usize = 64;

/// Every run of the server.
#[derive(Debug)]
pub struct Runs {
    config: RuntimeConfig,
    zygote: Arc<Zygote>,
    next_id: AtomicU64,
    runs: Mutex<BTreeMap<RunId, Arc<RunHandle>>>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    /// Every run as it starts (view-only connections follow each one).
    started: broadcast::Sender<Arc<RunHandle>>,
}

impl Runs {
    /// An empty registry, with its fork server started. Call it from a thread that lives as
    /// long as the runs (the fork server dies with the thread that started it).
    pub fn new(config: RuntimeConfig) -> Result<Self, ZygoteError> {
        Ok(Runs {
            zygote: Arc::new(Zygote::start(&config.worker_exe)?),
            config,
            next_id: AtomicU64::new(1),
            runs: Mutex::new(BTreeMap::new()),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            started: broadcast::channel(STARTS_BUFFERED).0,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<RunId, Arc<RunHandle>>> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Validates `demo`, checks the limits, and starts the run on behalf of connection `owner`
    /// (0: nobody's, kept going when nobody watches).
    pub fn start(
        &self,
        demo: DemoRequest,
        owner: u64,
        options: RunOptions,
    ) -> Result<Arc<RunHandle>, StartError> {
        demo.validate(crate::host::online_cores())
            .map_err(StartError::Invalid)?;
        if self.shutdown.is_cancelled() {
            return Err(StartError::ShuttingDown);
        }
        let mut runs = self.lock();
        let active = runs.values().filter(|r| !r.log.is_finished()).count();
        if active >= self.config.max_concurrent_runs {
            return Err(StartError::TooManyRuns(self.config.max_concurrent_runs));
        }
        let finished: Vec<RunId> = runs
            .values()
            .filter(|r| r.log.is_finished())
            .map(|r| r.id)
            .collect();
        let excess = finished
            .len()
            .saturating_sub(self.config.max_finished_runs.saturating_sub(1));
        for id in finished.into_iter().take(excess) {
            runs.remove(&id);
        }
        let id = RunId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (handle, commands) = RunHandle::new(id, demo, owner == 0, self.shutdown.child_token());
        runs.insert(id, handle.clone());
        self.tasks.spawn(drive(
            handle.clone(),
            self.config.clone(),
            options,
            self.zygote.clone(),
            commands,
        ));
        // Nobody listening is fine: no view-only connection is open.
        let _ = self.started.send(handle.clone());
        Ok(handle)
    }

    /// Every run from now on, as it starts.
    pub fn starts(&self) -> broadcast::Receiver<Arc<RunHandle>> {
        self.started.subscribe()
    }

    /// The runs still going, oldest first.
    pub fn live(&self) -> Vec<Arc<RunHandle>> {
        self.lock()
            .values()
            .filter(|r| !r.log.is_finished())
            .cloned()
            .collect()
    }

    /// The run with this id, if the server still holds it.
    pub fn get(&self, id: RunId) -> Option<Arc<RunHandle>> {
        self.lock().get(&id).cloned()
    }

    /// The runs held, oldest first.
    pub fn summaries(&self) -> Vec<RunSummary> {
        self.lock()
            .values()
            .map(|r| RunSummary {
                run: r.id,
                demo: r.demo.clone(),
                finished: r.log.is_finished(),
            })
            .collect()
    }

    /// Stops every run and waits until all of their processes are gone.
    pub async fn shutdown(&self) {
        for run in self.lock().values() {
            run.cancel(KillReason::ServerShutdown);
        }
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}
