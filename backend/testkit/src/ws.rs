//! A real WebSocket client of the server's `/ws`, speaking the protocol of `shared`.

use crate::Server;
use futures_util::{SinkExt, StreamExt};
use shared::{ClientMessage, Event, EventKind, ServerMessage};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects a WebSocket client and returns it with the server's hello.
pub async fn connect(server: &Server) -> (Ws, ServerMessage) {
    connect_to(&server.ws_url()).await
}

pub async fn send(ws: &mut Ws, msg: &ClientMessage) {
    send_text(
        ws,
        serde_json::to_string(msg).expect("encode a client message"),
    )
    .await;
}

/// Sends a text frame (panics if the send fails).
pub async fn send_text(ws: &mut Ws, text: String) {
    ws.send(Message::Text(text.into())).await.expect("send");
}

/// The next protocol message (skipping pings and the audience count, which comes whenever
/// a viewer arrives or leaves), or None if the socket closed. Fails after 20 s.
pub async fn next_message(ws: &mut Ws) -> Option<ServerMessage> {
    loop {
        match next_any(ws).await? {
            ServerMessage::Audience { .. } => continue,
            other => return Some(other),
        }
    }
}

/// The next audience count the server sends (other messages before it are skipped).
pub async fn next_audience(ws: &mut Ws) -> u32 {
    loop {
        if let ServerMessage::Audience { viewers } = next_any(ws)
            .await
            .expect("socket closed before an audience count")
        {
            return viewers;
        }
    }
}

/// Connects to `url` (a `/ws` URL with its token) and returns the socket and the hello.
pub async fn connect_to(url: &str) -> (Ws, ServerMessage) {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    let hello = next_message(&mut ws).await.expect("hello");
    assert!(
        matches!(hello, ServerMessage::Hello { .. }),
        "first message {hello:?}"
    );
    (ws, hello)
}

/// The next message of any kind (skipping pings), or None if the socket closed. Fails after
/// 20 s.
pub async fn next_any(ws: &mut Ws) -> Option<ServerMessage> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("no message from the server within 20 s")?;
        match frame.expect("ws frame") {
            Message::Text(t) => {
                return Some(serde_json::from_str(t.as_str()).expect("decode server message"));
            }
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

/// How a connection ended, as its client saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// A close frame with this code and reason.
    Close { code: u16, reason: String },
    /// A close frame without a code.
    CloseWithoutCode,
    /// The connection ended without a close frame (`how`: the end of the stream, or the
    /// error the client read).
    Bare(String),
}

impl Ending {
    /// The close code, if a close frame with one arrived.
    pub fn code(&self) -> Option<u16> {
        match self {
            Ending::Close { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Sends `msg`, telling rather than failing when the send fails (a server that refuses a
/// frame may close the connection while the client is still sending it).
pub async fn try_send(ws: &mut Ws, msg: Message) -> Result<(), String> {
    ws.send(msg).await.map_err(|e| e.to_string())
}

/// Reads until the connection ends, for at most `secs` seconds in all (then fails): the
/// messages that came before the end, and how it ended. Pings and pongs are skipped.
pub async fn read_to_end(ws: &mut Ws, secs: u64) -> (Vec<ServerMessage>, Ending) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut messages = Vec::new();
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "the connection did not end within {secs} s ({} messages read)",
                    messages.len()
                )
            });
        let ending = match frame {
            None => Ending::Bare("end of stream".into()),
            Some(Err(e)) => Ending::Bare(e.to_string()),
            Some(Ok(Message::Text(t))) => {
                messages.push(serde_json::from_str(t.as_str()).expect("decode server message"));
                continue;
            }
            Some(Ok(Message::Close(Some(frame)))) => Ending::Close {
                code: frame.code.into(),
                reason: frame.reason.to_string(),
            },
            Some(Ok(Message::Close(None))) => Ending::CloseWithoutCode,
            Some(Ok(_)) => continue,
        };
        return (messages, ending);
    }
}

/// Collects events until a `RunFinished` arrives; also returns how many frames carried them.
pub async fn events_until_finished(ws: &mut Ws) -> (Vec<Event>, usize) {
    let mut events = Vec::new();
    let mut frames = 0;
    loop {
        match next_message(ws)
            .await
            .expect("socket closed before the run finished")
        {
            ServerMessage::Events {
                events: batch,
                dropped,
            } => {
                assert_eq!(dropped, 0, "events were dropped");
                frames += 1;
                let done = batch
                    .iter()
                    .any(|e| matches!(e.kind, EventKind::RunFinished { .. }));
                events.extend(batch);
                if done {
                    return (events, frames);
                }
            }
            ServerMessage::Error(e) => panic!("unexpected error: {e:?}"),
            ServerMessage::Hello { .. } => panic!("second hello"),
            ServerMessage::Audience { .. } => {}
        }
    }
}

/// Waits until an `Events` message contains an event matching `pred`; returns all events seen.
pub async fn events_until(ws: &mut Ws, pred: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        match next_message(ws).await.expect("socket closed") {
            ServerMessage::Events { events: batch, .. } => {
                let hit = batch.iter().any(&pred);
                events.extend(batch);
                if hit {
                    return events;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Waits until the second child of a run has printed (both of a "Two processes" run are up);
/// returns the events so far.
pub async fn until_second_child_printed(ws: &mut Ws) -> Vec<Event> {
    events_until(ws, |e| {
        matches!(
            e.kind,
            EventKind::Output {
                proc: shared::ProcId(2),
                ..
            }
        )
    })
    .await
}
