//! The "Two processes" demo over a real WebSocket, with real child processes.

use shared::{
    ClientMessage, DemoRequest, EventKind, ExitStatus, PROTOCOL_VERSION, ProcId, RunOutcome,
    ServerMessage, Stream, TwoProcessesParams,
};
use std::time::Duration;
use testkit::*;

fn start(num: i64, linger_ms: u64) -> ClientMessage {
    ClientMessage::start(DemoRequest::TwoProcesses(TwoProcessesParams {
        num,
        linger_ms,
    }))
}

#[tokio::test]
async fn hello_names_the_protocol_version_and_cores() {
    let server = Server::start();
    let (_ws, hello) = connect(&server).await;
    let ServerMessage::Hello {
        protocol_version,
        cores,
        runs,
        ..
    } = hello
    else {
        unreachable!()
    };
    assert_eq!(protocol_version, PROTOCOL_VERSION);
    assert_eq!(
        cores as usize,
        std::thread::available_parallelism().unwrap().get()
    );
    assert!(runs.is_empty());
}

#[tokio::test]
async fn two_real_processes_print_exit_zero_and_main_prints_done() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, &start(10, 0)).await;
    let (events, frames) = events_until_finished(&mut ws).await;

    // Sequence numbers are gap-free and every event belongs to the same run.
    let run = events[0].run;
    for (i, e) in events.iter().enumerate() {
        assert_eq!((e.run, e.seq), (run, i as u64), "event {e:?}");
    }
    assert!(matches!(events[0].kind, EventKind::RunStarted(_)));
    assert!(
        frames < events.len(),
        "events must be batched: {frames} frames for {} events",
        events.len()
    );

    let pids = spawned_pids(&events);
    assert_eq!(pids.len(), 2);
    assert_ne!(pids[0], pids[1]);
    assert!(!pids.contains(&server.pid()));

    let lines: Vec<(ProcId, &str)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Output {
                proc,
                stream: Stream::Stdout,
                text,
            } => Some((*proc, text.as_str())),
            _ => None,
        })
        .collect();
    assert!(lines.contains(&(ProcId(1), "Square: 100")), "{lines:?}");
    assert!(lines.contains(&(ProcId(2), "Cube: 1000")), "{lines:?}");
    assert_eq!(
        lines.last(),
        Some(&(ProcId::MAIN, "Done!")),
        "Done! comes last"
    );

    let exits: Vec<(ProcId, ExitStatus, u64)> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ProcessExited { proc, status, .. } => Some((proc, status, e.seq)),
            _ => None,
        })
        .collect();
    assert_eq!(exits.len(), 2);
    assert!(exits.iter().all(|(_, s, _)| s.success()), "{exits:?}");
    let done_seq = events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::Output { text, .. } if text == "Done!"))
        .unwrap()
        .seq;
    assert!(
        exits.iter().all(|(_, _, seq)| *seq < done_seq),
        "joined before Done!"
    );

    // Each child reported its own start, after it was spawned, with the cores it may use.
    for proc in [ProcId(1), ProcId(2)] {
        let spawned = events
            .iter()
            .find(|e| matches!(e.kind, EventKind::ProcessSpawned { proc: p, .. } if p == proc))
            .unwrap();
        let started = events
            .iter()
            .find(|e| matches!(&e.kind, EventKind::ProcessStarted { proc: p, .. } if *p == proc))
            .unwrap();
        assert!(started.t >= spawned.t);
        let EventKind::ProcessStarted { cpus, .. } = &started.kind else {
            unreachable!()
        };
        assert!(!cpus.is_empty());
    }
    let last = events.last().unwrap();
    assert_eq!(
        last.kind,
        EventKind::RunFinished {
            outcome: RunOutcome::Completed
        }
    );
    assert!(last.t.as_secs_f64() < 5.0);
    assert!(wait_gone(&pids, Duration::from_secs(1)).is_empty());
}

#[tokio::test]
async fn children_are_real_processes_of_the_server() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, &start(3, 1500)).await;
    let events = until_second_child_printed(&mut ws).await;
    let pids = spawned_pids(&events);
    assert_eq!(pids.len(), 2);
    for pid in &pids {
        assert_child_of_server(*pid, server.pid());
    }
    // Both children share one process group that is not the server's.
    let pgid = |pid: u32| unsafe { libc::getpgid(pid as i32) };
    assert_eq!(pgid(pids[0]), pgid(pids[1]));
    assert_ne!(pgid(pids[0]), pgid(server.pid()));
    let (rest, _) = events_until_finished(&mut ws).await;
    assert!(
        rest.iter()
            .any(|e| matches!(&e.kind, EventKind::Output { text, .. } if text == "Done!"))
    );
    assert!(wait_gone(&pids, Duration::from_secs(1)).is_empty());
}

#[tokio::test]
async fn a_second_viewer_gets_the_whole_run_as_a_snapshot() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, &start(10, 0)).await;
    let (first, _) = events_until_finished(&mut ws).await;
    let (mut other, hello) = connect(&server).await;
    let ServerMessage::Hello { runs, .. } = hello else {
        unreachable!()
    };
    assert_eq!(runs.len(), 1);
    assert!(runs[0].finished);
    send(&mut other, &ClientMessage::Subscribe { run: runs[0].run }).await;
    let (replay, _) = events_until_finished(&mut other).await;
    assert_eq!(replay, first);
}

#[tokio::test]
async fn run_started_echoes_the_requests_label_and_schedule() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    let schedule = vec![shared::Scheduled {
        at_ms: 60_000,
        action: shared::RunAction::KillProcess {
            name: "Process-9".into(),
        },
    }];
    let label = "compare: run A".to_string();
    send(
        &mut ws,
        &ClientMessage::StartRun {
            demo: DemoRequest::TwoProcesses(TwoProcessesParams::default()),
            keep_on_disconnect: false,
            sample_ms: None,
            schedule: schedule.clone(),
            request: Some(label.clone()),
        },
    )
    .await;
    let (events, _) = events_until_finished(&mut ws).await;
    match &events[0].kind {
        EventKind::RunStarted(start) => {
            assert_eq!(start.request.as_ref(), Some(&label));
            assert_eq!(start.schedule, schedule);
        }
        other => panic!("run_started first, got {other:?}"),
    }
    assert!(matches!(
        events.last().map(|e| &e.kind),
        Some(EventKind::RunFinished {
            outcome: RunOutcome::Completed
        })
    ));
}
