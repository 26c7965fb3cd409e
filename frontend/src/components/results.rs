//! The result list, in the order the caller consumed it; failed tasks as errors.

use crate::layout::format_duration;
use crate::model::RunModel;
use leptos::prelude::*;
use shared::TaskResult;
use std::sync::Arc;

/// Results listed at the top and the bottom of a long list; the ones between are counted.
const SHOWN_HEAD: usize = 100;
const SHOWN_TAIL: usize = 30;

/// The results panel (shown for runs that deliver results).
#[component]
pub fn Results(
    run: Signal<Option<Arc<RunModel>>>,
    selected: RwSignal<Option<u64>>,
) -> impl IntoView {
    let rows = move || {
        run.with(|r| {
            r.as_ref()
                .map(|m| {
                    let n = m.results.len();
                    // A big run lists its first and last results; the rest is counted.
                    let (head, tail) = if n > SHOWN_HEAD + SHOWN_TAIL {
                        (SHOWN_HEAD, n - SHOWN_TAIL)
                    } else {
                        (n, n)
                    };
                    m.results
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i < head || *i >= tail)
                        .map(|(i, c)| {
                            let (text, error) = match &c.result {
                                TaskResult::Value { value } => (value.to_string(), false),
                                TaskResult::Error(e) => (format!("✗ {e}"), true),
                            };
                            (i, c.index, text, error, c.t, i == tail && tail > head)
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let raised = move || {
        run.with(|r| {
            r.as_ref()
                .and_then(|m| m.raised.clone())
                .map(|(e, lost, t)| {
                    format!("raised {e} at {} — {lost} results lost", format_duration(t))
                })
        })
    };
    let hidden = move || {
        run.with(|r| {
            let n = r.as_ref().map_or(0, |m| m.results.len());
            format!("… {} more results (the first {SHOWN_HEAD} and the last {SHOWN_TAIL} of {n} are listed) …", n.saturating_sub(SHOWN_HEAD + SHOWN_TAIL))
        })
    };
    let has_any = move || {
        run.with(|r| {
            r.as_ref()
                .is_some_and(|m| !m.results.is_empty() || m.raised.is_some())
        })
    };
    view! {
        <Show when=has_any>
            <section class="panel results" aria-label="Result list">
                <h2>"Result list (in the order the caller got it)"</h2>
                <ol class="result-list" data-testid="results">
                    <For each=rows key=|r| r.0 let:r>
                        {r.5.then(|| view! {
                            <li class="elided" data-testid="results-elided">{move || hidden()}</li>
                        })}
                        <li
                            class="result"
                            class:error=r.3
                            class:selected=move || selected.get() == Some(r.1)
                            data-testid="result"
                            data-index=r.1
                            title="Show this task on the timeline"
                            on:click=move |_| selected.set(Some(r.1))
                        >
                            <span class="index">{format!("[{}]", r.1)}</span>
                            <span class="value">{r.2}</span>
                            <span class="when">{format_duration(r.4)}</span>
                        </li>
                    </For>
                </ol>
                {move || raised().map(|text| view! { <p class="raised" data-testid="raised">"✗ "{text}</p> })}
            </section>
        </Show>
    }
}
