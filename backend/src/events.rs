//! A run's events: the append-only log they are kept in and the sink their sources send them to.
//!
//! ## Theory of operation
//! Everything that happens in a run is sent, already stamped, through a bounded channel
//! ([`EventSink`]) to the run's recorder task, which numbers the events (`seq`, gap-free from
//! 0) and appends them to the [`RunLog`]. The bound means a flood of output slows the child's
//! pipe down instead of growing a queue. The log grows in chunks of [`LOG_CHUNK`] events (never
//! by copying everything) and is kept after the run: a subscriber reads it from any position
//! (position 0 = the full snapshot), so a reloaded page or a second viewer sees the whole run,
//! and a slow client only lags, it never loses events. The log keeps a running estimate of the
//! memory it holds ([`RunLog::approx_bytes`]), by which the server decides which finished runs
//! to keep, and the highest process number it has seen spawned (to refuse a kill of a process
//! that does not exist).
//!
//! This module is the bottom of the runtime: it knows the clock and the protocol, nothing of
//! processes, pools or runs.

use crate::clock::RunClock;
use shared::{DemoRequest, Event, EventKind, ProcId, RunId, RunTime, TaskError, TaskResult};
use std::mem::size_of;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The run's recorder has ended (the run is over): nothing more can be recorded.
#[derive(Debug, thiserror::Error)]
#[error("the run's recorder has ended")]
pub struct RecorderGone;

/// Events per storage chunk: the log grows chunk by chunk, never by copying everything.
pub const LOG_CHUNK: usize = 16 * 1024;

/// Batches the sink's channel holds before senders wait.
const SINK_CAPACITY: usize = 1024;

/// The append-only event log of one run.
#[derive(Debug)]
pub struct RunLog {
    run: RunId,
    inner: Mutex<LogInner>,
}

#[derive(Debug, Default)]
struct LogInner {
    chunks: Vec<Vec<Event>>,
    len: usize,
    finished: bool,
    /// Heap bytes the events own beyond their own [`size_of::<Event>()`] (see [`heap_bytes`]).
    heap: usize,
    /// The highest process number seen in a `process_spawned` (0: none yet).
    last_proc: u32,
}

impl RunLog {
    /// An empty log for run `run`.
    pub fn new(run: RunId) -> Self {
        RunLog {
            run,
            inner: Mutex::new(LogInner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogInner> {
        // Appends are single pushes: a panic elsewhere cannot leave the log half-written.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `batch` in order, numbering each event.
    pub fn append(&self, batch: Vec<(RunTime, EventKind)>) {
        let mut inner = self.lock();
        for (t, kind) in batch {
            let seq = inner.len as u64;
            if inner.chunks.last().is_none_or(|c| c.len() == LOG_CHUNK) {
                inner.chunks.push(Vec::with_capacity(LOG_CHUNK));
            }
            inner.heap += heap_bytes(&kind);
            if let EventKind::ProcessSpawned { proc, .. } = &kind {
                inner.last_proc = inner.last_proc.max(proc.0);
            }
            if let Some(chunk) = inner.chunks.last_mut() {
                chunk.push(Event {
                    run: self.run,
                    seq,
                    t,
                    kind,
                });
            }
            inner.len += 1;
        }
    }

    /// Number of events recorded.
    pub fn len(&self) -> usize {
        self.lock().len
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Up to `max` events from position `from` on, and whether the log is complete (finished
    /// and nothing after what was returned).
    pub fn read_from(&self, from: usize, max: usize) -> (Vec<Event>, bool) {
        let inner = self.lock();
        let end = inner.len.min(from.saturating_add(max));
        let mut batch = Vec::with_capacity(end.saturating_sub(from));
        let mut at = from;
        while at < end {
            let chunk = &inner.chunks[at / LOG_CHUNK];
            let offset = at % LOG_CHUNK;
            let take = (end - at).min(chunk.len() - offset);
            batch.extend_from_slice(&chunk[offset..offset + take]);
            at += take;
        }
        (batch, inner.finished && end >= inner.len)
    }

    /// Whether the run has finished.
    pub fn is_finished(&self) -> bool {
        self.lock().finished
    }

    /// Marks the log complete: nothing more will be appended, so the last chunk gives back
    /// the room it kept for more events (a small run then holds kilobytes, not a whole chunk).
    pub fn finish(&self) {
        let mut inner = self.lock();
        inner.finished = true;
        if let Some(last) = inner.chunks.last_mut() {
            last.shrink_to_fit();
        }
    }

    /// Whether process `proc` of this run has been spawned (its `process_spawned` is in the
    /// log). Children are numbered from 1 in spawn order, so this is `1 ..= last spawned`.
    pub fn has_process(&self, proc: ProcId) -> bool {
        (1..=self.last_process().0).contains(&proc.0)
    }

    /// The highest process number spawned so far ([`ProcId::MAIN`] when none).
    pub fn last_process(&self) -> ProcId {
        ProcId(self.lock().last_proc)
    }

    /// An estimate of the memory this log holds, in bytes: the room of its chunks (each
    /// [`size_of::<Event>()`] per event they can hold, 72 bytes today; a finished log's last
    /// chunk is cut to its events) plus what the events own on the heap (lines of output,
    /// names, error texts, core lists, the request: their capacity plus
    /// [`ALLOCATION_OVERHEAD`] each, see [`heap_bytes`]). A finished run of 1,000,000 tasks
    /// (about 4 million events) comes to about 290 MiB, as measured from the server's resident
    /// memory; the unit tests check the estimate against the bytes actually allocated.
    pub fn approx_bytes(&self) -> u64 {
        let inner = self.lock();
        let room: usize = inner.chunks.iter().map(Vec::capacity).sum();
        let total = size_of::<RunLog>()
            + inner.chunks.capacity() * size_of::<Vec<Event>>()
            + room * size_of::<Event>()
            + inner.heap;
        total as u64
    }
}

/// What one heap allocation costs beyond the bytes asked for (the allocator's header and
/// rounding; glibc's malloc: 8 to 16 bytes).
pub const ALLOCATION_OVERHEAD: usize = 16;

fn allocation(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        bytes + ALLOCATION_OVERHEAD
    }
}

fn vec_bytes<T>(v: &Vec<T>) -> usize {
    allocation(v.capacity() * size_of::<T>())
}

fn task_error_bytes(e: &TaskError) -> usize {
    let TaskError {
        error_type,
        message,
        location,
        traceback,
    } = e;
    allocation(size_of::<TaskError>())
        + allocation(error_type.capacity())
        + allocation(message.capacity())
        + allocation(location.capacity())
        + traceback.as_ref().map_or(0, |t| allocation(t.capacity()))
}

fn task_result_bytes(r: &TaskResult) -> usize {
    match r {
        TaskResult::Value { .. } => 0,
        TaskResult::Error(e) => task_error_bytes(e),
        TaskResult::Repr { text } => allocation(text.capacity()),
    }
}

fn demo_bytes(demo: &DemoRequest) -> usize {
    match demo {
        DemoRequest::TwoProcesses(_) => 0,
        DemoRequest::Pool(p) => {
            vec_bytes(&p.fail)
                + allocation(p.error_type.capacity())
                + allocation(p.error_message.capacity())
                + p.cores.as_ref().map_or(0, vec_bytes)
        }
        DemoRequest::Processes(p) => {
            vec_bytes(&p.names)
                + p.names
                    .iter()
                    .map(|n| allocation(n.capacity()))
                    .sum::<usize>()
                + allocation(p.print.capacity())
                + vec_bytes(&p.fail)
                + vec_bytes(&p.crash)
                + p.cores.as_ref().map_or(0, vec_bytes)
        }
        DemoRequest::Python(p) => {
            let program = match &p.program {
                shared::PythonProgram::Shipped { name } => allocation(name.capacity()),
                shared::PythonProgram::Code { source } => allocation(source.capacity()),
            };
            program
                + vec_bytes(&p.args)
                + p.args
                    .iter()
                    .map(|a| allocation(a.capacity()))
                    .sum::<usize>()
        }
    }
}

/// The heap bytes an event owns beyond its own size: the capacity of its strings and lists and
/// its boxes, plus [`ALLOCATION_OVERHEAD`] per allocation. Every variant is named, so a new one
/// is counted on purpose.
pub fn heap_bytes(kind: &EventKind) -> usize {
    match kind {
        EventKind::RunStarted(start) => {
            allocation(size_of::<shared::RunStart>())
                + allocation(start.title.capacity())
                + start
                    .request
                    .as_ref()
                    .map_or(0, |r| allocation(r.capacity()))
                + vec_bytes(&start.schedule)
                + start
                    .schedule
                    .iter()
                    .map(|s| {
                        let shared::RunAction::KillProcess { name } = &s.action;
                        allocation(name.capacity())
                    })
                    .sum::<usize>()
                + demo_bytes(&start.demo)
                + start.interpreter.as_ref().map_or(0, |i| {
                    allocation(i.name.capacity())
                        + allocation(i.version.capacity())
                        + allocation(i.executable.capacity())
                        + i.start_method
                            .as_ref()
                            .map_or(0, |m| allocation(m.capacity()))
                })
        }
        EventKind::ThreadStarted(start) => {
            allocation(size_of::<shared::ThreadStart>()) + allocation(start.name.capacity())
        }
        EventKind::ProcessSpawned { name, .. } => allocation(name.capacity()),
        EventKind::ProcessStarted { cpus, .. } => vec_bytes(cpus),
        EventKind::Output { text, .. } => allocation(text.capacity()),
        EventKind::RunFinished { outcome } => match outcome {
            shared::RunOutcome::Failed { message } => allocation(message.capacity()),
            shared::RunOutcome::Completed | shared::RunOutcome::Cancelled { .. } => 0,
        },
        EventKind::TaskFinished { result, .. } | EventKind::ResultConsumed { result, .. } => {
            task_result_bytes(result)
        }
        EventKind::CallerRaised { error, .. } => task_error_bytes(error),
        EventKind::CoreLoad { cores, .. } => vec_bytes(cores),
        EventKind::ProcessExited { .. }
        | EventKind::PoolStarted { .. }
        | EventKind::TasksQueued { .. }
        | EventKind::TaskDispatched { .. }
        | EventKind::TaskStarted { .. }
        | EventKind::WorkerReplaced { .. }
        | EventKind::PoolClosed
        | EventKind::PoolTerminated { .. }
        | EventKind::SamplerStarted { .. }
        | EventKind::ThreadSegment { .. }
        | EventKind::OutputDropped { .. }
        | EventKind::ThreadEnded { .. } => 0,
    }
}

/// Where a run's event sources send what happened: to the run's recorder, through a bounded
/// channel (a flood of output slows the child's pipe down instead of growing a queue).
#[derive(Clone, Debug)]
pub struct EventSink {
    clock: RunClock,
    tx: mpsc::Sender<Vec<(RunTime, EventKind)>>,
}

/// The task that appends what the sinks send to the log; it ends when every sink is dropped.
#[derive(Debug)]
pub struct Recorder(JoinHandle<()>);

impl Recorder {
    /// Starts recording into `log`; events are stamped with `clock`'s run time.
    pub fn start(clock: RunClock, log: Arc<RunLog>) -> (EventSink, Recorder) {
        let (tx, mut rx) = mpsc::channel::<Vec<(RunTime, EventKind)>>(SINK_CAPACITY);
        let task = tokio::spawn(async move {
            while let Some(batch) = rx.recv().await {
                log.append(batch);
            }
        });
        (EventSink { clock, tx }, Recorder(task))
    }

    /// Waits until everything sent before the last sink was dropped is in the log.
    pub async fn finished(self) -> Result<(), tokio::task::JoinError> {
        self.0.await
    }
}

impl EventSink {
    /// The run's clock.
    pub fn clock(&self) -> RunClock {
        self.clock
    }

    /// Records an event that happened at `t`.
    pub async fn emit(&self, t: RunTime, kind: EventKind) {
        self.emit_batch(vec![(t, kind)]).await;
    }

    /// Records several events at once from a plain (non-async) thread; fails when the run's
    /// recorder is gone.
    pub fn emit_batch_blocking(
        &self,
        batch: Vec<(RunTime, EventKind)>,
    ) -> Result<(), RecorderGone> {
        if batch.is_empty() {
            return Ok(());
        }
        self.tx.blocking_send(batch).map_err(|_| RecorderGone)
    }

    /// Records several events at once, in this order.
    pub async fn emit_batch(&self, batch: Vec<(RunTime, EventKind)>) {
        if batch.is_empty() {
            return;
        }
        // The recorder lives until every sink is dropped, so this only fails if it panicked.
        if self.tx.send(batch).await.is_err() {
            tracing::error!("the run's recorder is gone; events were lost");
        }
    }

    /// Records an event that happens now.
    pub async fn emit_now(&self, kind: EventKind) {
        self.emit(self.clock.now(), kind).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_reads_back_across_chunks_in_order() {
        let log = RunLog::new(RunId(1));
        let n = LOG_CHUNK * 2 + 10;
        log.append(
            (0..n)
                .map(|i| (RunTime(i as u64), EventKind::PoolClosed))
                .collect(),
        );
        assert_eq!(log.len(), n);
        let (batch, complete) = log.read_from(LOG_CHUNK - 5, 20);
        assert_eq!(batch.len(), 20);
        assert!(!complete);
        assert!(
            batch
                .iter()
                .enumerate()
                .all(|(i, e)| e.seq == (LOG_CHUNK - 5 + i) as u64)
        );
        let (all, _) = log.read_from(0, usize::MAX);
        assert_eq!(all.len(), n);
        assert!(
            all.iter()
                .enumerate()
                .all(|(i, e)| e.seq == i as u64 && e.t == RunTime(i as u64))
        );
        log.finish();
        let (tail, complete) = log.read_from(n - 3, 100);
        assert_eq!(tail.len(), 3);
        assert!(complete);
        assert_eq!(log.read_from(n + 5, 10).0.len(), 0);
    }

    /// Counts the bytes live on the heap, per thread (tests run in parallel; what one test
    /// allocates and frees on its own thread is its own).
    mod counting {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        thread_local! {
            static LIVE: Cell<isize> = const { Cell::new(0) };
        }

        fn add(bytes: isize) {
            // A thread being torn down has no counter any more: nothing to count there.
            if LIVE.try_with(|c| c.set(c.get() + bytes)).is_err() {}
        }

        /// Bytes allocated minus bytes freed on this thread so far.
        pub fn live() -> isize {
            LIVE.with(Cell::get)
        }

        pub struct Counting;

        // SAFETY: every call is passed on to the system allocator unchanged.
        unsafe impl GlobalAlloc for Counting {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                add(layout.size() as isize);
                unsafe { System.alloc(layout) }
            }
            unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
                add(layout.size() as isize);
                unsafe { System.alloc_zeroed(layout) }
            }
            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                add(-(layout.size() as isize));
                unsafe { System.dealloc(ptr, layout) }
            }
            unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
                add(new_size as isize - layout.size() as isize);
                unsafe { System.realloc(ptr, layout, new_size) }
            }
        }
    }

    #[global_allocator]
    static ALLOCATOR: counting::Counting = counting::Counting;

    /// The events of a pool task the way a big run records them: dispatched, started, finished,
    /// consumed; every 50th task fails, every 10th prints a line.
    fn pool_task(n: u64) -> Vec<(RunTime, EventKind)> {
        let worker = ProcId(1 + (n % 4) as u32);
        let result = if n.is_multiple_of(50) {
            TaskResult::Error(Box::new(TaskError {
                error_type: "ZeroDivisionError".into(),
                message: "division by zero".into(),
                location: format!("PoolWorker-{}, task {n}, step 2 (fail)", worker.0),
                traceback: None,
            }))
        } else {
            TaskResult::Value { value: n as i64 }
        };
        let mut events = vec![
            EventKind::TaskDispatched {
                first: n,
                count: 1,
                worker,
            },
            EventKind::TaskStarted { task: n, worker },
            EventKind::TaskFinished {
                task: n,
                worker,
                result: result.clone(),
            },
            EventKind::ResultConsumed { index: n, result },
        ];
        if n.is_multiple_of(10) {
            events.push(EventKind::Output {
                proc: worker,
                stream: shared::Stream::Stdout,
                text: format!(
                    "Process PoolWorker-{} started working on task {n}",
                    worker.0
                ),
            });
        }
        events.into_iter().map(|k| (RunTime(n), k)).collect()
    }

    #[test]
    fn the_size_estimate_is_close_to_what_the_log_holds() {
        let before = counting::live();
        let log = RunLog::new(RunId(1));
        let mut estimates = vec![log.approx_bytes()];
        for block in 0..20u64 {
            let batch = (block * 5_000..(block + 1) * 5_000)
                .flat_map(pool_task)
                .collect();
            log.append(batch);
            estimates.push(log.approx_bytes());
        }
        log.finish();
        let estimate = log.approx_bytes() as f64;
        let measured = (counting::live() - before) as f64;
        let ratio = estimate / measured;
        assert!(
            (0.9..=1.3).contains(&ratio),
            "estimated {estimate} bytes, measured {measured} ({ratio:.2}×)"
        );
        assert!(
            estimates.windows(2).all(|w| w[0] < w[1]),
            "the estimate grows with the log: {estimates:?}"
        );
        // About 290 MiB were measured (resident memory) for a finished run of a million
        // tasks; 100,000 such tasks come to a tenth of that, give or take.
        let per_task = estimate / 100_000.0;
        assert!(
            (250.0..=400.0).contains(&per_task),
            "{per_task} bytes a task"
        );
        drop(log);
        assert!(
            counting::live() - before < 1024,
            "the counter sees the log's memory given back"
        );
    }

    #[test]
    fn a_finished_small_log_gives_back_its_chunk_and_knows_its_processes() {
        let log = RunLog::new(RunId(2));
        let spawned = |proc| EventKind::ProcessSpawned {
            proc: ProcId(proc),
            pid: 100 + proc,
            name: format!("Process-{proc}"),
            parent: ProcId::MAIN,
        };
        assert!(!log.has_process(ProcId(1)));
        log.append(vec![(RunTime(1), spawned(1)), (RunTime(2), spawned(2))]);
        let open = log.approx_bytes();
        assert!(open as usize >= LOG_CHUNK * size_of::<Event>(), "{open}");
        log.finish();
        let closed = log.approx_bytes();
        assert!(
            closed < 4096,
            "two events hold {closed} bytes once finished"
        );
        assert_eq!(log.last_process(), ProcId(2));
        assert!(log.has_process(ProcId(1)) && log.has_process(ProcId(2)));
        assert!(!log.has_process(ProcId(3)));
        assert!(
            !log.has_process(ProcId::MAIN),
            "the main process is not a child"
        );
    }

    #[tokio::test]
    async fn what_the_sinks_send_is_in_the_log_once_the_recorder_finished() {
        let log = Arc::new(RunLog::new(RunId(7)));
        let (sink, recorder) = Recorder::start(RunClock::start_now(), log.clone());
        let other = sink.clone();
        sink.emit(RunTime(5), EventKind::PoolClosed).await;
        let blocking = std::thread::spawn(move || {
            other.emit_batch_blocking(vec![(RunTime(6), EventKind::PoolClosed)])
        });
        assert!(blocking.join().is_ok_and(|sent| sent.is_ok()));
        sink.emit_batch(Vec::new()).await;
        drop(sink);
        assert!(recorder.finished().await.is_ok());
        let (events, complete) = log.read_from(0, 10);
        assert!(!complete, "only the run finishes the log");
        let times: Vec<RunTime> = events.iter().map(|e| e.t).collect();
        assert_eq!(times, [RunTime(5), RunTime(6)]);
        assert!(events.iter().all(|e| e.run == RunId(7)));
    }
}
