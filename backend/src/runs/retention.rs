//! Which finished runs the server keeps for replay: as many as fit in a number of bytes (each
//! run's log as estimated by [`crate::events::RunLog::approx_bytes`]), the oldest forgotten
//! first. Counting runs would not do: a finished run of a million tasks holds about 290 MiB, a
//! run of two processes a few KiB. Runs in progress are never forgotten (the concurrent-run
//! and per-run limits bound them).

use shared::RunId;

/// The default for finished runs, MiB (`--keep-finished-mib`).
pub const DEFAULT_KEEP_FINISHED_MIB: u64 = 512;

/// The finished runs to forget so that the others fit in `keep_bytes`: `finished` lists them
/// oldest first with their estimated bytes; the oldest go first, until what remains fits (so
/// a run larger than `keep_bytes` on its own is forgotten too, as soon as it finishes).
pub fn to_forget(finished: &[(RunId, u64)], keep_bytes: u64) -> Vec<RunId> {
    let mut held: u64 = finished.iter().map(|&(_, bytes)| bytes).sum();
    finished
        .iter()
        .take_while(|&&(_, bytes)| {
            let over = held > keep_bytes;
            held -= bytes;
            over
        })
        .map(|&(run, _)| run)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn runs(sizes_mib: &[u64]) -> Vec<(RunId, u64)> {
        sizes_mib
            .iter()
            .enumerate()
            .map(|(i, &mib)| (RunId(i as u64 + 1), mib * MIB))
            .collect()
    }

    #[test]
    fn the_oldest_finished_runs_go_first_until_the_rest_fit() {
        let ids = |v: &[u64]| v.iter().map(|&i| RunId(i)).collect::<Vec<_>>();
        // Three runs of a million tasks do not fit in 512 MiB: the first goes.
        assert_eq!(to_forget(&runs(&[290, 290, 1]), 512 * MIB), ids(&[1]));
        // Small old runs go before a big young one, even if one of them would have been enough.
        assert_eq!(
            to_forget(&runs(&[1, 1, 300, 290]), 512 * MIB),
            ids(&[1, 2, 3])
        );
        assert_eq!(to_forget(&runs(&[100; 5]), 512 * MIB), ids(&[]));
        assert_eq!(to_forget(&runs(&[100; 6]), 512 * MIB), ids(&[1]));
        assert_eq!(to_forget(&[], 512 * MIB), ids(&[]));
    }

    #[test]
    fn a_run_larger_than_the_budget_alone_is_forgotten_and_zero_keeps_nothing() {
        assert_eq!(to_forget(&runs(&[1, 600]), 512 * MIB), [RunId(1), RunId(2)]);
        assert_eq!(to_forget(&runs(&[1, 1]), 0), [RunId(1), RunId(2)]);
        assert_eq!(
            to_forget(&[(RunId(1), 512 * MIB)], 512 * MIB),
            [],
            "exactly the budget fits"
        );
    }
}
