//! Events into the model: the one reducer ([`RunModel::apply`]) and what each concern does
//! with its events (a task's bar opens and closes, a sampled interval becomes a strip, a block
//! on a core and a wait).

use super::console::ConsoleLine;
use super::cores::{CoreBlock, LoadWindow, StateBlock};
use super::model::RunModel;
use super::processes::ProcessRow;
use super::tasks::{Consumed, TaskBar};
use super::threads::{ThreadRow, ThreadSlice, position};
use shared::{CoreShare, Event, EventKind, ProcId, RunTime, TaskResult};

impl RunModel {
    /// Applies one event (of this run; others are ignored). Replayed events (seq already
    /// seen) are ignored, so a re-subscription can resend the snapshot safely.
    pub fn apply(&mut self, event: &Event) {
        if event.run != self.run || event.seq < self.next_seq {
            return;
        }
        self.gaps += event.seq - self.next_seq;
        self.next_seq = event.seq + 1;
        let t = event.t.as_secs_f64();
        self.last_t = self.last_t.max(t);
        match &event.kind {
            EventKind::RunStarted(start) => {
                self.demo = Some(start.demo.clone());
                if matches!(start.demo, shared::DemoRequest::Python(_)) {
                    self.python = Some(super::PythonRun {
                        interpreter: start.interpreter.clone(),
                        program: start.program.clone(),
                    });
                }
                self.title = start.title.clone();
                self.cores = start.cores;
                self.main_pid = start.main_pid;
            }
            EventKind::ProcessSpawned {
                proc,
                pid,
                name,
                parent: _,
            } => {
                self.processes.push(ProcessRow {
                    proc: *proc,
                    name: name.clone(),
                    pid: *pid,
                    spawned: t,
                    started: None,
                    exited: None,
                    status: None,
                    killed_by: None,
                    cpu_time_ns: None,
                    cpus: Vec::new(),
                });
            }
            EventKind::ProcessStarted { proc, cpus } => {
                if let Some(row) = self.row_mut(*proc) {
                    row.started = Some(t);
                    row.cpus = cpus.clone();
                }
            }
            EventKind::Output { proc, stream, text } => self.console.push(ConsoleLine {
                seq: event.seq,
                t,
                proc: *proc,
                stream: *stream,
                text: text.clone(),
            }),
            EventKind::ProcessExited {
                proc,
                status,
                killed_by,
                cpu_time_ns,
            } => {
                if let Some(row) = self.row_mut(*proc) {
                    row.exited = Some(t);
                    row.status = Some(*status);
                    row.killed_by = *killed_by;
                    row.cpu_time_ns = *cpu_time_ns;
                }
            }
            EventKind::RunFinished { outcome } => self.outcome = Some(outcome.clone()),
            EventKind::TaskStarted { task, worker } => self.start_task(*task, *worker, t),
            EventKind::TaskFinished {
                task,
                worker,
                result,
            } => self.finish_task(*task, *worker, result, t),
            EventKind::ResultConsumed { index, result } => self.results.push(Consumed {
                index: *index,
                result: result.clone(),
                t,
            }),
            EventKind::CallerRaised {
                error,
                lost_results,
            } => self.raised = Some(((**error).clone(), *lost_results, t)),
            EventKind::ThreadSegment {
                proc,
                tid,
                core,
                start,
                on_cpu_ns,
                waiting_ns,
                slices,
            } => self.on_thread_segment(
                (proc, *tid),
                core,
                start,
                (on_cpu_ns, waiting_ns, slices),
                t,
            ),
            EventKind::ThreadStarted(start) => {
                let row = self.thread_mut(start.proc, start.tid, t);
                row.named = Some((t, start.name.clone()));
                row.ran = Some(row.ran.map_or(t, |r| r.min(t)));
            }
            EventKind::ThreadEnded { proc, tid } => {
                self.thread_mut(*proc, *tid, t).ended = Some(t);
            }
            EventKind::SamplerStarted { interval_ms } => self.sample_ms = Some(*interval_ms),
            EventKind::CoreLoad { start, cores } => self.on_core_load(start, cores, t),
            EventKind::PoolStarted { tasks, .. } => {
                self.tasks_announced = self.tasks_announced.max(*tasks);
            }
            EventKind::TasksQueued { first, count } => {
                self.tasks_announced = self.tasks_announced.max(first.saturating_add(*count));
            }
            _ => {}
        }
    }

    fn row_mut(&mut self, proc: ProcId) -> Option<&mut ProcessRow> {
        self.processes.iter_mut().find(|p| p.proc == proc)
    }

    /// The row of thread `tid` of `proc`, added (first seen at `seen`) if new.
    fn thread_mut(&mut self, proc: ProcId, tid: u32, seen: f64) -> &mut ThreadRow {
        let i = match position(&self.threads, proc, tid) {
            Ok(i) => i,
            Err(i) => {
                self.threads.insert(i, ThreadRow::new(proc, tid, seen));
                i
            }
        };
        &mut self.threads[i]
    }

    fn start_task(&mut self, task: u64, worker: ProcId, t: f64) {
        let bar = TaskBar {
            task,
            worker,
            started: t,
            finished: None,
            result: None,
        };
        self.index.started(self.tasks.len(), &bar);
        self.tasks.push(bar);
    }

    /// A task ended: its bar closes with its result (a task lost before it started gets a
    /// zero-length bar).
    fn finish_task(&mut self, task: u64, worker: ProcId, result: &TaskResult, t: f64) {
        if !self.index.open.contains_key(&task) {
            self.start_task(task, worker, t);
        }
        if let Some(i) = self.index.open.get(&task).map(|o| o.bar) {
            let bar = &mut self.tasks[i];
            bar.finished = Some(t);
            bar.result = Some(result.clone());
            self.index.finished(i, &self.tasks[i]);
        }
    }

    /// A sampled interval of one thread (`thread_segment`): its strip, its block on a core,
    /// its wait.
    fn on_thread_segment(
        &mut self,
        (proc, tid): (&ProcId, u32),
        core: &Option<u32>,
        start: &RunTime,
        (on_cpu_ns, waiting_ns, slices): (&u64, &u64, &u32),
        t: f64,
    ) {
        let start = start.as_secs_f64();
        let span = (t - start).max(1e-9);
        self.slices += u64::from(*slices);
        let running = (*on_cpu_ns as f64 / 1e9 / span).min(1.0);
        let waiting = (*waiting_ns as f64 / 1e9 / span).min(1.0);
        let row = self.thread_mut(*proc, tid, start);
        row.seen = row.seen.min(start);
        if *on_cpu_ns > 0 {
            // From the interval's start, as its strip is drawn in a replay.
            row.ran = Some(row.ran.map_or(start, |r| r.min(start)));
        }
        row.slices.push(ThreadSlice {
            start,
            end: t,
            running,
            waiting,
            core: core.filter(|_| *on_cpu_ns > 0),
        });
        // Another thread of the same process over the same interval: averaged in.
        let same = self.state_blocks.iter_mut().rev().take(256).find(|b| {
            b.proc == *proc && (b.start - start).abs() < 1e-9 && (b.end - t).abs() < 1e-9
        });
        match same {
            Some(b) => {
                let n = f64::from(b.threads);
                b.running = (b.running * n + running) / (n + 1.0);
                b.waiting = (b.waiting * n + waiting) / (n + 1.0);
                b.threads += 1;
            }
            None => self.state_blocks.push(StateBlock {
                proc: *proc,
                start,
                end: t,
                running,
                waiting,
                threads: 1,
            }),
        }
        if let (Some(core), true) = (core, *on_cpu_ns > 0) {
            // The blocks of one sampler tick arrive together: earlier ones of this
            // core and interval are among the last few.
            let below: f64 = self
                .core_blocks
                .iter()
                .rev()
                .take(256)
                .filter(|b| b.core == *core && b.start == start && b.end == t)
                .map(|b| b.share)
                .sum();
            self.core_blocks.push(CoreBlock {
                core: *core,
                proc: *proc,
                tid,
                start,
                end: t,
                share: (*on_cpu_ns as f64 / 1e9 / span).min(1.0),
                offset: below.min(1.0),
            });
        }
        if *waiting_ns > 0 {
            match self.waiting_ns.iter_mut().find(|(p, _)| p == proc) {
                Some((_, w)) => *w += waiting_ns,
                None => self.waiting_ns.push((*proc, *waiting_ns)),
            }
        }
    }

    /// Each core's load over a sampler window (`core_load`), kept as sampled (what was not
    /// the run's is read off it: [`RunModel::outside`]).
    fn on_core_load(&mut self, start: &RunTime, cores: &[CoreShare], t: f64) {
        self.loads.push(LoadWindow {
            start: start.as_secs_f64(),
            end: t,
            cores: cores.to_vec(),
        });
    }
}
