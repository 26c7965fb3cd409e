//! Checks on real processes through /proc.

use std::time::{Duration, Instant};

/// Whether `pid` is a live (not zombie) procviz child: a process forked by procviz's fork
/// server (its command line is the server binary's: `procviz __zygote`).
pub fn is_live_worker(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().next());
    if state == Some("Z") {
        return false;
    }
    cmdline(pid).ends_with("__zygote")
}

/// Checks that `pid` is a real child process of the procviz server `server`: forked by its
/// fork server, which the server started.
pub fn assert_child_of_server(pid: u32, server: u32) {
    assert!(
        is_live_worker(pid),
        "PID {pid} is not a running procviz child"
    );
    let zygote = parent_of(pid).expect("a parent");
    assert!(
        cmdline(zygote).ends_with("__zygote"),
        "parent of {pid}: {}",
        cmdline(zygote)
    );
    assert_eq!(
        parent_of(zygote),
        Some(server),
        "the fork server belongs to the server"
    );
}

/// Waits up to `timeout` for every one of `pids` to be gone; returns the ones left.
pub fn wait_gone(pids: &[u32], timeout: Duration) -> Vec<u32> {
    let deadline = Instant::now() + timeout;
    loop {
        let left: Vec<u32> = pids
            .iter()
            .copied()
            .filter(|&p| is_live_worker(p))
            .collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The parent PID of `pid` from /proc.
pub fn parent_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The command line of `pid`, arguments separated by spaces.
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            String::from_utf8_lossy(&c)
                .replace('\0', " ")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

/// The child processes of `pid` (from /proc): each one's PID, state letter (`Z`: a zombie not
/// yet reaped) and command line.
pub fn children_of(pid: u32) -> Vec<(u32, char, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|child| {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
            // After the command name in parentheses: state, then the parent's PID.
            let mut rest = stat.rsplit_once(')')?.1.split_whitespace();
            let state = rest.next()?.chars().next()?;
            let parent: u32 = rest.next()?.parse().ok()?;
            (parent == pid).then(|| (child, state, cmdline(child)))
        })
        .collect()
}

/// The fields of `/proc/PID/stat` after the command name: `[state, ppid, …]`.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// The most memory `pid` has held (`VmHWM`, KiB).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The CPU time `pid` has used so far (user + system, its threads included).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let fields = stat_fields(pid)?;
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second).ok().filter(|&t| t > 0)?;
    Some(Duration::from_nanos(ticks * 1_000_000_000 / per_second))
}
