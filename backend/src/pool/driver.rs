//! The pool's I/O: spawns the workers the state machine asks for, writes their task records,
//! feeds it what their supervisors report, records its events (one batch per wake-up), and
//! carries out the run's commands and cancellation meanwhile.

use crate::child::zygote::ChildKind;
use crate::child::{ChildHandle, WorkerMsg};
use crate::context::{DemoError, RunContext};
use crate::ipc::TaskRecord;
use crate::pool::state::{Action, Pool, PoolConfig};
use shared::ProcId;
use std::collections::HashMap;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// Reports and exits waiting for the pool before a worker's supervisor waits.
const INBOX: usize = 1024;

/// The workers' processes and what the pool needs to reach them.
struct Workers {
    config: PoolConfig,
    handles: HashMap<ProcId, ChildHandle>,
    tx: mpsc::Sender<WorkerMsg>,
    /// Encoded task records, reused between writes.
    bytes: Vec<u8>,
}

/// Runs a pool to its end (or until the run is cancelled).
pub async fn run_pool(config: PoolConfig, ctx: &mut RunContext) -> Result<(), DemoError> {
    let clock = ctx.sink().clock();
    let (tx, mut rx) = mpsc::channel(INBOX);
    let mut pool = Pool::new(config.clone(), clock, clock.now());
    let mut workers = Workers {
        config,
        handles: HashMap::new(),
        tx,
        bytes: Vec::new(),
    };
    ctx.sink().emit_batch(pool.take_events()).await;
    workers.carry_out(&mut pool, ctx).await?;
    let cancel = ctx.cancelled().clone();
    loop {
        pool.advance(clock.now());
        workers.carry_out(&mut pool, ctx).await?;
        if pool.is_done() {
            break;
        }
        ctx.sink().emit_batch(pool.take_events()).await;
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { break };
                workers.take(msg, &mut pool, ctx).await?;
                // Take everything already waiting in one go: one event batch per wake-up.
                while let Ok(msg) = rx.try_recv() {
                    workers.take(msg, &mut pool, ctx).await?;
                }
            }
            command = ctx.next_command() => ctx.apply(command),
            () = cancel.cancelled() => {
                let reason = ctx.kill_reason();
                pool.terminate(reason, clock.now());
                ctx.sink().emit_batch(pool.take_events()).await;
                let handles: Vec<ChildHandle> = workers.handles.into_values().collect();
                ctx.stop(handles).await;
                return Err(DemoError::Cancelled(reason));
            }
        }
    }
    ctx.sink().emit_batch(pool.take_events()).await;
    Ok(())
}

impl Workers {
    /// Hands `msg` to the pool (an exited worker is forgotten first) and carries out what
    /// that asks for.
    async fn take(
        &mut self,
        msg: WorkerMsg,
        pool: &mut Pool,
        ctx: &mut RunContext,
    ) -> Result<(), DemoError> {
        if let WorkerMsg::Exited(proc, _) = &msg {
            ctx.forget(*proc);
            self.handles.remove(proc);
        }
        pool.on_message(msg, ctx.sink().clock().now());
        self.carry_out(pool, ctx).await
    }

    /// Carries out every action the pool has asked for, in order.
    async fn carry_out(&mut self, pool: &mut Pool, ctx: &mut RunContext) -> Result<(), DemoError> {
        while let Some(action) = pool.next_action() {
            match action {
                Action::Spawn { name } => {
                    let kind = ChildKind::PoolWorker {
                        maxtasks: self.config.maxtasks,
                    };
                    let handle = ctx
                        .spawn_child(
                            name,
                            self.config.script.clone(),
                            kind,
                            self.config.affinity.clone(),
                            Some(self.tx.clone()),
                        )
                        .await?;
                    let proc = handle.proc;
                    self.handles.insert(proc, handle);
                    pool.worker_spawned(proc, ctx.sink().clock().now());
                }
                Action::Send { worker, records } => self.send(worker, &records).await,
            }
        }
        Ok(())
    }

    /// Writes `records` to `worker`'s control channel. A worker that cannot be written to has
    /// died: its exit gives its chunks back.
    async fn send(&mut self, worker: ProcId, records: &[TaskRecord]) {
        let Some(input) = self.handles.get_mut(&worker).and_then(|h| h.input.as_mut()) else {
            return;
        };
        self.bytes.clear();
        for r in records {
            self.bytes.extend_from_slice(&r.encode());
        }
        if let Err(e) = input.write_all(&self.bytes).await {
            tracing::debug!(?worker, error = %e, "sending task records failed");
        }
    }
}
