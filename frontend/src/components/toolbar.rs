//! Demo buttons and run controls.

use crate::run::{RunModel, Tally};
use crate::ws;
use leptos::prelude::*;
use shared::{
    ClientMessage, CommandError, DemoRequest, ErrorKind, PoolParams, ProcessesParams,
    TwoProcessesParams,
};
use std::sync::Arc;

/// Parameters from the page's URL (`?num=7&linger_ms=500`), so a configured demo can be
/// bookmarked.
fn two_processes_from_url() -> TwoProcessesParams {
    let d = TwoProcessesParams::default();
    TwoProcessesParams {
        num: url_param("num").unwrap_or(d.num),
        linger_ms: url_param("linger_ms").unwrap_or(d.linger_ms),
    }
}

/// The page URL's query parameter `key`, parsed.
fn url_param<T: std::str::FromStr>(key: &str) -> Option<T> {
    super::params::url_value(key).parse().ok()
}

/// A URL parameter naming a protocol enum value (`api=imap_unordered`, `work=cpu`).
fn url_enum<T: serde::de::DeserializeOwned>(key: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(super::params::url_value(key))).ok()
}

/// A comma-separated list in the URL (`fail=0,3`; `fail=` is the empty list).
fn url_list<T: std::str::FromStr>(key: &str) -> Option<Vec<T>> {
    super::params::url_opt(key).map(|value| {
        value
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect()
    })
}

/// The pool demo's parameters from the URL
/// (`?workers=4&tasks=10&api=imap&work=sleep&task_ms=1000&fail=0&chunksize=2&cores=0`); absent
/// ones keep the seed example's values.
fn pool_from_url() -> PoolParams {
    let d = PoolParams::default();
    PoolParams {
        workers: url_param("workers").unwrap_or(d.workers),
        tasks: url_param("tasks").unwrap_or(d.tasks),
        api: url_enum("api").unwrap_or(d.api),
        work: url_enum("work").unwrap_or(d.work),
        task_ms: url_param("task_ms").unwrap_or(d.task_ms),
        fail: url_list("fail").unwrap_or(d.fail.clone()),
        chunksize: url_param("chunksize"),
        cores: url_list("cores").filter(|c: &Vec<u32>| !c.is_empty()),
        ..d
    }
}

/// The page's themes: light, dark, and a high-contrast, large-type one for projectors.
pub const THEMES: [&str; 3] = ["light", "dark", "projector"];

/// Applies a theme to the whole page (and keeps unknown names out).
pub fn apply_theme(theme: &str) {
    if !THEMES.contains(&theme) {
        return;
    }
    if let Some(root) = document().document_element()
        && root.set_attribute("data-theme", theme).is_err()
    {
        leptos::logging::warn!("procviz: could not set the theme");
    }
}

/// The theme from the URL (`?theme=projector`), if any.
pub fn theme_from_url() -> Option<String> {
    url_param::<String>("theme").filter(|t| THEMES.contains(&t.as_str()))
}

/// Starts one "Who prints first?" run.
pub fn start_processes() {
    ws::send(&ClientMessage::start(DemoRequest::Processes(
        ProcessesParams::default(),
    )));
}

/// The orders seen over repeated "Who prints first?" runs.
#[component]
pub fn TallyPanel(tally: RwSignal<Tally>) -> impl IntoView {
    view! {
        <Show when=move || tally.with(|t| t.runs() > 0 || t.left > 0)>
            <section class="panel tally" aria-label="Orders seen">
                <h2>{move || tally.with(|t| format!("Who printed first? {} runs so far", t.runs()))}</h2>
                <ol data-testid="tally">
                    {move || tally.with(|t| t.counts.iter().map(|(order, n)| view! {
                        <li data-count=*n>{format!("{n}× ")}<code>{order.clone()}</code></li>
                    }).collect_view())}
                </ol>
            </section>
        </Show>
    }
}

/// Sends a start command; a parameter out of range or a lost connection shows in the
/// error banner (and the result is false).
pub(super) fn start_demo(error: RwSignal<Option<CommandError>>, demo: DemoRequest) -> bool {
    error.set(None);
    // The server knows the core count and checks the cores too.
    if let Err(message) = demo.validate(u32::MAX) {
        error.set(Some(CommandError {
            kind: ErrorKind::InvalidParameter,
            message,
        }));
        false
    } else if !ws::send(&ClientMessage::start(demo)) {
        error.set(Some(CommandError {
            kind: ErrorKind::Internal,
            message: "not connected to the procviz server; it will reconnect".into(),
        }));
        false
    } else {
        true
    }
}

/// The demo buttons of custom runs (parameters from the URL and the form) and "run 10×".
#[component]
pub fn CustomRuns(error: RwSignal<Option<CommandError>>, tally: RwSignal<Tally>) -> impl IntoView {
    let start = move |demo: DemoRequest| {
        start_demo(error, demo);
    };
    view! {
        <div class="custom-runs" role="group" aria-label="Custom runs">
            <span class="label">"Custom run:"</span>
            <button
                class="demo"
                data-testid="demo-two_processes"
                title="Start two processes (square and cube), join them, print Done!"
                on:click=move |_| start(DemoRequest::TwoProcesses(two_processes_from_url()))
            >
                "Two processes"
            </button>
            <button
                class="demo"
                data-testid="demo-pool"
                title="Pool(4).imap over 10 one-second tasks; task 0 raises ZeroDivisionError"
                on:click=move |_| start(DemoRequest::Pool(pool_from_url()))
            >
                "Pool(4).imap"
            </button>
            <button
                class="demo"
                data-testid="demo-processes"
                title="Four processes print Num: 1..4; which prints first?"
                on:click=move |_| start(DemoRequest::Processes(ProcessesParams::default()))
            >
                "Who prints first?"
            </button>
            <button
                class="demo"
                data-testid="run-10x"
                title="Run it ten times and count the orders the processes printed in"
                on:click=move |_| {
                    tally.set(Tally { left: 10, counts: Vec::new() });
                    start_processes();
                }
            >
                "run 10×"
            </button>
        </div>
    }
}

/// Theme and cancel.
#[component]
pub fn Toolbar(run: RwSignal<Option<Arc<RunModel>>>) -> impl IntoView {
    let running = move || run.with(|r| r.as_ref().is_some_and(|m| m.is_live()));
    view! {
        <nav class="toolbar">
            <label class="theme">
                "Theme "
                <select
                    data-testid="theme"
                    on:change=move |ev| apply_theme(&event_target_value(&ev))
                >
                    {THEMES
                        .iter()
                        .map(|t| {
                            let selected = theme_from_url().as_deref() == Some(*t);
                            view! { <option value=*t selected=selected>{*t}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <button
                class="cancel"
                data-testid="cancel"
                disabled=move || !running()
                on:click=move |_| {
                    if let Some(id) = run.with_untracked(|r| r.as_ref().map(|m| m.run)) {
                        ws::send(&ClientMessage::CancelRun { run: id });
                    }
                }
            >
                "Cancel"
            </button>
        </nav>
    }
}
