//! Replay and stepping of a finished run: the page shows the run as it was at a moment that
//! advances at the chosen speed (0.25× to 4×), or jumps from event to event.

use crate::layout::format_duration;
use crate::run::RunModel;
use leptos::prelude::*;
use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

thread_local! {
    static TIMER: RefCell<Option<IntervalHandle>> = const { RefCell::new(None) };
}

/// Stops a replay in progress (a new run or a recording replaces what it replays).
pub fn stop_timer() {
    TIMER.with(|t| {
        if let Some(handle) = t.borrow_mut().take() {
            handle.clear();
        }
    });
}

/// The speeds offered.
const SPEEDS: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];

/// Replay, step and speed controls.
#[component]
pub fn Replay(
    run: RwSignal<Option<Arc<RunModel>>>,
    view_t: RwSignal<Option<f64>>,
) -> impl IntoView {
    let speed = RwSignal::new(1.0f64);
    let finished = move || run.with(|r| r.as_ref().is_some_and(|m| m.finished()));
    let end = move || run.with_untracked(|r| r.as_ref().map_or(0.0, |m| m.last_t));
    let play = move |_| {
        stop_timer();
        let end = end();
        let factor = speed.get_untracked();
        let started = js_sys::Date::now();
        view_t.set(Some(0.0));
        let tick = move || {
            let t = (js_sys::Date::now() - started) / 1000.0 * factor;
            if t >= end {
                view_t.set(None);
                stop_timer();
            } else {
                view_t.set(Some(t));
            }
        };
        match set_interval_with_handle(tick, Duration::from_millis(40)) {
            Ok(handle) => TIMER.with(|t| *t.borrow_mut() = Some(handle)),
            Err(_) => view_t.set(None),
        }
    };
    let step = move |forward: bool| {
        stop_timer();
        let moments = run.with_untracked(|r| r.as_ref().map(|m| m.moments()).unwrap_or_default());
        let now = view_t.get_untracked().unwrap_or_else(end);
        let next = if forward {
            moments.into_iter().find(|&m| m > now + 1e-9)
        } else {
            moments.into_iter().rev().find(|&m| m < now - 1e-9)
        };
        view_t.set(match next {
            Some(t) if t < end() => Some(t),
            Some(_) | None if forward => None,
            _ => Some(0.0),
        });
    };
    let label = move || match view_t.get() {
        Some(t) => format!("replay {} / {}", format_duration(t), format_duration(end())),
        None => "showing everything".to_string(),
    };
    view! {
        <div class="replay">
            <button data-testid="replay" disabled=move || !finished() on:click=play title="Replay the run at the chosen speed">
                "▶ Replay"
            </button>
            <select data-testid="speed" on:change=move |ev| {
                if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                    speed.set(v);
                }
            }>
                {SPEEDS
                    .iter()
                    .map(|s| view! { <option value=s.to_string() selected=*s == 1.0>{format!("{s}×")}</option> })
                    .collect_view()}
            </select>
            <button data-testid="step-back" disabled=move || !finished() on:click=move |_| step(false) title="Previous event">"◀ step"</button>
            <button data-testid="step-forward" disabled=move || !finished() on:click=move |_| step(true) title="Next event">"step ▶"</button>
            <span class="replay-time" data-testid="replay-time">{label}</span>
        </div>
    }
}
