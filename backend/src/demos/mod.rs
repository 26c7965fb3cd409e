//! The demos: each turns its request into processes and main-process actions, the way the
//! Python example it mirrors would. The examples are in the course's reference,
//! `../shared/reference/python-multiprocessing.md` relative to the repository's root (beside
//! the repository, not in it; not the `shared/` crate).
//!
//! | demo | file | Python |
//! |---|---|---|
//! | two processes | [`two_processes`] | `Process(target=print_square)`, `…print_cube`, start, join, `print("Done!")` |
//! | processes | [`processes`] | `count` processes started and joined (or one after the other), with a workload and chosen failures |
//! | pool | [`pool`] | `Pool(n)` and `map` / `imap` / `imap_unordered` / `apply_async` over `range(tasks)` |
//! | python | [`python`] | not a mirror: a real Python program run by CPython, traced |

pub mod pool;
pub mod processes;
pub mod python;
pub mod two_processes;

use crate::context::{DemoError, RunContext};
use shared::DemoRequest;

/// Executes `demo` within its run.
pub async fn execute(demo: &DemoRequest, ctx: &mut RunContext) -> Result<(), DemoError> {
    match demo {
        DemoRequest::TwoProcesses(p) => two_processes::run(p, ctx).await,
        DemoRequest::Pool(p) => pool::run(p, ctx).await,
        DemoRequest::Processes(p) => processes::run(p, ctx).await,
        DemoRequest::Python(p) => python::run(p, ctx).await,
    }
}
