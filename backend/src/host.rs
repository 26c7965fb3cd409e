//! Facts about this machine the runtime reports and checks against.

/// The number of CPU cores online on this machine (not limited by this process's affinity).
pub fn online_cores() -> u32 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n < 1 { 1 } else { n as u32 }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_online_cores_include_every_core_this_process_may_use() {
        let allowed = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        assert!(super::online_cores() >= allowed.max(1));
    }
}
