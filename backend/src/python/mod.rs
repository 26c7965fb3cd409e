//! Real CPython as a run source: the tracer and the teaching programs shipped inside the
//! binary, the interpreter probe, and the mapping of the tracer's lines to events ([`trace`]).
//!
//! ## Theory of operation
//! A traced run (see [`crate::demos::python`]) writes [`TRACER_FILES`] (`sitecustomize.py`,
//! `procviz_trace.py`, from `backend/python/`) into a private 0700 directory, puts that
//! directory first on `PYTHONPATH` and names a Unix socket there in `PROCVIZ_TRACE_SOCKET`:
//! every Python process of the program then connects and sends NDJSON lines
//! (`backend/python/PROTOCOL.md`). [`trace::Mapper`] turns each line into `shared` events, the
//! same the runtime's own demos produce. Before a run, [`probe`] asks the interpreter its
//! implementation, version, executable and default start method (a plain `posix_spawn`ed
//! child, like any `Command`; the traced program itself is forked by the fork server).

pub mod trace;

use shared::{Interpreter, ProgramText, PythonParams, PythonProgram, PythonSupport};
use std::path::Path;
use std::time::Duration;

/// The tracer's files, written beside each other into a run's directory.
pub const TRACER_FILES: [(&str, &str); 2] = [
    (
        "sitecustomize.py",
        include_str!("../../python/sitecustomize.py"),
    ),
    (
        "procviz_trace.py",
        include_str!("../../python/procviz_trace.py"),
    ),
];

/// The teaching programs shipped in the binary: (name, what it shows, source).
pub const PROGRAMS: [(&str, &str, &str); 8] = [
    (
        "two_processes",
        "two processes print Square: 100 and Cube: 1000, then Done!",
        include_str!("../../python/programs/two_processes.py"),
    ),
    (
        "four_processes",
        "four processes print Num: 4 … Num: 1, in whatever order the OS gives",
        include_str!("../../python/programs/four_processes.py"),
    ),
    (
        "pool_imap",
        "the seed: Pool(4).imap over range(10), task 0 raises ZeroDivisionError",
        include_str!("../../python/programs/pool_imap.py"),
    ),
    (
        "chef_alone",
        "4 CPU-bound jobs pinned to one core (argument `free`: on every core)",
        include_str!("../../python/programs/chef_alone.py"),
    ),
    (
        "threads_vs_processes",
        "the same CPU work as 4 threads, then 4 processes (`threads` | `processes`: one)",
        include_str!("../../python/programs/threads_vs_processes.py"),
    ),
    (
        "how_many_workers",
        "eight CPU-bound tasks on Pool(n) (argument N: 1, 2, 4 or 8; default 4)",
        include_str!("../../python/programs/how_many_workers.py"),
    ),
    (
        "sleeping_vs_working",
        "Pool(4) over 8 tasks, sleeping then computing (`sleep` | `cpu`: one)",
        include_str!("../../python/programs/sleeping_vs_working.py"),
    ),
    (
        "worker_dies",
        "a worker killed mid-task: Pool.map never returns (`executor`: BrokenProcessPool)",
        include_str!("../../python/programs/worker_dies.py"),
    ),
];

/// The source of the shipped program `name`.
pub fn program(name: &str) -> Option<&'static str> {
    PROGRAMS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, source)| *source)
}

/// What a Python run runs: its file name and text (a shipped program's, or the typed code as
/// `main.py`); `None` for an unknown shipped name.
pub fn program_text(p: &PythonParams) -> Option<ProgramText> {
    match &p.program {
        PythonProgram::Shipped { name } => program(name).map(|source| ProgramText {
            file: format!("{name}.py"),
            source: source.to_string(),
        }),
        PythonProgram::Code { source } => Some(ProgramText {
            file: "main.py".to_string(),
            source: source.clone(),
        }),
    }
}

/// Whether `python` can run traced programs, as the server's hello says it.
pub async fn support(python: &Path) -> PythonSupport {
    match probe(python).await {
        Ok(interpreter) => PythonSupport::Available { interpreter },
        Err(e) => PythonSupport::Unavailable {
            reason: e.to_string(),
        },
    }
}

/// The oldest CPython the tracer supports.
pub const MIN_VERSION: (u32, u32) = (3, 8);

/// How long the interpreter probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs on Python 2.7 too, so an old interpreter is named rather than failing obscurely.
const PROBE: &str = "import platform, sys\n\
try:\n    import multiprocessing as m\n    method = m.get_start_method()\n\
except Exception:\n    method = ''\n\
print(platform.python_implementation())\n\
print('.'.join(str(v) for v in sys.version_info[:3]))\n\
print(sys.executable)\n\
print(method)\n";

/// Why an interpreter cannot run a traced program.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// It could not be started or did not answer.
    #[error("could not run {python}: {reason}")]
    NotRunnable {
        /// The interpreter asked for.
        python: String,
        /// Why.
        reason: String,
    },
    /// It is not CPython, or older than 3.8.
    #[error(
        "{python} is {name} {version}; procviz traces CPython 3.8 or newer (choose another with --python PATH)"
    )]
    Unsupported {
        /// The interpreter asked for.
        python: String,
        /// Its implementation.
        name: String,
        /// Its version.
        version: String,
    },
}

/// Asks `python` what it is; refuses anything but CPython ≥ 3.8.
pub async fn probe(python: &Path) -> Result<Interpreter, ProbeError> {
    let shown = python.display().to_string();
    let not_runnable = |reason: String| ProbeError::NotRunnable {
        python: shown.clone(),
        reason,
    };
    let output = tokio::process::Command::new(python)
        .args(["-E", "-S", "-c", PROBE])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PROBE_TIMEOUT, output)
        .await
        .map_err(|_| not_runnable(format!("no answer in {} s", PROBE_TIMEOUT.as_secs())))?
        .map_err(|e| not_runnable(e.to_string()))?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        return Err(not_runnable(format!(
            "{} ({})",
            output.status,
            err.lines().last().unwrap_or("")
        )));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let mut next = || lines.next().unwrap_or("").trim().to_string();
    let (name, version, executable, method) = (next(), next(), next(), next());
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if name != "CPython" || (major, minor) < MIN_VERSION {
        return Err(ProbeError::Unsupported {
            python: shown,
            name,
            version,
        });
    }
    Ok(Interpreter {
        name,
        version,
        executable,
        start_method: (!method.is_empty()).then_some(method),
    })
}
