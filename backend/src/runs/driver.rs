//! One run from start to finish ([`drive`]): `run_started` at t 0, the sampler, the time
//! limit, the timed actions, the demo, then `run_finished` with its outcome, after which the
//! log is complete.

use crate::child::zygote::Zygote;
use crate::clock::RunClock;
use crate::context::{ContextParts, DemoError, RunCommand, RunContext};
use crate::events::Recorder;
use crate::runs::handle::RunHandle;
use crate::runs::options::{RunOptions, RuntimeConfig};
use crate::runs::schedule;
use crate::sampler::Sampler;
use shared::{EventKind, KillReason, RunOutcome, RunStart, RunTime};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Runs `handle`'s demo to its end and completes its log.
pub async fn drive(
    handle: Arc<RunHandle>,
    config: RuntimeConfig,
    options: RunOptions,
    zygote: Arc<Zygote>,
    commands: mpsc::UnboundedReceiver<RunCommand>,
) {
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
    let mut ctx = RunContext::new(ContextParts {
        sink: sink.clone(),
        sampler,
        zygote,
        kill_grace: config.kill_grace,
        max_output_lines: config.max_output_lines,
        cancel: handle.cancel.clone(),
        reason: handle.reason.clone(),
        commands,
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
    let outcome = match crate::demos::execute(&handle.demo, &mut ctx).await {
        Ok(()) => RunOutcome::Completed,
        Err(DemoError::Cancelled(reason)) => RunOutcome::Cancelled { reason },
        Err(e @ DemoError::Spawn(_)) => {
            // Children already started must not outlive the failed run.
            ctx.kill_all();
            RunOutcome::Failed {
                message: e.to_string(),
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
