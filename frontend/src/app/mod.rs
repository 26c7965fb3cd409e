//! The page's app layer: the state every panel shares ([`AppState`], given to components
//! with `provide_context`), the actions buttons and presenter keys dispatch ([`Command`]),
//! the connection with its send queue, the lessons that own their runs, the theme, the
//! replay player and the timeline's stage. Components read this state and dispatch
//! commands; nothing here imports a component.

pub mod command;
pub mod connection;
pub mod lessons;
pub mod player;
pub mod redraw;
pub mod stage;
pub mod theme;
pub mod url;
pub mod wait;
pub mod warm;

pub use command::Command;
pub use connection::{ConnState, Connection};
pub use lessons::Lessons;
pub use player::Player;
pub use stage::{FullScreen, Stage};
pub use theme::Theme;

use crate::run::{RunModel, Tally, print_order};
use leptos::prelude::*;
use redraw::{LIST_REDRAW_MS, TIMELINE_REDRAW_MS, Throttle};
use shared::{
    ClientMessage, CommandError, DemoRequest, EventKind, ProcessesParams, Role, ServerMessage,
};
use std::rc::Rc;
use std::sync::Arc;

/// How long after the page starts its hot paths are warmed up (see [`warm`]): after its
/// first drawing and its connection.
const WARM_UP_AFTER_MS: u64 = 300;

/// Everything the page's panels share. `Copy`: each field is a signal or a handle.
#[derive(Clone, Copy)]
pub struct AppState {
    /// The connection to the server.
    pub conn: Connection,
    /// The run on screen (a live one, or a recording).
    pub run: RwSignal<Option<Arc<RunModel>>>,
    /// The error banner.
    pub error: RwSignal<Option<CommandError>>,
    /// The machine's cores (0 until the server's hello).
    pub cores: RwSignal<u32>,
    /// What this page may do (the server's hello says, from the token the page showed).
    pub role: RwSignal<Role>,
    /// View-only pages following this server (students' screens in lecture-hall mode).
    pub viewers: RwSignal<u32>,
    /// The task picked in the result list or on the timeline (highlighted in both).
    pub selected: RwSignal<Option<u64>>,
    /// "Run 10×": orders seen over repeated runs of "Who prints first?".
    pub tally: RwSignal<Tally>,
    /// The page's theme.
    pub theme: RwSignal<Theme>,
    /// Whether the keyboard help is shown.
    pub help: RwSignal<bool>,
    /// Replay and stepping.
    pub player: Player,
    /// The lesson in progress and compare mode.
    pub lessons: Lessons,
    /// The main timeline's full screen and scrolling.
    pub stage: Stage,
    /// Notified when the long lists should redraw (at most every [`LIST_REDRAW_MS`]).
    pub list_tick: Trigger,
    /// Notified when the summary and Python panels should redraw: in the frame after the
    /// long lists (see [`AppState::redraw_below`]).
    pub panel_tick: Trigger,
    timeline_redraw: Throttle,
    list_redraw: Throttle,
    panel_redraw: Throttle,
}

impl AppState {
    /// Fresh state (the theme from the URL); not yet connected.
    pub fn new() -> Self {
        let conn = Connection::new();
        let run = RwSignal::new(None);
        let error = RwSignal::new(None);
        let cores = RwSignal::new(0);
        let timeline_redraw = Throttle::new(TIMELINE_REDRAW_MS);
        AppState {
            conn,
            run,
            error,
            cores,
            role: RwSignal::new(Role::Presenter),
            viewers: RwSignal::new(0),
            selected: RwSignal::new(None),
            tally: RwSignal::new(Tally::default()),
            theme: RwSignal::new(Theme::from_url().unwrap_or_default()),
            help: RwSignal::new(false),
            player: Player::new(run),
            lessons: Lessons::new(conn, cores, run, error),
            stage: Stage::new(),
            list_tick: Trigger::new(),
            panel_tick: Trigger::new(),
            timeline_redraw,
            list_redraw: Throttle::sharing_frames(LIST_REDRAW_MS, timeline_redraw),
            // Never limited itself: asked only by redraw_below, with the lists (paced).
            panel_redraw: Throttle::sharing_frames(0.0, timeline_redraw),
        }
    }

    /// Gives the state (and the connection on its own) to every component, mirrors the
    /// theme onto the page, follows full screen, and connects.
    pub fn provide(self) {
        provide_context(self);
        provide_context(self.conn);
        Effect::new(move |_| theme::apply(self.theme.get()));
        self.stage.watch();
        self.conn.connect(Rc::new(move |msg| self.on_message(msg)));
        set_timeout(
            move || self.warm_up(None, 0),
            std::time::Duration::from_millis(WARM_UP_AFTER_MS),
        );
    }

    /// Reads the made-up batches of [`warm`] from `batch` on, each in a task of its own, while
    /// the page shows no run (a run on screen has warmed the same code itself).
    fn warm_up(self, mut model: Option<RunModel>, batch: u64) {
        if batch >= warm::BATCHES || self.run.with_untracked(Option::is_some) {
            return;
        }
        warm::read_batch(&mut model, batch);
        set_timeout(
            move || self.warm_up(model, batch + 1),
            std::time::Duration::ZERO,
        );
    }

    /// The page's state, from a component or an event handler.
    pub fn expect() -> Self {
        expect_context::<AppState>()
    }

    /// Whether this page may start, cancel and kill (a view-only page follows only).
    pub fn presenting(self) -> bool {
        self.role.get().may_command()
    }

    /// Carries out a command (from a button or a key). On a view-only page the commands that
    /// would start or stop runs say why they do nothing.
    pub fn dispatch(self, command: Command) {
        if command.commands_runs() && !self.role.get_untracked().may_command() {
            self.error.set(Some(CommandError {
                kind: shared::ErrorKind::Forbidden,
                message: "This page is view-only: it follows the presenter's runs.".into(),
            }));
            return;
        }
        match command {
            Command::StartLesson(lesson) => self.lessons.start(lesson),
            Command::RerunLesson => {
                if let Some(lesson) = self.lessons.series.with_untracked(|s| s.lesson) {
                    self.lessons.start(lesson);
                }
            }
            Command::Replay => self.player.play(),
            Command::StepBack => self.player.step(false),
            Command::StepForward => self.player.step(true),
            Command::NextTheme => self.theme.update(|t| *t = t.next()),
            Command::FullScreen => self.stage.toggle(),
            Command::Dismiss => {
                self.help.set(false);
                self.stage.leave();
            }
            Command::Cancel => self.cancel(),
            Command::ToggleHelp => self.help.update(|h| *h = !*h),
        }
    }

    /// Whether the run on screen is still going on the server.
    pub fn running(self) -> bool {
        self.run.with(|r| r.as_ref().is_some_and(|m| m.is_live()))
    }

    /// Cancels the run on screen, if it is still going.
    pub fn cancel(self) {
        let live = self
            .run
            .with_untracked(|r| r.as_ref().filter(|m| m.is_live()).map(|m| m.run));
        if let Some(run) = live {
            self.send_or_say(&ClientMessage::CancelRun { run });
        }
    }

    /// Kills one process of a live run (SIGKILL, from its lane's button).
    pub fn kill(self, run: shared::RunId, proc: shared::ProcId) {
        self.send_or_say(&ClientMessage::KillProcess { run, proc });
    }

    /// Sends `msg`, or says in the error banner why it could not be sent.
    fn send_or_say(self, msg: &ClientMessage) {
        if let Err(message) = self.conn.send(msg) {
            self.error.set(Some(CommandError {
                kind: shared::ErrorKind::Internal,
                message,
            }));
        }
    }

    /// Starts a custom run of `demo` (labelled as this tab's); false if it was refused.
    pub fn start_demo(self, demo: DemoRequest) -> bool {
        self.conn
            .start_run(self.error, |request| ClientMessage::StartRun {
                demo,
                keep_on_disconnect: false,
                sample_ms: None,
                schedule: Vec::new(),
                request,
            })
            .is_some()
    }

    /// "Run 10×": ten runs of "Who prints first?", one after another, their orders counted.
    pub fn run_10x(self) {
        self.tally.set(Tally {
            left: 10,
            counts: Vec::new(),
        });
        self.start_demo(DemoRequest::Processes(ProcessesParams::default()));
    }

    /// Handles one message from the server.
    fn on_message(self, msg: ServerMessage) {
        match msg {
            ServerMessage::Hello {
                cores,
                runs,
                role,
                python,
                ..
            } => {
                self.cores.set(cores);
                self.role.set(role);
                self.lessons.python_known(python);
                // Follow the run on screen again after a reconnect, or the latest one after
                // a reload (unless this tab is waiting for a run of its own). A recording on
                // screen is not the server's: nothing to follow.
                let on_screen = self
                    .run
                    .with_untracked(|r| r.as_ref().map(|m| (m.run, m.source.on_server())));
                let follow = match on_screen {
                    Some((_, false)) => None,
                    Some((id, true)) => Some(id),
                    None if self.conn.awaiting() => None,
                    None => runs.last().map(|r| r.run),
                };
                if let Some(run) = follow
                    && let Err(e) = self.conn.send(&ClientMessage::Subscribe { run })
                {
                    leptos::logging::warn!("procviz: could not follow run {}: {e}", run.0);
                }
                self.lessons.cores_known();
            }
            ServerMessage::Events { events, .. } => self.on_events(&events),
            ServerMessage::Error(e) => self.error.set(Some(e)),
            ServerMessage::Audience { viewers } => self.viewers.set(viewers),
        }
    }

    /// Applies a batch of events to the run on screen (without notifying: the panels redraw
    /// once per animation frame, however many batches arrived in it).
    fn on_events(self, events: &[shared::Event]) {
        let mut lesson_run_started = false;
        let finished_now = self
            .run
            .try_update_untracked(|current| {
                let before = current.as_ref().map(|m| (m.run, m.finished()));
                for event in events {
                    let started = match &event.kind {
                        EventKind::RunStarted(start) => Some(start.request.as_deref()),
                        _ => None,
                    };
                    // A live run replaces a recording on screen, whatever its number; a
                    // run this tab started replaces whatever is on screen.
                    let ours = started.is_some_and(|r| self.conn.is_ours(r));
                    let newer = current.as_ref().is_none_or(|m| {
                        m.source.replaced_by(m.run, event.run) || (ours && event.run != m.run)
                    });
                    if newer && started.is_some() {
                        *current = Some(Arc::new(RunModel::new(event.run)));
                        self.player.show_all();
                    }
                    if let Some(model) = current.as_mut().filter(|m| m.source.on_server()) {
                        let model = Arc::make_mut(model);
                        model.apply(event);
                        if let Some(request) = started
                            && newer
                        {
                            self.conn.started(request);
                            lesson_run_started |= self.lessons.started(model, request);
                        }
                    }
                }
                // Finished in this batch: a run that was not finished before it (or is new).
                current
                    .as_ref()
                    .filter(|m| m.finished() && before != Some((m.run, true)))
                    .cloned()
            })
            .flatten();
        // Redraws while a run streams: the timeline at most every TIMELINE_REDRAW_MS, the
        // long lists every LIST_REDRAW_MS (the browser shares the cores with the run's
        // processes); as soon as possible when the run is over (a redraw already scheduled
        // comes first and shows the end).
        let streaming = self
            .run
            .with_untracked(|r| r.as_ref().is_some_and(|m| m.is_live()));
        let run = self.run;
        self.timeline_redraw
            .request(streaming, move || run.notify());
        self.list_redraw
            .request(streaming, move || self.redraw_below());
        if lesson_run_started {
            // After the redraw that shows it: the audience should see the run.
            let stage = self.stage;
            request_animation_frame(move || {
                request_animation_frame(move || stage.bring_into_view())
            });
        }
        if let Some(done) = finished_now {
            self.lessons.finished(&done);
            self.tally_run(&done);
        }
    }

    /// Redraws the panels below the timeline: the long lists now, the summary and Python
    /// panels at the next animation frame neither the timeline nor the lists draw in (a big
    /// run's first drawing of all four in one frame was the longest frame of its run).
    pub fn redraw_below(self) {
        self.list_tick.notify();
        let panels = self.panel_tick;
        self.panel_redraw.request(false, move || panels.notify());
    }

    /// "Run 10×": counts a finished run's order and starts the next.
    fn tally_run(self, done: &RunModel) {
        if self.tally.with_untracked(|t| t.left == 0) {
            return;
        }
        let order = print_order(done);
        self.tally.update(|t| {
            t.add(order);
            t.left -= 1;
        });
        if self.tally.with_untracked(|t| t.left > 0) {
            self.start_demo(DemoRequest::Processes(ProcessesParams::default()));
        }
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}
