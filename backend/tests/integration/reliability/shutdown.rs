//! SIGTERM or Ctrl-C with viewers: every run ends with `run_finished` cancelled
//! {server_shutdown}, every viewer gets it and then a close frame 1001 (going away) with a
//! reason, and no child process is left.

use super::*;
use shared::{ClientMessage, DemoRequest, PoolParams, RunId};
use std::time::{Duration, Instant};
use testkit::*;

/// A run of four workers whose tasks sleep for a minute, followed by `viewers` connections
/// (the presenter's among them) and watched by one more connection that follows nothing; then
/// `signal`.
async fn stop_with(signal: i32, viewers: usize) {
    let mut server = Server::start();
    let (mut presenter, _) = connect(&server).await;
    let sleepy = PoolParams {
        workers: 4,
        tasks: 8,
        task_ms: 60_000,
        fail: Vec::new(),
        ..PoolParams::default()
    };
    send(
        &mut presenter,
        &ClientMessage::start(DemoRequest::Pool(sleepy)),
    )
    .await;
    let up = |e: &Event| matches!(e.kind, EventKind::TaskStarted { .. });
    let mut seen = vec![events_until(&mut presenter, up).await];
    let mut followers = vec![presenter];
    for _ in 1..viewers {
        let (mut ws, _) = connect(&server).await;
        send(&mut ws, &ClientMessage::Subscribe { run: RunId(1) }).await;
        seen.push(events_until(&mut ws, up).await);
        followers.push(ws);
    }
    let (mut idle, _) = connect(&server).await;
    let pids = spawned_pids(&seen[0]);
    assert_eq!(pids.len(), 4, "four workers");
    let zygote = parent_of(pids[0]).expect("the workers' fork server");
    for &pid in &pids {
        assert_child_of_server(pid, server.pid());
    }

    let stopped = Instant::now();
    server.signal(signal);
    for (i, ws) in followers.iter_mut().enumerate() {
        let (messages, ending) = read_to_end(ws, 15).await;
        let mut events = std::mem::take(&mut seen[i]);
        events.extend(events_of(messages));
        assert_gap_free(&events);
        assert_eq!(
            outcome(&events),
            Some(&SERVER_SHUTDOWN),
            "viewer {i}: the run's last event"
        );
        match &ending {
            Ending::Close { code, reason } => {
                assert_eq!(*code, GOING_AWAY, "viewer {i}: {ending:?}");
                assert!(reason.contains("shutting down"), "viewer {i}: {ending:?}");
            }
            other => panic!("viewer {i}: a close frame 1001 expected, got {other:?}"),
        }
    }
    let (messages, ending) = read_to_end(&mut idle, 15).await;
    assert!(
        events_of(messages).is_empty(),
        "the idle connection follows nothing"
    );
    assert_eq!(
        ending.code(),
        Some(GOING_AWAY),
        "the idle connection: {ending:?}"
    );
    let status = server.wait_exit(Duration::from_secs(15));
    let took = stopped.elapsed();
    assert!(status.success(), "the server's exit: {status}");
    assert!(
        took < Duration::from_secs(7),
        "the server took {took:?} to stop"
    );
    let children = wait_gone(&pids, Duration::ZERO);
    assert!(
        children.is_empty(),
        "children left after the server stopped: {children:?}"
    );
    let fork_server = wait_gone(&[zygote], Duration::from_secs(2));
    assert!(
        fork_server.is_empty(),
        "the fork server outlived the server"
    );
    println!(
        "stopped with signal {signal}: {viewers} viewers got run_finished cancelled{{server_shutdown}} \
         and close 1001; server exited in {took:?}; children left: 0"
    );
}

#[tokio::test]
async fn sigterm_ends_every_run_for_its_viewers_then_closes_with_1001_and_leaves_no_child() {
    stop_with(libc::SIGTERM, 4).await;
}

#[tokio::test]
async fn ctrl_c_ends_the_same_way() {
    stop_with(libc::SIGINT, 1).await;
}

#[test]
fn a_server_whose_terminal_went_away_still_stops_on_sigterm() {
    // `procviz 2>&1 | head -1`: after the first line nobody reads stdout or stderr. Printing
    // "shutting down" then fails; the server must stop all the same.
    let mut child = std::process::Command::new(procviz())
        .args(["--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start procviz");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
        .expect("the URL line");
    assert!(line.starts_with("procviz listening on"), "{line}");
    drop(child.stderr.take());
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(
        status.is_some(),
        "the server did not stop within 10 s of SIGTERM once its stdout and stderr were closed"
    );
}
