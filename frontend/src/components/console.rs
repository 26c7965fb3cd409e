//! The processes' own output, in arrival order, each line labelled by its process.

use crate::layout::{format_duration, process_colour};
use crate::model::RunModel;
use leptos::prelude::*;
use shared::Stream;

/// The console panel.
#[component]
pub fn Console(run: Signal<Option<RunModel>>) -> impl IntoView {
    let lines = move || {
        run.with(|r| {
            r.as_ref()
                .map(|m| {
                    m.console
                        .iter()
                        .map(|l| {
                            (
                                l.seq,
                                l.t,
                                l.proc.0,
                                m.name_of(l.proc).to_string(),
                                l.stream,
                                l.text.clone(),
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    view! {
        <section class="panel console" aria-label="Console output">
            <h2>"Console"</h2>
            <ol class="lines" data-testid="console">
                <For each=lines key=|l| l.0 let:l>
                    <li
                        class="console-line"
                        class:stderr=l.4 == Stream::Stderr
                        data-proc=l.2
                    >
                        <span class="when">{format_duration(l.1)}</span>
                        <span class="who" style:border-color=process_colour(l.2)>{l.3}</span>
                        <span class="text">{l.5}</span>
                    </li>
                </For>
            </ol>
        </section>
    }
}
