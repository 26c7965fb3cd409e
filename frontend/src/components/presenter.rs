//! Presenter controls: keyboard shortcuts for the whole page and a full-screen timeline.

use super::lessons::Lessons;
use super::toolbar::{THEMES, apply_theme};
use leptos::prelude::*;
use shared::Lesson;
use wasm_bindgen::JsCast;

/// The shortcuts, as the help lists them.
pub const SHORTCUTS: [(&str, &str); 9] = [
    ("1 … 8", "start lecture demo 1 … 8"),
    ("r", "run the current lecture demo again"),
    ("p", "replay the run"),
    (", / .", "step back / forward one event"),
    ("t", "next theme (light, dark, projector)"),
    ("f", "timeline full screen (Esc leaves)"),
    ("c", "cancel the run"),
    ("+ − ← → 0", "zoom, pan, reset (timeline focused)"),
    ("?", "show or hide this help"),
];

fn click(testid: &str) {
    let found = document()
        .query_selector(&format!("[data-testid={testid}]"))
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(el) = found {
        el.click();
    }
}

/// Shows the timeline alone, full screen (or leaves full screen).
pub fn toggle_full_screen() {
    let doc = document();
    if doc.fullscreen_element().is_some() {
        doc.exit_fullscreen();
    } else if let Ok(Some(timeline)) = doc.query_selector("section.timeline")
        && timeline.request_fullscreen().is_err()
    {
        leptos::logging::warn!("procviz: full screen was refused");
    }
}

fn next_theme() {
    let root = document().document_element();
    let now = root
        .as_ref()
        .and_then(|r| r.get_attribute("data-theme"))
        .unwrap_or_else(|| THEMES[0].to_string());
    let i = THEMES.iter().position(|t| *t == now).map_or(0, |i| i + 1);
    let next = THEMES[i % THEMES.len()];
    apply_theme(next);
    if let Ok(Some(select)) = document().query_selector("[data-testid=theme]")
        && let Ok(select) = select.dyn_into::<web_sys::HtmlSelectElement>()
    {
        select.set_value(next);
    }
}

/// Installs the shortcuts; renders the help overlay and the full-screen button.
#[component]
pub fn Presenter(lessons: Lessons) -> impl IntoView {
    let help = RwSignal::new(false);
    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        let typing = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
        if typing {
            return;
        }
        let key = ev.key();
        match key.as_str() {
            "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" => {
                if let Some(lesson) = key
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| Lesson::ALL.get(n - 1))
                {
                    lessons.start(*lesson);
                }
            }
            "r" => {
                if let Some(lesson) = lessons.lesson.get_untracked() {
                    lessons.start(lesson);
                }
            }
            "p" => click("replay"),
            "." => click("step-forward"),
            "," => click("step-back"),
            "t" => next_theme(),
            "f" => toggle_full_screen(),
            "c" => click("cancel"),
            "?" => help.update(|h| *h = !*h),
            _ => return,
        }
        ev.prevent_default();
    });
    on_cleanup(move || handle.remove());
    view! {
        <button class="presenter-help" data-testid="shortcuts" title="Keyboard shortcuts (?)" on:click=move |_| help.update(|h| *h = !*h)>"keys ?"</button>
        <button class="full-screen" data-testid="full-screen" title="The timeline alone, full screen (f)" on:click=move |_| toggle_full_screen()>"full screen"</button>
        <Show when=move || help.get()>
            <div class="help-overlay" data-testid="help" role="dialog" aria-label="Keyboard shortcuts" on:click=move |_| help.set(false)>
                <h2>"Keyboard shortcuts"</h2>
                <dl>
                    {SHORTCUTS.iter().map(|(k, what)| view! { <dt><kbd>{*k}</kbd></dt><dd>{*what}</dd> }).collect_view()}
                </dl>
            </div>
        </Show>
    }
}
