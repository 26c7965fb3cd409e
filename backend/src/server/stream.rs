//! What a connection sends on each tick: the new events of every run it follows, in frames
//! of at most [`MAX_EVENTS_PER_FRAME`] events, at most [`MAX_FRAMES_PER_TICK`] frames per
//! tick (what is left follows on the next tick). A run is followed from its first event (the
//! snapshot) until its log is complete.
//!
//! It also knows how far behind the connection is ([`Followed::backlog_bytes`]: the events
//! not yet sent, at the bytes per event of those sent so far), for the slow-reader rule.

use crate::runs::Viewing;
use shared::ServerMessage;

/// The most events in one frame: small enough that the page decodes a frame in a few
/// milliseconds (a frame is one task of the page's main thread).
pub const MAX_EVENTS_PER_FRAME: usize = 1024;
/// The most frames per tick and client; what is left follows on the next tick.
pub const MAX_FRAMES_PER_TICK: usize = 8;

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

    /// The frames of one tick: the new events of the followed runs, up to
    /// [`MAX_FRAMES_PER_TICK`] frames of up to [`MAX_EVENTS_PER_FRAME`] events.
    pub fn tick(&mut self) -> Vec<ServerMessage> {
        let mut frames = Vec::new();
        for _ in 0..MAX_FRAMES_PER_TICK {
            let mut events = Vec::new();
            self.runs.retain_mut(|f| {
                let room = MAX_EVENTS_PER_FRAME.saturating_sub(events.len());
                let (batch, complete) = f.run.run().log.read_from(f.cursor, room);
                f.cursor += batch.len();
                events.extend(batch);
                !complete
            });
            let full = events.len() >= MAX_EVENTS_PER_FRAME;
            if !events.is_empty() {
                frames.push(ServerMessage::Events { events, dropped: 0 });
            }
            if !full {
                break;
            }
        }
        frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::RunHandle;
    use shared::{DemoRequest, EventKind, PoolParams, RunId, RunTime};
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

    /// (run, first seq, events) of each frame.
    fn shape(frames: &[ServerMessage]) -> Vec<Vec<(u64, u64, usize)>> {
        frames
            .iter()
            .map(|f| match f {
                ServerMessage::Events { events, dropped: 0 } => {
                    let mut runs: Vec<(u64, u64, usize)> = Vec::new();
                    for e in events {
                        match runs.last_mut() {
                            Some(r) if r.0 == e.run.0 && r.1 + r.2 as u64 == e.seq => r.2 += 1,
                            _ => runs.push((e.run.0, e.seq, 1)),
                        }
                    }
                    runs
                }
                other => panic!("events expected, got {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_tick_sends_at_most_eight_frames_of_1024_events_and_the_rest_follows() {
        let mut followed = Followed::default();
        followed.follow(Viewing::new(run_with(1, 10_000, true)));
        let first = shape(&followed.tick());
        let expected: Vec<Vec<(u64, u64, usize)>> =
            (0..8).map(|i| vec![(1, i * 1024, 1024)]).collect();
        assert_eq!(first, expected);
        let second = shape(&followed.tick());
        assert_eq!(second, [vec![(1, 8192, 1024)], vec![(1, 9216, 784)]]);
        assert!(followed.is_empty(), "a complete run is let go");
        assert!(followed.tick().is_empty());
    }

    #[test]
    fn runs_share_frames_and_a_live_run_stays_followed() {
        let live = run_with(2, 1000, false);
        let mut followed = Followed::default();
        followed.follow(Viewing::new(run_with(1, 100, true)));
        followed.follow(Viewing::new(live.clone()));
        followed.follow(Viewing::new(live.clone()));
        assert_eq!(followed.len(), 2, "a run is followed once");
        let frames = shape(&followed.tick());
        assert_eq!(frames, [vec![(1, 0, 100), (2, 0, 924)], vec![(2, 924, 76)]]);
        assert_eq!(followed.len(), 1, "the live run is still followed");
        assert!(followed.tick().is_empty(), "nothing new, nothing sent");
        live.log.append(vec![(RunTime(5), EventKind::PoolClosed)]);
        live.log.finish();
        assert_eq!(shape(&followed.tick()), [vec![(2, 1000, 1)]]);
        assert!(followed.is_empty());
    }

    #[test]
    fn the_backlog_is_the_unsent_events_at_the_bytes_per_event_sent() {
        let live = run_with(1, 10_000, false);
        let mut followed = Followed::default();
        followed.follow(Viewing::new(live.clone()));
        assert_eq!(followed.unsent_events(), 10_000);
        assert_eq!(followed.backlog_bytes(), 10_000 * BYTES_PER_EVENT_GUESS);
        let frames = followed.tick();
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
