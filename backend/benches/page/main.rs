//! The page at scale, measured in a real headless Chromium against the real server.
//!
//! `cargo bench -p backend --bench page` (release build of `procviz` with its page; needs
//! `chromium` and `chromedriver`; several minutes). Prints a Markdown table for
//! docs/BENCHMARKS.md:
//!
//! 1. a live `Pool(8).imap` over 100,000 one-millisecond sleeps streams into the page: every
//!    frame gap (a `requestAnimationFrame` loop stamping `performance.now()`), long tasks
//!    (`PerformanceObserver`), events received (counted on the page's own WebSocket);
//! 2. after it, zoom and pan steps on the timeline (keys sent to it), one per animation frame;
//! 0. first, five cold loads of the page (a new browser each): time to its lesson buttons
//!    and to its connection, and the bytes it transferred;
//! 4. last, a real CPython program traced live: `Pool(4).imap` over 100,000 no-op tasks
//!    (chunksize 1) streams into the page: frame gaps as in 1 (skipped, saying so, without
//!    `python3`);
//! 3. a recording of 1,000,000 tasks (`procviz run pool --tasks 1000000 …`, about 500 MB)
//!    opened from the file input: load time and frame gaps while it loads, then zoom and pan.
//!
//! For each phase it also splits the page's main-thread time into script, style, layout and
//! the rest (Chromium's counters, CDP `Performance.getMetrics`). `PROCVIZ_BENCH_PROFILE=1` adds
//! a CPU profile of the streaming and loading phases (see [`profile`]).
//!
//! Targets: no frame over 100 ms while a run streams or a recording loads, zoom and pan at
//! 30 frames per second or more. Everything started here (server, chromedriver, Chromium,
//! the recording's temporary file) is ended or removed on the way out, also on failure.

mod cdp;
mod cold;
mod phases;
mod probe;
mod profile;
mod report;

use phases::{Live, LivePython, Opened, live_python_run, live_run, open_recording};
use report::{print_profiles, print_report};
use std::process::ExitCode;
use testkit::Browser;

const LIVE_TASKS: u64 = 100_000;
const RECORDED_TASKS: u64 = 1_000_000;
/// The targets of the issue.
const FRAME_BUDGET_MS: f64 = 100.0;
const FPS_TARGET: f64 = 30.0;
/// Zoom steps (in, out, in again: ends zoomed 1.25^12 ≈ 15× around the middle) and pan steps
/// (right, left, right: every step moves the view, none hits the run's ends).
const ZOOM_PLAN: [(&str, usize); 3] = [("+", 12), ("-", 12), ("+", 12)];
const PAN_PLAN: [(&str, usize); 3] = [("ArrowRight", 40), ("ArrowLeft", 40), ("ArrowRight", 40)];

async fn bench() -> Option<(Live, Opened, Option<LivePython>)> {
    let browser = Browser::start(1280, 720).await?;
    probe::install(&browser).await;
    let live = live_run(&browser).await;
    let opened = open_recording(&browser).await;
    let python = live_python_run(&browser, LIVE_TASKS).await;
    browser.close().await;
    Some((live, opened, python))
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let cold = runtime.block_on(cold::cold_loads(5));
    // `PROCVIZ_BENCH_COLD_ONLY=1`: the cold loads alone (a minute instead of several).
    if std::env::var_os("PROCVIZ_BENCH_COLD_ONLY").is_some_and(|v| v == "1") {
        return match &cold {
            Some(cold) => {
                println!("| measure | figure | against the target |");
                println!("|---|---|---|");
                cold::print_cold(cold);
                ExitCode::SUCCESS
            }
            None => ExitCode::FAILURE,
        };
    }
    match runtime.block_on(bench()) {
        Some((live, opened, python)) => {
            print_report(&live, &opened);
            if let Some(python) = &python {
                report::print_python(python);
            }
            if let Some(cold) = &cold {
                cold::print_cold(cold);
            }
            report::print_goals(&live, &opened);
            print_profiles(&live, &opened);
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "the page benchmark needs chromedriver and Chromium: apt-get install chromium chromium-driver"
            );
            ExitCode::FAILURE
        }
    }
}
