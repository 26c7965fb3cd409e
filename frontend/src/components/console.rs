//! The processes' own output, in arrival order, each line labelled by its process.

use crate::layout::{format_duration, process_colour};
use crate::run::RunModel;
use leptos::prelude::*;
use shared::Stream;
use std::sync::Arc;

/// Lines shown: the latest ones (a big run's earlier lines are counted, not listed); fewer
/// while the run streams, when they are replaced several times a second.
const SHOWN: usize = 100;
const SHOWN_LIVE: usize = 40;

/// How many of the latest lines of `m` are listed.
fn shown(m: &RunModel) -> usize {
    if m.finished() { SHOWN } else { SHOWN_LIVE }
}

/// The console panel. A line printed while its process ran a task links to that task's bar.
#[component]
pub fn Console(
    run: Signal<Option<Arc<RunModel>>>,
    selected: RwSignal<Option<u64>>,
) -> impl IntoView {
    let lines = move || {
        run.with(|r| {
            r.as_ref()
                .map(|m| {
                    let skip = m.console.len().saturating_sub(shown(m));
                    m.console[skip..]
                        .iter()
                        .map(|l| {
                            (
                                l.seq,
                                l.t,
                                l.proc.0,
                                m.name_of(l.proc).to_string(),
                                l.stream,
                                l.text.clone(),
                                m.task_at(l.proc, l.t).map(|b| b.task),
                                m.run,
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let earlier = move || {
        run.with(|r| {
            r.as_ref()
                .map_or(0, |m| m.console.len().saturating_sub(shown(m)))
        })
    };
    view! {
        <section class="panel console" aria-label="Console output">
            <h2>"Console"</h2>
            <Show when=move || { earlier() > 0 }>
                <p class="elided">{move || format!("{} earlier lines not shown", earlier())}</p>
            </Show>
            // The selected task's links are highlighted by one style rule, not one effect per
            // line (the list is rebuilt often while a big run streams).
            <style>{move || selected.get().map(|t| format!(".console .to-bar[data-task=\"{t}\"] {{ background: var(--accent); color: #fff; }}")).unwrap_or_default()}</style>
            <ol class="lines" data-testid="console">
                // Keyed by run and line: another run's line with the same number is another row.
                <For each=lines key=|l| (l.7, l.0) let:l>
                    <li
                        class="console-line"
                        class:stderr=l.4 == Stream::Stderr
                        data-proc=l.2
                    >
                        <span class="when">{format_duration(l.1)}</span>
                        <span class="who" style:border-color=process_colour(l.2)>{l.3}</span>
                        <span class="text">{l.5}</span>
                        {l.6.map(|task| view! {
                            <button
                                class="to-bar"
                                data-testid="console-task"
                                data-task=task
                                title="Show the task this line was printed from"
                                on:click=move |_| selected.set(Some(task))
                            >{format!("→ task {task}")}</button>
                        })}
                    </li>
                </For>
            </ol>
        </section>
    }
}
