//! # procviz backend
//!
//! Spawns real OS processes, records their lifecycle as [`shared`] events, and streams them to
//! the page over WebSocket (or, `procviz run`, as NDJSON on stdout).
//!
//! ## Layers
//! Each module imports only modules listed above it (no module imports one that imports it
//! back; `layering.rs` checks it on every `cargo test`):
//!
//! | module | concern |
//! |---|---|
//! | [`clock`] | the one monotonic clock and run-relative time |
//! | [`host`] | facts about this machine (cores online) |
//! | [`workload`] | the steps a child can run (print, sleep, compute, fail, exit, crash, allocate, threads) |
//! | [`ipc`] | the control channel between server and child: reports up, task records down |
//! | [`events`] | a run's append-only event log and the sink its sources send to |
//! | [`worker`] | the child side: the code a forked child runs (a process once, a pool worker per task) |
//! | [`child`] | one child: forked by the fork server ([`child::zygote`]), its output and budget, its control channel, the run's process groups |
//! | [`sampler`] | per-core lanes: which thread ran on which core, from /proc |
//! | [`context`] | what a demo sees of its run: spawn, join, print, kill commands, stop |
//! | [`pool`] | `Pool(n)`: a pure state machine ([`pool::state`], [`pool::results`]) and the task that does its I/O ([`pool::driver`]) |
//! | [`python`] | real CPython as a run source: the embedded tracer and programs, the interpreter probe, the tracer's lines → events |
//! | [`demos`] | what each demo does, one file per demo (`python`: a real program, traced) |
//! | [`runs`] | the registry of runs, their options and limits, timed actions, and the driver of one run |
//! | [`summary`] | the human summary `procviz run` prints |
//! | [`headless`] | `procviz run` without a browser: following a run's events to its end, a page lesson's runs one after another and its story |
//! | [`assets`] | the page, embedded in the binary |
//! | [`server`] | HTTP + WebSocket (axum): routes, guards, a connection's send and receive tasks, commands |

pub mod assets;
pub mod child;
pub mod clock;
pub mod context;
pub mod demos;
pub mod events;
pub mod headless;
pub mod host;
pub mod ipc;
pub mod pool;
pub mod python;
pub mod runs;
pub mod sampler;
pub mod server;
pub mod summary;
pub mod worker;
pub mod workload;

pub use host::online_cores;

#[cfg(test)]
mod layering;
