//! The equivalent Python program of the run on screen, copyable.

use crate::python::python_code;
use crate::run::RunModel;
use leptos::prelude::*;
use std::sync::Arc;

/// The Python panel.
#[component]
pub fn PythonPanel(run: Signal<Option<Arc<RunModel>>>) -> impl IntoView {
    let code = move || run.with(|r| r.as_ref().and_then(|m| m.demo.as_ref()).map(python_code));
    let copied = RwSignal::new(false);
    let copy = move |_| {
        if let Some(text) = code() {
            // The promise settles later; a refusal (no permission) just leaves the text to select.
            let _promise = window().navigator().clipboard().write_text(&text);
            copied.set(true);
        }
    };
    view! {
        <Show when=move || code().is_some()>
            <details class="panel python" data-testid="python" open=true>
                <summary>"The same in Python"</summary>
                <button class="copy" data-testid="copy-python" on:click=copy>
                    {move || if copied.get() { "copied" } else { "copy" }}
                </button>
                <pre data-testid="python-code">{move || code().unwrap_or_default()}</pre>
            </details>
        </Show>
    }
}
