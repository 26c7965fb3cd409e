//! The demos a client can start, with their parameters and the ranges the server accepts.
//!
//! Validation lives here, beside the types, so the page and the server agree on what is in
//! range; the server refuses an out-of-range request before it starts anything.

use crate::PoolApi;
use serde::{Deserialize, Serialize};

/// A demo to run, with its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "demo", rename_all = "snake_case", deny_unknown_fields)]
pub enum DemoRequest {
    /// Two processes: one prints `Square: 100`, the other `Cube: 1000`; the main process
    /// joins both and prints `Done!`.
    TwoProcesses(TwoProcessesParams),
    /// `Pool(workers)` running `tasks` tasks through one of the pool APIs. The defaults are
    /// the seed example: `Pool(4).imap` over 10 one-second tasks, task 0 raising
    /// `ZeroDivisionError: division by zero`.
    Pool(PoolParams),
}

impl DemoRequest {
    /// A human title for the demo.
    pub fn title(&self) -> &'static str {
        match self {
            DemoRequest::TwoProcesses(_) => "Two processes",
            DemoRequest::Pool(_) => "Pool",
        }
    }

    /// Checks every parameter against its documented range, on a machine with
    /// `machine_cores` cores.
    pub fn validate(&self, machine_cores: u32) -> Result<(), String> {
        match self {
            DemoRequest::TwoProcesses(p) => p.validate(),
            DemoRequest::Pool(p) => p.validate(machine_cores),
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

/// What each task of a pool demo does for its duration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Work {
    /// `time.sleep(d)`: off the CPU (I/O-bound).
    #[default]
    Sleep,
    /// Computation for `d` of wall time: on the CPU (CPU-bound).
    Cpu,
    /// Nothing: return at once (for measuring the pool's own overhead).
    None,
}

/// Parameters of [`DemoRequest::Pool`]. Every field may be omitted (its default).
///
/// Each task `n`, in order: prints `Process {name} started working on task {n}` (if `print`),
/// raises `error_type: error_message` if `n` is in `fail`, works for `task_ms` (as `work`
/// says), prints `Process {name} ended working on task {n}` (if `print`), returns `n`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolParams {
    /// Worker processes (1 to [`PoolParams::MAX_WORKERS`], default 4).
    pub workers: u32,
    /// Number of tasks, `0 .. tasks` (at most [`PoolParams::MAX_TASKS`], default 10).
    pub tasks: u64,
    /// The API the caller uses (default `imap`).
    pub api: PoolApi,
    /// Tasks per chunk (absent: Python's default for the API, see
    /// [`PoolApi::default_chunksize`]).
    pub chunksize: Option<u32>,
    /// What a task does for its duration (default `sleep`).
    pub work: Work,
    /// Each task's duration in milliseconds (default 1000, at most
    /// [`PoolParams::MAX_TASK_MS`]).
    pub task_ms: u64,
    /// Task numbers that raise (default `[0]`; at most [`PoolParams::MAX_FAILING`] of them).
    pub fail: Vec<u64>,
    /// Exception type of a failing task (default `ZeroDivisionError`).
    pub error_type: String,
    /// Its message (default `division by zero`).
    pub error_message: String,
    /// Whether tasks print their start and end lines (default true).
    pub print: bool,
    /// A worker exits after this many chunks and is replaced (absent: never).
    pub maxtasksperchild: Option<u32>,
    /// Cores the workers may run on (absent: all).
    pub cores: Option<Vec<u32>>,
}

impl PoolParams {
    /// Upper bound of [`PoolParams::workers`] (the per-run process limit).
    pub const MAX_WORKERS: u32 = 64;
    /// Upper bound of [`PoolParams::tasks`].
    pub const MAX_TASKS: u64 = 1_000_000;
    /// Upper bound of [`PoolParams::task_ms`].
    pub const MAX_TASK_MS: u64 = 60_000;
    /// Upper bound of the length of [`PoolParams::fail`].
    pub const MAX_FAILING: usize = 10_000;
    /// Upper bound of the length of the error's type and message, in bytes.
    pub const MAX_TEXT: usize = 200;

    /// The chunk size in effect.
    pub fn effective_chunksize(&self) -> u32 {
        self.chunksize
            .unwrap_or_else(|| self.api.default_chunksize(self.tasks, self.workers))
    }

    fn validate(&self, machine_cores: u32) -> Result<(), String> {
        if !(1..=Self::MAX_WORKERS).contains(&self.workers) {
            return Err(format!(
                "workers must be between 1 and {} (the per-run process limit), got {}",
                Self::MAX_WORKERS,
                self.workers
            ));
        }
        if self.tasks > Self::MAX_TASKS {
            return Err(format!(
                "tasks must be at most {} (the per-run task limit), got {}",
                Self::MAX_TASKS,
                self.tasks
            ));
        }
        if self.chunksize == Some(0)
            || self
                .chunksize
                .is_some_and(|c| u64::from(c) > Self::MAX_TASKS)
        {
            return Err(format!(
                "chunksize must be between 1 and {}, got {}",
                Self::MAX_TASKS,
                self.chunksize.unwrap_or_default()
            ));
        }
        if self.task_ms > Self::MAX_TASK_MS {
            return Err(format!(
                "task_ms must be at most {}, got {}",
                Self::MAX_TASK_MS,
                self.task_ms
            ));
        }
        if self.fail.len() > Self::MAX_FAILING {
            return Err(format!(
                "at most {} failing tasks, got {}",
                Self::MAX_FAILING,
                self.fail.len()
            ));
        }
        if self.error_type.len() > Self::MAX_TEXT || self.error_message.len() > Self::MAX_TEXT {
            return Err(format!(
                "error_type and error_message must be at most {} bytes",
                Self::MAX_TEXT
            ));
        }
        if self.error_type.is_empty()
            || !self
                .error_type
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "error_type must be a Python identifier such as ZeroDivisionError, got {:?}",
                self.error_type
            ));
        }
        if self.maxtasksperchild == Some(0) {
            return Err("maxtasksperchild must be at least 1 (or absent)".into());
        }
        if let Some(cores) = &self.cores {
            if cores.is_empty() {
                return Err("cores must name at least one core (or be absent for all)".into());
            }
            if let Some(bad) = cores.iter().find(|&&c| c >= machine_cores) {
                return Err(format!(
                    "core {bad} does not exist: this machine has cores 0 to {}",
                    machine_cores.saturating_sub(1)
                ));
            }
        }
        Ok(())
    }
}

impl Default for PoolParams {
    fn default() -> Self {
        PoolParams {
            workers: 4,
            tasks: 10,
            api: PoolApi::Imap,
            chunksize: None,
            work: Work::Sleep,
            task_ms: 1000,
            fail: vec![0],
            error_type: "ZeroDivisionError".into(),
            error_message: "division by zero".into(),
            print: true,
            maxtasksperchild: None,
            cores: None,
        }
    }
}
