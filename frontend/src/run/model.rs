//! The model of one run ([`RunModel`]): the rows of each concern, where the run comes from
//! ([`Source`]), and the replay cut ([`RunModel::until`]).

use super::console::ConsoleLine;
use super::cores::{CoreBlock, LoadWindow, StateBlock};
use super::moment::{Moment, cut_all};
use super::processes::ProcessRow;
use super::tasks::{Consumed, Raised, TaskBar, TaskIndex};
use super::threads::{ThreadRow, of_proc};
use shared::{DemoRequest, ProcId, RunId, RunOutcome};

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

/// What a real Python run ran ([`RunModel::python`]), from its `run_started`.
#[derive(Clone, Debug, PartialEq)]
pub struct PythonRun {
    /// The interpreter (absent when the run failed before one was found).
    pub interpreter: Option<shared::Interpreter>,
    /// The program as it ran.
    pub program: Option<shared::ProgramText>,
}

impl PythonRun {
    /// One line for people: `CPython 3.11.2 · start method fork · /usr/bin/python3`.
    pub fn describe(&self) -> String {
        match &self.interpreter {
            Some(i) => format!(
                "{} {} · start method {} · {}",
                i.name,
                i.version,
                i.start_method.as_deref().unwrap_or("unknown"),
                i.executable
            ),
            None => "no Python interpreter ran it".into(),
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
    /// Its title.
    pub title: String,
    /// Its demo request.
    pub demo: Option<DemoRequest>,
    /// For a real Python program: what ran it and the program's text.
    pub python: Option<PythonRun>,
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
    /// The most tasks the run's pools said they would run (`pool_started`, `tasks_queued`):
    /// a big run is drawn for its size from its start, not from its 500th task.
    pub tasks_announced: u64,
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
    /// Every sampled thread with its own strip, sorted by process then thread ID.
    pub threads: Vec<ThreadRow>,
    /// Time slices counted by the sampler (context switches onto a core).
    pub slices: u64,
    /// Each core's load per sampler window, as sampled (the exported trace writes it; the
    /// load from outside the run is read off it, [`RunModel::outside`]).
    pub loads: Vec<LoadWindow>,
    /// The sampler's interval, milliseconds, once announced.
    pub sample_ms: Option<u32>,
    /// Indexes derived from `tasks` (kept in step by [`RunModel::apply`]).
    pub index: TaskIndex,
}

impl RunModel {
    /// An empty model of `run`, from the server.
    pub fn new(run: RunId) -> Self {
        RunModel {
            run,
            source: Source::Server,
            title: String::new(),
            demo: None,
            python: None,
            main_pid: 0,
            cores: 0,
            processes: Vec::new(),
            console: Vec::new(),
            outcome: None,
            last_t: 0.0,
            next_seq: 0,
            gaps: 0,
            tasks: Vec::new(),
            tasks_announced: 0,
            results: Vec::new(),
            raised: None,
            core_blocks: Vec::new(),
            waiting_ns: Vec::new(),
            state_blocks: Vec::new(),
            threads: Vec::new(),
            slices: 0,
            loads: Vec::new(),
            sample_ms: None,
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
            title,
            demo,
            python,
            main_pid,
            cores,
            processes,
            console,
            outcome: _,
            last_t: _,
            next_seq,
            gaps,
            tasks,
            tasks_announced,
            results,
            raised,
            core_blocks,
            waiting_ns,
            state_blocks,
            threads,
            slices,
            loads,
            sample_ms,
            index: _,
        } = self;
        let tasks = cut_all(tasks, t);
        RunModel {
            run: *run,
            source: source.clone(),
            title: title.clone(),
            demo: demo.clone(),
            python: python.clone(),
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
            // Said at the start: a replay draws the run as it will be drawn at its end.
            tasks_announced: *tasks_announced,
            results: cut_all(results, t),
            raised: raised.as_ref().and_then(|r| r.at(t)),
            core_blocks: cut_all(core_blocks, t),
            // Totals over the whole run (the summary's waiting and slices), not per moment.
            waiting_ns: waiting_ns.clone(),
            state_blocks: cut_all(state_blocks, t),
            threads: cut_all(threads, t),
            slices: *slices,
            loads: cut_all(loads, t),
            sample_ms: *sample_ms,
        }
    }

    /// The name of the run's main process: the Python program's own `MainProcess` for
    /// procviz's runtime; for a real Python run that name is the interpreter's, and the main
    /// process is procviz, which started it.
    pub fn main_name(&self) -> &'static str {
        match self.python {
            Some(_) => "procviz",
            None => "MainProcess",
        }
    }

    /// The run's main process for people: `MainProcess (the procviz server)`, or for a real
    /// Python run `procviz (the server, which started the program)`.
    pub fn main_described(&self) -> String {
        match self.python {
            Some(_) => "procviz (the server, which started the program)".into(),
            None => "MainProcess (the procviz server)".into(),
        }
    }

    /// The threads of `proc` the sampler saw (or the program named), by thread ID.
    pub fn threads_of(&self, proc: ProcId) -> &[ThreadRow] {
        of_proc(&self.threads, proc)
    }

    /// The name of a process of the run.
    pub fn name_of(&self, proc: ProcId) -> &str {
        if proc == ProcId::MAIN {
            return self.main_name();
        }
        self.processes
            .iter()
            .find(|p| p.proc == proc)
            .map_or("?", |p| p.name.as_str())
    }
}
