//! The slow-reader rule: a connection whose backlog (the events of the runs it follows not
//! yet sent to it, in bytes) stays over [`ReaderLimits::max_backlog_bytes`] for
//! [`ReaderLimits::grace`] while it does not take what it is offered is closed with 1008 and a
//! reason the page can show ([`super::close::too_slow`]); the others lose nothing.
//!
//! The clock runs only while the client is not keeping up: a send that waits (the client does
//! not read, its TCP window is full) or a tick's frames still going out when the next tick
//! is due. A client that takes every frame as fast as the server offers them (at most
//! [`super::MAX_FRAMES_PER_TICK`] frames per tick) is never closed, however far behind a
//! big run leaves it.
//!
//! Pure: the send loop tells [`Backlog::judge`] the time, the bytes and whether the client
//! kept up, on every tick and every tick-long wait of a send.

use std::time::{Duration, Instant};

/// The slow-reader rule's thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderLimits {
    /// The most a client may be behind, in bytes of events not yet sent.
    pub max_backlog_bytes: u64,
    /// How long it may be over that before it is closed.
    pub grace: Duration,
}

impl Default for ReaderLimits {
    /// 64 MiB for 30 s.
    fn default() -> Self {
        ReaderLimits {
            max_backlog_bytes: 64 * 1024 * 1024,
            grace: Duration::from_secs(30),
        }
    }
}

/// One connection's standing against the rule.
#[derive(Debug)]
pub struct Backlog {
    limits: ReaderLimits,
    /// Since when it has been over the limit without keeping up.
    behind_since: Option<Instant>,
}

impl Backlog {
    /// A connection not behind.
    pub fn new(limits: ReaderLimits) -> Self {
        Backlog {
            limits,
            behind_since: None,
        }
    }

    /// The thresholds.
    pub fn limits(&self) -> &ReaderLimits {
        &self.limits
    }

    /// Judges the connection at `now`, `bytes` behind, keeping up or not; true when it must
    /// be closed.
    pub fn judge(&mut self, now: Instant, bytes: u64, keeping_up: bool) -> bool {
        if keeping_up || bytes <= self.limits.max_backlog_bytes {
            self.behind_since = None;
            return false;
        }
        let since = *self.behind_since.get_or_insert(now);
        now.duration_since(since) >= self.limits.grace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn at(start: Instant, secs: u64) -> Instant {
        start + Duration::from_secs(secs)
    }

    #[test]
    fn over_the_limit_without_keeping_up_for_the_grace_closes() {
        let t0 = Instant::now();
        let mut b = Backlog::new(ReaderLimits::default());
        assert!(!b.judge(at(t0, 0), 65 * MIB, false), "the clock starts");
        assert!(!b.judge(at(t0, 29), 65 * MIB, false));
        assert!(b.judge(at(t0, 30), 65 * MIB, false), "30 s over 64 MiB");
    }

    #[test]
    fn dipping_under_the_limit_or_keeping_up_restarts_the_clock() {
        let t0 = Instant::now();
        let mut b = Backlog::new(ReaderLimits::default());
        assert!(!b.judge(at(t0, 0), 100 * MIB, false));
        assert!(
            !b.judge(at(t0, 20), 64 * MIB, false),
            "at the limit is not over it"
        );
        assert!(!b.judge(at(t0, 21), 100 * MIB, false));
        assert!(
            !b.judge(at(t0, 50), 100 * MIB, false),
            "29 s since it went over again"
        );
        assert!(
            !b.judge(at(t0, 50), 100 * MIB, true),
            "it took what it was offered"
        );
        assert!(!b.judge(at(t0, 51), 100 * MIB, false));
        assert!(
            !b.judge(at(t0, 80), 100 * MIB, false),
            "29 s since it stopped keeping up"
        );
        assert!(b.judge(at(t0, 81), 100 * MIB, false));
    }

    #[test]
    fn a_client_that_keeps_up_is_never_closed_however_far_behind() {
        let t0 = Instant::now();
        let mut b = Backlog::new(ReaderLimits {
            max_backlog_bytes: MIB,
            grace: Duration::from_secs(1),
        });
        for s in 0..100 {
            assert!(!b.judge(at(t0, s), 1000 * MIB, true));
        }
    }
}
