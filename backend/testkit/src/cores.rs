//! Sharing the machine between tests that run in parallel in one binary.
//!
//! Some tests measure the machine's cores (CPU-bound timings, per-core sampling, speedups):
//! they take [`one_at_a_time`] and run alone. Every other test shares the machine: each
//! [`Server`](crate::Server), [`run_cli`](crate::run_cli) and [`Browser`](crate::Browser) holds
//! a shared [`Cores`] while it lives, so it waits while a measuring test runs, and a measuring
//! test waits for the processes of the others to end. A read–write lock does both; a measuring
//! test's own servers and browsers take nothing (the test's thread already holds the lock).

use std::cell::Cell;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

static CORES: RwLock<()> = RwLock::new(());

thread_local! {
    /// Guards that took the lock on this thread (a test runs on its own thread).
    static HELD: Cell<usize> = const { Cell::new(0) };
}

/// A hold on the machine's cores, released on drop (on the thread that took it).
#[must_use = "the cores are released when this is dropped"]
pub struct Cores(Option<Hold>);

/// The guard is only held, never read: dropping it releases the lock.
enum Hold {
    Shared {
        _guard: RwLockReadGuard<'static, ()>,
    },
    Alone {
        _guard: RwLockWriteGuard<'static, ()>,
    },
}

/// Held by tests that measure the machine's cores, for the whole test: no other test's
/// server, CLI run or browser runs meanwhile. Take it before starting anything.
pub fn one_at_a_time() -> Cores {
    assert_eq!(
        HELD.get(),
        0,
        "one_at_a_time() must come before the test starts a server, a CLI run or a browser"
    );
    let guard = CORES.write().unwrap_or_else(PoisonError::into_inner);
    HELD.set(1);
    Cores(Some(Hold::Alone { _guard: guard }))
}

impl Cores {
    /// A shared hold, or nothing when this thread already holds the cores.
    pub(crate) fn share() -> Cores {
        if HELD.get() > 0 {
            return Cores(None);
        }
        let guard = CORES.read().unwrap_or_else(PoisonError::into_inner);
        HELD.set(1);
        Cores(Some(Hold::Shared { _guard: guard }))
    }
}

impl Drop for Cores {
    fn drop(&mut self) {
        if self.0.take().is_some() {
            HELD.set(0);
        }
    }
}
