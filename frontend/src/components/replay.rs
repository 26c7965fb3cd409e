//! Replay, step and speed controls: buttons over the app's [`crate::app::Player`] (the keys
//! `p`, `,` and `.` dispatch the same commands).

use crate::app::player::SPEEDS;
use crate::app::{AppState, Command};
use crate::layout::format_duration;
use leptos::prelude::*;

/// Replay, step and speed controls.
#[component]
pub fn Replay() -> impl IntoView {
    let app = AppState::expect();
    let player = app.player;
    let finished = move || player.can_play();
    let end = move || app.run.with(|r| r.as_ref().map_or(0.0, |m| m.last_t));
    let label = move || match player.view_t.get() {
        Some(t) => format!("replay {} / {}", format_duration(t), format_duration(end())),
        None => "showing everything".to_string(),
    };
    let button = move |command: Command, testid: &'static str, text: &'static str| {
        view! {
            <button data-testid=testid disabled=move || !finished() title=command.tooltip() on:click=move |_| app.dispatch(command)>
                {text}
            </button>
        }
    };
    view! {
        <div class="replay">
            {button(Command::Replay, "replay", "▶ Replay")}
            <select data-testid="speed" title="Replay speed" on:change=move |ev| {
                if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                    player.speed.set(v);
                }
            }>
                {SPEEDS
                    .iter()
                    .map(|s| view! { <option value=s.to_string() selected=move || player.speed.get() == *s>{format!("{s}×")}</option> })
                    .collect_view()}
            </select>
            {button(Command::StepBack, "step-back", "◀ step")}
            {button(Command::StepForward, "step-forward", "step ▶")}
            <span class="replay-time" data-testid="replay-time">{label}</span>
        </div>
    }
}
