//! Redraw pacing: a run streaming thousands of events a second must not redraw the page per
//! event. [`Throttle`] runs an action at most once per animation frame and, while a run
//! streams, at most every so many milliseconds.

use leptos::prelude::*;

/// How often the long lists redraw while a run streams, milliseconds.
pub const LIST_REDRAW_MS: f64 = 250.0;
/// How often the timeline and summary redraw while a run streams, milliseconds.
pub const TIMELINE_REDRAW_MS: f64 = 100.0;

/// Runs an action at most once per animation frame and, while `limited`, at most every
/// `every_ms` (a request in between is carried out once, when the time has come).
#[derive(Clone, Copy)]
pub struct Throttle {
    every_ms: f64,
    last: StoredValue<f64>,
    pending: StoredValue<bool>,
}

impl Throttle {
    /// A throttle of at most one action every `every_ms` while limited.
    pub fn new(every_ms: f64) -> Self {
        Throttle {
            every_ms,
            last: StoredValue::new(f64::MIN),
            pending: StoredValue::new(false),
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
        let fire = move || {
            request_animation_frame(move || {
                self.pending.set_value(false);
                self.last.set_value(js_sys::Date::now());
                action();
            })
        };
        if wait > 0.0 {
            set_timeout(fire, std::time::Duration::from_millis(wait as u64));
        } else {
            fire();
        }
    }
}
