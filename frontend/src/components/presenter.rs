//! Presenter controls: the page's keyboard shortcuts (each key dispatches its
//! [`Command`], the same one a button dispatches), the help overlay listing them, and the
//! full-screen button.

use crate::app::{AppState, Command};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Installs the shortcuts; renders the help overlay and the help and full-screen buttons.
#[component]
pub fn Presenter() -> impl IntoView {
    let app = AppState::expect();
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
        if let Some(command) = Command::from_key(&ev.key()) {
            app.dispatch(command);
            ev.prevent_default();
        }
    });
    on_cleanup(move || handle.remove());
    let help = app.help;
    view! {
        <button class="presenter-help" data-testid="shortcuts" title=Command::ToggleHelp.tooltip() on:click=move |_| app.dispatch(Command::ToggleHelp)>"keys ?"</button>
        <button class="full-screen" data-testid="full-screen" title=Command::FullScreen.tooltip() on:click=move |_| app.dispatch(Command::FullScreen)>"full screen"</button>
        <Show when=move || help.get()>
            <div class="help-overlay" data-testid="help" role="dialog" aria-label="Keyboard shortcuts" on:click=move |_| help.set(false)>
                <h2>"Keyboard shortcuts"</h2>
                <dl>
                    {Command::help().into_iter().map(|(k, what)| view! { <dt><kbd>{k}</kbd></dt><dd>{what}</dd> }).collect_view()}
                </dl>
            </div>
        </Show>
    }
}
