//! One run from start to finish ([`drive`]): `run_started` at t 0, the sampler, the time
//! limit, the timed actions, the demo, then `run_finished` with its outcome, after which the
//! log is complete.
//!
//! If the fork server dies while the run is in flight (see [`crate::child::zygote`]), the demo
//! is stopped where it is (its children died with the fork server), every child's exit is
//! recorded, and the run ends `failed` with the death's cause and whether a new fork server
//! is up (waited for at most [`RESTART_WAIT`]).

use crate::child::zygote::{Health, Restart, Zygote};
use crate::clock::RunClock;
use crate::context::{ContextParts, DemoError, RunCommand, RunContext};
use crate::events::Recorder;
use crate::runs::handle::RunHandle;
use crate::runs::options::{RunOptions, RuntimeConfig};
use crate::runs::schedule;
use crate::sampler::Sampler;
use shared::{DemoRequest, EventKind, KillReason, RunOutcome, RunStart, RunTime};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How long a run ended by the fork server's death waits to say whether a new one is up.
pub const RESTART_WAIT: Duration = Duration::from_secs(5);

/// Runs `handle`'s demo to its end and completes its log.
pub async fn drive(
    handle: Arc<RunHandle>,
    config: RuntimeConfig,
    options: RunOptions,
    zygote: Arc<Zygote>,
    commands: mpsc::UnboundedReceiver<RunCommand>,
) {
    // A Python run asks its interpreter what it is before it starts (said in `run_started`).
    let interpreter = match &handle.demo {
        DemoRequest::Python(_) => Some(
            crate::python::probe(&config.python)
                .await
                .map_err(|e| e.to_string()),
        ),
        _ => None,
    };
    let (sink, recorder) = Recorder::start(RunClock::start_now(), handle.log.clone());
    sink.emit(
        RunTime::ZERO,
        EventKind::RunStarted(Box::new(RunStart {
            demo: handle.demo.clone(),
            title: handle.demo.title().to_string(),
            cores: crate::host::online_cores(),
            main_pid: std::process::id(),
            request: options.request.clone(),
            schedule: options.schedule.clone(),
            interpreter: interpreter.clone().and_then(Result::ok),
            program: match &handle.demo {
                DemoRequest::Python(p) => crate::python::program_text(p),
                _ => None,
            },
        })),
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
    let mut health = zygote.health();
    let deaths = health.borrow_and_update().deaths;
    let mut ctx = RunContext::new(ContextParts {
        sink: sink.clone(),
        sampler,
        zygote,
        kill_grace: config.kill_grace,
        max_output_lines: config.max_output_lines,
        cancel: handle.cancel.clone(),
        reason: handle.reason.clone(),
        commands,
        interpreter,
        python_path: config.python_path.clone(),
    });
    let timer = {
        let handle = handle.clone();
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            handle.cancel(KillReason::LimitReached);
        })
    };
    // Timed actions go through the run's command queue, like a kill from the page.
    let scheduled = schedule::arm(&options.schedule, &handle.commands);
    let ended = tokio::select! {
        // The death is published before the children's exits, so a demo that is answered
        // by them has not finished yet when this is checked.
        biased;
        () = fork_server_death(&mut health, deaths) => None,
        result = crate::demos::execute(&handle.demo, &mut ctx) => Some(result),
    };
    let outcome = match ended {
        Some(Ok(())) => RunOutcome::Completed,
        Some(Err(DemoError::Cancelled(reason))) => RunOutcome::Cancelled { reason },
        Some(Err(DemoError::Failed(message))) => {
            ctx.kill_all();
            RunOutcome::Failed { message }
        }
        Some(Err(e @ DemoError::Spawn(_))) if health.borrow().deaths == deaths => {
            // Children already started must not outlive the failed run.
            ctx.kill_all();
            RunOutcome::Failed {
                message: e.to_string(),
            }
        }
        // The fork server died: the demo is dropped where it was (a spawn it had asked for
        // failed with it); its children died with the fork server.
        None | Some(Err(DemoError::Spawn(_))) => {
            ctx.kill_all();
            RunOutcome::Failed {
                message: death_message(&mut health).await,
            }
        }
    };
    timer.abort();
    scheduled.iter().for_each(tokio::task::JoinHandle::abort);
    ctx.wind_down().await;
    sink.emit_now(EventKind::RunFinished { outcome }).await;
    drop(sink);
    if let Err(e) = recorder.finished().await {
        tracing::error!(run = %handle.id, error = %e, "the run's recorder failed");
    }
    handle.log.finish();
}

/// Resolves when the fork server has died more than `deaths` times.
async fn fork_server_death(health: &mut watch::Receiver<Health>, deaths: u64) {
    if health.wait_for(|h| h.deaths > deaths).await.is_err() {
        // The fork server's handle is gone: it cannot die any more.
        std::future::pending::<()>().await;
    }
}

/// What a run ended by the fork server's death says, once the keeper knows whether a new one
/// is up (or after [`RESTART_WAIT`]).
async fn death_message(health: &mut watch::Receiver<Health>) -> String {
    let settled = |h: &Health| {
        h.last
            .as_ref()
            .is_some_and(|d| d.restart != Restart::Pending)
    };
    if tokio::time::timeout(RESTART_WAIT, health.wait_for(settled))
        .await
        .is_err()
    {
        tracing::warn!("no news of a new fork server; the run ends saying one is being started");
    }
    let last = health.borrow().last.clone();
    last.map_or_else(
        || "the fork server died".to_string(),
        |death| death.message(),
    )
}
