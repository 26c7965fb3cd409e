//! Reliability: how a connection ends when the server stops (SIGTERM, Ctrl-C), when a client
//! sends a frame the WebSocket layer cannot take, or when a client stops reading; thousands of
//! random and mutated frames; a hundred viewers of a 100,000-task run. The figures these tests
//! print are in docs/RELIABILITY.md:
//! `cargo test -p backend --test integration reliability:: -- --nocapture`.

mod close_codes;
mod fuzz;
mod load;
mod shutdown;
mod slow_readers;

use futures_util::StreamExt;
use shared::{
    ClientMessage, DemoRequest, Event, EventKind, KillReason, PoolParams, RunId, RunOutcome,
    ServerMessage, Work,
};
use std::time::{Duration, Instant};
use testkit::{Ending, Ws, try_send};
use tokio_tungstenite::tungstenite::Message;

/// The longest a client following a big run may take to get all of it.
const WITHIN: Duration = Duration::from_secs(150);

/// A run of 100,000 tasks that do nothing and print nothing: about 400,000 events, 46 MB of
/// JSON. It goes on when the connection that started it closes.
fn big_run() -> ClientMessage {
    ClientMessage::StartRun {
        demo: DemoRequest::Pool(PoolParams {
            tasks: 100_000,
            work: Work::None,
            task_ms: 0,
            print: false,
            fail: Vec::new(),
            ..PoolParams::default()
        }),
        keep_on_disconnect: true,
        sample_ms: None,
        schedule: Vec::new(),
        request: None,
    }
}

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

/// What one client got.
#[derive(Debug)]
struct Got {
    /// Events, counted by their `seq` (each one checked to follow the previous).
    events: u64,
    /// Bytes of JSON.
    bytes: u64,
    /// Whether the last event was `run_finished`.
    finished: bool,
    /// How the connection ended, when it ended before `run_finished`.
    ending: Option<Ending>,
    /// When it was done.
    done: Instant,
}

/// Checks the `seq` of every event of an `events` frame of one run, in order, against
/// `next` (the one expected); returns whether the frame holds `run_finished`. A light scan
/// instead of decoding every event: 100 clients × 45 MB.
fn scan(text: &str, next: &mut u64) -> Result<bool, String> {
    if !text.starts_with(r#"{"type":"events""#) {
        return Ok(false);
    }
    const KEY: &str = r#""seq":"#;
    let mut rest = text;
    while let Some(at) = rest.find(KEY) {
        rest = &rest[at + KEY.len()..];
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seq: u64 = rest[..digits]
            .parse()
            .map_err(|e| format!("seq {:?}: {e}", &rest[..digits]))?;
        if seq != *next {
            return Err(format!("seq {seq} where {next} was due (a gap)"));
        }
        *next += 1;
    }
    Ok(text.contains(r#""type":"run_finished""#))
}

/// Follows run 1 on `ws` (connected already): subscribes, waits for `wait` without reading,
/// then reads until `run_finished` or the end of the connection.
async fn follow(mut ws: Ws, wait: impl Future<Output = ()>) -> Result<Got, String> {
    let subscribe = serde_json::to_string(&ClientMessage::Subscribe { run: RunId(1) })
        .map_err(|e| e.to_string())?;
    try_send(&mut ws, Message::Text(subscribe.into())).await?;
    wait.await;
    let mut got = Got {
        events: 0,
        bytes: 0,
        finished: false,
        ending: None,
        done: Instant::now(),
    };
    let deadline = tokio::time::Instant::now() + WITHIN;
    while !got.finished {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| format!("not finished within {WITHIN:?}: {got:?}"))?;
        match frame {
            Some(Ok(Message::Text(t))) => {
                got.bytes += t.len() as u64;
                got.finished = scan(t.as_str(), &mut got.events)?;
            }
            Some(Ok(Message::Close(frame))) => {
                got.ending = Some(match frame {
                    Some(f) => Ending::Close {
                        code: f.code.into(),
                        reason: f.reason.to_string(),
                    },
                    None => Ending::CloseWithoutCode,
                });
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                got.ending = Some(Ending::Bare(e.to_string()));
                break;
            }
            None => {
                got.ending = Some(Ending::Bare("end of stream".into()));
                break;
            }
        }
    }
    got.done = Instant::now();
    Ok(got)
}
