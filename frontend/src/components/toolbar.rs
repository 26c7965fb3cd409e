//! Demo buttons and run controls.

use crate::app::{AppState, Command, Theme};
use crate::run::Tally;
use leptos::prelude::*;
use shared::{DemoRequest, PoolParams, ProcessesParams, TwoProcessesParams};

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

/// The demo buttons of custom runs (parameters from the URL and the form) and "run 10×".
#[component]
pub fn CustomRuns() -> impl IntoView {
    let app = AppState::expect();
    let start = move |demo: DemoRequest| {
        app.start_demo(demo);
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
                on:click=move |_| app.run_10x()
            >
                "run 10×"
            </button>
        </div>
    }
}

/// Theme and cancel.
#[component]
pub fn Toolbar() -> impl IntoView {
    let app = AppState::expect();
    let theme = app.theme;
    view! {
        <nav class="toolbar">
            <label class="theme">
                "Theme "
                <select
                    data-testid="theme"
                    title=Command::NextTheme.tooltip()
                    on:change=move |ev| {
                        if let Some(t) = Theme::from_name(&event_target_value(&ev)) {
                            theme.set(t);
                        }
                    }
                >
                    {Theme::ALL
                        .into_iter()
                        .map(|t| view! { <option value=t.name() selected=move || theme.get() == t>{t.name()}</option> })
                        .collect_view()}
                </select>
            </label>
            <Show when=move || app.presenting()>
                <button
                    class="cancel"
                    data-testid="cancel"
                    title=Command::Cancel.tooltip()
                    disabled=move || !app.running()
                    on:click=move |_| app.dispatch(Command::Cancel)
                >
                    "Cancel"
                </button>
            </Show>
        </nav>
    }
}

/// Who follows: on a view-only page, that it is one; on the presenter's, how many students'
/// screens follow (lecture-hall mode), once there is one.
#[component]
pub fn Audience() -> impl IntoView {
    let app = AppState::expect();
    let viewers = app.viewers;
    view! {
        <Show
            when=move || app.presenting()
            fallback=|| view! {
                <span class="role viewer" data-testid="role" title="Opened with the view-only link: runs are started by the presenter">
                    "view-only · following the presenter"
                </span>
            }
        >
            <Show when=move || viewers.get() != 0>
                <span class="audience" data-testid="audience" title="View-only pages following this server (procviz --share)">
                    {move || match viewers.get() {
                        1 => "1 viewer".to_string(),
                        n => format!("{n} viewers"),
                    }}
                </span>
            </Show>
        </Show>
    }
}
