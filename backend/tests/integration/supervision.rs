//! No child outlives its run or its server: cancel, a closed client, SIGTERM and SIGKILL of
//! the server. Each test counts the real processes left.

use shared::{
    ClientMessage, DemoRequest, EventKind, ExitStatus, KillReason, RunOutcome, TwoProcessesParams,
};
use std::time::Duration;
use testkit::*;

const LINGER: ClientMessage = ClientMessage::start(DemoRequest::TwoProcesses(TwoProcessesParams {
    num: 2,
    linger_ms: 30_000,
}));

/// Starts a long run and returns the PIDs once both children have printed.
async fn long_run(ws: &mut Ws) -> Vec<u32> {
    send(ws, &LINGER).await;
    let events = until_second_child_printed(ws).await;
    let pids = spawned_pids(&events);
    assert_eq!(pids.len(), 2);
    assert!(pids.iter().all(|&p| is_live_worker(p)));
    pids
}

#[tokio::test]
async fn cancel_terminates_the_children_and_records_why() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    let pids = long_run(&mut ws).await;
    let run = shared::RunId(1);
    send(&mut ws, &ClientMessage::CancelRun { run }).await;
    let (events, _) = events_until_finished(&mut ws).await;
    let exits = exits(&events);
    assert_eq!(exits.len(), 2);
    for (status, by) in exits {
        assert_eq!(status, ExitStatus::Signal { signal: 15 });
        assert_eq!(status.python_exitcode(), -15);
        assert_eq!(by, Some(KillReason::Cancelled));
    }
    assert_eq!(
        events.last().unwrap().kind,
        EventKind::RunFinished {
            outcome: RunOutcome::Cancelled {
                reason: KillReason::Cancelled
            }
        }
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Output { text, .. } if text == "Done!"))
    );
    assert_eq!(wait_gone(&pids, Duration::from_secs(2)), Vec::<u32>::new());
}

#[tokio::test]
async fn closing_the_client_ends_its_runs() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    let pids = long_run(&mut ws).await;
    drop(ws);
    assert_eq!(wait_gone(&pids, Duration::from_secs(2)), Vec::<u32>::new());
    // The server keeps serving.
    let (_ws, _) = connect(&server).await;
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully_and_ends_every_child() {
    let mut server = Server::start();
    let (mut ws, _) = connect(&server).await;
    let pids = long_run(&mut ws).await;
    let status = server.signal_and_wait(libc::SIGTERM, Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "graceful exit");
    assert_eq!(wait_gone(&pids, Duration::from_secs(2)), Vec::<u32>::new());
}

#[tokio::test]
async fn sigkill_of_the_server_leaves_no_child_behind() {
    let mut server = Server::start();
    let (mut ws, _) = connect(&server).await;
    let pids = long_run(&mut ws).await;
    let fork_server = parent_of(pids[0]).unwrap();
    assert!(cmdline(fork_server).ends_with("__zygote"));
    server.signal_and_wait(libc::SIGKILL, Duration::from_secs(5));
    assert_eq!(wait_gone(&pids, Duration::from_secs(2)), Vec::<u32>::new());
    // The fork server is gone too.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while cmdline(fork_server).ends_with("__zygote") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !cmdline(fork_server).ends_with("__zygote"),
        "the fork server outlived the server"
    );
}

#[test]
fn a_port_in_use_is_a_clear_error_and_exit_code_1() {
    let server = Server::start();
    let port = server.addr.rsplit(':').next().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_procviz"))
        .args(["--port", port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("could not listen on") && err.contains("--port"),
        "{err}"
    );
}

#[tokio::test]
async fn a_run_kept_on_disconnect_survives_the_closed_tab_and_can_be_cancelled_later() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    let ClientMessage::StartRun { demo, .. } = LINGER else {
        unreachable!()
    };
    send(
        &mut ws,
        &ClientMessage::StartRun {
            demo,
            keep_on_disconnect: true,
            sample_ms: None,
            schedule: Vec::new(),
            request: None,
        },
    )
    .await;
    let events = until_second_child_printed(&mut ws).await;
    let pids = spawned_pids(&events);
    drop(ws);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        pids.iter().all(|&p| is_live_worker(p)),
        "the run kept going"
    );
    let (mut again, _) = connect(&server).await;
    send(&mut again, &ClientMessage::CancelRun { run: events[0].run }).await;
    send(&mut again, &ClientMessage::Subscribe { run: events[0].run }).await;
    let (all, _) = events_until_finished(&mut again).await;
    assert_eq!(all[0].seq, 0, "a new viewer gets the whole run");
    assert_eq!(wait_gone(&pids, Duration::from_secs(2)), Vec::<u32>::new());
}
