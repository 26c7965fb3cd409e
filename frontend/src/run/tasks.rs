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

/// One worker's bars, in start order.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerBars {
    /// The worker.
    pub worker: ProcId,
    /// Indexes into `tasks`, ascending (= start order).
    pub bars: Vec<usize>,
    /// Each bar's start and end, seconds (end infinite while it runs), side by side with
    /// `bars`. Drawing a big run walks these (16 bytes a bar, in order) instead of the bars
    /// themselves (scattered among the other workers' bars).
    pub spans: Vec<(f64, f64)>,
}

/// Where a running task's bar is: its index into `tasks`, and its place among its worker's
/// bars (`TaskIndex::workers[lane].bars[at]`), so that finishing it searches nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpenBar {
    pub bar: usize,
    lane: usize,
    at: usize,
}

/// Lookups over [`crate::run::RunModel::tasks`] that keep big runs fast: each worker's bars in start
/// order, the failed ones, the ones still open, the sum of finished task times.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskIndex {
    /// Per worker, in first-task order.
    pub workers: Vec<WorkerBars>,
    /// Indexes of failed bars, ascending.
    pub failed: Vec<usize>,
    /// Task number → its bar, while it runs.
    pub open: std::collections::HashMap<u64, OpenBar>,
    /// Sum of the durations of finished tasks, seconds.
    pub task_time: f64,
}

impl TaskIndex {
    pub(super) fn started(&mut self, i: usize, bar: &TaskBar) {
        let lane = match self.workers.iter().position(|w| w.worker == bar.worker) {
            Some(lane) => lane,
            None => {
                self.workers.push(WorkerBars {
                    worker: bar.worker,
                    bars: Vec::new(),
                    spans: Vec::new(),
                });
                self.workers.len() - 1
            }
        };
        let w = &mut self.workers[lane];
        w.bars.push(i);
        w.spans.push((bar.started, f64::INFINITY));
        let at = w.bars.len() - 1;
        self.open.insert(bar.task, OpenBar { bar: i, lane, at });
    }

    pub(super) fn finished(&mut self, i: usize, bar: &TaskBar) {
        if let Some(open) = self.open.remove(&bar.task)
            && let Some(span) = self
                .workers
                .get_mut(open.lane)
                .and_then(|w| w.spans.get_mut(open.at))
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

    fn lane(&self, worker: ProcId) -> Option<&WorkerBars> {
        self.workers.iter().find(|w| w.worker == worker)
    }

    /// The bars of one worker, in start order.
    pub fn of(&self, worker: ProcId) -> &[usize] {
        self.lane(worker).map_or(&[], |w| w.bars.as_slice())
    }

    /// The bars of one worker, in start order, and their spans: `span(k)` is bar `k`'s start
    /// and end, seconds (a bar still running ends `now`).
    pub fn spans_of(&self, worker: ProcId, now: f64) -> (&[usize], impl Fn(usize) -> (f64, f64)) {
        let w = self.lane(worker);
        let list = w.map_or(&[][..], |w| w.bars.as_slice());
        let spans = w.map_or(&[][..], |w| w.spans.as_slice());
        (list, move |k: usize| {
            let (start, end) = spans[k];
            (start, if end.is_finite() { end } else { now })
        })
    }
}
