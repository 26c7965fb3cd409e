//! A real Python program, run by CPython and traced: not a mirror of one, the thing itself.
//!
//! ## Theory of operation
//! 1. The interpreter was probed before the run began ([`crate::python::probe`], in
//!    `run_started.interpreter`); a missing or unsupported one fails the run with the reason.
//! 2. A private directory (mode 0700, removed at the end) gets the tracer's files, the program
//!    (a shipped one, or the typed code as `main.py`) and a listening Unix socket,
//!    `trace.sock`.
//! 3. The interpreter is forked by the fork server and execs (`ChildKind::Exec`): the run's
//!    process group, the death signal, stdout/stderr pipes and its exit status are those of
//!    every child. It is `MainProcess` (the first process of the run); its pipes carry only
//!    what bypassed the tracer (see PROTOCOL.md, "which copy is authoritative").
//! 4. Every connection to the socket is read by its own task, line by line (at most
//!    [`MAX_LINE`] bytes; longer lines are skipped and counted), into one bounded channel;
//!    this task feeds [`Mapper`] and records what it says, held [`REORDER`] and sorted by
//!    `t` (see there). A traced process writing faster than this blocks in `send`
//!    (backpressure, no loss).
//! 5. The run ends when the main process exits (leftover processes are SIGKILLed with the
//!    run's groups), when it is cancelled (SIGTERM, grace, SIGKILL), or when it passes
//!    [`MAX_PROCESSES`] (SIGKILL, failed). The remaining lines are read (at most
//!    [`DRAIN`]), and every traced process gets its exit.
//!
//! With [`PythonParams::hang_after_ms`], a program still running that long after a pool
//! worker died with a task unfinished is stopped as hung (SIGTERM, grace, SIGKILL; failed,
//! naming the task): CPython's `Pool` never learns of the lost task.
//!
//! A program that exits with an error (a syntax error, an uncaught exception: exit code 1,
//! the traceback on its stderr) still *completes* the run: the program ran to its own end,
//! and its exit code is on its `process_exited`, as for any process of the other demos.
//! Memory: the run asks the budget a nominal [`shared::PythonParams::NOMINAL_MEMORY_MIB`].

use crate::child::zygote::ExecSpec;
use crate::clock::monotonic_ns;
use crate::context::{DemoError, RunCommand, RunContext, kill_process};
use crate::python::trace::{Action, ConnId, Lost, Mapper};
use shared::{KillReason, ProcId, ProgramText, PythonParams, PythonProgram};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;

/// Processes a Python run may have at once, the main one included.
pub const MAX_PROCESSES: usize = 64;
/// The longest tracer line kept.
pub const MAX_LINE: u64 = 1024 * 1024;
/// Connections a run accepts in all.
const MAX_CONNECTIONS: u64 = 4096;
/// How long the lines still in the sockets are read after the processes ended.
pub const DRAIN: Duration = Duration::from_secs(2);
/// How long events are held back to be recorded in the order of their `t` (the connections'
/// lines are read concurrently, so a child's line may be read just after its parent's later
/// one: `Square: 100` must still precede `Done!`).
pub const REORDER: Duration = Duration::from_millis(25);

/// What the connection readers send.
enum Msg {
    Line(ConnId, Vec<u8>),
    Closed(ConnId, u64),
}

/// The run's private directory, removed when dropped.
struct RunDir(PathBuf);

impl RunDir {
    fn create() -> std::io::Result<RunDir> {
        let base = std::env::temp_dir();
        let mut last = None;
        for attempt in 0..16u32 {
            let name = format!(
                "procviz-python-{}-{}-{attempt}",
                std::process::id(),
                monotonic_ns()
            );
            let path = base.join(name);
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(RunDir(path)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no directory name left")))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(dir = %self.0.display(), error = %e, "could not remove the run's directory");
        }
    }
}

/// The environment of the interpreter: the server's, with the tracer's directory first on
/// `PYTHONPATH`, then `extra`, then the server's own entries; and the socket named.
fn environment(dir: &Path, extra: &[PathBuf], socket: &Path) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k != "PYTHONPATH" && k != "PROCVIZ_TRACE_SOCKET" && k != "PROCVIZ_TOKEN")
        .collect();
    let path: Vec<String> = std::iter::once(dir)
        .chain(extra.iter().map(PathBuf::as_path))
        .map(|p| p.display().to_string())
        .chain(std::env::var("PYTHONPATH").ok().filter(|p| !p.is_empty()))
        .collect();
    env.push(("PYTHONPATH".into(), path.join(":")));
    env.push(("PROCVIZ_TRACE_SOCKET".into(), socket.display().to_string()));
    env
}

/// Reads one connection's lines into the run's channel, then says it closed.
async fn read_connection(id: ConnId, stream: tokio::net::UnixStream, tx: mpsc::Sender<Msg>) {
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut buf = Vec::with_capacity(256);
    loop {
        buf.clear();
        match (&mut reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(0) => break,
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                } else if buf.len() as u64 > MAX_LINE {
                    tracing::warn!(conn = id, "a tracer line over 1 MiB was skipped");
                    let mut rest = Vec::new();
                    // Skip to the end of the line, a bounded piece at a time.
                    loop {
                        rest.clear();
                        match (&mut reader)
                            .take(MAX_LINE)
                            .read_until(b'\n', &mut rest)
                            .await
                        {
                            Ok(0) | Err(_) => break,
                            Ok(_) if rest.last() == Some(&b'\n') => break,
                            Ok(_) => {}
                        }
                    }
                    continue;
                }
                if tx
                    .send(Msg::Line(id, std::mem::take(&mut buf)))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                tracing::debug!(conn = id, error = %e, "a tracer connection failed");
                break;
            }
        }
    }
    if tx.send(Msg::Closed(id, monotonic_ns())).await.is_err() {
        tracing::debug!(conn = id, "the run ended before the connection did");
    }
}

/// Accepts the tracer's connections, each read by its own task.
async fn accept(listener: tokio::net::UnixListener, tx: mpsc::Sender<Msg>) {
    let readers = tokio_util::task::TaskTracker::new();
    for id in 0..MAX_CONNECTIONS {
        match listener.accept().await {
            Ok((stream, _)) => {
                readers.spawn(read_connection(id, stream, tx.clone()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accepting a tracer connection failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    tracing::warn!("{MAX_CONNECTIONS} tracer connections: no more are accepted");
}

/// How the loop over the run's life ended.
enum End {
    Exited,
    Cancelled(KillReason),
    TooMany,
    /// A worker died with a task and the program waited past the hang limit: why.
    Hung(String),
}

/// Why the program is hung, if a task was lost more than `after` ago (monotonic `now`).
fn hung(lost: Option<&Lost>, after: Option<Duration>, now: u64) -> Option<String> {
    let (lost, after) = (lost?, after?);
    let waited = now.saturating_sub(lost.t);
    (waited >= after.as_nanos() as u64).then(|| {
        format!(
            "hung: the result of task {} never arrived ({} died with it {:.1} s before; procviz stopped the program)",
            lost.task,
            lost.worker,
            waited as f64 / 1e9
        )
    })
}

struct Traced<'a> {
    ctx: &'a mut RunContext,
    mapper: Mapper,
    main: ProcId,
    too_many: bool,
    /// Events not yet recorded, held for [`REORDER`].
    held: Vec<(shared::RunTime, shared::EventKind)>,
}

impl Traced<'_> {
    async fn act(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Emit(t, kind) => self.held.push((t, kind)),
                Action::Watch(proc, pid) => self.ctx.watch(proc, pid),
                Action::TooMany => self.too_many = true,
            }
        }
        self.release(false).await;
    }

    /// Records the held events older than [`REORDER`] (`all`: every one), in `t` order (a
    /// stable sort: events of one line keep their order).
    async fn release(&mut self, all: bool) {
        if self.held.is_empty() {
            return;
        }
        let now = self.ctx.sink().clock().now();
        let cutoff = shared::RunTime(now.as_nanos().saturating_sub(REORDER.as_nanos() as u64));
        self.held.sort_by_key(|(t, _)| *t);
        let n = if all {
            self.held.len()
        } else {
            self.held.partition_point(|(t, _)| *t <= cutoff)
        };
        let batch: Vec<_> = self.held.drain(..n).collect();
        self.ctx.sink().emit_batch(batch).await;
    }

    async fn take(&mut self, msg: Msg, rx: &mut mpsc::Receiver<Msg>) {
        let mut actions = Vec::new();
        let mut main_ended = false;
        // Up to 256 lines per batch of events.
        let batch = std::iter::once(msg).chain(std::iter::from_fn(|| rx.try_recv().ok()));
        for msg in batch.take(256) {
            actions.extend(match msg {
                Msg::Line(conn, line) => self.mapper.line(conn, &line),
                Msg::Closed(conn, t) => {
                    main_ended |= self.mapper.is_main(conn);
                    self.mapper.closed(conn, t)
                }
            });
        }
        self.act(actions).await;
        if main_ended {
            // The main process is exiting: its lines go before its exit (recorded by its
            // supervisor, not held here).
            self.release(true).await;
        }
    }

    fn command(&mut self, command: RunCommand) {
        let proc = match &command {
            RunCommand::Kill(proc) => Some(*proc),
            RunCommand::KillNamed(name) => self.mapper.named(name),
        };
        match proc.and_then(|p| self.mapper.live(p).map(|pid| (p, pid))) {
            Some((proc, pid)) if proc != self.main => {
                self.mapper.killed(proc, KillReason::User);
                kill_process(proc, pid);
            }
            _ => self.ctx.apply(command),
        }
    }

    /// Reads what is left in the sockets until every connection ended (at most [`DRAIN`]).
    async fn drain(&mut self, rx: &mut mpsc::Receiver<Msg>) {
        let deadline = tokio::time::Instant::now() + DRAIN;
        while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            self.take(msg, rx).await;
        }
    }
}

/// Runs the program to its end (see the module's comment).
pub async fn run(p: &PythonParams, ctx: &mut RunContext) -> Result<(), DemoError> {
    let interpreter = match ctx.interpreter() {
        Some(Ok(i)) => i.clone(),
        Some(Err(reason)) => return Err(DemoError::Failed(reason.clone())),
        None => return Err(DemoError::Failed("no Python interpreter was probed".into())),
    };
    let ProgramText { file, source } = crate::python::program_text(p).ok_or_else(|| {
        let known: Vec<&str> = crate::python::PROGRAMS.iter().map(|(n, _, _)| *n).collect();
        DemoError::Failed(format!(
            "no shipped program {:?}; there are {}",
            match &p.program {
                PythonProgram::Shipped { name } => name.as_str(),
                PythonProgram::Code { .. } => "",
            },
            known.join(", ")
        ))
    })?;
    let failed = |what: &str, e: std::io::Error| DemoError::Failed(format!("{what}: {e}"));
    let dir = RunDir::create().map_err(|e| failed("creating the run's directory", e))?;
    for (name, text) in crate::python::TRACER_FILES
        .iter()
        .copied()
        .chain([(file.as_str(), source.as_str())])
    {
        std::fs::write(dir.0.join(name), text).map_err(|e| failed("writing the program", e))?;
    }
    let socket = dir.0.join("trace.sock");
    let listener = tokio::net::UnixListener::bind(&socket)
        .map_err(|e| failed("listening for the tracer", e))?;
    let cwd = std::env::current_dir().map_err(|e| failed("reading the working directory", e))?;
    let program = if interpreter.executable.is_empty() {
        "python3".to_string()
    } else {
        interpreter.executable.clone()
    };
    let exec = ExecSpec {
        program,
        args: std::iter::once(dir.0.join(&file).display().to_string())
            .chain(p.args.iter().cloned())
            .collect(),
        env: environment(&dir.0, ctx.python_path(), &socket),
        cwd: cwd.display().to_string(),
    };
    let (tx, mut rx) = mpsc::channel(1024);
    let acceptor = tokio::spawn(accept(listener, tx));
    let mut main = ctx.spawn_exec("MainProcess".into(), exec).await?;
    let mapper = Mapper::new(
        ctx.sink().clock(),
        ctx.budget(),
        main.proc,
        main.pid,
        MAX_PROCESSES,
        crate::worker::cpus_of,
    );
    let cancel = ctx.cancelled().clone();
    let mut traced = Traced {
        ctx,
        mapper,
        main: main.proc,
        too_many: false,
        held: Vec::new(),
    };
    let mut tick = tokio::time::interval(REORDER / 2);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let hang_after = p.hang_after_ms.map(Duration::from_millis);
    let end = loop {
        if traced.too_many {
            break End::TooMany;
        }
        if let Some(why) = hung(traced.mapper.lost(), hang_after, monotonic_ns()) {
            break End::Hung(why);
        }
        tokio::select! {
            Some(msg) = rx.recv() => traced.take(msg, &mut rx).await,
            _ = tick.tick() => traced.release(false).await,
            _ = &mut main.done => break End::Exited,
            command = traced.ctx.next_command() => traced.command(command),
            () = cancel.cancelled() => break End::Cancelled(traced.ctx.kill_reason()),
        }
    };
    acceptor.abort();
    let (signal, reason) = match &end {
        End::Exited => {
            // Whatever the program left behind does not outlive the run.
            traced.ctx.kill_all();
            (libc::SIGKILL, None)
        }
        End::Cancelled(reason) => {
            traced.ctx.stop(vec![main]).await;
            (libc::SIGTERM, Some(*reason))
        }
        End::Hung(_) => {
            traced.ctx.stop(vec![main]).await;
            (libc::SIGTERM, Some(KillReason::LimitReached))
        }
        End::TooMany => {
            traced.ctx.kill_all();
            if tokio::time::timeout(DRAIN, &mut main.done).await.is_err() {
                tracing::warn!("the main Python process outlived SIGKILL");
            }
            (libc::SIGKILL, Some(KillReason::LimitReached))
        }
    };
    traced.release(true).await;
    traced.drain(&mut rx).await;
    let last = traced.mapper.finish(signal, reason, monotonic_ns());
    traced.act(last).await;
    traced.release(true).await;
    if traced.mapper.discarded() > 0 {
        tracing::warn!(
            lines = traced.mapper.discarded(),
            "tracer lines could not be used"
        );
    }
    drop(dir);
    match end {
        End::Exited => Ok(()),
        End::Cancelled(reason) => Err(DemoError::Cancelled(reason)),
        End::TooMany => Err(DemoError::Failed(format!(
            "more than {MAX_PROCESSES} processes: the run's processes were killed"
        ))),
        End::Hung(why) => Err(DemoError::Failed(why)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_task_hangs_the_program_only_after_the_stated_wait() {
        let lost = Lost {
            task: 5,
            worker: "ForkPoolWorker-2".into(),
            t: 1_000_000_000,
        };
        let after = Some(Duration::from_secs(3));
        assert_eq!(hung(Some(&lost), after, 3_999_999_999), None);
        assert_eq!(
            hung(Some(&lost), after, 4_000_000_000).as_deref(),
            Some(
                "hung: the result of task 5 never arrived (ForkPoolWorker-2 died with it 3.0 s before; procviz stopped the program)"
            )
        );
        // Nothing lost, or no hang limit asked: never hung.
        assert_eq!(hung(None, after, u64::MAX), None);
        assert_eq!(hung(Some(&lost), None, u64::MAX), None);
    }
}
