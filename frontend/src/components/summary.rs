//! The run's summary: state, wall time, processes and exit codes.

use crate::layout::format_duration;
use crate::model::RunModel;
use leptos::prelude::*;
use shared::RunOutcome;

/// The summary panel.
#[component]
pub fn Summary(run: Signal<Option<RunModel>>, cores: RwSignal<u32>) -> impl IntoView {
    let status = move || {
        run.with(|r| match r.as_ref() {
            None => "no run yet".to_string(),
            Some(m) => match &m.outcome {
                None => "running".to_string(),
                Some(RunOutcome::Completed) => "finished".to_string(),
                Some(RunOutcome::Cancelled { reason }) => {
                    format!("cancelled ({reason:?})").to_lowercase()
                }
                Some(RunOutcome::Failed { message }) => format!("failed: {message}"),
            },
        })
    };
    let wall = move || {
        run.with(|r| {
            r.as_ref()
                .map(|m| format_duration(m.last_t))
                .unwrap_or_default()
        })
    };
    let procs = move || run.with(|r| r.as_ref().map_or(0, |m| m.processes.len()));
    let gaps = move || run.with(|r| r.as_ref().map_or(0, |m| m.gaps));
    view! {
        <section class="panel summary" aria-label="Summary">
            <h2>"Summary"</h2>
            <dl>
                <dt>"Run"</dt>
                <dd data-testid="run-status">{status}</dd>
                <dt>"Wall time"</dt>
                <dd data-testid="wall-time">{wall}</dd>
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
