//! The run's console: every line its processes printed, in arrival order, and the order in
//! which the children printed (what "Who prints first?" and its run-10× tally count).

use super::moment::Moment;
use shared::{ProcId, Stream};

/// A line of console output.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsoleLine {
    /// Its position in the run's log (unique, for keyed lists).
    pub seq: u64,
    /// When it was read, seconds.
    pub t: f64,
    /// Who wrote it.
    pub proc: ProcId,
    /// Which stream.
    pub stream: Stream,
    /// The text.
    pub text: String,
}

impl Moment for ConsoleLine {
    fn at(&self, t: f64) -> Option<Self> {
        (self.t <= t).then(|| self.clone())
    }
}

/// Orders seen over repeated runs ("run 10×"), most frequent first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Runs still to start.
    pub left: u32,
    /// Each order seen and how often.
    pub counts: Vec<(String, u32)>,
}

impl Tally {
    /// Counts one more run that printed in `order`.
    pub fn add(&mut self, order: String) {
        match self.counts.iter_mut().find(|(o, _)| *o == order) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((order, 1)),
        }
        self.counts
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }

    /// Runs counted so far.
    pub fn runs(&self) -> u32 {
        self.counts.iter().map(|(_, n)| n).sum()
    }
}
