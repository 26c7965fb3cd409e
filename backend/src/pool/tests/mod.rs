//! The pool's rules, checked on its state machine alone: worker messages are fed in, the
//! actions and events it answers with are asserted. `Sim` plays the workers the way
//! `crate::worker` behaves (one chunk at a time from its inbox, reports batched until it waits
//! or sleeps), on a simulated clock.

mod sim;

use super::results::Results;
use super::state::{Action, MAX_WINDOW, Pool};
use crate::child::WorkerMsg;
use crate::clock::RunClock;
use crate::ipc::{Outcome, Report, TaskRecord};
use shared::{EventKind, ExitStatus, PoolApi, ProcId, RunTime, TaskResult};
use sim::{MS, Next, SEC, START_NS, Sim, config, error_text, value, zero_division};
use std::collections::HashMap;

/// The seed: task 0 raises at once, the others sleep 1 s.
fn seed(api: PoolApi) -> Sim {
    let mut sim = Sim::new(config(4, 10, api, 1), |n| match n {
        0 => (0, zero_division()),
        n => (SEC, Outcome::Value(n as i64)),
    });
    sim.run();
    sim
}

#[test]
fn the_seed_imap_gets_the_error_then_1_to_9_and_worker_1_takes_task_4_at_once() {
    let sim = seed(PoolApi::Imap);
    let consumed = sim.consumed();
    assert_eq!(sim.indices(), (0..10).collect::<Vec<_>>());
    assert_eq!(
        error_text(&consumed[0].1).as_deref(),
        Some("ZeroDivisionError: division by zero")
    );
    let values: Vec<TaskResult> = consumed[1..].iter().map(|c| c.1.clone()).collect();
    assert_eq!(values, (1..10).map(value).collect::<Vec<_>>());

    let dispatched = sim.dispatched();
    let worker_1 = sim.proc_named("PoolWorker-1");
    assert_eq!(
        dispatched[&0],
        (worker_1, MS),
        "task 0 goes to the first idle worker"
    );
    assert_eq!(
        dispatched[&4],
        (worker_1, MS),
        "the worker that failed task 0 takes task 4 the same instant"
    );
    // Slow tasks run in waves: 1–4 end at 1 s, 5–8 at 2 s, 9 at 3 s, when the caller has all.
    assert_eq!(consumed[9].2, 3 * SEC + MS);
    assert_eq!(consumed[1].2, SEC + MS);
    assert_eq!(
        sim.count(|k| matches!(
            k,
            EventKind::TasksQueued {
                first: 0,
                count: 10
            }
        )),
        1
    );
    let closed = sim.count(|k| matches!(k, EventKind::PoolClosed));
    assert_eq!(closed, 1);
    assert!(
        sim.pool.is_done(),
        "every worker got the stop record and exited"
    );
    assert_eq!(sim.workers.len(), 4, "no worker was replaced");
    let stops: usize = sim
        .sends
        .iter()
        .filter(|(_, r)| r == &[TaskRecord::Stop])
        .count();
    assert_eq!(stops, 4);
    assert!(
        sim.sends.iter().all(|(_, r)| r.len() == 1),
        "slow workers hold one chunk at a time"
    );
}

#[test]
fn imap_unordered_and_apply_async_deliver_in_completion_order_imap_waits_for_order() {
    let work = |n: u64| match n {
        0 => (3 * SEC + SEC / 2, Outcome::Value(0)),
        n => (SEC, Outcome::Value(n as i64)),
    };
    let times = |api| {
        let mut sim = Sim::new(config(2, 4, api, 1), work);
        sim.run();
        sim.consumed()
            .into_iter()
            .map(|(i, r, t)| {
                assert_eq!(r, value(i as i64));
                (i, (t - MS) / (SEC / 2))
            })
            .collect::<Vec<_>>()
    };
    // Worker 1 runs task 0 for 3.5 s; worker 2 runs 1, 2, 3 one after the other.
    assert_eq!(
        times(PoolApi::ImapUnordered),
        [(1, 2), (2, 4), (3, 6), (0, 7)]
    );
    assert_eq!(times(PoolApi::ApplyAsync), [(1, 2), (2, 4), (3, 6), (0, 7)]);
    assert_eq!(times(PoolApi::Imap), [(0, 7), (1, 7), (2, 7), (3, 7)]);
}

#[test]
fn map_raises_its_first_error_at_the_end_and_loses_every_result() {
    // Tasks 3 (at 0.5 s) and 6 (later) fail: map raises the first, after the last task.
    let mut sim = Sim::new(config(4, 8, PoolApi::Map, 1), |n| match n {
        3 => (SEC / 2, zero_division()),
        6 => (
            SEC / 2,
            Outcome::Error {
                error_type: "ValueError".into(),
                message: "six".into(),
                location: "task".into(),
            },
        ),
        n => (SEC, Outcome::Value(n as i64)),
    });
    sim.run();
    assert!(
        sim.consumed().is_empty(),
        "map gives no result when it raises"
    );
    let raised: Vec<(String, u64)> = sim
        .events
        .iter()
        .filter_map(|(_, k)| match k {
            EventKind::CallerRaised {
                error,
                lost_results,
            } => Some((error.to_string(), *lost_results)),
            _ => None,
        })
        .collect();
    assert_eq!(raised, [("ZeroDivisionError: division by zero".into(), 7)]);
    let finished = sim.count(|k| matches!(k, EventKind::TaskFinished { .. }));
    assert_eq!(finished, 8, "every task still runs");

    let mut ok = Sim::new(config(4, 8, PoolApi::Map, 2), |n| {
        (SEC, Outcome::Value(n as i64))
    });
    ok.run();
    let consumed = ok.consumed();
    assert_eq!(ok.indices(), (0..8).collect::<Vec<_>>());
    let last_finish = ok
        .events
        .iter()
        .filter(|(_, k)| matches!(k, EventKind::TaskFinished { .. }))
        .map(|(t, _)| t.as_nanos())
        .max();
    assert!(
        consumed.iter().all(|c| Some(c.2) == last_finish),
        "map gives everything at once, when the last task ends"
    );
}

#[test]
fn a_chunk_with_an_error_raises_from_imap_and_the_caller_gets_nothing_after() {
    let mut sim = Sim::new(config(2, 6, PoolApi::Imap, 2), |n| match n {
        3 => (SEC, zero_division()),
        n => (SEC, Outcome::Value(n as i64)),
    });
    sim.run();
    assert_eq!(sim.indices(), [0, 1], "chunk 0, then chunk 1 raises");
    let raised = sim.count(|k| {
        matches!(k, EventKind::CallerRaised { lost_results: 4, error } if error.error_type == "ZeroDivisionError")
    });
    assert_eq!(raised, 1);
    assert!(sim.pool.is_done(), "the pool still finishes and closes");
}

#[test]
fn a_worker_killed_mid_task_loses_that_task_alone_and_is_replaced() {
    // Pool(2).imap over 4 one-second tasks: PoolWorker-2 runs task 1, then task 3; it is
    // killed at 1.5 s.
    let mut sim = Sim::new(config(2, 4, PoolApi::Imap, 1), |n| {
        (SEC, Outcome::Value(n as i64))
    });
    let victim = sim.proc_named("PoolWorker-2");
    sim.at(SEC + SEC / 2, victim, Next::Kill);
    sim.run();
    let consumed = sim.consumed();
    assert_eq!(sim.indices(), [0, 1, 2, 3]);
    assert_eq!(
        consumed[..3]
            .iter()
            .map(|c| c.1.clone())
            .collect::<Vec<_>>(),
        [value(0), value(1), value(2)]
    );
    assert_eq!(
        error_text(&consumed[3].1).as_deref(),
        Some("WorkerLost: PoolWorker-2 was killed by SIGKILL while running task 3")
    );
    let lost_at = sim.events.iter().find_map(|(t, k)| match k {
        EventKind::TaskFinished {
            task: 3, worker, ..
        } => Some((*worker, t.as_nanos())),
        _ => None,
    });
    assert_eq!(
        lost_at,
        Some((victim, SEC + SEC / 2)),
        "lost when the worker died"
    );
    let replacement = sim.proc_named("PoolWorker-3");
    let replaced = sim.count(|k| {
        *k == EventKind::WorkerReplaced {
            exited: victim,
            replacement,
        }
    });
    assert_eq!(replaced, 1);
    assert!(
        sim.pool.is_done(),
        "the replacement is stopped with the others"
    );
}

#[test]
fn chunks_a_dead_worker_had_not_begun_go_back_to_the_front_of_the_queue() {
    let clock = RunClock::starting_at(START_NS);
    let mut pool = Pool::new(config(1, 20, PoolApi::Imap, 1), clock, RunTime::ZERO);
    assert_eq!(
        pool.next_action(),
        Some(Action::Spawn {
            name: "PoolWorker-1".into()
        })
    );
    let (w1, w2) = (ProcId(1), ProcId(2));
    pool.worker_spawned(w1, RunTime(MS));
    pool.on_message(WorkerMsg::Ready(w1), RunTime(MS));
    let mut at = START_NS + MS;
    let mut sent = Vec::new();
    // Eight fast tasks, one chunk at a time: then the worker is sent a window of two.
    for task in 0..9u64 {
        pool.advance(RunTime(at - START_NS));
        while let Some(action) = pool.next_action() {
            if let Action::Send { records, .. } = action {
                sent.push(records);
            }
        }
        if task == 8 {
            break;
        }
        let reports = vec![
            Report::Took {
                at_ns: at,
                first: task,
                count: 1,
            },
            Report::TaskStarted { at_ns: at, task },
            Report::TaskFinished {
                at_ns: at + 1000,
                task,
                outcome: Outcome::Value(task as i64),
            },
        ];
        at += MS;
        pool.on_message(WorkerMsg::Reports(w1, reports), RunTime(at - START_NS));
    }
    let chunk = |first| TaskRecord::Chunk { first, count: 1 };
    assert_eq!(sent.len(), 9);
    assert!(sent[..8].iter().all(|r| r.len() == 1));
    assert_eq!(sent[8], [chunk(8), chunk(9)]);
    // It takes chunk 8, starts it, and is killed: 8 is lost, 9 was not begun.
    let reports = vec![
        Report::Took {
            at_ns: at,
            first: 8,
            count: 1,
        },
        Report::TaskStarted { at_ns: at, task: 8 },
    ];
    pool.on_message(WorkerMsg::Reports(w1, reports), RunTime(at - START_NS));
    pool.on_message(
        WorkerMsg::Exited(w1, ExitStatus::Signal { signal: 9 }),
        RunTime(at - START_NS),
    );
    assert_eq!(
        pool.next_action(),
        Some(Action::Spawn {
            name: "PoolWorker-2".into()
        })
    );
    pool.worker_spawned(w2, RunTime(at - START_NS));
    pool.on_message(WorkerMsg::Ready(w2), RunTime(at - START_NS));
    pool.advance(RunTime(at - START_NS));
    assert_eq!(
        pool.next_action(),
        Some(Action::Send {
            worker: w2,
            records: vec![chunk(9)]
        }),
        "the chunk it had not begun is first in line again"
    );
    let events = pool.take_events();
    let lost: Vec<String> = events
        .iter()
        .filter_map(|(_, k)| match k {
            EventKind::TaskFinished { task, result, .. } => {
                error_text(result).map(|e| format!("{task}: {e}"))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        lost,
        ["8: WorkerLost: PoolWorker-1 was killed by SIGKILL while running task 8"]
    );
    assert!(events.iter().any(|(_, k)| *k
        == EventKind::WorkerReplaced {
            exited: w1,
            replacement: w2
        }));
}

#[test]
fn the_unfinished_tasks_of_a_begun_chunk_are_lost_each_saying_whether_it_had_started() {
    let mut sim = Sim::new(config(1, 3, PoolApi::ImapUnordered, 3), |n| {
        (SEC, Outcome::Value(n as i64))
    });
    let victim = sim.proc_named("PoolWorker-1");
    sim.at(SEC + SEC / 2, victim, Next::Kill);
    sim.run();
    let lost: Vec<(u64, Option<String>)> = sim
        .events
        .iter()
        .filter_map(|(_, k)| match k {
            EventKind::TaskFinished { task, result, .. } => Some((*task, error_text(result))),
            _ => None,
        })
        .collect();
    let msg = |s: &str| {
        Some(format!(
            "WorkerLost: PoolWorker-1 was killed by SIGKILL {s}"
        ))
    };
    assert_eq!(
        lost,
        [
            (0, None),
            (1, msg("while running task 1")),
            (2, msg("before task 2 started"))
        ]
    );
    assert!(sim.indices().is_empty());
    let raised = sim.count(|k| {
        matches!(k, EventKind::CallerRaised { lost_results: 3, error } if error.error_type == "WorkerLost")
    });
    assert_eq!(
        raised, 1,
        "a chunk of several tasks with an error raises it"
    );
    assert!(sim.pool.is_done());
}

#[test]
fn fast_workers_get_a_growing_window_up_to_the_limit_slow_ones_one_chunk() {
    let mut sim = Sim::new(config(1, 5_000, PoolApi::Imap, 1), |n| {
        (1_000, Outcome::Value(n as i64))
    });
    sim.run();
    let sizes: Vec<usize> = sim
        .sends
        .iter()
        .filter(|(_, r)| r.first() != Some(&TaskRecord::Stop))
        .map(|(_, r)| r.len())
        .collect();
    assert!(sizes[..8].iter().all(|&n| n == 1), "{:?}", &sizes[..10]);
    assert_eq!(sizes.iter().max().copied(), Some(MAX_WINDOW as usize));
    assert_eq!(sim.indices(), (0..5_000).collect::<Vec<_>>());

    let mut slow = Sim::new(config(2, 40, PoolApi::Imap, 1), |n| {
        (2 * MS, Outcome::Value(n as i64))
    });
    slow.run();
    assert!(slow.sends.iter().all(|(_, r)| r.len() == 1));
    assert_eq!(slow.indices().len(), 40);
}

#[test]
fn maxtasksperchild_replaces_a_worker_after_its_chunks_without_losing_anything() {
    let mut cfg = config(1, 5, PoolApi::Imap, 1);
    cfg.maxtasks = Some(2);
    let mut sim = Sim::new(cfg, |n| (SEC, Outcome::Value(n as i64)));
    sim.run();
    assert_eq!(
        sim.consumed().into_iter().map(|c| c.1).collect::<Vec<_>>(),
        (0..5).map(value).collect::<Vec<_>>()
    );
    let names: Vec<&str> = sim.workers.values().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["PoolWorker-1", "PoolWorker-2", "PoolWorker-3"]);
    let mut per_worker: HashMap<ProcId, usize> = HashMap::new();
    for (w, r) in &sim.sends {
        if r.first() != Some(&TaskRecord::Stop) {
            *per_worker.entry(*w).or_default() += r.len();
        }
    }
    assert!(per_worker.values().all(|&n| n <= 2), "{per_worker:?}");
    let replaced = sim.count(|k| matches!(k, EventKind::WorkerReplaced { .. }));
    assert_eq!(replaced, 2);
}

#[test]
fn a_pool_over_no_tasks_closes_once_its_workers_are_up() {
    let mut sim = Sim::new(config(4, 0, PoolApi::Imap, 1), |_| (0, Outcome::Value(0)));
    sim.run();
    let kinds: Vec<&EventKind> = sim.events.iter().map(|(_, k)| k).collect();
    assert!(matches!(
        kinds[0],
        EventKind::PoolStarted {
            workers: 4,
            tasks: 0,
            ..
        }
    ));
    assert_eq!(kinds[1], &EventKind::TasksQueued { first: 0, count: 0 });
    assert_eq!(kinds[2], &EventKind::PoolClosed);
    assert_eq!(kinds.len(), 3);
    assert!(sim.pool.is_done());
}

#[test]
fn a_worker_exiting_after_the_close_is_not_replaced() {
    let mut sim = Sim::new(config(2, 2, PoolApi::Imap, 1), |n| {
        (MS, Outcome::Value(n as i64))
    });
    sim.run();
    assert_eq!(sim.workers.len(), 2);
    assert_eq!(
        sim.count(|k| matches!(k, EventKind::WorkerReplaced { .. })),
        0
    );
    assert!(sim.pool.next_action().is_none());
}

#[test]
fn results_record_each_task_once_and_say_when_a_chunk_completes() {
    let mut r = Results::new(PoolApi::Imap, 5, 2);
    assert_eq!(r.chunks(), 3);
    assert_eq!(r.chunk_tasks(2), 4..5);
    assert_eq!(r.record(0, &value(0)), Some(None));
    assert_eq!(r.record(0, &value(9)), None, "a second report is ignored");
    assert_eq!(r.record(1, &value(1)), Some(Some(0)));
    assert_eq!(r.record(7, &value(7)), None, "no such task");
    assert!(!r.is_pending(1));
    assert!(r.is_pending(2));
    let mut events = Vec::new();
    r.chunk_done(0, RunTime(3), &mut events);
    let got: Vec<(u64, TaskResult)> = events
        .into_iter()
        .filter_map(|(_, k)| match k {
            EventKind::ResultConsumed { index, result } => Some((index, result)),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        [(0, value(0)), (1, value(1))],
        "the first recorded value stands"
    );
    assert!(!r.all_done());
}
