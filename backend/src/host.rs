//! Facts about this machine the runtime reports and checks against.

/// The number of CPU cores online on this machine (not limited by this process's affinity).
pub fn online_cores() -> u32 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n < 1 { 1 } else { n as u32 }
}

/// This machine's physical memory in MiB (`MemTotal` of `/proc/meminfo`: the RAM the kernel
/// can use).
pub fn physical_memory_mib() -> procfs::ProcResult<u64> {
    use procfs::Current;
    Ok(procfs::Meminfo::current()?.mem_total / (1024 * 1024))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_online_cores_include_every_core_this_process_may_use() {
        let allowed = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        assert!(super::online_cores() >= allowed.max(1));
    }

    #[test]
    fn the_physical_memory_is_read_and_plausible() {
        let mib = super::physical_memory_mib().map_err(|e| e.to_string());
        // From 64 MiB to 64 TiB.
        assert!(
            mib.as_ref().is_ok_and(|m| (64..=64 << 20).contains(m)),
            "{mib:?}"
        );
    }
}
