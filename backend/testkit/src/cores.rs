//! Sharing the machine between tests that run in parallel in one binary.
//!
//! Some tests measure the machine's cores (CPU-bound timings, per-core sampling, speedups):
//! they take [`one_at_a_time`] and run alone. Every other test shares the machine: each
//! [`Server`](crate::Server), [`run_cli`](crate::run_cli) and [`Browser`](crate::Browser) holds
//! a [`Cores`] while it lives, so it waits while a measuring test runs, and a measuring test
//! waits until the processes of the others have ended. A read–write lock does both.
//!
//! A test runs on its own thread, so the lock is taken per thread: the first hold of a thread
//! takes it (shared, or alone for [`one_at_a_time`]), later ones only count, and the last one
//! dropped releases it. A measuring test's own servers and browsers therefore take nothing
//! more, and a server started next to a browser keeps the lock as long as either lives.

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

static CORES: RwLock<()> = RwLock::new(());

/// The guard is only held, never read: dropping it releases the lock.
enum Hold {
    Shared {
        _guard: RwLockReadGuard<'static, ()>,
    },
    Alone {
        _guard: RwLockWriteGuard<'static, ()>,
    },
}

thread_local! {
    /// This thread's hold on the lock, and how many [`Cores`] share it.
    static HOLD: RefCell<Option<Hold>> = const { RefCell::new(None) };
    static HOLDERS: Cell<usize> = const { Cell::new(0) };
}

/// A hold on the machine's cores, released when the last one of its thread is dropped. Not
/// `Send`: it belongs to the thread (the test) that took it.
#[must_use = "the cores are released when this is dropped"]
pub struct Cores(PhantomData<*const ()>);

/// Held by tests that measure the machine's cores, for the whole test: no other test's
/// server, CLI run or browser runs meanwhile. Take it before starting anything.
pub fn one_at_a_time() -> Cores {
    assert_eq!(
        HOLDERS.get(),
        0,
        "one_at_a_time() must come before the test starts a server, a CLI run or a browser"
    );
    let guard = CORES.write().unwrap_or_else(PoisonError::into_inner);
    HOLD.set(Some(Hold::Alone { _guard: guard }));
    HOLDERS.set(1);
    Cores(PhantomData)
}

impl Cores {
    /// A shared hold, or one more holder of this thread's hold.
    pub(crate) fn share() -> Cores {
        if HOLDERS.get() == 0 {
            let guard = CORES.read().unwrap_or_else(PoisonError::into_inner);
            HOLD.set(Some(Hold::Shared { _guard: guard }));
        }
        HOLDERS.set(HOLDERS.get() + 1);
        Cores(PhantomData)
    }
}

impl Drop for Cores {
    fn drop(&mut self) {
        let left = HOLDERS.get() - 1;
        HOLDERS.set(left);
        if left == 0 {
            HOLD.set(None);
        }
    }
}
