//! A client that stops reading while the runs it follows go on is closed with 1008 (policy
//! violation) and a reason it can show, once it has been behind by more than the limit for
//! the grace period; a client that reads loses nothing. The server is started with a limit
//! of 1 MiB and a grace of 2 s (hidden flags) so the rule shows in seconds.

use super::*;
use std::sync::Arc;
use testkit::*;
use tokio::sync::Notify;

/// A run that a reader keeps up with and that leaves one that does not read far behind:
/// 40,000 tasks of 1 ms on four workers, about 160,000 events (18 MB) over ten seconds or so.
fn steady_run() -> ClientMessage {
    ClientMessage::StartRun {
        demo: DemoRequest::Pool(PoolParams {
            tasks: 40_000,
            task_ms: 1,
            print: false,
            fail: Vec::new(),
            ..PoolParams::default()
        }),
        keep_on_disconnect: true,
        sample_ms: None,
        schedule: Vec::new(),
        request: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_with_1008_and_a_reader_loses_nothing() {
    let server = Server::start_on("0", &["--max-backlog-mib", "1", "--backlog-grace-s", "2"]);
    let (reader, _) = connect(&server).await;
    let (stuck, _) = connect(&server).await;
    let (mut control, _) = connect(&server).await;
    send(&mut control, &steady_run()).await;
    events_until(&mut control, |e| e.seq == 0).await;
    drop(control);
    // The stuck client reads nothing until the run is over and the grace has passed.
    let reader_done = Arc::new(Notify::new());
    let stuck = tokio::spawn(follow(stuck, {
        let done = reader_done.clone();
        async move {
            done.notified().await;
            tokio::time::sleep(Duration::from_secs(4)).await;
        }
    }));
    let got = follow(reader, std::future::ready(())).await;
    reader_done.notify_one();
    let got = got.unwrap_or_else(|e| panic!("the reader: {e}"));
    assert!(
        got.finished && got.ending.is_none(),
        "the reader got the whole run: {got:?}"
    );
    let total = got.events;
    let stuck = match stuck.await {
        Ok(Ok(got)) => got,
        Ok(Err(e)) => panic!("the stuck client: {e}"),
        Err(e) => panic!("the stuck client panicked: {e}"),
    };
    match &stuck.ending {
        Some(Ending::Close { code, reason }) => {
            assert_eq!(*code, POLICY, "{stuck:?}");
            assert!(
                reason.contains("more than 1 MiB behind for 2 s") && reason.contains("reload"),
                "{reason}"
            );
        }
        _ => panic!("a close frame 1008 expected: {stuck:?}"),
    }
    assert!(
        stuck.events < total,
        "the stuck client got all {total} events: not behind"
    );
    println!(
        "slow reader: closed with 1008 after {} of {total} events (gap-free up to there); the \
         reader got all {total}, gap-free",
        stuck.events
    );
    // The server serves on.
    let health = http_get(&server.addr, "/healthz", &[]).await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
}
