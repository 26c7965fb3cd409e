//! The CPython tracer's own suite (`backend/python/tests`, Python's `unittest` on real
//! processes and a real socket listener), run with every CPython 3.8–3.13 on this machine:
//! `python3` on PATH and `~/.pyenv/versions/*`. The script prints which interpreters it
//! skipped and why; this test fails when a suite that ran failed, or when none ran.

use std::process::Command;
use testkit::*;

#[test]
fn the_tracer_suite_passes_with_every_cpython_on_this_machine() {
    // Its seed test times a 3 s pool run: nothing else on the cores meanwhile.
    let _alone = one_at_a_time();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/tests/run_all.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout
        .rsplit_once("summary:")
        .map_or(stdout.as_ref(), |(_, s)| s);
    println!("tracer suite per interpreter:{summary}");
    assert!(
        out.status.success(),
        "the tracer's suite failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        summary.contains("passed"),
        "no interpreter ran it: {summary}"
    );
}
