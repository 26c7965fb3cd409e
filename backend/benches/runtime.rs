//! Runtime benchmarks for issue #3, with Python's multiprocessing measured in the same run.
//!
//! `cargo bench -p backend --bench runtime` (release build of `procviz`; python3 on PATH).
//! Prints a Markdown table for docs/BENCHMARKS.md.

use futures_util::{SinkExt, StreamExt};
use shared::{ClientMessage, DemoRequest, Event, EventKind, PoolParams, ServerMessage, Work};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const PROCVIZ: &str = env!("CARGO_BIN_EXE_procviz");
const TASKS: u64 = 100_000;

fn run(args: &[&str]) -> Vec<Event> {
    let out = Command::new(PROCVIZ)
        .arg("run")
        .args(args)
        .output()
        .expect("procviz run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("event"))
        .collect()
}

fn at(events: &[Event], pred: impl Fn(&EventKind) -> bool) -> f64 {
    events
        .iter()
        .find(|e| pred(&e.kind))
        .map(|e| e.t.as_secs_f64())
        .expect("event present")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

/// Tasks per second from the moment the tasks are queued to the pool's close (every event
/// recorded, streamed as NDJSON by the CLI), best of `rounds`; and the best wall time of the
/// whole command.
fn imap_rate(chunksize: u32, rounds: usize) -> (f64, f64) {
    let tasks = TASKS.to_string();
    let cs = chunksize.to_string();
    let mut best: f64 = 0.0;
    let mut wall_best = f64::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        let events = run(&[
            "pool",
            "--tasks",
            &tasks,
            "--work",
            "none",
            "--task-ms",
            "0",
            "--fail",
            "",
            "--quiet-tasks",
            "--chunksize",
            &cs,
        ]);
        wall_best = wall_best.min(start.elapsed().as_secs_f64());
        let queued = at(&events, |k| matches!(k, EventKind::TasksQueued { .. }));
        let closed = at(&events, |k| matches!(k, EventKind::PoolClosed));
        let consumed = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::ResultConsumed { .. }))
            .count();
        assert_eq!(consumed as u64, TASKS);
        best = best.max(TASKS as f64 / (closed - queued));
    }
    (best, wall_best)
}

/// Median start+join of one process (spawned → exited, as the server stamps them), `n`
/// processes started and joined one after the other in one run (like Python's loop of
/// `p.start(); p.join()`).
fn start_join_ms(n: usize) -> f64 {
    let count = n.to_string();
    let events = run(&[
        "processes",
        "--count",
        &count,
        "--sequential",
        "--print",
        "",
    ]);
    let mut spawned = std::collections::HashMap::new();
    let mut samples = Vec::with_capacity(n);
    for e in &events {
        match e.kind {
            EventKind::ProcessSpawned { proc, .. } => {
                spawned.insert(proc, e.t.as_secs_f64());
            }
            EventKind::ProcessExited { proc, .. } => {
                samples.push((e.t.as_secs_f64() - spawned[&proc]) * 1e3);
            }
            _ => {}
        }
    }
    assert_eq!(samples.len(), n);
    median(samples)
}

/// Median time from the pool's creation to every worker up and waiting (tasks queued).
fn pool_ready_ms(n: usize) -> f64 {
    median(
        (0..n)
            .map(|_| {
                let events = run(&["pool", "--tasks", "0"]);
                let created = at(&events, |k| matches!(k, EventKind::PoolStarted { .. }));
                let ready = at(&events, |k| matches!(k, EventKind::TasksQueued { .. }));
                (ready - created) * 1e3
            })
            .collect(),
    )
}

/// Peak and final resident memory of the server after a 100,000-task run streamed to a real
/// WebSocket client, and the number of events received.
async fn server_memory_mib() -> (f64, f64, usize) {
    let mut server = Command::new(PROCVIZ)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("server");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("URL line");
    // `http://ADDR/?token=TOKEN`: the WebSocket takes the token in its URL.
    let (addr, token) = line
        .trim()
        .trim_start_matches("procviz listening on http://")
        .split_once("/?token=")
        .expect("the URL line names the address and the token");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws?token={token}"))
        .await
        .expect("connect");
    let demo = DemoRequest::Pool(PoolParams {
        tasks: TASKS,
        work: Work::None,
        task_ms: 0,
        fail: vec![],
        print: false,
        ..PoolParams::default()
    });
    let cmd = serde_json::to_string(&ClientMessage::start(demo)).expect("json");
    ws.send(Message::Text(cmd.into())).await.expect("send");
    let mut events = 0;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(120), ws.next())
            .await
            .expect("events keep coming")
            .expect("socket open")
            .expect("frame");
        if let Message::Text(t) = frame
            && let ServerMessage::Events { events: batch, .. } =
                serde_json::from_str(t.as_str()).expect("message")
        {
            events += batch.len();
            if batch
                .iter()
                .any(|e| matches!(e.kind, EventKind::RunFinished { .. }))
            {
                break;
            }
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.id())).expect("status");
    let mib = |key: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .expect("field")
            / 1024.0
    };
    let (hwm, rss) = (mib("VmHWM:"), mib("VmRSS:"));
    server.kill().ok();
    server.wait().ok();
    (hwm, rss, events)
}

fn main() {
    let python = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../bench/python_reference.py"
        ))
        .arg(TASKS.to_string())
        .output()
        .expect("python3");
    assert!(
        python.status.success(),
        "{}",
        String::from_utf8_lossy(&python.stderr)
    );
    let py: serde_json::Value = serde_json::from_slice(&python.stdout).expect("python JSON");
    let f = |k: &str| py[k].as_f64().expect(k);

    let (rate1, wall1) = imap_rate(1, 3);
    let (rate100, wall100) = imap_rate(100, 3);
    let start_join = start_join_ms(63);
    let ready = pool_ready_ms(21);
    let (hwm, rss, events) = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(server_memory_mib());

    println!(
        "| measure | procviz | Python {} (same run) | ratio |",
        py["python"].as_str().unwrap_or("?")
    );
    println!("|---|---|---|---|");
    println!(
        "| `imap`, 100,000 no-op tasks, 4 workers, chunksize 1 (tasks/s) | {:.0} | {:.0} | **{:.1}×** |",
        rate1,
        f("imap_chunk1_tasks_per_s"),
        rate1 / f("imap_chunk1_tasks_per_s")
    );
    println!(
        "| same, chunksize 100 (tasks/s) | {:.0} | {:.0} | **{:.1}×** |",
        rate100,
        f("imap_chunk100_tasks_per_s"),
        rate100 / f("imap_chunk100_tasks_per_s")
    );
    println!(
        "| whole `procviz run` command, chunksize 1 / 100 (s, with the NDJSON of every event) | {wall1:.2} / {wall100:.2} | | |"
    );
    println!(
        "| process start+join, median (ms) | {:.2} | fork {:.2}, spawn {:.1} | {:.1}× faster than fork |",
        start_join,
        f("start_join_fork_ms"),
        f("start_join_spawn_ms"),
        f("start_join_fork_ms") / start_join
    );
    println!(
        "| pool of 4 ready, median (ms) | {:.2} | {:.1} (`Pool(4)` + first `map`) | {:.1}× |",
        ready,
        f("pool4_ready_ms"),
        f("pool4_ready_ms") / ready
    );
    println!(
        "| server memory after a 100,000-task run over WebSocket: peak / after (MiB) | {hwm:.1} / {rss:.1} ({events} events) | | |"
    );
}
