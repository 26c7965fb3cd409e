//! What Perfetto needs of a trace, checked on a real run and on a run with threads and
//! crowded cores: every ftrace line in the format (Perfetto's importer fails the whole file
//! on one bad line), a consistent chain of switches per core, `X` events that nest per
//! thread, and nothing Perfetto's JSON tokenizer trips on.

mod common;

use regex::Regex;
use serde_json::Value;
use shared::{
    DemoRequest, Event, EventKind, ExitStatus, ProcId, ProcessesParams, RunId, RunStart, RunTime,
};
use std::collections::BTreeMap;
use std::path::Path;

/// One `sched_switch` line, field by field.
const LINE: &str = r"^(?P<comm>[A-Za-z0-9._/:+-]+)-(?P<tid>\d+) \((?P<tgid>\d+|-----)\) \[(?P<cpu>\d{3})\] \.{4} (?P<secs>\d+\.\d{6}): sched_switch: prev_comm=(?P<pc>[A-Za-z0-9._/:+-]+) prev_pid=(?P<pp>\d+) prev_prio=120 prev_state=(?P<ps>[RS]) ==> next_comm=(?P<nc>[A-Za-z0-9._/:+-]+) next_pid=(?P<np>\d+) next_prio=120$";

/// The pattern Perfetto's own systrace tokenizer searches each line for
/// (`systrace_line_tokenizer.cc`): what precedes the match is the task's name.
const PERFETTO_TOKENIZER: &str =
    r"-(\d+)\s+\(?\s*(\d+|-+)?\)?\s?\[(\d+)\]\s*[a-zA-Z0-9.]{0,4}\s+(\d+\.\d+):\s+(\S+):";

fn fixture() -> String {
    common::convert(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pool-kill.ndjson"))
}

/// A switch as read back from its line.
#[derive(Debug)]
struct Switch {
    cpu: u32,
    at_us: u64,
    prev: (String, u32),
    next: (String, u32),
}

/// Checks every line of `systemTraceEvents` and reads the switches.
fn switches(trace: &Value) -> Vec<Switch> {
    let text = trace["systemTraceEvents"].as_str().expect("a string");
    assert!(text.starts_with("# tracer: nop\n"), "the header line");
    assert!(text.ends_with('\n'), "every line ends (the last one too)");
    let line_re = Regex::new(LINE).expect("regex");
    let perfetto = Regex::new(PERFETTO_TOKENIZER).expect("regex");
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let c = line_re
            .captures(line)
            .unwrap_or_else(|| panic!("not an ftrace sched_switch line: {line:?}"));
        let m = perfetto
            .captures(line)
            .unwrap_or_else(|| panic!("Perfetto's tokenizer would reject {line:?}"));
        assert_eq!(line[..m.get(0).expect("match").start()].trim(), &c["comm"]);
        assert_eq!(&m[1], &c["tid"], "{line}");
        assert_eq!(&m[5], "sched_switch", "{line}");
        assert_eq!(
            (&c["comm"], &c["tid"]),
            (&c["pc"], &c["pp"]),
            "a line is written by the task switched out: {line}"
        );
        let idle = c["tgid"] == *"-----";
        assert_eq!(
            idle,
            c["tid"] == *"0",
            "only the idle task has no tgid: {line}"
        );
        let (secs, micros) = c["secs"].split_once('.').expect("seconds");
        out.push(Switch {
            cpu: c["cpu"].parse().expect("cpu"),
            at_us: secs.parse::<u64>().expect("s") * 1_000_000 + micros.parse::<u64>().expect("µs"),
            prev: (c["pc"].to_string(), c["pp"].parse().expect("pid")),
            next: (c["nc"].to_string(), c["np"].parse().expect("pid")),
        });
    }
    out
}

/// On each core: from idle, every `prev` is the previous `next`, times increase, back to
/// idle at the end; the idle task is `swapper/N` with pid 0.
fn assert_chains(switches: &[Switch]) {
    let mut cores: BTreeMap<u32, Vec<&Switch>> = BTreeMap::new();
    for s in switches {
        cores.entry(s.cpu).or_default().push(s);
    }
    assert!(!cores.is_empty(), "some core has switches");
    for (cpu, list) in cores {
        let idle = (format!("swapper/{cpu}"), 0);
        let mut on = idle.clone();
        let mut last = None;
        for s in list {
            assert_eq!(
                s.prev, on,
                "core {cpu} at {} µs: prev is the previous next",
                s.at_us
            );
            assert_ne!(
                s.prev, s.next,
                "core {cpu} at {} µs: a switch changes task",
                s.at_us
            );
            for task in [&s.prev, &s.next] {
                assert_eq!(
                    task.1 == 0,
                    task.0 == idle.0,
                    "core {cpu}: pid 0 is swapper/{cpu} and only it: {task:?}"
                );
            }
            assert!(last < Some(s.at_us), "core {cpu}: times increase");
            last = Some(s.at_us);
            on = s.next.clone();
        }
        assert_eq!(on, idle, "core {cpu} ends idle");
    }
}

/// A time in the trace (`1234.567` µs) as nanoseconds, exactly.
fn ns(v: &Value) -> i64 {
    (v.as_f64().expect("a number") * 1000.0).round() as i64
}

/// Per thread, complete events never partly overlap: each starts after the one before ends
/// or lies within an enclosing one.
fn assert_nesting(events: &[Value]) {
    let mut threads: BTreeMap<(u64, u64), Vec<(i64, i64)>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "X") {
        let key = (
            e["pid"].as_u64().expect("pid"),
            e["tid"].as_u64().expect("tid"),
        );
        let start = ns(&e["ts"]);
        let dur = ns(&e["dur"]);
        assert!(dur >= 0, "{e}");
        threads.entry(key).or_default().push((start, start + dur));
    }
    for (thread, mut spans) in threads {
        spans.sort_by_key(|&(s, e)| (s, std::cmp::Reverse(e)));
        let mut open: Vec<i64> = Vec::new();
        for (s, e) in spans {
            while open.last().is_some_and(|&end| end <= s) {
                open.pop();
            }
            if let Some(&end) = open.last() {
                assert!(
                    e <= end,
                    "thread {thread:?}: {s}..{e} overlaps an event ending at {end}"
                );
            }
            open.push(e);
        }
    }
}

/// What Perfetto's JSON tokenizer reads itself: no event has an array at its top level
/// (it looks for `ts` and `dur` and gives up on arrays), no `\u` escape anywhere.
fn assert_tokenizer_friendly(text: &str, events: &[Value]) {
    assert!(!text.contains("\\u"), "no \\u escapes");
    for e in events {
        let object = e.as_object().expect("an event is an object");
        assert!(object.values().all(|v| !v.is_array()), "{e}");
        assert!(object.contains_key("ts") || e["ph"] == "M", "a time: {e}");
    }
    assert!(
        text.starts_with("{\"traceEvents\":["),
        "traceEvents first (older importers stop at an unknown key)"
    );
}

#[test]
fn every_ftrace_line_has_the_format_and_every_core_a_consistent_chain() {
    let text = fixture();
    let trace = common::parse(&text);
    let switches = switches(&trace);
    assert!(switches.len() > 10, "the run's workers are on the cores");
    assert_chains(&switches);
    let names: Vec<&str> = switches.iter().map(|s| s.next.0.as_str()).collect();
    for worker in ["PoolWorker-1", "PoolWorker-2", "PoolWorker-3"] {
        assert!(names.contains(&worker), "{worker} ran on a core");
    }
}

#[test]
fn tasks_are_complete_events_that_nest_on_their_workers() {
    let text = fixture();
    let trace = common::parse(&text);
    let events = common::events(&trace);
    assert_tokenizer_friendly(&text, events);
    assert_nesting(events);
    let tasks: Vec<&Value> = events.iter().filter(|e| e["cat"] == "task").collect();
    assert_eq!(tasks.len(), 6, "every task of the run");
    let task = |n: u64| {
        tasks
            .iter()
            .find(|e| e["args"]["task"] == n)
            .unwrap_or_else(|| panic!("task {n}"))
    };
    assert_eq!(task(0)["name"], "task 0");
    assert_eq!(task(0)["args"]["error_type"], "ZeroDivisionError");
    assert_eq!(task(1)["args"]["result"], 1);
    assert_eq!(task(3)["args"]["error_type"], "WorkerLost");
    assert_eq!(task(5)["args"]["worker"], "PoolWorker-3");
    // On the worker's process (the real PID, named), main thread.
    let pid = task(5)["pid"].clone();
    assert_eq!(task(5)["tid"], pid);
    assert!(events.iter().any(|e| e["ph"] == "M"
        && e["name"] == "process_name"
        && e["pid"] == pid
        && e["args"]["name"] == "PoolWorker-3"));
    // The killed worker's exit, and the cores' load on `CPUs`.
    assert!(events.iter().any(|e| e["ph"] == "i"
        && e["args"]["exitcode"] == -9
        && e["args"]["killed_by"] == "user"));
    let counters: Vec<&Value> = events.iter().filter(|e| e["ph"] == "C").collect();
    assert_eq!(counters.len(), 2, "one window of two cores");
    assert!(counters.iter().all(|c| c["pid"] == perfetto::CPUS_PID));
    assert_eq!(
        trace["metadata"]["sample_interval_ms"], 20,
        "the metadata says the CPU tracks are sampled"
    );
    assert!(
        trace["metadata"]["cpu_tracks"]
            .as_str()
            .is_some_and(|s| s.contains("not exact"))
    );
}

fn event(seq: u64, t_ms: u64, kind: EventKind) -> Event {
    Event {
        run: RunId(7),
        seq,
        t: RunTime::from_millis(t_ms),
        kind,
    }
}

/// A segment ending at `end_ms` (the event's time), with the time to stamp it.
fn segment(
    proc: u32,
    tid: u32,
    core: u32,
    start_ms: u64,
    end_ms: u64,
    on_ms: u64,
) -> (u64, EventKind) {
    let kind = EventKind::ThreadSegment {
        proc: ProcId(proc),
        tid,
        core: Some(core),
        start: RunTime::from_millis(start_ms),
        on_cpu_ns: on_ms * 1_000_000,
        waiting_ns: 0,
        slices: 1,
    };
    (end_ms, kind)
}

/// A process with two threads, and three threads crowding one core.
fn threads_run() -> Vec<Event> {
    let mut kinds = vec![
        (
            0,
            EventKind::RunStarted(Box::new(RunStart {
                demo: DemoRequest::Processes(ProcessesParams::default()),
                title: "Many \"processes\"".into(),
                cores: 2,
                main_pid: 100,
                request: None,
                schedule: Vec::new(),
                interpreter: None,
                program: None,
            })),
        ),
        (
            0,
            EventKind::ProcessSpawned {
                proc: ProcId(1),
                pid: 200,
                name: "Process 1 = odd".into(),
                parent: ProcId::MAIN,
            },
        ),
        (
            0,
            EventKind::ProcessSpawned {
                proc: ProcId(2),
                pid: 300,
                name: "Process-2".into(),
                parent: ProcId::MAIN,
            },
        ),
    ];
    for i in 0..5 {
        let (a, b) = (i * 20, i * 20 + 20);
        kinds.push(segment(1, 200, 0, a, b, 20));
        kinds.push(segment(1, 201, 1, a, b, 12));
        kinds.push(segment(2, 300, 1, a, b, 8));
        kinds.push(segment(2, 301, 1, a, b, 5));
    }
    kinds.push((
        100,
        EventKind::ProcessExited {
            proc: ProcId(1),
            status: ExitStatus::Code { code: 0 },
            killed_by: None,
            cpu_time_ns: None,
        },
    ));
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, (t, k))| event(i as u64, t, k))
        .collect()
}

#[test]
fn threads_get_their_own_names_and_crowded_cores_stay_consistent() {
    let out = perfetto::convert(&threads_run(), Vec::new()).expect("written");
    let text = String::from_utf8(out).expect("UTF-8");
    let trace = common::parse(&text);
    let events = common::events(&trace);
    assert_tokenizer_friendly(&text, events);
    let switches = switches(&trace);
    assert_chains(&switches);
    // Names with spaces and `=` become comm names without them.
    assert!(
        switches
            .iter()
            .any(|s| s.next == ("Process_1___odd".into(), 200))
    );
    assert!(
        switches
            .iter()
            .any(|s| s.next == ("Process_1___odd/201".into(), 201))
    );
    let thread_names: Vec<(&Value, &Value)> = events
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .map(|e| (&e["tid"], &e["args"]["name"]))
        .collect();
    assert!(thread_names.contains(&(&Value::from(201), &Value::from("Process 1 = odd/201"))));
    assert!(thread_names.contains(&(&Value::from(301), &Value::from("Process-2/301"))));
    // 12 + 8 + 5 ms on core 1 in 20 ms: 5 ms of each interval could not be placed.
    assert_eq!(trace["metadata"]["cpu_time_not_placed_us"], 5 * 5_000);
    assert_eq!(trace["metadata"]["title"], "Many \"processes\"");
}
