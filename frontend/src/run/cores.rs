//! The run on the cores, as the sampler saw it: blocks of time per core (stacked when
//! processes share an interval), load from outside the run, each process's running / waiting
//! / sleeping strip, the time each waited for a core, and each core's load per window (as
//! sampled: the exported trace writes it, and the load from outside the run is read off it).

use super::moment::Moment;
use shared::{CoreShare, ProcId};

/// Time a thread of the run spent on one core (a block in that core's lane).
#[derive(Clone, Debug, PartialEq)]
pub struct CoreBlock {
    /// The core.
    pub core: u32,
    /// The process.
    pub proc: ProcId,
    /// The thread (its ID; the process's PID for its main thread).
    pub tid: u32,
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
/// the demo. Read off the window's load ([`LoadWindow::outside`]).
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

/// Each core's load over one window of the sampler (`core_load`), as sampled.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadWindow {
    /// Start of the window, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Per core, in core order: busy, and this run's share.
    pub cores: Vec<CoreShare>,
}

impl LoadWindow {
    /// The load from outside the run on each core over this window, where it is more than 2 %
    /// of it: what was busy and not the run's.
    pub fn outside(&self) -> impl Iterator<Item = OutsideLoad> + '_ {
        self.cores.iter().enumerate().filter_map(|(core, share)| {
            let outside = f64::from(share.busy - share.run).clamp(0.0, 1.0);
            (outside > 0.02).then_some(OutsideLoad {
                core: core as u32,
                start: self.start,
                end: self.end,
                share: outside,
            })
        })
    }
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

impl Moment for LoadWindow {
    fn at(&self, t: f64) -> Option<Self> {
        (self.start <= t).then(|| LoadWindow {
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
