//! Every run of the server ([`Runs`]): starting one (parameters and limits, the memory budget
//! among them, checked before anything starts), finding one (or saying why it is gone),
//! forgetting the oldest finished runs beyond their budget of bytes, and stopping them all at
//! shutdown.

use crate::child::zygote::{Zygote, ZygoteError};
use crate::runs::driver::drive;
use crate::runs::handle::RunHandle;
use crate::runs::options::{RunOptions, RuntimeConfig, StartError};
use crate::runs::retention;
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

type Held = Arc<Mutex<BTreeMap<RunId, Arc<RunHandle>>>>;

/// Every run of the server.
#[derive(Debug)]
pub struct Runs {
    config: RuntimeConfig,
    zygote: Arc<Zygote>,
    next_id: AtomicU64,
    runs: Held,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    /// Every run as it starts (view-only connections follow each one).
    started: broadcast::Sender<Arc<RunHandle>>,
}

/// Why the server does not hold a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    /// No run of that id was ever started here.
    #[error("{0} does not exist")]
    Unknown(RunId),
    /// It finished and was forgotten to make room for newer finished runs.
    #[error(
        "{run} was forgotten: finished runs are kept up to {keep_mib} MiB in all \
         (--keep-finished-mib), the oldest forgotten first"
    )]
    Forgotten {
        /// The run.
        run: RunId,
        /// The budget of finished runs, MiB.
        keep_mib: u64,
    },
}

fn lock(runs: &Held) -> std::sync::MutexGuard<'_, BTreeMap<RunId, Arc<RunHandle>>> {
    runs.lock().unwrap_or_else(|e| e.into_inner())
}

/// Forgets the oldest finished runs until the others fit in `keep_mib`.
fn forget_beyond(runs: &mut BTreeMap<RunId, Arc<RunHandle>>, keep_mib: u64) {
    let finished: Vec<(RunId, u64)> = runs
        .values()
        .filter(|r| r.log.is_finished())
        .map(|r| (r.id, r.log.approx_bytes()))
        .collect();
    for id in retention::to_forget(&finished, keep_mib.saturating_mul(1024 * 1024)) {
        runs.remove(&id);
        tracing::info!(run = %id, keep_mib, "forgot a finished run");
    }
}

impl Runs {
    /// An empty registry, with its fork server started. Call it from a thread that lives as
    /// long as the runs (the fork server dies with the thread that started it).
    pub fn new(config: RuntimeConfig) -> Result<Self, ZygoteError> {
        Ok(Runs {
            zygote: Arc::new(Zygote::start(&config.worker_exe)?),
            config,
            next_id: AtomicU64::new(1),
            runs: Arc::new(Mutex::new(BTreeMap::new())),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            started: broadcast::channel(STARTS_BUFFERED).0,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<RunId, Arc<RunHandle>>> {
        lock(&self.runs)
    }

    /// Validates `demo`, checks the limits (runs in progress, the memory budget), and starts
    /// the run on behalf of connection `owner` (0: nobody's, kept going when nobody watches).
    /// Once it has finished, the oldest finished runs beyond the budget of bytes are forgotten.
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
        let active: Vec<&Arc<RunHandle>> = runs.values().filter(|r| !r.log.is_finished()).collect();
        if active.len() >= self.config.max_concurrent_runs {
            return Err(StartError::TooManyRuns(self.config.max_concurrent_runs));
        }
        let in_use_mib = active.iter().map(|r| r.demo.memory_mib()).sum();
        self.config.memory_budget.admit(&demo, in_use_mib)?;
        let id = RunId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (handle, commands) = RunHandle::new(id, demo, owner == 0, self.shutdown.child_token());
        runs.insert(id, handle.clone());
        let run = drive(
            handle.clone(),
            self.config.clone(),
            options,
            self.zygote.clone(),
            commands,
        );
        let held = self.runs.clone();
        let keep_mib = self.config.keep_finished_mib;
        self.tasks.spawn(async move {
            run.await;
            forget_beyond(&mut lock(&held), keep_mib);
        });
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
        self.find(id).ok()
    }

    /// The run with this id, or why the server does not hold it.
    pub fn find(&self, id: RunId) -> Result<Arc<RunHandle>, Missing> {
        let runs = self.lock();
        if let Some(run) = runs.get(&id) {
            return Ok(run.clone());
        }
        // Ids are handed out in order, under the lock, and only finished runs are removed.
        if (1..self.next_id.load(Ordering::Relaxed)).contains(&id.0) {
            Err(Missing::Forgotten {
                run: id,
                keep_mib: self.config.keep_finished_mib,
            })
        } else {
            Err(Missing::Unknown(id))
        }
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
