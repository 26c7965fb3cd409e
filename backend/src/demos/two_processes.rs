//! Two processes print a square and a cube; the main process joins them and prints `Done!`.

use crate::context::{DemoError, RunContext};
use crate::workload::Step;
use shared::TwoProcessesParams;

/// ```python
/// p1 = Process(target=print_square, args=(10,))
/// p2 = Process(target=print_cube, args=(10,))
/// p1.start(); p2.start()
/// p1.join(); p2.join()
/// print("Done!")
/// ```
pub async fn run(p: &TwoProcessesParams, ctx: &mut RunContext) -> Result<(), DemoError> {
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
