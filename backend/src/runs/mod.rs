//! Runs: one demo execution each, with its processes and its event log.
//!
//! ## Theory of operation
//! [`Runs::start`] validates the request (the demo's parameters, the sampling interval, the
//! timed actions: [`options`]), checks the limits (runs in progress, the memory budget:
//! [`budget`]), and spawns one task per run ([`driver`])
//! that records `run_started`, starts the per-core sampler, arms the time limit and the timed
//! actions ([`schedule`]), and executes the demo ([`crate::demos`]) with a
//! [`crate::context::RunContext`]. Everything that happens is recorded in the run's
//! [`crate::events::RunLog`], which is kept after the run for replay, as long as the finished
//! runs fit in their budget of bytes ([`retention`]: the oldest are forgotten first).
//!
//! A [`RunHandle`] is the server's side of a run: its log, its cancellation (user, closed tab,
//! server shutdown, time limit: the reason is recorded, then SIGTERM to the run's process
//! groups, a grace period, SIGKILL) and its command queue (kills from the page and scheduled
//! kills, carried out by the demo while it waits).

pub mod budget;
pub mod driver;
pub mod handle;
pub mod options;
pub mod registry;
pub mod retention;
pub mod schedule;

pub use budget::{MemoryBudget, OverBudget};
pub use handle::{KillRefused, RunHandle, UNWATCHED_GRACE, Viewing};
pub use options::{RunOptions, RuntimeConfig, StartError};
pub use registry::{Missing, Runs};
