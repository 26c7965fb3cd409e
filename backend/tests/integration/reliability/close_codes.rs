//! Frames the WebSocket layer cannot take end the connection with a close frame that says
//! why: over 4 MiB → 1009 (message too big), text that is not UTF-8 → 1007 (invalid data).
//! Between 64 KiB and 4 MiB a message is answered with an error and the connection stays open.

use super::*;
use shared::{ClientMessage, ErrorKind, RunId};
use testkit::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

/// The WebSocket layer's limit on a frame (and a message).
const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// A text frame of raw bytes (not necessarily UTF-8).
pub(super) fn raw_text(bytes: Vec<u8>) -> Message {
    Message::Frame(Frame::message(bytes, OpCode::Data(Data::Text), true))
}

async fn expect_error(ws: &mut Ws, kind: ErrorKind) {
    match next_message(ws).await {
        Some(ServerMessage::Error(e)) => assert_eq!(e.kind, kind, "{e:?}"),
        other => panic!("a {kind:?} error expected, got {other:?}"),
    }
}

#[tokio::test]
async fn a_frame_over_4_mib_is_closed_with_1009_and_text_that_is_not_utf8_with_1007() {
    let server = Server::start();
    let (mut ws, _) = connect(&server).await;
    // Under the WebSocket layer's limit but over the protocol's: an error, still open.
    let big = format!(
        r#"{{"type":"subscribe","pad":"{}"}}"#,
        "x".repeat(MAX_FRAME_BYTES - 100)
    );
    assert!(big.len() <= MAX_FRAME_BYTES);
    send_text(&mut ws, big).await;
    expect_error(&mut ws, ErrorKind::TooLarge).await;
    send(&mut ws, &ClientMessage::Subscribe { run: RunId(7) }).await;
    expect_error(&mut ws, ErrorKind::NotFound).await;

    for (what, frame) in [
        (
            "text",
            Message::Text("x".repeat(MAX_FRAME_BYTES + 1).into()),
        ),
        (
            "binary",
            Message::Binary(vec![7u8; MAX_FRAME_BYTES + 1].into()),
        ),
        (
            "64 MiB of text",
            Message::Text("y".repeat(64 * 1024 * 1024).into()),
        ),
    ] {
        let (mut ws, _) = connect(&server).await;
        // The server may close while the frame is still being sent.
        let sent = try_send(&mut ws, frame).await;
        let (messages, ending) = read_to_end(&mut ws, 20).await;
        assert!(
            events_of(messages).is_empty(),
            "{what}: no events, no error"
        );
        match &ending {
            Ending::Close { code, reason } => {
                assert_eq!(*code, TOO_BIG, "{what}: {ending:?} (send: {sent:?})");
                assert!(reason.contains("4 MiB"), "{what}: {reason}");
            }
            other => panic!("{what}: a close frame 1009 expected, got {other:?} (send: {sent:?})"),
        }
    }

    let (mut ws, _) = connect(&server).await;
    send(&mut ws, &ClientMessage::Subscribe { run: RunId(7) }).await;
    expect_error(&mut ws, ErrorKind::NotFound).await;
    try_send(
        &mut ws,
        raw_text(b"{\"type\":\"subscribe\",\"run\":\xff\xfe}".to_vec()),
    )
    .await
    .expect("a small frame is sent");
    let (messages, ending) = read_to_end(&mut ws, 20).await;
    assert!(events_of(messages).is_empty(), "no events, no error");
    match &ending {
        Ending::Close { code, reason } => {
            assert_eq!(*code, INVALID_DATA, "{ending:?}");
            assert!(reason.contains("UTF-8"), "{reason}");
        }
        other => panic!("a close frame 1007 expected, got {other:?}"),
    }

    // The server serves on.
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, &ClientMessage::Subscribe { run: RunId(7) }).await;
    expect_error(&mut ws, ErrorKind::NotFound).await;
}
