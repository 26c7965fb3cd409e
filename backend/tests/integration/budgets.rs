//! Resource budgets, stated and enforced before anything starts: the memory a run's processes
//! may be asked to hold (alone and beside the runs in progress), the bytes of finished runs kept
//! for replay, and kills or cancels of what does not exist.

use shared::{
    ClientMessage, DemoRequest, ErrorKind, EventKind, KillReason, PoolParams, ProcId,
    ProcessesParams, RunId, ServerMessage, TwoProcessesParams, Work,
};
use testkit::*;

/// The next error, skipping the events of runs in progress.
async fn next_error(ws: &mut Ws) -> shared::CommandError {
    loop {
        match next_message(ws).await.expect("socket closed") {
            ServerMessage::Error(e) => return e,
            ServerMessage::Events { .. } => continue,
            other => panic!("an error expected, got {other:?}"),
        }
    }
}

fn assert_error(e: &shared::CommandError, kind: ErrorKind, needles: &[&str]) {
    assert_eq!(e.kind, kind, "{e:?}");
    for needle in needles {
        assert!(
            e.message.contains(needle),
            "{:?} should say {needle:?}",
            e.message
        );
    }
}

/// The runs a new connection's hello lists.
async fn held_runs(server: &Server) -> Vec<RunId> {
    match connect(server).await.1 {
        ServerMessage::Hello { runs, .. } => runs.into_iter().map(|r| r.run).collect(),
        other => panic!("hello expected, got {other:?}"),
    }
}

/// `count` processes each holding `memory_mib` MiB for `work_ms`.
fn holding(count: u32, memory_mib: u64, work_ms: u64) -> ClientMessage {
    ClientMessage::start(DemoRequest::Processes(ProcessesParams {
        count,
        memory_mib,
        work: Work::Sleep,
        work_ms,
        ..ProcessesParams::default()
    }))
}

#[tokio::test]
async fn a_run_asking_more_memory_than_the_default_budget_is_refused_with_the_numbers() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    // 64 processes × 1,024 MiB: every parameter in range, 64 GiB in all.
    send(
        &mut ws,
        &holding(PoolParams::MAX_WORKERS, ProcessesParams::MAX_MEMORY_MIB, 0),
    )
    .await;
    let e = next_error(&mut ws).await;
    assert_error(
        &e,
        ErrorKind::LimitReached,
        &[
            "this run asks 65,536 MiB (64 processes × 1,024 MiB)",
            "the memory budget is",
            "a quarter of this machine's",
            "--max-memory-mib",
        ],
    );
    assert_eq!(held_runs(&server).await, [], "nothing started");
}

#[tokio::test]
async fn runs_in_progress_share_the_memory_budget() {
    let server = Server::start_on("0", &["--max-memory-mib", "100"]);
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, &holding(1, 101, 0)).await;
    let e = next_error(&mut ws).await;
    assert_error(
        &e,
        ErrorKind::LimitReached,
        &[
            "asks 101 MiB (1 process holding 101 MiB)",
            "budget is 100 MiB (set with --max-memory-mib)",
        ],
    );

    // Run 1 holds 2 × 40 MiB for a while; 30 MiB more do not fit beside it, 20 MiB do.
    send(&mut ws, &holding(2, 40, 20_000)).await;
    events_until(&mut ws, |e| {
        matches!(
            e.kind,
            EventKind::ProcessStarted {
                proc: ProcId(2),
                ..
            }
        )
    })
    .await;
    send(&mut ws, &holding(1, 30, 0)).await;
    let e = next_error(&mut ws).await;
    assert_error(
        &e,
        ErrorKind::LimitReached,
        &[
            "asks 30 MiB",
            "the runs in progress hold 80 MiB of it, leaving 20 MiB",
            "Wait for a run to finish",
        ],
    );
    assert_eq!(
        held_runs(&server).await,
        [RunId(1)],
        "the refused run did not start"
    );
    send(&mut ws, &holding(1, 20, 0)).await;
    let second = events_until(&mut ws, |e| {
        e.run == RunId(2) && matches!(e.kind, EventKind::RunFinished { .. })
    })
    .await;
    assert!(
        second
            .iter()
            .any(|e| e.run == RunId(2) && matches!(e.kind, EventKind::ProcessExited { .. })),
        "exactly the budget fits"
    );

    // Once run 1 is over, its memory is free again.
    send(&mut ws, &ClientMessage::CancelRun { run: RunId(1) }).await;
    events_until(&mut ws, |e| {
        e.run == RunId(1) && matches!(e.kind, EventKind::RunFinished { .. })
    })
    .await;
    send(&mut ws, &holding(1, 30, 0)).await;
    events_until(&mut ws, |e| {
        e.run == RunId(3) && matches!(e.kind, EventKind::RunFinished { .. })
    })
    .await;
}

#[tokio::test]
async fn kills_and_cancels_of_what_does_not_exist_are_not_found() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    send(
        &mut ws,
        &ClientMessage::start(DemoRequest::TwoProcesses(TwoProcessesParams {
            num: 2,
            linger_ms: 20_000,
        })),
    )
    .await;
    until_second_child_printed(&mut ws).await;
    let run = RunId(1);

    send(
        &mut ws,
        &ClientMessage::KillProcess {
            run,
            proc: ProcId(99),
        },
    )
    .await;
    let e = next_error(&mut ws).await;
    assert_error(
        &e,
        ErrorKind::NotFound,
        &["run 1 has no process 99", "numbered 1 to 2"],
    );
    send(
        &mut ws,
        &ClientMessage::KillProcess {
            run: RunId(999),
            proc: ProcId(1),
        },
    )
    .await;
    assert_error(
        &next_error(&mut ws).await,
        ErrorKind::NotFound,
        &["run 999 does not exist"],
    );
    send(&mut ws, &ClientMessage::CancelRun { run: RunId(999) }).await;
    assert_error(
        &next_error(&mut ws).await,
        ErrorKind::NotFound,
        &["run 999 does not exist"],
    );

    // A process that exists is killed, and the run goes on.
    send(
        &mut ws,
        &ClientMessage::KillProcess {
            run,
            proc: ProcId(1),
        },
    )
    .await;
    let events = events_until(&mut ws, |e| {
        matches!(
            e.kind,
            EventKind::ProcessExited {
                proc: ProcId(1),
                ..
            }
        )
    })
    .await;
    assert!(
        events.iter().any(|e| matches!(
            e.kind,
            EventKind::ProcessExited {
                proc: ProcId(1),
                killed_by: Some(KillReason::User),
                ..
            }
        )),
        "process 1 killed by the user"
    );
}

#[tokio::test]
async fn finished_runs_are_kept_by_bytes_and_a_forgotten_one_says_so() {
    // A run of 8,000 instant tasks keeps about 32,000 events of 72 bytes (about 2.2 MiB): one
    // fits in 3 MiB, two do not.
    let server = Server::start_on("0", &["--keep-finished-mib", "3"]);
    let (mut ws, _) = connect(&server).await;
    let pool = ClientMessage::start(DemoRequest::Pool(PoolParams {
        tasks: 8_000,
        work: Work::None,
        task_ms: 0,
        fail: Vec::new(),
        print: false,
        ..PoolParams::default()
    }));
    for _ in 0..3 {
        send(&mut ws, &pool).await;
        events_until_finished(&mut ws).await;
    }
    // The oldest are forgotten first, once the run that pushed them out has finished.
    let held = eventually("the oldest runs are forgotten", 10, async || {
        let held = held_runs(&server).await;
        if held == [RunId(3)] {
            Ok(held)
        } else {
            Err(format!("held: {held:?}"))
        }
    })
    .await;
    assert_eq!(held, [RunId(3)]);

    send(&mut ws, &ClientMessage::Subscribe { run: RunId(1) }).await;
    assert_error(
        &next_error(&mut ws).await,
        ErrorKind::NotFound,
        &[
            "run 1 was forgotten",
            "finished runs are kept up to 3 MiB",
            "--keep-finished-mib",
        ],
    );
    send(&mut ws, &ClientMessage::Subscribe { run: RunId(3) }).await;
    let (events, _) = events_until_finished(&mut ws).await;
    assert_eq!(events.first().map(|e| (e.run, e.seq)), Some((RunId(3), 0)));
    send(&mut ws, &ClientMessage::Subscribe { run: RunId(4) }).await;
    assert_error(
        &next_error(&mut ws).await,
        ErrorKind::NotFound,
        &["run 4 does not exist"],
    );
}
