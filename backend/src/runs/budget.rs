//! The memory budget: how much memory the runs' processes may be asked to hold, one run alone
//! and every run in progress together. Pure accounting, checked before anything starts.
//!
//! What a run asks is [`DemoRequest::memory_mib`]: the MiB its processes are asked to allocate
//! and hold at once (`count × memory_mib` for the processes demo, one process's worth when
//! `sequential`; nothing for the others). A start is refused when what it asks, added to what
//! the runs in progress ask, exceeds the budget. The processes' own few MiB each (a forked
//! procviz, mostly shared with the server) are not counted.
//!
//! The default budget is a quarter of the machine's physical memory, at most
//! [`MemoryBudget::DEFAULT_CAP_MIB`]: a lecture demo shows what holding memory looks like, it
//! does not need to push the machine into swap or the OOM killer.

use shared::DemoRequest;
use std::fmt;

/// How much memory runs may ask their processes to hold, and how that figure was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryBudget {
    /// The budget, MiB, for all runs in progress together.
    pub limit_mib: u64,
    /// Where it comes from (said in a refusal).
    pub origin: BudgetOrigin,
}

/// Where a [`MemoryBudget`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetOrigin {
    /// A quarter of this machine's physical memory (`physical_mib`), at most
    /// [`MemoryBudget::DEFAULT_CAP_MIB`].
    Machine {
        /// The machine's physical memory, MiB.
        physical_mib: u64,
    },
    /// The machine's memory could not be read: [`MemoryBudget::FALLBACK_MIB`].
    Fallback,
    /// Given by whoever started procviz (`--max-memory-mib`).
    Configured,
}

/// A start that would exceed the memory budget.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct OverBudget {
    /// What the run asks, MiB.
    pub asks_mib: u64,
    /// How that comes about ("64 processes × 1,024 MiB").
    pub how: String,
    /// What the runs in progress ask already, MiB.
    pub in_use_mib: u64,
    /// The budget.
    pub budget: MemoryBudget,
}

impl MemoryBudget {
    /// The largest default budget, MiB (4 GiB).
    pub const DEFAULT_CAP_MIB: u64 = 4096;
    /// The budget when the machine's memory cannot be read, MiB.
    pub const FALLBACK_MIB: u64 = 1024;

    /// The default budget on a machine with `physical_mib` of memory (`None`: unknown).
    pub fn for_machine(physical_mib: Option<u64>) -> Self {
        match physical_mib {
            Some(physical_mib) => MemoryBudget {
                limit_mib: (physical_mib / 4).min(Self::DEFAULT_CAP_MIB),
                origin: BudgetOrigin::Machine { physical_mib },
            },
            None => MemoryBudget {
                limit_mib: Self::FALLBACK_MIB,
                origin: BudgetOrigin::Fallback,
            },
        }
    }

    /// A budget of `limit_mib` given by whoever started procviz.
    pub fn configured(limit_mib: u64) -> Self {
        MemoryBudget {
            limit_mib,
            origin: BudgetOrigin::Configured,
        }
    }

    /// Checks that `demo` fits beside runs in progress that ask `in_use_mib` together.
    pub fn admit(&self, demo: &DemoRequest, in_use_mib: u64) -> Result<(), OverBudget> {
        let asks_mib = demo.memory_mib();
        if asks_mib == 0 || asks_mib.saturating_add(in_use_mib) <= self.limit_mib {
            return Ok(());
        }
        Err(OverBudget {
            asks_mib,
            how: how(demo),
            in_use_mib,
            budget: *self,
        })
    }
}

/// How a demo's memory comes about, for a refusal.
fn how(demo: &DemoRequest) -> String {
    match demo {
        DemoRequest::Processes(p) if p.count == 1 => {
            format!("1 process holding {}", mib(p.memory_mib))
        }
        DemoRequest::Processes(p) if p.sequential => format!(
            "{} processes one after the other, each holding {}",
            grouped(u64::from(p.count)),
            mib(p.memory_mib)
        ),
        DemoRequest::Processes(p) => format!(
            "{} processes × {}",
            grouped(u64::from(p.count)),
            mib(p.memory_mib)
        ),
        DemoRequest::Python(_) => format!(
            "a Python program's nominal {}",
            mib(shared::PythonParams::NOMINAL_MEMORY_MIB)
        ),
        DemoRequest::TwoProcesses(_) | DemoRequest::Pool(_) => "its processes".into(),
    }
}

impl fmt::Display for BudgetOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BudgetOrigin::Machine { physical_mib } => write!(
                f,
                "a quarter of this machine's {}, at most {}",
                mib(physical_mib),
                mib(MemoryBudget::DEFAULT_CAP_MIB)
            ),
            BudgetOrigin::Fallback => write!(f, "this machine's memory could not be read"),
            BudgetOrigin::Configured => write!(f, "set with --max-memory-mib"),
        }
    }
}

impl fmt::Display for OverBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "this run asks {} ({}); the memory budget is {} ({})",
            mib(self.asks_mib),
            self.how,
            mib(self.budget.limit_mib),
            self.budget.origin
        )?;
        if self.in_use_mib > 0 {
            write!(
                f,
                ", and the runs in progress hold {} of it, leaving {}",
                mib(self.in_use_mib),
                mib(self.budget.limit_mib.saturating_sub(self.in_use_mib))
            )?;
        }
        if self.asks_mib <= self.budget.limit_mib {
            write!(f, ". Wait for a run to finish, or ask for less memory")
        } else {
            write!(
                f,
                ". Ask for less memory (fewer processes or a smaller memory_mib), or start \
                 procviz with a larger --max-memory-mib"
            )
        }
    }
}

/// `n` MiB with thousands grouped: `65,536 MiB`.
pub fn mib(n: u64) -> String {
    format!("{} MiB", grouped(n))
}

/// `n` with thousands grouped by commas: `1,000,000`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{PoolParams, ProcessesParams, TwoProcessesParams};

    fn processes(count: u32, memory_mib: u64) -> DemoRequest {
        DemoRequest::Processes(ProcessesParams {
            count,
            memory_mib,
            ..ProcessesParams::default()
        })
    }

    #[test]
    fn the_default_is_a_quarter_of_the_machine_at_most_4_gib() {
        let on = |physical| MemoryBudget::for_machine(Some(physical)).limit_mib;
        assert_eq!(on(24 * 1024), 4096, "24 GiB: capped at 4 GiB");
        assert_eq!(on(8 * 1024), 2048);
        assert_eq!(on(1000), 250);
        assert_eq!(
            MemoryBudget::for_machine(None),
            MemoryBudget {
                limit_mib: MemoryBudget::FALLBACK_MIB,
                origin: BudgetOrigin::Fallback
            }
        );
    }

    #[test]
    fn the_largest_processes_run_is_refused_with_the_numbers_stated() {
        let budget = MemoryBudget::for_machine(Some(24 * 1024));
        let largest = processes(PoolParams::MAX_WORKERS, ProcessesParams::MAX_MEMORY_MIB);
        let refusal = budget.admit(&largest, 0).map_err(|e| e.to_string());
        assert_eq!(
            refusal,
            Err(
                "this run asks 65,536 MiB (64 processes × 1,024 MiB); the memory budget is \
                 4,096 MiB (a quarter of this machine's 24,576 MiB, at most 4,096 MiB). Ask for \
                 less memory (fewer processes or a smaller memory_mib), or start procviz with a \
                 larger --max-memory-mib"
                    .to_string()
            )
        );
    }

    #[test]
    fn runs_in_progress_count_and_a_run_that_fits_alone_is_told_to_wait() {
        let budget = MemoryBudget::configured(1000);
        let four_hundred = processes(4, 100);
        assert_eq!(budget.admit(&four_hundred, 0), Ok(()));
        assert_eq!(
            budget.admit(&four_hundred, 600),
            Ok(()),
            "exactly the budget"
        );
        let refused = budget.admit(&four_hundred, 601);
        let Err(e) = refused else {
            panic!("admitted beside 601 MiB: {refused:?}");
        };
        assert_eq!((e.asks_mib, e.in_use_mib), (400, 601));
        let text = e.to_string();
        for needle in [
            "asks 400 MiB (4 processes × 100 MiB)",
            "budget is 1,000 MiB (set with --max-memory-mib)",
            "the runs in progress hold 601 MiB of it, leaving 399 MiB",
            "Wait for a run to finish",
        ] {
            assert!(text.contains(needle), "{needle:?} not in {text:?}");
        }
    }

    #[test]
    fn runs_that_hold_nothing_always_fit_and_sequential_ones_hold_one_process() {
        let none = MemoryBudget::configured(0);
        for demo in [
            DemoRequest::TwoProcesses(TwoProcessesParams::default()),
            DemoRequest::Pool(PoolParams::default()),
            processes(64, 0),
        ] {
            assert_eq!(none.admit(&demo, 5000), Ok(()), "{demo:?}");
        }
        let sequential = DemoRequest::Processes(ProcessesParams {
            count: 8,
            memory_mib: 300,
            sequential: true,
            ..ProcessesParams::default()
        });
        let budget = MemoryBudget::configured(512);
        assert_eq!(budget.admit(&sequential, 0), Ok(()));
        let text = budget
            .admit(&sequential, 300)
            .map_err(|e| e.to_string())
            .err();
        assert!(
            text.as_ref()
                .is_some_and(|t| t.contains("asks 300 MiB (8 processes one after the other")),
            "{text:?}"
        );
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        let cases = [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (65_536, "65,536"),
            (1_000_000, "1,000,000"),
        ];
        for (n, text) in cases {
            assert_eq!(grouped(n), text);
        }
        assert_eq!(mib(4096), "4,096 MiB");
    }
}
