//! The page's picture of a run, rebuilt from its events. Pure: no DOM, no signals; tested
//! natively.

use shared::{
    DemoRequest, Event, EventKind, ExitStatus, KillReason, ProcId, RunId, RunOutcome, Stream,
    TaskError, TaskResult,
};

/// One process of the run as the page draws it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessRow {
    /// Its id in the run.
    pub proc: ProcId,
    /// Its name.
    pub name: String,
    /// Its PID.
    pub pid: u32,
    /// When it was spawned, seconds.
    pub spawned: f64,
    /// When it reported that it runs, seconds.
    pub started: Option<f64>,
    /// When it exited, seconds.
    pub exited: Option<f64>,
    /// How it exited.
    pub status: Option<ExitStatus>,
    /// Who killed it, if someone did.
    pub killed_by: Option<KillReason>,
    /// CPU time it used, from the kernel at its exit.
    pub cpu_time_ns: Option<u64>,
    /// The cores it was allowed on.
    pub cpus: Vec<u32>,
}

impl ProcessRow {
    /// Python's view of the exit code (`-9` for SIGKILL).
    pub fn exit_code(&self) -> Option<i32> {
        self.status.map(ExitStatus::python_exitcode)
    }
}

/// A line of console output.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsoleLine {
    /// Its position in the run's log (unique, for keyed lists).
    pub seq: u64,
    /// When it was read, seconds.
    pub t: f64,
    /// Who wrote it.
    pub proc: ProcId,
    /// Which stream.
    pub stream: Stream,
    /// The text.
    pub text: String,
}

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

/// Time a thread of the run spent on one core (a block in that core's lane).
#[derive(Clone, Debug, PartialEq)]
pub struct CoreBlock {
    /// The core.
    pub core: u32,
    /// The process.
    pub proc: ProcId,
    /// Start and end of the sampled interval(s), seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Share of the interval it was on the core (0 to 1).
    pub share: f64,
    /// Share of the core's lane taken by earlier blocks of the same core and interval: blocks
    /// of one interval stack, each as tall as its share, so four processes time-slicing one
    /// core show as four bands of a quarter each. Set when the block arrives.
    pub offset: f64,
}

/// Load on a core from outside the run (other programs, the server, the browser) over one
/// window of the sampler, drawn under the run's blocks so a busy machine is not mistaken for
/// the demo.
#[derive(Clone, Debug, PartialEq)]
pub struct OutsideLoad {
    /// The core.
    pub core: u32,
    /// Start of the window, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Share of the window the core was busy with other work (0 to 1).
    pub share: f64,
}

/// What a process's threads did over one sampled interval (the state strip of its lane):
/// the rest of the interval, neither running nor waiting, it slept.
#[derive(Clone, Debug, PartialEq)]
pub struct StateBlock {
    /// The process.
    pub proc: ProcId,
    /// Start of the interval, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Share of the interval on a core (0 to 1).
    pub running: f64,
    /// Share of the interval runnable but waiting for a core (0 to 1).
    pub waiting: f64,
    /// Threads averaged into it (a process with k threads has one strip, not k).
    pub threads: u32,
}

/// Cores for people: `0, 1`.
fn core_list(cores: &[u32]) -> String {
    cores
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The order in which a run's child processes printed, as one line (`Num: 2 · Num: 1 · …`).
pub fn print_order(m: &RunModel) -> String {
    m.console
        .iter()
        .filter(|l| l.proc != ProcId::MAIN && l.stream == Stream::Stdout)
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Orders seen over repeated runs ("run 10×"), most frequent first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Runs still to start.
    pub left: u32,
    /// Each order seen and how often.
    pub counts: Vec<(String, u32)>,
}

impl Tally {
    /// Counts one more run that printed in `order`.
    pub fn add(&mut self, order: String) {
        match self.counts.iter_mut().find(|(o, _)| *o == order) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((order, 1)),
        }
        self.counts
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }

    /// Runs counted so far.
    pub fn runs(&self) -> u32 {
        self.counts.iter().map(|(_, n)| n).sum()
    }
}

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

/// Everything the page knows about one run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunModel {
    /// The run.
    pub run: RunId,
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
    pub raised: Option<(TaskError, u64, f64)>,
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
    /// The file it was read from, for a recorded run (not followed on the server).
    pub recording: Option<String>,
}

/// Lookups over [`RunModel::tasks`] that keep big runs fast: each worker's bars in start
/// order, the failed ones, the ones still open, the sum of finished task times.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskIndex {
    /// Per worker (in first-task order): indexes into `tasks`, ascending (= start order).
    pub by_worker: Vec<(ProcId, Vec<usize>)>,
    /// Indexes of failed bars, ascending.
    pub failed: Vec<usize>,
    /// Task number → index of its bar still running.
    pub open: std::collections::HashMap<u64, usize>,
    /// Sum of the durations of finished tasks, seconds.
    pub task_time: f64,
}

impl TaskIndex {
    fn started(&mut self, i: usize, bar: &TaskBar) {
        match self.by_worker.iter_mut().find(|(w, _)| *w == bar.worker) {
            Some((_, list)) => list.push(i),
            None => self.by_worker.push((bar.worker, vec![i])),
        }
        self.open.insert(bar.task, i);
    }

    fn finished(&mut self, i: usize, bar: &TaskBar) {
        self.open.remove(&bar.task);
        if let Some(f) = bar.finished {
            self.task_time += f - bar.started;
        }
        if bar.error().is_some() {
            let at = self.failed.partition_point(|&j| j < i);
            self.failed.insert(at, i);
        }
    }

    fn build(tasks: &[TaskBar]) -> Self {
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
}

impl RunModel {
    /// An empty model of `run`.
    pub fn new(run: RunId) -> Self {
        RunModel {
            run,
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
            recording: None,
        }
    }

    /// Whether the run has finished.
    pub fn finished(&self) -> bool {
        self.outcome.is_some()
    }

    /// Whether the run is still going on the server (a recording never is, even one that
    /// was cut off before its end).
    pub fn is_live(&self) -> bool {
        !self.finished() && self.recording.is_none()
    }

    /// The run as it was at time `t` (seconds): what happened later is left out, what was
    /// still going on is open (for replay).
    pub fn until(&self, t: f64) -> RunModel {
        if t >= self.last_t {
            return self.clone();
        }
        let mut m = self.clone();
        m.last_t = t;
        m.outcome = None;
        m.processes.retain(|p| p.spawned <= t);
        for p in &mut m.processes {
            if p.started.is_some_and(|s| s > t) {
                p.started = None;
            }
            if p.exited.is_some_and(|e| e > t) {
                p.exited = None;
                p.status = None;
                p.killed_by = None;
                p.cpu_time_ns = None;
            }
        }
        m.console.retain(|l| l.t <= t);
        m.tasks.retain(|b| b.started <= t);
        for b in &mut m.tasks {
            if b.finished.is_some_and(|f| f > t) {
                b.finished = None;
                b.result = None;
            }
        }
        m.results.retain(|r| r.t <= t);
        if m.raised.as_ref().is_some_and(|r| r.2 > t) {
            m.raised = None;
        }
        m.core_blocks.retain(|b| b.start <= t);
        for b in &mut m.core_blocks {
            b.end = b.end.min(t);
        }
        m.outside.retain(|b| b.start <= t);
        for b in &mut m.outside {
            b.end = b.end.min(t);
        }
        m.state_blocks.retain(|b| b.start <= t);
        for b in &mut m.state_blocks {
            b.end = b.end.min(t);
        }
        m.index = TaskIndex::build(&m.tasks);
        m
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

    /// The hover panel of task bar `i`: (label, value) rows.
    pub fn describe_task(&self, i: usize) -> Vec<(&'static str, String)> {
        use crate::layout::format_duration;
        let Some(bar) = self.tasks.get(i) else {
            return Vec::new();
        };
        let pid = self
            .processes
            .iter()
            .find(|p| p.proc == bar.worker)
            .map_or(0, |p| p.pid);
        let end = bar.end(self.last_t);
        let cores = self.cores_during(bar.worker, bar.started, end);
        let cores = if cores.is_empty() {
            "— (not seen on a core)".to_string()
        } else {
            core_list(&cores)
        };
        let outcome = match &bar.result {
            None => ("State", "running".to_string()),
            Some(TaskResult::Value { value }) => ("Result", value.to_string()),
            Some(TaskResult::Error(e)) => ("Error", format!("{e} (in {})", e.location)),
        };
        vec![
            ("Task", bar.task.to_string()),
            (
                "Process",
                format!("{} (PID {pid})", self.name_of(bar.worker)),
            ),
            ("Start", format_duration(bar.started)),
            (
                "End",
                bar.finished
                    .map(format_duration)
                    .unwrap_or_else(|| "—".into()),
            ),
            ("Duration", format_duration(end - bar.started)),
            ("Core(s)", cores),
            outcome,
        ]
    }

    /// The hover panel of a process lane: (label, value) rows.
    pub fn describe_process(&self, proc: ProcId) -> Vec<(&'static str, String)> {
        use crate::layout::format_duration;
        if proc == ProcId::MAIN {
            return vec![
                ("Process", "MainProcess (the procviz server)".into()),
                ("PID", self.main_pid.to_string()),
            ];
        }
        let Some(p) = self.processes.iter().find(|p| p.proc == proc) else {
            return Vec::new();
        };
        let end = p.exited.unwrap_or(self.last_t);
        let waited = self.waited_ns(proc);
        let exit = match (p.status, p.killed_by) {
            (None, _) => "running".to_string(),
            (Some(s), by) => {
                let code = s.python_exitcode();
                match (s, by) {
                    (shared::ExitStatus::Signal { signal }, Some(by)) => {
                        let who = match by {
                            KillReason::User => "killed from the page",
                            KillReason::Cancelled => "run cancelled",
                            KillReason::ClientGone => "tab closed",
                            KillReason::ServerShutdown => "server stopped",
                            KillReason::LimitReached => "run limit reached",
                        };
                        format!("{code} ({}, {who})", shared::signal_name(signal))
                    }
                    (shared::ExitStatus::Signal { signal }, None) => {
                        format!("{code} ({})", shared::signal_name(signal))
                    }
                    _ => code.to_string(),
                }
            }
        };
        let tasks = self.index.of(proc).len();
        let mut rows = vec![
            ("Process", p.name.clone()),
            ("PID", p.pid.to_string()),
            ("Spawned", format_duration(p.spawned)),
            (
                "Exited",
                p.exited.map(format_duration).unwrap_or_else(|| "—".into()),
            ),
            ("Alive for", format_duration(end - p.spawned)),
            ("Exit code", exit),
            (
                "Core(s)",
                core_list(&self.cores_during(proc, p.spawned, end)),
            ),
            ("Allowed on", format!("{:?}", p.cpus)),
            ("Waited for a core", format_duration(waited as f64 / 1e9)),
        ];
        if let Some(ns) = p.cpu_time_ns {
            rows.push(("CPU time", format_duration(ns as f64 / 1e9)));
        }
        if tasks > 0 {
            rows.push(("Tasks", tasks.to_string()));
        }
        rows
    }

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
                    .map(|&i| self.last_t - self.tasks[i].started)
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

    /// The number of core lanes to draw: the machine's cores once the run has been sampled
    /// (or, for a run without samples yet, none).
    pub fn cores_sampled(&self) -> u32 {
        if self.core_blocks.is_empty() {
            0
        } else {
            self.cores
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
            EventKind::RunStarted {
                demo,
                title,
                cores,
                main_pid,
                ..
            } => {
                self.demo = Some((**demo).clone());
                self.title = title.clone();
                self.cores = *cores;
                self.main_pid = *main_pid;
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
            } => {
                // A task lost before it started has no bar yet: give it a zero-length one.
                if !self.index.open.contains_key(task) {
                    self.start_task(*task, *worker, t);
                }
                if let Some(&i) = self.index.open.get(task) {
                    let bar = &mut self.tasks[i];
                    bar.finished = Some(t);
                    bar.result = Some(result.clone());
                    self.index.finished(i, &self.tasks[i]);
                }
            }
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
            } => {
                let start = start.as_secs_f64();
                let span = (t - start).max(1e-9);
                self.slices += u64::from(*slices);
                let running = (*on_cpu_ns as f64 / 1e9 / span).min(1.0);
                let waiting = (*waiting_ns as f64 / 1e9 / span).min(1.0);
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
            EventKind::CoreLoad { start, cores } => {
                let start = start.as_secs_f64();
                for (core, share) in cores.iter().enumerate() {
                    let outside = f64::from(share.busy - share.run).clamp(0.0, 1.0);
                    if outside > 0.02 {
                        self.outside.push(OutsideLoad {
                            core: core as u32,
                            start,
                            end: t,
                            share: outside,
                        });
                    }
                }
            }
            _ => {}
        }
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

    fn row_mut(&mut self, proc: ProcId) -> Option<&mut ProcessRow> {
        self.processes.iter_mut().find(|p| p.proc == proc)
    }
}

/// Reads a recorded run (the NDJSON that `procviz run` writes: one event per line) fed in
/// chunks of any size, so a file of hundreds of megabytes loads without holding the page.
#[derive(Debug, Default)]
pub struct Recording {
    model: Option<RunModel>,
    carry: Vec<u8>,
    /// Events read.
    pub events: u64,
    /// Lines that were not events (skipped).
    pub bad_lines: u64,
    /// The first of them, for the message.
    pub first_problem: Option<String>,
}

impl Recording {
    /// Reads the complete lines in `bytes` (the rest waits for the next chunk).
    pub fn feed(&mut self, bytes: &[u8]) {
        // Only the new bytes are searched for the last line end: a long line costs its
        // length once, not once per chunk.
        let Some(last) = bytes.iter().rposition(|&b| b == b'\n') else {
            self.carry.extend_from_slice(bytes);
            return;
        };
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(&bytes[..=last]);
        for line in data.split(|&b| b == b'\n') {
            self.line(line);
        }
        self.carry = bytes[last + 1..].to_vec();
    }

    /// Lines that were skipped, for the user: `None` when every line was an event.
    pub fn skipped(&self) -> Option<String> {
        (self.bad_lines > 0).then(|| {
            format!(
                "{} lines of the file were not events and were skipped (first: {})",
                self.bad_lines,
                self.first_problem.as_deref().unwrap_or("?")
            )
        })
    }

    fn line(&mut self, line: &[u8]) {
        let line = line.trim_ascii();
        if line.is_empty() {
            return;
        }
        match serde_json::from_slice::<Event>(line) {
            Ok(event) => {
                self.events += 1;
                let model = self.model.get_or_insert_with(|| RunModel::new(event.run));
                model.apply(&event);
            }
            Err(e) => {
                self.bad_lines += 1;
                if self.first_problem.is_none() {
                    let shown = String::from_utf8_lossy(&line[..line.len().min(60)]).into_owned();
                    self.first_problem = Some(format!("line {:?}…: {e}", shown));
                }
            }
        }
    }

    /// The run read, once the whole file has been fed, with a note of the lines skipped; an
    /// error if it held no event.
    pub fn finish(mut self) -> Result<(RunModel, Option<String>), String> {
        let rest = std::mem::take(&mut self.carry);
        self.line(&rest);
        let skipped = self.skipped();
        match self.model {
            Some(m) => Ok((m, skipped)),
            None => Err(format!(
                "not a procviz recording: no event found ({})",
                self.first_problem
                    .unwrap_or_else(|| "the file is empty".into())
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{RunTime, TwoProcessesParams};

    fn ev(seq: u64, ms: u64, kind: EventKind) -> Event {
        Event {
            run: RunId(1),
            seq,
            t: RunTime::from_millis(ms),
            kind,
        }
    }

    fn two_process_run() -> Vec<Event> {
        vec![
            ev(
                0,
                0,
                EventKind::RunStarted {
                    demo: Box::new(DemoRequest::TwoProcesses(TwoProcessesParams::default())),
                    title: "Two processes".into(),
                    cores: 2,
                    main_pid: 10,
                    request: None,
                    schedule: Vec::new(),
                },
            ),
            ev(
                1,
                1,
                EventKind::ProcessSpawned {
                    proc: ProcId(1),
                    pid: 11,
                    name: "Process-1".into(),
                    parent: ProcId::MAIN,
                },
            ),
            ev(
                2,
                2,
                EventKind::ProcessSpawned {
                    proc: ProcId(2),
                    pid: 12,
                    name: "Process-2".into(),
                    parent: ProcId::MAIN,
                },
            ),
            ev(
                3,
                3,
                EventKind::ProcessStarted {
                    proc: ProcId(1),
                    cpus: vec![0, 1],
                },
            ),
            ev(
                4,
                4,
                EventKind::Output {
                    proc: ProcId(1),
                    stream: Stream::Stdout,
                    text: "Square: 100".into(),
                },
            ),
            ev(
                5,
                5,
                EventKind::ProcessExited {
                    proc: ProcId(1),
                    status: ExitStatus::Code { code: 0 },
                    killed_by: None,
                    cpu_time_ns: None,
                },
            ),
            ev(
                6,
                6,
                EventKind::ProcessExited {
                    proc: ProcId(2),
                    status: ExitStatus::Signal { signal: 9 },
                    killed_by: Some(KillReason::Cancelled),
                    cpu_time_ns: Some(5_000_000),
                },
            ),
            ev(
                7,
                7,
                EventKind::RunFinished {
                    outcome: RunOutcome::Completed,
                },
            ),
        ]
    }

    fn two_process_model() -> RunModel {
        let mut model = RunModel::new(RunId(1));
        for e in two_process_run() {
            model.apply(&e);
        }
        model
    }

    #[test]
    fn events_build_lanes_console_and_outcome() {
        let model = two_process_model();
        assert_eq!(model.title, "Two processes");
        assert_eq!(model.processes.len(), 2);
        let p1 = &model.processes[0];
        assert_eq!(
            (p1.pid, p1.started, p1.exited, p1.exit_code()),
            (11, Some(0.003), Some(0.005), Some(0))
        );
        assert_eq!(p1.cpus, vec![0, 1]);
        assert_eq!(model.processes[1].exit_code(), Some(-9));
        assert_eq!(model.processes[1].killed_by, Some(KillReason::Cancelled));
        assert_eq!(model.console.len(), 1);
        assert_eq!(model.name_of(ProcId(1)), "Process-1");
        assert_eq!(model.name_of(ProcId::MAIN), "MainProcess");
        assert!(model.finished());
        assert_eq!(model.last_t, 0.007);
        assert_eq!(model.gaps, 0);
    }

    #[test]
    fn replayed_events_are_ignored_and_gaps_counted() {
        let events = two_process_run();
        let mut model = RunModel::new(RunId(1));
        for e in events.iter().chain(events.iter()) {
            model.apply(e);
        }
        assert_eq!(
            model.processes.len(),
            2,
            "a re-sent snapshot must not duplicate lanes"
        );
        let mut gappy = RunModel::new(RunId(1));
        gappy.apply(&events[0]);
        gappy.apply(&events[4]);
        assert_eq!(gappy.gaps, 3);
    }

    #[test]
    fn pool_events_build_bars_results_and_core_blocks() {
        let zero = || {
            TaskResult::Error(Box::new(TaskError {
                error_type: "ZeroDivisionError".into(),
                message: "division by zero".into(),
                location: "PoolWorker-1, task 0".into(),
            }))
        };
        let mut model = RunModel::new(RunId(1));
        let events = [
            EventKind::TaskStarted {
                task: 0,
                worker: ProcId(1),
            },
            EventKind::TaskFinished {
                task: 0,
                worker: ProcId(1),
                result: zero(),
            },
            EventKind::ResultConsumed {
                index: 0,
                result: zero(),
            },
            EventKind::TaskStarted {
                task: 4,
                worker: ProcId(1),
            },
            EventKind::ThreadSegment {
                proc: ProcId(1),
                tid: 7,
                core: Some(1),
                start: shared::RunTime::from_millis(0),
                on_cpu_ns: 500_000,
                waiting_ns: 2_000,
                slices: 1,
            },
            EventKind::TaskFinished {
                task: 4,
                worker: ProcId(1),
                result: TaskResult::Value { value: 4 },
            },
        ];
        for (i, kind) in events.into_iter().enumerate() {
            model.apply(&ev(i as u64, i as u64, kind));
        }
        assert_eq!(model.tasks.len(), 2);
        assert!(model.tasks[0].error().is_some());
        assert_eq!(model.tasks[1].result, Some(TaskResult::Value { value: 4 }));
        assert_eq!(
            (model.tasks[1].started, model.tasks[1].finished),
            (0.003, Some(0.005))
        );
        assert_eq!(model.results.len(), 1);
        assert_eq!(model.results[0].index, 0);
        assert_eq!(model.core_blocks.len(), 1);
        assert_eq!(model.core_blocks[0].core, 1);
        assert!(
            (model.core_blocks[0].share - 0.125).abs() < 1e-9,
            "0.5 ms of 4 ms"
        );
        assert_eq!(model.waiting_ns, vec![(ProcId(1), 2_000)]);
    }

    #[test]
    fn the_state_at_a_moment_counts_what_ran_and_what_was_consumed() {
        let mut model = two_process_model();
        let kinds = [
            EventKind::TaskStarted {
                task: 0,
                worker: ProcId(1),
            },
            EventKind::ResultConsumed {
                index: 0,
                result: TaskResult::Value { value: 0 },
            },
            EventKind::TaskStarted {
                task: 1,
                worker: ProcId(2),
            },
        ];
        for (i, kind) in kinds.into_iter().enumerate() {
            model.apply(&ev(8 + i as u64, 8 + i as u64, kind));
        }
        let s = model.state_at(0.0095);
        assert_eq!(s.running, vec![(0, ProcId(1))]);
        assert_eq!(s.consumed, 1);
        assert_eq!(s.alive, 0, "both processes exited by then");
        assert_eq!(model.state_at(0.0045).alive, 2);
        assert_eq!(model.state_at(0.011).running.len(), 2);
        assert_eq!(
            model.state_at(0.011).describe(),
            "at 11.0 ms: 0 processes alive, tasks 0, 1 running, 1 results"
        );
    }

    #[test]
    fn a_run_cut_at_a_moment_shows_only_what_had_happened() {
        let model = two_process_model();
        let early = model.until(0.0045);
        assert_eq!(early.processes.len(), 2);
        assert_eq!(early.processes[0].exited, None, "Process-1 exits at 5 ms");
        assert_eq!(early.processes[0].started, Some(0.003));
        assert_eq!(early.processes[1].started, None);
        assert_eq!(early.console.len(), 1);
        assert!(!early.finished());
        assert_eq!(model.until(0.0015).processes.len(), 1);
        assert_eq!(model.until(1.0), model, "past the end: everything");
        assert_eq!(
            model.moments(),
            vec![0.001, 0.002, 0.003, 0.004, 0.005, 0.006]
        );
    }

    #[test]
    fn print_orders_are_tallied_most_frequent_first() {
        let model = two_process_model();
        assert_eq!(print_order(&model), "Square: 100");
        let mut tally = Tally::default();
        tally.add("b".into());
        tally.add("a".into());
        tally.add("b".into());
        assert_eq!(
            tally.counts,
            vec![("b".to_string(), 2), ("a".to_string(), 1)]
        );
        assert_eq!(tally.runs(), 3);
    }

    #[test]
    fn work_time_speedup_and_hover_rows_come_from_the_bars() {
        let mut model = two_process_model();
        let kinds = [
            EventKind::TaskStarted {
                task: 0,
                worker: ProcId(1),
            },
            EventKind::TaskStarted {
                task: 1,
                worker: ProcId(2),
            },
            EventKind::TaskFinished {
                task: 0,
                worker: ProcId(1),
                result: TaskResult::Value { value: 0 },
            },
            EventKind::TaskFinished {
                task: 1,
                worker: ProcId(2),
                result: TaskResult::Value { value: 1 },
            },
        ];
        // Tasks 0 and 1 both run from 8 to 10 ms: 4 ms of work in 10 ms.
        for (i, kind) in kinds.into_iter().enumerate() {
            model.apply(&ev(8 + i as u64, 8 + 2 * (i as u64 / 2), kind));
        }
        assert!((model.work_time() - 0.004).abs() < 1e-9);
        assert!((model.speedup() - 0.4).abs() < 1e-9);
        let rows = model.describe_task(1);
        assert_eq!(rows[0], ("Task", "1".to_string()));
        assert_eq!(rows[1], ("Process", "Process-2 (PID 12)".to_string()));
        assert_eq!(rows[4], ("Duration", "2.0 ms".to_string()));
        assert_eq!(rows[6], ("Result", "1".to_string()));
        assert_eq!(model.task_at(ProcId(1), 0.009).map(|b| b.task), Some(0));
        assert_eq!(model.task_at(ProcId(1), 0.011), None);
        let p2 = model.describe_process(ProcId(2));
        assert!(
            p2.contains(&("Exit code", "-9 (SIGKILL, run cancelled)".to_string())),
            "{p2:?}"
        );
    }

    #[test]
    fn a_process_slowed_by_time_slicing_counts_its_time_alone_as_work() {
        let mut m = two_process_model();
        // Process-1 ran 3..5 ms but waited 1.5 ms of it for the core: 0.5 ms alone.
        m.waiting_ns = vec![(ProcId(1), 1_500_000)];
        m.processes[1].started = None;
        assert!((m.work_time() - 0.0005).abs() < 1e-12, "{}", m.work_time());
        // A process whose CPU time exceeds its span (threads) counts its CPU time.
        m.processes[0].cpu_time_ns = Some(4_000_000);
        assert!((m.work_time() - 0.004).abs() < 1e-12);
    }

    #[test]
    fn load_from_outside_the_run_is_kept_per_core() {
        let mut m = RunModel::new(RunId(1));
        let share = |busy, run| shared::CoreShare { busy, run };
        m.apply(&ev(
            0,
            200,
            EventKind::CoreLoad {
                start: RunTime::from_millis(0),
                cores: vec![share(0.9, 0.4), share(0.3, 0.3)],
            },
        ));
        assert_eq!(m.outside.len(), 1, "core 1 had nothing but the run");
        assert_eq!((m.outside[0].core, m.outside[0].end), (0, 0.2));
        assert!((m.outside[0].share - 0.5).abs() < 1e-6);
    }

    #[test]
    fn blocks_of_one_core_and_interval_stack() {
        let mut m = RunModel::new(RunId(1));
        for (i, (proc, core)) in [(1, 0), (2, 0), (3, 1), (4, 0)].into_iter().enumerate() {
            m.apply(&ev(
                i as u64,
                20,
                EventKind::ThreadSegment {
                    proc: ProcId(proc),
                    tid: proc,
                    core: Some(core),
                    start: RunTime::from_millis(0),
                    on_cpu_ns: 5_000_000,
                    waiting_ns: 15_000_000,
                    slices: 2,
                },
            ));
        }
        let offsets: Vec<f64> = m.core_blocks.iter().map(|b| b.offset).collect();
        assert_eq!(offsets, vec![0.0, 0.25, 0.0, 0.5]);
    }

    #[test]
    fn a_recording_reads_the_same_whatever_the_chunk_size() {
        let text: String = two_process_run()
            .iter()
            .map(|e| serde_json::to_string(e).expect("event serializes") + "\n")
            .collect();
        let mut whole = RunModel::new(RunId(1));
        for e in two_process_run() {
            whole.apply(&e);
        }
        for chunk in [1, 7, 64, text.len()] {
            let mut rec = Recording::default();
            for part in text.as_bytes().chunks(chunk) {
                rec.feed(part);
            }
            assert_eq!(rec.events, 8);
            assert_eq!(
                rec.finish().expect("a run"),
                (whole.clone(), None),
                "chunks of {chunk}"
            );
        }
        let mut partly = Recording::default();
        partly.feed(text.as_bytes());
        partly.feed(b"not an event\n");
        let (_, note) = partly.finish().expect("a run");
        assert!(note.is_some_and(|n| n.starts_with("1 lines of the file were not events")));
        let mut bad = Recording::default();
        bad.feed(b"hello\n{\"run\":1}\n");
        assert_eq!(bad.bad_lines, 2);
        let err = bad.finish().expect_err("no event");
        assert!(err.starts_with("not a procviz recording"), "{err}");
        assert!(
            Recording::default()
                .finish()
                .is_err_and(|e| e.contains("empty"))
        );
    }

    #[test]
    fn events_of_other_runs_are_ignored() {
        let mut model = RunModel::new(RunId(2));
        for e in two_process_run() {
            model.apply(&e);
        }
        assert!(model.processes.is_empty());
    }
}
