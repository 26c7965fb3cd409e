//! What a child process does: a short script of bounded steps, run by the worker side of the
//! binary ([`crate::worker`]). Demos compose their processes from these steps.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::time::{Duration, Instant};

/// One step of a child's script.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Write a line to stdout (or stderr) and flush it.
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
    /// Compute (on the CPU) for this many milliseconds of wall time.
    Cpu {
        /// Duration in milliseconds.
        ms: u64,
    },
    /// Exit now with this code.
    Exit {
        /// The exit code.
        code: i32,
    },
}

/// The script of one child: its steps, in order. After the last step the child exits with 0.
pub type Script = Vec<Step>;

/// Runs `script` in the current process. Returns the exit code the process should end with.
pub fn execute(script: &[Step]) -> i32 {
    for step in script {
        match step {
            Step::Print { text, stderr } => {
                let result = if *stderr {
                    writeln!(std::io::stderr().lock(), "{text}")
                } else {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{text}").and_then(|()| out.flush())
                };
                if result.is_err() {
                    // Nobody reads our output any more: the run is over.
                    return 1;
                }
            }
            Step::Sleep { ms } => std::thread::sleep(Duration::from_millis(*ms)),
            Step::Cpu { ms } => {
                burn_cpu(Duration::from_millis(*ms));
            }
            Step::Exit { code } => return *code,
        }
    }
    0
}

/// Real computation (an integer hash chain) until `duration` of wall time has passed.
fn burn_cpu(duration: Duration) -> u64 {
    let start = Instant::now();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while start.elapsed() < duration {
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        std::hint::black_box(x);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_step_ends_the_script_with_its_code() {
        let script = vec![Step::Exit { code: 3 }, Step::Sleep { ms: 10_000 }];
        assert_eq!(execute(&script), 3);
        assert_eq!(execute(&[]), 0);
    }

    #[test]
    fn cpu_step_uses_the_cpu_for_its_duration() {
        let start = Instant::now();
        execute(&[Step::Cpu { ms: 30 }]);
        assert!(start.elapsed() >= Duration::from_millis(30));
    }
}
