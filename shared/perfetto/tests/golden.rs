//! The trace of a small real run, compared byte for byte with the committed file.
//!
//! The fixture is a run recorded once with
//! `procviz run pool --workers 2 --tasks 6 --task-ms 60 --work cpu --kill PoolWorker-2@100`
//! (a task that raises, a worker killed mid-task, its replacement, two cores). After an
//! intended change of the format, write the expected file again with
//! `PERFETTO_BLESS=1 cargo test -p perfetto --test golden` and review the diff.

mod common;

use std::path::Path;

#[test]
fn a_small_run_converts_to_the_committed_trace() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let got = common::convert(&dir.join("pool-kill.ndjson"));
    let expected_path = dir.join("pool-kill.trace.json");
    if std::env::var_os("PERFETTO_BLESS").is_some() {
        std::fs::write(&expected_path, &got).expect("write the expected trace");
    }
    let expected = std::fs::read_to_string(&expected_path).expect("the expected trace");
    assert!(
        got == expected,
        "the trace differs from {} (PERFETTO_BLESS=1 rewrites it):\n{}",
        expected_path.display(),
        first_difference(&expected, &got)
    );
}

/// The first line that differs, for the failure message.
fn first_difference(expected: &str, got: &str) -> String {
    for (i, (e, g)) in expected.lines().zip(got.lines()).enumerate() {
        if e != g {
            return format!("line {}:\n  expected {e}\n  got      {g}", i + 1);
        }
    }
    format!(
        "lengths differ: {} lines expected, {} got",
        expected.lines().count(),
        got.lines().count()
    )
}
