//! The Python beside the run: for a real Python run, the program exactly as it ran, which the
//! presenter can edit and run again; for a run of procviz's runtime, the equivalent Python
//! program, copyable.

use crate::app::AppState;
use crate::python::python_code;
use crate::run::{PythonRun, RunModel};
use leptos::prelude::*;
use shared::{DemoRequest, PythonParams, PythonProgram, RunId};
use std::sync::Arc;

/// The Python panel.
#[component]
pub fn PythonPanel(run: Signal<Option<Arc<RunModel>>>) -> impl IntoView {
    let real = Memo::new(move |_| {
        run.with(|r| {
            r.as_ref().and_then(|m| {
                let python = m.python.clone()?;
                let DemoRequest::Python(params) = m.demo.clone()? else {
                    return None;
                };
                Some((m.run, python, params))
            })
        })
    });
    view! {
        {move || match real.get() {
            Some((id, python, params)) => view! { <ProgramPanel id python params /> }.into_any(),
            None => view! { <EquivalentPanel run /> }.into_any(),
        }}
    }
}

/// The program a real Python run ran, editable by the presenter, and its interpreter.
#[component]
fn ProgramPanel(id: RunId, python: PythonRun, params: PythonParams) -> impl IntoView {
    let app = AppState::expect();
    let program = python.program.clone();
    let file = program
        .as_ref()
        .map_or_else(|| "(program not known)".to_string(), |p| p.file.clone());
    let original = program.map(|p| p.source).unwrap_or_default();
    let draft = RwSignal::new(original.clone());
    // Copy handles, so the view's closures may be called again and again.
    let original = StoredValue::new(original);
    let params = StoredValue::new(params);
    let edited = move || draft.with(|d| original.with_value(|o| d != o));
    let run_it = move |_| {
        let source = draft.get_untracked();
        if source.len() > PythonParams::MAX_SOURCE_BYTES {
            app.error.set(Some(shared::CommandError {
                kind: shared::ErrorKind::InvalidParameter,
                message: format!(
                    "The program is {} bytes; at most {} can run.",
                    source.len(),
                    PythonParams::MAX_SOURCE_BYTES
                ),
            }));
            return;
        }
        app.start_demo(DemoRequest::Python(PythonParams {
            program: PythonProgram::Code { source },
            ..params.get_value()
        }));
    };
    let reset = move |_| draft.set(original.get_value());
    let presenting = move || app.presenting();
    view! {
        <details class="panel python real" data-testid="python" data-run=id.0 open=true>
            <summary>"The program: " <code data-testid="python-file">{file}</code></summary>
            <p class="interpreter" data-testid="interpreter">{python.describe()}</p>
            <textarea
                class="python-editor"
                data-testid="python-editor"
                spellcheck="false"
                rows=18
                readonly=move || !presenting()
                aria-label="The Python program"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
            ></textarea>
            <Show when=presenting>
                <div class="python-actions">
                    <button class="run-python" data-testid="run-python" on:click=run_it>
                        {move || if edited() { "Run the edited program" } else { "Run again" }}
                    </button>
                    <Show when=edited>
                        <button class="reset-python" data-testid="reset-python" on:click=reset>"undo edits"</button>
                    </Show>
                    <span class="hint">"Runs with CPython as main.py (the presenter's page only)."</span>
                </div>
            </Show>
        </details>
    }
}

/// The equivalent Python program of a run of procviz's runtime, copyable.
#[component]
fn EquivalentPanel(run: Signal<Option<Arc<RunModel>>>) -> impl IntoView {
    // Written again only when the run's request changes, not at every redraw of its run.
    let demo = Memo::new(move |_| run.with(|r| r.as_ref().and_then(|m| m.demo.clone())));
    let code = Memo::new(move |_| demo.with(|d| d.as_ref().map(python_code)));
    let code = move || code.get();
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
