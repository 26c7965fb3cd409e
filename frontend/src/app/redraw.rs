//! Redraw pacing: a run streaming thousands of events a second must not redraw the page per
//! event. [`Throttle`] runs an action at most once per animation frame and, while a run
//! streams, at most every so many milliseconds.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// How often the long lists redraw while a run streams, milliseconds.
pub const LIST_REDRAW_MS: f64 = 250.0;
/// How often the timeline (and the summary's run state) redraw while a run streams,
/// milliseconds.
pub const TIMELINE_REDRAW_MS: f64 = 100.0;

/// Runs an action at most once per animation frame and, while `limited`, at most every
/// `every_ms` (a request in between is carried out once, when the time has come). Throttles
/// made with [`Throttle::sharing_frames`] take turns: one whose frame another of them already
/// drew in waits for the next frame, so a big run's timeline and long lists are never redrawn
/// in the same frame.
#[derive(Clone, Copy)]
pub struct Throttle {
    every_ms: f64,
    last: StoredValue<f64>,
    pending: StoredValue<bool>,
    /// The animation frame in which a throttle of the group last ran its action (its
    /// timestamp: every callback of one frame is given the same).
    group_frame: StoredValue<f64>,
}

impl Throttle {
    /// A throttle of at most one action every `every_ms` while limited.
    pub fn new(every_ms: f64) -> Self {
        Throttle {
            every_ms,
            last: StoredValue::new(f64::MIN),
            pending: StoredValue::new(false),
            group_frame: StoredValue::new(f64::NAN),
        }
    }

    /// A throttle of at most one action every `every_ms` that never runs in a frame where
    /// `other` (or another throttle sharing with it) ran.
    pub fn sharing_frames(every_ms: f64, other: Throttle) -> Self {
        Throttle {
            group_frame: other.group_frame,
            ..Throttle::new(every_ms)
        }
    }

    /// Asks for `action`; it runs at the next animation frame allowed.
    pub fn request(self, limited: bool, action: impl Fn() + Copy + 'static) {
        if self.pending.get_value() {
            return;
        }
        self.pending.set_value(true);
        let wait = if limited {
            (self.last.get_value() + self.every_ms - js_sys::Date::now()).max(0.0)
        } else {
            0.0
        };
        if wait > 0.0 {
            set_timeout(
                move || self.at_frame(action),
                std::time::Duration::from_millis(wait as u64),
            );
        } else {
            self.at_frame(action);
        }
    }

    /// Runs `action` at the next animation frame no other throttle of the group drew in.
    ///
    /// The frame is known by its timestamp, not by the clock: the effects an action starts
    /// run between this frame's callbacks, so a later callback of the same frame can read a
    /// clock many milliseconds on.
    fn at_frame(self, action: impl Fn() + Copy + 'static) {
        let on_frame = Closure::once_into_js(move |frame: f64| {
            if self.group_frame.get_value() == frame {
                self.at_frame(action);
                return;
            }
            self.pending.set_value(false);
            self.last.set_value(js_sys::Date::now());
            self.group_frame.set_value(frame);
            action();
        });
        if window()
            .request_animation_frame(on_frame.unchecked_ref())
            .is_err()
        {
            // No animation frames (never in a browser showing the page): draw now.
            self.pending.set_value(false);
            action();
        }
    }
}
