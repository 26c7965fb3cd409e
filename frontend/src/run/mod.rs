//! The page's picture of a run, rebuilt from its events. Pure: no DOM, no signals; tested
//! natively.
//!
//! Split by concern: [`processes`], [`console`], [`tasks`] (bars and results), [`cores`]
//! (what the sampler saw), each with its row types and the events it takes; [`hover`] and
//! [`stats`] read the whole run; [`recording`] reads a recorded run into an ordinary model.
//! Where a run comes from is its [`Source`], not a flag checked in several places.
//!
//! Replay: [`RunModel::until`] cuts the run at a moment. Every row type says what it was at
//! that moment ([`Moment`]: gone, or clipped), and `until` names every field of the model,
//! so a field added later cannot be forgotten by the cut (the compiler asks for it).

mod console;
mod cores;
mod hover;
mod processes;
mod recording;
mod stats;
mod tasks;
#[cfg(test)]
mod tests;

pub use console::{ConsoleLine, Tally, print_order};
pub use cores::{CoreBlock, OutsideLoad, StateBlock};
pub use processes::ProcessRow;
pub use recording::Recording;
pub use stats::StateAt;
pub use tasks::{Consumed, Raised, TaskBar, TaskIndex};

use shared::{DemoRequest, Event, EventKind, ProcId, RunId, RunOutcome};

/// What a row of the run was at a moment of a replay: gone (it had not happened yet) or
/// clipped (what happened later left out).
pub trait Moment: Sized {
    /// This row as it was at `t` seconds; `None` if it did not exist yet.
    fn at(&self, t: f64) -> Option<Self>;
}

fn cut_all<T: Moment>(rows: &[T], t: f64) -> Vec<T> {
    rows.iter().filter_map(|r| r.at(t)).collect()
}

/// Where a run comes from: what the page follows, replaces and may cancel depends on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A run on the server, followed live over the WebSocket.
    Server,
    /// A run read from a recording (`procviz run … > run.ndjson`): never followed on the
    /// server, never cancelled, replaced by any live run.
    Recording {
        /// The file's name.
        file: String,
    },
}

impl Source {
    /// Whether the server has this run (so it can be followed again after a reconnect,
    /// cancelled, or its processes killed).
    pub fn on_server(&self) -> bool {
        matches!(self, Source::Server)
    }

    /// Whether a live run of `incoming` replaces the run of `current` on screen: a newer
    /// server run, or any server run over a recording.
    pub fn replaced_by(&self, current: RunId, incoming: RunId) -> bool {
        match self {
            Source::Server => incoming > current,
            Source::Recording { .. } => true,
        }
    }
}

/// Everything the page knows about one run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunModel {
    /// The run.
    pub run: RunId,
    /// Where it comes from.
    pub source: Source,
    /// The label its starting client gave the request (`run_started.request`).
    pub request: Option<String>,
    /// Its title.
    pub title: String,
    /// Its demo request.
    pub demo: Option<DemoRequest>,
    /// PID of the main process.
    pub main_pid: u32,
    /// The machine's cores.
    pub cores: u32,
    /// Child processes, in spawn order.
    pub processes: Vec<ProcessRow>,
    /// Console output, in arrival order.
    pub console: Vec<ConsoleLine>,
    /// How the run ended, once it has.
    pub outcome: Option<RunOutcome>,
    /// The latest event time seen, seconds (the run's length once finished).
    pub last_t: f64,
    /// The next sequence number expected; a jump is counted in `gaps`.
    pub next_seq: u64,
    /// Events missing from the stream (never expected; shown if it happens).
    pub gaps: u64,
    /// Pool tasks, in start order.
    pub tasks: Vec<TaskBar>,
    /// Results in the order the caller consumed them.
    pub results: Vec<Consumed>,
    /// What the caller's call raised, if it did (error, results lost, when).
    pub raised: Option<Raised>,
    /// Sampled time on each core.
    pub core_blocks: Vec<CoreBlock>,
    /// Nanoseconds each process waited for a core (sampled).
    pub waiting_ns: Vec<(ProcId, u64)>,
    /// Running / waiting / sleeping per process and sampled interval.
    pub state_blocks: Vec<StateBlock>,
    /// Load on each core from outside the run, per sampler window.
    pub outside: Vec<OutsideLoad>,
    /// Time slices counted by the sampler (context switches onto a core).
    pub slices: u64,
    /// Indexes derived from `tasks` (kept in step by [`RunModel::apply`]).
    pub index: TaskIndex,
}

impl RunModel {
    /// An empty model of `run`, from the server.
    pub fn new(run: RunId) -> Self {
        RunModel {
            run,
            source: Source::Server,
            request: None,
            title: String::new(),
            demo: None,
            main_pid: 0,
            cores: 0,
            processes: Vec::new(),
            console: Vec::new(),
            outcome: None,
            last_t: 0.0,
            next_seq: 0,
            gaps: 0,
            tasks: Vec::new(),
            results: Vec::new(),
            raised: None,
            core_blocks: Vec::new(),
            waiting_ns: Vec::new(),
            state_blocks: Vec::new(),
            outside: Vec::new(),
            slices: 0,
            index: TaskIndex::default(),
        }
    }

    /// Whether the run has finished.
    pub fn finished(&self) -> bool {
        self.outcome.is_some()
    }

    /// Whether the run is still going on the server (a recording never is, even one that
    /// was cut off before its end).
    pub fn is_live(&self) -> bool {
        !self.finished() && self.source.on_server()
    }

    /// The run as it was at time `t` (seconds): what happened later is left out, what was
    /// still going on is open (for replay).
    pub fn until(&self, t: f64) -> RunModel {
        if t >= self.last_t {
            return self.clone();
        }
        // Every field is named: a new one must say here what a cut does to it.
        let RunModel {
            run,
            source,
            request,
            title,
            demo,
            main_pid,
            cores,
            processes,
            console,
            outcome: _,
            last_t: _,
            next_seq,
            gaps,
            tasks,
            results,
            raised,
            core_blocks,
            waiting_ns,
            state_blocks,
            outside,
            slices,
            index: _,
        } = self;
        let tasks = cut_all(tasks, t);
        RunModel {
            run: *run,
            source: source.clone(),
            request: request.clone(),
            title: title.clone(),
            demo: demo.clone(),
            main_pid: *main_pid,
            cores: *cores,
            processes: cut_all(processes, t),
            console: cut_all(console, t),
            outcome: None,
            last_t: t,
            next_seq: *next_seq,
            gaps: *gaps,
            index: TaskIndex::build(&tasks),
            tasks,
            results: cut_all(results, t),
            raised: raised.as_ref().and_then(|r| r.at(t)),
            core_blocks: cut_all(core_blocks, t),
            // Totals over the whole run (the summary's waiting and slices), not per moment.
            waiting_ns: waiting_ns.clone(),
            state_blocks: cut_all(state_blocks, t),
            outside: cut_all(outside, t),
            slices: *slices,
        }
    }

    /// The name of a process of the run.
    pub fn name_of(&self, proc: ProcId) -> &str {
        if proc == ProcId::MAIN {
            return "MainProcess";
        }
        self.processes
            .iter()
            .find(|p| p.proc == proc)
            .map_or("?", |p| p.name.as_str())
    }

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
                self.title = start.title.clone();
                self.cores = start.cores;
                self.main_pid = start.main_pid;
                self.request = start.request.clone();
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
                core,
                start,
                on_cpu_ns,
                waiting_ns,
                slices,
                ..
            } => self.on_thread_segment(proc, core, start, (on_cpu_ns, waiting_ns, slices), t),
            EventKind::CoreLoad { start, cores } => self.on_core_load(start, cores, t),
            _ => {}
        }
    }

    fn row_mut(&mut self, proc: ProcId) -> Option<&mut ProcessRow> {
        self.processes.iter_mut().find(|p| p.proc == proc)
    }
}
