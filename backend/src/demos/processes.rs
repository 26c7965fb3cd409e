//! `count` processes started and joined, each with a workload and chosen failures.

use crate::child::zygote::ChildKind;
use crate::context::{DemoError, RunContext};
use crate::workload::{Crash, Step};
use shared::{CrashSignal, ProcessesParams, Work};

/// The script of process `i` (1-based) of the processes demo.
pub fn script(p: &ProcessesParams, i: u64) -> Vec<Step> {
    let mut steps = Vec::new();
    if !p.print.is_empty() {
        steps.push(Step::Print {
            text: p.print.clone(),
            stderr: false,
        });
    }
    if p.fail.contains(&i) {
        steps.push(Step::Fail {
            error_type: "RuntimeError".into(),
            message: format!("process {i} failed"),
            only: None,
        });
    }
    if p.crash.contains(&i) {
        let signal = match p.crash_signal {
            CrashSignal::Abort => Crash::Abort,
            CrashSignal::Segfault => Crash::Segfault,
        };
        steps.push(Step::Crash { signal, only: None });
    }
    if p.memory_mib > 0 {
        steps.push(Step::Allocate { mib: p.memory_mib });
    }
    if p.threads > 0 {
        steps.push(Step::Threads {
            count: p.threads,
            ms: p.work_ms,
        });
    } else {
        match p.work {
            Work::Sleep if p.work_ms > 0 => steps.push(Step::Sleep { ms: p.work_ms }),
            Work::Cpu if p.work_ms > 0 => steps.push(Step::Cpu { ms: p.work_ms }),
            _ => {}
        }
    }
    if p.exit_code != 0 {
        steps.push(Step::Exit {
            code: p.exit_code,
            only: None,
        });
    }
    steps
}

/// ```python
/// procs = [Process(target=work, args=(i,)) for i in range(1, count + 1)]
/// for p in procs: p.start()
/// for p in procs: p.join()
/// ```
/// or, `sequential`, `p.start(); p.join()` one process after the other.
pub async fn run(p: &ProcessesParams, ctx: &mut RunContext) -> Result<(), DemoError> {
    let mut children = Vec::with_capacity(p.count as usize);
    for i in 1..=u64::from(p.count) {
        let name = p
            .names
            .get(i as usize - 1)
            .cloned()
            .unwrap_or_else(|| format!("Process-{i}"));
        let child = ctx
            .spawn_child(
                name,
                script(p, i),
                ChildKind::Process { task: i },
                p.cores.clone(),
                None,
            )
            .await?;
        if p.sequential {
            ctx.join(vec![child]).await?;
        } else {
            children.push(child);
        }
    }
    ctx.join(children).await?;
    Ok(())
}
