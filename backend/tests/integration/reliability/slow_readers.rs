//! A client that stops reading while the runs it follows go on is closed with 1008 (policy
//! violation) and a reason it can show, once it has been behind by more than the limit for
//! the grace period; a client that reads loses nothing. The server is started with a limit
//! of 1 MiB and a grace of 2 s (hidden flags) so the rule shows in seconds.

use super::*;
use shared::{ClientMessage, DemoRequest, PoolParams, RunId, Work};
use std::time::{Duration, Instant};
use testkit::*;

/// A run of 100,000 tasks that do nothing and print nothing: 400,000 events, about 45 MB of
/// JSON.
pub(super) fn big_run() -> ClientMessage {
    ClientMessage::StartRun {
        demo: DemoRequest::Pool(PoolParams {
            tasks: 100_000,
            work: Work::None,
            task_ms: 0,
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
    let (mut reader, _) = connect(&server).await;
    let (mut stuck, _) = connect(&server).await;
    send(&mut reader, &big_run()).await;
    let first = events_until(&mut reader, |e| e.seq == 0).await;
    send(&mut stuck, &ClientMessage::Subscribe { run: RunId(1) }).await;
    let stopped_reading = Instant::now();

    let (rest, _) = events_until_finished(&mut reader).await;
    let mut all = first;
    all.extend(rest);
    assert_gap_free(&all);
    assert_eq!(outcome(&all), Some(&RunOutcome::Completed));
    let total = all.len();

    // Past the grace (and the time to notice), the stuck client reads again.
    let pause = Duration::from_secs(5).saturating_sub(stopped_reading.elapsed());
    tokio::time::sleep(pause).await;
    let (messages, ending) = read_to_end(&mut stuck, 30).await;
    let got = events_of(messages);
    assert_gap_free(&got);
    match &ending {
        Ending::Close { code, reason } => {
            assert_eq!(*code, POLICY, "{ending:?}");
            assert!(
                reason.contains("more than 1 MiB behind for 2 s") && reason.contains("reload"),
                "{reason}"
            );
        }
        other => panic!(
            "a close frame 1008 expected, got {other:?} after {} events",
            got.len()
        ),
    }
    assert!(
        got.len() < total,
        "the stuck client got all {total} events: not behind"
    );
    println!(
        "slow reader: closed with 1008 after {} of {total} events; the reader got all {total}, gap-free",
        got.len()
    );
    // The server serves on.
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, &ClientMessage::Subscribe { run: RunId(1) }).await;
    let (again, _) = events_until_finished(&mut ws).await;
    assert_eq!(again.len(), total, "a new viewer gets the whole run");
}
