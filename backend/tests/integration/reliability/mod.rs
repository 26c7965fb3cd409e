//! Reliability: how a connection ends when the server stops (SIGTERM, Ctrl-C), when a client
//! sends a frame the WebSocket layer cannot take, or when a client stops reading; thousands of
//! random and mutated frames; a hundred viewers of a 100,000-task run. The figures these tests
//! print are in docs/RELIABILITY.md:
//! `cargo test -p backend --test integration reliability:: -- --nocapture`.

mod close_codes;
mod shutdown;
mod slow_readers;

use shared::{Event, EventKind, KillReason, RunOutcome, ServerMessage};

/// Close codes of RFC 6455 the server uses.
const GOING_AWAY: u16 = 1001;
const POLICY: u16 = 1008;
const INVALID_DATA: u16 = 1007;
const TOO_BIG: u16 = 1009;

/// The events among `messages` (errors and hellos fail the test; audience counts are skipped).
fn events_of(messages: Vec<ServerMessage>) -> Vec<Event> {
    let mut events = Vec::new();
    for m in messages {
        match m {
            ServerMessage::Events {
                events: batch,
                dropped,
            } => {
                assert_eq!(dropped, 0, "events were dropped");
                events.extend(batch);
            }
            ServerMessage::Audience { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    events
}

/// Checks that `events` (of one run) are numbered 0, 1, 2, … without a gap.
fn assert_gap_free(events: &[Event]) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as u64, "event {i} has seq {} (a gap)", e.seq);
    }
}

/// The outcome of the run, from its last event (which must be `run_finished`).
fn outcome(events: &[Event]) -> Option<&RunOutcome> {
    match &events.last()?.kind {
        EventKind::RunFinished { outcome } => Some(outcome),
        _ => None,
    }
}

const SERVER_SHUTDOWN: RunOutcome = RunOutcome::Cancelled {
    reason: KillReason::ServerShutdown,
};
