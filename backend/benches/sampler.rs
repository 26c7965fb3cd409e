//! Overhead of the per-core sampler (issue #4).
//!
//! `cargo bench -p backend --bench sampler`: for 1, 8 and 64 sleeping processes, runs
//! `procviz run processes …` and measures the CPU time of its `procviz-sampler` thread (from
//! that thread's schedstat) over 3 s of sampling. Prints a Markdown table.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PROCVIZ: &str = env!("CARGO_BIN_EXE_procviz");
const WINDOW: Duration = Duration::from_secs(3);

fn thread_cpu_ns(pid: u32, tid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat"))
        .expect("schedstat")
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("on-CPU ns")
}

/// (% of one core, µs per process per sample)
fn measure(processes: u32, interval_ms: Option<u32>) -> (f64, f64) {
    let mut cmd = Command::new(PROCVIZ);
    cmd.arg("run");
    if let Some(ms) = interval_ms {
        cmd.args(["--sample-ms", &ms.to_string()]);
    }
    let mut child = cmd
        .args([
            "processes",
            "--print",
            "",
            "--work-ms",
            "6000",
            "--count",
            &processes.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("procviz run");
    std::thread::sleep(Duration::from_millis(1000));
    let pid = child.id();
    let tid = std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("tasks")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|t| {
            std::fs::read_to_string(format!("/proc/{pid}/task/{t}/comm"))
                .is_ok_and(|c| c.trim() == "procviz-sampler")
        })
        .expect("the sampler thread");
    let (c0, w0) = (thread_cpu_ns(pid, &tid), Instant::now());
    std::thread::sleep(WINDOW);
    let (c1, w1) = (thread_cpu_ns(pid, &tid), Instant::now());
    child.kill().ok();
    child.wait().ok();
    let wall_ns = (w1 - w0).as_nanos() as f64;
    let cpu_ns = (c1 - c0) as f64;
    let interval_ns = f64::from(interval_ms.unwrap_or(20)) * 1e6;
    let samples = wall_ns / interval_ns;
    (
        100.0 * cpu_ns / wall_ns,
        cpu_ns / samples / f64::from(processes) / 1e3,
    )
}

fn main() {
    println!("| interval | processes | sampler CPU (% of one core) | µs per process per sample |");
    println!("|---|---|---|---|");
    for (interval, label) in [(None, "default (20 ms)"), (Some(10), "10 ms")] {
        for n in [1, 8, 64] {
            let (pct, per) = measure(n, interval);
            println!("| {label} | {n} | {pct:.2} | {per:.1} |");
        }
    }
}
