//! The integration tests: the real `procviz` binary over a real WebSocket and through its CLI,
//! checked against real processes. One module per feature.

// Until the helpers become a crate of their own (next commit), each module still declares its
// own `mod common;`, loaded from `common/` beside it: the files are moved, not yet edited.
#![allow(clippy::duplicate_mod)]

#[path = "bad_input.rs"]
mod bad_input;
#[path = "lessons.rs"]
mod lessons;
#[path = "pool.rs"]
mod pool;
#[path = "pool_failures.rs"]
mod pool_failures;
#[path = "processes.rs"]
mod processes;
#[path = "sampler.rs"]
mod sampler;
#[path = "security.rs"]
mod security;
#[path = "supervision.rs"]
mod supervision;
#[path = "two_processes.rs"]
mod two_processes;
