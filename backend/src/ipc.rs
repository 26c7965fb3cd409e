//! What travels between the server and its children, besides their stdout/stderr.
//!
//! - The **control channel**: a Unix socket pair whose child end is the child's fd
//!   [`CONTROL_FD`]. The child sends [`Report`]s (lifecycle, tasks taken, started, finished),
//!   each framed as a little-endian `u32` length and a postcard body. Reports are batched: a
//!   worker flushes before anything that takes time and before it waits for work, so a long
//!   task is always announced before it runs, and a flood of short tasks costs one write per
//!   batch. The channel is also the child's watchdog: end-of-file means the server is gone.
//! - The same channel carries a pool worker's **tasks** the other way: fixed-size
//!   [`TaskRecord`]s, each a chunk of tasks (or the stop sentinel). The pool decides which
//!   worker gets which chunk (see [`crate::pool`]).

use serde::{Deserialize, Serialize};

/// The child's file descriptor for its end of the control channel.
pub const CONTROL_FD: i32 = 3;

/// A report from a child to the server. Times are absolute `CLOCK_MONOTONIC` nanoseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Report {
    /// The child is running its own code.
    Started {
        /// When.
        at_ns: u64,
        /// Its PID as it sees it.
        pid: u32,
        /// The cores it may run on.
        cpus: Vec<u32>,
    },
    /// A pool worker took a chunk from the queue.
    Took {
        /// When.
        at_ns: u64,
        /// First task of the chunk.
        first: u64,
        /// Tasks in the chunk.
        count: u32,
    },
    /// A task began.
    TaskStarted {
        /// When.
        at_ns: u64,
        /// The task number.
        task: u64,
    },
    /// A task ended.
    TaskFinished {
        /// When.
        at_ns: u64,
        /// The task number.
        task: u64,
        /// What it produced.
        outcome: Outcome,
    },
}

/// What a task produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// It returned a value.
    Value(i64),
    /// It raised.
    Error {
        /// Exception type.
        error_type: String,
        /// Message.
        message: String,
        /// Where (worker, task, step).
        location: String,
    },
}

/// Appends one framed report to `buf`.
pub fn encode(report: &Report, buf: &mut Vec<u8>) {
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]);
    match postcard::to_extend(report, std::mem::take(buf)) {
        Ok(mut out) => {
            let len = (out.len() - start - 4) as u32;
            out[start..start + 4].copy_from_slice(&len.to_le_bytes());
            *buf = out;
        }
        // Serializing these plain types into a Vec cannot fail; drop the frame if it does.
        Err(_) => buf.truncate(start),
    }
}

/// Reassembles framed reports from a byte stream that arrives in arbitrary pieces.
#[derive(Debug, Default)]
pub struct Decoder {
    pending: Vec<u8>,
}

/// The largest frame a decoder accepts; anything larger means the stream is corrupt.
pub const MAX_FRAME: usize = 1 << 20;

/// A control stream that cannot be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// A frame announced an impossible length.
    #[error("frame of {0} bytes is larger than the limit")]
    TooLarge(usize),
    /// A frame's body was not a report.
    #[error("undecodable report: {0}")]
    Body(#[from] postcard::Error),
}

impl Decoder {
    /// Adds `bytes` and appends every complete report to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Report>) -> Result<(), DecodeError> {
        self.pending.extend_from_slice(bytes);
        let mut at = 0;
        while self.pending.len() - at >= 4 {
            let mut len = [0u8; 4];
            len.copy_from_slice(&self.pending[at..at + 4]);
            let len = u32::from_le_bytes(len) as usize;
            if len > MAX_FRAME {
                return Err(DecodeError::TooLarge(len));
            }
            if self.pending.len() - at - 4 < len {
                break;
            }
            out.push(postcard::from_bytes(&self.pending[at + 4..at + 4 + len])?);
            at += 4 + len;
        }
        self.pending.drain(..at);
        Ok(())
    }
}

/// One entry of a pool's task queue: a chunk of tasks, or the sentinel that tells a worker
/// to exit (Python's `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskRecord {
    /// Run tasks `first .. first + count`.
    Chunk {
        /// First task.
        first: u64,
        /// How many.
        count: u32,
    },
    /// Exit.
    Stop,
}

impl TaskRecord {
    /// Size of a record on the channel.
    pub const SIZE: usize = 16;

    /// The record's bytes.
    pub fn encode(self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        match self {
            TaskRecord::Chunk { first, count } => {
                b[..8].copy_from_slice(&first.to_le_bytes());
                b[8..12].copy_from_slice(&count.to_le_bytes());
            }
            TaskRecord::Stop => b[12..].copy_from_slice(&1u32.to_le_bytes()),
        }
        b
    }

    /// The record in `b`.
    pub fn decode(b: &[u8; Self::SIZE]) -> Self {
        let word = |r: std::ops::Range<usize>| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&b[r]);
            u32::from_le_bytes(w)
        };
        if word(12..16) == 1 {
            return TaskRecord::Stop;
        }
        let mut first = [0u8; 8];
        first.copy_from_slice(&b[..8]);
        TaskRecord::Chunk {
            first: u64::from_le_bytes(first),
            count: word(8..12),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_survive_any_split_of_the_stream() {
        let reports = vec![
            Report::Started {
                at_ns: 1,
                pid: 2,
                cpus: vec![0, 1],
            },
            Report::Took {
                at_ns: 3,
                first: 4,
                count: 5,
            },
            Report::TaskStarted { at_ns: 6, task: 7 },
            Report::TaskFinished {
                at_ns: 8,
                task: 9,
                outcome: Outcome::Error {
                    error_type: "ZeroDivisionError".into(),
                    message: "division by zero".into(),
                    location: "here".into(),
                },
            },
            Report::TaskFinished {
                at_ns: 10,
                task: 11,
                outcome: Outcome::Value(-3),
            },
        ];
        let mut bytes = Vec::new();
        for r in &reports {
            encode(r, &mut bytes);
        }
        for piece in [1, 3, 7, bytes.len()] {
            let mut decoder = Decoder::default();
            let mut out = Vec::new();
            for chunk in bytes.chunks(piece) {
                decoder.feed(chunk, &mut out).unwrap();
            }
            assert_eq!(out, reports, "pieces of {piece} bytes");
        }
    }

    #[test]
    fn a_corrupt_length_is_an_error_not_an_allocation() {
        let mut out = Vec::new();
        let err = Decoder::default()
            .feed(&u32::MAX.to_le_bytes(), &mut out)
            .unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge(_)));
    }

    #[test]
    fn task_records_round_trip() {
        for r in [
            TaskRecord::Chunk {
                first: 1 << 40,
                count: 7,
            },
            TaskRecord::Stop,
        ] {
            assert_eq!(TaskRecord::decode(&r.encode()), r);
        }
    }
}
