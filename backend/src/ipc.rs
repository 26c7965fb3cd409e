//! The control channel between the server and each child: a Unix socket pair whose child end
//! is the child's file descriptor [`CONTROL_FD`]. Lifecycle reports travel here as JSON lines,
//! never on the child's stdout/stderr, so what a workload prints cannot be mistaken for them.
//!
//! The channel is also the child's watchdog: when the server dies, the child reads end-of-file
//! and exits (besides `PR_SET_PDEATHSIG`).

use serde::{Deserialize, Serialize};

/// The child's file descriptor number for its end of the control channel.
pub const CONTROL_FD: i32 = 3;

/// A report from a child to the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkerReport {
    /// The child is running its own code.
    Started {
        /// When, on the monotonic clock (absolute nanoseconds).
        at_ns: u64,
        /// Its PID as it sees it.
        pid: u32,
        /// The cores it may run on.
        cpus: Vec<u32>,
    },
}
