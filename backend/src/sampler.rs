//! The per-core sampler: where and when each thread of a run ran, read from the kernel.
//!
//! ## Theory of operation
//! One thread per run wakes on a fixed schedule (`start + k × interval`, so it does not drift)
//! and, for every thread of every live process of the run, reads
//! `/proc/<pid>/task/<tid>/stat` (the core it last ran on) and `/proc/<pid>/task/<tid>/schedstat`
//! (nanoseconds on a CPU, nanoseconds runnable but waiting, time slices) with the `procfs`
//! crate. The difference from the previous sample is that interval's story: `on_cpu_ns` on the
//! core it last ran on, `waiting_ns` waiting for a core, the rest asleep. Intervals spent
//! fully running on one core, or fully asleep, are merged into one segment; anything else is
//! a segment of its own. Every tenth interval it also reads `/proc/stat` for each core's total
//! load, so load from outside the run is visible.
//!
//! ## Limits of the method
//! - It sees the core a thread was on when sampled, not every migration inside an interval:
//!   a thread that moved between cores within one interval is drawn on the last one.
//! - The CPU time between a process's last sample and its exit is not sampled (at most one
//!   interval per process); `process_exited.cpu_time_ns` has the kernel's exact total.
//! - When exactly within an interval a thread ran is unknown; only how long.

use crate::clock::{RunClock, monotonic_ns};
use crate::events::EventSink;
use procfs::process::{Process, Schedstat, Stat};
use procfs::{CurrentSI, FromRead};
use shared::{CoreShare, EventKind, ProcId, RunTime};
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::mpsc;
use std::time::Duration;

/// The default sampling interval: 64 sampled processes cost about 1.8 % of one core at 20 ms
/// and 3.6 % at 10 ms (docs/BENCHMARKS.md), so 20 ms keeps within the 2 % budget.
pub const DEFAULT_INTERVAL_MS: u32 = 20;
/// The accepted range of intervals.
pub const INTERVAL_RANGE_MS: std::ops::RangeInclusive<u32> = 1..=100;
/// A thread on a CPU for at least this share of an interval counts as fully running.
const FULL: f64 = 0.95;
/// Intervals per core-load window, and between looks for new threads.
const LOAD_EVERY: u32 = 10;

/// A thread's kernel counters.
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    on_cpu_ns: u64,
    waiting_ns: u64,
    slices: u64,
}

/// What one interval was, for merging.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Running(u32),
    Asleep,
    Mixed,
}

#[derive(Debug)]
struct Open {
    kind: Kind,
    core: Option<u32>,
    start_ns: u64,
    on_cpu_ns: u64,
    waiting_ns: u64,
    slices: u64,
}

struct Thread {
    proc: ProcId,
    tid: u32,
    /// Kept open: a sample is one `pread` each (the kernel regenerates the text at offset 0).
    schedstat: File,
    stat: File,
    last: Counters,
    last_ns: u64,
    open: Option<Open>,
}

struct Watched {
    proc: ProcId,
    process: Process,
}

/// Commands to the sampler thread.
enum Command {
    Watch(ProcId, u32),
    Stop,
}

/// A running sampler; stop it to flush its last segments.
pub struct Sampler {
    tx: mpsc::Sender<Command>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler").finish_non_exhaustive()
    }
}

impl Sampler {
    /// Starts sampling every `interval`; segments go to `sink`.
    pub fn start(interval: Duration, sink: EventSink) -> std::io::Result<Sampler> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("procviz-sampler".into())
            .spawn(move || run(interval, sink, rx))?;
        Ok(Sampler {
            tx,
            thread: Some(thread),
        })
    }

    /// Starts sampling process `pid` (all its threads) as `proc`.
    pub fn watch(&self, proc: ProcId, pid: u32) {
        if self.tx.send(Command::Watch(proc, pid)).is_err() {
            tracing::warn!(?proc, "the sampler has stopped");
        }
    }

    /// Takes a last sample, emits every open segment, and waits for the thread.
    pub async fn stop(mut self) {
        // The thread may have ended already (its sink closed); then there is nothing to flush.
        let _stopping = self.tx.send(Command::Stop);
        if let Some(thread) = self.thread.take() {
            let joined = tokio::task::spawn_blocking(move || thread.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("the sampler thread failed");
            }
        }
    }
}

struct State {
    clock: RunClock,
    buf: Vec<u8>,
    ticks: u32,
    interval_ns: u64,
    watched: Vec<Watched>,
    threads: HashMap<u32, Thread>,
    out: Vec<(RunTime, EventKind)>,
    cores: usize,
    /// On-CPU nanoseconds of the run per core in the current load window.
    run_ns: Vec<u64>,
    load_start_ns: u64,
    load_prev: Option<Vec<(u64, u64)>>,
}

fn run(interval: Duration, sink: EventSink, rx: mpsc::Receiver<Command>) {
    let clock = sink.clock();
    let cores = crate::host::online_cores() as usize;
    let mut state = State {
        clock,
        buf: Vec::with_capacity(4096),
        ticks: 0,
        interval_ns: interval.as_nanos() as u64,
        watched: Vec::new(),
        threads: HashMap::new(),
        out: Vec::new(),
        cores,
        run_ns: vec![0; cores],
        load_start_ns: monotonic_ns(),
        load_prev: core_ticks(),
    };
    let start = std::time::Instant::now();
    let mut tick: u32 = 0;
    loop {
        tick += 1;
        let next = start + interval * tick;
        let mut stop = false;
        // Wait for the next tick, taking registrations meanwhile.
        loop {
            let now = std::time::Instant::now();
            if now >= next {
                break;
            }
            match rx.recv_timeout(next - now) {
                Ok(Command::Watch(proc, pid)) => state.watch(proc, pid),
                Ok(Command::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    stop = true;
                    break;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => break,
            }
        }
        state.sample();
        if tick.is_multiple_of(LOAD_EVERY) || stop {
            state.core_load();
        }
        if stop {
            state.flush_all();
        }
        if !state.out.is_empty() {
            let batch = std::mem::take(&mut state.out);
            if sink.emit_batch_blocking(batch).is_err() {
                return;
            }
        }
        if stop {
            return;
        }
    }
}

/// Per core: (busy ticks, total ticks) from `/proc/stat`.
fn core_ticks() -> Option<Vec<(u64, u64)>> {
    let stats = procfs::KernelStats::current().ok()?;
    Some(
        stats
            .cpu_time
            .iter()
            .map(|c| {
                let idle = c.idle + c.iowait.unwrap_or(0);
                let busy = c.user
                    + c.nice
                    + c.system
                    + c.irq.unwrap_or(0)
                    + c.softirq.unwrap_or(0)
                    + c.steal.unwrap_or(0);
                (busy, busy + idle)
            })
            .collect(),
    )
}

/// Reads one `/proc` file at offset 0 into `buf` and parses it with procfs.
fn read_at<T: FromRead>(file: &File, buf: &mut Vec<u8>) -> Option<T> {
    buf.resize(4096, 0);
    let n = file.read_at(buf, 0).ok()?;
    if n == 0 {
        return None;
    }
    T::from_read(&buf[..n]).ok()
}

fn counters(thread: &Thread, buf: &mut Vec<u8>) -> Option<Counters> {
    let sched: Schedstat = read_at(&thread.schedstat, buf)?;
    Some(Counters {
        on_cpu_ns: sched.sum_exec_runtime,
        waiting_ns: sched.run_delay,
        slices: sched.pcount,
    })
}

/// The core a thread last ran on (from its `stat`).
fn last_core(thread: &Thread, buf: &mut Vec<u8>) -> Option<u32> {
    let stat: Stat = read_at(&thread.stat, buf)?;
    stat.processor.and_then(|p| u32::try_from(p).ok())
}

impl State {
    fn watch(&mut self, proc: ProcId, pid: u32) {
        match Process::new(pid as i32) {
            Ok(process) => {
                self.watched.push(Watched { proc, process });
                self.discover(monotonic_ns().saturating_sub(self.interval_ns));
            }
            // Already gone: nothing to sample.
            Err(e) => tracing::debug!(?proc, pid, error = %e, "process gone before sampling"),
        }
    }

    /// Looks for threads not yet sampled. A new thread's counters started at zero after
    /// `since`, so its first interval starts there.
    fn discover(&mut self, since: u64) {
        self.watched
            .retain(|w| std::path::Path::new(&format!("/proc/{}", w.process.pid)).exists());
        for w in &self.watched {
            let Ok(tasks) = w.process.tasks() else {
                continue;
            };
            for task in tasks.flatten() {
                let tid = task.tid as u32;
                if self.threads.contains_key(&tid) {
                    continue;
                }
                let dir = format!("/proc/{}/task/{}", task.pid, task.tid);
                let (Ok(schedstat), Ok(stat)) = (
                    File::open(format!("{dir}/schedstat")),
                    File::open(format!("{dir}/stat")),
                ) else {
                    continue;
                };
                self.threads.insert(
                    tid,
                    Thread {
                        proc: w.proc,
                        tid,
                        schedstat,
                        stat,
                        last: Counters::default(),
                        last_ns: since,
                        open: None,
                    },
                );
            }
        }
    }

    /// Reads every thread once and turns the differences into segments.
    fn sample(&mut self) {
        let now_ns = monotonic_ns();
        self.ticks += 1;
        if self.ticks.is_multiple_of(LOAD_EVERY) {
            self.discover(now_ns.saturating_sub(self.interval_ns * u64::from(LOAD_EVERY)));
        }
        let mut gone = Vec::new();
        for (tid, thread) in self.threads.iter_mut() {
            let Some(now) = counters(thread, &mut self.buf) else {
                gone.push(*tid);
                continue;
            };
            // Where it ran matters only if it ran (reading `stat` costs three times more).
            let core = if now.on_cpu_ns > thread.last.on_cpu_ns {
                last_core(thread, &mut self.buf)
            } else {
                None
            };
            let span = now_ns.saturating_sub(thread.last_ns).max(1);
            let on = now.on_cpu_ns.saturating_sub(thread.last.on_cpu_ns);
            let waiting = now.waiting_ns.saturating_sub(thread.last.waiting_ns);
            let slices = now.slices.saturating_sub(thread.last.slices);
            let kind = if on == 0 && waiting == 0 {
                Kind::Asleep
            } else if waiting == 0 && on as f64 >= FULL * span as f64 {
                Kind::Running(core.unwrap_or(0))
            } else {
                Kind::Mixed
            };
            if let (Some(c), true) = (core, on > 0)
                && let Some(slot) = self.run_ns.get_mut(c as usize)
            {
                *slot += on;
            }
            let merge = matches!(&thread.open, Some(o) if o.kind == kind && kind != Kind::Mixed);
            if merge {
                if let Some(o) = thread.open.as_mut() {
                    o.on_cpu_ns += on;
                    o.waiting_ns += waiting;
                    o.slices += slices;
                }
            } else {
                self.out.extend(thread.close(self.clock));
                thread.open = Some(Open {
                    kind,
                    core: if on > 0 { core } else { None },
                    start_ns: thread.last_ns,
                    on_cpu_ns: on,
                    waiting_ns: waiting,
                    slices,
                });
            }
            thread.last = now;
            thread.last_ns = now_ns;
        }
        for tid in gone {
            if let Some(mut thread) = self.threads.remove(&tid) {
                self.out.extend(thread.close(self.clock));
            }
        }
    }

    fn flush_all(&mut self) {
        for thread in self.threads.values_mut() {
            self.out.extend(thread.close(self.clock));
        }
    }

    fn core_load(&mut self) {
        let now_ns = monotonic_ns();
        let window = now_ns.saturating_sub(self.load_start_ns).max(1);
        let ticks = core_ticks();
        let busy: Vec<f32> = match (&self.load_prev, &ticks) {
            (Some(a), Some(b)) => a
                .iter()
                .zip(b)
                .map(|((busy0, total0), (busy1, total1))| {
                    let total = total1.saturating_sub(*total0);
                    if total == 0 {
                        0.0
                    } else {
                        (busy1.saturating_sub(*busy0) as f32 / total as f32).min(1.0)
                    }
                })
                .collect(),
            _ => vec![0.0; self.cores],
        };
        let run: Vec<f32> = self
            .run_ns
            .iter()
            .map(|&ns| (ns as f64 / window as f64).min(1.0) as f32)
            .collect();
        let cores = busy
            .into_iter()
            .zip(run)
            .map(|(busy, run)| CoreShare { busy, run })
            .collect();
        self.out.push((
            self.clock.at(now_ns),
            EventKind::CoreLoad {
                start: self.clock.at(self.load_start_ns),
                cores,
            },
        ));
        self.run_ns.iter_mut().for_each(|n| *n = 0);
        self.load_start_ns = now_ns;
        self.load_prev = ticks;
    }
}

impl Thread {
    /// Ends its open segment (at its last sample) and returns it as an event.
    fn close(&mut self, clock: RunClock) -> Option<(RunTime, EventKind)> {
        let open = self.open.take()?;
        Some((
            clock.at(self.last_ns),
            EventKind::ThreadSegment {
                proc: self.proc,
                tid: self.tid,
                core: open.core,
                start: clock.at(open.start_ns),
                on_cpu_ns: open.on_cpu_ns,
                waiting_ns: open.waiting_ns,
                slices: open.slices.min(u64::from(u32::MAX)) as u32,
            },
        ))
    }
}
