//! "Open a recording": a run recorded with `procviz run … > run.ndjson`, read in 2 MiB chunks
//! (the page keeps drawing between them) and shown like a finished live run.

use crate::app::Player;
use crate::app::wait::{after_next_paint, next_task};
use crate::run::{Recording, RunModel};
use leptos::prelude::*;
use std::sync::Arc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The bytes read at a time: fewer reads of the file cost less (each is a request to the
/// browser), more bytes hold the page longer per chunk.
const CHUNK: f64 = 2.0 * 1024.0 * 1024.0;

/// Reads `file` into a run, reporting progress (0 to 1) as it goes.
async fn read(
    file: web_sys::File,
    progress: RwSignal<Option<f64>>,
) -> Result<(RunModel, Option<String>), String> {
    let size = file.size();
    let mut rec = Recording::default();
    // The browser reads the next chunk while this one is taken in.
    let chunk = |at: f64| -> Result<JsFuture, String> {
        let blob = file
            .slice_with_f64_and_f64(at, (at + CHUNK).min(size))
            .map_err(|e| format!("cannot read the file: {e:?}"))?;
        Ok(JsFuture::from(blob.array_buffer()))
    };
    let mut at = 0.0;
    let mut next = (size > 0.0).then(|| chunk(0.0)).transpose()?;
    while let Some(reading) = next.take() {
        let buffer = reading
            .await
            .map_err(|e| format!("cannot read the file: {e:?}"))?;
        at = (at + CHUNK).min(size);
        next = (at < size).then(|| chunk(at)).transpose()?;
        rec.feed(&js_sys::Uint8Array::new(&buffer).to_vec());
        progress.set(Some(at / size));
    }
    let name = file.name();
    rec.finish().map(|(mut m, skipped)| {
        m.title = format!("{} — recording {name}", m.title);
        m.source = crate::run::Source::Recording { file: name };
        (m, skipped)
    })
}

/// The "Open recording…" control.
#[component]
pub fn OpenRecording(
    run: RwSignal<Option<Arc<RunModel>>>,
    error: RwSignal<Option<shared::CommandError>>,
    /// The replay (a recording opens showing everything).
    player: Player,
) -> impl IntoView {
    let app = crate::app::AppState::expect();
    let progress: RwSignal<Option<f64>> = RwSignal::new(None);
    let on_change = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        progress.set(Some(0.0));
        leptos::task::spawn_local(async move {
            let read = read(file, progress).await;
            // The first drawing of a big run gets a task of its own, not the one that read
            // the last chunk (in an animation frame, its layout would follow in that same
            // frame: one long frame instead of two shorter ones).
            next_task().await;
            match read {
                Ok((model, skipped)) => {
                    player.show_all();
                    run.set(Some(Arc::new(model)));
                    // The panels below it after the timeline: not built in one frame.
                    after_next_paint().await;
                    app.redraw_below();
                    if let Some(message) = skipped {
                        error.set(Some(shared::CommandError {
                            kind: shared::ErrorKind::Malformed,
                            message,
                        }));
                    }
                }
                Err(message) => error.set(Some(shared::CommandError {
                    kind: shared::ErrorKind::Malformed,
                    message,
                })),
            }
            progress.set(None);
            input.set_value("");
        });
    };
    view! {
        <label class="open-recording button-like" title="Open a run recorded with: procviz run … > run.ndjson">
            "Open recording…"
            <input type="file" accept=".ndjson,.jsonl,.json" data-testid="open-recording" on:change=on_change />
        </label>
        <span class="loading" data-testid="loading" data-progress=move || progress.get().map(|p| format!("{p:.3}")).unwrap_or_default()>
            {move || progress.get().map(|p| format!("reading {:.0} %", p * 100.0))}
        </span>
    }
}
