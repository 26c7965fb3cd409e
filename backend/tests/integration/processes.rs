//! Plain processes: names, exit statuses as Python shows them, workloads, affinity, limits.

use shared::{ClientMessage, DemoRequest, Event, EventKind, ProcId, ProcessesParams, Stream};
use std::collections::HashMap;
use testkit::*;

fn exit_codes(events: &[Event]) -> HashMap<String, i32> {
    let names: HashMap<ProcId, String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ProcessSpawned { proc, name, .. } => Some((*proc, name.clone())),
            _ => None,
        })
        .collect();
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ProcessExited { proc, status, .. } => {
                Some((names[&proc].clone(), status.python_exitcode()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn exit_statuses_read_like_python() {
    let (events, summary, code) = run_cli(&[
        "processes",
        "--fail",
        "2",
        "--crash",
        "3",
        "--exit-code",
        "3",
    ]);
    assert_eq!(code, 0, "{summary}");
    let codes = exit_codes(&events);
    assert_eq!(codes["Process-1"], 3, "a chosen code");
    assert_eq!(codes["Process-2"], 1, "an uncaught error");
    assert_eq!(codes["Process-3"], -6, "abort");
    assert_eq!(codes["Process-4"], 3);
    let stderr: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Output {
                proc: ProcId(2),
                stream: Stream::Stderr,
                text,
            } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        stderr.contains(&"RuntimeError: process 2 failed"),
        "{stderr:?}"
    );
    let (events, _, _) = run_cli(&["processes", "--count", "1", "--crash", "1", "--segfault"]);
    assert_eq!(exit_codes(&events)["Process-1"], -11);
}

#[test]
fn four_processes_print_their_numbers_in_some_order() {
    let (events, _, code) = run_cli(&["processes"]);
    assert_eq!(code, 0);
    let mut lines: Vec<(u32, String)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Output { proc, text, .. } => Some((proc.0, text.clone())),
            _ => None,
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            (1, "Num: 1".into()),
            (2, "Num: 2".into()),
            (3, "Num: 3".into()),
            (4, "Num: 4".into())
        ]
    );
}

#[test]
fn affinity_restricts_every_child_and_children_report_it() {
    let (events, _, code) = run_cli(&["processes", "--count", "3", "--cores", "0"]);
    assert_eq!(code, 0);
    let cpus: Vec<Vec<u32>> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ProcessStarted { cpus, .. } => Some(cpus.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(cpus, [vec![0], vec![0], vec![0]]);
    let (_, summary, code) = run_cli(&["processes", "--cores", "99"]);
    assert_ne!(code, 0);
    assert!(
        summary.contains("invalid value '99' for '--cores")
            && summary.contains("cores must be 0 to"),
        "{summary}"
    );
}

#[test]
fn threads_and_cpu_work_take_real_time() {
    let (events, _, code) = run_cli(&[
        "processes",
        "--count",
        "1",
        "--threads",
        "2",
        "--work-ms",
        "300",
    ]);
    assert_eq!(code, 0);
    let started = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::ProcessStarted { .. }))
        .map(secs)
        .unwrap();
    let exited = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::ProcessExited { .. }))
        .map(secs)
        .unwrap();
    assert!(exited - started >= 0.3, "{started} → {exited}");
}

#[tokio::test]
async fn memory_is_really_held() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    let demo = DemoRequest::Processes(ProcessesParams {
        count: 1,
        memory_mib: 64,
        work_ms: 3000,
        ..ProcessesParams::default()
    });
    send(&mut ws, &ClientMessage::start(demo)).await;
    let events = events_until(&mut ws, |e| matches!(e.kind, EventKind::Output { .. })).await;
    let pid = spawned_pids(&events)[0];
    let rss_kib = || -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while rss_kib() < 64 * 1024 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(rss_kib() >= 64 * 1024, "RSS {} KiB", rss_kib());
    send(&mut ws, &ClientMessage::CancelRun { run: events[0].run }).await;
    events_until_finished(&mut ws).await;
}

#[test]
fn output_beyond_the_limit_is_counted_not_silently_dropped() {
    let (events, summary, code) = run_cli(&[
        "--max-output-lines",
        "10",
        "pool",
        "--tasks",
        "20",
        "--task-ms",
        "0",
        "--fail",
        "",
    ]);
    assert_eq!(code, 0, "{summary}");
    let kept = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Output { .. }))
        .count();
    assert_eq!(kept, 10);
    let dropped = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::OutputDropped { lines, .. } => Some(lines),
            _ => None,
        })
        .max();
    assert_eq!(dropped, Some(30), "40 lines printed, 10 kept");
    assert!(
        summary.contains("output lines dropped (limit reached): 30"),
        "{summary}"
    );
}

#[tokio::test]
async fn an_output_flood_past_the_servers_limit_reaches_the_page_as_output_dropped() {
    // 101,000 tasks print 2 lines each: 2,000 past the server's limit of 200,000.
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    send(
        &mut ws,
        &ClientMessage::start(DemoRequest::Pool(shared::PoolParams {
            tasks: 101_000,
            task_ms: 0,
            fail: vec![],
            ..shared::PoolParams::default()
        })),
    )
    .await;
    let (events, _) = events_until_finished(&mut ws).await;
    let kept = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Output { .. }))
        .count();
    assert_eq!(kept, 200_000);
    let dropped: Vec<u64> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::OutputDropped { lines, .. } => Some(lines),
            _ => None,
        })
        .collect();
    // The run's running total as each process's reader saw it: never above the real total,
    // and the largest report is it.
    assert!(
        dropped.iter().all(|&d| (1..=2_000).contains(&d)),
        "a running total: {dropped:?}"
    );
    assert_eq!(dropped.iter().max(), Some(&2_000), "202,000 lines printed");
    assert_eq!(
        events.last().map(|e| &e.kind),
        Some(&EventKind::RunFinished {
            outcome: shared::RunOutcome::Completed
        })
    );
}

#[test]
fn a_run_past_its_time_limit_is_cancelled_with_the_reason() {
    let (events, summary, code) = run_cli(&[
        "--max-run-ms",
        "300",
        "processes",
        "--count",
        "2",
        "--work-ms",
        "30000",
    ]);
    assert_eq!(code, 1, "{summary}");
    assert_eq!(
        events.last().unwrap().kind,
        EventKind::RunFinished {
            outcome: shared::RunOutcome::Cancelled {
                reason: shared::KillReason::LimitReached
            }
        }
    );
    let exits: Vec<(i32, Option<shared::KillReason>)> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ProcessExited {
                status, killed_by, ..
            } => Some((status.python_exitcode(), killed_by)),
            _ => None,
        })
        .collect();
    assert_eq!(exits, [(-15, Some(shared::KillReason::LimitReached)); 2]);
    let total = secs(events.last().unwrap());
    assert!((0.3..2.0).contains(&total), "{total}");
    assert!(summary.contains("LimitReached"), "{summary}");
}
