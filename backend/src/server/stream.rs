//! What a connection sends on each tick: the new events of every run it follows, in frames
//! of at most [`MAX_EVENTS_PER_FRAME`] events, at most [`MAX_FRAMES_PER_TICK`] frames per
//! tick (what is left follows on the next tick). A run is followed from its first event (the
//! snapshot) until its log is complete.

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

/// The runs a connection follows.
#[derive(Debug, Default)]
pub struct Followed(Vec<Following>);

impl Followed {
    /// Follows `run` from its first event, unless it is followed already.
    pub fn follow(&mut self, run: Viewing) {
        if !self.0.iter().any(|f| f.run.run().id == run.run().id) {
            self.0.push(Following { run, cursor: 0 });
        }
    }

    /// How many runs are followed (a run is let go once all of it was sent).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no run is followed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The frames of one tick: the new events of the followed runs, up to
    /// [`MAX_FRAMES_PER_TICK`] frames of up to [`MAX_EVENTS_PER_FRAME`] events.
    pub fn tick(&mut self) -> Vec<ServerMessage> {
        let mut frames = Vec::new();
        for _ in 0..MAX_FRAMES_PER_TICK {
            let mut events = Vec::new();
            self.0.retain_mut(|f| {
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
}
