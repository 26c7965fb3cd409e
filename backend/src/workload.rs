//! What a child process does: a short script of bounded steps, run by the worker side of the
//! binary ([`crate::worker`]) once per process or once per pool task. Demos compose their
//! processes and tasks from these steps, e.g. print started → fail if n == 0 → sleep 1 s →
//! print ended → return n.

use crate::ipc::Outcome;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::time::Duration;

/// A signal a step can crash the process with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Crash {
    /// `abort()`: SIGABRT.
    Abort,
    /// A segmentation fault: SIGSEGV.
    Segfault,
}

/// One step of a script. `only` (where present) limits a step to the listed task numbers
/// (sorted ascending); absent means every task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Write a line to stdout (or stderr) and flush it. `{name}`, `{pid}` and `{task}` are
    /// replaced by the process's name, its PID and the task number.
    Print {
        /// The line, without its line break.
        text: String,
        /// Write to stderr instead of stdout.
        #[serde(default)]
        stderr: bool,
    },
    /// Sleep (off the CPU) for this many milliseconds.
    Sleep {
        /// Duration in milliseconds.
        ms: u64,
    },
    /// Compute (on the CPU) until this many milliseconds of CPU time are used.
    Cpu {
        /// Duration in milliseconds.
        ms: u64,
    },
    /// Raise an error: the task ends with it (a plain process exits with code 1 after writing
    /// a traceback-like line to stderr, as Python does).
    Fail {
        /// Exception type.
        error_type: String,
        /// Message.
        message: String,
        /// Only for these tasks.
        #[serde(default)]
        only: Option<Vec<u64>>,
    },
    /// Exit the process now with this code.
    Exit {
        /// The exit code.
        code: i32,
        /// Only for these tasks.
        #[serde(default)]
        only: Option<Vec<u64>>,
    },
    /// Crash the process with a signal.
    Crash {
        /// Which.
        signal: Crash,
        /// Only for these tasks.
        #[serde(default)]
        only: Option<Vec<u64>>,
    },
    /// Allocate and touch this many MiB, held until the script ends.
    Allocate {
        /// Size in MiB.
        mib: u64,
    },
    /// Run `count` threads of CPU work for `ms` each, and wait for them.
    Threads {
        /// Number of threads.
        count: u32,
        /// Duration in milliseconds.
        ms: u64,
    },
}

impl Step {
    /// Whether the step may take a noticeable time (reports are flushed before it).
    pub fn is_long(&self) -> bool {
        matches!(
            self,
            Step::Sleep { .. } | Step::Cpu { .. } | Step::Allocate { .. } | Step::Threads { .. }
        )
    }
}

/// The process's view of the task it runs.
#[derive(Clone, Copy, Debug)]
pub struct TaskCtx<'a> {
    /// The process's name.
    pub name: &'a str,
    /// Its PID.
    pub pid: u32,
    /// The task number (a plain process's own number).
    pub task: u64,
}

/// How a script ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Ended {
    /// It ran to its end and returned (the task number: `return n`), or raised.
    Done(Outcome),
    /// It asked for the process to exit with this code.
    Exit(i32),
}

fn applies(only: &Option<Vec<u64>>, task: u64) -> bool {
    only.as_ref()
        .is_none_or(|tasks| tasks.binary_search(&task).is_ok())
}

/// Replaces `{name}`, `{pid}` and `{task}` in `text`.
pub fn fill(text: &str, ctx: TaskCtx<'_>) -> String {
    if !text.contains('{') {
        return text.to_string();
    }
    text.replace("{name}", ctx.name)
        .replace("{pid}", &ctx.pid.to_string())
        .replace("{task}", &ctx.task.to_string())
}

/// Runs `script` for one task in the current process. `before_long` is called before every
/// step that may take time.
pub fn execute(script: &[Step], ctx: TaskCtx<'_>, before_long: &mut dyn FnMut()) -> Ended {
    // Memory allocated by the script, held until it ends.
    let mut held: Vec<Vec<u8>> = Vec::new();
    for (i, step) in script.iter().enumerate() {
        if step.is_long() {
            before_long();
        }
        match step {
            Step::Print { text, stderr } => {
                let line = fill(text, ctx);
                let result = if *stderr {
                    writeln!(std::io::stderr().lock(), "{line}")
                } else {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{line}").and_then(|()| out.flush())
                };
                if result.is_err() {
                    // Nobody reads our output any more: the run is over.
                    return Ended::Exit(1);
                }
            }
            Step::Sleep { ms } => std::thread::sleep(Duration::from_millis(*ms)),
            Step::Cpu { ms } => {
                burn_cpu(Duration::from_millis(*ms));
            }
            Step::Fail {
                error_type,
                message,
                only,
            } => {
                if applies(only, ctx.task) {
                    return Ended::Done(Outcome::Error {
                        error_type: error_type.clone(),
                        message: message.clone(),
                        location: format!("{}, task {}, step {} (fail)", ctx.name, ctx.task, i + 1),
                    });
                }
            }
            Step::Exit { code, only } => {
                if applies(only, ctx.task) {
                    return Ended::Exit(*code);
                }
            }
            Step::Crash { signal, only } => {
                if applies(only, ctx.task) {
                    before_long();
                    crash(*signal);
                }
            }
            Step::Allocate { mib } => {
                let mut block = vec![0u8; (*mib as usize) << 20];
                // Touch every page so the memory is really resident.
                for page in block.chunks_mut(4096) {
                    page[0] = 1;
                }
                held.push(std::hint::black_box(block));
            }
            Step::Threads { count, ms } => {
                let d = Duration::from_millis(*ms);
                let threads: Vec<_> = (0..*count)
                    .map(|_| std::thread::spawn(move || burn_cpu(d)))
                    .collect();
                for t in threads {
                    if t.join().is_err() {
                        return Ended::Exit(1);
                    }
                }
            }
        }
    }
    Ended::Done(Outcome::Value(ctx.task as i64))
}

fn crash(signal: Crash) -> ! {
    // Flush what was printed, as a real crash would not, so the lecture sees the last line.
    let _flushed = std::io::stdout().flush();
    match signal {
        Crash::Abort => std::process::abort(),
        Crash::Segfault => {
            // SAFETY: raising SIGSEGV at ourselves; its default action ends the process.
            unsafe {
                libc::signal(libc::SIGSEGV, libc::SIG_DFL);
                libc::raise(libc::SIGSEGV);
            }
            std::process::abort()
        }
    }
}

/// Real computation (an integer hash chain) until this thread has used `duration` of CPU
/// time: a fixed amount of work, so four such processes sharing one core take four times as
/// long, as in Python.
pub fn burn_cpu(duration: Duration) -> u64 {
    let target = thread_cpu_ns().saturating_add(duration.as_nanos() as u64);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while thread_cpu_ns() < target {
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        std::hint::black_box(x);
    }
    x
}

/// CPU time used by the calling thread, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(|ts| ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64)
        .unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: TaskCtx<'static> = TaskCtx {
        name: "PoolWorker-2",
        pid: 77,
        task: 3,
    };

    fn run(script: &[Step], task: u64) -> Ended {
        execute(script, TaskCtx { task, ..CTX }, &mut || {})
    }

    #[test]
    fn a_task_returns_its_number() {
        assert_eq!(run(&[], 5), Ended::Done(Outcome::Value(5)));
    }

    #[test]
    fn fail_applies_only_to_its_tasks_and_says_where() {
        let script = vec![
            Step::Fail {
                error_type: "ZeroDivisionError".into(),
                message: "division by zero".into(),
                only: Some(vec![0, 4]),
            },
            Step::Sleep { ms: 1 },
        ];
        assert_eq!(run(&script, 1), Ended::Done(Outcome::Value(1)));
        let Ended::Done(Outcome::Error {
            error_type,
            location,
            ..
        }) = run(&script, 4)
        else {
            panic!("task 4 must fail")
        };
        assert_eq!(error_type, "ZeroDivisionError");
        assert_eq!(location, "PoolWorker-2, task 4, step 1 (fail)");
    }

    #[test]
    fn exit_step_ends_the_script_with_its_code() {
        let script = vec![
            Step::Exit {
                code: 3,
                only: None,
            },
            Step::Sleep { ms: 10_000 },
        ];
        assert_eq!(run(&script, 0), Ended::Exit(3));
    }

    #[test]
    fn long_steps_are_announced() {
        let mut longs = 0;
        execute(
            &[Step::Sleep { ms: 0 }, Step::Cpu { ms: 0 }],
            CTX,
            &mut || longs += 1,
        );
        assert_eq!(longs, 2);
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill("Process {name} ({pid}) started working on task {task}", CTX),
            "Process PoolWorker-2 (77) started working on task 3"
        );
    }

    #[test]
    fn cpu_step_uses_its_duration_of_cpu_time() {
        let before = thread_cpu_ns();
        let start = std::time::Instant::now();
        run(&[Step::Cpu { ms: 30 }], 0);
        assert!(thread_cpu_ns() - before >= 30_000_000);
        assert!(start.elapsed() >= Duration::from_millis(30));
    }
}
