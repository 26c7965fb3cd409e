//! Simulated workers for the pool's state machine: each behaves as `crate::worker` does (takes
//! the records it was sent one after the other, runs each task of a chunk, writes its reports
//! before a task that takes time, when it waits for work and when it exits), on a simulated
//! clock; the simulation feeds their messages to the pool and carries out its actions.

use crate::child::WorkerMsg;
use crate::clock::RunClock;
use crate::ipc::{Outcome, Report, TaskRecord};
use crate::pool::state::{Action, Pool, PoolConfig};
use shared::{EventKind, ExitStatus, PoolApi, ProcId, RunTime, TaskResult};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Where the simulated run's clock starts on the monotonic clock.
pub(super) const START_NS: u64 = 5_000_000_000;
pub(super) const MS: u64 = 1_000_000;
pub(super) const SEC: u64 = 1_000 * MS;

pub(super) fn config(workers: u32, tasks: u64, api: PoolApi, chunksize: u32) -> PoolConfig {
    PoolConfig {
        workers,
        tasks,
        api,
        chunksize,
        maxtasks: None,
        affinity: None,
        script: Vec::new(),
    }
}

pub(super) fn zero_division() -> Outcome {
    Outcome::Error {
        error_type: "ZeroDivisionError".into(),
        message: "division by zero".into(),
        location: "task".into(),
    }
}

#[derive(Default)]
pub(super) struct SimWorker {
    pub(super) name: String,
    inbox: VecDeque<TaskRecord>,
    /// Reports not written yet: a worker writes them before a task that takes time (1 ms or
    /// more here), when it waits for work, and when it exits.
    unsent: Vec<Report>,
    /// The chunk being run: its next task and its end.
    chunk: Option<(u64, u64)>,
    chunks_done: u32,
    dead: bool,
}

/// What happens next to a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Next {
    Ready,
    /// Its inbox got records while it waited.
    Wake,
    /// Its current task ends.
    Finish,
    Kill,
}

/// A pool driven by simulated workers: task `n` takes `work(n).0` ns and produces `work(n).1`.
pub(super) struct Sim {
    pub(super) pool: Pool,
    now: u64,
    work: Box<dyn Fn(u64) -> (u64, Outcome)>,
    maxtasks: Option<u32>,
    pub(super) workers: BTreeMap<ProcId, SimWorker>,
    next_proc: u32,
    /// (time, order, worker, what).
    agenda: Vec<(u64, u64, ProcId, Next)>,
    order: u64,
    pub(super) events: Vec<(RunTime, EventKind)>,
    pub(super) sends: Vec<(ProcId, Vec<TaskRecord>)>,
}

impl Sim {
    pub(super) fn new(config: PoolConfig, work: impl Fn(u64) -> (u64, Outcome) + 'static) -> Sim {
        let clock = RunClock::starting_at(START_NS);
        let maxtasks = config.maxtasks;
        let pool = Pool::new(config, clock, RunTime::ZERO);
        let mut sim = Sim {
            pool,
            now: 0,
            work: Box::new(work),
            maxtasks,
            workers: BTreeMap::new(),
            next_proc: 0,
            agenda: Vec::new(),
            order: 0,
            events: Vec::new(),
            sends: Vec::new(),
        };
        sim.act();
        sim
    }

    pub(super) fn at(&mut self, t: u64, proc: ProcId, what: Next) {
        self.order += 1;
        self.agenda.push((t, self.order, proc, what));
    }

    pub(super) fn proc_named(&self, name: &str) -> ProcId {
        let found = self.workers.iter().find(|(_, w)| w.name == name);
        found.map(|(p, _)| *p).expect("a worker of that name")
    }

    /// Carries out the pool's actions: a spawned worker is ready 1 ms later; records go to the
    /// worker's inbox.
    fn act(&mut self) {
        self.events.extend(self.pool.take_events());
        while let Some(action) = self.pool.next_action() {
            match action {
                Action::Spawn { name } => {
                    self.next_proc += 1;
                    let proc = ProcId(self.next_proc);
                    self.workers.insert(
                        proc,
                        SimWorker {
                            name,
                            ..SimWorker::default()
                        },
                    );
                    self.pool.worker_spawned(proc, RunTime(self.now));
                    self.at(self.now + MS, proc, Next::Ready);
                }
                Action::Send { worker, records } => {
                    self.sends.push((worker, records.clone()));
                    let w = self.workers.get_mut(&worker).expect("a known worker");
                    let waiting = w.chunk.is_none() && w.inbox.is_empty();
                    w.inbox.extend(records);
                    if waiting && !w.dead {
                        self.at(self.now, worker, Next::Wake);
                    }
                }
            }
            self.events.extend(self.pool.take_events());
        }
    }

    /// One wake-up of the driver: a message, then `advance`.
    fn deliver(&mut self, msg: WorkerMsg) {
        self.pool.on_message(msg, RunTime(self.now));
        self.act();
        self.pool.advance(RunTime(self.now));
        self.act();
    }

    fn stamp(&self) -> u64 {
        START_NS + self.now
    }

    /// Starts the next task of the worker's chunk or takes its next record. Returns how it
    /// exited, if it did, and whether the task it started takes time.
    fn go_on(&mut self, proc: ProcId) -> (Option<ExitStatus>, bool) {
        let at_ns = self.stamp();
        let w = self.workers.get_mut(&proc).expect("known");
        let reports = &mut w.unsent;
        let task = match w.chunk {
            Some((next, end)) if next < end => next,
            _ => {
                if w.chunk.take().is_some() {
                    w.chunks_done += 1;
                    if self.maxtasks == Some(w.chunks_done) {
                        return (Some(ExitStatus::Code { code: 0 }), false);
                    }
                }
                match w.inbox.pop_front() {
                    None => return (None, false),
                    Some(TaskRecord::Stop) => return (Some(ExitStatus::Code { code: 0 }), false),
                    Some(TaskRecord::Chunk { first, count }) => {
                        reports.push(Report::Took {
                            at_ns,
                            first,
                            count,
                        });
                        w.chunk = Some((first, first + u64::from(count)));
                        first
                    }
                }
            }
        };
        reports.push(Report::TaskStarted { at_ns, task });
        let (took, _) = (self.work)(task);
        self.at(self.now + took, proc, Next::Finish);
        (None, took >= MS)
    }

    /// Runs until nothing is left to happen; returns the events.
    pub(super) fn run(&mut self) -> &[(RunTime, EventKind)] {
        while !self.agenda.is_empty() {
            self.agenda.sort();
            let (t, _, proc, what) = self.agenda.remove(0);
            self.now = t;
            if self.workers.get(&proc).is_none_or(|w| w.dead) {
                continue;
            }
            let (exit, slow) = match what {
                Next::Ready => {
                    self.deliver(WorkerMsg::Ready(proc));
                    continue;
                }
                Next::Kill => {
                    let w = self.workers.get_mut(&proc).expect("known");
                    w.unsent.clear();
                    (Some(ExitStatus::Signal { signal: 9 }), false)
                }
                Next::Wake => {
                    if self.workers[&proc].chunk.is_some() {
                        continue;
                    }
                    self.go_on(proc)
                }
                Next::Finish => {
                    let w = self.workers.get_mut(&proc).expect("known");
                    let (task, end) = w.chunk.expect("a finish while running");
                    w.chunk = Some((task + 1, end));
                    let (_, outcome) = (self.work)(task);
                    w.unsent.push(Report::TaskFinished {
                        at_ns: START_NS + t,
                        task,
                        outcome,
                    });
                    self.go_on(proc)
                }
            };
            let w = self.workers.get_mut(&proc).expect("known");
            let waiting = w.chunk.is_none();
            if (exit.is_some() || waiting || slow) && !w.unsent.is_empty() {
                let reports = std::mem::take(&mut w.unsent);
                self.deliver(WorkerMsg::Reports(proc, reports));
            }
            if let Some(status) = exit {
                self.workers.get_mut(&proc).expect("known").dead = true;
                self.deliver(WorkerMsg::Exited(proc, status));
            }
        }
        &self.events
    }

    /// The caller's results in the order it got them: (index, result, when).
    pub(super) fn consumed(&self) -> Vec<(u64, TaskResult, u64)> {
        self.events
            .iter()
            .filter_map(|(t, k)| match k {
                EventKind::ResultConsumed { index, result } => {
                    Some((*index, result.clone(), t.as_nanos()))
                }
                _ => None,
            })
            .collect()
    }

    pub(super) fn indices(&self) -> Vec<u64> {
        self.consumed().iter().map(|c| c.0).collect()
    }

    /// Which worker each task was dispatched to, and when.
    pub(super) fn dispatched(&self) -> HashMap<u64, (ProcId, u64)> {
        let mut out = HashMap::new();
        for (t, k) in &self.events {
            if let EventKind::TaskDispatched {
                first,
                count,
                worker,
            } = k
            {
                for task in *first..first + u64::from(*count) {
                    out.insert(task, (*worker, t.as_nanos()));
                }
            }
        }
        out
    }

    pub(super) fn count(&self, pred: impl Fn(&EventKind) -> bool) -> usize {
        self.events.iter().filter(|(_, k)| pred(k)).count()
    }
}

pub(super) fn value(v: i64) -> TaskResult {
    TaskResult::Value { value: v }
}

pub(super) fn error_text(r: &TaskResult) -> Option<String> {
    match r {
        TaskResult::Error(e) => Some(e.to_string()),
        TaskResult::Value { .. } | TaskResult::Repr { .. } => None,
    }
}
