//! Load: 100 connections follow a run of 100,000 tasks (400,000 events, about 45 MB of JSON
//! each) while one more follows it and reads nothing for 30 s. Every reading client gets every
//! event, gap-free, ending with `run_finished`; the stuck one catches up afterwards or is closed
//! by the slow-reader rule (1008). Prints the server's peak memory and CPU time.

use super::*;
use std::time::{Duration, Instant};
use testkit::*;

const FOLLOWERS: usize = 100;
const STUCK_FOR: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_viewers_of_a_100k_task_run_get_every_event_and_a_stuck_one_does_no_harm() {
    let server = Server::start();
    let mut sockets = Vec::with_capacity(FOLLOWERS + 1);
    for _ in 0..=FOLLOWERS {
        sockets.push(connect(&server).await.0);
    }
    let cpu_before = cpu_time(server.pid()).expect("the server's CPU time");
    let clients_before = cpu_time(std::process::id()).expect("this test's CPU time");
    let (mut control, _) = connect(&server).await;
    let started = Instant::now();
    send(&mut control, &big_run()).await;
    events_until(&mut control, |e| e.seq == 0).await;
    // The run goes on without it (`keep_on_disconnect`).
    drop(control);
    let stuck = tokio::spawn(follow(
        sockets.pop().expect("one socket more"),
        tokio::time::sleep(STUCK_FOR),
    ));
    let followers: Vec<_> = sockets
        .into_iter()
        .map(|ws| tokio::spawn(follow(ws, std::future::ready(()))))
        .collect();
    let mut gots = Vec::with_capacity(FOLLOWERS);
    for (i, f) in followers.into_iter().enumerate() {
        match f.await {
            Ok(Ok(got)) => gots.push(got),
            Ok(Err(e)) => panic!("follower {i}: {e}"),
            Err(e) => panic!("follower {i} panicked: {e}"),
        }
    }
    let total = gots[0].events;
    assert!(total > 400_000, "a 100,000-task run has {total} events");
    for (i, got) in gots.iter().enumerate() {
        assert!(
            got.finished && got.ending.is_none(),
            "follower {i}: {got:?}"
        );
        assert_eq!(got.events, total, "follower {i}: every event");
    }
    let slowest = gots.iter().map(|g| g.done).max().unwrap_or(started) - started;
    let stuck = match stuck.await {
        Ok(Ok(got)) => got,
        Ok(Err(e)) => panic!("the stuck client: {e}"),
        Err(e) => panic!("the stuck client panicked: {e}"),
    };
    let stuck_said = match (&stuck.ending, stuck.finished) {
        (None, true) => {
            assert_eq!(stuck.events, total, "the stuck client caught up: {stuck:?}");
            "caught up".to_string()
        }
        (
            Some(Ending::Close {
                code: POLICY,
                reason,
            }),
            _,
        ) => format!("closed 1008 ({reason})"),
        _ => panic!("the stuck client neither caught up nor was closed with 1008: {stuck:?}"),
    };
    let cpu = cpu_time(server.pid()).expect("the server's CPU time") - cpu_before;
    let peak = peak_rss_kib(server.pid()).expect("the server's VmHWM");
    let clients = cpu_time(std::process::id()).expect("this test's CPU time") - clients_before;
    let bytes: u64 = gots.iter().map(|g| g.bytes).sum();
    println!(
        "load: {FOLLOWERS} followers × {total} events ({:.1} MB each) lost: 0, gap-free, all ended \
         with run_finished; slowest follower done {:.1} s after the start; stuck client (30 s \
         without reading): {stuck_said} after {} events; server CPU {:.1} s, peak RSS {} MiB \
         (the clients' CPU, this test binary's: {:.1} s)",
        bytes as f64 / FOLLOWERS as f64 / 1e6,
        slowest.as_secs_f64(),
        stuck.events,
        cpu.as_secs_f64(),
        peak / 1024,
        clients.as_secs_f64(),
    );
}
