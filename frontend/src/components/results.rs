//! The result list, in the order the caller consumed it; failed tasks as errors.

use crate::layout::format_duration;
use crate::run::RunModel;
use leptos::prelude::*;
use shared::TaskResult;
use std::sync::Arc;

/// Results listed at the top and the bottom of a long list; the ones between are counted.
/// Fewer while the run streams, when the list is redrawn several times a second (the
/// first redraw of a big run would otherwise build a hundred rows in one frame).
const SHOWN_HEAD: usize = 100;
const SHOWN_TAIL: usize = 30;
const SHOWN_HEAD_LIVE: usize = 20;
const SHOWN_TAIL_LIVE: usize = 10;
const _: () = assert!(SHOWN_HEAD_LIVE + SHOWN_TAIL_LIVE < SHOWN_HEAD + SHOWN_TAIL);

/// How many of the first and of the last results of `m` are listed.
fn shown(m: &RunModel) -> (usize, usize) {
    if m.finished() {
        (SHOWN_HEAD, SHOWN_TAIL)
    } else {
        (SHOWN_HEAD_LIVE, SHOWN_TAIL_LIVE)
    }
}

/// A listed result: position, task index, text, whether it failed, when it was consumed, and
/// its run (with the position, the row's key: another run's result is another row).
type Row = (usize, u64, String, bool, f64, shared::RunId);

/// One entry of the list; clicking it selects its task (highlighted on the timeline too).
fn result_row(r: Row, selected: RwSignal<Option<u64>>) -> impl IntoView {
    view! {
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
    }
}

/// The results panel (shown for runs that deliver results).
#[component]
pub fn Results(
    run: Signal<Option<Arc<RunModel>>>,
    selected: RwSignal<Option<u64>>,
) -> impl IntoView {
    // A big run lists its first and last results; the ones between are counted (and only
    // the listed ones are looked at). (end of the first, start of the last, results in all)
    let split = move || {
        run.with(|r| {
            let Some(m) = r.as_ref() else {
                return (0, 0, 0);
            };
            let (n, (head, tail)) = (m.results.len(), shown(m));
            if n > head + tail {
                (head, n - tail, n)
            } else {
                (n, n, n)
            }
        })
    };
    let rows = move |from_tail: bool| {
        let (head_end, tail_from, n) = split();
        let range = if from_tail { tail_from..n } else { 0..head_end };
        run.with(|r| {
            r.as_ref()
                .map(|m| {
                    m.results[range.clone()]
                        .iter()
                        .zip(range.clone())
                        .map(|(c, i)| {
                            let (text, error) = match &c.result {
                                TaskResult::Value { value } => (value.to_string(), false),
                                TaskResult::Error(e) => (format!("✗ {e}"), true),
                                TaskResult::Repr { text } => (text.clone(), false),
                            };
                            (i, c.index, text, error, c.t, m.run)
                        })
                        .collect::<Vec<Row>>()
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
        let (head_end, tail_from, n) = split();
        format!(
            "… {} more results (the first {head_end} and the last {} of {n} are listed) …",
            tail_from - head_end,
            n - tail_from
        )
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
                    <For each=move || rows(false) key=|r| (r.5, r.0) let:r>{result_row(r, selected)}</For>
                    <Show when=move || { let (head, tail, _) = split(); tail > head }>
                        <li class="elided" data-testid="results-elided">{hidden}</li>
                    </Show>
                    <For each=move || rows(true) key=|r| (r.5, r.0) let:r>{result_row(r, selected)}</For>
                </ol>
                {move || raised().map(|text| view! { <p class="raised" data-testid="raised">"✗ "{text}</p> })}
            </section>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streaming_run_lists_fewer_results_than_a_finished_one() {
        let mut m = RunModel::new(shared::RunId(1));
        assert_eq!(shown(&m), (SHOWN_HEAD_LIVE, SHOWN_TAIL_LIVE));
        m.outcome = Some(shared::RunOutcome::Completed);
        assert_eq!(shown(&m), (SHOWN_HEAD, SHOWN_TAIL));
    }
}
