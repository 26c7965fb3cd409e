//! One clock for every process of a run: the system monotonic clock (`CLOCK_MONOTONIC`).
//!
//! Children stamp their own events with it, the server stamps what it observes with it, and a
//! [`RunClock`] turns those absolute readings into [`RunTime`] offsets from the run's start.

use shared::RunTime;

/// Nanoseconds on the system monotonic clock (the same clock in every process).
pub fn monotonic_ns() -> u64 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .expect("CLOCK_MONOTONIC is always available on Linux");
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}

/// The start of a run on the monotonic clock.
#[derive(Clone, Copy, Debug)]
pub struct RunClock {
    start_ns: u64,
}

impl RunClock {
    /// A clock whose zero is now.
    pub fn start_now() -> Self {
        RunClock {
            start_ns: monotonic_ns(),
        }
    }

    /// A clock whose zero is the monotonic reading `start_ns` (for replaying stamps).
    pub fn starting_at(start_ns: u64) -> Self {
        RunClock { start_ns }
    }

    /// The run time of an absolute monotonic reading (zero if it precedes the start).
    pub fn at(&self, monotonic_ns: u64) -> RunTime {
        RunTime(monotonic_ns.saturating_sub(self.start_ns))
    }

    /// The run time now.
    pub fn now(&self) -> RunTime {
        self.at(monotonic_ns())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_time_starts_at_zero_and_advances() {
        let clock = RunClock::start_now();
        let a = clock.now();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = clock.now();
        assert!(b.as_nanos() >= a.as_nanos() + 5_000_000, "{a} then {b}");
        assert_eq!(clock.at(0), RunTime::ZERO);
    }
}
