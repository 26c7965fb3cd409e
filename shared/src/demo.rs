//! The demos a client can start, with their parameters and the ranges the server accepts.
//!
//! Validation lives here, beside the types, so the page and the server agree on what is in
//! range; the server refuses an out-of-range request before it starts anything.

use serde::{Deserialize, Serialize};

/// A demo to run, with its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "demo", rename_all = "snake_case", deny_unknown_fields)]
pub enum DemoRequest {
    /// Two processes: one prints `Square: 100`, the other `Cube: 1000`; the main process
    /// joins both and prints `Done!`.
    TwoProcesses(TwoProcessesParams),
}

impl DemoRequest {
    /// A human title for the demo.
    pub fn title(&self) -> &'static str {
        match self {
            DemoRequest::TwoProcesses(_) => "Two processes",
        }
    }

    /// Checks every parameter against its documented range.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            DemoRequest::TwoProcesses(p) => p.validate(),
        }
    }
}

/// Parameters of [`DemoRequest::TwoProcesses`]. Every field may be omitted (its default).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwoProcessesParams {
    /// The number squared and cubed (default 10, range ±1,000,000).
    pub num: i64,
    /// How long each child stays alive after printing, in milliseconds (default 0, at most
    /// [`TwoProcessesParams::MAX_LINGER_MS`]), so the processes can be seen in `ps` or `htop`.
    pub linger_ms: u64,
}

impl TwoProcessesParams {
    /// Upper bound of [`TwoProcessesParams::linger_ms`].
    pub const MAX_LINGER_MS: u64 = 60_000;
    /// Upper bound of the magnitude of [`TwoProcessesParams::num`].
    pub const MAX_NUM: i64 = 1_000_000;

    fn validate(&self) -> Result<(), String> {
        if self.num.abs() > Self::MAX_NUM {
            return Err(format!(
                "num must be between -{max} and {max}, got {}",
                self.num,
                max = Self::MAX_NUM
            ));
        }
        if self.linger_ms > Self::MAX_LINGER_MS {
            return Err(format!(
                "linger_ms must be at most {}, got {}",
                Self::MAX_LINGER_MS,
                self.linger_ms
            ));
        }
        Ok(())
    }
}

impl Default for TwoProcessesParams {
    fn default() -> Self {
        TwoProcessesParams {
            num: 10,
            linger_ms: 0,
        }
    }
}
