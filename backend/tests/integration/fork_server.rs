//! The fork server (`procviz __zygote`) killed from outside mid-run: the runs in flight fail and
//! say why, their children are gone, the dead fork server is reaped (no zombie), the server logs
//! it at the default level, a new fork server starts, and the next run works.

use shared::{
    ClientMessage, DemoRequest, Event, EventKind, ExitStatus, RunOutcome, TaskResult,
    TwoProcessesParams,
};
use std::time::Duration;
use testkit::*;

const LINGER: ClientMessage = ClientMessage::start(DemoRequest::TwoProcesses(TwoProcessesParams {
    num: 2,
    linger_ms: 30_000,
}));

/// The server's live fork server: its one child whose command line names `__zygote` and is not
/// `old` (a fork server it had before).
async fn live_fork_server(server: &Server, old: Option<u32>) -> u32 {
    eventually("one live fork server", 5, async || {
        let children = children_of(server.pid());
        let live: Vec<u32> = children
            .iter()
            .filter(|(_, state, cmd)| *state != 'Z' && cmd.contains("__zygote"))
            .map(|(pid, ..)| *pid)
            .collect();
        match live.as_slice() {
            [pid] if Some(*pid) != old => Ok(*pid),
            _ => Err(format!("the server's children: {children:?}")),
        }
    })
    .await
}

fn outcome(events: &[Event]) -> Option<&RunOutcome> {
    match &events.last()?.kind {
        EventKind::RunFinished { outcome } => Some(outcome),
        _ => None,
    }
}

#[tokio::test]
async fn a_fork_server_killed_mid_run_fails_the_runs_in_flight_and_the_next_run_works() {
    let server = Server::start_keeping_stderr();
    let zygote = live_fork_server(&server, None).await;

    // Two runs in flight, each followed by its own connection: sleeping processes, and a pool.
    let (mut a, _) = connect(&server).await;
    send(&mut a, &LINGER).await;
    let mut run_a = until_second_child_printed(&mut a).await;
    let (mut b, _) = connect(&server).await;
    send(&mut b, &pool_request(8, 1000)).await;
    let mut run_b = events_until(&mut b, |e| {
        matches!(e.kind, EventKind::TaskStarted { task: 3, .. })
    })
    .await;
    let children: Vec<u32> = [&run_a, &run_b]
        .into_iter()
        .flat_map(|run| spawned_pids(run))
        .collect();
    assert_eq!(children.len(), 6, "two processes and four workers");
    for &pid in &children {
        assert_eq!(parent_of(pid), Some(zygote), "forked by the fork server");
    }

    // SAFETY: a signal to a process of this test's own server.
    assert_eq!(unsafe { libc::kill(zygote as i32, libc::SIGKILL) }, 0);
    run_a.extend(events_until_finished(&mut a).await.0);
    run_b.extend(events_until_finished(&mut b).await.0);

    for (run, spawned) in [(&run_a, 2), (&run_b, 4)] {
        match outcome(run) {
            Some(RunOutcome::Failed { message }) => assert!(
                message.contains("the fork server died (killed by signal 9)")
                    && message.contains("a new one was started"),
                "{message}"
            ),
            other => panic!("the run in flight must fail, not end {other:?}"),
        }
        // Each child died with it (SIGKILL from the kernel), not killed by procviz.
        let exits = exits(run);
        assert_eq!(
            exits,
            vec![(ExitStatus::Signal { signal: 9 }, None); spawned],
            "every child's exit, and nothing respawned"
        );
    }
    assert!(
        !run_a
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Output { text, .. } if text == "Done!")),
        "the main process does not go on as if its children had finished"
    );
    assert_eq!(
        wait_gone(&children, Duration::from_secs(2)),
        Vec::<u32>::new()
    );

    // The dead fork server was reaped (no zombie child of the server) and a new one started.
    let new = live_fork_server(&server, Some(zygote)).await;
    let zombies: Vec<_> = children_of(server.pid())
        .into_iter()
        .filter(|(_, state, _)| *state == 'Z')
        .collect();
    assert!(zombies.is_empty(), "unreaped: {zombies:?}");
    let log = eventually("the death logged", 2, async || {
        let log = server.stderr();
        if log.contains("the fork server died") && log.contains("a new fork server was started") {
            Ok(log)
        } else {
            Err(log)
        }
    })
    .await;
    assert!(log.contains("killed by signal 9"), "{log}");

    // The next run works, its workers forked by the new fork server.
    let (mut c, _) = connect(&server).await;
    send(&mut c, &pool_request(4, 300)).await;
    let mut run_c = events_until(&mut c, |e| {
        matches!(e.kind, EventKind::TaskStarted { task: 3, .. })
    })
    .await;
    for pid in spawned_pids(&run_c) {
        assert_eq!(parent_of(pid), Some(new), "forked by the new fork server");
    }
    run_c.extend(events_until_finished(&mut c).await.0);
    assert_eq!(outcome(&run_c), Some(&RunOutcome::Completed));
    let results: Vec<_> = run_c
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ResultConsumed { index, result } => Some((*index, result.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        results,
        (0..4)
            .map(|i| (i, TaskResult::Value { value: i as i64 }))
            .collect::<Vec<_>>()
    );
}
