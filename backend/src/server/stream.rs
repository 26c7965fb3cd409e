//! What a connection sends on each tick: the new events of every run it follows, in frames
//! of at most [`MAX_EVENTS_PER_FRAME`] events, at most [`MAX_FRAMES_PER_TICK`] frames per
//! tick (what is left follows on the next tick). A run is followed from its first event (the
//! snapshot) until its log is complete.
//!
//! ## Frames are shared
//! A run's events are cut into blocks of [`MAX_EVENTS_PER_FRAME`] (`seq` 0–1023, 1024–2047,
//! …), and a frame never crosses a block's end, nor holds two runs. The frame of a whole block
//! is the same text for every connection, so it is encoded once and kept in the server's
//! [`FrameCache`] (the most recently used up to [`FRAME_CACHE_BYTES`]): a hundred viewers of a
//! big run cost one encoding of it, not a hundred. A block still filling (a live run's newest
//! events) is encoded per connection; a connection that got part of a block gets the rest of
//! it next, and from there whole blocks again.
//!
//! It also knows how far behind the connection is ([`Followed::backlog_bytes`]: the events
//! not yet sent, at the bytes per event of those sent so far), for the slow-reader rule.

use crate::events::RunLog;
use crate::runs::Viewing;
use axum::extract::ws::Utf8Bytes;
use shared::{RunId, ServerMessage};
use std::collections::HashMap;
use std::sync::Mutex;

/// The most events in one frame: small enough that the page decodes a frame in a few
/// milliseconds (a frame is one task of the page's main thread).
pub const MAX_EVENTS_PER_FRAME: usize = 1024;
/// The most frames per tick and client; what is left follows on the next tick.
pub const MAX_FRAMES_PER_TICK: usize = 8;
/// The most bytes of encoded frames the server keeps for sharing (about 290 frames of a
/// 100,000-task run's 1,024 events).
pub const FRAME_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// One frame of events, encoded (a `ServerMessage::Events` as JSON text).
#[derive(Clone, Debug)]
pub struct Frame {
    /// The JSON text.
    pub text: Utf8Bytes,
    /// How many events it holds.
    pub events: usize,
}

/// A run a connection follows, and how far it has been sent.
#[derive(Debug)]
pub struct Following {
    run: Viewing,
    cursor: usize,
}

/// Bytes per event assumed before any was sent (a `task_finished` encodes to about 110).
const BYTES_PER_EVENT_GUESS: u64 = 128;

/// The runs a connection follows.
#[derive(Debug, Default)]
pub struct Followed {
    runs: Vec<Following>,
    /// Events sent, and the bytes of the frames that carried them.
    sent_events: u64,
    sent_bytes: u64,
}

impl Followed {
    /// Follows `run` from its first event, unless it is followed already.
    pub fn follow(&mut self, run: Viewing) {
        if !self.runs.iter().any(|f| f.run.run().id == run.run().id) {
            self.runs.push(Following { run, cursor: 0 });
        }
    }

    /// How many runs are followed (a run is let go once all of it was sent).
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    /// Whether no run is followed.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Records that a frame of `events` events, `bytes` long, was sent.
    pub fn sent(&mut self, events: usize, bytes: usize) {
        self.sent_events += events as u64;
        self.sent_bytes += bytes as u64;
    }

    /// Events of the followed runs not yet taken for a frame.
    pub fn unsent_events(&self) -> u64 {
        self.runs
            .iter()
            .map(|f| f.run.run().log.len().saturating_sub(f.cursor) as u64)
            .sum()
    }

    /// How far behind the connection is, in bytes: the events not yet sent, at the bytes per
    /// event of the frames sent so far.
    pub fn backlog_bytes(&self) -> u64 {
        let unsent = self.unsent_events();
        match self.sent_events {
            0 => unsent * BYTES_PER_EVENT_GUESS,
            n => unsent.saturating_mul(self.sent_bytes) / n,
        }
    }

    /// The frames of one tick: the new events of the followed runs, run by run, up to
    /// [`MAX_FRAMES_PER_TICK`] frames of up to [`MAX_EVENTS_PER_FRAME`] events; whole blocks
    /// come from `cache`. A run is let go once all of it was taken.
    pub fn tick(&mut self, cache: &FrameCache) -> Result<Vec<Frame>, serde_json::Error> {
        let mut frames = Vec::new();
        let mut i = 0;
        while i < self.runs.len() && frames.len() < MAX_FRAMES_PER_TICK {
            let f = &mut self.runs[i];
            let run = f.run.run();
            // Finished first: once it is, the length read after it is final.
            let finished = run.log.is_finished();
            let len = run.log.len();
            let start = f.cursor;
            let end = len.min((start / MAX_EVENTS_PER_FRAME + 1) * MAX_EVENTS_PER_FRAME);
            if end == start {
                if finished {
                    self.runs.remove(i);
                } else {
                    i += 1;
                }
                continue;
            }
            let text = if end - start == MAX_EVENTS_PER_FRAME {
                cache.get_or_encode(run.id, start / MAX_EVENTS_PER_FRAME, || {
                    encode(&run.log, start, end)
                })?
            } else {
                encode(&run.log, start, end)?
            };
            frames.push(Frame {
                text,
                events: end - start,
            });
            f.cursor = end;
        }
        Ok(frames)
    }
}

/// The frame of events `start..end` of `log`.
fn encode(log: &RunLog, start: usize, end: usize) -> Result<Utf8Bytes, serde_json::Error> {
    let (events, _) = log.read_from(start, end - start);
    let text = serde_json::to_string(&ServerMessage::Events { events, dropped: 0 })?;
    Ok(text.into())
}

/// The encoded frames of whole blocks, shared by every connection of the server: the most
/// recently used, up to a budget in bytes.
#[derive(Debug)]
pub struct FrameCache {
    budget: usize,
    inner: Mutex<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    /// (run, block) → the frame and when it was last used.
    frames: HashMap<(RunId, usize), (Utf8Bytes, u64)>,
    bytes: usize,
    clock: u64,
    encoded: u64,
}

impl Default for FrameCache {
    fn default() -> Self {
        Self::with_budget(FRAME_CACHE_BYTES)
    }
}

impl FrameCache {
    /// A cache that keeps at most `budget` bytes of frames.
    pub fn with_budget(budget: usize) -> Self {
        FrameCache {
            budget,
            inner: Mutex::new(CacheInner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        // Every change is one insert or remove: a panic elsewhere cannot leave it half-done.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Block `block` of run `run`, encoded by `encode` unless a connection did already. (Two
    /// connections missing the same block at once may both encode it; the lock is not held
    /// while encoding.)
    pub fn get_or_encode(
        &self,
        run: RunId,
        block: usize,
        encode: impl FnOnce() -> Result<Utf8Bytes, serde_json::Error>,
    ) -> Result<Utf8Bytes, serde_json::Error> {
        {
            let mut inner = self.lock();
            inner.clock += 1;
            let now = inner.clock;
            if let Some((text, used)) = inner.frames.get_mut(&(run, block)) {
                *used = now;
                return Ok(text.clone());
            }
        }
        let text = encode()?;
        let mut inner = self.lock();
        inner.encoded += 1;
        let now = inner.clock;
        let size = text.len();
        if let Some((old, _)) = inner.frames.insert((run, block), (text.clone(), now)) {
            inner.bytes -= old.len();
        }
        inner.bytes += size;
        while inner.bytes > self.budget {
            let Some(oldest) = inner
                .frames
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(key, _)| *key)
            else {
                break;
            };
            if let Some((gone, _)) = inner.frames.remove(&oldest) {
                inner.bytes -= gone.len();
            }
        }
        Ok(text)
    }

    /// How many frames were encoded for the cache (not found in it), and the bytes it holds.
    pub fn stats(&self) -> (u64, usize) {
        let inner = self.lock();
        (inner.encoded, inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::RunHandle;
    use shared::{DemoRequest, EventKind, PoolParams, RunTime};
    use std::sync::Arc;

    fn run_with(id: u64, events: usize, finished: bool) -> Arc<RunHandle> {
        let handle = RunHandle::detached(RunId(id), DemoRequest::Pool(PoolParams::default()));
        handle.log.append(
            (0..events)
                .map(|i| (RunTime(i as u64), EventKind::PoolClosed))
                .collect(),
        );
        if finished {
            handle.log.finish();
        }
        handle
    }

    fn tick(followed: &mut Followed, cache: &FrameCache) -> Vec<Frame> {
        followed
            .tick(cache)
            .unwrap_or_else(|e| panic!("encoding: {e}"))
    }

    /// (run, first seq, events) of each frame, from its JSON text.
    fn shape(frames: &[Frame]) -> Vec<(u64, u64, usize)> {
        frames
            .iter()
            .map(|f| match serde_json::from_str(f.text.as_str()) {
                Ok(ServerMessage::Events { events, dropped: 0 }) => {
                    assert_eq!(events.len(), f.events);
                    let first = &events[0];
                    for (i, e) in events.iter().enumerate() {
                        assert_eq!((e.run, e.seq), (first.run, first.seq + i as u64));
                    }
                    (first.run.0, first.seq, events.len())
                }
                other => panic!("events expected, got {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_tick_sends_at_most_eight_frames_of_1024_events_and_the_rest_follows() {
        let cache = FrameCache::default();
        let mut followed = Followed::default();
        followed.follow(Viewing::new(run_with(1, 10_000, true)));
        let first = shape(&tick(&mut followed, &cache));
        let expected: Vec<(u64, u64, usize)> = (0..8).map(|i| (1, i * 1024, 1024)).collect();
        assert_eq!(first, expected);
        let second = shape(&tick(&mut followed, &cache));
        assert_eq!(second, [(1, 8192, 1024), (1, 9216, 784)]);
        assert!(followed.is_empty(), "a complete run is let go");
        assert!(tick(&mut followed, &cache).is_empty());
    }

    #[test]
    fn each_run_has_its_frames_and_a_live_run_stays_followed() {
        let cache = FrameCache::default();
        let live = run_with(2, 1000, false);
        let mut followed = Followed::default();
        followed.follow(Viewing::new(run_with(1, 100, true)));
        followed.follow(Viewing::new(live.clone()));
        followed.follow(Viewing::new(live.clone()));
        assert_eq!(followed.len(), 2, "a run is followed once");
        let frames = shape(&tick(&mut followed, &cache));
        assert_eq!(frames, [(1, 0, 100), (2, 0, 1000)]);
        assert_eq!(followed.len(), 1, "the live run is still followed");
        assert!(
            tick(&mut followed, &cache).is_empty(),
            "nothing new, nothing sent"
        );
        live.log
            .append(vec![(RunTime(5), EventKind::PoolClosed); 1100]);
        live.log.finish();
        assert_eq!(
            shape(&tick(&mut followed, &cache)),
            [(2, 1000, 24), (2, 1024, 1024), (2, 2048, 52)],
            "the rest of the block, then whole blocks"
        );
        assert!(followed.is_empty());
    }

    #[test]
    fn whole_blocks_are_encoded_once_for_every_connection() {
        let cache = FrameCache::default();
        let run = run_with(1, 3000, true);
        let mut a = Followed::default();
        let mut b = Followed::default();
        a.follow(Viewing::new(run.clone()));
        b.follow(Viewing::new(run));
        let (fa, fb) = (tick(&mut a, &cache), tick(&mut b, &cache));
        assert_eq!(shape(&fa), shape(&fb));
        assert_eq!(shape(&fa), [(1, 0, 1024), (1, 1024, 1024), (1, 2048, 952)]);
        for i in 0..2 {
            assert_eq!(
                fa[i].text.as_str().as_ptr(),
                fb[i].text.as_str().as_ptr(),
                "block {i} is shared"
            );
        }
        assert_ne!(fa[2].text.as_str().as_ptr(), fb[2].text.as_str().as_ptr());
        let (encoded, bytes) = cache.stats();
        assert_eq!(encoded, 2, "two whole blocks, each encoded once");
        assert_eq!(bytes, fa[0].text.len() + fa[1].text.len());
    }

    #[test]
    fn the_cache_keeps_the_most_recently_used_frames_within_its_budget() {
        let run = run_with(1, 4 * 1024, true);
        let sizes: Vec<usize> = {
            let mut f = Followed::default();
            f.follow(Viewing::new(run.clone()));
            let frames = tick(&mut f, &FrameCache::default());
            frames.iter().map(|f| f.text.len()).collect()
        };
        assert_eq!(sizes.len(), 4);
        let cache = FrameCache::with_budget(sizes[2] + sizes[3]);
        let mut f = Followed::default();
        f.follow(Viewing::new(run.clone()));
        tick(&mut f, &cache);
        assert_eq!(
            cache.stats(),
            (4, sizes[2] + sizes[3]),
            "the last two of four blocks kept"
        );
        let mut again = Followed::default();
        again.follow(Viewing::new(run));
        tick(&mut again, &cache);
        assert_eq!(
            cache.stats().0,
            8,
            "every block encoded again: the least recently used went first"
        );
    }

    #[test]
    fn the_backlog_is_the_unsent_events_at_the_bytes_per_event_sent() {
        let cache = FrameCache::default();
        let live = run_with(1, 10_000, false);
        let mut followed = Followed::default();
        followed.follow(Viewing::new(live.clone()));
        assert_eq!(followed.unsent_events(), 10_000);
        assert_eq!(followed.backlog_bytes(), 10_000 * BYTES_PER_EVENT_GUESS);
        let frames = tick(&mut followed, &cache);
        assert_eq!(frames.len(), MAX_FRAMES_PER_TICK);
        for _ in &frames {
            followed.sent(1024, 1024 * 50);
        }
        assert_eq!(followed.unsent_events(), 10_000 - 8 * 1024);
        assert_eq!(followed.backlog_bytes(), (10_000 - 8 * 1024) * 50);
        live.log
            .append(vec![(RunTime(5), EventKind::PoolClosed); 100]);
        assert_eq!(followed.unsent_events(), 10_100 - 8 * 1024);
    }
}
