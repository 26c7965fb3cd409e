//! What the page asks of a whole run: what it adds up to (work, speedup, each core's busy
//! time, the order its children printed), what was going on at one moment (stepping and the
//! scrub cursor), which task a process ran when, where it ran and how long it waited.

use super::cores::{LoadWindow, OutsideLoad};
use super::model::RunModel;
use super::tasks::TaskBar;
use crate::layout::ThreadRows;
use shared::{ProcId, Stream};

/// The state of a run at one moment (the scrub cursor).
#[derive(Clone, Debug, PartialEq)]
pub struct StateAt {
    /// The moment, seconds.
    pub t: f64,
    /// Tasks running then, with their workers, in start order.
    pub running: Vec<(u64, ProcId)>,
    /// Processes alive then.
    pub alive: usize,
    /// Results the caller had by then.
    pub consumed: usize,
}

impl StateAt {
    /// One line for people: `at 1.50 s: 4 processes alive, tasks 5, 6, 7, 8 running, 5 results`.
    pub fn describe(&self) -> String {
        let tasks = if self.running.is_empty() {
            "no task running".to_string()
        } else {
            let list: Vec<String> = self.running.iter().map(|(t, _)| t.to_string()).collect();
            format!("tasks {} running", list.join(", "))
        };
        format!(
            "at {}: {} processes alive, {tasks}, {} results",
            crate::layout::format_duration(self.t),
            self.alive,
            self.consumed
        )
    }
}

impl RunModel {
    /// The work done, seconds: for a pool, the sum of task times; for processes, the time each
    /// would have taken alone, summed: its running time less the time it waited for a core,
    /// or its CPU time if larger (k busy threads do k seconds of work per second).
    pub fn work_time(&self) -> f64 {
        if self.tasks.is_empty() {
            self.processes
                .iter()
                .filter_map(|p| {
                    let span = p.exited.unwrap_or(self.last_t) - p.started?;
                    let waited = self.waited_ns(p.proc) as f64 / 1e9;
                    let cpu = p.cpu_time_ns.map_or(0.0, |ns| ns as f64 / 1e9);
                    Some((span - waited).max(cpu).max(0.0))
                })
                .sum()
        } else {
            self.index.task_time
                + self
                    .index
                    .open
                    .values()
                    .map(|o| self.last_t - self.tasks[o.bar].started)
                    .sum::<f64>()
        }
    }

    /// Work time over wall time: how many things went on at once, on average.
    pub fn speedup(&self) -> f64 {
        if self.last_t > 0.0 {
            self.work_time() / self.last_t
        } else {
            0.0
        }
    }

    /// The times at which something visible happened, ascending (for stepping).
    pub fn moments(&self) -> Vec<f64> {
        let mut ts: Vec<f64> = self
            .processes
            .iter()
            .flat_map(|p| [Some(p.spawned), p.started, p.exited])
            .flatten()
            .chain(
                self.tasks
                    .iter()
                    .flat_map(|b| [Some(b.started), b.finished])
                    .flatten(),
            )
            .chain(self.results.iter().map(|r| r.t))
            .chain(self.console.iter().map(|l| l.t))
            .collect();
        ts.sort_by(|a, b| a.total_cmp(b));
        ts.dedup_by(|a, b| (*a - *b).abs() < 1e-6);
        ts
    }

    /// What was going on at time `t` (seconds): tasks running (task, worker), processes
    /// alive, results the caller had.
    pub fn state_at(&self, t: f64) -> StateAt {
        let running = self
            .tasks
            .iter()
            .filter(|b| b.started <= t && b.finished.is_none_or(|f| f > t))
            .map(|b| (b.task, b.worker))
            .collect();
        let alive = self
            .processes
            .iter()
            .filter(|p| p.spawned <= t && p.exited.is_none_or(|e| e > t))
            .count();
        let consumed = self.results.iter().filter(|r| r.t <= t).count();
        StateAt {
            t,
            running,
            alive,
            consumed,
        }
    }

    /// The task a process was running at time `t`, if any (the bar a console line links to).
    pub fn task_at(&self, proc: ProcId, t: f64) -> Option<&TaskBar> {
        let list = self.index.of(proc);
        let after = list.partition_point(|&i| self.tasks[i].started <= t);
        let i = *list.get(after.checked_sub(1)?)?;
        let bar = &self.tasks[i];
        bar.finished.is_none_or(|f| f >= t).then_some(bar)
    }

    /// The cores a process was seen on between `start` and `end` (sampled), ascending.
    pub fn cores_during(&self, proc: ProcId, start: f64, end: f64) -> Vec<u32> {
        let mut cores: Vec<u32> = self
            .core_blocks
            .iter()
            .filter(|b| b.proc == proc && b.end > start && b.start < end)
            .map(|b| b.core)
            .collect();
        cores.sort_unstable();
        cores.dedup();
        cores
    }

    /// Nanoseconds `proc` waited for a core (sampled).
    pub fn waited_ns(&self, proc: ProcId) -> u64 {
        self.waiting_ns
            .iter()
            .find(|(w, _)| *w == proc)
            .map_or(0, |(_, ns)| *ns)
    }

    /// Nanoseconds the run's processes waited for a core, all together (sampled).
    pub fn total_waited_ns(&self) -> u64 {
        self.waiting_ns.iter().map(|(_, ns)| ns).sum()
    }

    /// What the run's child processes printed on stdout, line by line in arrival order (the
    /// main process's lines left out).
    pub fn printed(&self) -> impl Iterator<Item = &str> {
        self.console
            .iter()
            .filter(|l| l.proc != ProcId::MAIN && l.stream == Stream::Stdout)
            .map(|l| l.text.as_str())
    }

    /// The load on the cores from outside the run, window by window and core by core (where
    /// it is more than 2 %: [`LoadWindow::outside`]).
    pub fn outside(&self) -> impl Iterator<Item = OutsideLoad> + '_ {
        self.loads.iter().flat_map(LoadWindow::outside)
    }

    /// Sampled CPU time of the run's processes on each core, seconds.
    pub fn core_busy(&self) -> Vec<f64> {
        let mut busy = vec![0.0; self.cores as usize];
        for b in &self.core_blocks {
            if let Some(slot) = busy.get_mut(b.core as usize) {
                *slot += b.share * (b.end - b.start);
            }
        }
        busy
    }

    /// Sampled intervals the timeline's thread sub-lanes draw (of the processes with two or
    /// more threads that ran, at most [`ThreadRows::MAX`] threads each): counted with the
    /// sampled blocks to choose the detail.
    pub fn thread_slices_drawn(&self) -> usize {
        self.threads
            .chunk_by(|a, b| a.proc == b.proc)
            .map(|threads| {
                let ran = threads.iter().filter(|t| t.ran.is_some());
                if ran.clone().count() < 2 {
                    0
                } else {
                    ran.take(ThreadRows::MAX).map(|t| t.slices.len()).sum()
                }
            })
            .sum()
    }

    /// The number of core lanes to draw: the machine's cores once the run has been sampled
    /// (or, for a run without samples yet, none).
    pub fn cores_sampled(&self) -> u32 {
        if self.core_blocks.is_empty() {
            0
        } else {
            self.cores
        }
    }
}

/// The order in which a run's child processes printed, as one line (`Num: 2 · Num: 1 · …`).
pub fn print_order(m: &RunModel) -> String {
    m.printed().collect::<Vec<_>>().join(" · ")
}
