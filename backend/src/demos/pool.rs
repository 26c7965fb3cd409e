//! The seed: `Pool(workers)` and the caller's API over `range(tasks)`, each task printing,
//! maybe raising, working, printing again and returning its number.

use crate::context::{DemoError, RunContext};
use crate::pool::{PoolConfig, run_pool};
use crate::workload::Step;
use shared::{PoolApi, PoolParams, Work};

/// The per-task script of the pool demo: print started → fail if n is listed → work →
/// print ended → return n.
pub fn task_script(p: &PoolParams) -> Vec<Step> {
    let mut steps = Vec::new();
    if p.print {
        steps.push(Step::Print {
            text: "Process {name} started working on task {task}".into(),
            stderr: false,
        });
    }
    if !p.fail.is_empty() {
        let mut only = p.fail.clone();
        only.sort_unstable();
        only.dedup();
        steps.push(Step::Fail {
            error_type: p.error_type.clone(),
            message: p.error_message.clone(),
            only: Some(only),
        });
    }
    match p.work {
        Work::Sleep if p.task_ms > 0 => steps.push(Step::Sleep { ms: p.task_ms }),
        Work::Cpu if p.task_ms > 0 => steps.push(Step::Cpu { ms: p.task_ms }),
        _ => {}
    }
    if p.print {
        steps.push(Step::Print {
            text: "Process {name} ended working on task {task}".into(),
            stderr: false,
        });
    }
    steps
}

/// ```python
/// with Pool(workers) as pool:
///     for result in pool.imap(task, range(tasks)):  # or map, imap_unordered, apply_async
///         print(result)
/// ```
pub async fn run(p: &PoolParams, ctx: &mut RunContext) -> Result<(), DemoError> {
    let chunksize = match p.api {
        PoolApi::ApplyAsync => 1,
        _ => p.effective_chunksize().max(1),
    };
    let config = PoolConfig {
        workers: p.workers,
        tasks: p.tasks,
        api: p.api,
        chunksize,
        maxtasks: p.maxtasksperchild,
        affinity: p.cores.clone(),
        script: task_script(p),
    };
    run_pool(config, ctx).await
}
