//! Runs: one demo execution each, with its processes and its event log.
//!
//! ## Theory of operation
//! [`Runs::start`] validates the request, checks the limits, and spawns one task per run that
//! executes the demo ([`crate::demos`]). Everything that happens in the run is sent, already
//! stamped, through a bounded channel ([`EventSink`]) to the run's recorder, which numbers the
//! events and appends them to the [`RunLog`]. The log is append-only and kept after the run:
//! a subscriber reads it from any position (position 0 = the full snapshot), so a reloaded page
//! or a second viewer sees the whole run, and a slow client only lags, it never loses events.
//!
//! Cancelling a run (user, closed tab, server shutdown, time limit) records the reason, sends
//! SIGTERM to the run's process groups, waits a grace period, then sends SIGKILL.

use crate::clock::RunClock;
use crate::child::{
    ChildHandle, ChildSpec, KillReasons, OutputBudget, ProcessGroups, SpawnError, Wiring,
    WorkerMsg, spawn_child,
};
use crate::sampler::Sampler;
use crate::child::zygote::{ChildKind, Zygote, ZygoteError};
use shared::{
    DemoRequest, Event, EventKind, ExitStatus, KillReason, ProcId, RunId, RunOutcome, RunSummary,
    RunTime, Stream,
};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The run's recorder has ended (the run is over): nothing more can be recorded.
#[derive(Debug, thiserror::Error)]
#[error("the run's recorder has ended")]
pub struct RecorderGone;

/// Limits and settings of the runtime.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// The binary the fork server runs (normally the running procviz itself).
    pub worker_exe: PathBuf,
    /// Runs that may be in progress at once.
    pub max_concurrent_runs: usize,
    /// Finished runs kept for replay; older ones are forgotten.
    pub max_finished_runs: usize,
    /// The longest a run may take before it is cancelled.
    pub max_run_time: Duration,
    /// Time between SIGTERM and SIGKILL when a run is stopped.
    pub kill_grace: Duration,
    /// Output lines a run keeps; the rest are counted and dropped.
    pub max_output_lines: u64,
}

impl RuntimeConfig {
    /// The defaults, with children re-executing `worker_exe`.
    pub fn new(worker_exe: PathBuf) -> Self {
        RuntimeConfig {
            worker_exe,
            max_concurrent_runs: 4,
            max_finished_runs: 32,
            max_run_time: Duration::from_secs(600),
            kill_grace: Duration::from_millis(500),
            max_output_lines: 200_000,
        }
    }
}

/// Per-run options besides the demo.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How often the per-core sampler reads /proc.
    pub sample_interval: Duration,
    /// Timed actions to carry out during the run.
    pub schedule: Vec<shared::Scheduled>,
    /// The client's label for the request, echoed in `run_started`.
    pub request: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            sample_interval: Duration::from_millis(u64::from(crate::sampler::DEFAULT_INTERVAL_MS)),
            schedule: Vec::new(),
            request: None,
        }
    }
}

impl RunOptions {
    /// Options with a sampling interval in milliseconds (absent: the default), checked against
    /// [`crate::sampler::INTERVAL_RANGE_MS`].
    pub fn with_sample_ms(sample_ms: Option<u32>) -> Result<Self, StartError> {
        let Some(ms) = sample_ms else {
            return Ok(RunOptions::default());
        };
        if !crate::sampler::INTERVAL_RANGE_MS.contains(&ms) {
            return Err(StartError::Invalid(format!(
                "sample_ms must be between {} and {}, got {ms}",
                crate::sampler::INTERVAL_RANGE_MS.start(),
                crate::sampler::INTERVAL_RANGE_MS.end()
            )));
        }
        Ok(RunOptions {
            sample_interval: Duration::from_millis(u64::from(ms)),
            ..RunOptions::default()
        })
    }

    /// These options with timed actions, checked against [`shared::Scheduled`]'s limits.
    pub fn with_schedule(self, schedule: Vec<shared::Scheduled>) -> Result<Self, StartError> {
        if schedule.len() > shared::Scheduled::MAX_ACTIONS {
            return Err(StartError::Invalid(format!(
                "at most {} scheduled actions, got {}",
                shared::Scheduled::MAX_ACTIONS,
                schedule.len()
            )));
        }
        for s in &schedule {
            if s.at_ms > shared::Scheduled::MAX_AT_MS {
                return Err(StartError::Invalid(format!(
                    "a scheduled action's at_ms must be at most {}, got {}",
                    shared::Scheduled::MAX_AT_MS,
                    s.at_ms
                )));
            }
            let shared::RunAction::KillProcess { name } = &s.action;
            if name.is_empty() || name.len() > 64 {
                return Err(StartError::Invalid(
                    "a scheduled kill names a process (1 to 64 characters)".into(),
                ));
            }
        }
        Ok(RunOptions { schedule, ..self })
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A parameter was out of range.
    #[error("invalid parameter: {0}")]
    Invalid(String),
    /// Too many runs in progress.
    #[error("{0} runs are already in progress (the limit); cancel one or wait for it to finish")]
    TooManyRuns(usize),
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
}

/// A request to a running run.
#[derive(Debug)]
pub enum RunCommand {
    /// SIGKILL this process (from the page's kill button).
    Kill(ProcId),
    /// SIGKILL the live process with this name (a scheduled action).
    KillNamed(String),
}

/// The append-only event log of one run.
#[derive(Debug)]
pub struct RunLog {
    run: RunId,
    inner: Mutex<LogInner>,
}

/// Events per storage chunk: the log grows chunk by chunk, never by copying everything.
const LOG_CHUNK: usize = 16 * 1024;

#[derive(Debug, Default)]
struct LogInner {
    chunks: Vec<Vec<Event>>,
    len: usize,
    finished: bool,
}

impl RunLog {
    fn new(run: RunId) -> Self {
        RunLog {
            run,
            inner: Mutex::new(LogInner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogInner> {
        // Appends are single pushes: a panic elsewhere cannot leave the log half-written.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn append(&self, batch: Vec<(RunTime, EventKind)>) {
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

    fn finish(&self) {
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
    viewers: std::sync::atomic::AtomicUsize,
    cancel: CancellationToken,
    reason: Arc<OnceLock<KillReason>>,
    commands: mpsc::UnboundedSender<RunCommand>,
}

/// How long a run nobody watches any more (its tab closed) is given before it is cancelled,
/// so a reload finds it still running.
pub const UNWATCHED_GRACE: Duration = Duration::from_secs(1);

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

impl RunHandle {
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

/// Every run of the server.
#[derive(Debug)]
pub struct Runs {
    config: RuntimeConfig,
    zygote: Arc<Zygote>,
    next_id: AtomicU64,
    runs: Mutex<BTreeMap<RunId, Arc<RunHandle>>>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
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
        demo.validate(crate::online_cores())
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
        let (commands, command_rx) = mpsc::unbounded_channel();
        let handle = Arc::new(RunHandle {
            id,
            demo,
            log: Arc::new(RunLog::new(id)),
            kept: owner == 0,
            viewers: std::sync::atomic::AtomicUsize::new(0),
            cancel: self.shutdown.child_token(),
            reason: Arc::new(OnceLock::new()),
            commands,
        });
        runs.insert(id, handle.clone());
        self.tasks.spawn(drive(
            handle.clone(),
            self.config.clone(),
            options,
            self.zygote.clone(),
            command_rx,
        ));
        Ok(handle)
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

/// What a demo uses to act within its run.
pub struct RunContext {
    sink: EventSink,
    sampler: Option<Sampler>,
    config: RuntimeConfig,
    zygote: Arc<Zygote>,
    groups: ProcessGroups,
    cancel: CancellationToken,
    reason: Arc<OnceLock<KillReason>>,
    budget: Arc<OutputBudget>,
    commands: mpsc::UnboundedReceiver<RunCommand>,
    /// Live children: PID, name and own kill reason, for kills from the page.
    children: HashMap<ProcId, (u32, String, Arc<OnceLock<KillReason>>)>,
    next_proc: u32,
}

/// Why a demo stopped early.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The run was cancelled.
    #[error("cancelled")]
    Cancelled(KillReason),
    /// A process could not be started.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
}

impl RunContext {
    /// The run's event sink.
    pub fn sink(&self) -> &EventSink {
        &self.sink
    }

    /// The run's cancellation token.
    pub fn cancelled(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Why the run is being stopped (once it is).
    pub fn kill_reason(&self) -> KillReason {
        self.reason.get().copied().unwrap_or(KillReason::Cancelled)
    }

    /// Starts a plain child of the main process running `script` once as task `task`.
    pub async fn spawn(
        &mut self,
        name: impl Into<String>,
        task: u64,
        script: Vec<crate::workload::Step>,
    ) -> Result<ChildHandle, DemoError> {
        self.spawn_child(name.into(), script, ChildKind::Process { task }, None, None)
            .await
    }

    /// Starts a child of the main process with every option.
    pub async fn spawn_child(
        &mut self,
        name: String,
        script: Vec<crate::workload::Step>,
        kind: ChildKind,
        affinity: Option<Vec<u32>>,
        pool: Option<mpsc::Sender<WorkerMsg>>,
    ) -> Result<ChildHandle, DemoError> {
        if self.cancel.is_cancelled() {
            return Err(DemoError::Cancelled(self.kill_reason()));
        }
        self.next_proc += 1;
        let proc = ProcId(self.next_proc);
        let own = Arc::new(OnceLock::new());
        let spec = ChildSpec {
            proc,
            name: name.clone(),
            parent: ProcId::MAIN,
            script,
            kind,
            affinity,
        };
        let wiring = Wiring {
            sink: self.sink.clone(),
            reasons: KillReasons {
                own: own.clone(),
                run: self.reason.clone(),
            },
            budget: self.budget.clone(),
            pool,
        };
        let child = spawn_child(&self.zygote, spec, &self.groups, wiring).await?;
        if let Some(sampler) = &self.sampler {
            sampler.watch(proc, child.pid);
        }
        self.children.insert(proc, (child.pid, name, own));
        Ok(child)
    }

    /// Forgets a child that has exited (it can no longer be killed).
    pub fn forget(&mut self, proc: ProcId) {
        self.children.remove(&proc);
    }

    /// The next command for the run (a kill from the page); pending forever when there is none.
    pub async fn next_command(&mut self) -> RunCommand {
        match self.commands.recv().await {
            Some(c) => c,
            None => std::future::pending().await,
        }
    }

    /// Carries out a command.
    pub fn apply(&mut self, command: RunCommand) {
        match command {
            RunCommand::KillNamed(name) => {
                let found = self.children.iter().find(|(_, (_, n, _))| *n == name);
                match found.map(|(proc, _)| *proc) {
                    Some(proc) => self.apply(RunCommand::Kill(proc)),
                    None => tracing::info!(%name, "scheduled kill: no live process of that name"),
                }
            }
            RunCommand::Kill(proc) => {
                if let Some((pid, _, own)) = self.children.get(&proc) {
                    // The first reason wins; a repeated kill changes nothing.
                    let _first = own.set(KillReason::User);
                    match nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(*pid as i32),
                        nix::sys::signal::Signal::SIGKILL,
                    ) {
                        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                        Err(e) => tracing::warn!(?proc, error = %e, "kill failed"),
                    }
                }
            }
        }
    }

    /// Waits for `children` to exit (Python's `join`), carrying out kills from the page
    /// meanwhile. If the run is cancelled, stops them (SIGTERM, grace, SIGKILL) and returns
    /// [`DemoError::Cancelled`].
    pub async fn join(&mut self, children: Vec<ChildHandle>) -> Result<Vec<ExitStatus>, DemoError> {
        let mut statuses = Vec::with_capacity(children.len());
        let mut pending = children.into_iter();
        let cancel = self.cancel.clone();
        while let Some(mut child) = pending.next() {
            loop {
                tokio::select! {
                    status = &mut child.done => {
                        statuses.push(status.unwrap_or(ExitStatus::Code { code: -1 }));
                        self.forget(child.proc);
                        break;
                    }
                    command = self.next_command() => self.apply(command),
                    () = cancel.cancelled() => {
                        let rest: Vec<ChildHandle> = std::iter::once(child).chain(pending).collect();
                        self.stop(rest).await;
                        return Err(DemoError::Cancelled(self.kill_reason()));
                    }
                }
            }
        }
        Ok(statuses)
    }

    /// Writes a line as the main process (what `print` in Python's main script does).
    pub async fn print(&self, text: impl Into<String>) {
        self.sink
            .emit_now(EventKind::Output {
                proc: ProcId::MAIN,
                stream: Stream::Stdout,
                text: text.into(),
            })
            .await;
    }

    /// Stops `children`: SIGTERM to the run's groups, a grace period, then SIGKILL; returns
    /// when all of them have exited.
    pub async fn stop(&self, children: Vec<ChildHandle>) {
        use nix::sys::signal::Signal;
        self.groups.signal(Signal::SIGTERM);
        let mut dones: Vec<_> = children.into_iter().map(|c| c.done).collect();
        let all = futures_util::future::join_all(dones.iter_mut());
        if tokio::time::timeout(self.config.kill_grace, all)
            .await
            .is_err()
        {
            self.groups.signal(Signal::SIGKILL);
            futures_util::future::join_all(dones).await;
        }
    }
}

async fn drive(
    handle: Arc<RunHandle>,
    config: RuntimeConfig,
    options: RunOptions,
    zygote: Arc<Zygote>,
    commands: mpsc::UnboundedReceiver<RunCommand>,
) {
    let clock = RunClock::start_now();
    let (tx, rx) = mpsc::channel(1024);
    let sink = EventSink { clock, tx };
    let recorder = tokio::spawn(record(rx, handle.log.clone()));
    sink.emit(
        RunTime::ZERO,
        EventKind::RunStarted {
            demo: Box::new(handle.demo.clone()),
            title: handle.demo.title().to_string(),
            cores: crate::online_cores(),
            main_pid: std::process::id(),
            request: options.request.clone(),
            schedule: options.schedule.clone(),
        },
    )
    .await;
    let limit = config.max_run_time;
    let sampler = match Sampler::start(options.sample_interval, sink.clone()) {
        Ok(s) => {
            sink.emit_now(EventKind::SamplerStarted {
                interval_ms: options.sample_interval.as_millis() as u32,
            })
            .await;
            Some(s)
        }
        Err(e) => {
            tracing::error!(error = %e, "could not start the sampler; no per-core lanes");
            None
        }
    };
    let mut ctx = RunContext {
        sink: sink.clone(),
        sampler,
        budget: Arc::new(OutputBudget::new(config.max_output_lines)),
        config,
        zygote,
        groups: ProcessGroups::default(),
        cancel: handle.cancel.clone(),
        reason: handle.reason.clone(),
        commands,
        children: HashMap::new(),
        next_proc: 0,
    };
    let timer = {
        let handle = handle.clone();
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            handle.cancel(KillReason::LimitReached);
        })
    };
    // Timed actions go through the run's command queue, like a kill from the page.
    let scheduled: Vec<_> = options
        .schedule
        .iter()
        .map(|s| {
            let commands = handle.commands.clone();
            let at = Duration::from_millis(s.at_ms);
            let shared::RunAction::KillProcess { name } = s.action.clone();
            tokio::spawn(async move {
                tokio::time::sleep(at).await;
                // The run may be over: then there is nobody to kill.
                let _over = commands.send(RunCommand::KillNamed(name));
            })
        })
        .collect();
    let outcome = match crate::demos::execute(&handle.demo, &mut ctx).await {
        Ok(()) => RunOutcome::Completed,
        Err(DemoError::Cancelled(reason)) => RunOutcome::Cancelled { reason },
        Err(e @ DemoError::Spawn(_)) => {
            // Children already started must not outlive the failed run.
            ctx.groups.signal(nix::sys::signal::Signal::SIGKILL);
            RunOutcome::Failed {
                message: e.to_string(),
            }
        }
    };
    timer.abort();
    scheduled.iter().for_each(tokio::task::JoinHandle::abort);
    if let Some(sampler) = ctx.sampler.take() {
        sampler.stop().await;
    }
    if ctx.groups.any_alive() {
        ctx.groups.signal(nix::sys::signal::Signal::SIGKILL);
    }
    sink.emit_now(EventKind::RunFinished { outcome }).await;
    drop(ctx);
    drop(sink);
    if let Err(e) = recorder.await {
        tracing::error!(run = %handle.id, error = %e, "the run's recorder failed");
    }
    handle.log.finish();
}

async fn record(mut rx: mpsc::Receiver<Vec<(RunTime, EventKind)>>, log: Arc<RunLog>) {
    while let Some(batch) = rx.recv().await {
        log.append(batch);
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
}
