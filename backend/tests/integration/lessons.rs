//! Every lecture demo, run exactly as its button runs it ([`shared::Lesson::runs`]) on the
//! real runtime over a real WebSocket, with what the lesson promises checked from the event
//! stream. The lessons measure the machine's cores, so they run one at a time.

use shared::{ClientMessage, Event, EventKind, Lesson, PoolApi, ProcId, ServerMessage, TaskResult};
use std::collections::{BTreeSet, HashMap};
use testkit::*;

/// The machine's cores, as the server reports them.
async fn cores(server: &Server) -> u32 {
    match connect(server).await.1 {
        ServerMessage::Hello { cores, .. } => cores,
        other => panic!("hello expected, got {other:?}"),
    }
}

/// Runs every run of `lesson` in turn; returns each run's events.
async fn run_lesson(server: &Server, lesson: Lesson) -> Vec<Vec<Event>> {
    let cores = cores(server).await;
    let mut all = Vec::new();
    for run in lesson.runs(cores, PoolApi::Imap) {
        let (mut ws, _) = connect(server).await;
        send(&mut ws, &ClientMessage::start(run.request.clone())).await;
        let (events, _) = events_until_finished(&mut ws).await;
        all.push(events);
    }
    all
}

/// On-CPU nanoseconds per (process, core).
fn on_cpu(events: &[Event]) -> HashMap<(u32, Option<u32>), u64> {
    let mut on = HashMap::new();
    for seg in segments(events) {
        *on.entry((seg.proc, seg.core)).or_default() += seg.on;
    }
    on
}

fn waiting_ns(events: &[Event], proc: u32) -> u64 {
    segments(events)
        .iter()
        .filter(|seg| seg.proc == proc)
        .map(|seg| seg.waiting)
        .sum()
}

#[tokio::test]
async fn two_processes_and_who_prints_first_print_what_the_lessons_say() {
    let _one = one_at_a_time();
    let server = Server::start();
    let two = run_lesson(&server, Lesson::TwoProcesses).await.remove(0);
    let lines: Vec<&str> = two
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Output { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        lines.contains(&"Square: 100") && lines.contains(&"Cube: 1000"),
        "{lines:?}"
    );
    assert_eq!(lines.last(), Some(&"Done!"));
    let four = run_lesson(&server, Lesson::WhoPrintsFirst).await.remove(0);
    let mut nums: Vec<String> = four
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Output { proc, text, .. } if *proc != ProcId::MAIN => Some(text.clone()),
            _ => None,
        })
        .collect();
    nums.sort();
    assert_eq!(nums, ["Num: 1", "Num: 2", "Num: 3", "Num: 4"]);
}

#[tokio::test]
async fn the_pool_lesson_delivers_the_seed_results_and_its_map_switch_loses_them() {
    let _one = one_at_a_time();
    let server = Server::start();
    for (api, expected) in [(PoolApi::Imap, "results"), (PoolApi::Map, "raised")] {
        let run = Lesson::PoolImap.runs(2, api).remove(0);
        let (mut ws, _) = connect(&server).await;
        send(&mut ws, &ClientMessage::start(run.request)).await;
        let (events, _) = events_until_finished(&mut ws).await;
        let results: Vec<String> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ResultConsumed { result, .. } => Some(result.to_string()),
                _ => None,
            })
            .collect();
        let raised = events.iter().find_map(|e| match &e.kind {
            EventKind::CallerRaised {
                error,
                lost_results,
            } => Some((error.to_string(), *lost_results)),
            _ => None,
        });
        let took = run_secs(&events);
        assert!(
            (2.9..=3.4).contains(&took),
            "{api:?}: about 3.0 s, took {took}"
        );
        if expected == "results" {
            let mut want = vec!["ZeroDivisionError: division by zero".to_string()];
            want.extend((1..10).map(|i| i.to_string()));
            assert_eq!(results, want, "imap: the error in place of task 0");
            assert_eq!(raised, None);
        } else {
            assert!(results.is_empty(), "map delivers nothing: {results:?}");
            assert_eq!(
                raised,
                Some(("ZeroDivisionError: division by zero".to_string(), 9))
            );
        }
    }
}

#[tokio::test]
async fn the_chef_alone_time_slices_one_core_and_all_cores_are_faster() {
    let _one = one_at_a_time();
    let server = Server::start();
    let cores = cores(&server).await;
    let runs = run_lesson(&server, Lesson::ChefAlone).await;
    let alone = &runs[0];
    let t1 = run_secs(alone);
    assert!(
        (3.4..=5.5).contains(&t1),
        "four 1 s jobs on one core: {t1} s"
    );
    let on = on_cpu(alone);
    let total: u64 = on.values().sum();
    let core0: u64 = on
        .iter()
        .filter(|(k, _)| k.1 == Some(0))
        .map(|(_, v)| v)
        .sum();
    assert!(
        core0 as f64 >= 0.95 * total as f64,
        "{core0} of {total} ns on core 0"
    );
    for proc in 1..=4 {
        assert!(
            waiting_ns(alone, proc) > 500_000_000,
            "Process-{proc} waited for the core"
        );
    }
    if cores > 1 {
        let t_all = run_secs(&runs[1]);
        assert!(
            t1 / t_all >= 1.5,
            "{cores} cores must be clearly faster: {t1:.2} s vs {t_all:.2} s"
        );
        let used: BTreeSet<u32> = on_cpu(&runs[1]).keys().filter_map(|k| k.1).collect();
        assert!(used.len() >= 2, "all cores used: {used:?}");
    }
}

#[tokio::test]
async fn threads_of_one_process_spread_over_the_cores_like_processes() {
    let _one = one_at_a_time();
    let server = Server::start();
    let cores = cores(&server).await;
    if cores < 2 {
        return; // The lesson runs only its 1-process side here; nothing to compare.
    }
    let runs = run_lesson(&server, Lesson::ThreadsVsProcesses).await;
    let threads = &runs[0];
    let tids: BTreeSet<u32> = threads
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ThreadSegment { tid, on_cpu_ns, .. } if on_cpu_ns > 0 => Some(tid),
            _ => None,
        })
        .collect();
    assert!(
        tids.len() >= 4,
        "four working threads of one process: {tids:?}"
    );
    let used: BTreeSet<u32> = on_cpu(threads).keys().filter_map(|k| k.1).collect();
    assert!(used.len() >= 2, "one PID on several cores: {used:?}");
    let (t_threads, t_procs) = (run_secs(threads), run_secs(&runs[1]));
    let ratio = t_threads / t_procs;
    assert!(
        (0.7..=1.4).contains(&ratio),
        "native threads have no GIL: {t_threads:.2} s vs {t_procs:.2} s"
    );
}

#[tokio::test]
async fn a_killed_worker_loses_its_task_and_the_pool_finishes() {
    let _one = one_at_a_time();
    let server = Server::start();
    let run = Lesson::WorkerDies.runs(2, PoolApi::Imap).remove(0);
    let (mut ws, _) = connect(&server).await;
    // Exactly what the page sends: the kill at 1.5 s is part of the request.
    send(&mut ws, &run.start_message(Some("worker dies".into()))).await;
    let (events, _) = events_until_finished(&mut ws).await;
    let victim = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ProcessSpawned { proc, name, .. } if name == Lesson::KILLED_WORKER => {
                Some(*proc)
            }
            _ => None,
        })
        .expect("the worker was spawned");
    let exit = events.iter().find_map(|e| match e.kind {
        EventKind::ProcessExited { proc, status, .. } if proc == victim => Some((status, e.t)),
        _ => None,
    });
    assert_eq!(exit.map(|(s, _)| s.python_exitcode()), Some(-9));
    let killed_at = exit.map(|(_, t)| t.as_nanos() / 1_000_000);
    assert!(
        killed_at >= Some(Lesson::KILL_AT_MS),
        "killed by the schedule at {} ms: {killed_at:?}",
        Lesson::KILL_AT_MS
    );
    let results: Vec<&TaskResult> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ResultConsumed { result, .. } => Some(result),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 10, "every task has a result");
    let lost: Vec<String> = results
        .iter()
        .filter_map(|r| match r {
            TaskResult::Error(e) => Some(e.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(lost.len(), 1, "exactly the killed task is lost: {lost:?}");
    assert!(lost[0].contains("SIGKILL"), "{lost:?}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::WorkerReplaced { .. })),
        "the pool replaced the worker"
    );
}

#[tokio::test]
async fn more_workers_than_cores_do_not_go_faster() {
    let _one = one_at_a_time();
    let server = Server::start();
    let cores = cores(&server).await;
    let runs = run_lesson(&server, Lesson::HowManyWorkers).await;
    let walls: Vec<f64> = runs.iter().map(|r| run_secs(r)).collect();
    // 8 tasks of 0.5 s CPU: Pool(1) takes about 4 s.
    assert!((3.6..=5.5).contains(&walls[0]), "Pool(1): {walls:?}");
    if cores < 2 {
        return;
    }
    let speedup: Vec<f64> = walls.iter().map(|w| walls[0] / w).collect();
    let best = f64::from(cores.min(8));
    assert!(speedup[1] >= 1.6, "Pool(2) on {cores} cores: {speedup:?}");
    for (n, s) in Lesson::POOL_SIZES.iter().zip(&speedup) {
        assert!(
            *s <= best * 1.15,
            "Pool({n}) cannot beat the {cores} cores: {speedup:?}"
        );
    }
}

#[tokio::test]
async fn sleeping_tasks_leave_the_cores_idle_and_cpu_tasks_fill_them() {
    let _one = one_at_a_time();
    let server = Server::start();
    let runs = run_lesson(&server, Lesson::SleepingVsWorking).await;
    let busy = |events: &[Event]| on_cpu(events).values().sum::<u64>() as f64 / 1e9;
    let (asleep, working) = (busy(&runs[0]), busy(&runs[1]));
    // 8 tasks × 0.5 s each: 4 s of task time either way.
    assert!(asleep < 0.2, "sleeping tasks used {asleep:.3} s of CPU");
    assert!(working > 3.2, "CPU tasks used {working:.3} s of CPU");
}
