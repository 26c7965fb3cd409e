//! Perfetto traces from the CLI: `procviz run … --trace FILE.json` writes one while the run
//! goes, and `procviz convert RUN.ndjson --perfetto FILE.json` turns the run's recording into
//! the same file.

use std::process::Command;
use testkit::*;

#[test]
fn a_recording_converts_to_the_trace_the_live_run_wrote() {
    let dir = TempDir::create("trace");
    let live = dir.path().join("live.json");
    let recording = dir.path().join("run.ndjson");
    let converted = dir.path().join("converted.json");
    let out = Command::new(procviz())
        .args([
            "run",
            "pool",
            "--workers",
            "2",
            "--tasks",
            "8",
            "--task-ms",
            "40",
            "--work",
            "cpu",
            "--kill",
            "PoolWorker-2@100",
            "--trace",
        ])
        .arg(&live)
        .output()
        .expect("procviz run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&recording, &out.stdout).expect("the recording");
    let out = Command::new(procviz())
        .arg("convert")
        .arg(&recording)
        .arg("--perfetto")
        .arg(&converted)
        .output()
        .expect("procviz convert");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let live = std::fs::read(&live).expect("the live run's trace");
    let converted = std::fs::read(&converted).expect("the converted trace");
    assert!(live == converted, "the same bytes");
    let trace: serde_json::Value = serde_json::from_slice(&live).expect("JSON");
    let tasks = trace["traceEvents"]
        .as_array()
        .expect("traceEvents")
        .iter()
        .filter(|e| e["ph"] == "X" && e["cat"] == "task")
        .count();
    assert_eq!(tasks, 8, "every task");
    let ftrace = trace["systemTraceEvents"].as_str().expect("ftrace text");
    assert!(ftrace.contains("next_comm=PoolWorker-1 "), "{ftrace}");
}

#[test]
fn converting_what_is_not_a_recording_says_so() {
    let dir = TempDir::create("trace-bad");
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "hello\n").expect("write");
    let out = Command::new(procviz())
        .arg("convert")
        .arg(&notes)
        .arg("--perfetto")
        .arg(dir.path().join("t.json"))
        .output()
        .expect("procviz convert");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("skipped 1 line(s)"), "{stderr}");
    assert!(
        stderr.contains("not a recording of `procviz run`"),
        "{stderr}"
    );
}
