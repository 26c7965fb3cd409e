//! Replay and stepping of a finished run: the page shows the run as it was at a moment
//! (`view_t`) that advances at the chosen speed (0.25× to 4×), or jumps from event to event.
//! The timer is part of the handle ([`Player`], shared with `provide_context`): a new run or
//! a recording stops it through the same handle.

use crate::run::RunModel;
use leptos::prelude::*;
use std::sync::Arc;
use std::time::Duration;

/// The speeds offered.
pub const SPEEDS: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];

/// How often a replay advances, milliseconds.
const FRAME_MS: u64 = 40;

/// The moment a step goes to from `now` (seconds) over the run's event `moments`, for a run
/// that ends at `end`: `None` shows everything (stepped past the end), `Some(0.0)` the start.
pub fn step_to(moments: &[f64], now: f64, end: f64, forward: bool) -> Option<f64> {
    let next = if forward {
        moments.iter().copied().find(|&m| m > now + 1e-9)
    } else {
        moments.iter().rev().copied().find(|&m| m < now - 1e-9)
    };
    match next {
        Some(t) if t < end => Some(t),
        _ if forward => None,
        _ => Some(0.0),
    }
}

/// The replay state: the moment shown, the speed, the running timer.
#[derive(Clone, Copy)]
pub struct Player {
    run: RwSignal<Option<Arc<RunModel>>>,
    /// The moment shown; `None`: everything so far.
    pub view_t: RwSignal<Option<f64>>,
    /// The replay speed (a factor of real time).
    pub speed: RwSignal<f64>,
    timer: StoredValue<Option<IntervalHandle>>,
}

impl Player {
    /// A player of the run in `run`, showing everything.
    pub fn new(run: RwSignal<Option<Arc<RunModel>>>) -> Self {
        Player {
            run,
            view_t: RwSignal::new(None),
            speed: RwSignal::new(1.0),
            timer: StoredValue::new(None),
        }
    }

    /// Whether the run on screen has finished (only a finished run is replayed).
    pub fn can_play(self) -> bool {
        self.run.with(|r| r.as_ref().is_some_and(|m| m.finished()))
    }

    fn end(self) -> f64 {
        self.run
            .with_untracked(|r| r.as_ref().map_or(0.0, |m| m.last_t))
    }

    /// Stops a replay in progress (the moment shown stays).
    pub fn stop(self) {
        if let Some(handle) = self.timer.try_update_value(Option::take).flatten() {
            handle.clear();
        }
    }

    /// Shows everything again, with no replay running. Tells the panels only when a moment
    /// was shown: a new run calls this from the message that starts it, and a needless
    /// notice would redraw every panel in that message's task, outside the redraw pacing.
    pub fn show_all(self) {
        self.stop();
        if self.view_t.get_untracked().is_some() {
            self.view_t.set(None);
        }
    }

    /// Replays the finished run from its start at the chosen speed.
    pub fn play(self) {
        if !self.can_play_untracked() {
            return;
        }
        self.stop();
        let end = self.end();
        let factor = self.speed.get_untracked();
        let started = js_sys::Date::now();
        self.view_t.set(Some(0.0));
        let tick = move || {
            let t = (js_sys::Date::now() - started) / 1000.0 * factor;
            if t >= end {
                self.show_all();
            } else {
                self.view_t.set(Some(t));
            }
        };
        match set_interval_with_handle(tick, Duration::from_millis(FRAME_MS)) {
            Ok(handle) => self.timer.set_value(Some(handle)),
            Err(_) => self.view_t.set(None),
        }
    }

    /// Shows the run one event later (`forward`) or earlier.
    pub fn step(self, forward: bool) {
        if !self.can_play_untracked() {
            return;
        }
        self.stop();
        let moments = self
            .run
            .with_untracked(|r| r.as_ref().map(|m| m.moments()).unwrap_or_default());
        let end = self.end();
        let now = self.view_t.get_untracked().unwrap_or(end);
        self.view_t.set(step_to(&moments, now, end, forward));
    }

    fn can_play_untracked(self) -> bool {
        self.run
            .with_untracked(|r| r.as_ref().is_some_and(|m| m.finished()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_go_from_event_to_event_and_stop_at_the_ends() {
        let moments = [0.0, 0.5, 1.0, 2.0];
        let end = 2.0;
        // From "everything" (the end) back: the last event before the end.
        assert_eq!(step_to(&moments, end, end, false), Some(1.0));
        assert_eq!(step_to(&moments, 1.0, end, false), Some(0.5));
        assert_eq!(step_to(&moments, 0.0, end, false), Some(0.0));
        assert_eq!(step_to(&moments, 0.5, end, true), Some(1.0));
        // Past the last event before the end: everything again.
        assert_eq!(step_to(&moments, 1.0, end, true), None);
    }
}
