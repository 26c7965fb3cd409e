//! The demos: each turns its request into processes and main-process actions, the way the
//! Python example it mirrors would (`../shared/reference/python-multiprocessing.md`).

use crate::run::{DemoError, RunContext};
use crate::workload::Step;
use shared::{DemoRequest, TwoProcessesParams};

pub use crate::pool::pool_demo;

/// Executes `demo` within its run.
pub async fn execute(demo: &DemoRequest, ctx: &mut RunContext) -> Result<(), DemoError> {
    match demo {
        DemoRequest::TwoProcesses(p) => two_processes(p, ctx).await,
        DemoRequest::Pool(p) => pool_demo(p, ctx).await,
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
