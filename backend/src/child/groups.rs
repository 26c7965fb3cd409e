//! The process groups of one run, so the run can be signalled as a whole (grandchildren too).
//!
//! Children join the run's current group; when it has vanished (all its members exited, and a
//! group with no member cannot be joined), the next child leads a new one. Every group ever
//! used is remembered, so stopping the run signals all of them.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::sync::Mutex;

/// The process groups of one run.
#[derive(Debug, Default)]
pub struct ProcessGroups {
    groups: Mutex<Vec<i32>>,
}

impl ProcessGroups {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<i32>> {
        // A poisoned lock only means another task panicked while pushing a number.
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The group a new child should join: the latest one, if it still has a member.
    pub fn current(&self) -> Option<i32> {
        let pgid = self.lock().last().copied()?;
        killpg(Pid::from_raw(pgid), None).is_ok().then_some(pgid)
    }

    /// Remembers that a child is in group `pgid` (a new group, or the current one again).
    pub fn record(&self, pgid: i32) {
        let mut list = self.lock();
        if list.last() != Some(&pgid) {
            list.push(pgid);
        }
    }

    /// Every group the run has used, oldest first.
    pub fn all(&self) -> Vec<i32> {
        self.lock().clone()
    }

    /// Sends `signal` to every group of the run. Groups that no longer exist are skipped.
    pub fn signal(&self, signal: Signal) {
        for &pgid in self.lock().iter() {
            match killpg(Pid::from_raw(pgid), signal) {
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                Err(e) => {
                    tracing::warn!(pgid, %signal, error = %e, "could not signal process group")
                }
            }
        }
    }

    /// True while any process of any of the run's groups exists (zombies included).
    pub fn any_alive(&self) -> bool {
        self.lock()
            .iter()
            .any(|&pgid| killpg(Pid::from_raw(pgid), None).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    /// The group of a process that led its own group and has been reaped: no member is left.
    fn vanished_group() -> i32 {
        let mut child = std::process::Command::new("true")
            .process_group(0)
            .spawn()
            .expect("spawn true");
        let pgid = child.id() as i32;
        assert!(child.wait().expect("wait").success());
        pgid
    }

    #[test]
    fn a_group_is_remembered_once_per_change_and_a_vanished_one_is_not_joined() {
        let groups = ProcessGroups::default();
        assert_eq!(
            groups.current(),
            None,
            "no group yet: the first child leads one"
        );
        assert!(!groups.any_alive());
        let gone = vanished_group();
        groups.record(gone);
        groups.record(gone);
        assert_eq!(groups.all(), [gone], "the same group twice is one group");
        assert_eq!(
            groups.current(),
            None,
            "a group without members cannot be joined"
        );
        assert!(!groups.any_alive());
        // Signalling a vanished group is not an error.
        groups.signal(Signal::SIGTERM);

        // This test's own group exists as long as the test runs.
        let ours = nix::unistd::getpgrp().as_raw();
        groups.record(ours);
        assert_eq!(groups.all(), [gone, ours]);
        assert_eq!(groups.current(), Some(ours));
        assert!(groups.any_alive());
    }
}
