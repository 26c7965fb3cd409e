//! The demos: each turns its request into processes and main-process actions, the way the
//! Python example it mirrors would (`../shared/reference/python-multiprocessing.md`).

use crate::runs::{DemoError, RunContext};
use crate::workload::{Crash, Step};
use crate::child::zygote::ChildKind;
use shared::{CrashSignal, DemoRequest, ProcessesParams, TwoProcessesParams, Work};

pub use crate::pool::pool_demo;

/// Executes `demo` within its run.
pub async fn execute(demo: &DemoRequest, ctx: &mut RunContext) -> Result<(), DemoError> {
    match demo {
        DemoRequest::TwoProcesses(p) => two_processes(p, ctx).await,
        DemoRequest::Pool(p) => pool_demo(p, ctx).await,
        DemoRequest::Processes(p) => processes(p, ctx).await,
    }
}

/// ```python
/// p1 = Process(target=print_square, args=(10,))
/// p2 = Process(target=print_cube, args=(10,))
/// p1.start(); p2.start()
/// p1.join(); p2.join()
/// print("Done!")
/// ```
async fn two_processes(p: &TwoProcessesParams, ctx: &mut RunContext) -> Result<(), DemoError> {
    let script = |text: String| {
        let mut steps = vec![Step::Print {
            text,
            stderr: false,
        }];
        if p.linger_ms > 0 {
            steps.push(Step::Sleep { ms: p.linger_ms });
        }
        steps
    };
    let n = p.num;
    let square = ctx
        .spawn("Process-1", 1, script(format!("Square: {}", n * n)))
        .await?;
    let cube = ctx
        .spawn("Process-2", 2, script(format!("Cube: {}", n * n * n)))
        .await?;
    ctx.join(vec![square, cube]).await?;
    ctx.print("Done!").await;
    Ok(())
}

/// The script of process `i` of the processes demo.
fn process_script(p: &ProcessesParams, i: u64) -> Vec<Step> {
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
async fn processes(p: &ProcessesParams, ctx: &mut RunContext) -> Result<(), DemoError> {
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
                process_script(p, i),
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
