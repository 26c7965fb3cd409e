//! The lecture demos: one button each, the lesson's story (caption, expected, observed), the
//! runs of multi-run lessons started one after another, and compare mode (two runs side by
//! side on the same time scale).

use super::timeline::Timeline;
use crate::layout::format_duration;
use crate::lessons::{
    CHART_H, CHART_W, caption, expected, honesty_note, observed, short_title, speedup_chart,
};
use crate::run::RunModel;
use crate::ws;
use leptos::prelude::*;
use shared::{ClientMessage, Lesson, LessonRun, PoolApi, RunId};
use std::sync::Arc;

/// Finished runs kept for compare mode.
const HISTORY: usize = 24;

/// The state of the lesson in progress and of compare mode.
#[derive(Clone, Copy)]
pub struct Lessons {
    /// The lesson picked last.
    pub lesson: RwSignal<Option<Lesson>>,
    /// Its runs so far: label and run.
    pub series: RwSignal<Vec<(String, RunId)>>,
    /// Its runs still to start.
    queue: RwSignal<Vec<LessonRun>>,
    /// The label of the run just requested (given to the next run that starts).
    pending: RwSignal<Option<String>>,
    /// Finished runs, oldest first.
    pub history: RwSignal<Vec<Arc<RunModel>>>,
    /// The two runs compared, if any.
    pub compare: RwSignal<Option<(RunId, RunId)>>,
    /// Whether "A worker dies" has sent its kill.
    kill_sent: RwSignal<bool>,
    /// The pool API of the seed lesson (its switch).
    pub api: RwSignal<PoolApi>,
    /// The machine's cores.
    cores: RwSignal<u32>,
    /// The run on screen (cancelled when another lesson starts).
    run: RwSignal<Option<Arc<RunModel>>>,
    /// The error banner (a run that could not be started).
    error: RwSignal<Option<shared::CommandError>>,
}

impl Lessons {
    /// Fresh state; `cores` is filled in by the server's hello.
    pub fn new(
        cores: RwSignal<u32>,
        run: RwSignal<Option<Arc<RunModel>>>,
        error: RwSignal<Option<shared::CommandError>>,
    ) -> Self {
        Lessons {
            lesson: RwSignal::new(None),
            series: RwSignal::new(Vec::new()),
            queue: RwSignal::new(Vec::new()),
            pending: RwSignal::new(None),
            history: RwSignal::new(Vec::new()),
            compare: RwSignal::new(None),
            kill_sent: RwSignal::new(false),
            api: RwSignal::new(PoolApi::Imap),
            cores,
            run,
            error,
        }
    }

    /// Starts `lesson`: its first run now, the others as each one finishes. A run still going
    /// is cancelled first (two runs at once would share the cores and skew both).
    pub fn start(self, lesson: Lesson) {
        let live = self
            .run
            .with_untracked(|r| r.as_ref().filter(|m| m.is_live()).map(|m| m.run));
        if let Some(run) = live {
            ws::send(&ClientMessage::CancelRun { run });
        }
        let mut runs = lesson.runs(self.cores.get_untracked().max(1), self.api.get_untracked());
        runs.reverse();
        self.lesson.set(Some(lesson));
        self.series.set(Vec::new());
        self.kill_sent.set(false);
        self.queue.set(runs);
        self.next();
    }

    fn next(self) {
        let Some(run) = self.queue.try_update(Vec::pop).flatten() else {
            return;
        };
        self.pending.set(Some(run.label));
        if !super::toolbar::start_demo(self.error, run.request) {
            // Not sent (the banner says why): the series stops rather than wait forever.
            self.stop();
        }
    }

    /// Drops the runs still to start.
    fn stop(self) {
        self.queue.set(Vec::new());
        self.pending.set(None);
    }

    /// A run started: if a lesson asked for it, it joins the lesson's series (and its title
    /// says which run of the lesson it is).
    pub fn started(self, model: &mut RunModel) {
        let (Some(label), Some(lesson)) = (
            self.pending.try_update(Option::take).flatten(),
            self.lesson.get_untracked(),
        ) else {
            return;
        };
        model.title = format!("{} — {label}", lesson.title());
        self.series.update(|s| s.push((label, model.run)));
    }

    /// A run finished: kept for compare mode; the lesson's next run starts, or, after the
    /// last, the first and last are compared.
    pub fn finished(self, model: &Arc<RunModel>) {
        self.history.update(|h| {
            h.retain(|m| m.run != model.run);
            h.push(model.clone());
            if h.len() > HISTORY {
                h.remove(0);
            }
        });
        let ours = self
            .series
            .with_untracked(|s| s.iter().any(|(_, r)| *r == model.run));
        if !ours {
            return;
        }
        if !matches!(model.outcome, Some(shared::RunOutcome::Completed)) {
            // Cancelled or failed: the rest of the series would not mean much.
            self.stop();
            return;
        }
        if self.queue.with_untracked(|q| !q.is_empty()) {
            self.next();
        } else if let Some(pair) = self.series.with_untracked(|s| match s.as_slice() {
            [(_, a), .., (_, b)] => Some((*a, *b)),
            _ => None,
        }) {
            self.compare.set(Some(pair));
        }
    }

    /// "A worker dies": kills the lesson's worker once the run is past the kill time.
    pub fn maybe_kill(self, model: &RunModel) {
        if self.lesson.get_untracked() != Some(Lesson::WorkerDies)
            || self.kill_sent.get_untracked()
            || model.finished()
            || model.last_t < Lesson::KILL_AT_MS as f64 / 1000.0
            || !self
                .series
                .with_untracked(|s| s.iter().any(|(_, r)| *r == model.run))
        {
            return;
        }
        if let Some(p) = model
            .processes
            .iter()
            .find(|p| p.name == Lesson::KILLED_WORKER && p.exited.is_none())
        {
            let sent = ws::send(&ClientMessage::KillProcess {
                run: model.run,
                proc: p.proc,
            });
            self.kill_sent.set(sent);
        }
    }

    fn run(self, id: RunId, current: Option<&Arc<RunModel>>) -> Option<Arc<RunModel>> {
        current.filter(|m| m.run == id).cloned().or_else(|| {
            self.history
                .with(|h| h.iter().find(|m| m.run == id).cloned())
        })
    }
}

/// The lesson buttons.
#[component]
pub fn LessonPicker(lessons: Lessons) -> impl IntoView {
    view! {
        <nav class="lessons" aria-label="Lecture demos">
            {Lesson::ALL
                .into_iter()
                .enumerate()
                .map(|(i, lesson)| view! {
                    <button
                        class="lesson"
                        class:active=move || lessons.lesson.get() == Some(lesson)
                        data-testid=format!("lesson-{}", lesson.id())
                        title=format!("{}: {} (key {})", lesson.title(), caption(lesson)[0], i + 1)
                        on:click=move |_| lessons.start(lesson)
                    >
                        <span class="key-hint">{i + 1}</span>
                        {short_title(lesson)}
                    </button>
                })
                .collect_view()}
        </nav>
    }
}

/// The lesson's story: caption, what to expect, what was observed, and its chart.
#[component]
pub fn LessonPanel(
    lessons: Lessons,
    /// The run on screen (redrawn at the pace of the long lists while it streams).
    run: Signal<Option<Arc<RunModel>>>,
) -> impl IntoView {
    let cores = lessons.cores;
    // The lesson's runs as far as they got (the current one too, while it runs).
    let runs = move || {
        let current = run.get();
        lessons.series.with(|s| {
            s.iter()
                .filter_map(|(label, id)| {
                    lessons
                        .run(*id, current.as_ref())
                        .map(|m| (label.clone(), m))
                })
                .collect::<Vec<_>>()
        })
    };
    let observed_lines = move || {
        let lesson = lessons.lesson.get()?;
        let runs = runs();
        let refs: Vec<(String, &RunModel)> =
            runs.iter().map(|(l, m)| (l.clone(), m.as_ref())).collect();
        Some(observed(lesson, &refs))
    };
    let chart = move || {
        (lessons.lesson.get()? == Lesson::HowManyWorkers).then_some(())?;
        let walls: Vec<(String, f64)> = runs()
            .iter()
            .filter(|(_, m)| m.finished())
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
        (lessons.lesson.get()? == Lesson::PoolImap).then(|| view! {
            <label class="api-switch">"Same with "
                <select data-testid="lesson-api" on:change=move |ev| {
                    let api = serde_json::from_value(serde_json::Value::String(event_target_value(&ev)));
                    if let Ok(api) = api {
                        lessons.api.set(api);
                        lessons.start(Lesson::PoolImap);
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
        <Show when=move || lessons.lesson.with(Option::is_some)>
            <section
                class="panel lesson"
                data-testid="lesson"
                data-lesson=move || lessons.lesson.get().map(|l| l.id()).unwrap_or_default()
                data-done=move || runs().iter().filter(|(_, m)| m.finished()).count()
                aria-label="The lesson"
            >
                <h2>{move || lessons.lesson.get().map(|l| l.title())}</h2>
                {move || lessons.lesson.get().map(|l| {
                    let [a, b] = caption(l);
                    view! { <p class="caption">{a}<br />{b}</p> }
                })}
                {move || lessons.lesson.get().and_then(|l| honesty_note(l, cores.get())).map(|n| view! {
                    <p class="honesty" data-testid="honesty" role="note">{n}</p>
                })}
                <dl class="story">
                    <dt>"Expected"</dt>
                    <dd data-testid="expected">{move || lessons.lesson.get().map(|l| expected(l, cores.get()))}</dd>
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

/// Compare mode: any two finished runs side by side, aligned at t = 0, on the same scale.
#[component]
pub fn ComparePanel(lessons: Lessons, selected: RwSignal<Option<u64>>) -> impl IntoView {
    let pick = move |id: Option<RunId>| id.and_then(|id| lessons.run(id, None));
    let a = Signal::derive(move || pick(lessons.compare.get().map(|c| c.0)));
    let b = Signal::derive(move || pick(lessons.compare.get().map(|c| c.1)));
    let span = Signal::derive(move || {
        let end = |m: Option<Arc<RunModel>>| m.map_or(0.0, |m| m.last_t);
        end(a.get()).max(end(b.get()))
    });
    let none: Signal<Option<RunId>> = Signal::derive(|| None);
    let options = move |which: usize| {
        lessons.history.with(|h| {
            h.iter()
                .rev()
                .map(|m| {
                    let id = m.run;
                    let chosen = move || {
                        lessons
                            .compare
                            .get()
                            .is_some_and(|c| if which == 0 { c.0 == id } else { c.1 == id })
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
    let choose = move |which: usize, value: String| {
        let Ok(id) = value.parse::<u64>().map(RunId) else {
            return;
        };
        let latest = lessons.history.with_untracked(|h| h.last().map(|m| m.run));
        let (mut x, mut y) = lessons
            .compare
            .get_untracked()
            .or(latest.map(|l| (l, l)))
            .unwrap_or((id, id));
        if which == 0 {
            x = id;
        } else {
            y = id;
        }
        lessons.compare.set(Some((x, y)));
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
        <Show when=move || lessons.history.with(|h| !h.is_empty())>
            <section class="panel compare" data-testid="compare" aria-label="Compare two runs">
                <h2>"Compare two runs (same scale, aligned at 0)"</h2>
                <div class="compare-pick">
                    <label>"A "<select data-testid="compare-a" on:change=move |ev| choose(0, event_target_value(&ev))>
                        <option value="">"—"</option>{move || options(0)}
                    </select></label>
                    <label>"B "<select data-testid="compare-b" on:change=move |ev| choose(1, event_target_value(&ev))>
                        <option value="">"—"</option>{move || options(1)}
                    </select></label>
                    <button data-testid="compare-close" on:click=move |_| lessons.compare.set(None)>"close"</button>
                </div>
                <Show when=move || lessons.compare.with(Option::is_some)>
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
