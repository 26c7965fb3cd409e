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
        "| recording: open (file input → drawn) | **{:.1} s** ({:.0} MB/s; the page showed it reading {:.2} s after the file was given through the WebDriver); title \"{}\" | |",
        load_ms / 1000.0,
        opened.size as f64 / 1e6 / (load_ms / 1000.0),
        opened.frames.mark("reading").unwrap_or(f64::NAN) / 1000.0,
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

/// Issue #14's goals, one pass/fail line each (a goal is met only if every bench run meets it:
/// run the bench twice).
pub fn print_goals(live: &Live, opened: &Opened) {
    let mut goals: Vec<(String, bool)> = Vec::new();
    let mut goal = |what: String, ok: bool| goals.push((what, ok));
    let f = &live.frames;
    goal(
        format!("live: max frame ≤ 50 ms ({:.0} ms)", f.max()),
        f.max() <= 50.0,
    );
    goal(
        format!("live: p99 frame ≤ 33 ms ({:.0} ms)", f.percentile(0.99)),
        f.percentile(0.99) <= 33.0,
    );
    let longest = f.long_tasks.iter().copied().fold(0.0, f64::max);
    goal(
        format!("live: no long task over 50 ms (longest {longest:.0} ms)"),
        longest <= 50.0,
    );
    let busy = f.busy.task * 1000.0 / f.elapsed_ms.max(1.0);
    goal(
        format!(
            "live: main thread busy ≤ 40 % of the run ({:.0} %)",
            busy * 100.0
        ),
        busy <= 0.40,
    );
    // The click starts the run: click → "finished" minus the run's own wall time bounds the
    // delay (it also holds the run's start-up).
    let wall: f64 = live
        .run_wall
        .trim_end_matches(" s")
        .parse()
        .unwrap_or(f64::NAN);
    let late = f.mark("finished").unwrap_or(f.elapsed_ms) / 1000.0 - wall;
    goal(
        format!(
            "live: \"finished\" shown ≤ 0.3 s after the run ends (≤ {late:.2} s, start-up included)"
        ),
        late <= 0.3,
    );
    let load = opened
        .frames
        .mark("loaded")
        .unwrap_or(opened.frames.elapsed_ms)
        / 1000.0;
    goal(
        format!("recording: 1M tasks open in ≤ 3 s ({load:.1} s)"),
        load <= 3.0,
    );
    goal(
        format!(
            "recording: no frame over 50 ms while it loads ({:.0} ms)",
            opened.frames.max()
        ),
        opened.frames.max() <= 50.0,
    );
    for (name, s) in [("zoom", &opened.zoom), ("pan", &opened.pan)] {
        goal(
            format!("recording: {name} ≥ 50 fps ({:.0} fps)", s.fps()),
            s.fps() >= 50.0,
        );
    }
    let mib = (opened.memory.js_heap + opened.memory.wasm) / (1024.0 * 1024.0);
    goal(
        format!("recording: the page's memory ≤ 600 MB ({mib:.0} MiB)"),
        mib * 1.048_576 <= 600.0,
    );
    println!();
    println!("Goals of issue #14 (each bench run must meet every one):");
    for (what, ok) in goals {
        println!("- {}: {what}", if ok { "PASS" } else { "FAIL" });
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
