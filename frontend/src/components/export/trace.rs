//! "Download trace" and "Open in Perfetto": the run on screen (live or a recording) as a
//! Perfetto trace ([`crate::export::trace`] writes it), saved as a file or handed to
//! ui.perfetto.dev in a window the page opens, by Perfetto's `postMessage` handshake. The
//! bytes go to JavaScript as they are written; nothing is uploaded anywhere.

use super::download;
use crate::app::wait::sleep;
use crate::export::trace::{
    Handshake, NotOpened, PERFETTO_URL, PING_MS, Step, trace_file_name, trace_title, write_trace,
};
use crate::run::RunModel;
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// A trace being written: its bytes go to JavaScript in parts of 1 MiB, so the page's own
/// memory holds one part, never the whole file (a million tasks make about 160 MB).
struct BlobParts {
    parts: js_sys::Array,
    buf: Vec<u8>,
}

impl BlobParts {
    const PART: usize = 1 << 20;

    fn new() -> Self {
        BlobParts {
            parts: js_sys::Array::new(),
            buf: Vec::with_capacity(Self::PART),
        }
    }

    fn push_part(&mut self) {
        if !self.buf.is_empty() {
            self.parts
                .push(&js_sys::Uint8Array::from(self.buf.as_slice()));
            self.buf.clear();
        }
    }

    fn into_blob(mut self) -> Result<web_sys::Blob, String> {
        self.push_part();
        let options = web_sys::BlobPropertyBag::new();
        options.set_type("application/json");
        web_sys::Blob::new_with_u8_array_sequence_and_options(&self.parts, &options)
            .map_err(|e| format!("the browser refused the trace: {e:?}"))
    }
}

impl std::io::Write for BlobParts {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= Self::PART {
            self.push_part();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The run on screen as a trace file, with its name and its title in Perfetto.
struct Trace {
    blob: web_sys::Blob,
    file: String,
    title: String,
}

fn trace_of(run: RwSignal<Option<Arc<RunModel>>>) -> Option<Result<Trace, String>> {
    run.with_untracked(|r| {
        r.as_ref().map(|m| {
            let parts =
                write_trace(m, BlobParts::new()).map_err(|e| format!("writing the trace: {e}"))?;
            Ok(Trace {
                blob: parts.into_blob()?,
                file: trace_file_name(m),
                title: trace_title(m),
            })
        })
    })
}

/// Perfetto's open message: `{perfetto: {buffer, title, fileName}}`.
fn open_message(buffer: &JsValue, title: &str, file: &str) -> Result<JsValue, JsValue> {
    let inner = js_sys::Object::new();
    js_sys::Reflect::set(&inner, &"buffer".into(), buffer)?;
    js_sys::Reflect::set(&inner, &"title".into(), &title.into())?;
    js_sys::Reflect::set(&inner, &"fileName".into(), &file.into())?;
    let message = js_sys::Object::new();
    js_sys::Reflect::set(&message, &"perfetto".into(), &inner)?;
    Ok(message.into())
}

/// Hands `trace` to the Perfetto window `perfetto` by the handshake ([`Handshake`]): pings
/// until it answers, then posts the trace once (`true`). Stops quietly if the window is closed
/// (`false`).
async fn hand_over(perfetto: web_sys::Window, trace: Trace) -> Result<bool, NotOpened> {
    let buffer = JsFuture::from(trace.blob.array_buffer())
        .await
        .map_err(|_| NotOpened::NoAnswer)?;
    let handshake = Rc::new(RefCell::new(Handshake::default()));
    let answered = Rc::new(Cell::new(false));
    let listener = {
        let (handshake, answered, from) = (handshake.clone(), answered.clone(), perfetto.clone());
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let from_window = ev
                .source()
                .is_some_and(|s| js_sys::Object::is(&s, from.as_ref()));
            let data = ev.data().as_string();
            if handshake
                .borrow_mut()
                .message(&ev.origin(), from_window, data.as_deref())
                == Step::Post
            {
                answered.set(true);
            }
        })
    };
    let callback = listener.as_ref().unchecked_ref();
    if window()
        .add_event_listener_with_callback("message", callback)
        .is_err()
    {
        return Err(NotOpened::NoAnswer);
    }
    let result = loop {
        if answered.get() {
            let sent = open_message(&buffer, &trace.title, &trace.file)
                .and_then(|m| perfetto.post_message(&m, PERFETTO_URL));
            break sent.map(|()| true).map_err(|_| NotOpened::NoAnswer);
        }
        if perfetto.closed().unwrap_or(true) {
            break Ok(false);
        }
        let step = handshake.borrow_mut().tick();
        match step {
            Step::Ping => {
                if let Err(e) = perfetto.post_message(&"PING".into(), PERFETTO_URL) {
                    leptos::logging::warn!("procviz: could not ping Perfetto: {e:?}");
                }
            }
            Step::GiveUp => break Err(NotOpened::NoAnswer),
            Step::Post | Step::Wait => {}
        }
        sleep(PING_MS).await;
    };
    if let Err(e) = window().remove_event_listener_with_callback("message", callback) {
        leptos::logging::warn!("procviz: could not stop listening for Perfetto: {e:?}");
    }
    result
}

/// "Download trace" and "Open in Perfetto": the run on screen (live or a recording) as a
/// Perfetto trace. Offline, or when no window opens, the page says so and offers the file.
#[component]
pub fn TraceExport(run: RwSignal<Option<Arc<RunModel>>>) -> impl IntoView {
    let href = RwSignal::new(String::new());
    let file = RwSignal::new(String::new());
    let note: RwSignal<Option<String>> = RwSignal::new(None);
    // The file, ready to download from the link (the previous one's URL is released).
    let offer = move |trace: &Trace| {
        let Ok(url) = web_sys::Url::create_object_url_with_blob(&trace.blob) else {
            note.set(Some("the browser refused the trace file".into()));
            return None;
        };
        let old = href.get_untracked();
        if !old.is_empty()
            && let Err(e) = web_sys::Url::revoke_object_url(&old)
        {
            leptos::logging::warn!("procviz: could not release the last trace: {e:?}");
        }
        href.set(url.clone());
        file.set(trace.file.clone());
        Some(url)
    };
    let download_trace = move |_| {
        note.set(None);
        match trace_of(run) {
            Some(Ok(trace)) => {
                if let Some(url) = offer(&trace) {
                    download(&url, &trace.file);
                }
            }
            Some(Err(message)) => note.set(Some(message)),
            None => {}
        }
    };
    let open_perfetto = move |_| {
        note.set(None);
        let not_opened = |why: NotOpened| {
            note.set(Some(why.message().into()));
            if let Some(Ok(trace)) = trace_of(run) {
                offer(&trace);
            }
        };
        if !window().navigator().on_line() {
            return not_opened(NotOpened::Offline);
        }
        // Opened at once, in the click (later, a pop-up blocker would refuse it).
        let Ok(Some(perfetto)) = window().open_with_url_and_target(PERFETTO_URL, "_blank") else {
            return not_opened(NotOpened::Blocked);
        };
        let trace = match trace_of(run) {
            Some(Ok(trace)) => trace,
            Some(Err(message)) => return note.set(Some(message)),
            None => return,
        };
        offer(&trace);
        note.set(Some("opening the trace in Perfetto…".into()));
        leptos::task::spawn_local(async move {
            match hand_over(perfetto, trace).await {
                Ok(true) => note.set(Some("sent to Perfetto: see its window".into())),
                Ok(false) => note.set(None),
                Err(why) => note.set(Some(why.message().into())),
            }
        });
    };
    let has_run = move || run.with(Option::is_some);
    view! {
        <div class="export trace-export">
            <button data-testid="export-trace" disabled=move || !has_run() on:click=download_trace
                title="The whole run as a Perfetto / Chrome trace (JSON)">"Download trace"</button>
            <button data-testid="open-perfetto" disabled=move || !has_run() on:click=open_perfetto
                title="Open the run in ui.perfetto.dev (the trace stays in your browser)">"Open in Perfetto"</button>
            <Show when=move || !href.with(String::is_empty)>
                <a data-testid="export-trace-link" href=move || href.get() download=move || file.get()>"last trace"</a>
            </Show>
            <Show when=move || note.with(Option::is_some)>
                <span class="trace-note" data-testid="perfetto-note">{move || note.get().unwrap_or_default()}</span>
            </Show>
        </div>
    }
}
