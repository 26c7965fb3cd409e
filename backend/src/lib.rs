//! # procviz backend
//!
//! Spawns real OS processes, records their lifecycle as [`shared`] events, and streams them to
//! the page over WebSocket.
//!
//! | module | concern |
//! |---|---|
//! | [`clock`] | the one monotonic clock and run-relative time |
//! | [`workload`] | the steps a child can run (print, sleep, compute, exit) |
//! | [`zygote`] | the fork server: a single-threaded `procviz __zygote` that forks children |
//! | [`worker`] | the child side: the code a forked child runs |
//! | [`ipc`] | the control channel between server and child |
//! | [`process`] | spawning and supervising one child (process group, death signal, output) |
//! | [`run`] | runs, their event logs, cancellation |
//! | [`sampler`] | per-core lanes: which thread ran on which core, from /proc |
//! | [`demos`] | what each demo does |
//! | [`server`] | HTTP + WebSocket (axum) |
//! | [`assets`] | the page, embedded in the binary |

pub mod assets;
pub mod clock;
pub mod demos;
pub mod ipc;
pub mod pool;
pub mod child;
pub mod runs;
pub mod sampler;
pub mod server;
pub mod summary;
pub mod worker;
pub mod workload;

/// The number of CPU cores online on this machine (not limited by this process's affinity).
pub fn online_cores() -> u32 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n < 1 { 1 } else { n as u32 }
}
