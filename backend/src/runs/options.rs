//! What a run is started with: the runtime's limits ([`RuntimeConfig`]), the per-run options
//! ([`RunOptions`]: sampling interval, timed actions, the client's label), and why a start is
//! refused ([`StartError`]). Everything here is checked before anything starts.

use crate::runs::budget::{MemoryBudget, OverBudget};
use crate::runs::retention;
use crate::runs::schedule;
use crate::sampler::{DEFAULT_INTERVAL_MS, INTERVAL_RANGE_MS};
use shared::Scheduled;
use std::path::PathBuf;
use std::time::Duration;

/// Limits and settings of the runtime.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// The binary the fork server runs (normally the running procviz itself).
    pub worker_exe: PathBuf,
    /// Runs that may be in progress at once.
    pub max_concurrent_runs: usize,
    /// What the processes of the runs in progress may be asked to hold together (checked
    /// before a run starts).
    pub memory_budget: MemoryBudget,
    /// Finished runs are kept for replay up to this many MiB in all (their logs' estimated
    /// size); the oldest are forgotten first.
    pub keep_finished_mib: u64,
    /// The longest a run may take before it is cancelled.
    pub max_run_time: Duration,
    /// Time between SIGTERM and SIGKILL when a run is stopped.
    pub kill_grace: Duration,
    /// Output lines a run keeps; the rest are counted and dropped.
    pub max_output_lines: u64,
    /// The Python interpreter of Python runs (a path, or a name looked up on `PATH`).
    pub python: PathBuf,
    /// Directories Python runs find modules in, after the tracer's and before the server's
    /// own `PYTHONPATH`: `procviz run python FILE.py` puts FILE's directory here, so the
    /// program imports its sibling modules as `python3 FILE.py` would.
    pub python_path: Vec<PathBuf>,
}

impl RuntimeConfig {
    /// The defaults, with the fork server running `worker_exe __zygote`. The memory budget
    /// is a quarter of this machine's memory, at most 4 GiB ([`MemoryBudget::for_machine`]).
    pub fn new(worker_exe: PathBuf) -> Self {
        let physical_mib = match crate::host::physical_memory_mib() {
            Ok(mib) => Some(mib),
            Err(e) => {
                let fallback = MemoryBudget::FALLBACK_MIB;
                tracing::warn!(error = %e, fallback, "could not read the machine's memory");
                None
            }
        };
        RuntimeConfig {
            worker_exe,
            max_concurrent_runs: 4,
            memory_budget: MemoryBudget::for_machine(physical_mib),
            keep_finished_mib: retention::DEFAULT_KEEP_FINISHED_MIB,
            max_run_time: Duration::from_secs(600),
            kill_grace: Duration::from_millis(500),
            max_output_lines: 200_000,
            python: PathBuf::from("python3"),
            python_path: Vec::new(),
        }
    }
}

/// Per-run options besides the demo.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How often the per-core sampler reads /proc.
    pub sample_interval: Duration,
    /// Timed actions to carry out during the run (checked by [`RunOptions::with_schedule`]).
    pub schedule: Vec<Scheduled>,
    /// The client's label for the request, echoed in `run_started`.
    pub request: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            sample_interval: Duration::from_millis(u64::from(DEFAULT_INTERVAL_MS)),
            schedule: Vec::new(),
            request: None,
        }
    }
}

impl RunOptions {
    /// Options with a sampling interval in milliseconds (absent: the default), checked against
    /// [`INTERVAL_RANGE_MS`].
    pub fn with_sample_ms(sample_ms: Option<u32>) -> Result<Self, StartError> {
        let Some(ms) = sample_ms else {
            return Ok(RunOptions::default());
        };
        if !INTERVAL_RANGE_MS.contains(&ms) {
            return Err(StartError::Invalid(format!(
                "sample_ms must be between {} and {}, got {ms}",
                INTERVAL_RANGE_MS.start(),
                INTERVAL_RANGE_MS.end()
            )));
        }
        Ok(RunOptions {
            sample_interval: Duration::from_millis(u64::from(ms)),
            ..RunOptions::default()
        })
    }

    /// These options with timed actions, checked against [`Scheduled`]'s limits (at most
    /// [`Scheduled::MAX_ACTIONS`], each at most [`Scheduled::MAX_AT_MS`] in, a process name of
    /// 1 to [`schedule::MAX_NAME_LEN`] characters).
    pub fn with_schedule(self, schedule: Vec<Scheduled>) -> Result<Self, StartError> {
        schedule::validate(&schedule).map_err(StartError::Invalid)?;
        Ok(RunOptions { schedule, ..self })
    }

    /// These options with the client's label for the request.
    pub fn with_request(self, request: Option<String>) -> Self {
        RunOptions { request, ..self }
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A parameter was out of range.
    #[error("invalid parameter: {0}")]
    Invalid(String),
    /// Too many runs in progress.
    #[error("{0} runs are already in progress (the limit); cancel one or wait for it to finish")]
    TooManyRuns(usize),
    /// The run would ask for more memory than the budget leaves.
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::RunAction;

    fn kill(name: &str, at_ms: u64) -> Scheduled {
        Scheduled {
            at_ms,
            action: RunAction::KillProcess { name: name.into() },
        }
    }

    #[test]
    fn the_sampling_interval_is_checked_against_its_range() {
        assert_eq!(
            RunOptions::with_sample_ms(None)
                .map(|o| o.sample_interval)
                .ok(),
            Some(Duration::from_millis(u64::from(DEFAULT_INTERVAL_MS)))
        );
        assert_eq!(
            RunOptions::with_sample_ms(Some(5))
                .map(|o| o.sample_interval)
                .ok(),
            Some(Duration::from_millis(5))
        );
        for bad in [0, 101] {
            let err = RunOptions::with_sample_ms(Some(bad))
                .map(|_| ())
                .unwrap_err();
            assert!(
                matches!(&err, StartError::Invalid(m) if m.contains("sample_ms") && m.contains(&bad.to_string())),
                "{err}"
            );
        }
    }

    #[test]
    fn a_schedule_within_the_limits_is_kept_and_one_outside_is_refused() {
        let ok = vec![
            kill("PoolWorker-2", 1500),
            kill("Process-1", Scheduled::MAX_AT_MS),
        ];
        let options = RunOptions::default().with_schedule(ok.clone());
        assert_eq!(options.map(|o| o.schedule).ok(), Some(ok));

        let late = RunOptions::default().with_schedule(vec![kill("a", Scheduled::MAX_AT_MS + 1)]);
        assert!(
            matches!(&late, Err(StartError::Invalid(m)) if m.contains("at_ms")),
            "{late:?}"
        );
        let many = vec![kill("a", 1); Scheduled::MAX_ACTIONS + 1];
        let many = RunOptions::default().with_schedule(many);
        assert!(
            matches!(&many, Err(StartError::Invalid(m)) if m.contains(&Scheduled::MAX_ACTIONS.to_string())),
            "{many:?}"
        );
        for name in [String::new(), "x".repeat(schedule::MAX_NAME_LEN + 1)] {
            let bad = RunOptions::default().with_schedule(vec![kill(&name, 1)]);
            assert!(
                matches!(&bad, Err(StartError::Invalid(m)) if m.contains("names a process")),
                "{bad:?}"
            );
        }
        let longest = "x".repeat(schedule::MAX_NAME_LEN);
        assert!(
            RunOptions::default()
                .with_schedule(vec![kill(&longest, 1)])
                .is_ok()
        );
    }
}
