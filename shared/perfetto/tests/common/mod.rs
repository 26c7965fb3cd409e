//! What the trace tests share: converting a recording, reading the trace back.

#![allow(dead_code)]

use std::io::BufRead;
use std::path::Path;

/// The trace of the recording at `path`, converted line by line as `procviz convert` does.
pub fn convert(path: &Path) -> String {
    let file = std::fs::File::open(path).expect("the recording");
    let mut writer = perfetto::TraceWriter::new(Vec::new()).expect("a trace");
    for line in std::io::BufReader::new(file).split(b'\n') {
        writer.ndjson_line(&line.expect("a line")).expect("written");
    }
    assert_eq!(
        writer.bad_lines(),
        0,
        "every line of the fixture is an event"
    );
    String::from_utf8(writer.finish().expect("finished")).expect("UTF-8")
}

/// A trace parsed as JSON.
pub fn parse(trace: &str) -> serde_json::Value {
    serde_json::from_str(trace).expect("the trace is JSON")
}

/// The `traceEvents` of a trace.
pub fn events(trace: &serde_json::Value) -> &Vec<serde_json::Value> {
    trace["traceEvents"].as_array().expect("traceEvents")
}

/// The lines of `systemTraceEvents`.
pub fn ftrace_lines(trace: &serde_json::Value) -> Vec<&str> {
    trace["systemTraceEvents"]
        .as_str()
        .expect("systemTraceEvents")
        .lines()
        .collect()
}
