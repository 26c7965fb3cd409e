//! The integration tests: the real `procviz` binary over a real WebSocket and through its CLI,
//! checked against real processes. One module per feature; the helpers are the `testkit`
//! crate.

mod bad_input;
mod budgets;
mod cpython;
mod fork_server;
mod lesson_cli;
mod lessons;
mod pool;
mod pool_failures;
mod processes;
mod python_tracer;
mod reliability;
mod sampler;
mod security;
mod supervision;
mod tokens;
mod trace;
mod two_processes;
