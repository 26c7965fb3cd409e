//! The fork server's wire: what travels on its `SOCK_SEQPACKET` channel, one message per
//! request or reply, as JSON. A request carries the child's three descriptors (control
//! socket, stdout, stderr) as `SCM_RIGHTS` beside its body.

use crate::workload::Step;
use serde::{Deserialize, Serialize};
use shared::ExitStatus;
use std::os::fd::RawFd;

/// The zygote's descriptor of its channel to the server (out of the way of fds 0–3).
pub const ZYGOTE_FD: RawFd = 100;
/// The largest message (a script of some thousands of steps fits); the zygote reads requests
/// into a buffer of this size, so a larger one is refused before it is sent.
pub const MAX_MESSAGE: usize = 512 * 1024;

/// What the child is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChildKind {
    /// A plain process running its script once as task `task`.
    Process {
        /// Its task number.
        task: u64,
    },
    /// A pool worker.
    PoolWorker {
        /// `maxtasksperchild`.
        maxtasks: Option<u32>,
    },
    /// Another program: after the usual setup (group, death signal, affinity, stdout and
    /// stderr; stdin from `/dev/null`, no control channel) the child execs it.
    Exec(ExecSpec),
}

/// What an [`ChildKind::Exec`] child runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecSpec {
    /// The program (a path, or a name looked up on `PATH`).
    pub program: String,
    /// Its arguments, `argv[1..]`.
    pub args: Vec<String>,
    /// Its whole environment (nothing of the fork server's is passed on).
    pub env: Vec<(String, String)>,
    /// The directory it starts in.
    pub cwd: String,
}

/// A request to fork a child.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpawnRequest {
    /// Matches the reply.
    pub id: u64,
    /// The child's name.
    pub name: String,
    /// What it is.
    pub kind: ChildKind,
    /// What it runs.
    pub script: Vec<Step>,
    /// The process group to join (0: lead a new one).
    pub pgid: i32,
    /// The cores it may use.
    pub affinity: Option<Vec<u32>>,
}

/// A message from the zygote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// Request `id` was forked.
    Spawned {
        /// The request's id.
        id: u64,
        /// The child's PID.
        pid: i32,
        /// The process group it is in.
        pgid: i32,
    },
    /// Request `id` could not be forked.
    Failed {
        /// The request's id.
        id: u64,
        /// Why.
        message: String,
    },
    /// A child was reaped.
    Exited {
        /// Its PID.
        pid: i32,
        /// How it ended.
        status: ExitStatus,
        /// CPU time it used (user + system), from `wait4`.
        cpu_time_ns: Option<u64>,
    },
}

/// A message that cannot go on the wire, or did not come off it.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Larger than [`MAX_MESSAGE`].
    #[error("message of {0} bytes is too large (the limit is {MAX_MESSAGE})")]
    TooLarge(usize),
    /// Not the JSON of the expected message.
    #[error("undecodable message: {0}")]
    Json(#[from] serde_json::Error),
}

fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, WireError> {
    let body = serde_json::to_vec(message)?;
    if body.len() > MAX_MESSAGE {
        return Err(WireError::TooLarge(body.len()));
    }
    Ok(body)
}

/// The body of a spawn request.
pub fn encode_request(request: &SpawnRequest) -> Result<Vec<u8>, WireError> {
    encode(request)
}

/// A spawn request from its body.
pub fn decode_request(body: &[u8]) -> Result<SpawnRequest, WireError> {
    Ok(serde_json::from_slice(body)?)
}

/// The body of a reply.
pub fn encode_reply(reply: &Reply) -> Result<Vec<u8>, WireError> {
    encode(reply)
}

/// A reply from its body.
pub fn decode_reply(body: &[u8]) -> Result<Reply, WireError> {
    Ok(serde_json::from_slice(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(script: Vec<Step>) -> SpawnRequest {
        SpawnRequest {
            id: 7,
            name: "PoolWorker-1".into(),
            kind: ChildKind::PoolWorker { maxtasks: Some(2) },
            script,
            pgid: 1234,
            affinity: Some(vec![0, 1]),
        }
    }

    #[test]
    fn a_request_and_every_reply_come_off_the_wire_as_they_went_on() {
        let sent = request(vec![
            Step::Print {
                text: "Process {name} started working on task {task}".into(),
                stderr: false,
            },
            Step::Sleep { ms: 1000 },
        ]);
        let body = encode_request(&sent).map_err(|e| e.to_string());
        let back = body.and_then(|b| decode_request(&b).map_err(|e| e.to_string()));
        assert_eq!(back, Ok(sent));
        let exec = SpawnRequest {
            kind: ChildKind::Exec(ExecSpec {
                program: "python3".into(),
                args: vec!["-c".into(), "print('ü')".into()],
                env: vec![("PYTHONPATH".into(), "/tmp/x".into())],
                cwd: "/tmp".into(),
            }),
            script: Vec::new(),
            ..request(Vec::new())
        };
        let back = encode_request(&exec).and_then(|b| decode_request(&b));
        assert_eq!(back.map_err(|e| e.to_string()), Ok(exec));
        let replies = [
            Reply::Spawned {
                id: 7,
                pid: 4321,
                pgid: 1234,
            },
            Reply::Failed {
                id: 8,
                message: "Resource temporarily unavailable".into(),
            },
            Reply::Exited {
                pid: 4321,
                status: ExitStatus::Signal { signal: 9 },
                cpu_time_ns: Some(12_000_000),
            },
            Reply::Exited {
                pid: 4322,
                status: ExitStatus::Code { code: 1 },
                cpu_time_ns: None,
            },
        ];
        for reply in replies {
            let back = encode_reply(&reply).and_then(|b| decode_reply(&b));
            assert_eq!(back.map_err(|e| e.to_string()), Ok(reply));
        }
    }

    #[test]
    fn a_request_larger_than_the_zygotes_buffer_is_refused_before_it_is_sent() {
        let huge = vec![
            Step::Print {
                text: "x".repeat(1024),
                stderr: false,
            };
            MAX_MESSAGE / 1024
        ];
        match encode_request(&request(huge)) {
            Err(WireError::TooLarge(n)) => assert!(n > MAX_MESSAGE),
            other => panic!("refusal expected, got {other:?}"),
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_request() {
        let bodies: [&[u8]; 4] = [b"", b"{", b"{\"id\":1}", b"\xff\xfe"];
        for body in bodies {
            assert!(
                matches!(decode_request(body), Err(WireError::Json(_))),
                "{body:?}"
            );
            assert!(decode_reply(body).is_err(), "{body:?}");
        }
    }
}
