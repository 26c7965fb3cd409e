//! Warming up the page's hot paths while it waits for the first run.
//!
//! The browser compiles the page's WebAssembly a function at a time, the first time each is
//! called, and compiles it again, optimized, once it has run for a while. A big run's first
//! events used to meet all of that code cold: the frames right after the click were the
//! longest of the whole run. So, once the page is connected and shows no run, it reads a few
//! made-up batches of a pool's events (in tasks of their own, stopping when a run comes) into
//! a model that is never shown and draws its scene once. What it runs is what a streaming
//! run runs: the protocol's reader, [`RunModel::apply`] and [`scene`].

use crate::run::RunModel;
use crate::timeline::geometry::fitted_axis;
use crate::timeline::scene::scene;
use crate::timeline::shape::{Detail, View};
use shared::{RunId, ServerMessage};
use std::fmt::Write;

/// The made-up run's number (never a real run's: the server counts from 1).
const RUN: RunId = RunId(u64::MAX);
/// Workers of the made-up pool.
const WORKERS: u64 = 4;
/// Tasks in each made-up batch, and how many batches are read (one per task of the page).
pub const TASKS_PER_BATCH: u64 = 400;
pub const BATCHES: u64 = 4;

/// The text of a `ServerMessage::Events` as the server writes it: batch `batch` of a made-up
/// pool of [`WORKERS`] workers whose tasks are each dispatched, started, finished with a
/// value, consumed, and print a line (the first batch also spawns the workers).
pub fn sample_batch(batch: u64) -> String {
    let run = RUN.0;
    // Sequence numbers follow on from the batches before: the first spawns the workers.
    let mut seq = match batch {
        0 => 0,
        _ => 1 + 2 * WORKERS + batch * TASKS_PER_BATCH * 5,
    };
    let mut text = String::from(r#"{"type":"events","events":["#);
    let mut kind = |t: u64, body: String| {
        if !text.ends_with('[') {
            text.push(',');
        }
        let _ = write!(text, r#"{{"run":{run},"seq":{seq},"t":{t},"kind":{body}}}"#);
        seq += 1;
    };
    let first = batch * TASKS_PER_BATCH;
    if batch == 0 {
        kind(
            0,
            format!(
                r#"{{"type":"pool_started","workers":{WORKERS},"api":"imap","chunksize":1,"tasks":{}}}"#,
                TASKS_PER_BATCH * BATCHES
            ),
        );
        for w in 1..=WORKERS {
            kind(
                w * 1_000,
                format!(
                    r#"{{"type":"process_spawned","proc":{w},"pid":{w},"name":"PoolWorker-{w}","parent":0}}"#
                ),
            );
            kind(
                w * 1_000 + 500,
                format!(r#"{{"type":"process_started","proc":{w},"cpus":[0,1]}}"#),
            );
        }
    }
    for task in first..first + TASKS_PER_BATCH {
        let worker = task % WORKERS + 1;
        let t = 10_000 + task * 1_000_000;
        kind(
            t,
            format!(r#"{{"type":"task_dispatched","first":{task},"count":1,"worker":{worker}}}"#),
        );
        kind(
            t + 1_000,
            format!(r#"{{"type":"task_started","task":{task},"worker":{worker}}}"#),
        );
        kind(
            t + 2_000,
            format!(
                r#"{{"type":"output","proc":{worker},"stream":"stdout","text":"task {task}"}}"#
            ),
        );
        kind(
            t + 900_000,
            format!(
                r#"{{"type":"task_finished","task":{task},"worker":{worker},"result":{{"type":"value","value":{task}}}}}"#
            ),
        );
        kind(
            t + 901_000,
            format!(
                r#"{{"type":"result_consumed","index":{task},"result":{{"type":"value","value":{task}}}}}"#
            ),
        );
    }
    text.push_str(r#"],"dropped":0}"#);
    text
}

/// Reads batch `batch` into `model` (a fresh one for the first), the way a streaming run's
/// batches are read; after the last, draws the model's scene. Returns the events applied.
pub fn read_batch(model: &mut Option<RunModel>, batch: u64) -> usize {
    let Ok(ServerMessage::Events { events, .. }) = ServerMessage::from_json(&sample_batch(batch))
    else {
        return 0;
    };
    let m = model.get_or_insert_with(|| RunModel::new(RUN));
    for event in &events {
        m.apply(event);
    }
    if batch + 1 == BATCHES {
        let view = View {
            axis: fitted_axis(m.last_t),
            detail: Detail::Merged,
            label_px: 9.0,
        };
        std::hint::black_box(scene(m, &view));
    }
    events.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_made_up_batches_read_as_a_pool_run_with_every_event_applied() {
        let mut model = None;
        let read: usize = (0..BATCHES).map(|b| read_batch(&mut model, b)).sum();
        let m = model.expect("a model");
        let tasks = (TASKS_PER_BATCH * BATCHES) as usize;
        assert_eq!(
            read,
            1 + 2 * WORKERS as usize + 5 * tasks,
            "every event read"
        );
        assert_eq!(m.gaps, 0, "sequence numbers follow on");
        assert_eq!(m.next_seq as usize, read);
        assert_eq!(m.results.len(), tasks, "every result consumed");
        assert_eq!(m.console.len(), tasks);
        assert_eq!(m.tasks.len(), tasks, "every task has a bar");
        assert!(m.tasks.iter().all(|b| b.finished.is_some()), "and finished");
    }

    /// The batches are written by hand (the page does not link the protocol's writer: its
    /// size), so this checks they are exactly what the server would write for them.
    #[test]
    fn the_made_up_batches_are_the_text_the_protocols_writer_writes() {
        for batch in 0..BATCHES {
            let text = sample_batch(batch);
            let message = ServerMessage::from_json(&text).expect("a server message");
            assert_eq!(
                serde_json::to_string(&message).expect("written"),
                text,
                "batch {batch}"
            );
        }
    }
}
