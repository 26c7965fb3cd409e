//! The process pool: Python's `multiprocessing.Pool` semantics over real worker processes.
//!
//! ## Theory of operation
//! ```text
//!                    ┌──── TaskRecords (control channel) ───▶ PoolWorker-1..n
//!   driver.rs ───────┤                                            │ reports (batched)
//!    │   ▲      ◀────┴──── WorkerMsg: reports, then the exit ─────┘
//!    ▼   │ actions (Spawn, Send), events
//!   state.rs (pure: messages in, actions and events out) ── results.rs (per-API delivery)
//!    │ events, batched per wake-up
//!    ▼
//!  RunLog
//! ```
//! - All inputs are queued at once, in one FIFO of chunks, once every worker is up and
//!   waiting. Idle workers wait in a FIFO too, in the order they became idle, and the next
//!   chunk goes to the first idle worker — what Python's pool does with its queue lock. So
//!   the worker that failed task 0 takes task 4 at once, and slow tasks run in waves.
//! - Throughput without changing what anyone can see: a worker whose tasks keep finishing in
//!   under [`FAST_TASK_NS`] is given a window of several chunks at a time (up to
//!   [`MAX_WINDOW`]); it flushes its reports in one write when its window runs dry. A worker
//!   whose tasks take longer holds one chunk at a time, exactly like Python's.
//! - [`state::Pool`] is the only owner of the pool's state (no shared mutable state, no I/O):
//!   it turns reports into task events, decides when the caller consumes each result (per
//!   API, [`results`]), and asks for replacements of workers that exit early
//!   (`maxtasksperchild`) or die. [`driver`] does what it asks and feeds it what happens.
//! - A worker that dies mid-task loses that task: it ends as an error naming the worker and
//!   the signal; chunks it had been sent but not begun go back to the front of the queue; a
//!   replacement starts, and every other task completes.
//! - When every task has finished and the caller has what its API gives it, the pool is
//!   closed (a stop sentinel to each worker) and joined: the workers exit 0.

pub mod driver;
pub mod results;
pub mod state;
#[cfg(test)]
mod tests;

pub use driver::run_pool;
pub use state::{Action, FAST_STREAK, FAST_TASK_NS, MAX_WINDOW, Pool, PoolConfig};
