//! What a demo sees of its run: the [`RunContext`] it spawns, joins, prints and stops through.
//!
//! A demo is an async function over `&mut RunContext` (see [`crate::demos`]). The context owns
//! the run's side of every child: the fork server handle, the run's process groups, its output
//! budget, the per-core sampler that watches each new child, and the run's command queue
//! ([`RunCommand`]: kills from the page and scheduled kills), which the demo drains while it
//! waits ([`RunContext::join`], the pool's loop). Cancelling the run (user, closed tab, server
//! shutdown, time limit) stops the children: SIGTERM to the run's groups, a grace period,
//! then SIGKILL.
//!
//! The registry that creates a context and the driver that hands it to a demo live in
//! [`crate::runs`]; they depend on this module, never the other way round.

use crate::child::zygote::{ChildKind, ExecSpec, Zygote};
use crate::child::{
    ChildHandle, ChildSpec, KillReasons, OutputBudget, ProcessGroups, SpawnError, Wiring,
    WorkerMsg, spawn_child,
};
use crate::events::EventSink;
use crate::sampler::Sampler;
use crate::workload::Step;
use shared::{EventKind, ExitStatus, KillReason, ProcId, Stream};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a run's end waits for its children's supervisors (their exits and last lines)
/// after SIGKILL, beyond the children's own output drain.
const SETTLE: Duration = Duration::from_secs(3);

/// A request to a running run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunCommand {
    /// SIGKILL this process (from the page's kill button).
    Kill(ProcId),
    /// SIGKILL the live process with this name (a scheduled action).
    KillNamed(String),
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
    /// The run cannot go on (a Python run: no suitable interpreter, more than 64 processes).
    #[error("{0}")]
    Failed(String),
}

/// What a run's context is made of (the run's driver assembles it).
pub struct ContextParts {
    /// Where the run's events go.
    pub sink: EventSink,
    /// The per-core sampler, if it could be started.
    pub sampler: Option<Sampler>,
    /// The fork server.
    pub zygote: Arc<Zygote>,
    /// Time between SIGTERM and SIGKILL when the run is stopped.
    pub kill_grace: Duration,
    /// Output lines the run keeps.
    pub max_output_lines: u64,
    /// Cancelled when the run is to stop.
    pub cancel: CancellationToken,
    /// Why the run is stopped (the first reason wins).
    pub reason: Arc<OnceLock<KillReason>>,
    /// The run's command queue.
    pub commands: mpsc::UnboundedReceiver<RunCommand>,
    /// For a Python run: the interpreter probed before it started, or why it cannot run.
    pub interpreter: Option<Result<shared::Interpreter, String>>,
    /// For a Python run: directories to find modules in ([`crate::runs::RuntimeConfig::python_path`]).
    pub python_path: Vec<std::path::PathBuf>,
}

/// SIGKILLs one process of a run, `proc` with PID `pid` (a kill from the page); one that is
/// already gone is no error.
pub fn kill_process(proc: ProcId, pid: u32) {
    match nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    ) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(e) => tracing::warn!(?proc, error = %e, "kill failed"),
    }
}

/// What a demo uses to act within its run.
pub struct RunContext {
    sink: EventSink,
    sampler: Option<Sampler>,
    kill_grace: Duration,
    zygote: Arc<Zygote>,
    groups: ProcessGroups,
    cancel: CancellationToken,
    reason: Arc<OnceLock<KillReason>>,
    budget: Arc<OutputBudget>,
    commands: mpsc::UnboundedReceiver<RunCommand>,
    interpreter: Option<Result<shared::Interpreter, String>>,
    python_path: Vec<std::path::PathBuf>,
    /// Every child's supervisor, to wait for before the run's end is recorded.
    supervisors: TaskTracker,
    /// Live children: PID, name and own kill reason, for kills from the page.
    children: HashMap<ProcId, (u32, String, Arc<OnceLock<KillReason>>)>,
    next_proc: u32,
}

impl RunContext {
    /// A context with no child yet.
    pub fn new(parts: ContextParts) -> Self {
        RunContext {
            sink: parts.sink,
            sampler: parts.sampler,
            kill_grace: parts.kill_grace,
            zygote: parts.zygote,
            groups: ProcessGroups::default(),
            cancel: parts.cancel,
            reason: parts.reason,
            budget: Arc::new(OutputBudget::new(parts.max_output_lines)),
            commands: parts.commands,
            interpreter: parts.interpreter,
            python_path: parts.python_path,
            supervisors: TaskTracker::new(),
            children: HashMap::new(),
            next_proc: 0,
        }
    }

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

    /// The run's output budget (sources other than children's pipes count their lines in it).
    pub fn budget(&self) -> Arc<OutputBudget> {
        self.budget.clone()
    }

    /// For a Python run: directories to find modules in, after the tracer's.
    pub fn python_path(&self) -> &[std::path::PathBuf] {
        &self.python_path
    }

    /// For a Python run: the interpreter, or why there is none.
    pub fn interpreter(&self) -> Option<&Result<shared::Interpreter, String>> {
        self.interpreter.as_ref()
    }

    /// Samples the threads of `pid` as `proc` (every child the run spawns is; a Python run also
    /// names the processes its program forked).
    pub fn watch(&self, proc: ProcId, pid: u32) {
        if let Some(sampler) = &self.sampler {
            sampler.watch(proc, pid);
        }
    }

    /// Starts a child of the main process that execs another program (a Python interpreter),
    /// supervised like every child (group, death signal, output pipes, exit status).
    pub async fn spawn_exec(
        &mut self,
        name: String,
        exec: ExecSpec,
    ) -> Result<ChildHandle, DemoError> {
        self.spawn_child(name, Vec::new(), ChildKind::Exec(exec), None, None)
            .await
    }

    /// Starts a plain child of the main process running `script` once as task `task`.
    pub async fn spawn(
        &mut self,
        name: impl Into<String>,
        task: u64,
        script: Vec<Step>,
    ) -> Result<ChildHandle, DemoError> {
        self.spawn_child(name.into(), script, ChildKind::Process { task }, None, None)
            .await
    }

    /// Starts a child of the main process with every option.
    pub async fn spawn_child(
        &mut self,
        name: String,
        script: Vec<Step>,
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
            supervisors: self.supervisors.clone(),
        };
        let child = spawn_child(&self.zygote, spec, &self.groups, wiring).await?;
        self.watch(proc, child.pid);
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
                    kill_process(proc, *pid);
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
        if tokio::time::timeout(self.kill_grace, all).await.is_err() {
            self.groups.signal(Signal::SIGKILL);
            futures_util::future::join_all(dones).await;
        }
    }

    /// SIGKILLs every process of the run's groups (children of a failed run must not outlive
    /// it).
    pub fn kill_all(&self) {
        self.groups.signal(nix::sys::signal::Signal::SIGKILL);
    }

    /// Ends the run's side of its children: stops the sampler (flushing its last segments),
    /// SIGKILLs whatever is left in the run's groups, and waits (at most 3 s) for every
    /// child's supervisor, so each `process_exited` is recorded before the run's end, also when
    /// the demo was dropped midway (the fork server died).
    pub async fn wind_down(mut self) {
        if let Some(sampler) = self.sampler.take() {
            sampler.stop().await;
        }
        if self.groups.any_alive() {
            self.kill_all();
        }
        self.supervisors.close();
        if tokio::time::timeout(SETTLE, self.supervisors.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                left = self.supervisors.len(),
                "children's supervisors still running at the run's end"
            );
        }
    }
}
