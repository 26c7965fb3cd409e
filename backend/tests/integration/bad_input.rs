//! Malformed, unknown, oversized and out-of-range commands get a clear error; the connection
//! and the server stay up.

use futures_util::SinkExt;
use shared::{
    ClientMessage, DemoRequest, ErrorKind, EventKind, RunId, ServerMessage, TwoProcessesParams,
};
use testkit::*;
use tokio_tungstenite::tungstenite::Message;

async fn expect_error(ws: &mut Ws, kind: ErrorKind, needle: &str) {
    match next_message(ws).await.expect("socket closed") {
        ServerMessage::Error(e) => {
            assert_eq!(e.kind, kind, "{e:?}");
            assert!(
                e.message.contains(needle),
                "{:?} should mention {needle:?}",
                e.message
            );
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn every_bad_command_is_answered_and_the_connection_survives() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;

    send_text(&mut ws, "{not json".into()).await;
    expect_error(&mut ws, ErrorKind::Malformed, "not valid JSON").await;

    send_text(&mut ws, r#"{"type":"format_disk"}"#.into()).await;
    expect_error(&mut ws, ErrorKind::Unknown, "format_disk").await;

    send_text(
        &mut ws,
        r#"{"type":"start_run","demo":{"demo":"two_processes","nmu":1}}"#.into(),
    )
    .await;
    expect_error(&mut ws, ErrorKind::Unknown, "nmu").await;

    let huge = format!(
        r#"{{"type":"start_run","pad":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    send_text(&mut ws, huge).await;
    expect_error(&mut ws, ErrorKind::TooLarge, "65536").await;

    ws.send(Message::Binary(vec![1u8, 2, 3].into()))
        .await
        .unwrap();
    expect_error(&mut ws, ErrorKind::Malformed, "binary").await;

    let bad = ClientMessage::start(DemoRequest::TwoProcesses(TwoProcessesParams {
        num: 10,
        linger_ms: 3_600_000,
    }));
    send(&mut ws, &bad).await;
    expect_error(&mut ws, ErrorKind::InvalidParameter, "linger_ms").await;

    send(&mut ws, &ClientMessage::CancelRun { run: RunId(999) }).await;
    expect_error(&mut ws, ErrorKind::NotFound, "run 999").await;

    // Still the same connection: a good command works.
    send(
        &mut ws,
        &ClientMessage::start(DemoRequest::TwoProcesses(TwoProcessesParams::default())),
    )
    .await;
    let (events, _) = events_until_finished(&mut ws).await;
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Output { text, .. } if text == "Done!"))
    );

    // And the server serves others.
    let health = http_get(&server.addr, "/healthz", &[]).await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
}

#[tokio::test]
async fn too_many_concurrent_runs_are_refused_with_the_limit_named() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    let slow = ClientMessage::start(DemoRequest::TwoProcesses(TwoProcessesParams {
        num: 1,
        linger_ms: 10_000,
    }));
    for _ in 0..4 {
        send(&mut ws, &slow).await;
    }
    send(&mut ws, &slow).await;
    loop {
        match next_message(&mut ws).await.expect("closed") {
            ServerMessage::Error(e) => {
                assert_eq!(e.kind, ErrorKind::LimitReached);
                assert!(e.message.contains('4'), "{}", e.message);
                break;
            }
            ServerMessage::Events { .. } => continue,
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn a_schedule_out_of_range_or_too_long_is_refused_and_nothing_starts() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    let kill = |at_ms| shared::Scheduled {
        at_ms,
        action: shared::RunAction::KillProcess {
            name: "PoolWorker-2".into(),
        },
    };
    let start = |schedule| ClientMessage::StartRun {
        demo: DemoRequest::TwoProcesses(TwoProcessesParams::default()),
        keep_on_disconnect: true,
        sample_ms: None,
        schedule,
        request: Some("refused".into()),
    };
    send(
        &mut ws,
        &start(vec![kill(shared::Scheduled::MAX_AT_MS + 1)]),
    )
    .await;
    expect_error(&mut ws, ErrorKind::InvalidParameter, "at_ms").await;
    let too_many = vec![kill(100); shared::Scheduled::MAX_ACTIONS + 1];
    send(&mut ws, &start(too_many)).await;
    expect_error(&mut ws, ErrorKind::InvalidParameter, "scheduled actions").await;
    match connect(&server).await.1 {
        ServerMessage::Hello { runs, .. } => assert!(runs.is_empty(), "started: {runs:?}"),
        other => panic!("hello expected, got {other:?}"),
    }
}
