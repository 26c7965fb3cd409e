//! The page's components: thin views over the app layer ([`crate::app`]). [`App`] creates
//! the shared state, gives it to every component (`provide_context`) and passes each child
//! the signals it draws; buttons dispatch [`crate::app::Command`]s.

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

use crate::app::{AppState, ConnState, FullScreen};
use crate::run::RunModel;
use leptos::prelude::*;
use std::sync::Arc;

/// Whether two optional shared runs are the same allocation (a cut is new each time).
fn opt_ptr_eq(a: &Option<Arc<RunModel>>, b: &Option<Arc<RunModel>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let app = AppState::new();
    app.provide();
    let AppState {
        conn,
        run,
        error,
        cores,
        selected,
        tally,
        lessons,
        stage,
        list_tick,
        panel_tick,
        ..
    } = app;
    // The moment shown (replay, stepping); None: everything so far.
    let view_t = app.player.view_t;
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
    // The long lists (results, console): redrawn when told (`list_tick`: while a run streams
    // at most every LIST_REDRAW_MS, never in the timeline's frame, so a run printing
    // thousands of lines a second cannot hold the page; an opened recording after its
    // timeline has been drawn) or when the moment shown changes.
    let told = move |tick: Trigger| -> Signal<Option<Arc<RunModel>>> {
        Signal::derive(move || {
            tick.track();
            view_t.track();
            match view_t.get_untracked() {
                Some(_) => cut.get_untracked(),
                None => run.get_untracked(),
            }
        })
    };
    let lists = told(list_tick);
    // The summary and Python panels: as the lists, in the frame after theirs.
    let panels = told(panel_tick);
    let live: Signal<Option<shared::RunId>> =
        Signal::derive(move || run.with(|r| r.as_ref().filter(|m| m.is_live()).map(|m| m.run)));
    let conn = conn.state;
    let connected = Signal::derive(move || conn.get() == ConnState::Connected);

    view! {
        <header class="topbar">
            <h1 class="brand">"procviz"</h1>
            <Show when=move || app.presenting()>
                <lessons::LessonPicker lessons=lessons />
            </Show>
            <toolbar::Toolbar />
            <presenter::Presenter />
            <toolbar::Audience />
            <span class="conn" data-testid="connection" data-state=move || format!("{:?}", conn.get())>
                {move || app.conn.badge()}
            </span>
        </header>
        <Show when=move || error.with(Option::is_some)>
            <div class="error-banner" role="alert" data-testid="command-error">
                {move || error.with(|e| e.as_ref().map(|e| e.message.clone()).unwrap_or_default())}
                <button class="dismiss" on:click=move |_| error.set(None)>"dismiss"</button>
            </div>
        </Show>
        <main>
            <lessons::LessonPanel lessons=lessons run=lists connected=connected />
            <Show when=move || app.presenting()>
                <div class="controls">
                    <toolbar::CustomRuns />
                    <params::PoolParamsForm />
                </div>
            </Show>
            <div
                class="main-timeline"
                class:page-full=move || stage.mode.get() == FullScreen::Page
                node_ref=stage.target
            >
                <timeline::Timeline run=shown selected=selected live=live />
            </div>
            // After a run: replay and step it, export it for slides, or open a recorded one.
            <div class="controls after-run">
                <replay::Replay />
                <export::Export run=run />
                <export::trace::TraceExport run=run />
                <recording::OpenRecording run=run error=error player=app.player />
            </div>
            <lessons::ComparePanel lessons=lessons selected=selected />
            <div class="below">
                <div class="left">
                    <toolbar::TallyPanel tally=tally />
                    <results::Results run=lists selected=selected />
                    <console::Console run=lists selected=selected />
                </div>
                <div class="right">
                    <summary::Summary run=panels whole=run.into() cores=cores />
                    <python::PythonPanel run=panels />
                </div>
            </div>
        </main>
    }
}
