//! Per-core lanes, checked against the kernel with real CPU-bound and sleeping processes.
//! The tests run one at a time: they measure the machine's cores.

use shared::{Event, EventKind, ProcId};
use std::collections::HashMap;
use testkit::*;

fn kernel_cpu(events: &[Event]) -> HashMap<u32, u64> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ProcessExited {
                proc,
                cpu_time_ns: Some(ns),
                ..
            } => Some((proc.0, ns)),
            _ => None,
        })
        .collect()
}

fn cpu_run(extra: &[&str]) -> Vec<Event> {
    let mut args = vec![
        "--sample-ms",
        "10",
        "processes",
        "--print",
        "",
        "--work",
        "cpu",
    ];
    args.extend_from_slice(extra);
    let (events, summary, code) = run_cli(&args);
    assert_eq!(code, 0, "{summary}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::SamplerStarted { interval_ms: 10 }))
    );
    events
}

#[test]
fn one_core_time_slices_four_cpu_bound_processes() {
    let _one = one_at_a_time();
    let events = cpu_run(&["--count", "4", "--work-ms", "1000", "--cores", "0"]);
    let segs = segments(&events);
    let total = run_secs(&events);
    assert!(
        (3.4..=5.0).contains(&total),
        "four 1 s tasks on one core take about 4 s: {total}"
    );
    let kernel = kernel_cpu(&events);
    for proc in 1..=4 {
        let mine: Vec<&Seg> = segs.iter().filter(|s| s.proc == proc).collect();
        let on: u64 = mine.iter().map(|s| s.on).sum();
        let on_core0: u64 = mine
            .iter()
            .filter(|s| s.core == Some(0))
            .map(|s| s.on)
            .sum();
        assert!(
            on_core0 as f64 >= 0.95 * on as f64,
            "process {proc}: {on_core0} of {on} ns on core 0"
        );
        let waiting: u64 = mine.iter().map(|s| s.waiting).sum();
        assert!(
            waiting > 1_000_000_000,
            "process {proc} waited for the core: {waiting} ns"
        );
        let slices: u32 = mine.iter().map(|s| s.slices).sum();
        assert!(slices >= 50, "process {proc}: {slices} slices");
        // Interleaved: it ran early and late in the run, beside the others.
        let running: Vec<&&Seg> = mine.iter().filter(|s| s.on > 0).collect();
        assert!(running.first().unwrap().start < 0.2 * total);
        assert!(running.last().unwrap().end > 0.75 * total);
        // The samples add up to the kernel's own account (within 5 %).
        let exact = kernel[&proc] as f64;
        assert!(
            (on as f64 - exact).abs() <= 0.05 * exact,
            "process {proc}: sampled {on} vs kernel {exact}"
        );
    }
}

#[test]
fn two_cores_carry_four_unpinned_processes_in_half_the_time() {
    let _one = one_at_a_time();
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("SKIPPED: this machine has one core");
        return;
    }
    let events = cpu_run(&["--count", "4", "--work-ms", "1000"]);
    let total = run_secs(&events);
    assert!(
        (1.6..=3.0).contains(&total),
        "four 1 s tasks on two cores take about 2 s: {total}"
    );
    let segs = segments(&events);
    let mut per_core: HashMap<u32, u64> = HashMap::new();
    for s in &segs {
        if let Some(c) = s.core {
            *per_core.entry(c).or_default() += s.on;
        }
    }
    let sum: u64 = per_core.values().sum();
    assert!(per_core.len() >= 2, "{per_core:?}");
    for (core, on) in &per_core {
        if *core < 2 {
            assert!(
                *on as f64 > 0.3 * sum as f64,
                "core {core} carried {on} of {sum} ns"
            );
        }
    }
    let loads: Vec<&Vec<shared::CoreShare>> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CoreLoad { cores, .. } => Some(cores),
            _ => None,
        })
        .collect();
    assert!(!loads.is_empty());
    assert!(
        loads.iter().any(|c| c.len() >= 2
            && c[0].run > 0.5
            && c[1].run > 0.5
            && c[0].busy >= c[0].run - 0.1),
        "both cores busy with the run: {loads:?}"
    );
}

#[test]
fn a_sleeping_process_shows_no_cpu_and_a_sleeping_state() {
    let _one = one_at_a_time();
    let (events, _, code) = run_cli(&[
        "--sample-ms",
        "10",
        "processes",
        "--count",
        "1",
        "--work-ms",
        "600",
    ]);
    assert_eq!(code, 0);
    let segs = segments(&events);
    let on: u64 = segs.iter().map(|s| s.on).sum();
    assert!(on < 30_000_000, "a sleeper used {on} ns");
    let asleep: f64 = segs
        .iter()
        .filter(|s| s.core.is_none())
        .map(|s| s.end - s.start)
        .sum();
    assert!(asleep > 0.4, "asleep for {asleep} s of 0.6 s");
}

#[test]
fn two_threads_of_one_process_run_on_both_cores_at_once() {
    let _one = one_at_a_time();
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("SKIPPED: this machine has one core");
        return;
    }
    let events = cpu_run(&["--count", "1", "--threads", "2", "--work-ms", "800"]);
    let segs = segments(&events);
    let busy: Vec<&Seg> = segs
        .iter()
        .filter(|s| s.on > 0 && s.core.is_some())
        .collect();
    let tids: std::collections::HashSet<u32> = busy.iter().map(|s| s.tid).collect();
    let pid = spawned_pids(&events)[0];
    assert!(
        tids.len() >= 2,
        "two worker threads besides the main one: {tids:?}"
    );
    assert!(tids.iter().any(|&t| t != pid));
    let together = busy.iter().any(|a| {
        busy.iter()
            .any(|b| a.tid != b.tid && a.core != b.core && a.start < b.end && b.start < a.end)
    });
    assert!(together, "two threads on different cores at the same time");
    let on: u64 = segs
        .iter()
        .filter(|s| s.proc == ProcId(1).0)
        .map(|s| s.on)
        .sum();
    let exact = kernel_cpu(&events)[&1] as f64;
    assert!(
        (on as f64 - exact).abs() <= 0.05 * exact,
        "sampled {on} vs kernel {exact}"
    );
}

#[test]
fn the_interval_is_checked() {
    let (_, summary, code) = run_cli(&["--sample-ms", "0", "processes"]);
    assert_ne!(code, 0);
    assert!(
        summary.contains("'--sample-ms <SAMPLE_MS>': sample-ms must be 1 to 100"),
        "{summary}"
    );
}
