//! Native tests of the run model: events in, lanes, bars, results, cuts and recordings out.

use super::*;
use shared::{
    DemoRequest, Event, EventKind, ExitStatus, KillReason, ProcId, RunId, RunOutcome, Stream,
    TaskError, TaskResult,
};
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
            EventKind::RunStarted(Box::new(shared::RunStart {
                demo: DemoRequest::TwoProcesses(TwoProcessesParams::default()),
                title: "Two processes".into(),
                cores: 2,
                main_pid: 10,
                request: None,
                schedule: Vec::new(),
                interpreter: None,
                program: None,
            })),
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
            traceback: None,
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
    assert_eq!(model.index, super::tasks::TaskIndex::build(&model.tasks));
    let (_, span) = model.index.spans_of(ProcId(1), model.last_t);
    assert_eq!((span(0), span(1)), ((0.0, 0.001), (0.003, 0.005)));
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
fn a_pool_run_cut_mid_task_reopens_its_bars_and_hides_later_results() {
    let mut m = RunModel::new(RunId(1));
    let t = |ms| RunTime::from_millis(ms);
    let events = [
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
        EventKind::ResultConsumed {
            index: 0,
            result: TaskResult::Value { value: 0 },
        },
        EventKind::TaskFinished {
            task: 1,
            worker: ProcId(2),
            result: TaskResult::Value { value: 1 },
        },
    ];
    for (seq, kind) in events.into_iter().enumerate() {
        m.apply(&Event {
            run: RunId(1),
            seq: seq as u64,
            t: t(10 * (seq as u64 + 1)),
            kind,
        });
    }
    let cut = m.until(0.035);
    assert_eq!(cut.tasks.len(), 2);
    assert_eq!(cut.tasks[0].finished, Some(0.03));
    assert_eq!(
        (cut.tasks[1].finished, cut.tasks[1].result.clone()),
        (None, None)
    );
    assert_eq!(
        cut.index.open.get(&1).map(|o| o.bar),
        Some(1),
        "task 1 is open again"
    );
    // Each worker's spans, kept as events arrive, as the whole index would have them.
    let (list, span) = m.index.spans_of(ProcId(2), m.last_t);
    assert_eq!((list, span(0)), (&[1][..], (0.02, 0.05)));
    let (_, open) = cut.index.spans_of(ProcId(2), 0.035);
    assert_eq!(open(0), (0.02, 0.035), "a bar still running ends now");
    assert_eq!(cut.index, super::tasks::TaskIndex::build(&cut.tasks));
    assert_eq!(m.index, super::tasks::TaskIndex::build(&m.tasks));
    assert_eq!(cut.results.len(), 0, "the result was consumed at 40 ms");
    assert_eq!(m.until(0.045).results.len(), 1);
    assert_eq!(m.until(0.015).tasks.len(), 1);
}

#[test]
fn a_recording_is_never_on_the_server_and_any_live_run_replaces_it() {
    let mut m = two_process_model();
    assert!(m.source.on_server() && m.source.replaced_by(m.run, RunId(2)));
    assert!(
        !m.source.replaced_by(m.run, RunId(1)),
        "the same run is not newer"
    );
    m.source = Source::Recording {
        file: "run.ndjson".into(),
    };
    m.outcome = None;
    assert!(
        !m.is_live(),
        "a recording cut off before its end is not live"
    );
    assert!(
        m.source.replaced_by(m.run, RunId(1)),
        "any live run replaces a recording"
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
    let outside: Vec<_> = m.outside().collect();
    assert_eq!(outside.len(), 1, "core 1 had nothing but the run");
    assert_eq!((outside[0].core, outside[0].end), (0, 0.2));
    assert!((outside[0].share - 0.5).abs() < 1e-6);
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

/// Process 1 (PID 11): its main thread sleeps over 0–20 ms and runs 2 ms of 20–40 ms;
/// thread 12 (named by the program at 5 ms) runs half of both intervals; thread 13 runs all
/// of 0–20 ms and ends at 30 ms; thread 14 only sleeps. Process 2 (PID 21) has one thread.
fn threaded_run() -> RunModel {
    let mut m = RunModel::new(RunId(1));
    let mut seq = 0;
    let mut push = |m: &mut RunModel, ms: u64, kind: EventKind| {
        m.apply(&ev(seq, ms, kind));
        seq += 1;
    };
    for (proc, pid) in [(1, 11), (2, 21)] {
        push(
            &mut m,
            0,
            EventKind::ProcessSpawned {
                proc: ProcId(proc),
                pid,
                name: format!("Process-{proc}"),
                parent: ProcId::MAIN,
            },
        );
    }
    push(
        &mut m,
        5,
        EventKind::ThreadStarted(Box::new(shared::ThreadStart {
            proc: ProcId(1),
            tid: 12,
            name: "Thread-1 (burn_cpu)".into(),
        })),
    );
    let segment = |proc, tid, from: u64, on_ms: u64| EventKind::ThreadSegment {
        proc: ProcId(proc),
        tid,
        core: (on_ms > 0).then_some(tid % 2),
        start: RunTime::from_millis(from),
        on_cpu_ns: on_ms * 1_000_000,
        waiting_ns: 0,
        slices: 1,
    };
    for (tid, on) in [(14, 0), (13, 20), (12, 10), (11, 0)] {
        push(&mut m, 20, segment(1, tid, 0, on));
    }
    push(&mut m, 20, segment(2, 21, 0, 20));
    push(
        &mut m,
        30,
        EventKind::ThreadEnded {
            proc: ProcId(1),
            tid: 13,
        },
    );
    for (tid, on) in [(14, 0), (12, 10), (11, 2)] {
        push(&mut m, 40, segment(1, tid, 20, on));
    }
    m
}

#[test]
fn each_thread_keeps_its_own_strip_and_name() {
    let m = threaded_run();
    let tids: Vec<u32> = m.threads_of(ProcId(1)).iter().map(|t| t.tid).collect();
    assert_eq!(tids, vec![11, 12, 13, 14], "sorted by thread ID");
    let ran: Vec<String> = ran_in_order(m.threads_of(ProcId(1)), 11)
        .iter()
        .map(|t| t.name(11))
        .collect();
    assert_eq!(
        ran,
        ["MainThread", "Thread-1 (burn_cpu)", "thread 13"],
        "14 only slept"
    );
    assert_eq!(m.threads_of(ProcId(2)).len(), 1);
    assert!(m.threads_of(ProcId(3)).is_empty());
    let t12 = &m.threads_of(ProcId(1))[1];
    assert_eq!(t12.slices.len(), 2);
    assert!((t12.on_cpu() - 0.02).abs() < 1e-9);
    match t12.state_at(0.025) {
        ThreadState::Sampled(s) => {
            assert_eq!((s.start, s.end, s.core), (0.02, 0.04, Some(0)));
            assert!((s.running - 0.5).abs() < 1e-9 && s.waiting == 0.0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t12.state_at(0.05), ThreadState::Unknown);
    let t13 = &m.threads_of(ProcId(1))[2];
    assert_eq!(t13.ended, Some(0.03));
    // The process's strip still averages its threads.
    assert_eq!(
        m.state_blocks
            .iter()
            .filter(|b| b.proc == ProcId(1))
            .count(),
        2
    );
}

#[test]
fn a_replay_cut_says_what_each_thread_was_then() {
    let m = threaded_run();
    let early = m.until(0.003);
    let threads = early.threads_of(ProcId(1));
    assert_eq!(
        threads.len(),
        4,
        "each seen from its first interval's start"
    );
    let t12 = &threads[1];
    assert_eq!(t12.named, None, "named at 5 ms");
    assert_eq!(t12.ran, Some(0.0));
    assert_eq!(t12.slices[0].end, 0.003);
    let main = &threads[0];
    assert_eq!(main.ran, None, "the main thread ran only after 20 ms");
    assert_eq!(ran_in_order(threads, 11).len(), 2);
    let later = m.until(0.025);
    assert_eq!(
        later.threads_of(ProcId(1))[2].ended,
        None,
        "13 ended at 30 ms"
    );
    assert_eq!(ran_in_order(later.threads_of(ProcId(1)), 11).len(), 3);
    assert_eq!(m.until(1.0), m);
}
