//! The run on the cores, as the sampler saw it: blocks of time per core (stacked when
//! processes share an interval), load from outside the run, each process's running / waiting
//! / sleeping strip, and the time each waited for a core.

use super::{Moment, RunModel};
use shared::{CoreShare, ProcId, RunTime};

/// Time a thread of the run spent on one core (a block in that core's lane).
#[derive(Clone, Debug, PartialEq)]
pub struct CoreBlock {
    /// The core.
    pub core: u32,
    /// The process.
    pub proc: ProcId,
    /// Start and end of the sampled interval(s), seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Share of the interval it was on the core (0 to 1).
    pub share: f64,
    /// Share of the core's lane taken by earlier blocks of the same core and interval: blocks
    /// of one interval stack, each as tall as its share, so four processes time-slicing one
    /// core show as four bands of a quarter each. Set when the block arrives.
    pub offset: f64,
}

/// Load on a core from outside the run (other programs, the server, the browser) over one
/// window of the sampler, drawn under the run's blocks so a busy machine is not mistaken for
/// the demo.
#[derive(Clone, Debug, PartialEq)]
pub struct OutsideLoad {
    /// The core.
    pub core: u32,
    /// Start of the window, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Share of the window the core was busy with other work (0 to 1).
    pub share: f64,
}

/// What a process's threads did over one sampled interval (the state strip of its lane):
/// the rest of the interval, neither running nor waiting, it slept.
#[derive(Clone, Debug, PartialEq)]
pub struct StateBlock {
    /// The process.
    pub proc: ProcId,
    /// Start of the interval, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Share of the interval on a core (0 to 1).
    pub running: f64,
    /// Share of the interval runnable but waiting for a core (0 to 1).
    pub waiting: f64,
    /// Threads averaged into it (a process with k threads has one strip, not k).
    pub threads: u32,
}

impl Moment for CoreBlock {
    fn at(&self, t: f64) -> Option<Self> {
        (self.start <= t).then(|| CoreBlock {
            end: self.end.min(t),
            ..self.clone()
        })
    }
}

impl Moment for OutsideLoad {
    fn at(&self, t: f64) -> Option<Self> {
        (self.start <= t).then(|| OutsideLoad {
            end: self.end.min(t),
            ..self.clone()
        })
    }
}

impl Moment for StateBlock {
    fn at(&self, t: f64) -> Option<Self> {
        (self.start <= t).then(|| StateBlock {
            end: self.end.min(t),
            ..self.clone()
        })
    }
}

impl RunModel {
    /// The cores a process was seen on between `start` and `end` (sampled), ascending.
    pub fn cores_during(&self, proc: ProcId, start: f64, end: f64) -> Vec<u32> {
        let mut cores: Vec<u32> = self
            .core_blocks
            .iter()
            .filter(|b| b.proc == proc && b.end > start && b.start < end)
            .map(|b| b.core)
            .collect();
        cores.sort_unstable();
        cores.dedup();
        cores
    }

    /// Nanoseconds `proc` waited for a core (sampled).
    pub fn waited_ns(&self, proc: ProcId) -> u64 {
        self.waiting_ns
            .iter()
            .find(|(w, _)| *w == proc)
            .map_or(0, |(_, ns)| *ns)
    }

    /// Sampled CPU time of the run's processes on each core, seconds.
    pub fn core_busy(&self) -> Vec<f64> {
        let mut busy = vec![0.0; self.cores as usize];
        for b in &self.core_blocks {
            if let Some(slot) = busy.get_mut(b.core as usize) {
                *slot += b.share * (b.end - b.start);
            }
        }
        busy
    }

    /// The number of core lanes to draw: the machine's cores once the run has been sampled
    /// (or, for a run without samples yet, none).
    pub fn cores_sampled(&self) -> u32 {
        if self.core_blocks.is_empty() {
            0
        } else {
            self.cores
        }
    }

    /// A sampled interval of one thread (`thread_segment`): its strip, its block on a core,
    /// its wait.
    pub(super) fn on_thread_segment(
        &mut self,
        proc: &ProcId,
        core: &Option<u32>,
        start: &RunTime,
        (on_cpu_ns, waiting_ns, slices): (&u64, &u64, &u32),
        t: f64,
    ) {
        let start = start.as_secs_f64();
        let span = (t - start).max(1e-9);
        self.slices += u64::from(*slices);
        let running = (*on_cpu_ns as f64 / 1e9 / span).min(1.0);
        let waiting = (*waiting_ns as f64 / 1e9 / span).min(1.0);
        // Another thread of the same process over the same interval: averaged in.
        let same = self.state_blocks.iter_mut().rev().take(256).find(|b| {
            b.proc == *proc && (b.start - start).abs() < 1e-9 && (b.end - t).abs() < 1e-9
        });
        match same {
            Some(b) => {
                let n = f64::from(b.threads);
                b.running = (b.running * n + running) / (n + 1.0);
                b.waiting = (b.waiting * n + waiting) / (n + 1.0);
                b.threads += 1;
            }
            None => self.state_blocks.push(StateBlock {
                proc: *proc,
                start,
                end: t,
                running,
                waiting,
                threads: 1,
            }),
        }
        if let (Some(core), true) = (core, *on_cpu_ns > 0) {
            // The blocks of one sampler tick arrive together: earlier ones of this
            // core and interval are among the last few.
            let below: f64 = self
                .core_blocks
                .iter()
                .rev()
                .take(256)
                .filter(|b| b.core == *core && b.start == start && b.end == t)
                .map(|b| b.share)
                .sum();
            self.core_blocks.push(CoreBlock {
                core: *core,
                proc: *proc,
                start,
                end: t,
                share: (*on_cpu_ns as f64 / 1e9 / span).min(1.0),
                offset: below.min(1.0),
            });
        }
        if *waiting_ns > 0 {
            match self.waiting_ns.iter_mut().find(|(p, _)| p == proc) {
                Some((_, w)) => *w += waiting_ns,
                None => self.waiting_ns.push((*proc, *waiting_ns)),
            }
        }
    }

    /// Each core's load over a sampler window (`core_load`): what was not the run's is kept
    /// as load from outside.
    pub(super) fn on_core_load(&mut self, start: &RunTime, cores: &[CoreShare], t: f64) {
        let start = start.as_secs_f64();
        for (core, share) in cores.iter().enumerate() {
            let outside = f64::from(share.busy - share.run).clamp(0.0, 1.0);
            if outside > 0.02 {
                self.outside.push(OutsideLoad {
                    core: core as u32,
                    start,
                    end: t,
                    share: outside,
                });
            }
        }
    }
}
