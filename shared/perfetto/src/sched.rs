//! CPU tracks from the sampler's segments: where each thread's on-CPU time goes on its core,
//! and the ftrace `sched_switch` lines that tell Perfetto so.
//!
//! The sampler knows, per thread and interval (20 ms by default), how long the thread ran and
//! the core it last ran on, not when exactly it was switched in and out. So each segment's
//! on-CPU time becomes one block on that core, placed as early in the segment as the core is
//! free: threads that shared a core in an interval run one after the other, in the order of
//! their segments (start, end, thread id). A block never leaves its segment; time that does
//! not fit (two threads both reported at 100 % on one core) is counted, not drawn. Times are
//! whole microseconds, the resolution of the ftrace text; a block of less than one is left
//! out (and counted).
//!
//! Each core's lines form a chain: every switch's `prev` is the previous switch's `next`,
//! starting from and returning to the idle task (`swapper/N`, pid 0) whenever the core has no
//! block. A thread switched out at its segment's end was still running when sampled
//! (`prev_state=R`); one switched out earlier is shown as sleeping (`prev_state=S`).

use crate::text::Seconds;
use shared::RunTime;

/// The on-CPU time of one thread over one sampled interval, on the core it last ran on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The thread.
    pub tid: u32,
    /// The core.
    pub core: u32,
    /// Start of the interval.
    pub start: RunTime,
    /// End of the interval.
    pub end: RunTime,
    /// Nanoseconds the thread was on a CPU in the interval.
    pub on_cpu_ns: u64,
}

/// How a thread left the core at the end of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Left {
    /// Still running when sampled (`R`).
    Running,
    /// Before the sample: asleep or waiting as far as the sampler can tell (`S`).
    Sleeping,
}

/// A thread on a core from `start` to `end` (microseconds since the run started).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// The thread.
    pub tid: u32,
    /// Switched in, µs.
    pub start: u64,
    /// Switched out, µs (after `start`).
    pub end: u64,
    /// How it left.
    pub left: Left,
}

/// Every core's blocks in time order, and the on-CPU time that found no room.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// Per core (in core order, only cores with blocks), its blocks: disjoint, in time
    /// order, at least 1 µs each.
    pub cores: Vec<(u32, Vec<Block>)>,
    /// Sampled on-CPU time left out, µs (see the module's comment).
    pub not_placed_us: u64,
}

/// Places the segments' on-CPU time on their cores (see the module's comment). `segments`
/// come as the sampler sent them: each thread's in time order.
pub fn place(segments: &[Segment]) -> Placement {
    // No sort (the page's WebAssembly would carry one per element type): per core and
    // thread the segments are already in time order, so each core merges its threads'.
    let mut threads: Vec<((u32, u32), Vec<&Segment>)> = Vec::new();
    for s in segments {
        let key = (s.core, s.tid);
        match threads.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(i) => threads[i].1.push(s),
            Err(i) => threads.insert(i, (key, vec![s])),
        }
    }
    let mut out = Placement::default();
    let mut first = 0;
    while first < threads.len() {
        let core = threads[first].0.0;
        let last = threads[first..]
            .iter()
            .position(|((c, _), _)| *c != core)
            .map_or(threads.len(), |n| first + n);
        let on_core = &threads[first..last];
        let mut next = vec![0; on_core.len()];
        let mut blocks = Vec::new();
        // The earliest segment (start, end, thread) among the threads' next ones, in turn.
        while let Some((i, s)) = on_core
            .iter()
            .enumerate()
            .filter_map(|(i, (_, list))| list.get(next[i]).map(|s| (i, *s)))
            .min_by_key(|(_, s)| (s.start, s.end, s.tid))
        {
            next[i] += 1;
            out.not_placed_us += put(&mut blocks, s);
        }
        if !blocks.is_empty() {
            out.cores.push((core, blocks));
        }
        first = last;
    }
    out
}

/// Puts one segment's on-CPU time on its core's `blocks`; returns the µs that did not fit.
fn put(blocks: &mut Vec<Block>, s: &Segment) -> u64 {
    let (start, end) = (s.start.as_nanos() / 1000, s.end.as_nanos() / 1000);
    // More on-CPU time than the segment is long (sampling jitter) counts as all of it.
    let span_ns = s.end.as_nanos().saturating_sub(s.start.as_nanos());
    let want = (s.on_cpu_ns.min(span_ns) / 1000).min(end.saturating_sub(start));
    let from = start.max(blocks.last().map_or(0, |b| b.end));
    let to = from.saturating_add(want).min(end).max(from);
    if to == from {
        return want;
    }
    let left = if to == end {
        Left::Running
    } else {
        Left::Sleeping
    };
    match blocks.last_mut() {
        Some(b) if b.tid == s.tid && b.end == from => {
            b.end = to;
            b.left = left;
        }
        _ => blocks.push(Block {
            tid: s.tid,
            start: from,
            end: to,
            left,
        }),
    }
    want - (to - from)
}

/// A thread as the ftrace text names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// Its name, already an ftrace `comm` ([`crate::text::comm`]).
    pub comm: String,
    /// Its process's PID (the thread group).
    pub tgid: u32,
}

/// One line of ftrace text (without its line break), with the time and core it is sorted by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// When, µs.
    pub at: u64,
    /// The core.
    pub cpu: u32,
    /// The text.
    pub text: String,
}

/// Who is on a core between two switches.
enum On<'a> {
    Idle,
    Thread(&'a Block),
}

/// The `sched_switch` lines of a placement, in time order (cores in order at equal times);
/// `task` names a thread.
pub fn switch_lines(placement: &Placement, task: impl Fn(u32) -> Task) -> Vec<Line> {
    let mut cores: Vec<Vec<Line>> = Vec::new();
    for (cpu, blocks) in &placement.cores {
        let cpu = *cpu;
        let mut lines = Vec::new();
        let mut on = On::Idle;
        for b in blocks {
            if let On::Thread(prev) = on
                && prev.end < b.start
            {
                lines.push(switch(cpu, prev.end, &on, &On::Idle, &task));
                on = On::Idle;
            }
            let next = On::Thread(b);
            lines.push(switch(cpu, b.start, &on, &next, &task));
            on = next;
        }
        if let On::Thread(last) = on {
            lines.push(switch(cpu, last.end, &on, &On::Idle, &task));
        }
        cores.push(lines);
    }
    // Each core's lines are in time order: merge them (the first core wins a tie).
    let mut next = vec![0; cores.len()];
    let mut lines = Vec::with_capacity(cores.iter().map(Vec::len).sum());
    while let Some((i, line)) = cores
        .iter()
        .enumerate()
        .filter_map(|(i, list)| list.get(next[i]).map(|l| (i, l)))
        .min_by_key(|(_, l)| l.at)
    {
        next[i] += 1;
        lines.push(line.clone());
    }
    lines
}

/// One `sched_switch` on `cpu` at `at` µs from `prev` to `next`.
fn switch(cpu: u32, at: u64, prev: &On, next: &On, task: &impl Fn(u32) -> Task) -> Line {
    let idle = format!("swapper/{cpu}");
    let name = |on: &On| match on {
        On::Idle => (idle.clone(), 0, None),
        On::Thread(b) => {
            let t = task(b.tid);
            (t.comm, b.tid, Some(t.tgid))
        }
    };
    let (prev_comm, prev_pid, prev_tgid) = name(prev);
    let (next_comm, next_pid, _) = name(next);
    let prev_state = match prev {
        On::Thread(Block {
            left: Left::Sleeping,
            ..
        }) => "S",
        _ => "R",
    };
    let tgid = prev_tgid.map_or("-----".to_string(), |t| t.to_string());
    let text = format!(
        "{prev_comm}-{prev_pid} ({tgid}) [{cpu:03}] .... {}: sched_switch: \
         prev_comm={prev_comm} prev_pid={prev_pid} prev_prio=120 prev_state={prev_state} \
         ==> next_comm={next_comm} next_pid={next_pid} next_prio=120",
        Seconds(at)
    );
    Line { at, cpu, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(tid: u32, core: u32, start_ms: u64, end_ms: u64, on_ms: u64) -> Segment {
        Segment {
            tid,
            core,
            start: RunTime::from_millis(start_ms),
            end: RunTime::from_millis(end_ms),
            on_cpu_ns: on_ms * 1_000_000,
        }
    }

    fn on(p: &Placement, core: u32) -> &Vec<Block> {
        &p.cores
            .iter()
            .find(|(c, _)| *c == core)
            .expect("the core")
            .1
    }

    fn block(tid: u32, start_ms: u64, end_ms: u64, left: Left) -> Block {
        Block {
            tid,
            start: start_ms * 1000,
            end: end_ms * 1000,
            left,
        }
    }

    #[test]
    fn threads_sharing_a_core_run_one_after_the_other_within_their_interval() {
        let p = place(&[
            seg(11, 0, 0, 20, 5),
            seg(10, 0, 0, 20, 10),
            seg(10, 0, 20, 40, 20),
        ]);
        assert_eq!(
            *on(&p, 0),
            vec![
                block(10, 0, 10, Left::Sleeping),
                block(11, 10, 15, Left::Sleeping),
                block(10, 20, 40, Left::Running),
            ]
        );
        assert_eq!(p.not_placed_us, 0);
    }

    #[test]
    fn segments_are_placed_in_time_order_whatever_order_they_came_in() {
        // Thread 1's two intervals were merged into one segment, sent after thread 2's.
        let p = place(&[
            seg(2, 0, 0, 20, 5),
            seg(2, 0, 20, 40, 5),
            seg(1, 0, 0, 40, 30),
        ]);
        assert_eq!(
            *on(&p, 0),
            vec![
                block(2, 0, 5, Left::Sleeping),
                block(1, 5, 35, Left::Sleeping),
                block(2, 35, 40, Left::Running),
            ]
        );
        assert_eq!(p.not_placed_us, 0);
    }

    #[test]
    fn consecutive_blocks_of_one_thread_are_one_block() {
        let p = place(&[seg(7, 1, 0, 20, 20), seg(7, 1, 20, 40, 20)]);
        assert_eq!(*on(&p, 1), vec![block(7, 0, 40, Left::Running)]);
    }

    #[test]
    fn time_that_does_not_fit_its_interval_is_counted_not_drawn() {
        // Both reported at 100 % on core 0 (the sampler saw only the last core of each).
        let p = place(&[seg(1, 0, 0, 20, 20), seg(2, 0, 0, 20, 20)]);
        assert_eq!(*on(&p, 0), vec![block(1, 0, 20, Left::Running)]);
        assert_eq!(p.not_placed_us, 20_000);
        // More on-CPU time than the interval is long is not "left out": it never fit.
        let p = place(&[seg(1, 0, 0, 20, 25)]);
        assert_eq!(p.not_placed_us, 0);
        assert!(place(&[seg(1, 0, 0, 20, 0)]).cores.is_empty());
    }

    #[test]
    fn each_core_goes_idle_to_thread_to_thread_to_idle() {
        let p = place(&[
            seg(10, 0, 0, 20, 10),
            seg(11, 0, 0, 20, 10),
            seg(12, 1, 0, 20, 20),
        ]);
        let task = |tid| Task {
            comm: format!("T{tid}"),
            tgid: 100,
        };
        let lines: Vec<String> = switch_lines(&p, task).into_iter().map(|l| l.text).collect();
        assert_eq!(
            lines,
            [
                "swapper/0-0 (-----) [000] .... 0.000000: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=T10 next_pid=10 next_prio=120",
                "swapper/1-0 (-----) [001] .... 0.000000: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=T12 next_pid=12 next_prio=120",
                "T10-10 (100) [000] .... 0.010000: sched_switch: prev_comm=T10 prev_pid=10 prev_prio=120 prev_state=S ==> next_comm=T11 next_pid=11 next_prio=120",
                "T11-11 (100) [000] .... 0.020000: sched_switch: prev_comm=T11 prev_pid=11 prev_prio=120 prev_state=R ==> next_comm=swapper/0 next_pid=0 next_prio=120",
                "T12-12 (100) [001] .... 0.020000: sched_switch: prev_comm=T12 prev_pid=12 prev_prio=120 prev_state=R ==> next_comm=swapper/1 next_pid=0 next_prio=120",
            ]
        );
    }
}
