//! What procviz's tests and the page benchmark share: the real `procviz` binary as a server
//! on port 0 ([`Server`]) or a CLI run ([`run_cli`]), a real WebSocket client ([`connect`],
//! [`events_until_finished`], …), checks on real processes through /proc
//! ([`assert_child_of_server`], [`wait_gone`], …), a real headless Chromium ([`Browser`]) and a
//! browser test's fixture ([`Page`]: a server, a window and the page, ended on drop).
//!
//! The backend's two test binaries (`tests/integration`, `tests/browser`) and its page
//! benchmark depend on this crate; it is a crate rather than a module included by each so it
//! is compiled once, every item of it is used by someone, and the benchmark needs no `#[path]`.
//!
//! Tests that measure the machine's cores take [`one_at_a_time`]; every server, CLI run and
//! browser a test starts shares the machine with the other tests, and waits while such a test
//! runs (see [`cores`]).

pub mod browser;
pub mod cores;
mod events;
mod page;
mod procs;
mod server;
mod ws;

pub use browser::{Browser, save_picture};
pub use cores::{Cores, one_at_a_time};
pub use events::{Seg, exits, pool_request, run_secs, secs, segments, spawned_pids};
pub use page::Page;
pub use procs::{
    assert_child_of_server, children_of, cmdline, cpu_time, is_live_worker, parent_of,
    peak_rss_kib, wait_gone,
};
pub use server::{Server, http_get, procviz, run_cli};
pub use ws::{
    Ending, Ws, connect, connect_to, events_until, events_until_finished, next_any, next_audience,
    next_message, read_to_end, send, send_text, try_send, until_second_child_printed,
};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Polls `check` every 25 ms until it gives `Ok`, for at most `secs` seconds; then fails with
/// `what` and the last state `check` described. The one waiting loop of the tests.
pub async fn eventually<T>(
    what: &str,
    secs: u64,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match check().await {
            Ok(value) => return value,
            Err(state) => assert!(Instant::now() < deadline, "{what}: {state}"),
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A directory removed (with its contents) when dropped, also when the test fails.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `procviz-NAME-PID` in the system's temporary directory.
    pub fn create(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("procviz-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        TempDir(dir)
    }

    /// Removes `dir` when dropped (someone else creates it).
    pub(crate) fn at(dir: PathBuf) -> TempDir {
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!("removing {}: {e}", self.0.display());
        }
    }
}
