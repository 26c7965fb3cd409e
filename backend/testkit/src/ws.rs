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
