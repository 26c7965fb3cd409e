//! The pool's semantics, API by API, on real worker processes (through `procviz run`).

use shared::{Event, EventKind, ProcId, RunOutcome, TaskResult};
use std::collections::HashMap;
use testkit::*;

fn consumed(events: &[Event]) -> Vec<(u64, TaskResult, f64)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ResultConsumed { index, result } => Some((*index, result.clone(), secs(e))),
            _ => None,
        })
        .collect()
}

fn started(events: &[Event]) -> HashMap<u64, (ProcId, f64)> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::TaskStarted { task, worker } => Some((task, (worker, secs(e)))),
            _ => None,
        })
        .collect()
}

fn finished_at(events: &[Event], task: u64) -> f64 {
    events
        .iter()
        .find(|e| matches!(e.kind, EventKind::TaskFinished { task: t, .. } if t == task))
        .map(secs)
        .unwrap_or_else(|| panic!("task {task} never finished"))
}

fn value(v: i64) -> TaskResult {
    TaskResult::Value { value: v }
}

fn is_zero_division(r: &TaskResult) -> bool {
    matches!(r, TaskResult::Error(e) if e.error_type == "ZeroDivisionError" && e.message == "division by zero")
}

fn names(events: &[Event]) -> HashMap<ProcId, String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ProcessSpawned { proc, name, .. } => Some((*proc, name.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_seed_imap_demo_behaves_like_python() {
    let (events, summary, code) = run_cli(&["pool"]);
    assert_eq!(code, 0, "{summary}");
    assert!(
        summary.contains(
            "result list: [ZeroDivisionError: division by zero, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
        ),
        "{summary}"
    );

    // The result list, in the order the caller consumed it.
    let results = consumed(&events);
    assert_eq!(results.len(), 10);
    assert!(is_zero_division(&results[0].1));
    for (i, (index, result, _)) in results.iter().enumerate() {
        assert_eq!(*index, i as u64);
        if i > 0 {
            assert_eq!(*result, value(i as i64));
        }
    }

    // Total 2.9–3.3 s.
    let total = secs(events.last().unwrap());
    assert!((2.9..=3.3).contains(&total), "total {total}");
    assert_eq!(
        events.last().unwrap().kind,
        EventKind::RunFinished {
            outcome: RunOutcome::Completed
        }
    );

    // Three waves: 0–4 at once, 5–8 after 1 s, 9 after 2 s.
    let starts = started(&events);
    let queued = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::TasksQueued { .. }))
        .map(secs)
        .unwrap();
    for task in 0..=4 {
        assert!(
            starts[&task].1 - queued < 0.2,
            "task {task} starts in the first wave"
        );
    }
    for task in 5..=8 {
        assert!(
            (starts[&task].1 - queued - 1.0).abs() < 0.2,
            "task {task} in the second wave"
        );
    }
    assert!(
        (starts[&9].1 - queued - 2.0).abs() < 0.2,
        "task 9 in the third wave"
    );

    // The worker that failed task 0 takes task 4 at once.
    assert_eq!(starts[&0].0, starts[&4].0, "same worker for tasks 0 and 4");
    assert!(starts[&4].1 - finished_at(&events, 0) < 0.05);
    let failing = starts[&0].0;
    for task in 1..=3 {
        assert_ne!(
            starts[&task].0, failing,
            "task {task} went to another worker"
        );
    }

    // Results consumed: the error at once, 1–4 at about 1 s, 5–8 at about 2 s, 9 at about 3 s.
    assert!(results[0].2 - queued < 0.2);
    for (i, (_, _, t)) in results.iter().enumerate().skip(1) {
        let expected = match i {
            1..=4 => 1.0,
            5..=8 => 2.0,
            _ => 3.0,
        };
        assert!(
            (t - queued - expected).abs() < 0.2,
            "result {i} consumed at {t}"
        );
    }

    // Four workers named like Python's, all exit 0 after close/join.
    let names = names(&events);
    let mut sorted: Vec<&String> = names.values().collect();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "PoolWorker-1",
            "PoolWorker-2",
            "PoolWorker-3",
            "PoolWorker-4"
        ]
    );
    let exits: Vec<i32> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ProcessExited { status, .. } => Some(status.python_exitcode()),
            _ => None,
        })
        .collect();
    assert_eq!(exits, [0, 0, 0, 0]);

    // Each task printed its lines, from the worker that ran it.
    let lines: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Output { proc, text, .. } => Some(format!("{}|{text}", names[proc])),
            _ => None,
        })
        .collect();
    let w4 = &names[&starts[&4].0];
    assert!(lines.contains(&format!("{w4}|Process {w4} started working on task 4")));
    assert!(lines.contains(&format!("{w4}|Process {w4} ended working on task 4")));
    assert!(
        !lines.iter().any(|l| l.ends_with("ended working on task 0")),
        "task 0 raised before its end"
    );
}

#[test]
fn map_raises_the_first_error_after_every_task_and_loses_the_rest() {
    let (events, summary, code) =
        run_cli(&["pool", "--api", "map", "--task-ms", "300", "--fail", "3,6"]);
    assert_eq!(code, 0, "{summary}");
    assert!(
        consumed(&events).is_empty(),
        "map delivers nothing when it raises"
    );
    let (raised_at, error, lost) = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::CallerRaised {
                error,
                lost_results,
            } => Some((secs(e), error.clone(), *lost_results)),
            _ => None,
        })
        .expect("map raised");
    assert!(
        error.location.contains("task 3"),
        "the first error by index: {error:?}"
    );
    assert_eq!(lost, 9);
    let last_finish = (0..10).map(|t| finished_at(&events, t)).fold(0.0, f64::max);
    assert!(
        raised_at >= last_finish,
        "raised only after every task finished"
    );
    assert!(summary.contains("raised: ZeroDivisionError"), "{summary}");
}

#[test]
fn map_without_errors_delivers_everything_at_once_in_input_order() {
    let (events, _, code) = run_cli(&[
        "pool",
        "--api",
        "map",
        "--task-ms",
        "50",
        "--fail",
        "",
        "--tasks",
        "17",
    ]);
    assert_eq!(code, 0);
    let results = consumed(&events);
    assert_eq!(
        results.iter().map(|r| r.0).collect::<Vec<_>>(),
        (0..17).collect::<Vec<_>>()
    );
    assert!(
        results.windows(2).all(|w| w[0].2 == w[1].2),
        "all at the same moment"
    );
    // Python's default chunksize for map: ceil(17 / 16) = 2.
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::PoolStarted { chunksize: 2, .. }))
    );
    let chunks = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::TaskDispatched { .. }))
        .count();
    assert_eq!(chunks, 9);
}

#[test]
fn imap_unordered_and_apply_async_deliver_in_completion_order() {
    for api in ["imap_unordered", "apply_async"] {
        // Tasks sleep 200 ms and task 1 fails at once: completion order differs from input order.
        let (events, summary, code) = run_cli(&[
            "pool",
            "--api",
            api,
            "--tasks",
            "6",
            "--task-ms",
            "200",
            "--fail",
            "1",
        ]);
        assert_eq!(code, 0, "{summary}");
        let results = consumed(&events);
        assert_eq!(results.len(), 6, "{api}");
        // Completion order: each result is consumed after the one before it finished (tasks
        // finishing within a few milliseconds of each other may swap: that is a tie).
        for pair in results.windows(2) {
            let (a, b) = (
                finished_at(&events, pair[0].0),
                finished_at(&events, pair[1].0),
            );
            assert!(
                b >= a - 0.01,
                "{api}: {} (finished {a}) consumed before {} (finished {b})",
                pair[0].0,
                pair[1].0
            );
        }
        for (index, _, t) in &results {
            assert!(
                *t >= finished_at(&events, *index),
                "{api}: consumed after it finished"
            );
        }
        assert_eq!(results[0].0, 1, "{api}: the instant failure comes first");
        assert!(is_zero_division(&results[0].1));
    }
}

#[test]
fn imap_with_chunks_raises_on_the_first_failing_chunk_and_stops() {
    let (events, _, code) =
        run_cli(&["pool", "--chunksize", "3", "--task-ms", "50", "--fail", "4"]);
    assert_eq!(code, 0);
    let results = consumed(&events);
    assert_eq!(
        results.iter().map(|r| r.0).collect::<Vec<_>>(),
        [0, 1, 2],
        "the first chunk only"
    );
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        EventKind::CallerRaised {
            lost_results: 7,
            ..
        }
    )));
    // Every task still ran.
    for t in 0..10 {
        finished_at(&events, t);
    }
}

#[test]
fn maxtasksperchild_replaces_workers_with_new_numbers() {
    let (events, summary, code) = run_cli(&[
        "pool",
        "--workers",
        "2",
        "--tasks",
        "6",
        "--task-ms",
        "20",
        "--fail",
        "",
        "--maxtasksperchild",
        "1",
    ]);
    assert_eq!(code, 0, "{summary}");
    let replaced = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::WorkerReplaced { .. }))
        .count();
    assert!(replaced >= 4, "{replaced} replacements");
    let names = names(&events);
    assert!(names.values().any(|n| n == "PoolWorker-5"), "{names:?}");
    assert_eq!(consumed(&events).len(), 6);
    // Every worker ran at most one chunk.
    let mut per_worker: HashMap<ProcId, u32> = HashMap::new();
    for e in &events {
        if let EventKind::TaskDispatched { worker, .. } = e.kind {
            *per_worker.entry(worker).or_default() += 1;
        }
    }
    assert!(per_worker.values().all(|&n| n == 1), "{per_worker:?}");
}

#[test]
fn zero_tasks_and_out_of_range_parameters() {
    let (events, _, code) = run_cli(&["pool", "--tasks", "0"]);
    assert_eq!(code, 0);
    assert!(consumed(&events).is_empty());
    let (events, summary, code) = run_cli(&["pool", "--workers", "65"]);
    assert_ne!(code, 0);
    assert!(events.is_empty(), "nothing started");
    assert!(summary.contains("64"), "{summary}");
    let (_, summary, code) = run_cli(&["pool", "--tasks", "1000001"]);
    assert_ne!(code, 0);
    assert!(
        summary.contains("tasks must be 0 to 1,000,000"),
        "{summary}"
    );
}
