//! [`TraceWriter`]: a run's events in, the trace's text out as they come.

use crate::Error;
use crate::sched::{self, Segment, Task};
use crate::text::{Micros, Millis, Str, comm, percent};
use shared::{
    CoreShare, DemoRequest, Event, EventKind, ExitStatus, KillReason, ProcId, RunId, RunOutcome,
    RunTime, TaskError, TaskResult,
};
use std::io::Write;

/// PID of the pseudo-process `CPUs` that holds the cores' load counters: one above the
/// highest PID Linux can give (`PID_MAX_LIMIT`, 2^22), so it never names a real process.
pub const CPUS_PID: u32 = 1 << 22;

/// What the trace says of the run itself (what `run_started` says).
#[derive(Clone, Debug, PartialEq)]
pub struct RunInfo {
    /// The run.
    pub run: RunId,
    /// Its title.
    pub title: String,
    /// The demo and its parameters (absent when unknown).
    pub demo: Option<DemoRequest>,
    /// The machine's cores.
    pub cores: u32,
    /// PID of the main process (the procviz server).
    pub main_pid: u32,
}

/// How a process ended (what `process_exited` says).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    /// Its exit status.
    pub status: ExitStatus,
    /// Who ended it, when it did not end by itself.
    pub killed_by: Option<KillReason>,
    /// CPU time it used, from the kernel.
    pub cpu_time_ns: Option<u64>,
}

/// A process of the run: its PID and name.
#[derive(Clone, Debug)]
struct Proc {
    pid: u32,
    name: String,
}

/// Writes one run's trace to `out` as its events arrive (see the crate's documentation):
/// [`TraceWriter::event`] for protocol events in `seq` order, or the typed calls
/// (`run_started`, `process_spawned`, `task`, …) for a caller that holds the run in another
/// shape; then [`TraceWriter::finish`].
pub struct TraceWriter<W: Write> {
    out: W,
    written: u64,
    run_id: Option<RunId>,
    run: Option<RunInfo>,
    sample_ms: Option<u32>,
    // Plain vectors rather than maps (a run has at most a few dozen processes and one open
    // task per worker): the page's WebAssembly is smaller for it.
    procs: Vec<(ProcId, Proc)>,
    open: Vec<(u64, RunTime, ProcId)>,
    segments: Vec<Segment>,
    threads: Vec<(u32, ProcId)>,
    last_t: RunTime,
    outcome: Option<RunOutcome>,
    unknown: u64,
    bad_lines: u64,
}

impl<W: Write> TraceWriter<W> {
    /// Starts the trace on `out` (its first bytes are written at once).
    pub fn new(mut out: W) -> Result<Self, Error> {
        out.write_all(b"{\"traceEvents\":[")?;
        Ok(TraceWriter {
            out,
            written: 0,
            run_id: None,
            run: None,
            sample_ms: None,
            procs: Vec::new(),
            open: Vec::new(),
            segments: Vec::new(),
            threads: Vec::new(),
            last_t: RunTime::ZERO,
            outcome: None,
            unknown: 0,
            bad_lines: 0,
        })
    }

    /// Takes one event of the run (events of another run than the first one seen are
    /// ignored, as the page does).
    pub fn event(&mut self, e: &Event) -> Result<(), Error> {
        if *self.run_id.get_or_insert(e.run) != e.run {
            return Ok(());
        }
        self.last_t = self.last_t.max(e.t);
        match &e.kind {
            EventKind::RunStarted(start) => self.run_started(RunInfo {
                run: e.run,
                title: start.title.clone(),
                demo: Some(start.demo.clone()),
                cores: start.cores,
                main_pid: start.main_pid,
            })?,
            EventKind::SamplerStarted { interval_ms } => self.sampler_started(*interval_ms),
            EventKind::ProcessSpawned {
                proc, pid, name, ..
            } => self.process_spawned(*proc, *pid, name)?,
            EventKind::ProcessExited {
                proc,
                status,
                killed_by,
                cpu_time_ns,
            } => self.process_exited(
                *proc,
                e.t,
                Exit {
                    status: *status,
                    killed_by: *killed_by,
                    cpu_time_ns: *cpu_time_ns,
                },
            )?,
            EventKind::TaskStarted { task, worker } => self.open.push((*task, e.t, *worker)),
            EventKind::TaskFinished {
                task,
                worker,
                result,
            } => {
                let open = self.open.iter().position(|(t, _, _)| t == task);
                let start = open.map_or(e.t, |i| self.open.remove(i).1);
                self.task(*task, *worker, start, e.t, Some(result))?;
            }
            EventKind::CallerRaised {
                error,
                lost_results,
            } => self.caller_raised(e.t, error, *lost_results)?,
            EventKind::ThreadSegment {
                proc,
                tid,
                core: Some(core),
                start,
                on_cpu_ns,
                ..
            } => self.thread_segment(
                *proc,
                Segment {
                    tid: *tid,
                    core: *core,
                    start: *start,
                    end: e.t,
                    on_cpu_ns: *on_cpu_ns,
                },
            ),
            EventKind::CoreLoad { start, cores } => self.core_load(*start, cores)?,
            EventKind::RunFinished { outcome } => self.run_finished(e.t, outcome)?,
            _ => {}
        }
        Ok(())
    }

    /// Takes one line of a recording (`procviz run`'s NDJSON): an event, or a blank or
    /// malformed line, which is skipped and counted ([`TraceWriter::bad_lines`]).
    pub fn ndjson_line(&mut self, line: &[u8]) -> Result<(), Error> {
        let line = line.trim_ascii();
        if line.is_empty() {
            return Ok(());
        }
        match serde_json::from_slice::<Event>(line) {
            Ok(event) => self.event(&event),
            Err(_) => {
                self.bad_lines += 1;
                Ok(())
            }
        }
    }

    /// The run the trace is of (the first event's), once an event was taken.
    pub fn run(&self) -> Option<RunId> {
        self.run_id
    }

    /// Lines given to [`TraceWriter::ndjson_line`] that were not events.
    pub fn bad_lines(&self) -> u64 {
        self.bad_lines
    }

    /// The run began: names the main process and the `CPUs` pseudo-process, and marks the
    /// start with the run's parameters.
    pub fn run_started(&mut self, info: RunInfo) -> Result<(), Error> {
        self.run_id.get_or_insert(info.run);
        let main = info.main_pid;
        self.add_proc(
            ProcId::MAIN,
            Proc {
                pid: main,
                name: "MainProcess".into(),
            },
        );
        self.name_process(CPUS_PID, "CPUs", 0)?;
        self.name_process(main, "MainProcess", 1)?;
        self.sep()?;
        write!(
            self.out,
            "{{\"ph\":\"i\",\"ts\":0.000,\"pid\":{main},\"tid\":{main},\"s\":\"g\",\"name\":{},\"cat\":\"run\",\"args\":{{\"run\":{},\"title\":{},\"cores\":{},\"demo\":",
            Str(&format!("run started: {}", info.title)),
            info.run.0,
            Str(&info.title),
            info.cores,
        )?;
        self.out
            .write_all(demo_json(info.demo.as_ref())?.as_bytes())?;
        write!(
            self.out,
            ",\"cpu_tracks\":\"sampled from /proc, not exact context switches (see the trace's metadata)\"}}}}"
        )?;
        self.run = Some(info);
        Ok(())
    }

    /// The sampler's interval (for the note on the CPU tracks).
    pub fn sampler_started(&mut self, interval_ms: u32) {
        self.sample_ms = Some(interval_ms);
    }

    /// A process was spawned: its name and place in the lane order.
    pub fn process_spawned(&mut self, proc: ProcId, pid: u32, name: &str) -> Result<(), Error> {
        self.add_proc(
            proc,
            Proc {
                pid,
                name: name.to_string(),
            },
        );
        self.name_process(pid, name, i64::from(proc.0) + 1)
    }

    /// A process ended: an instant on its thread, named by how it ended (and who ended it).
    pub fn process_exited(&mut self, proc: ProcId, t: RunTime, exit: Exit) -> Result<(), Error> {
        let Some(pid) = self.pid(proc) else {
            return Ok(());
        };
        let mut name = exit.status.to_string();
        if let Some(by) = exit.killed_by {
            name.push_str(&format!(": {}", killer(by)));
        }
        self.sep()?;
        write!(
            self.out,
            "{{\"ph\":\"i\",\"ts\":{},\"pid\":{pid},\"tid\":{pid},\"s\":\"t\",\"name\":{},\"cat\":\"exit\",\"args\":{{\"exitcode\":{}",
            Micros(t),
            Str(&name),
            exit.status.python_exitcode(),
        )?;
        if let Some(by) = exit.killed_by {
            write!(self.out, ",\"killed_by\":\"{}\"", wire(by))?;
        }
        if let Some(ns) = exit.cpu_time_ns {
            write!(self.out, ",\"cpu_time_ms\":{}", Millis(ns))?;
        }
        self.out.write_all(b"}}")?;
        Ok(())
    }

    /// A task ran on `worker` from `start` to `end`: a complete (`X`) event on the worker's
    /// main thread. `result` absent: the task had not finished when the run ended.
    pub fn task(
        &mut self,
        task: u64,
        worker: ProcId,
        start: RunTime,
        end: RunTime,
        result: Option<&TaskResult>,
    ) -> Result<(), Error> {
        let Some(i) = self.procs.iter().position(|(p, _)| *p == worker) else {
            self.unknown += 1;
            return Ok(());
        };
        self.sep()?;
        // The worker's name written straight from the process list (no copy per task).
        let p = &self.procs[i].1;
        write!(
            self.out,
            "{{\"ph\":\"X\",\"ts\":{},\"dur\":{},\"pid\":{pid},\"tid\":{pid},\"name\":\"task {task}\",\"cat\":\"task\",\"args\":{{\"task\":{task},\"worker\":{name}",
            Micros(start),
            Micros(end.saturating_since(start)),
            pid = p.pid,
            name = Str(&p.name),
        )?;
        match result {
            Some(TaskResult::Value { value }) => write!(self.out, ",\"result\":{value}")?,
            Some(TaskResult::Error(e)) => write_error(&mut self.out, e)?,
            Some(TaskResult::Repr { text }) => write!(self.out, ",\"result\":{}", Str(text))?,
            None => self.out.write_all(b",\"unfinished\":true")?,
        }
        self.out.write_all(b"}}")?;
        Ok(())
    }

    /// The caller's call raised (`map` with a failing task): an instant on the main process.
    pub fn caller_raised(
        &mut self,
        t: RunTime,
        error: &TaskError,
        lost_results: u64,
    ) -> Result<(), Error> {
        let Some(pid) = self.pid(ProcId::MAIN) else {
            return Ok(());
        };
        self.sep()?;
        write!(
            self.out,
            "{{\"ph\":\"i\",\"ts\":{},\"pid\":{pid},\"tid\":{pid},\"s\":\"t\",\"name\":{},\"cat\":\"pool\",\"args\":{{\"lost_results\":{lost_results}",
            Micros(t),
            Str(&format!("caller raised {}", error.error_type)),
        )?;
        write_error(&mut self.out, error)?;
        self.out.write_all(b"}}")?;
        Ok(())
    }

    /// A thread's on-CPU time over a sampled interval (kept for the CPU tracks, written by
    /// [`TraceWriter::finish`]).
    pub fn thread_segment(&mut self, proc: ProcId, segment: Segment) {
        if self.proc(proc).is_none() {
            self.unknown += 1;
            return;
        }
        if segment.on_cpu_ns > 0 {
            if !self.threads.iter().any(|(tid, _)| *tid == segment.tid) {
                self.threads.push((segment.tid, proc));
            }
            self.segments.push(segment);
        }
    }

    /// Each core's load over a window from `start`: a counter (`C`) per core on `CPUs`, busy
    /// and this run's share, in percent.
    pub fn core_load(&mut self, start: RunTime, cores: &[CoreShare]) -> Result<(), Error> {
        for (core, share) in cores.iter().enumerate() {
            self.sep()?;
            write!(
                self.out,
                "{{\"ph\":\"C\",\"ts\":{},\"pid\":{CPUS_PID},\"tid\":{CPUS_PID},\"name\":\"core {core}\",\"args\":{{\"busy %\":{},\"run %\":{}}}}}",
                Micros(start),
                percent(share.busy),
                percent(share.run),
            )?;
        }
        Ok(())
    }

    /// The run ended: an instant with its outcome.
    pub fn run_finished(&mut self, t: RunTime, outcome: &RunOutcome) -> Result<(), Error> {
        let pid = self.pid(ProcId::MAIN).unwrap_or(0);
        let name = match outcome {
            RunOutcome::Completed => "run completed".to_string(),
            RunOutcome::Cancelled { reason } => format!("run cancelled: {}", killer(*reason)),
            RunOutcome::Failed { message } => format!("run failed: {message}"),
        };
        self.sep()?;
        write!(
            self.out,
            "{{\"ph\":\"i\",\"ts\":{},\"pid\":{pid},\"tid\":{pid},\"s\":\"g\",\"name\":{},\"cat\":\"run\",\"args\":{{\"outcome\":",
            Micros(t),
            Str(&name),
        )?;
        self.out.write_all(outcome_json(Some(outcome)).as_bytes())?;
        self.out.write_all(b"}}")?;
        self.outcome = Some(outcome.clone());
        Ok(())
    }

    /// Ends the trace: tasks still open (they end with the run), the names of the threads on
    /// the CPU tracks, the ftrace text and the metadata. Returns `out`, flushed.
    pub fn finish(mut self) -> Result<W, Error> {
        // In start order (no sort: see `sched::place`).
        for (task, start, worker) in std::mem::take(&mut self.open) {
            self.task(task, worker, start, self.last_t.max(start), None)?;
        }
        let placement = sched::place(&self.segments);
        let task = |tid: u32| -> Task {
            let proc = self
                .threads
                .iter()
                .find(|(t, _)| *t == tid)
                .and_then(|(_, p)| self.proc(*p));
            match proc {
                Some(p) => Task {
                    comm: comm(&thread_name(&p.name, p.pid, tid)),
                    tgid: p.pid,
                },
                None => Task {
                    comm: "_".into(),
                    tgid: tid,
                },
            }
        };
        let lines = sched::switch_lines(&placement, task);
        // The other threads of a process (its main thread was named with it), in the order
        // they were first seen on a core.
        let mut extra: Vec<(u32, u32, String)> = Vec::new();
        for (tid, proc) in &self.threads {
            if let Some(p) = self.proc(*proc)
                && p.pid != *tid
            {
                extra.push((p.pid, *tid, thread_name(&p.name, p.pid, *tid)));
            }
        }
        for (pid, tid, name) in &extra {
            let sort = extra
                .iter()
                .filter(|(p, t, _)| p == pid && t <= tid)
                .count();
            self.name_track("thread", *pid, *tid, name, sort as i64)?;
        }
        self.out
            .write_all(b"\n],\n\"systemTraceEvents\":\"# tracer: nop\\n")?;
        for line in &lines {
            // Only characters that need no escaping (see `text::comm`).
            self.out.write_all(line.text.as_bytes())?;
            self.out.write_all(b"\\n")?;
        }
        self.out.write_all(b"\",\n\"metadata\":")?;
        self.write_metadata(placement.not_placed_us)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// The trace's metadata: the run, its parameters, its outcome, and what the CPU tracks
    /// are.
    fn write_metadata(&mut self, not_placed_us: u64) -> Result<(), Error> {
        let run = self.run.as_ref();
        let interval = self
            .sample_ms
            .map_or("every sampling interval".to_string(), |ms| {
                format!("every {ms} ms")
            });
        let note = format!(
            "sampled, not exact context switches: {interval} procviz read each thread's CPU \
             time and the core it last ran on from /proc; a thread's on-CPU time in an \
             interval is one block on that core, early in the interval"
        );
        write!(
            self.out,
            "{{\"generator\":\"procviz\",\"run\":{},\"title\":{},\"cores\":{},\"main_pid\":{},\"demo\":",
            self.run_id.map_or(0, |r| r.0),
            Str(run.map_or("", |r| r.title.as_str())),
            run.map_or(0, |r| r.cores),
            run.map_or(0, |r| r.main_pid),
        )?;
        self.out
            .write_all(demo_json(run.and_then(|r| r.demo.as_ref()))?.as_bytes())?;
        self.out.write_all(b",\"outcome\":")?;
        self.out
            .write_all(outcome_json(self.outcome.as_ref()).as_bytes())?;
        write!(
            self.out,
            ",\"cpu_tracks\":{},\"sample_interval_ms\":{},\"cpu_time_not_placed_us\":{not_placed_us},\"events_without_process\":{}}}",
            Str(&note),
            self.sample_ms
                .map_or("null".to_string(), |ms| ms.to_string()),
            self.unknown,
        )?;
        Ok(())
    }

    /// A process of the run, if it is known.
    fn proc(&self, proc: ProcId) -> Option<&Proc> {
        self.procs.iter().find(|(p, _)| *p == proc).map(|(_, p)| p)
    }

    /// Adds (or renames) a process of the run.
    fn add_proc(&mut self, proc: ProcId, p: Proc) {
        match self.procs.iter_mut().find(|(id, _)| *id == proc) {
            Some((_, known)) => *known = p,
            None => self.procs.push((proc, p)),
        }
    }

    /// The PID of a process of the run, if it is known (counted when it is not).
    fn pid(&mut self, proc: ProcId) -> Option<u32> {
        let pid = self.proc(proc).map(|p| p.pid);
        if pid.is_none() {
            self.unknown += 1;
        }
        pid
    }

    /// The separator before the next event.
    fn sep(&mut self) -> Result<(), Error> {
        self.out
            .write_all(if self.written == 0 { b"\n" } else { b",\n" })?;
        self.written += 1;
        Ok(())
    }

    /// Names a process and its main thread, with its place in the lane order.
    fn name_process(&mut self, pid: u32, name: &str, sort: i64) -> Result<(), Error> {
        self.name_track("process", pid, pid, name, sort)?;
        self.name_track("thread", pid, pid, name, 0)
    }

    /// Names a `what` (`process`, or `thread` `tid` of process `pid`) and gives its place
    /// among its peers: the two metadata (`M`) events `{what}_name` and `{what}_sort_index`.
    fn name_track(
        &mut self,
        what: &str,
        pid: u32,
        tid: u32,
        name: &str,
        sort: i64,
    ) -> Result<(), Error> {
        for (arg, value) in [
            ("name", Str(name).to_string()),
            ("sort_index", sort.to_string()),
        ] {
            self.sep()?;
            write!(
                self.out,
                "{{\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"name\":\"{what}_{arg}\",\"args\":{{\"{arg}\":{value}}}}}"
            )?;
        }
        Ok(())
    }
}

/// A thread's name: its process's for the main thread, `Process-1/12345` for another.
fn thread_name(process: &str, pid: u32, tid: u32) -> String {
    if pid == tid {
        process.to_string()
    } else {
        format!("{process}/{tid}")
    }
}

/// Who ended a process, for people.
fn killer(reason: KillReason) -> &'static str {
    match reason {
        KillReason::Cancelled => "the user cancelled the run",
        KillReason::ClientGone => "its page closed",
        KillReason::ServerShutdown => "the server shut down",
        KillReason::LimitReached => "a run limit was reached",
        KillReason::User => "the user killed it",
        KillReason::Program => "the program stopped it",
    }
}

/// A kill reason's name on the wire (`user`). Written here rather than by serde: the page's
/// WebAssembly would otherwise carry a serializer it needs nowhere else (checked against
/// serde's in the tests).
fn wire(reason: KillReason) -> &'static str {
    match reason {
        KillReason::Cancelled => "cancelled",
        KillReason::ClientGone => "client_gone",
        KillReason::ServerShutdown => "server_shutdown",
        KillReason::LimitReached => "limit_reached",
        KillReason::User => "user",
        KillReason::Program => "program",
    }
}

/// A run's outcome as on the wire (`{"type":"completed"}`), `null` when absent; see [`wire`].
fn outcome_json(outcome: Option<&RunOutcome>) -> String {
    match outcome {
        None => "null".into(),
        Some(RunOutcome::Completed) => r#"{"type":"completed"}"#.into(),
        Some(RunOutcome::Cancelled { reason }) => {
            format!(r#"{{"type":"cancelled","reason":"{}"}}"#, wire(*reason))
        }
        Some(RunOutcome::Failed { message }) => {
            format!(r#"{{"type":"failed","message":{}}}"#, Str(message))
        }
    }
}

/// The demo and its parameters as on the wire, `null` when unknown.
fn demo_json(demo: Option<&DemoRequest>) -> Result<String, Error> {
    match demo {
        None => Ok("null".into()),
        Some(d) => serde_json::to_string(d).map_err(|e| Error::Write(e.into())),
    }
}

/// An error's fields as arguments (after others: starts with a comma).
fn write_error(out: &mut impl Write, e: &TaskError) -> Result<(), Error> {
    write!(
        out,
        ",\"error_type\":{},\"message\":{},\"location\":{}",
        Str(&e.error_type),
        Str(&e.message),
        Str(&e.location),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::RunStart;

    fn ev(run: u64, seq: u64, t_ms: u64, kind: EventKind) -> Event {
        Event {
            run: RunId(run),
            seq,
            t: RunTime::from_millis(t_ms),
            kind,
        }
    }

    fn started() -> EventKind {
        EventKind::RunStarted(Box::new(RunStart {
            demo: DemoRequest::Pool(shared::PoolParams::default()),
            title: "Pool".into(),
            cores: 1,
            main_pid: 10,
            request: None,
            schedule: Vec::new(),
            interpreter: None,
            program: None,
        }))
    }

    fn trace(events: &[Event]) -> serde_json::Value {
        let out = crate::convert(events, Vec::new()).expect("written");
        serde_json::from_slice(&out).expect("JSON")
    }

    fn tasks(trace: &serde_json::Value) -> Vec<serde_json::Value> {
        trace["traceEvents"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["ph"] == "X")
            .cloned()
            .collect()
    }

    #[test]
    fn a_task_still_running_at_the_end_ends_with_the_run() {
        let t = trace(&[
            ev(1, 0, 0, started()),
            ev(
                1,
                1,
                1,
                EventKind::ProcessSpawned {
                    proc: ProcId(1),
                    pid: 11,
                    name: "PoolWorker-1".into(),
                    parent: ProcId::MAIN,
                },
            ),
            ev(
                1,
                2,
                2,
                EventKind::TaskStarted {
                    task: 3,
                    worker: ProcId(1),
                },
            ),
            ev(
                1,
                3,
                9,
                EventKind::RunFinished {
                    outcome: RunOutcome::Cancelled {
                        reason: KillReason::Cancelled,
                    },
                },
            ),
        ]);
        let x = tasks(&t);
        assert_eq!(x.len(), 1);
        assert_eq!(x[0]["ts"], 2000.0);
        assert_eq!(x[0]["dur"], 7000.0);
        assert_eq!(x[0]["args"]["unfinished"], true);
        assert_eq!(x[0]["pid"], 11);
        assert_eq!(t["metadata"]["outcome"]["type"], "cancelled");
    }

    #[test]
    fn events_of_another_run_and_unknown_processes_are_left_out_and_counted() {
        let t = trace(&[
            ev(1, 0, 0, started()),
            ev(2, 0, 0, started()),
            ev(
                1,
                1,
                2,
                EventKind::TaskFinished {
                    task: 0,
                    worker: ProcId(5),
                    result: TaskResult::Value { value: 0 },
                },
            ),
        ]);
        assert!(tasks(&t).is_empty());
        assert_eq!(t["metadata"]["run"], 1);
        assert_eq!(t["metadata"]["events_without_process"], 1);
    }

    #[test]
    fn lines_that_are_not_events_are_skipped_and_counted() {
        let mut w = TraceWriter::new(Vec::new()).expect("a trace");
        let line = serde_json::to_vec(&ev(1, 0, 0, started())).expect("JSON");
        for l in [&line[..], b"", b"  ", b"hello", b"{\"run\":1}"] {
            w.ndjson_line(l).expect("written");
        }
        assert_eq!(w.bad_lines(), 2);
        let out = w.finish().expect("finished");
        let t: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        assert_eq!(t["metadata"]["title"], "Pool");
    }

    #[test]
    fn outcomes_and_kill_reasons_are_written_as_serde_writes_them() {
        use KillReason::*;
        for reason in [
            Cancelled,
            ClientGone,
            ServerShutdown,
            LimitReached,
            User,
            Program,
        ] {
            assert_eq!(
                serde_json::to_value(reason).expect("JSON"),
                serde_json::Value::from(wire(reason))
            );
            let outcome = RunOutcome::Cancelled { reason };
            assert_eq!(
                serde_json::from_str::<RunOutcome>(&outcome_json(Some(&outcome))).expect("JSON"),
                outcome
            );
        }
        for outcome in [
            RunOutcome::Completed,
            RunOutcome::Failed {
                message: "a \"quoted\" failure".into(),
            },
        ] {
            assert_eq!(
                serde_json::from_str::<RunOutcome>(&outcome_json(Some(&outcome))).expect("JSON"),
                outcome
            );
        }
        assert_eq!(outcome_json(None), "null");
    }

    #[test]
    fn a_failing_output_is_an_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let err = TraceWriter::new(Full).err().expect("an error");
        assert_eq!(err.to_string(), "writing the trace");
    }
}
