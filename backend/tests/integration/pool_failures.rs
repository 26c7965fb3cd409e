//! Workers that die: killed from the page mid-task or while idle, or by the OS. The lost task
//! is an error naming the worker and the signal, a replacement starts, the rest completes. A
//! worker that is only stopped (SIGSTOP, then SIGCONT) is not dead: its task waits for it.

use shared::{
    ClientMessage, Event, EventKind, ExitStatus, KillReason, ProcId, RunOutcome, TaskResult,
};
use std::time::Duration;
use testkit::*;

fn worker_of(events: &[Event], task: u64) -> Option<ProcId> {
    events.iter().find_map(|e| match e.kind {
        EventKind::TaskStarted { task: t, worker } if t == task => Some(worker),
        _ => None,
    })
}

fn name_of(events: &[Event], proc: ProcId) -> String {
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ProcessSpawned { proc: p, name, .. } if *p == proc => Some(name.clone()),
            _ => None,
        })
        .unwrap()
}

fn pid_of(events: &[Event], proc: ProcId) -> u32 {
    events
        .iter()
        .find_map(|e| match e.kind {
            EventKind::ProcessSpawned { proc: p, pid, .. } if p == proc => Some(pid),
            _ => None,
        })
        .unwrap()
}

fn results(events: &[Event]) -> Vec<(u64, TaskResult)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ResultConsumed { index, result } => Some((*index, result.clone())),
            _ => None,
        })
        .collect()
}

/// Kills the worker running task 2 (from the page, or with `kill -9` as the OS would) and
/// checks the pool's answer.
async fn kill_busy_worker(from_page: bool) {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, &pool_request(8, 1000)).await;
    let mut events = events_until(&mut ws, |e| {
        matches!(e.kind, EventKind::TaskStarted { task: 2, .. })
    })
    .await;
    let run = events[0].run;
    let victim = worker_of(&events, 2).unwrap();
    let name = name_of(&events, victim);
    if from_page {
        send(&mut ws, &ClientMessage::KillProcess { run, proc: victim }).await;
    } else {
        unsafe { libc::kill(pid_of(&events, victim) as i32, libc::SIGKILL) };
    }
    let (rest, _) = events_until_finished(&mut ws).await;
    events.extend(rest);

    let lost = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::TaskFinished {
                task: 2,
                result: TaskResult::Error(err),
                worker,
            } => Some((err.clone(), *worker)),
            _ => None,
        })
        .expect("task 2 ends as an error");
    assert_eq!(lost.1, victim);
    assert_eq!(lost.0.error_type, "WorkerLost");
    assert_eq!(
        lost.0.message,
        format!("{name} was killed by SIGKILL while running task 2")
    );

    let exit = events
        .iter()
        .find_map(|e| match e.kind {
            EventKind::ProcessExited {
                proc,
                status,
                killed_by,
                ..
            } if proc == victim => Some((status, killed_by)),
            _ => None,
        })
        .unwrap();
    assert_eq!(exit.0, ExitStatus::Signal { signal: 9 });
    assert_eq!(
        exit.1,
        if from_page {
            Some(KillReason::User)
        } else {
            None
        }
    );

    let replacement = events
        .iter()
        .find_map(|e| match e.kind {
            EventKind::WorkerReplaced {
                exited,
                replacement,
            } if exited == victim => Some(replacement),
            _ => None,
        })
        .expect("a replacement");
    assert_eq!(name_of(&events, replacement), "PoolWorker-5");

    // Every other task completed, and the caller saw the error at index 2.
    let got = results(&events);
    assert_eq!(got.len(), 8);
    for (index, result) in got {
        match index {
            2 => assert!(matches!(result, TaskResult::Error(_))),
            i => assert_eq!(result, TaskResult::Value { value: i as i64 }),
        }
    }
    assert_eq!(
        events.last().unwrap().kind,
        EventKind::RunFinished {
            outcome: RunOutcome::Completed
        }
    );
    let total = secs(events.last().unwrap());
    assert!(total < 3.5, "no hang: {total}");
}

#[tokio::test]
async fn a_worker_killed_from_the_page_mid_task_loses_only_that_task() {
    kill_busy_worker(true).await;
}

#[tokio::test]
async fn a_worker_killed_by_the_os_mid_task_loses_only_that_task() {
    kill_busy_worker(false).await;
}

/// The state letter of `pid` in /proc (`T`: stopped).
fn state_of(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

#[tokio::test]
async fn a_worker_stopped_and_continued_mid_task_only_delays_its_task() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, &pool_request(8, 1000)).await;
    let mut events = events_until(&mut ws, |e| {
        matches!(e.kind, EventKind::TaskStarted { task: 2, .. })
    })
    .await;
    let victim = worker_of(&events, 2).unwrap();
    let pid = pid_of(&events, victim);
    // SAFETY: signals to a worker of this test's own server.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGSTOP) }, 0);
    eventually("the worker stopped", 2, async || match state_of(pid) {
        Some('T') => Ok(()),
        other => Err(format!("state {other:?}")),
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(state_of(pid), Some('T'), "still stopped: nothing reaped it");
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGCONT) }, 0);
    let (rest, _) = events_until_finished(&mut ws).await;
    events.extend(rest);

    // Every result, none lost, no replacement: a stopped worker is not a dead one.
    let got = results(&events);
    assert_eq!(
        got,
        (0..8)
            .map(|i| (i, TaskResult::Value { value: i as i64 }))
            .collect::<Vec<_>>()
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.kind, EventKind::WorkerReplaced { .. })),
        "no worker replaced"
    );
    let victim_exit = events.iter().find_map(|e| match e.kind {
        EventKind::ProcessExited { proc, status, .. } if proc == victim => Some(status),
        _ => None,
    });
    assert_eq!(victim_exit, Some(ExitStatus::Code { code: 0 }));
    // The stop held the worker's task: it took the 2 s the worker was stopped, at least.
    let span = |task: u64| {
        let at = |started: bool| {
            events
                .iter()
                .find_map(|e| match e.kind {
                    EventKind::TaskStarted { task: t, .. } if started && t == task => Some(secs(e)),
                    EventKind::TaskFinished { task: t, .. } if !started && t == task => {
                        Some(secs(e))
                    }
                    _ => None,
                })
                .unwrap()
        };
        at(false) - at(true)
    };
    let longest = (0..8)
        .filter(|&t| worker_of(&events, t) == Some(victim))
        .map(span)
        .fold(0.0, f64::max);
    assert!(
        longest >= 1.9,
        "the stopped worker's longest task: {longest} s"
    );
    assert_eq!(
        events.last().unwrap().kind,
        EventKind::RunFinished {
            outcome: RunOutcome::Completed
        }
    );
}

#[tokio::test]
async fn a_worker_killed_while_idle_does_not_wedge_the_pool() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    // Two tasks for four workers: two workers stay idle.
    send(&mut ws, &pool_request(2, 800)).await;
    let mut events = events_until(&mut ws, |e| {
        matches!(e.kind, EventKind::TaskStarted { task: 1, .. })
    })
    .await;
    let run = events[0].run;
    let busy = [
        worker_of(&events, 0).unwrap(),
        worker_of(&events, 1).unwrap(),
    ];
    let idle = events
        .iter()
        .find_map(|e| match e.kind {
            EventKind::ProcessSpawned { proc, .. } if !busy.contains(&proc) => Some(proc),
            _ => None,
        })
        .unwrap();
    send(&mut ws, &ClientMessage::KillProcess { run, proc: idle }).await;
    let (rest, _) = events_until_finished(&mut ws).await;
    events.extend(rest);
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::WorkerReplaced { exited, .. } if exited == idle))
    );
    assert!(!events.iter().any(|e| matches!(
        &e.kind,
        EventKind::TaskFinished {
            result: TaskResult::Error(_),
            ..
        }
    )));
    assert_eq!(results(&events).len(), 2);
    assert!(secs(events.last().unwrap()) < 2.0);
}

#[tokio::test]
async fn cancelling_a_pool_terminates_its_workers() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, &pool_request(8, 5000)).await;
    let mut events = events_until(&mut ws, |e| {
        matches!(e.kind, EventKind::TaskStarted { task: 3, .. })
    })
    .await;
    let run = events[0].run;
    let pids = spawned_pids(&events);
    send(&mut ws, &ClientMessage::CancelRun { run }).await;
    let (rest, _) = events_until_finished(&mut ws).await;
    events.extend(rest);
    assert!(events.iter().any(|e| matches!(
        e.kind,
        EventKind::PoolTerminated {
            reason: KillReason::Cancelled
        }
    )));
    let exits: Vec<i32> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ProcessExited { status, .. } => Some(status.python_exitcode()),
            _ => None,
        })
        .collect();
    assert_eq!(exits, [-15, -15, -15, -15]);
    assert_eq!(wait_gone(&pids, Duration::from_secs(2)), Vec::<u32>::new());
    // Unfinished results never resolve (as in Python).
    assert!(results(&events).is_empty());
}

#[tokio::test]
async fn killing_the_main_process_or_a_finished_run_is_refused() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, &pool_request(1, 0)).await;
    let (events, _) = events_until_finished(&mut ws).await;
    let run = events[0].run;
    send(
        &mut ws,
        &ClientMessage::KillProcess {
            run,
            proc: ProcId::MAIN,
        },
    )
    .await;
    let Some(shared::ServerMessage::Error(e)) = next_message(&mut ws).await else {
        panic!()
    };
    assert!(e.message.contains("main process"), "{}", e.message);
    send(
        &mut ws,
        &ClientMessage::KillProcess {
            run,
            proc: ProcId(1),
        },
    )
    .await;
    let Some(shared::ServerMessage::Error(e)) = next_message(&mut ws).await else {
        panic!()
    };
    assert!(e.message.contains("finished"), "{}", e.message);
}
