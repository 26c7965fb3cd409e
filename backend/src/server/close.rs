//! How a connection ends, and what its close frame says (RFC 6455's codes): the server stops
//! (1001, going away), a frame too big for the WebSocket layer (1009), text that is not UTF-8
//! (1007), a frame that breaks the protocol (1002), a client that fell too far behind (1008,
//! the slow-reader rule of [`super::backlog`]), an internal error (1011), the connection limit
//! (1013, try again later).
//!
//! A reason is at most [`MAX_REASON_BYTES`]: a close frame's payload (code and reason) is at
//! most 125 bytes, and a browser shows the reason to whoever reads the console.

use super::backlog::ReaderLimits;
use axum::extract::ws::{CloseFrame, close_code};
use tungstenite::error::{CapacityError, Error as WsError, ProtocolError};

/// The longest reason a close frame can carry.
pub const MAX_REASON_BYTES: usize = 123;

fn frame(code: u16, reason: &str) -> CloseFrame {
    let mut end = reason.len().min(MAX_REASON_BYTES);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    CloseFrame {
        code,
        reason: reason[..end].into(),
    }
}

/// The server is stopping: its runs have ended and everything they recorded was sent.
pub fn going_away() -> CloseFrame {
    frame(
        close_code::AWAY,
        "procviz server is shutting down; its runs were cancelled",
    )
}

/// The client fell more than the limit behind for the grace period.
pub fn too_slow(limits: &ReaderLimits) -> CloseFrame {
    frame(
        close_code::POLICY,
        &format!(
            "you fell more than {} MiB behind for {} s; reload to catch up",
            limits.max_backlog_bytes / (1024 * 1024),
            limits.grace.as_secs()
        ),
    )
}

/// The server could not go on with this connection (a bug: the detail is in its log).
pub fn internal() -> CloseFrame {
    frame(
        close_code::ERROR,
        "procviz could not encode what it had to send; reload the page",
    )
}

/// Every connection is taken.
pub fn full() -> CloseFrame {
    frame(
        close_code::AGAIN,
        "procviz: too many connections; try again later",
    )
}

/// The close frame for a frame the WebSocket layer refused to read, or `None` when the error
/// only says the client went away (nothing to tell it).
pub fn for_receive_error(error: axum::Error) -> Option<CloseFrame> {
    let error = error.into_inner();
    let ws = error.downcast_ref::<WsError>()?;
    match ws {
        WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => Some(frame(
            close_code::SIZE,
            &format!(
                "a message of {size} bytes is over the limit of {} MiB",
                max_size / (1024 * 1024)
            ),
        )),
        WsError::Utf8(_) => Some(frame(
            close_code::INVALID,
            "a text frame that is not UTF-8; send commands as JSON text",
        )),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        WsError::Protocol(p) => Some(frame(
            close_code::PROTOCOL,
            &format!("WebSocket protocol error: {p}"),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn code_and_reason(error: WsError) -> Option<(u16, String)> {
        for_receive_error(axum::Error::new(error)).map(|f| (f.code, f.reason.to_string()))
    }

    #[test]
    fn a_refused_frame_gets_its_code_and_a_gone_client_gets_nothing() {
        let too_long = WsError::Capacity(CapacityError::MessageTooLong {
            size: 67_108_864,
            max_size: 4 * 1024 * 1024,
        });
        assert_eq!(
            code_and_reason(too_long),
            Some((
                1009,
                "a message of 67108864 bytes is over the limit of 4 MiB".into()
            ))
        );
        let utf8 = code_and_reason(WsError::Utf8("invalid utf-8 sequence".into()));
        assert_eq!(utf8.map(|(c, _)| c), Some(1007));
        let protocol = code_and_reason(WsError::Protocol(ProtocolError::NonZeroReservedBits));
        assert_eq!(protocol.map(|(c, _)| c), Some(1002));
        for gone in [
            WsError::ConnectionClosed,
            WsError::AlreadyClosed,
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake),
            WsError::Io(std::io::ErrorKind::ConnectionReset.into()),
        ] {
            assert_eq!(code_and_reason(gone), None);
        }
        // Not a WebSocket error at all.
        assert!(for_receive_error(axum::Error::new(std::fmt::Error)).is_none());
    }

    #[test]
    fn every_reason_fits_a_close_frame_and_says_what_happened() {
        let limits = ReaderLimits {
            max_backlog_bytes: 64 * 1024 * 1024,
            grace: Duration::from_secs(30),
        };
        let slow = too_slow(&limits);
        assert_eq!(slow.code, 1008);
        assert_eq!(
            slow.reason.as_str(),
            "you fell more than 64 MiB behind for 30 s; reload to catch up"
        );
        assert_eq!(going_away().code, 1001);
        assert_eq!(full().code, 1013);
        assert_eq!(internal().code, 1011);
        let long = frame(1002, &"é".repeat(100));
        assert!(
            long.reason.len() <= MAX_REASON_BYTES,
            "{}",
            long.reason.len()
        );
        for f in [slow, going_away(), full(), internal(), long] {
            assert!(f.reason.len() <= MAX_REASON_BYTES, "{:?}", f.reason);
        }
    }
}
