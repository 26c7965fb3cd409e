//! The page's components. [`App`] owns the state (connection, current run, last error) and
//! passes each child only the signals it needs.

mod console;
mod export;
mod lessons;
mod params;
mod presenter;
mod python;
mod recording;
mod replay;
mod results;
mod summary;
mod timeline;
mod toolbar;

use crate::model::{RunModel, Tally, print_order};
use crate::ws::{self, ConnState};
use leptos::prelude::*;
use shared::{ClientMessage, CommandError, EventKind, ServerMessage};
use std::rc::Rc;
use std::sync::Arc;

/// Whether two optional shared runs are the same allocation (a cut is new each time).
fn opt_ptr_eq(a: &Option<Arc<RunModel>>, b: &Option<Arc<RunModel>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// How often the long lists redraw while a run streams, milliseconds.
const LIST_REDRAW_MS: f64 = 250.0;
/// How often the timeline and summary redraw while a run streams, milliseconds.
const TIMELINE_REDRAW_MS: f64 = 100.0;

/// Runs an action at most once per animation frame and, while `limited`, at most every
/// `every_ms` (a request in between is carried out once, when the time has come).
#[derive(Clone, Copy)]
struct Throttle {
    every_ms: f64,
    last: StoredValue<f64>,
    pending: StoredValue<bool>,
}

impl Throttle {
    fn new(every_ms: f64) -> Self {
        Throttle {
            every_ms,
            last: StoredValue::new(f64::MIN),
            pending: StoredValue::new(false),
        }
    }

    fn request(self, limited: bool, action: impl Fn() + Copy + 'static) {
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

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let conn = RwSignal::new(ConnState::Connecting);
    let run: RwSignal<Option<Arc<RunModel>>> = RwSignal::new(None);
    let error: RwSignal<Option<CommandError>> = RwSignal::new(None);
    let cores = RwSignal::new(0u32);
    // The task picked in the result list or on the timeline (highlighted in both).
    let selected: RwSignal<Option<u64>> = RwSignal::new(None);
    // "Run 10×": orders seen over repeated runs of "Who prints first?".
    let tally: RwSignal<Tally> = RwSignal::new(Tally::default());
    // The moment shown (replay, stepping); None: everything so far.
    let view_t: RwSignal<Option<f64>> = RwSignal::new(None);
    // What the panels draw: the run, or (replay, stepping) the run cut at a moment. Shared,
    // not copied: a batch of events costs what it contains, not what the run holds.
    // The run cut at the replayed moment, computed once per moment (not per reader).
    let cut: Memo<Option<Arc<RunModel>>> = Memo::new_with_compare(
        move |_| {
            let t = view_t.get()?;
            run.with(|r| r.as_ref().map(|m| Arc::new(m.until(t))))
        },
        |a, b| a.is_none_or(|a| b.is_none_or(|b| !opt_ptr_eq(a, b))),
    );
    let shown: Signal<Option<Arc<RunModel>>> = Signal::derive(move || match view_t.get() {
        Some(_) => cut.get(),
        None => run.get(),
    });
    // The long lists (results, console) while a run streams: redrawn at most every
    // LIST_REDRAW_MS, so a run printing thousands of lines a second cannot hold the page.
    let list_tick = Trigger::new();
    let which_run =
        Memo::new(move |_| run.with(|r| r.as_ref().map(|m| (m.run, m.recording.clone()))));
    let lists: Signal<Option<Arc<RunModel>>> = Signal::derive(move || {
        list_tick.track();
        view_t.track();
        // Read, not just tracked: a memo computes (and follows the run) only when read.
        which_run.with(|_| ());
        match view_t.get_untracked() {
            Some(_) => cut.get_untracked(),
            None => run.get_untracked(),
        }
    });
    let list_redraw = Throttle::new(LIST_REDRAW_MS);
    let timeline_redraw = Throttle::new(TIMELINE_REDRAW_MS);
    let live: Signal<Option<shared::RunId>> =
        Signal::derive(move || run.with(|r| r.as_ref().filter(|m| m.is_live()).map(|m| m.run)));

    let lessons = lessons::Lessons::new(cores, run, error);
    let on_message = Rc::new(move |msg: ServerMessage| match msg {
        ServerMessage::Hello { cores: n, runs, .. } => {
            cores.set(n);
            // Follow the run on screen again after a reconnect, or the latest one after a
            // reload. A recording on screen is not the server's: nothing to follow.
            let on_screen =
                run.with_untracked(|r| r.as_ref().map(|m| (m.run, m.recording.is_some())));
            let follow = match on_screen {
                Some((_, true)) => None,
                Some((id, false)) => Some(id),
                None => runs.last().map(|r| r.run),
            };
            if let Some(id) = follow {
                ws::send(&ClientMessage::Subscribe { run: id });
            }
        }
        ServerMessage::Events { events, .. } => {
            // Applied without notifying; the panels redraw once per animation frame, however
            // many batches arrived in it (a page that falls behind catches up in one redraw).
            let finished_now = run
                .try_update_untracked(|current| {
                    let before = current.as_ref().map(|m| (m.run, m.finished()));
                    for event in &events {
                        // A live run replaces a recording on screen, whatever its number.
                        let newer = current
                            .as_ref()
                            .is_none_or(|m| m.recording.is_some() || event.run > m.run);
                        if newer && matches!(event.kind, EventKind::RunStarted { .. }) {
                            *current = Some(Arc::new(RunModel::new(event.run)));
                            view_t.set(None);
                        }
                        if let Some(model) = current.as_mut().filter(|m| m.recording.is_none()) {
                            let model = Arc::make_mut(model);
                            model.apply(event);
                            if newer && matches!(event.kind, EventKind::RunStarted { .. }) {
                                lessons.started(model);
                            }
                        }
                    }
                    if let Some(m) = current.as_ref() {
                        lessons.maybe_kill(m);
                    }
                    // Finished in this batch: a run that was not finished before it (or is new).
                    let done = current
                        .as_ref()
                        .filter(|m| m.finished() && before != Some((m.run, true)));
                    done.cloned()
                })
                .flatten();
            // Redraws while a run streams: the timeline at most every TIMELINE_REDRAW_MS, the
            // long lists every LIST_REDRAW_MS (the browser shares the cores with the run's
            // processes); as soon as possible when the run is over (a redraw already
            // scheduled comes first and shows the end).
            let streaming = run.with_untracked(|r| r.as_ref().is_some_and(|m| m.is_live()));
            timeline_redraw.request(streaming, move || run.notify());
            list_redraw.request(streaming, move || list_tick.notify());
            if let Some(done) = finished_now {
                lessons.finished(&done);
                if tally.with_untracked(|t| t.left > 0) {
                    let order = print_order(&done);
                    tally.update(|t| {
                        t.add(order);
                        t.left -= 1;
                    });
                    if tally.with_untracked(|t| t.left > 0) {
                        toolbar::start_processes();
                    }
                }
            }
        }
        ServerMessage::Error(e) => error.set(Some(e)),
    });
    ws::connect(conn, on_message);
    if let Some(theme) = toolbar::theme_from_url() {
        toolbar::apply_theme(&theme);
    }

    view! {
        <header class="topbar">
            <h1 class="brand">"procviz"</h1>
            <lessons::LessonPicker lessons=lessons />
            <toolbar::Toolbar run=run />
            <presenter::Presenter lessons=lessons />
            <span class="conn" data-testid="connection" data-state=move || format!("{:?}", conn.get())>
                {move || conn.get().label()}
            </span>
        </header>
        <Show when=move || error.with(Option::is_some)>
            <div class="error-banner" role="alert" data-testid="command-error">
                {move || error.with(|e| e.as_ref().map(|e| e.message.clone()).unwrap_or_default())}
                <button class="dismiss" on:click=move |_| error.set(None)>"dismiss"</button>
            </div>
        </Show>
        <main>
            <lessons::LessonPanel lessons=lessons run=lists />
            <div class="controls">
                <toolbar::CustomRuns error=error tally=tally />
                <params::PoolParamsForm />
            </div>
            <timeline::Timeline run=shown selected=selected live=live />
            // After a run: replay and step it, export it for slides, or open a recorded one.
            <div class="controls after-run">
                <replay::Replay run=run view_t=view_t />
                <export::Export run=run />
                <recording::OpenRecording run=run error=error view_t=view_t />
            </div>
            <lessons::ComparePanel lessons=lessons selected=selected />
            <div class="below">
                <div class="left">
                    <toolbar::TallyPanel tally=tally />
                    <results::Results run=lists selected=selected />
                    <console::Console run=lists selected=selected />
                </div>
                <div class="right">
                    <summary::Summary run=shown cores=cores />
                    <python::PythonPanel run=shown />
                </div>
            </div>
        </main>
    }
}
