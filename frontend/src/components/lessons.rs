//! The lecture demos' views: one button each, the lesson's story (caption, expected,
//! observed: finished runs only, the others say where they are), and compare mode (two
//! different runs side by side on the same time scale). The state is
//! [`crate::app::Lessons`].

use super::timeline::Timeline;
use crate::app::lessons::Pick;
use crate::app::{AppState, Command, Lessons};
use crate::layout::format_duration;
use crate::lessons::{CHART_H, CHART_W, facts, speedup_chart};
use crate::run::RunModel;
use leptos::prelude::*;
use shared::lessons::{Progress, story};
use shared::{Lesson, PoolApi, PythonSupport, RunId, RunWith};
use std::sync::Arc;

/// The lesson buttons.
#[component]
pub fn LessonPicker(lessons: Lessons) -> impl IntoView {
    let app = AppState::expect();
    view! {
        <nav class="lessons" aria-label="Lecture demos">
            {Lesson::ALL
                .into_iter()
                .map(|lesson| (lesson, Command::StartLesson(lesson)))
                .map(|(lesson, command)| view! {
                    <button
                        class="lesson"
                        class:active=move || lessons.lesson() == Some(lesson)
                        data-testid=format!("lesson-{}", lesson.id())
                        title=format!("{}: {} (key {})", lesson.title(), lesson.caption()[0], command.key())
                        on:click=move |_| app.dispatch(command)
                    >
                        <span class="key-hint">{command.key()}</span>
                        {lesson.short_title()}
                    </button>
                })
                .collect_view()}
            <RunWithPicker lessons=lessons />
        </nav>
    }
}

/// "Run with: CPython | procviz runtime": what runs the lessons' programs. CPython is offered
/// when the server can run it; otherwise its button is disabled and the reason shown.
#[component]
fn RunWithPicker(lessons: Lessons) -> impl IntoView {
    let unavailable = move || {
        lessons.python.with(|p| match p {
            Some(PythonSupport::Unavailable { reason }) => Some(reason.clone()),
            _ => None,
        })
    };
    let cpython_title = move || {
        lessons.python.with(|p| match p {
            Some(PythonSupport::Available { interpreter: i }) => format!(
                "The teaching material's programs as written, run by {} {} ({}) and traced",
                i.name, i.version, i.executable
            ),
            Some(PythonSupport::Unavailable { reason }) => format!("Unavailable: {reason}"),
            None => "Waiting for the server to say whether it can run Python".into(),
        })
    };
    view! {
        <span class="run-with" role="group" aria-label="Run the lessons with" data-testid="run-with"
            data-with=move || lessons.with.get().id()>
            <span class="run-with-label">"Run with"</span>
            {RunWith::ALL.into_iter().map(|w| view! {
                <button
                    class="with"
                    class:active=move || lessons.with.get() == w
                    data-testid=format!("with-{}", w.id())
                    aria-pressed=move || (lessons.with.get() == w).to_string()
                    disabled=move || w == RunWith::CPython && !lessons.cpython_available()
                    title=move || match w {
                        RunWith::CPython => cpython_title(),
                        RunWith::Runtime => "procviz's own runtime, which mirrors CPython's multiprocessing".into(),
                    }
                    on:click=move |_| lessons.choose(w)
                >
                    {w.label()}
                </button>
            }).collect_view()}
            {move || unavailable().map(|r| view! {
                <span class="python-unavailable" data-testid="python-unavailable" role="note">
                    {format!("CPython unavailable: {r}")}
                </span>
            })}
        </span>
    }
}

/// Where one of the lesson's runs is (owned, for the view).
enum Row {
    Requested,
    Running,
    Finished(Arc<RunModel>),
}

/// The lesson's story: caption, what to expect, what was observed, and its chart.
#[component]
pub fn LessonPanel(
    lessons: Lessons,
    /// The run on screen (redrawn at the pace of the long lists while it streams).
    run: Signal<Option<Arc<RunModel>>>,
    /// Whether the page is connected (a requested run may wait for the connection).
    connected: Signal<bool>,
) -> impl IntoView {
    let app = AppState::expect();
    let cores = lessons.cores;
    // The lesson's runs as far as they got: finished (with their model), started, or
    // requested.
    let runs = move || {
        let current = run.get();
        lessons.series.with(|s| {
            let mut rows: Vec<(String, Row)> = s
                .runs
                .iter()
                .map(|(label, id)| {
                    let row = match lessons.run(*id, current.as_ref()) {
                        Some(m) if m.finished() => Row::Finished(m),
                        _ => Row::Running,
                    };
                    (label.clone(), row)
                })
                .collect();
            rows.extend(
                s.waiting
                    .as_ref()
                    .map(|w| (w.label.clone(), Row::Requested)),
            );
            rows
        })
    };
    let finished = move || {
        runs()
            .into_iter()
            .filter_map(|(label, row)| match row {
                Row::Finished(m) => Some((label, m)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let observed_lines = move || {
        let lesson = lessons.lesson()?;
        let connected = connected.get();
        if lessons.series.with(|s| s.needs_cores) {
            return Some(vec![
                "waiting for the connection to the server…".to_string(),
            ]);
        }
        let rows = runs();
        let progress: Vec<(String, Progress)> = rows
            .iter()
            .map(|(label, row)| {
                let p = match row {
                    Row::Finished(m) => Progress::Finished(Box::new(facts(m))),
                    Row::Running => Progress::Running,
                    Row::Requested => Progress::Requested { connected },
                };
                (label.clone(), p)
            })
            .collect();
        Some(story(lesson, &progress))
    };
    let chart = move || {
        (lessons.lesson()? == Lesson::HowManyWorkers).then_some(())?;
        let walls: Vec<(String, f64)> = finished()
            .iter()
            .map(|(l, m)| (l.clone(), m.last_t))
            .collect();
        if walls.is_empty() {
            return None;
        }
        let (bars, core_y) = speedup_chart(&walls, cores.get());
        let slot = CHART_W / bars.len().max(1) as f64;
        Some(view! {
            <svg class="speedup-chart" data-testid="speedup-chart" viewBox=format!("0 0 {CHART_W} {}", CHART_H + 40.0) role="img" aria-label="Measured speedup per pool size">
                <line class="core-line" x1=0.0 x2=CHART_W y1=core_y y2=core_y />
                <text class="core-label" x=4.0 y=core_y - 4.0>{format!("{} cores", cores.get())}</text>
                {bars.into_iter().map(|b| view! {
                    <g class="speedup-bar" data-testid="speedup-bar" data-speedup=format!("{:.2}", b.speedup)>
                        <rect x=b.x y=CHART_H - b.h width=slot * 0.6 height=b.h />
                        <text x=b.x + slot * 0.3 y=CHART_H - b.h - 4.0 text-anchor="middle">{format!("{:.2}×", b.speedup)}</text>
                        <text x=b.x + slot * 0.3 y=CHART_H + 18.0 text-anchor="middle">{b.label}</text>
                    </g>
                }).collect_view()}
            </svg>
        })
    };
    let api_switch = move || {
        // CPython runs the program as written (imap): edit it in the program panel instead.
        (lessons.lesson()? == Lesson::PoolImap && lessons.with.get() == RunWith::Runtime).then(|| view! {
            <label class="api-switch">"Same with "
                <select data-testid="lesson-api" on:change=move |ev| {
                    let api = serde_json::from_value(serde_json::Value::String(event_target_value(&ev)));
                    if let Ok(api) = api {
                        lessons.api.set(api);
                        app.dispatch(Command::StartLesson(Lesson::PoolImap));
                    }
                }>
                    {[PoolApi::Imap, PoolApi::Map, PoolApi::ImapUnordered, PoolApi::ApplyAsync].into_iter().map(|a| view! {
                        <option value=a.python_name() selected=move || lessons.api.get() == a>{a.python_name()}</option>
                    }).collect_view()}
                </select>
            </label>
        })
    };
    view! {
        <Show when=move || lessons.lesson().is_some()>
            <section
                class="panel lesson"
                data-testid="lesson"
                data-lesson=move || lessons.lesson().map(|l| l.id()).unwrap_or_default()
                data-done=move || finished().len()
                aria-label="The lesson"
            >
                <h2>{move || lessons.lesson().map(|l| l.title())}</h2>
                {move || lessons.lesson().map(|l| {
                    let [a, b] = l.caption();
                    view! { <p class="caption">{a}<br />{b}</p> }
                })}
                {move || lessons.lesson().and_then(|l| l.honesty_note(cores.get())).map(|n| view! {
                    <p class="honesty" data-testid="honesty" role="note">{n}</p>
                })}
                <dl class="story">
                    <dt>"Expected"</dt>
                    <dd data-testid="expected">{move || lessons.lesson().map(|l| l.expected_with(cores.get(), lessons.with.get()))}</dd>
                    <dt>"Observed"</dt>
                    <dd data-testid="observed">
                        <ul>{move || observed_lines().unwrap_or_default().into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                    </dd>
                </dl>
                {api_switch}
                {chart}
            </section>
        </Show>
    }
}

/// Compare mode: any two different finished runs side by side, aligned at t = 0, on the same scale.
#[component]
pub fn ComparePanel(lessons: Lessons, selected: RwSignal<Option<u64>>) -> impl IntoView {
    let pick = move |id: Option<RunId>| id.and_then(|id| lessons.run(id, None));
    let pair = move || lessons.compare.get().pair();
    let a = Signal::derive(move || pick(pair().map(|c| c.0)));
    let b = Signal::derive(move || pick(pair().map(|c| c.1)));
    let span = Signal::derive(move || {
        let end = |m: Option<Arc<RunModel>>| m.map_or(0.0, |m| m.last_t);
        end(a.get()).max(end(b.get()))
    });
    let none: Signal<Option<RunId>> = Signal::derive(|| None);
    let options =
        move |which: usize| {
            lessons.history.with(|h| {
                h.iter()
                .rev()
                .map(|m| {
                    let id = m.run;
                    let chosen = move || {
                        let p = lessons.compare.get();
                        if which == 0 { p.a == Some(id) } else { p.b == Some(id) }
                    };
                    view! {
                        <option value=id.0.to_string() selected=chosen>
                            {format!("run {}: {} ({})", id.0, m.title, format_duration(m.last_t))}
                        </option>
                    }
                })
                .collect_view()
            })
        };
    // One side picked changes only that side: nothing is compared until both sides hold
    // two different runs.
    let choose = move |which: usize, value: String| {
        let id = value.parse::<u64>().ok().map(RunId);
        lessons.compare.update(|p| p.set(which, id));
    };
    let verdict = move || {
        let (a, b) = (a.get()?, b.get()?);
        let ratio = a.last_t / b.last_t.max(1e-9);
        Some(format!(
            "A: {} wall, speedup {:.2}× · B: {} wall, speedup {:.2}× · A took {ratio:.2}× the time of B",
            format_duration(a.last_t),
            a.speedup(),
            format_duration(b.last_t),
            b.speedup()
        ))
    };
    view! {
        // Offered once there are two finished runs to compare.
        <Show when=move || lessons.history.with(|h| h.len() >= 2)>
            <section class="panel compare" data-testid="compare" aria-label="Compare two runs">
                <h2>"Compare two runs (same scale, aligned at 0)"</h2>
                <div class="compare-pick">
                    <label>"A "<select data-testid="compare-a" on:change=move |ev| choose(0, event_target_value(&ev))>
                        <option value="">"—"</option>{move || options(0)}
                    </select></label>
                    <label>"B "<select data-testid="compare-b" on:change=move |ev| choose(1, event_target_value(&ev))>
                        <option value="">"—"</option>{move || options(1)}
                    </select></label>
                    <button data-testid="compare-close" on:click=move |_| lessons.compare.set(Pick::default())>"close"</button>
                </div>
                <Show when=move || pair().is_some()>
                    <p class="verdict" data-testid="compare-verdict">{verdict}</p>
                    <div class="compare-side" data-testid="compare-a-run">
                        <Timeline run=a selected=selected live=none span=span />
                    </div>
                    <div class="compare-side" data-testid="compare-b-run">
                        <Timeline run=b selected=selected live=none span=span />
                    </div>
                </Show>
            </section>
        </Show>
    }
}
