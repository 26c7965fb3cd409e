//! The page's picture of a run, rebuilt from its events. Pure: no DOM, no signals; tested
//! natively.
//!
//! This file only declares and re-exports. The rest is in layers, each file importing only
//! those below it: `moment` (the replay cut's trait); the rows of each concern with what they
//! were at a moment — `processes`, `console`, `tasks` (bars, their index, results), `cores`
//! (what the sampler saw), `threads` (each thread's own strip and name); `model`, the [`RunModel`] that holds them, its [`Source`] and the
//! cut; then what works on a whole run: `reduce` (events in, per concern), `stats` and
//! `hover` (what the page asks of it), `recording` (a recorded run read into an ordinary
//! model).
//!
//! Replay: [`RunModel::until`] cuts the run at a moment. Every row type says what it was at
//! that moment ([`Moment`]: gone, or clipped), and `until` names every field of the model,
//! so a field added later cannot be forgotten by the cut (the compiler asks for it).

mod console;
mod cores;
mod hover;
mod model;
mod moment;
mod processes;
mod recording;
mod reduce;
mod stats;
mod tasks;
#[cfg(test)]
mod tests;
mod threads;

pub use console::{ConsoleLine, Tally};
pub use cores::{CoreBlock, LoadWindow, OutsideLoad, StateBlock};
pub use model::{PythonRun, RunModel, Source};
pub use moment::Moment;
pub use processes::ProcessRow;
pub use recording::Recording;
pub use stats::{StateAt, print_order};
pub use tasks::{Consumed, Raised, TaskBar, TaskIndex};
pub use threads::{ThreadRow, ThreadSlice, ThreadState, ran_in_order};
