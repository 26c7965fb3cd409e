//! The lesson in progress and compare mode. A lesson owns its runs: each start carries a
//! label of this tab, and a run joins the lesson's series only when its `run_started`
//! echoes the label the lesson is waiting for ([`Series::started`]) — never "the next run
//! that starts", which could be another tab's. A lesson picked before the server said how
//! many cores it has waits for that (its runs depend on it). Only finished runs are
//! observed and compared ([`shared::lessons::story`]). [`Series`] and [`Pick`] are pure and
//! tested natively; [`Lessons`] is their reactive handle.

use super::connection::Connection;
use crate::run::RunModel;
use leptos::prelude::*;
use shared::{
    ClientMessage, CommandError, Lesson, LessonRun, PoolApi, PythonSupport, RunId, RunWith,
};
use std::sync::Arc;

/// Finished runs kept for compare mode.
const HISTORY: usize = 24;

/// A lesson run requested and not started yet.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiting {
    /// The request's label (echoed by the server in `run_started`).
    pub request: String,
    /// The run's label for people ("1 core").
    pub label: String,
}

/// What a lesson does after one of its runs finished.
#[derive(Clone, Debug, PartialEq)]
pub enum AfterRun {
    /// Not one of the lesson's runs.
    NotOurs,
    /// Start this run next.
    Next(LessonRun),
    /// The series is complete: compare its first and last run.
    Compare(RunId, RunId),
    /// The series is complete (one run: nothing to compare), or stopped.
    Done,
}

/// A lesson's series of runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// The lesson picked last.
    pub lesson: Option<Lesson>,
    /// Its runs that started, in order: label and run.
    pub runs: Vec<(String, RunId)>,
    /// The run requested and not started yet.
    pub waiting: Option<Waiting>,
    /// Picked before the machine's cores were known: its runs are planned once they are.
    pub needs_cores: bool,
    /// Its runs still to start, the next one last.
    to_start: Vec<LessonRun>,
}

impl Series {
    /// A new series of `lesson` (whatever ran before is forgotten).
    pub fn pick(lesson: Lesson) -> Self {
        Series {
            lesson: Some(lesson),
            needs_cores: true,
            ..Series::default()
        }
    }

    /// The runs to start, in order.
    pub fn plan(&mut self, mut runs: Vec<LessonRun>) {
        runs.reverse();
        self.to_start = runs;
        self.needs_cores = false;
    }

    /// The next run to start, if any.
    pub fn take_next(&mut self) -> Option<LessonRun> {
        self.to_start.pop()
    }

    /// The run `label` was requested as `request`.
    pub fn requested(&mut self, label: String, request: String) {
        self.waiting = Some(Waiting { request, label });
    }

    /// A run started with `request`: if it is the run the lesson waits for, it joins the
    /// series; returns its label.
    pub fn started(&mut self, request: Option<&str>, run: RunId) -> Option<String> {
        let ours = self
            .waiting
            .as_ref()
            .is_some_and(|w| Some(w.request.as_str()) == request);
        if !ours || self.owns(run) {
            return None;
        }
        let label = self.waiting.take()?.label;
        self.runs.push((label.clone(), run));
        Some(label)
    }

    /// Whether `run` is one of the series' runs.
    pub fn owns(&self, run: RunId) -> bool {
        self.runs.iter().any(|(_, r)| *r == run)
    }

    /// `run` finished (`completed`: so that the lesson goes on, see
    /// [`shared::lessons::goes_on`]).
    pub fn finished(&mut self, run: RunId, completed: bool) -> AfterRun {
        if !self.owns(run) {
            return AfterRun::NotOurs;
        }
        if !completed {
            // Cancelled or failed: the rest of the series would not mean much.
            self.stop();
            return AfterRun::Done;
        }
        if let Some(next) = self.take_next() {
            return AfterRun::Next(next);
        }
        match self.runs.as_slice() {
            [(_, a), .., (_, b)] if a != b => AfterRun::Compare(*a, *b),
            _ => AfterRun::Done,
        }
    }

    /// Drops the runs still to start.
    pub fn stop(&mut self) {
        self.to_start.clear();
        self.waiting = None;
        self.needs_cores = false;
    }
}

/// The two runs picked for compare mode; a comparison needs two different runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pick {
    /// Run A.
    pub a: Option<RunId>,
    /// Run B.
    pub b: Option<RunId>,
}

impl Pick {
    /// Both runs (a lesson's first and last).
    pub fn both(a: RunId, b: RunId) -> Self {
        Pick {
            a: Some(a),
            b: Some(b),
        }
    }

    /// Picks side A (`which` 0) or B (1); `None` clears it.
    pub fn set(&mut self, which: usize, run: Option<RunId>) {
        if which == 0 {
            self.a = run;
        } else {
            self.b = run;
        }
    }

    /// The two runs to compare: both picked and not the same run.
    pub fn pair(self) -> Option<(RunId, RunId)> {
        match (self.a, self.b) {
            (Some(a), Some(b)) if a != b => Some((a, b)),
            _ => None,
        }
    }
}

/// The lesson state and compare mode, as signals. `Copy`.
#[derive(Clone, Copy)]
pub struct Lessons {
    /// The lesson's series.
    pub series: RwSignal<Series>,
    /// Finished runs, oldest first.
    pub history: RwSignal<Vec<Arc<RunModel>>>,
    /// The runs picked for compare mode.
    pub compare: RwSignal<Pick>,
    /// The pool API of the seed lesson (its switch).
    pub api: RwSignal<PoolApi>,
    /// The machine's cores (0 until the server's hello).
    pub cores: RwSignal<u32>,
    /// What runs the lessons' programs: CPython or procviz's runtime.
    pub with: RwSignal<RunWith>,
    /// Whether the presenter chose `with` (a button, or `?with=` in the URL); otherwise the
    /// server's hello decides: CPython when it can run it.
    with_chosen: RwSignal<bool>,
    /// Whether the server can run real Python programs (`None` until its hello).
    pub python: RwSignal<Option<PythonSupport>>,
    /// The run on screen (cancelled when another lesson starts).
    run: RwSignal<Option<Arc<RunModel>>>,
    /// The error banner (a run that could not be started).
    error: RwSignal<Option<CommandError>>,
    conn: Connection,
}

impl Lessons {
    /// No lesson yet.
    pub fn new(
        conn: Connection,
        cores: RwSignal<u32>,
        run: RwSignal<Option<Arc<RunModel>>>,
        error: RwSignal<Option<CommandError>>,
    ) -> Self {
        let chosen = super::url::url_opt("with").and_then(|w| RunWith::from_id(&w));
        Lessons {
            series: RwSignal::new(Series::default()),
            history: RwSignal::new(Vec::new()),
            compare: RwSignal::new(Pick::default()),
            api: RwSignal::new(PoolApi::Imap),
            cores,
            with: RwSignal::new(chosen.unwrap_or_default()),
            with_chosen: RwSignal::new(chosen.is_some()),
            python: RwSignal::new(None),
            run,
            error,
            conn,
        }
    }

    /// The server said whether it runs real Python programs: unless the presenter chose,
    /// the lessons run with CPython when it can, else with the runtime (and the picker says
    /// why). A choice of CPython the server cannot honour falls back to the runtime.
    pub fn python_known(self, python: Option<PythonSupport>) {
        let available = matches!(python, Some(PythonSupport::Available { .. }));
        self.python.set(python);
        let chosen = self.with_chosen.get_untracked();
        if !chosen || !available {
            self.with.set(if available {
                RunWith::CPython
            } else {
                RunWith::Runtime
            });
        }
    }

    /// The presenter picks what runs the lessons.
    pub fn choose(self, with: RunWith) {
        self.with.set(with);
        self.with_chosen.set(true);
    }

    /// Whether the server can run real Python programs.
    pub fn cpython_available(self) -> bool {
        self.python
            .with(|p| matches!(p, Some(PythonSupport::Available { .. })))
    }

    /// The lesson picked last.
    pub fn lesson(self) -> Option<Lesson> {
        self.series.with(|s| s.lesson)
    }

    /// Starts `lesson`: its first run now (or once the server said how many cores there
    /// are), the others as each one finishes. A run still going is cancelled first (two runs
    /// at once would share the cores and skew both).
    pub fn start(self, lesson: Lesson) {
        let live = self
            .run
            .with_untracked(|r| r.as_ref().filter(|m| m.is_live()).map(|m| m.run));
        if let Some(run) = live
            && let Err(e) = self.conn.send(&ClientMessage::CancelRun { run })
        {
            leptos::logging::warn!("procviz: could not cancel run {}: {e}", run.0);
        }
        self.series.set(Series::pick(lesson));
        self.cores_known();
    }

    /// The server told the machine's cores: a lesson waiting for them plans its runs.
    pub fn cores_known(self) {
        let cores = self.cores.get_untracked();
        let waits = self.series.with_untracked(|s| s.needs_cores);
        let Some(lesson) = self.series.with_untracked(|s| s.lesson) else {
            return;
        };
        if cores == 0 || !waits {
            return;
        }
        let runs = lesson.runs_with(cores, self.api.get_untracked(), self.with.get_untracked());
        self.series.update(|s| s.plan(runs));
        self.next();
    }

    fn next(self) {
        if let Some(run) = self.series.try_update(Series::take_next).flatten() {
            self.send(run);
        }
    }

    fn send(self, run: LessonRun) {
        match self
            .conn
            .start_run(self.error, |label| run.start_message(label))
        {
            Some(request) => self.series.update(|s| s.requested(run.label, request)),
            // Not sent (the banner says why): the series stops rather than wait forever.
            None => self.series.update(Series::stop),
        }
    }

    /// A run started with `request`: if the lesson asked for it, it joins the lesson's
    /// series and its title says which run of the lesson it is. Returns whether it joined.
    pub fn started(self, model: &mut RunModel, request: Option<&str>) -> bool {
        let joined = self
            .series
            .try_update(|s| s.started(request, model.run).map(|l| (s.lesson, l)))
            .flatten();
        match joined {
            Some((Some(lesson), label)) => {
                model.title = crate::lessons::run_title(
                    lesson.title(),
                    &label,
                    matches!(model.demo, Some(shared::DemoRequest::Python(_))),
                );
                true
            }
            _ => false,
        }
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
        let completed = match (&model.demo, &model.outcome) {
            (Some(demo), Some(outcome)) => shared::lessons::goes_on(demo, outcome),
            _ => false,
        };
        let after = self
            .series
            .try_update(|s| s.finished(model.run, completed))
            .unwrap_or(AfterRun::NotOurs);
        match after {
            AfterRun::Next(run) => self.send(run),
            AfterRun::Compare(a, b) => self.compare.set(Pick::both(a, b)),
            AfterRun::NotOurs | AfterRun::Done => {}
        }
    }

    /// Run `id`: the one on screen (`current`) or a finished one.
    pub fn run(self, id: RunId, current: Option<&Arc<RunModel>>) -> Option<Arc<RunModel>> {
        current.filter(|m| m.run == id).cloned().or_else(|| {
            self.history
                .with(|h| h.iter().find(|m| m.run == id).cloned())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{DemoRequest, ProcessesParams};

    fn plan(labels: &[&str]) -> Vec<LessonRun> {
        labels
            .iter()
            .map(|l| LessonRun {
                label: l.to_string(),
                request: DemoRequest::Processes(ProcessesParams::default()),
                schedule: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn a_lesson_takes_only_the_run_it_asked_for() {
        let mut s = Series::pick(Lesson::SleepingVsWorking);
        assert!(s.needs_cores);
        s.plan(plan(&["sleeping tasks", "CPU tasks"]));
        let first = s.take_next().expect("a first run");
        assert_eq!(first.label, "sleeping tasks");
        s.requested(first.label, "tabA-1".into());
        // Another tab's run (or an unlabelled one) starting first is not adopted.
        assert_eq!(s.started(Some("tabB-7"), RunId(4)), None);
        assert_eq!(s.started(None, RunId(5)), None);
        assert_eq!(s.finished(RunId(4), true), AfterRun::NotOurs);
        assert_eq!(
            s.started(Some("tabA-1"), RunId(6)),
            Some("sleeping tasks".into())
        );
        // The same run_started again (a re-subscription) changes nothing.
        assert_eq!(s.started(Some("tabA-1"), RunId(6)), None);
        let AfterRun::Next(second) = s.finished(RunId(6), true) else {
            panic!("the second run comes next");
        };
        s.requested(second.label, "tabA-2".into());
        assert_eq!(
            s.started(Some("tabA-2"), RunId(8)),
            Some("CPU tasks".into())
        );
        assert_eq!(
            s.finished(RunId(8), true),
            AfterRun::Compare(RunId(6), RunId(8))
        );
    }

    #[test]
    fn a_single_run_or_a_cancelled_series_compares_nothing() {
        let mut s = Series::pick(Lesson::TwoProcesses);
        s.plan(plan(&["two processes"]));
        let run = s.take_next().expect("a run");
        s.requested(run.label, "t-1".into());
        s.started(Some("t-1"), RunId(1));
        assert_eq!(s.finished(RunId(1), true), AfterRun::Done);

        let mut s = Series::pick(Lesson::ChefAlone);
        s.plan(plan(&["1 core", "2 cores"]));
        let run = s.take_next().expect("a run");
        s.requested(run.label, "t-2".into());
        s.started(Some("t-2"), RunId(2));
        assert_eq!(s.finished(RunId(2), false), AfterRun::Done);
        assert_eq!(s.take_next(), None, "the rest is dropped");
    }

    #[test]
    fn compare_needs_two_different_runs() {
        let mut p = Pick::default();
        assert_eq!(p.pair(), None);
        p.set(0, Some(RunId(3)));
        assert_eq!(p.pair(), None, "one side only");
        p.set(1, Some(RunId(3)));
        assert_eq!(p.pair(), None, "a run with itself");
        p.set(1, Some(RunId(4)));
        assert_eq!(p.pair(), Some((RunId(3), RunId(4))));
        p.set(0, None);
        assert_eq!(p.pair(), None);
    }
}
