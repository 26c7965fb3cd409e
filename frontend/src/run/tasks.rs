//! The tasks of a run's pool: a bar per task on its worker's lane, the lookups that keep
//! big runs fast, and the results in the order the caller consumed them.

use super::moment::Moment;
use shared::{ProcId, TaskError, TaskResult};

/// One pool task as the page draws it: a bar on its worker's lane.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskBar {
    /// The task number.
    pub task: u64,
    /// The worker that ran it.
    pub worker: ProcId,
    /// When it started, seconds.
    pub started: f64,
    /// When it finished, seconds.
    pub finished: Option<f64>,
    /// Its value or error.
    pub result: Option<TaskResult>,
}

impl TaskBar {
    /// When it ended, or `now` (the run's latest time) while it runs.
    pub fn end(&self, now: f64) -> f64 {
        self.finished.unwrap_or(now)
    }

    /// The error it ended with, if any.
    pub fn error(&self) -> Option<&TaskError> {
        match &self.result {
            Some(TaskResult::Error(e)) => Some(e),
            _ => None,
        }
    }
}

/// A result in the order the caller consumed it.
#[derive(Clone, Debug, PartialEq)]
pub struct Consumed {
    /// The task's index.
    pub index: u64,
    /// Its value or error.
    pub result: TaskResult,
    /// When the caller got it, seconds.
    pub t: f64,
}

impl Moment for TaskBar {
    fn at(&self, t: f64) -> Option<Self> {
        if self.started > t {
            return None;
        }
        let mut b = self.clone();
        if b.finished.is_some_and(|f| f > t) {
            b.finished = None;
            b.result = None;
        }
        Some(b)
    }
}

impl Moment for Consumed {
    fn at(&self, t: f64) -> Option<Self> {
        (self.t <= t).then(|| self.clone())
    }
}

/// What the caller's call raised: the error, the results it lost, when.
pub type Raised = (TaskError, u64, f64);

impl Moment for Raised {
    fn at(&self, t: f64) -> Option<Self> {
        (self.2 <= t).then(|| self.clone())
    }
}

/// Lookups over [`crate::run::RunModel::tasks`] that keep big runs fast: each worker's bars in start
/// order, the failed ones, the ones still open, the sum of finished task times.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskIndex {
    /// Per worker (in first-task order): indexes into `tasks`, ascending (= start order).
    pub by_worker: Vec<(ProcId, Vec<usize>)>,
    /// Per worker, in the same order as `by_worker`: each bar's start and end, seconds (end
    /// infinite while it runs), side by side. Drawing a big run walks these (16 bytes a bar,
    /// in order) instead of the bars themselves (scattered among the other workers' bars).
    pub spans: Vec<Vec<(f64, f64)>>,
    /// Indexes of failed bars, ascending.
    pub failed: Vec<usize>,
    /// Task number → index of its bar still running.
    pub open: std::collections::HashMap<u64, usize>,
    /// Sum of the durations of finished tasks, seconds.
    pub task_time: f64,
}

impl TaskIndex {
    pub(super) fn started(&mut self, i: usize, bar: &TaskBar) {
        let span = (bar.started, f64::INFINITY);
        match self.by_worker.iter().position(|(w, _)| *w == bar.worker) {
            Some(w) => {
                self.by_worker[w].1.push(i);
                self.spans[w].push(span);
            }
            None => {
                self.by_worker.push((bar.worker, vec![i]));
                self.spans.push(vec![span]);
            }
        }
        self.open.insert(bar.task, i);
    }

    pub(super) fn finished(&mut self, i: usize, bar: &TaskBar) {
        self.open.remove(&bar.task);
        if let Some(w) = self.by_worker.iter().position(|(w, _)| *w == bar.worker)
            && let Ok(k) = self.by_worker[w].1.binary_search(&i)
            && let Some(span) = self.spans[w].get_mut(k)
        {
            span.1 = bar.finished.unwrap_or(f64::INFINITY);
        }
        if let Some(f) = bar.finished {
            self.task_time += f - bar.started;
        }
        if bar.error().is_some() {
            let at = self.failed.partition_point(|&j| j < i);
            self.failed.insert(at, i);
        }
    }

    pub(super) fn build(tasks: &[TaskBar]) -> Self {
        let mut index = TaskIndex::default();
        for (i, bar) in tasks.iter().enumerate() {
            index.started(i, bar);
            if bar.finished.is_some() {
                index.finished(i, bar);
            }
        }
        index
    }

    /// The bars of one worker, in start order.
    pub fn of(&self, worker: ProcId) -> &[usize] {
        self.by_worker
            .iter()
            .find(|(w, _)| *w == worker)
            .map_or(&[], |(_, list)| list.as_slice())
    }

    /// The bars of one worker, in start order, and their spans: `span(k)` is bar `k`'s start
    /// and end, seconds (a bar still running ends `now`).
    pub fn spans_of(&self, worker: ProcId, now: f64) -> (&[usize], impl Fn(usize) -> (f64, f64)) {
        let w = self.by_worker.iter().position(|(w, _)| *w == worker);
        let list = w.map_or(&[][..], |w| self.by_worker[w].1.as_slice());
        let spans = w.map_or(&[][..], |w| self.spans[w].as_slice());
        (list, move |k: usize| {
            let (start, end) = spans[k];
            (start, if end.is_finite() { end } else { now })
        })
    }
}
