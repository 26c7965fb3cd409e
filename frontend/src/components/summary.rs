//! The run's summary: state, wall time, processes and exit codes.

use crate::layout::format_duration;
use crate::run::RunModel;
use leptos::prelude::*;
use shared::RunOutcome;
use std::sync::Arc;

/// The summary panel of `run` as shown (cut at the replay's moment); its state is the
/// state of the `whole` run: a replay of a finished run says "finished · replay", never
/// "running" (a finished run cannot be cancelled).
#[component]
pub fn Summary(
    run: Signal<Option<Arc<RunModel>>>,
    whole: Signal<Option<Arc<RunModel>>>,
    cores: RwSignal<u32>,
) -> impl IntoView {
    let status = move || {
        let replay = run.with(|shown| {
            whole.with(|w| match (shown, w) {
                (Some(s), Some(w)) => s.last_t < w.last_t && w.outcome.is_some(),
                _ => false,
            })
        });
        let state = whole.with(|r| match r.as_ref() {
            None => "no run yet".to_string(),
            Some(m) => match &m.outcome {
                None => "running".to_string(),
                Some(RunOutcome::Completed) => "finished".to_string(),
                Some(RunOutcome::Cancelled { reason }) => {
                    format!("cancelled ({reason:?})").to_ascii_lowercase()
                }
                Some(RunOutcome::Failed { message }) => format!("failed: {message}"),
            },
        });
        match replay {
            true => format!("{state} · replay"),
            false => state,
        }
    };
    let wall = move || {
        run.with(|r| {
            r.as_ref()
                .map(|m| format_duration(m.last_t))
                .unwrap_or_default()
        })
    };
    let procs = move || run.with(|r| r.as_ref().map_or(0, |m| m.processes.len()));
    let work = move || {
        run.with(|r| {
            r.as_ref()
                .map(|m| format_duration(m.work_time()))
                .unwrap_or_default()
        })
    };
    let speedup = move || {
        run.with(|r| {
            r.as_ref()
                .map(|m| format!("{:.2}×", m.speedup()))
                .unwrap_or_default()
        })
    };
    let per_core = move || {
        run.with(|r| {
            r.as_ref()
                .filter(|m| m.last_t > 0.0 && !m.core_blocks.is_empty())
                .map(|m| {
                    m.core_busy()
                        .iter()
                        .enumerate()
                        .map(|(c, busy)| format!("core {c}: {:.0} %", busy / m.last_t * 100.0))
                        .collect::<Vec<_>>()
                        .join(" · ")
                })
                .unwrap_or_else(|| "—".into())
        })
    };
    let slices = move || {
        run.with(|r| {
            r.as_ref()
                .map(|m| {
                    format!(
                        "{} slices · waited {}",
                        m.slices,
                        format_duration(m.total_waited_ns() as f64 / 1e9)
                    )
                })
                .unwrap_or_default()
        })
    };
    let gaps = move || run.with(|r| r.as_ref().map_or(0, |m| m.gaps));
    let ran_with = move || {
        whole.with(|r| {
            r.as_ref().map(|m| match &m.python {
                Some(p) => p.describe(),
                None => "procviz runtime".to_string(),
            })
        })
    };
    view! {
        <section class="panel summary" aria-label="Summary">
            <h2>"Summary"</h2>
            <dl>
                <dt>"Run"</dt>
                <dd data-testid="run-status">{status}</dd>
                <dt>"Ran with"</dt>
                <dd data-testid="ran-with">{ran_with}</dd>
                <dt>"Wall time"</dt>
                <dd data-testid="wall-time">{wall}</dd>
                <dt>{move || if run.with(|r| r.as_ref().is_some_and(|m| m.tasks.is_empty())) {
                    "Work (each process's time alone)"
                } else {
                    "Work (sum of task times)"
                }}</dt>
                <dd data-testid="work-time">{work}</dd>
                <dt>"Speedup (work ÷ wall)"</dt>
                <dd data-testid="speedup">{speedup}</dd>
                <dt>"Core usage by the run"</dt>
                <dd data-testid="core-usage">{per_core}</dd>
                <dt>"Time slices"</dt>
                <dd data-testid="slices">{slices}</dd>
                <dt>"Processes"</dt>
                <dd>{procs}</dd>
                <dt>"Cores"</dt>
                <dd data-testid="cores">{move || cores.get()}</dd>
            </dl>
            <Show when=move || { gaps() > 0 }>
                <p class="warning">{move || format!("{} events missing from the stream", gaps())}</p>
            </Show>
        </section>
    }
}
