//! The main timeline's place on the page: shown full screen (the browser's Fullscreen API,
//! or, where the browser refuses it, a view that fills the page), and brought into view when
//! a lesson's run starts so the audience sees the run, not the captions above it.

use leptos::html::Div;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// How the timeline is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FullScreen {
    /// In the page.
    #[default]
    Off,
    /// Full screen (the browser's Fullscreen API).
    Native,
    /// Filling the page (the browser refused full screen); Esc or `f` leaves.
    Page,
}

/// The main timeline's element and how it is shown. `Copy`.
#[derive(Clone, Copy)]
pub struct Stage {
    /// How the timeline is shown.
    pub mode: RwSignal<FullScreen>,
    /// The element around the main timeline.
    pub target: NodeRef<Div>,
}

impl Stage {
    /// The timeline in the page.
    pub fn new() -> Self {
        Stage {
            mode: RwSignal::new(FullScreen::Off),
            target: NodeRef::new(),
        }
    }

    /// Follows the browser's full screen (its own Esc leaves it): call once.
    pub fn watch(self) {
        let handle = window_event_listener_untyped("fullscreenchange", move |_| {
            if document().fullscreen_element().is_some() {
                self.mode.set(FullScreen::Native);
            } else if self.mode.get_untracked() == FullScreen::Native {
                self.mode.set(FullScreen::Off);
            }
        });
        on_cleanup(move || handle.remove());
    }

    /// Full screen on, or off again.
    pub fn toggle(self) {
        if document().fullscreen_element().is_some() {
            document().exit_fullscreen();
        } else if self.mode.get_untracked() == FullScreen::Page {
            self.mode.set(FullScreen::Off);
        } else {
            self.enter();
        }
    }

    /// Leaves the page-filling view.
    pub fn leave(self) {
        if self.mode.get_untracked() == FullScreen::Page {
            self.mode.set(FullScreen::Off);
        }
    }

    /// Asks the browser for full screen; if it refuses (at once, or by rejecting its
    /// promise), the timeline fills the page instead.
    fn enter(self) {
        let Some(el) = self.target.get_untracked() else {
            return;
        };
        let el: web_sys::Element = el.into();
        let request = js_sys::Reflect::get(&el, &"requestFullscreen".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        let Some(request) = request else {
            self.mode.set(FullScreen::Page);
            return;
        };
        match request.call0(&el) {
            Ok(answer) => {
                if let Ok(promise) = answer.dyn_into::<js_sys::Promise>() {
                    leptos::task::spawn_local(async move {
                        if let Err(e) = JsFuture::from(promise).await {
                            leptos::logging::warn!(
                                "procviz: full screen refused ({e:?}); filling the page instead"
                            );
                            self.mode.set(FullScreen::Page);
                        }
                    });
                }
            }
            Err(e) => {
                leptos::logging::warn!(
                    "procviz: full screen refused ({e:?}); filling the page instead"
                );
                self.mode.set(FullScreen::Page);
            }
        }
    }

    /// Scrolls the page so the timeline starts at the top of the window (where it grows as
    /// the run's processes arrive: a timeline wholly on screen at the run's first event may
    /// not be a moment later).
    pub fn bring_into_view(self) {
        let Some(el) = self.target.get_untracked() else {
            return;
        };
        if el.get_bounding_client_rect().top().abs() > 1.0 {
            el.scroll_into_view_with_bool(true);
        }
    }
}

impl Default for Stage {
    fn default() -> Self {
        Self::new()
    }
}
