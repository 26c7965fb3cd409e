//! The Markdown table for docs/BENCHMARKS.md, each figure against its target.

use crate::phases::{Live, Opened};
use crate::probe::{Frames, Steps};
use crate::profile::profiling;
use crate::{FPS_TARGET, FRAME_BUDGET_MS, LIVE_TASKS, RECORDED_TASKS};

pub fn print_report(live: &Live, opened: &Opened) {
    let load_ms = opened
        .frames
        .mark("loaded")
        .unwrap_or(opened.frames.elapsed_ms);
    println!(
        "Chromium {} (headless, chromedriver), {} cores",
        live.chromium,
        cores()
    );
    if profiling() {
        println!(
            "(PROCVIZ_BENCH_PROFILE=1: the CPU profiler slows the page; use these figures to compare, not as results)"
        );
    }
    println!();
    println!("| measure | figure | against the target |");
    println!("|---|---|---|");
    println!(
        "| idle page, frame interval (median / max) | {:.1} / {:.1} ms ({} frames in 2 s) | |",
        live.idle.percentile(0.5),
        live.idle.max(),
        live.idle.gaps.len()
    );
    println!(
        "| live `Pool(8).imap`, {LIVE_TASKS} tasks of 1 ms sleep: streamed | {} events ({} tasks finished) in {} WebSocket messages ({:.0} MB); {:.1} s from the click to \"finished\" (run wall time {}); canvas from {:.1} s | |",
        live.events,
        live.tasks,
        live.messages,
        live.megabytes,
        live.frames
            .mark("finished")
            .unwrap_or(live.frames.elapsed_ms)
            / 1000.0,
        live.run_wall,
        live.frames.mark("canvas").unwrap_or(f64::NAN) / 1000.0,
    );
    print_phase(
        "live run, frames while it streams",
        "live run, the page's main thread",
        "after it:",
        &live.frames,
        [&live.zoom, &live.pan],
    );
    println!(
        "| recording of {RECORDED_TASKS} tasks (`procviz run pool --tasks {RECORDED_TASKS} --work none --task-ms 0`) | {:.0} MB, {} events, written in {:.1} s | |",
        opened.size as f64 / 1e6,
        opened.lines,
        opened.record_secs
    );
    println!(
        "| recording: open (file input → drawn) | **{:.1} s** ({:.0} MB/s); title \"{}\" | |",
        load_ms / 1000.0,
        opened.size as f64 / 1e6 / (load_ms / 1000.0),
        opened.title
    );
    let mb = |b: f64| b / (1024.0 * 1024.0);
    let held = mb(opened.memory.js_heap + opened.memory.wasm);
    println!(
        "| recording open: the page's memory | JS heap {:.0} MiB + WebAssembly {:.0} MiB = **{held:.0} MiB**; renderer process resident {:.0} MiB | ≤ 600 MB: {} |",
        mb(opened.memory.js_heap),
        mb(opened.memory.wasm),
        mb(opened.memory.renderer_rss),
        verdict(held * 1.048_576 <= 600.0)
    );
    print_phase(
        "recording, frames while it loads",
        "recording, the page's main thread while it loads",
        "recording:",
        &opened.frames,
        [&opened.zoom, &opened.pan],
    );
}

/// The CPython phase's rows: what streamed, and its frames against the budget.
pub fn print_python(python: &crate::phases::LivePython) {
    println!(
        "| live traced CPython `Pool(4).imap`, {LIVE_TASKS} no-op tasks (chunksize 1): streamed | {} events ({} tasks finished); run wall time {} | |",
        python.events, python.tasks, python.run_wall
    );
    println!(
        "| live CPython run, frames while it streams | {} | max frame {:.0} ms = {}: {} |",
        python.frames.describe(),
        python.frames.max(),
        budget(python.frames.max()),
        verdict(python.frames.max() <= FRAME_BUDGET_MS)
    );
    println!(
        "| live CPython run, the page's main thread | {} | |",
        python.frames.busy.describe(python.frames.elapsed_ms)
    );
}

/// The rows of one phase: its frames against the budget, its main thread, then zoom and pan
/// against the fps target (`after` prefixes their names).
pub fn print_phase(
    frames_row: &str,
    thread_row: &str,
    after: &str,
    frames: &Frames,
    steps: [&Steps; 2],
) {
    println!(
        "| {frames_row} | {} | max frame {:.0} ms = {}: {} |",
        frames.describe(),
        frames.max(),
        budget(frames.max()),
        verdict(frames.max() <= FRAME_BUDGET_MS)
    );
    println!(
        "| {thread_row} | {} | |",
        frames.busy.describe(frames.elapsed_ms)
    );
    for (name, s) in ["zoom", "pan"].into_iter().zip(steps) {
        println!(
            "| {after} {name} ({} steps) | {} | {} |",
            s.steps,
            s.describe(),
            verdict(s.fps() >= FPS_TARGET)
        );
    }
}

pub fn print_profiles(live: &Live, opened: &Opened) {
    for profile in [&live.profile, &opened.profile].into_iter().flatten() {
        println!();
        print!("{profile}");
    }
}

pub fn budget(max_ms: f64) -> String {
    format!(
        "{:.2} of the {FRAME_BUDGET_MS:.0} ms budget",
        max_ms / FRAME_BUDGET_MS
    )
}

pub fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}
