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
    /// `count` processes started and joined, each running a short workload; shows exit codes
    /// (0, a chosen code, 1 for an uncaught error, minus the signal for a crash).
    Processes(ProcessesParams),
    /// A real Python program run by a real CPython, traced (its processes, pools, tasks,
    /// results, threads and output become the same events as the runtime's): one of the
    /// teaching programs shipped in procviz, or code the presenter typed.
    Python(PythonParams),
}

impl DemoRequest {
    /// A human title for the demo.
    pub fn title(&self) -> &'static str {
        match self {
            DemoRequest::TwoProcesses(_) => "Two processes",
            DemoRequest::Pool(_) => "Pool",
            DemoRequest::Processes(_) => "Processes",
            DemoRequest::Python(_) => "Python program",
        }
    }

    /// The most memory the run's processes are asked to hold at once, in MiB (what the
    /// server's memory budget counts): [`ProcessesParams::peak_memory_mib`] for the processes
    /// demo, [`PythonParams::NOMINAL_MEMORY_MIB`] for a Python program (what it holds is
    /// unknown before it runs: a fixed nominal share), 0 for the others (their children
    /// allocate nothing on purpose).
    pub fn memory_mib(&self) -> u64 {
        match self {
            DemoRequest::Processes(p) => p.peak_memory_mib(),
            DemoRequest::Python(_) => PythonParams::NOMINAL_MEMORY_MIB,
            DemoRequest::TwoProcesses(_) | DemoRequest::Pool(_) => 0,
        }
    }

    /// Checks every parameter against its documented range, on a machine with
    /// `machine_cores` cores.
    pub fn validate(&self, machine_cores: u32) -> Result<(), String> {
        match self {
            DemoRequest::TwoProcesses(p) => p.validate(),
            DemoRequest::Pool(p) => p.validate(machine_cores),
            DemoRequest::Processes(p) => p.validate(machine_cores),
            DemoRequest::Python(p) => p.validate(),
        }
    }
}

/// Parameters of [`DemoRequest::Python`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythonParams {
    /// The program.
    pub program: PythonProgram,
    /// Its command-line arguments (`sys.argv[1:]`; at most [`PythonParams::MAX_ARGS`], each
    /// at most [`PythonParams::MAX_ARG_BYTES`] bytes, no NUL byte). May be omitted (none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Stop the program as hung when a pool worker died with a task unfinished and the program
    /// is still running this many milliseconds later (CPython's `Pool` never learns of the
    /// lost task: `map` waits for it forever). [`PythonParams::HANG_MS`] bounds it; absent:
    /// only the run's time limit stops such a program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hang_after_ms: Option<u64>,
}

/// Which Python program a [`DemoRequest::Python`] runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PythonProgram {
    /// One of the teaching programs procviz ships (`pool_imap`, `two_processes`, …; the
    /// server lists them), run as written.
    Shipped {
        /// Its name, without `.py`.
        name: String,
    },
    /// Code the presenter typed (or `procviz run python FILE.py` read), run as `main.py`; at
    /// most [`PythonParams::MAX_SOURCE_BYTES`] bytes of UTF-8 without NUL bytes.
    Code {
        /// The program's text.
        source: String,
    },
}

impl PythonParams {
    /// Upper bound of a typed program's size in bytes. (A page's whole command must also fit
    /// in [`crate::MAX_CLIENT_MESSAGE_BYTES`], so there a little less, after JSON escaping.)
    pub const MAX_SOURCE_BYTES: usize = 64 * 1024;
    /// Upper bound of the number of arguments.
    pub const MAX_ARGS: usize = 64;
    /// Upper bound of one argument's size in bytes.
    pub const MAX_ARG_BYTES: usize = 1024;
    /// Upper bound of a shipped program's name.
    pub const MAX_NAME_BYTES: usize = 64;
    /// The memory a Python run asks of the server's budget, in MiB: a nominal amount (a
    /// program's real needs are unknown before it runs; about what 8 CPython processes hold).
    pub const NOMINAL_MEMORY_MIB: u64 = 256;
    /// Bounds of [`PythonParams::hang_after_ms`], milliseconds.
    pub const HANG_MS: std::ops::RangeInclusive<u64> = 100..=600_000;

    /// A shipped program with these arguments.
    pub fn shipped(name: &str, args: &[&str]) -> Self {
        PythonParams {
            program: PythonProgram::Shipped {
                name: name.to_string(),
            },
            args: args.iter().map(|a| a.to_string()).collect(),
            hang_after_ms: None,
        }
    }

    fn validate(&self) -> Result<(), String> {
        match &self.program {
            PythonProgram::Shipped { name } => {
                if name.is_empty()
                    || name.len() > Self::MAX_NAME_BYTES
                    || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return Err(format!(
                        "program name must be 1 to {} letters, digits or _ (e.g. pool_imap), got {name:?}",
                        Self::MAX_NAME_BYTES
                    ));
                }
            }
            PythonProgram::Code { source } => {
                if source.len() > Self::MAX_SOURCE_BYTES {
                    return Err(format!(
                        "the program is {} bytes; at most {} are accepted",
                        source.len(),
                        Self::MAX_SOURCE_BYTES
                    ));
                }
                if source.contains('\0') {
                    return Err("the program contains a NUL byte".into());
                }
            }
        }
        if let Some(ms) = self.hang_after_ms.filter(|ms| !Self::HANG_MS.contains(ms)) {
            return Err(format!(
                "hang_after_ms must be {} to {}, got {ms}",
                Self::HANG_MS.start(),
                Self::HANG_MS.end()
            ));
        }
        if self.args.len() > Self::MAX_ARGS {
            return Err(format!(
                "at most {} arguments, got {}",
                Self::MAX_ARGS,
                self.args.len()
            ));
        }
        if let Some((i, _)) = self
            .args
            .iter()
            .enumerate()
            .find(|(_, a)| a.len() > Self::MAX_ARG_BYTES || a.contains('\0'))
        {
            return Err(format!(
                "argument {} must be at most {} bytes without NUL bytes",
                i + 1,
                Self::MAX_ARG_BYTES
            ));
        }
        Ok(())
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
    /// Computation using `d` of CPU time: on the CPU (CPU-bound); several such tasks sharing a
    /// core take longer together, as in Python.
    Cpu,
    /// Nothing: return at once (for measuring the pool's own overhead).
    None,
}

/// How a process crashes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashSignal {
    /// `abort()`: SIGABRT (exit code -6).
    #[default]
    Abort,
    /// A segmentation fault: SIGSEGV (exit code -11).
    Segfault,
}

/// Parameters of [`DemoRequest::Processes`]. Every field may be omitted (its default).
///
/// Process `i` (1-based, named `Process-i` unless `names` gives one), in order: prints `print`
/// (if not empty; `{name}`, `{pid}`, `{task}` = i), raises `RuntimeError` if i is in `fail`,
/// crashes if i is in `crash`, holds `memory_mib` MiB, works for `work_ms` (in `threads`
/// threads if > 0, else as `work` says), exits with `exit_code`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessesParams {
    /// Number of processes (1 to [`PoolParams::MAX_WORKERS`], default 4).
    pub count: u32,
    /// Names for the first processes (a custom name still uses up a number, as in Python).
    pub names: Vec<String>,
    /// A line each process prints first (default `Num: {task}`).
    pub print: String,
    /// What each does for `work_ms` (default sleep).
    pub work: Work,
    /// How long, in milliseconds (default 0, at most [`PoolParams::MAX_TASK_MS`]).
    pub work_ms: u64,
    /// CPU-bound threads per process for `work_ms` (0 = none; at most
    /// [`ProcessesParams::MAX_THREADS`]).
    pub threads: u32,
    /// MiB each process allocates and holds during its work (at most
    /// [`ProcessesParams::MAX_MEMORY_MIB`]; the server's memory budget may allow less).
    pub memory_mib: u64,
    /// Process numbers (1-based) that raise an uncaught error (exit code 1).
    pub fail: Vec<u64>,
    /// Process numbers that crash with `crash_signal`.
    pub crash: Vec<u64>,
    /// How they crash (default abort).
    pub crash_signal: CrashSignal,
    /// The exit code of the others (default 0, 0 to [`ProcessesParams::MAX_EXIT_CODE`]).
    pub exit_code: i32,
    /// Cores the processes may run on (absent: all).
    pub cores: Option<Vec<u32>>,
    /// Start and join each process before starting the next (default false: start all, then
    /// join all).
    pub sequential: bool,
}

impl Default for ProcessesParams {
    fn default() -> Self {
        ProcessesParams {
            count: 4,
            names: Vec::new(),
            print: "Num: {task}".into(),
            work: Work::Sleep,
            work_ms: 0,
            threads: 0,
            memory_mib: 0,
            fail: Vec::new(),
            crash: Vec::new(),
            crash_signal: CrashSignal::Abort,
            exit_code: 0,
            cores: None,
            sequential: false,
        }
    }
}

impl ProcessesParams {
    /// Upper bound of [`ProcessesParams::threads`].
    pub const MAX_THREADS: u32 = 64;
    /// Upper bound of [`ProcessesParams::memory_mib`].
    pub const MAX_MEMORY_MIB: u64 = 1024;
    /// Upper bound of [`ProcessesParams::exit_code`] (an exit status is one byte).
    pub const MAX_EXIT_CODE: i32 = 255;

    /// The most memory the run's processes hold at once, in MiB: `memory_mib` for each
    /// process that runs at the same time (all `count` of them, or one when `sequential`).
    /// Processes that raise or crash first are counted too: the budget is what was asked for.
    pub fn peak_memory_mib(&self) -> u64 {
        let at_once = if self.sequential {
            1
        } else {
            u64::from(self.count)
        };
        at_once.saturating_mul(self.memory_mib)
    }

    fn validate(&self, machine_cores: u32) -> Result<(), String> {
        if !(1..=PoolParams::MAX_WORKERS).contains(&self.count) {
            return Err(format!(
                "count must be between 1 and {} (the per-run process limit), got {}",
                PoolParams::MAX_WORKERS,
                self.count
            ));
        }
        if self.names.len() > self.count as usize
            || self.names.iter().any(|n| n.is_empty() || n.len() > 64)
        {
            return Err("names: at most one per process, each 1 to 64 bytes".into());
        }
        if self.print.len() > 1000 {
            return Err("print must be at most 1000 bytes".into());
        }
        if self.work_ms > PoolParams::MAX_TASK_MS {
            return Err(format!(
                "work_ms must be at most {}, got {}",
                PoolParams::MAX_TASK_MS,
                self.work_ms
            ));
        }
        if self.threads > Self::MAX_THREADS {
            return Err(format!(
                "threads must be at most {}, got {}",
                Self::MAX_THREADS,
                self.threads
            ));
        }
        if self.memory_mib > Self::MAX_MEMORY_MIB {
            return Err(format!(
                "memory_mib must be at most {}, got {}",
                Self::MAX_MEMORY_MIB,
                self.memory_mib
            ));
        }
        if !(0..=Self::MAX_EXIT_CODE).contains(&self.exit_code) {
            return Err(format!(
                "exit_code must be between 0 and {}, got {}",
                Self::MAX_EXIT_CODE,
                self.exit_code
            ));
        }
        let n = u64::from(self.count);
        if let Some(bad) = self
            .fail
            .iter()
            .chain(&self.crash)
            .find(|&&i| i == 0 || i > n)
        {
            return Err(format!(
                "process {bad} does not exist: processes are numbered 1 to {n}"
            ));
        }
        validate_cores(&self.cores, machine_cores)
    }
}

fn validate_cores(cores: &Option<Vec<u32>>, machine_cores: u32) -> Result<(), String> {
    if let Some(cores) = cores {
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
        validate_cores(&self.cores, machine_cores)
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
